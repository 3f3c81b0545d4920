"""Replies first: while the outbox sends a campaign's invitations at Telegram's pace, a
resident answering a poll is answered ahead of the invitations still waiting."""

from __future__ import annotations

import asyncio

import pytest

from sandbox import BotApiSandbox, RateLimit, SandboxClient
from storage.uow import Database
from tests.conftest import seed_campaign
from tests.e2e.conftest import Bot, Clock

pytestmark = pytest.mark.e2e
SUBSCRIBERS = [8_100_000 + i for i in range(60)]
RATE = 10  # messages a second, for the sandbox and the bot alike


def invitations_delivered(box: BotApiSandbox) -> int:
    return sum(1 for user in SUBSCRIBERS for event in box.chat(user)["events"]
               if event["kind"] == "message" and event["message"]["from"] == "bot")


async def test_a_reply_does_not_wait_behind_the_invitations(
    db: Database, clock: Clock
) -> None:
    await seed_campaign(db)  # open now: its invitations are queued when the bot starts
    async with db.transaction() as uow:
        unit = await uow.units.by_code("V1")
        assert unit is not None
        for user_id in SUBSCRIBERS:
            contact = await uow.contacts.get_or_create(user_id, user_id)
            await uow.subscriptions.add(contact.id, unit.id)
    box = BotApiSandbox(global_limit=RateLimit(rate=RATE, burst=RATE),
                        chat_limit=RateLimit(rate=1, burst=5))
    await box.start()
    for user_id in SUBSCRIBERS:
        box.add_user(user_id, f"Subscriber {user_id}")
    bot = Bot(box, db, clock, messages_per_second=RATE)
    await bot.start()
    try:
        async with SandboxClient(box.base_url) as client, asyncio.timeout(60):
            resident = await client.user(8_000_001, "Walk-in", language_code="en")
            while invitations_delivered(box) < 3:  # noqa: ASYNC110 - the sandbox's own state
                await asyncio.sleep(0.05)
            await resident.send("/start willow")
            await resident.wait_for_message("1/5", timeout=10)
            sent_before_reply = invitations_delivered(box)
            # In order of arrival the reply would wait for the outbox's 30 in flight (3 s at
            # 10 a second); ahead of them, it goes out within a few tokens.
            assert sent_before_reply < 15, sent_before_reply
            while invitations_delivered(box) < len(SUBSCRIBERS):  # noqa: ASYNC110
                await asyncio.sleep(0.1)
    finally:
        await bot.stop()
        await box.stop()
