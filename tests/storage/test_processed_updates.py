"""The duplicate check: a redelivered update is recognised, a new update reusing an id is not.

Update ids restart (on Telegram at a random number after a week without updates; in the
sandbox at 1000 after a restart), so the record is keyed on the id and a keyed digest of the
update's content.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text
from telegram import Update

from handlers.deps import Deps, DuplicateUpdate, update_digest
from storage.migrate import upgrade
from storage.models import ProcessedUpdate
from storage.uow import Database, UnitOfWork
from surveys.questionnaire.catalog import SurveyCatalog
from tests.conftest import SECRET

USER = 424242


def tap(update_id: int, query_id: str, data: str = "p:1:0:v:4", date: int = 1_760_000_000,
        ) -> Update:
    return Update.de_json({
        "update_id": update_id,
        "callback_query": {
            "id": query_id, "chat_instance": "ci", "data": data,
            "from": {"id": USER, "is_bot": False, "first_name": "Resident"},
            "message": {"message_id": 7, "date": date, "text": "1/5",
                        "chat": {"id": USER, "type": "private"}},
        },
    }, None)


def text_message(update_id: int, text_: str, date: int) -> Update:
    return Update.de_json({
        "update_id": update_id,
        "message": {"message_id": update_id, "date": date, "text": text_,
                    "from": {"id": USER, "is_bot": False, "first_name": "Resident"},
                    "chat": {"id": USER, "type": "private"}},
    }, None)


class Counter:
    """A use case that counts its runs (the effect) and one that reports how things stand."""

    def __init__(self) -> None:
        self.effects = 0

    async def effect(self, uow: UnitOfWork) -> str:
        self.effects += 1
        return f"did it ({self.effects})"

    async def view(self, uow: UnitOfWork) -> str:
        return f"as it stands ({self.effects})"


def deps(db: Database, now: datetime | None = None) -> Deps:
    when = now or datetime(2026, 12, 6, 9, 41, 17, 123456, tzinfo=UTC)
    return Deps(db=db, secret=SECRET, catalog=SurveyCatalog(), clock=lambda: when)


async def test_a_redelivered_update_is_recognised_and_answered_again(db: Database) -> None:
    counter = Counter()
    d = deps(db)
    first = tap(1000, "q1")
    assert await d.run(first, counter.effect, again=counter.view) == "did it (1)"
    # The same update again (the bot died before confirming it): no second effect, but an
    # answer showing how things stand, since the first reply may never have gone out.
    again = tap(1000, "q1")
    assert await d.run(again, counter.effect, again=counter.view) == "as it stands (1)"
    with pytest.raises(DuplicateUpdate):
        await d.run(again, counter.effect)
    assert counter.effects == 1


async def test_a_new_update_reusing_an_id_after_ids_restarted_is_handled(db: Database) -> None:
    counter = Counter()
    d = deps(db)
    # The sandbox restarted: ids start again at 1000, for different taps and messages.
    await d.run(tap(1000, "q1"), counter.effect)
    await d.run(text_message(1001, "hello", 1_760_000_100), counter.effect)
    assert await d.run(tap(1000, "q9"), counter.effect) == "did it (3)"
    assert await d.run(text_message(1001, "hello", 1_760_086_500), counter.effect) == (
        "did it (4)")
    # Even the same text at the same second from another message is a new update.
    assert await d.run(text_message(1001, "hello again", 1_760_000_100), counter.effect) == (
        "did it (5)")
    # And each of them, delivered again, is still recognised.
    for update in (tap(1000, "q1"), tap(1000, "q9"), text_message(1001, "hello", 1_760_000_100)):
        with pytest.raises(DuplicateUpdate):
            await d.run(update, counter.effect)
    assert counter.effects == 5


def test_the_digest_is_keyed_and_names_nobody() -> None:
    update = tap(1000, "q1")
    digest = update_digest(SECRET, update)
    assert digest == update_digest(SECRET, tap(1000, "q1"))
    assert digest != update_digest(b"another-secret-key-0123456789ab", update)
    assert digest != update_digest(SECRET, tap(1000, "q1", data="p:1:0:v:5"))
    assert str(USER) not in digest and len(digest) == 32


async def test_the_record_holds_no_person_and_only_the_hour(db: Database) -> None:
    await deps(db).run(text_message(5000, "my answer", 1_760_000_000), Counter().effect)
    async with db.reading() as uow:
        rows = (await uow.session.execute(select(ProcessedUpdate))).scalars().all()
        columns = (await uow.session.execute(
            text("SELECT * FROM processed_updates"))).keys()
    assert set(columns) == {"update_id", "digest", "processed_at"}
    [row] = rows
    assert row.processed_at == datetime(2026, 12, 6, 9, tzinfo=UTC)
    assert str(USER) not in row.digest


async def test_pruning_by_the_hour_keeps_recent_records(db: Database) -> None:
    counter = Counter()
    old = deps(db, datetime(2026, 12, 1, 8, 30, tzinfo=UTC))
    new = deps(db, datetime(2026, 12, 6, 9, 30, tzinfo=UTC))
    await old.run(tap(1, "a"), counter.effect)
    await new.run(tap(2, "b"), counter.effect)
    async with db.transaction() as uow:
        assert await uow.updates.prune(datetime(2026, 12, 4, tzinfo=UTC)) == 1
    with pytest.raises(DuplicateUpdate):
        await new.run(tap(2, "b"), counter.effect)
    assert await new.run(tap(1, "a"), counter.effect) == "did it (3)"




async def test_the_migration_keeps_old_records_by_the_hour(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/old.db"
    await asyncio.to_thread(upgrade, url, "0007")
    db = Database.from_url(url)
    try:
        async with db.transaction() as uow:
            await uow.session.execute(text(
                "INSERT INTO processed_updates (update_id, processed_at) VALUES "
                "(7, '2026-12-06 09:41:17.123456'), (8, '2026-12-06 10:02:00')"))
        await asyncio.to_thread(upgrade, url)
        async with db.reading() as uow:
            rows = (await uow.session.execute(
                select(ProcessedUpdate).order_by(ProcessedUpdate.update_id))).scalars().all()
        assert [(r.update_id, r.digest, r.processed_at) for r in rows] == [
            (7, "", datetime(2026, 12, 6, 9, tzinfo=UTC)),
            (8, "", datetime(2026, 12, 6, 10, tzinfo=UTC)),
        ]
        # A new update with a digest is recorded beside them.
        assert await deps(db).run(tap(7, "q7"), Counter().effect) == "did it (1)"
    finally:
        await db.dispose()
