"""A resident's reply to staff does not wait for ever (surveys/cases/drafts.py), through the
real Application and the sandbox: a reply left unsent past ``cases.draft_expires_hours``, or
given up for a poll, no longer takes what the resident types next."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app import background_of
from sandbox import BotApiSandbox, SandboxClient, SandboxUser
from storage.models import CaseStatus
from storage.uow import Database
from surveys.cases import timeline
from surveys.cases.rules import HANDLER
from tests.cases.test_supervision import add_entry, open_case
from tests.conftest import seed_campaign
from tests.e2e.conftest import Bot, Clock
from tests.e2e.fieldwork import make_cadre
from tests.e2e.test_resident_journey import answer_all

pytestmark = pytest.mark.e2e

RESIDENT_ID = 7_350_000_001
CADRE_ID = 7_360_000_001


@pytest.fixture
async def bot(sandbox: BotApiSandbox, db: Database, clock: Clock) -> AsyncIterator[Bot]:
    await seed_campaign(db)
    harness = Bot(sandbox, db, clock)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def replying(bot: Bot, client: SandboxClient, db: Database,
                   ) -> tuple[SandboxUser, SandboxUser, str]:
    """A cadre asked the resident a question and the resident tapped Reply."""
    cadre_id = await make_cadre(db, CADRE_ID, "V1", "Cadre Wang", ["Road repair"])
    cadre = await client.user(CADRE_ID, "Wang")
    resident = await client.user(RESIDENT_ID, "Li")
    case = await open_case(db, chat_id=RESIDENT_ID, status=CaseStatus.TAKEN,
                           handler_id=cadre_id)
    await add_entry(db, case.number, timeline.MESSAGE, timeline.TO_RESIDENT, author=HANDLER,
                    person_id=cadre_id, text="Which lamp post?")
    assert bot.application is not None
    background_of(bot.application).relay.wake()
    await resident.wait_for_message("Which lamp post?")
    await resident.tap("↩️ Reply")
    await resident.wait_for_message(f"Your reply on case {case.number}")
    await cadre.wait_for_message("New case")
    return resident, cadre, case.number


async def test_a_reply_left_unsent_past_its_time_takes_nothing(
    bot: Bot, client: SandboxClient, db: Database, clock: Clock,
) -> None:
    resident, cadre, number = await replying(bot, client, db)
    clock.offset_s += 25 * 3600  # the default is 24 hours
    await resident.send("By the school gate")
    answer = await resident.wait_for_message()
    assert "Passed on" not in answer.text
    await cadre.expect_no_message()
    # Tapping Reply again begins a new one, which goes.
    await resident.tap("↩️ Reply")
    await resident.wait_for_message(f"Your reply on case {number}")
    await resident.send("By the school gate")
    await resident.wait_for_message("Passed on to the handler")
    await cadre.wait_for_message("By the school gate")


async def test_a_poll_begun_drops_the_reply_being_written(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    """The comment typed at the end of the poll is the poll's, not a reply to the case."""
    resident, cadre, _number = await replying(bot, client, db)
    summary = await answer_all(resident, comment="Friendly staff at the window")
    assert "Friendly staff at the window" in summary.text
    await cadre.expect_no_message()
