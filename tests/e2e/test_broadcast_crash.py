"""The broadcast outbox under the real `civicpulse run` process: a crash, blocks and 429s.

The bot runs as a subprocess against a sandbox in this process (so the test sees every message
the moment it is accepted) and the test database. Invitations go to residents subscribed to the
campaign's unit; the sandbox only delivers to users it knows, as Telegram only to users who have
started the bot, so every resident is registered there first.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sandbox import BotApiSandbox, RateLimit
from sandbox.protocol import Params
from storage.models import Contact, OutboxMessage, OutboxStatus
from storage.uow import Database
from tests.conftest import seed_campaign
from tests.e2e.processes import BotProcess

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
FIRST_USER = 7_000_000


@asynccontextmanager
async def running_sandbox(
    global_limit: RateLimit, chat_limit: RateLimit, users: Iterable[int]
) -> AsyncIterator[BotApiSandbox]:
    box = BotApiSandbox(global_limit=global_limit, chat_limit=chat_limit)
    await box.start()
    for user_id in users:
        box.add_user(user_id, f"Resident {user_id}")
    try:
        yield box
    finally:
        await box.stop()


async def seed_residents(db: Database, user_ids: list[int]) -> None:
    """The campaign 'willow' (Willow Village, open) and residents subscribed to the village."""
    await seed_campaign(db)
    async with db.transaction() as uow:
        unit = await uow.units.by_code("V1")
        assert unit is not None
        for user_id in user_ids:
            contact = await uow.contacts.get_or_create(user_id, user_id)
            await uow.subscriptions.add(contact.id, unit.id)


async def outbox_rows(db: Database) -> dict[int, tuple[OutboxStatus, str | None]]:
    """Telegram user id -> (status, last error) of their invitation."""
    async with db.reading() as uow:
        rows = await uow.session.execute(
            select(Contact.telegram_user_id, OutboxMessage.status, OutboxMessage.last_error)
            .join(Contact, Contact.id == OutboxMessage.contact_id)
            .where(OutboxMessage.kind == "invite")
        )
        return {user_id: (OutboxStatus(status), error) for user_id, status, error in rows}


def invitations(box: BotApiSandbox, user_id: int) -> int:
    return sum(1 for event in box.chat(user_id)["events"]
               if event["kind"] == "message" and event["message"]["from"] == "bot")


async def wait_for(check: Callable[[], Any], what: str, bot: BotProcess,
                   within: float = 60.0, every: float = 0.01) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        assert bot.process is not None
        if bot.process.returncode is not None:
            raise AssertionError(f"the bot exited while waiting for {what}:\n{bot.output()}")
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}:\n{bot.output()}")
        await asyncio.sleep(every)


def all_settled(db: Database, users: int) -> Callable[[], Any]:
    async def check() -> bool:
        rows = await outbox_rows(db)
        return len(rows) == users and all(
            status not in (OutboxStatus.PENDING, OutboxStatus.SENDING)
            for status, _ in rows.values())
    return check


IN_FLIGHT = 5
CRASH_CONFIG = f"""\
bot:
  poll_timeout_s: 1
broadcast:
  in_flight: {IN_FLIGHT}
  resync_interval_s: 1
