"""Residents of reports merged into one case (surveys/cases/closing.py, answers.py and the
relay's texts): every reporter who asked to be told gets the staff's questions and may reply;
"Was this solved?" answered by one of them leaves the others no stale buttons, and a tap on
one they had says plainly what happened. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from handlers.relay_render import relay_message
from storage.uow import Database
from surveys.cases import answers, relaying, timeline
from surveys.people.caller import Refused
from tests.cases.staff_factory import deliver_all
from tests.cases.test_answers import OTHER, entries, merged_pair, resolve, staff_message
from tests.cases.test_answers import REPORTING as DESK
from tests.cases.test_reporting import RESIDENT, caller, run
from tests.conftest import SECRET


async def planned(db: Database, kind: str) -> relaying.Parcel:
    async with db.transaction() as uow:
        parcels = await relaying.plan(uow, SECRET, await uow.cases.undelivered(1000),
                                      max_attempts=3)
    [parcel] = [p for p in parcels if p.entry.kind == kind]
    return parcel


async def test_a_staff_question_reaches_every_reporter_and_any_may_reply(db: Database) -> None:
    primary, merged = await merged_pair(db)
    entry = await staff_message(db, primary, "Which lamp post?")
    parcel = await planned(db, timeline.MESSAGE)
    assert {(r.chat_id, r.number) for r in parcel.recipients} == {(RESIDENT, primary),
                                                                  (OTHER, merged)}
    # Each under their own number, with a Reply button for it.
    mine = next(r for r in parcel.recipients if r.number == merged)
    message = relay_message(parcel, mine, DESK.rules)
    assert merged in message.text and "Which lamp post?" in message.text
    assert message.keyboard is not None
    [[button]] = message.keyboard.inline_keyboard
    assert button.callback_data == f"cq:{merged}:{entry}"
    await deliver_all(db)
    await run(db, answers.start_reply, caller(OTHER), OTHER, merged, entry, desk=DESK)
    relayed = await run(db, answers.reply_text, caller(OTHER), OTHER, "By the gate",
                        desk=DESK)
    assert isinstance(relayed, answers.Relayed) and relayed.number == primary
    assert ("message", "resident", "handler", "By the gate") in await entries(db, primary)


async def test_a_resolution_after_another_reporter_answered_has_no_buttons(
        db: Database) -> None:
    primary, merged = await merged_pair(db)
    version = await resolve(db, primary)  # to both residents, not delivered yet
    await run(db, answers.answer, caller(), RESIDENT, primary, version, "y", desk=DESK)
    parcel = await planned(db, timeline.RESOLUTION)
    theirs = next(r for r in parcel.recipients if r.number == merged)
    message = relay_message(parcel, theirs, DESK.rules)
    assert message.keyboard is None, "Yes / Partly / No would be stale"
    assert "no answer is needed" in message.text


@pytest.mark.parametrize(("first", "refusal"), [("y", "answered_closed"),
                                                ("p", "answered_closed"),
                                                ("n", "answered_reopened")])
async def test_a_reporter_tapping_after_another_answered_is_told_why(
        db: Database, first: str, refusal: str) -> None:
    primary, merged = await merged_pair(db)
    version = await resolve(db, primary)
    await deliver_all(db)  # both have Yes / Partly / No
    await run(db, answers.answer, caller(), RESIDENT, primary, version, first, desk=DESK)
    with pytest.raises(Refused) as refused:
        await run(db, answers.answer, caller(OTHER), OTHER, merged, version, "y", desk=DESK)
    assert (refused.value.key, refused.value.params) == (refusal, {"number": merged})
