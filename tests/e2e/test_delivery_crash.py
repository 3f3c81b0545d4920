"""No tap is lost when the bot is killed: `civicpulse run` killed with SIGKILL at random moments
while residents answer a poll, restarted each time as a supervisor would.

Every resident waits for the bot's answer to each action before the next one, as a person
does. A tap whose update was confirmed to the Bot API before it was handled (the bot died
first) is never delivered again: that resident never hears back and the test fails. A tap
whose answer was committed but whose reply died with the process must be answered again
after the restart, not ignored as a duplicate.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from sandbox import BotApiSandbox, RateLimit, SandboxClient, SandboxUser
from sandbox.client import Message
from storage.models import Answer, Campaign, Response, ResponseStatus
from storage.uow import Database
from surveys.respondents.anonymity import respondent_key
from tests.conftest import seed_campaign
from tests.e2e.processes import BotProcess

pytestmark = pytest.mark.e2e

RESIDENTS = 40
FIRST_USER = 6_100_000
SECRET = "k" * 32  # BotProcess's CIVICPULSE_SECRET_KEY
# (action, what, the reply that shows it was handled): 5 taps a resident, 200 in all.
JOURNEY = [
    ("send", "/start willow", "1/5"),
    ("tap", "4", "2/5"),
    ("tap", "Yes", "3/5"),
    ("tap", "5", "4/5"),
    ("tap", "4", "5/5"),
    ("send", "Quick service, friendly staff", "Your answers"),
    ("tap", "✅ Submit", "Thank you"),
]
TAPS = RESIDENTS * sum(1 for action, _, _ in JOURNEY if action == "tap")
# Long enough for a few restarts of a Python process on a busy machine.
REPLY_WITHIN_S = 90.0
KILLS = 4


class Residents:
    """Residents answering concurrently; ``waiting`` holds those whose last action has not
    been answered yet (their update is somewhere between the sandbox and a reply)."""

    def __init__(self, users: list[SandboxUser], seed: int) -> None:
        self.users = users
        self.rng = random.Random(seed)
        self.waiting: set[int] = set()
        self.taps = 0
        self.finished = 0
        self.last_update: dict[int, int] = {}

    async def answer(self, user: SandboxUser) -> None:
        showing = ""
        for action, what, reply in JOURNEY:
            await asyncio.sleep(self.rng.uniform(0.0, 0.3))
            self.waiting.add(user.id)
            if action == "tap":
                # On the question in front of them: after a restart a question may have been
                # sent again below an earlier copy whose buttons are then out of date.
                question = await current(user, showing, what)
                sent: Any = await user.tap(what, message_id=question.message_id)
                self.taps += 1
            else:
                sent = await user.send(what)
            self.last_update[user.id] = sent.update_id
            await user.wait_for_message(reply, timeout=REPLY_WITHIN_S)
            showing = reply
            self.waiting.discard(user.id)
        self.finished += 1


async def current(user: SandboxUser, showing: str, button: str) -> Message:
    """The newest message that shows ``showing`` with ``button`` (as it is now: an answer
    given again may have moved it on meanwhile, then the question comes again below)."""
    for _ in range(100):
        for message in reversed(await user.bot_messages()):
            if showing in message.text and button in message.button_texts:
                return message
        await asyncio.sleep(0.05)
    raise AssertionError(f"user {user.id}: no message shows {showing!r} with {button!r}")


async def polls(box: BotApiSandbox, bot: BotProcess, after: int) -> None:
    """Wait until the (re)started bot has asked for updates."""
    async with asyncio.timeout(60):
        while int(box.stats()["calls"].get("getUpdates", 0)) <= after:
            assert bot.process is not None
            if bot.process.returncode is not None:
                raise AssertionError(f"the bot exited:\n{bot.output()}")
            await asyncio.sleep(0.02)


async def stored_answers(db: Database, users: list[int]) -> dict[int, tuple[str, int]]:
    """Telegram user id -> (status, number of answers) of their response to 'willow'."""
    async with db.reading() as uow:
        campaign_id = await uow.session.scalar(select(Campaign.id).where(Campaign.code == "willow"))
        assert campaign_id is not None
        keys = {respondent_key(SECRET.encode(), campaign_id, u): u for u in users}
        rows = await uow.session.execute(
            select(Response.respondent_key, Response.status, func.count(Answer.id))
            .outerjoin(Answer, Answer.response_id == Response.id)
            .where(Response.campaign_id == campaign_id)
            .group_by(Response.respondent_key, Response.status)
        )
        return {keys[key]: (str(status), count) for key, status, count in rows if key in keys}


async def test_every_tap_is_stored_or_answered_again_when_the_bot_is_killed(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    await seed_campaign(db)
    rng = random.Random(12)
    box = BotApiSandbox(global_limit=RateLimit(1000, 1000), chat_limit=RateLimit(100, 100))
    await box.start()
    bot = BotProcess(box, db_url, tmp_path, "bot:\n  poll_timeout_s: 1\n")
    kills = 0
    interrupted = 0  # actions waiting for their answer when the bot was killed
    try:
        async with SandboxClient(box.base_url) as client:
            users = [await client.user(FIRST_USER + n, f"Resident {n}") for n in range(RESIDENTS)]
            residents = Residents(users, seed=7)
            by_id = {u.id: u for u in users}
            await bot.start()
            await polls(box, bot, 0)
            journeys = asyncio.gather(*(residents.answer(u) for u in users))
            # Kill at random moments of the bot's life; the rest of the journeys then run on
            # the last restart.
            while kills < KILLS and not journeys.done():
                await asyncio.sleep(rng.uniform(0.5, 3.0))
                if journeys.done():
                    break
                interrupted += len(residents.waiting)
                await bot.kill()
                kills += 1
                before = int(box.stats()["calls"].get("getUpdates", 0))
                await bot.start()
                await polls(box, bot, before)
            try:
                await journeys
            except Exception as exc:
                lines = []
                for u in sorted(residents.waiting):
                    events = (await by_id[u].chat())[-4:]
                    lines.append(f"  resident {u} (update {residents.last_update.get(u)}): "
                                 + " | ".join(e.describe()[:80] for e in events))
                stuck = "\n".join(lines)
                raise AssertionError(
                    f"residents left without an answer after {kills} kills:\n{stuck}\n"
                    f"{bot.output()}") from exc
    finally:
        await bot.stop()
        await box.stop()

    assert residents.finished == RESIDENTS and residents.taps == TAPS
    assert kills >= 3 and interrupted > 0, (kills, interrupted)
    # Every answer is stored exactly once per question, every response submitted.
    assert await stored_answers(db, [u.id for u in users]) == {
        u.id: (ResponseStatus.COMPLETED.value, 5) for u in users}