"""


async def test_a_sender_killed_mid_broadcast_loses_nobody_and_repeats_at_most_in_flight(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    users = [FIRST_USER + n for n in range(150)]
    await seed_residents(db, users)
    async with running_sandbox(RateLimit(50, 50), RateLimit(1, 5), users) as box:
        bot = BotProcess(box, db_url, tmp_path, CRASH_CONFIG)
        await bot.start()
        try:
            await wait_for(lambda: box.stats()["messages_sent"] >= len(users) // 3,
                           "a third of the invitations", bot)
            await bot.kill()
            sent_before = box.stats()["messages_sent"]
            rows = await outbox_rows(db)
            in_flight = {u for u, (status, _) in rows.items() if status == OutboxStatus.SENDING}
            assert sent_before < len(users), "the kill must come mid-broadcast"
            assert len(in_flight) <= IN_FLIGHT

            await bot.start()
            await wait_for(all_settled(db, len(users)), "every invitation settled", bot,
                           every=0.2)
            await asyncio.sleep(0.5)  # nothing more should arrive; let it show if it does
        finally:
            await bot.stop()
        counts = {u: invitations(box, u) for u in users}
        assert box.stats()["messages_sent"] > sent_before, "the restarted bot went on"

    lost = [u for u, n in counts.items() if n == 0]
    twice = {u for u, n in counts.items() if n == 2}
    assert not lost, f"{len(lost)} residents never got the invitation"
    assert max(counts.values()) <= 2
    # Only messages handed to Telegram but not yet recorded can go twice, and those are the
    # rows the killed process left 'sending': at most in_flight of them.
    assert twice <= in_flight, "a duplicate outside the interrupted round"
    assert len(twice) <= IN_FLIGHT
    assert {status for status, _ in (await outbox_rows(db)).values()} == {OutboxStatus.SENT}
    assert "were being sent when the bot stopped" in bot.output() or not in_flight


def block_when_sent_to(box: BotApiSandbox, victims: set[int]) -> None:
    """These users block the bot just as their invitation reaches Telegram (it is in flight
    when they do, so only the 403 can tell the bot)."""
    deliver = box.method("sendMessage")  # the sandbox's own sendMessage, wrapped

    async def send_message(p: Params) -> Any:
        chat_id = p.get_int("chat_id")
        if chat_id in victims:
            victims.discard(chat_id)
            box.block(chat_id)
        return await deliver(p)

    box.add_method("sendMessage", send_message)


async def unreachable(db: Database, user_ids: Iterable[int]) -> dict[int, bool]:
    async with db.reading() as uow:
        rows = await uow.session.execute(
            select(Contact.telegram_user_id, Contact.unreachable)
            .where(Contact.telegram_user_id.in_(list(user_ids)))
        )
        return {user_id: flag for user_id, flag in rows}


async def test_blocks_and_flood_control_mid_broadcast(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    users = [FIRST_USER + n for n in range(60)]
    await seed_residents(db, users)
    in_flight_blockers = {users[10], users[11], users[40]}
    late_blockers = set(users[-5:])
    # Telegram's overall limit is tighter here than the bot's own pace (30/s), so the
    # bot meets 429s and must wait them out.
    async with running_sandbox(RateLimit(20, 10), RateLimit(1, 5), users) as box:
        block_when_sent_to(box, set(in_flight_blockers))
        bot = BotProcess(box, db_url, tmp_path, "bot:\n  poll_timeout_s: 1\n"
                                                "broadcast:\n  in_flight: 10\n"
                                                "  resync_interval_s: 1\n")
        await bot.start()
        try:
            await wait_for(lambda: box.stats()["messages_sent"] >= 20, "20 invitations", bot)
            for user_id in late_blockers:
                box.block(user_id)  # the bot hears of it by a my_chat_member update
            await wait_for(all_settled(db, len(users)), "every invitation settled", bot,
                           every=0.2)
        finally:
            await bot.stop()
        counts = {u: invitations(box, u) for u in users}
        stats = box.stats()

    blockers = in_flight_blockers | late_blockers
    rows = await outbox_rows(db)
    assert stats["responses_429"] >= 1, "the test must actually meet flood control"
    assert stats["responses_403"] >= len(in_flight_blockers)
    assert {u: n for u, n in counts.items() if u not in blockers} == {
        u: 1 for u in users if u not in blockers}, "everyone else got exactly one invitation"
    assert {u: rows[u][0] for u in users if u not in blockers} == {
        u: OutboxStatus.SENT for u in users if u not in blockers}
    assert all(counts[u] == 0 for u in blockers), "nothing reached anyone after they blocked"
    assert await unreachable(db, blockers) == dict.fromkeys(blockers, True)
    # Blocked while the message was in flight: Telegram's 403 marks the row failed.
    for user_id in in_flight_blockers:
        status, error = rows[user_id]
        assert status == OutboxStatus.FAILED and error is not None and "403" in error
    # Blocked well before their turn: the bot usually learns it from the my_chat_member update
    # first and skips the row; if the send wins the race, the 403 fails it. Either way, never sent.
    for user_id in late_blockers:
        assert rows[user_id][0] in (OutboxStatus.FAILED, OutboxStatus.SKIPPED), rows[user_id]
