"""The resident after sending a report, use case by use case: replies to the handler and the
"Was this solved?" answer, each only for the resident the case's seal names."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import text

from storage.evidence import StoredFile
from storage.models import Case, CaseDraft, CaseOutcome, CaseStatus
from storage.uow import Database
from surveys.cases import answers, drafts, relaying, sealing, supervision, timeline
from surveys.cases.closing import close
from surveys.cases.rules import HANDLER, NOT_SOLVED
from surveys.people.caller import Refused
from tests.cases.staff_factory import deliver_all
from tests.cases.test_reporting import DESK as REPORTING
from tests.cases.test_reporting import NOW, RESIDENT, caller, draft, run, send, written
from tests.conftest import SECRET, seed_campaign

STRANGER = 4_000_001
OTHER = 777


async def opened_case(db: Database, tell: bool = True) -> str:
    await seed_campaign(db)
    return (await send(db, await written(db), tell=tell)).number


async def staff_message(db: Database, number: str, text: str = "Which lamp post?") -> int:
    """A handler's question, as the staff side records it."""
    async with db.transaction() as uow:
        case = await uow.cases.by_number(number)
        assert case is not None
        entry = await timeline.record(uow, case, timeline.MESSAGE, timeline.TO_RESIDENT,
                                      author=HANDLER, at=NOW, text=text, actor="person:1")
        return entry.id


async def resolve(db: Database, number: str) -> int:
    """The handler resolved it (as the staff side does); returns the version asked about."""
    async with db.transaction() as uow:
        case = await uow.cases.by_number(number)
        assert case is not None
        case.status, case.resolution = CaseStatus.RESOLVED, "Bulb replaced"
        case.resolved_at, case.resolved_on_time = NOW, True
        case.answer_due_at = NOW + timedelta(days=7)
        case.version += 1
        await timeline.record(uow, case, timeline.RESOLUTION, timeline.TO_RESIDENT,
                              author=HANDLER, at=NOW, text="Bulb replaced", actor="person:1")
        return case.version


async def case_of(db: Database, number: str) -> Case:
    async with db.reading() as uow:
        case = await uow.cases.by_number(number)
        assert case is not None
        return case


async def entries(db: Database, number: str) -> list[tuple[str, str, str, str]]:
    """The case's timeline entries other than the test's own staff ones. (A resident's
    entries have coarse times, so they sort before staff entries of the same ten minutes.)"""
    async with db.reading() as uow:
        case = await uow.cases.by_number(number)
        assert case is not None
        return [(e.kind, e.author, e.notify, e.text) for e in await uow.cases.messages(case.id)
                if e.author != HANDLER]


async def test_a_reply_goes_to_the_handler(db: Database) -> None:
    number = await opened_case(db)
    entry = await staff_message(db, number)
    prompt = await run(db, answers.start_reply, caller(), RESIDENT, number, entry,
                       desk=REPORTING)
    assert isinstance(prompt, answers.ReplyPrompt) and prompt.number == number
    too_long = await run(db, answers.reply_text, caller(), RESIDENT, "x" * 61, desk=REPORTING)
    assert isinstance(too_long, answers.Relayed) and too_long.number is None
    assert too_long.too_long is not None and too_long.too_long.limit == 60
    relayed = await run(db, answers.reply_text, caller(), RESIDENT, "The one by the school gate",
                        desk=REPORTING)
    assert isinstance(relayed, answers.Relayed) and relayed.number == number
    assert ("message", "resident", "handler", "The one by the school gate") in await entries(
        db, number)
    assert await draft(db) is None
    with pytest.raises(Refused) as refused:
        await run(db, answers.reply_text, caller(), RESIDENT, "again", desk=REPORTING)
    assert refused.value.key == "no_draft"


