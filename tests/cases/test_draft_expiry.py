"""A reply to staff, or a comment on "Was this solved?", does not wait for ever: it expires
after ``cases.draft_expires_hours`` and goes when the person begins a poll, so what they type
later is not taken for it (surveys/cases/drafts.py). On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage.uow import Database
from surveys.cases import answers, drafts
from surveys.people.caller import Caller, Refused
from surveys.questionnaire.catalog import SurveyCatalog
from surveys.respondents import responding
from surveys.respondents.journey import Respondent
from tests.cases.test_answers import opened_case, resolve, staff_message
from tests.cases.test_reporting import DESK, NOW, RESIDENT, caller, draft, run
from tests.cases.test_reporting import written as report_written
from tests.conftest import SECRET, now

AFTER = DESK.rules.draft_expires_after  # 24 hours by default


def at(later: timedelta) -> Caller:
    return Caller(telegram_user_id=RESIDENT, now=NOW + later)


async def peeked(db: Database, later: timedelta) -> drafts.Peek | None:
    async with db.reading() as uow:
        return await drafts.peek(uow, at(later), SECRET, AFTER)


async def test_a_reply_not_sent_in_time_expires(db: Database) -> None:
    number = await opened_case(db)
    entry = await staff_message(db, number)
    await run(db, answers.start_reply, caller(), RESIDENT, number, entry, desk=DESK)
    soon = await peeked(db, AFTER - timedelta(minutes=1))
    assert soon is not None and soon.kind == drafts.REPLY
    # Past its time, a text is not taken for it (the poll, or the journey, gets it) ...
    assert await peeked(db, AFTER + timedelta(minutes=1)) is None
    with pytest.raises(Refused) as refused:
        await run(db, answers.reply_text, at(AFTER + timedelta(minutes=1)), RESIDENT,
                  "The one by the gate", desk=DESK)
    assert refused.value.key == "no_draft"
    # ... and the supervision sweep drops it.
    assert await run(db, drafts.drop_expired, secret=SECRET, now=NOW + AFTER / 2,
                     after=AFTER) == 0
    assert await run(db, drafts.drop_expired, secret=SECRET, now=NOW + 2 * AFTER,
                     after=AFTER) == 1
    assert await draft(db) is None


async def test_a_comment_on_an_answer_expires_too(db: Database) -> None:
    number = await opened_case(db)
    version = await resolve(db, number)
    await run(db, answers.answer, caller(), RESIDENT, number, version, "y", desk=DESK)
    assert (await peeked(db, timedelta(hours=1))) is not None
    assert await peeked(db, AFTER + timedelta(hours=1)) is None
    with pytest.raises(Refused):
        await run(db, answers.answer_comment, at(AFTER + timedelta(hours=1)), "Thanks",
                  desk=DESK)


async def test_a_report_being_written_does_not_expire(db: Database) -> None:
    await opened_case(db)
    await report_written(db, text="The bins are full")
    later = await peeked(db, 10 * AFTER)
    assert later is not None and later.kind == drafts.REPORT
    assert await run(db, drafts.drop_expired, secret=SECRET, now=NOW + 10 * AFTER,
                     after=AFTER) == 0


async def test_beginning_a_poll_drops_a_reply_being_written(db: Database) -> None:
    """The resident tapped Reply, then began a poll: the poll's comment must not go to the
    case (which may have closed meanwhile)."""
    number = await opened_case(db)
    entry = await staff_message(db, number)
    await run(db, answers.start_reply, caller(), RESIDENT, number, entry, desk=DESK)
    who = Respondent(telegram_user_id=RESIDENT, chat_id=RESIDENT, client_language="en",
                     secret=SECRET, catalog=SurveyCatalog(), now=now())
    async with db.transaction() as uow:
        opened = await responding.open_campaign(uow, who, "willow")
    assert opened.screen is not None, "the poll is being answered"
    assert await draft(db) is None
