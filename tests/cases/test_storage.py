"""Cases in the database: numbers stay unique, seals and drafts come and go."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from storage.cases import NumbersTaken
from storage.models import Case, CaseStatus, Unit
from storage.uow import Database
from surveys.cases import sealing
from tests.conftest import SECRET, now, seed_campaign


def _case(unit_id: int) -> Case:
    return Case(unit_id=unit_id, category="roads", origin="report", text="Lamp dark",
                status=CaseStatus.OPEN, opened_on=date(2026, 12, 4),
                due_at=now() + timedelta(days=3))


async def test_a_clashing_number_takes_the_next_one(db: Database) -> None:
    await seed_campaign(db)
    async with db.transaction() as uow:
        unit = await uow.session.scalar(select(Unit).where(Unit.code == "V1"))
        assert unit is not None
        first = await uow.cases.add(_case(unit.id), ["C-AAAAAA"])
        second = await uow.cases.add(_case(unit.id), ["C-AAAAAA", "C-BBBBBB"])
        await uow.cases.put_seal(first.id, sealing.seal(
            SECRET, first.id, sealing.Reporter(sealing.quota_key(SECRET, 5), chat_id=5)))
    assert (first.number, second.number) == ("C-AAAAAA", "C-BBBBBB")
    assert first.id != second.id and first.id > 2**20  # random, not a sequence
    async with db.reading() as uow:
        found = await uow.cases.by_number("C-BBBBBB")
        assert found is not None and found.id == second.id
        assert [c.number for c in await uow.cases.active()] == ["C-AAAAAA", "C-BBBBBB"]
        [(case_id, sealed)] = await uow.cases.active_seals()
        reporter = sealing.unseal(SECRET, case_id, sealed)
        assert reporter is not None and reporter.chat_id == 5
    async with db.transaction() as uow:
        await uow.cases.drop_seal(first.id)
    async with db.reading() as uow:
        assert await uow.cases.active_seals() == []


async def test_a_case_whose_numbers_are_all_taken_is_refused_plainly(db: Database) -> None:
    """Review nit: it raised StopIteration inside the coroutine (a RuntimeError naming
    nothing)."""
    await seed_campaign(db)
    async with db.transaction() as uow:
        unit = await uow.session.scalar(select(Unit).where(Unit.code == "V1"))
        assert unit is not None
        await uow.cases.add(_case(unit.id), ["C-AAAAAA"])
        with pytest.raises(NumbersTaken, match="C-AAAAAA"):
            await uow.cases.add(_case(unit.id), ["C-AAAAAA"])


async def test_a_draft_moves_on_with_every_save_and_goes_when_dropped(db: Database) -> None:
    key = sealing.draft_key(SECRET, 77)
    async with db.transaction() as uow:
        draft = await uow.cases.save_draft(key, "report", {"text": "a"})
        assert draft.version == 1
    async with db.transaction() as uow:
        draft = await uow.cases.save_draft(key, "report", {"text": "ab"})
        assert draft.version == 2
    async with db.transaction() as uow:
        found = await uow.cases.draft(key)
        assert found is not None and found.data == {"text": "ab"}
        await uow.cases.drop_draft(key)
    async with db.reading() as uow:
        assert await uow.cases.draft(key) is None


async def test_the_relay_and_the_batch_audit_do_not_scan_every_entry(db: Database) -> None:
    """Review S10: what the relay claims (undelivered) and what the batch audit takes
    (unaudited) are found through partial indexes of just those entries, not by reading the
    whole timeline of every case there ever was (a scan of the table, or of an index of all
    its rows). PostgreSQL is told to avoid a sequential scan wherever an index serves: on a
    small table it would rightly prefer one."""
    statements: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
             executemany: bool) -> None:
        if "FROM case_messages" in statement:
            statements.append((statement, parameters))

    async with db.transaction() as uow:
        event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
        try:
            await uow.cases.undelivered(50, exclude=[1])
            await uow.cases.unaudited(now(), 500)
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", seen)
    assert len(statements) == 2
    async with db.engine.connect() as conn:
        if db.dialect == "postgresql":
            await conn.exec_driver_sql("SET enable_seqscan = off")
        prefix = "EXPLAIN QUERY PLAN " if db.dialect == "sqlite" else "EXPLAIN "
        for (statement, parameters), index in zip(
                statements, ["ix_case_messages_undelivered", "ix_case_messages_unaudited"],
                strict=True):
            plan = " / ".join(str(row[-1]) for row in
                              await conn.exec_driver_sql(prefix + statement, parameters))
            assert index in plan, (statement, plan)


async def test_a_merged_case_is_handled_as_the_end_of_its_merge_chain(db: Database) -> None:
    await seed_campaign(db)
    async with db.transaction() as uow:
        unit = await uow.session.scalar(select(Unit).where(Unit.code == "V1"))
        assert unit is not None
        first, second, third = [await uow.cases.add(_case(unit.id), [number]) for number in
                                ("C-AAAAAA", "C-BBBBBB", "C-CCCCCC")]
        for merged, into in ((first, second), (second, third)):
            merged.status, merged.merged_into_id = CaseStatus.MERGED, into.id
    async with db.transaction() as uow:
        for case in (first, second, third):
            found = await uow.cases.get(case.id)
            assert found is not None
            assert (await uow.cases.handled_as(found, lock=True)).number == "C-CCCCCC"