async def test_a_photo_reply_is_kept_with_the_case(db: Database) -> None:
    number = await opened_case(db)
    entry = await staff_message(db, number)
    await run(db, answers.start_reply, caller(), RESIDENT, number, entry, desk=REPORTING)
    stored = StoredFile("b" * 64, "bb/" + "b" * 64 + ".png", 99, "image/png")
    relayed = await run(db, answers.reply_photo, caller(), RESIDENT, stored, "Here",
                        desk=REPORTING)
    assert isinstance(relayed, answers.Relayed) and relayed.number == number
    async with db.reading() as uow:
        case = await uow.cases.by_number(number)
        assert case is not None
        assert [(p.part, p.sha256) for p in await uow.cases.photos(case.id)] == [
            ("relay", "b" * 64)]
        [reply] = [e for e in await uow.cases.messages(case.id)
                   if e.kind == "message" and e.author == "resident"]
        assert (reply.text, reply.params) == ("Here", {"photos": ["b" * 64]})


@pytest.mark.parametrize("who", ["stranger", "wrong entry", "no such case"])
async def test_only_the_resident_may_reply(db: Database, who: str) -> None:
    number = await opened_case(db)
    entry = await staff_message(db, number)
    user, target, entry_id = RESIDENT, number, entry
    if who == "stranger":
        user = STRANGER
    elif who == "wrong entry":
        async with db.reading() as uow:
            case = await uow.cases.by_number(number)
            assert case is not None
            entry_id = (await uow.cases.messages(case.id))[0].id  # the OPENED entry
    else:
        target = "C-ZZZZZZ"
    with pytest.raises(Refused) as refused:
        await run(db, answers.start_reply, caller(user), user, target, entry_id,
                  desk=REPORTING)
    assert refused.value.key == "forged"


async def test_a_reply_to_a_closed_case_is_refused(db: Database) -> None:
    number = await opened_case(db)
    entry = await staff_message(db, number)
    await run(db, answers.start_reply, caller(), RESIDENT, number, entry, desk=REPORTING)
    async with db.transaction() as uow:  # closed meanwhile (an admin rejected it)
        case = await uow.cases.by_number(number)
        assert case is not None
        case.status, case.outcome = CaseStatus.CLOSED, CaseOutcome.REJECTED
        await uow.cases.drop_seal(case.id)
    relayed = await run(db, answers.reply_text, caller(), RESIDENT, "Hello?", desk=REPORTING)
    assert isinstance(relayed, answers.Relayed) and relayed.closed == number
    assert relayed.number is None and await draft(db) is None
    with pytest.raises(Refused) as refused:
        await run(db, answers.start_reply, caller(), RESIDENT, number, entry, desk=REPORTING)
    assert (refused.value.key, refused.value.params) == ("closed", {"number": number})


@pytest.mark.parametrize(("code", "outcome"), [("y", CaseOutcome.CONFIRMED),
                                               ("p", CaseOutcome.PARTLY)])
async def test_yes_or_partly_closes_the_case(db: Database, code: str,
                                             outcome: CaseOutcome) -> None:
    number = await opened_case(db)
    version = await resolve(db, number)
    await deliver_all(db)  # the resident taps the resolution's buttons
    answered = await run(db, answers.answer, caller(), RESIDENT, number, version, code,
                         desk=REPORTING)
    assert isinstance(answered, answers.Answered) and answered.outcome == outcome
    case = await case_of(db, number)
    assert (case.status, case.outcome, case.version) == (CaseStatus.CLOSED, outcome,
                                                          version + 1)
    async with db.reading() as uow:
        assert await uow.cases.seal_of(case.id) is None, "closing drops the seal"
    assert ("answer", "resident", "handler", "") in await entries(db, number)
    with pytest.raises(Refused) as refused:  # a second tap: told the case is closed
        await run(db, answers.answer, caller(), RESIDENT, number, version, code,
                  desk=REPORTING)
    assert refused.value.key == "answered_closed"
    comment = await run(db, answers.answer_comment, caller(), "Thanks, all good",
                        desk=REPORTING)
    assert isinstance(comment, answers.Relayed) and comment.number == number
    assert ("answer", "resident", "handler", "Thanks, all good") in await entries(db, number)


