"""The audit chain's check going on from an earlier one (the dashboard's page: a load reads only
the events added since), on SQLite and PostgreSQL: it finds what the check from the start
finds when events are added, deleted among those already checked, deleted at the end, or the
chain rebuilt after an edit; and a publication's head recorded after the walk is checked too."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, event, select, update

from storage.audit import GENESIS_HASH, Anchor, ChainCheck, KeptCheck, audit_hash
from storage.models import AuditEvent
from storage.uow import Database


async def _record(db: Database, count: int, start: int = 0) -> None:
    async with db.transaction() as uow:
        for i in range(start, start + count):
            await uow.audit.record("test", "test.step", "step", i, after={"step": i})


async def _head(db: Database) -> Anchor:
    async with db.reading() as uow:
        newest, events = await uow.audit.head()
    return Anchor(f"head at {events}", newest, events)


async def _both(db: Database, kept: KeptCheck, anchors: list[Anchor]
                ) -> tuple[ChainCheck, ChainCheck, list[tuple[str, Any]]]:
    """The kept check and the check from the start, and the statements the kept one ran."""
    statements: list[tuple[str, Any]] = []

    def count(*args: Any) -> None:
        statements.append((str(args[2]), args[3]))

    async with db.reading() as uow:
        event.listen(db.engine.sync_engine, "before_cursor_execute", count)
        try:
            going_on = await kept.check(uow.audit, anchors)
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", count)
        from_start = await uow.audit.check(anchors)
    return going_on, from_start, statements


def _walked_after(statements: list[tuple[str, Any]]) -> Any:
    """The id the walk started after (the parameter of ``audit_events.id > ?``)."""
    [(_sql, params)] = [(sql, params) for sql, params in statements
                        if "audit_events.id >" in sql]
    return params[0] if isinstance(params, tuple | list) else next(iter(params.values()))


async def test_new_events_are_walked_alone_and_the_answer_is_the_same(db: Database) -> None:
    await _record(db, 20)
    kept = KeptCheck()
    first, from_start, statements = await _both(db, kept, [])
    assert first == from_start and first.intact and first.events == 20
    assert _walked_after(statements) == 0, "the first check walks from the start"
    async with db.reading() as uow:
        newest = await uow.session.scalar(select(AuditEvent.id).order_by(
            AuditEvent.id.desc()).limit(1))
    await _record(db, 5, start=20)
    anchor = await _head(db)
    second, from_start, statements = await _both(db, kept, [anchor])
    assert second == from_start and second.intact and second.events == 25
    assert _walked_after(statements) == newest, "only the events added since"
    third, from_start, statements = await _both(db, kept, [anchor])
    assert third == from_start and third.intact and third.anchors == 1
    assert len(statements) <= 3, "nothing new: a count, an empty walk"


async def test_a_head_recorded_after_the_walk_that_checked_its_event(db: Database) -> None:
    await _record(db, 10)
    kept = KeptCheck()
    await _both(db, kept, [])
    # A publication recorded the head the last check walked past (it did not ask for it).
    anchor = await _head(db)
    found, from_start, _ = await _both(db, kept, [anchor])
    assert found == from_start and found.intact
    wrong = Anchor("a head that says more events", anchor.hash, anchor.events + 3)
    found, from_start, _ = await _both(db, kept, [wrong])
    assert found == from_start and found.missing == ((wrong, anchor.events),)


@pytest.mark.parametrize("tampered", ["middle", "newest", "rebuilt", "new_edited"])
async def test_tampering_is_seen_going_on_as_from_the_start(db: Database,
                                                            tampered: str) -> None:
    await _record(db, 12)
    anchor = await _head(db)
    kept = KeptCheck(recount_s=0)  # the events up to the last one checked counted each time
    before, _, _ = await _both(db, kept, [anchor])
    assert before.intact
    async with db.transaction() as uow:
        ids = list(await uow.session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))
        if tampered == "middle":
            await uow.session.execute(delete(AuditEvent).where(AuditEvent.id == ids[5]))
        elif tampered == "newest":
            await uow.session.execute(delete(AuditEvent).where(AuditEvent.id == ids[-1]))
        elif tampered == "rebuilt":
            # An edit, and every hash after it made again: the chain holds, the head not.
            events = list(await uow.session.scalars(
                select(AuditEvent).where(AuditEvent.id >= ids[3]).order_by(AuditEvent.id)))
            events[0].actor = "someone-else"
            prev = (await uow.session.scalar(
                select(AuditEvent.hash).where(AuditEvent.id == ids[2]))) or GENESIS_HASH
            for one in events:
                one.prev_hash = prev
                one.hash = audit_hash(prev, {
                    "at": one.at.isoformat(), "actor": one.actor, "action": one.action,
                    "entity": one.entity, "entity_id": one.entity_id, "before": one.before,
                    "after": one.after})
                prev = one.hash
        else:
            await uow.audit.record("test", "test.step", "step", "new", after={"step": "new"})
    if tampered == "new_edited":
        async with db.transaction() as uow:
            newest = max(ids) + 1
            await uow.session.execute(update(AuditEvent).where(AuditEvent.id >= newest)
                                      .values(actor="someone-else"))
    after, from_start, _ = await _both(db, kept, [anchor])
    assert after == from_start and not after.intact
    again, from_start, _ = await _both(db, kept, [anchor])
    assert again == from_start, "and on the next load too"


async def test_an_event_deleted_among_those_checked_is_seen_when_they_are_counted(
        db: Database) -> None:
    """Between counts only the newest event checked is looked up (by its key): a deletion
    among the older ones shows at the next count, then on every check."""
    await _record(db, 12)
    kept = KeptCheck(recount_s=3600)
    first, _, _ = await _both(db, kept, [])
    assert first.intact
    async with db.transaction() as uow:
        ids = list(await uow.session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))
        await uow.session.execute(delete(AuditEvent).where(AuditEvent.id == ids[5]))
    between, from_start, statements = await _both(db, kept, [])
    assert between.intact and not from_start.intact, "not counted yet"
    assert not any("count(" in sql for sql, _ in statements)
    kept.recount_s = 0
    counted, from_start, _ = await _both(db, kept, [])
    assert counted == from_start and counted.broken_at == ids[6]
    again, from_start, _ = await _both(db, kept, [])
    assert again == from_start