async def test_no_reopens_once_then_closes_not_solved(db: Database) -> None:
    number = await opened_case(db)
    version = await resolve(db, number)
    answered = await run(db, answers.answer, caller(), RESIDENT, number, version, "n",
                         desk=REPORTING)
    assert isinstance(answered, answers.Answered) and answered.outcome is None
    case = await case_of(db, number)
    assert (case.status, case.reopened, case.escalation) == (CaseStatus.TAKEN, 1, NOT_SOLVED)
    assert case.resolution is None and case.resolved_at is None
    assert sorted(await entries(db, number))[:2] == [
        ("answer", "resident", "handler", ""), ("escalated", "system", "admins", "")]
    async with db.reading() as uow:
        [escalated] = [e for e in await uow.cases.messages(case.id) if e.kind == "escalated"]
        assert escalated.audited is False, "audited later, with the resident's entries"
        assert await uow.cases.seal_of(case.id) is not None
    version = await resolve(db, number)
    again = await run(db, answers.answer, caller(), RESIDENT, number, version, "n",
                      desk=REPORTING)
    assert isinstance(again, answers.Answered) and again.outcome == CaseOutcome.NOT_SOLVED
    case = await case_of(db, number)
    assert (case.status, case.outcome) == (CaseStatus.CLOSED, CaseOutcome.NOT_SOLVED)


async def test_a_draft_names_its_case_only_sealed(db: Database) -> None:
    """A reply or an answer's comment being written is a row the resident's transaction
    wrote (and on PostgreSQL stamped): it must not say which case it is for."""
    number = await opened_case(db)
    entry = await staff_message(db, number)
    await run(db, answers.start_reply, caller(), RESIDENT, number, entry, desk=REPORTING)
    replying = await draft(db)
    assert replying is not None and replying.kind == "reply"
    assert number not in str(replying.data) and str(entry) not in str(replying.data)
    assert drafts.case_of(replying, SECRET) == number
    assert drafts.case_of(replying, b"another-secret-0123456789abcdef!") is None
    copied = CaseDraft(key=sealing.draft_key(SECRET, STRANGER), kind="reply", version=1,
                       data=replying.data)
    assert drafts.case_of(copied, SECRET) is None, "bound to the draft it was sealed for"
    version = await resolve(db, number)
    await run(db, answers.answer, caller(), RESIDENT, number, version, "y", desk=REPORTING)
    answering = await draft(db)
    assert answering is not None and answering.kind == "answer"
    assert number not in str(answering.data) and drafts.case_of(answering, SECRET) == number


async def test_a_draft_whose_case_does_not_open_relays_nothing(db: Database) -> None:
    number = await opened_case(db)
    entry = await staff_message(db, number)
    await run(db, answers.start_reply, caller(), RESIDENT, number, entry, desk=REPORTING)
    async with db.transaction() as uow:  # as if sealed under another secret
        kept = await uow.cases.draft(sealing.draft_key(SECRET, RESIDENT))
        assert kept is not None
        kept.data = {**kept.data, "to": sealing.seal_pointer(b"x" * 32, kept.key, number)}
    with pytest.raises(Refused) as refused:
        await run(db, answers.reply_text, caller(), RESIDENT, "The one by the gate",
                  desk=REPORTING)
    assert refused.value.key == "no_draft"
    assert ("message", "resident", "handler", "The one by the gate") not in await entries(
        db, number)


async def test_only_the_resident_may_answer(db: Database) -> None:
    number = await opened_case(db)
    version = await resolve(db, number)
    for user, args, key in [
        (STRANGER, (number, version, "y"), "forged"),
        (RESIDENT, (number, version - 1, "y"), "stale"),
        (RESIDENT, (number, version, "q"), "forged"),
        (RESIDENT, ("C-ZZZZZZ", version, "y"), "forged"),
    ]:
        with pytest.raises(Refused) as refused:
            await run(db, answers.answer, caller(user), user, *args, desk=REPORTING)
        assert refused.value.key == key, (user, args)
    assert (await case_of(db, number)).status == CaseStatus.RESOLVED


async def test_a_resident_back_from_a_block_gets_their_chat_back(db: Database) -> None:
    """The relay reseals a case without its chat when the resident blocked the bot; their
    quota key still names them, so a later tap works and the chat returns."""
    from surveys.cases import sealing

    number = await opened_case(db)
    entry = await staff_message(db, number)
    async with db.transaction() as uow:
        case = await uow.cases.by_number(number)
        assert case is not None
        reporter = sealing.Reporter(sealing.quota_key(REPORTING.secret, RESIDENT), None, "en")
        await uow.cases.put_seal(case.id, sealing.seal(REPORTING.secret, case.id, reporter))
    await run(db, answers.start_reply, caller(), RESIDENT, number, entry, desk=REPORTING)
    async with db.reading() as uow:
        sealed = await uow.cases.seal_of(case.id)
    assert sealed is not None
    back = sealing.unseal(REPORTING.secret, case.id, sealed)
    assert back is not None and back.chat_id == RESIDENT


async def test_a_merged_case_s_resident_answers_on_the_case_it_was_merged_into(
    db: Database,
) -> None:
    """Each merged case keeps its seal; its resident's reply and answer go to the primary
    (the relay sends them the primary's messages under their own case number), and closing
    the primary drops every seal."""
    primary = await opened_case(db)
    other = 777
    merged = (await send(db, await written(db, user=other, text="Same lamp"), user=other)).number
    async with db.transaction() as uow:
        first = await uow.cases.by_number(primary)
        second = await uow.cases.by_number(merged)
        assert first is not None and second is not None
        second.status, second.merged_into_id = CaseStatus.MERGED, first.id
        first.reports += 1
    entry = await staff_message(db, primary)
    await run(db, answers.start_reply, caller(other), other, merged, entry, desk=REPORTING)
    relayed = await run(db, answers.reply_text, caller(other), other, "By the gate",
                        desk=REPORTING)
    assert isinstance(relayed, answers.Relayed) and relayed.number == primary
    assert ("message", "resident", "handler", "By the gate") in await entries(db, primary)
    version = await resolve(db, primary)
    await deliver_all(db)
    answered = await run(db, answers.answer, caller(other), other, merged, version, "y",
                         desk=REPORTING)
    assert isinstance(answered, answers.Answered) and answered.number == primary
    assert (await case_of(db, primary)).outcome == CaseOutcome.CONFIRMED
    async with db.reading() as uow:
        assert await uow.cases.active_seals() == []
        for number in (primary, merged):
            assert await uow.cases.seal_of((await case_of(db, number)).id) is None


async def merged_pair(db: Database, primary_tells: bool = True) -> tuple[str, str]:
    """Two residents' reports of one problem, the second merged into the first."""
    primary = await opened_case(db, tell=primary_tells)
    merged = (await send(db, await written(db, user=OTHER, text="Same lamp"), user=OTHER)).number
    async with db.transaction() as uow:
        first = await uow.cases.by_number(primary)
        second = await uow.cases.by_number(merged)
        assert first is not None and second is not None
        second.status, second.merged_into_id = CaseStatus.MERGED, first.id
        first.reports += 1
    return primary, merged


async def test_an_answer_keeps_a_merged_residents_seal_until_they_are_told(
    db: Database,
) -> None:
    """Review M2/S2: the answer closes the case by the one closing rule. The primary's
    resident answered before the merged report's resident had the resolution (their chat hit
    a network error): that resident is still told, and their seal goes once they are."""
    primary, merged = await merged_pair(db)
    version = await resolve(db, primary)  # its RESOLUTION, to both residents, not yet sent
    await run(db, answers.answer, caller(), RESIDENT, primary, version, "y", desk=REPORTING)
    async with db.transaction() as uow:
        parcels = await relaying.plan(uow, SECRET, await uow.cases.undelivered(1000),
                                       max_attempts=3)
    [parcel] = [p for p in parcels if p.entry.kind == timeline.RESOLUTION]
    assert merged in {r.number for r in parcel.recipients}, "the merged resident is told"
    await deliver_all(db)
    async with db.transaction() as uow:
        assert await supervision.release_seals(uow) == 2
        assert await uow.cases.active_seals() == []


async def test_a_no_to_an_overdue_case_does_not_bring_a_second_overdue_escalation(
    db: Database,
) -> None:
    """Review S1, through the resident's answer: "No" marks the case not solved and leaves
    its overdue escalation (made once) alone."""
    number = await opened_case(db)
    async with db.transaction() as uow:
        case = await uow.cases.by_number(number)
        assert case is not None
        case.status, case.due_at = CaseStatus.TAKEN, NOW - timedelta(days=1)
    async with db.transaction() as uow:
        assert await supervision.escalate_overdue(uow, NOW) == 1
    version = await resolve(db, number)
    await run(db, answers.answer, caller(), RESIDENT, number, version, "n", desk=REPORTING)
    assert (await case_of(db, number)).escalation == NOT_SOLVED
    async with db.transaction() as uow:
        assert await supervision.escalate_overdue(uow, NOW + timedelta(minutes=1)) == 0


async def _until_waiting(db: Database, task: asyncio.Task[object]) -> None:
    """Let ``task`` run until its transaction waits for a lock this test holds (PostgreSQL;
    SQLite runs one writer at a time, so there it simply waits for the turn)."""
    if db.dialect != "postgresql":
        return
    for _ in range(400):
        async with db.reading() as uow:
            waiting = await uow.session.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()"))
        if waiting or task.done():
            return
        await asyncio.sleep(0.025)


async def _while_rejected(db: Database, number: str,
                          racer: Callable[[], Awaitable[object]]) -> object:
    """Run ``racer`` while an admin's transaction, which holds the case, rejects it."""
    async with db.transaction() as uow:
        case = await uow.cases.by_number(number, lock=True)
        assert case is not None
        task = asyncio.ensure_future(racer())
        await _until_waiting(db, task)
        await close(uow, case, CaseOutcome.REJECTED, at=NOW, kind=timeline.REJECTED,
                    notify=timeline.TO_NONE, author="admin", text="Not ours")
    return await task


async def test_a_reply_racing_a_rejection_is_refused_not_relayed(db: Database) -> None:
    """Review S3: the reply locks the case and reads its status in its own transaction, so it
    cannot land on a case closed while it was being written down."""
    number = await opened_case(db)
    entry = await staff_message(db, number)
    await run(db, answers.start_reply, caller(), RESIDENT, number, entry, desk=REPORTING)
    relayed = await _while_rejected(db, number, lambda: run(
        db, answers.reply_text, caller(), RESIDENT, "Hello?", desk=REPORTING))
    assert isinstance(relayed, answers.Relayed)
    assert (relayed.number, relayed.closed) == (None, number)
    assert "Hello?" not in [e[3] for e in await entries(db, number)]


async def test_a_comment_racing_a_rejection_is_refused_not_relayed(db: Database) -> None:
    """Review S3: after a first "No" the case is the handler's again; an admin rejecting it
    meanwhile ends the comment too."""
    number = await opened_case(db)
    version = await resolve(db, number)
    await run(db, answers.answer, caller(), RESIDENT, number, version, "n", desk=REPORTING)
    relayed = await _while_rejected(db, number, lambda: run(
        db, answers.answer_comment, caller(), "Still dark", desk=REPORTING))
    assert isinstance(relayed, answers.Relayed)
    assert (relayed.number, relayed.closed) == (None, number)
    assert "Still dark" not in [e[3] for e in await entries(db, number)]
    assert await draft(db) is None
