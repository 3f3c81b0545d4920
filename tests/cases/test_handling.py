"""The staff side of cases, on SQLite and PostgreSQL: who may see and do what, and what each
action records (status, version, timeline entries with whom they must reach, seals)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from storage.models import AuditEvent, Case, CaseOutcome, CasePhoto, CaseStatus, Role
from storage.uow import Database, UnitOfWork
from surveys.cases import handling, steps, supervision, timeline, views
from surveys.cases.handling import KeptPhoto
from surveys.cases.rules import CaseRules
from surveys.fieldwork.rules import FieldRules
from surveys.people.caller import Caller, Refused
from tests.cases.staff_factory import (
    case_row,
    days_ago,
    deliver_all,
    entries,
    make_staff,
    open_case,
    seal_of,
)
from tests.conftest import now, seed_campaign

T = TypeVar("T")
RULES = CaseRules()
LIMITS = steps.Limits(RULES, FieldRules(note_max_length=60, max_photos=2))
CADRE, OTHER_CADRE, ADMIN, PINE_ADMIN, AUDITOR, INSPECTOR = 501, 502, 503, 504, 505, 506
PHOTO = KeptPhoto("ab" * 32, "ab/" + "ab" * 32 + ".png", 1234, "image/png")


@pytest.fixture
async def people(db: Database) -> dict[int, int]:
    """Willow Village's cadre, Pine Village's cadre, North Township's admin, Pine Village's
    admin, a county auditor and an inspector; person ids by Telegram id."""
    await seed_campaign(db)
    return {
        CADRE: await make_staff(db, CADRE, Role.CADRE, "V1", "Wang Fang"),
        OTHER_CADRE: await make_staff(db, OTHER_CADRE, Role.CADRE, "V2", "Li Ming"),
        ADMIN: await make_staff(db, ADMIN, Role.ADMIN, "T1", "Admin Liu"),
        PINE_ADMIN: await make_staff(db, PINE_ADMIN, Role.ADMIN, "V2", "Admin Zhao"),
        AUDITOR: await make_staff(db, AUDITOR, Role.AUDITOR, "C1", "Auditor Sun"),
        INSPECTOR: await make_staff(db, INSPECTOR, Role.INSPECTOR, "C1", "Inspector Zhou"),
    }


def caller(user_id: int) -> Caller:
    return Caller(telegram_user_id=user_id, now=now())


async def run(db: Database, use_case: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    async with db.transaction() as uow:
        return await use_case(uow)


async def refused(db: Database, use_case: Callable[[UnitOfWork], Awaitable[Any]]) -> str:
    with pytest.raises(Refused) as caught:
        await run(db, use_case)
    return caught.value.key


async def take(db: Database, user: int, number: str) -> handling.Acted:
    version = (await case_row(db, number)).version
    return await run(db, lambda uow: handling.take(uow, caller(user), number, version,
                                                   rules=RULES))


async def through(db: Database, user: int, number: str, action: str, *texts: str
                  ) -> steps.Outcome:
    """Start a case dialogue and type ``texts`` into it; the last outcome."""
    version = (await case_row(db, number)).version
    outcome = await run(db, lambda uow: steps.start(uow, caller(user), number, version, action,
                                                    limits=LIMITS))
    for typed in texts:
        outcome = await run(db, lambda uow, typed=typed: steps.text(uow, caller(user), typed,
                                                                    limits=LIMITS))
    return outcome


async def tap(db: Database, user: int, outcome: steps.Outcome, choice: str) -> steps.Outcome:
    assert outcome.prompt is not None
    prompt = outcome.prompt
    return await run(db, lambda uow: steps.tap(uow, caller(user), prompt.nonce, prompt.version,
                                               choice, limits=LIMITS))


# --- seeing cases ---------------------------------------------------------------------------


async def test_each_sees_the_cases_of_their_units_nearest_deadline_first(
    db: Database, people: dict[int, int],
) -> None:
    later = await open_case(db, unit="V1", opened_on=days_ago(0))
    sooner = await open_case(db, unit="V1", category="waiting", opened_on=days_ago(3))
    pine = await open_case(db, unit="V2")

    def numbers(user: int) -> Awaitable[views.CaseList]:
        return run(db, lambda uow: views.list_cases(uow, caller(user), rules=RULES))

    assert [line.number for line in (await numbers(CADRE)).lines] == [sooner, later]
    assert [line.number for line in (await numbers(OTHER_CADRE)).lines] == [pine]
    admin = await numbers(ADMIN)
    assert {line.number for line in admin.lines} == {sooner, later, pine}
    assert not admin.read_only
    audited = await numbers(AUDITOR)
    assert audited.read_only and audited.total == 3
    assert await refused(db, lambda uow: views.list_cases(uow, caller(INSPECTOR),
                                                          rules=RULES)) == "not_staff"
    assert await refused(db, lambda uow: views.case_view(uow, caller(OTHER_CADRE), later,
                                                         rules=RULES)) == "not_your_unit"
    view = await run(db, lambda uow: views.case_view(uow, caller(AUDITOR), later, rules=RULES))
    assert view.actions == frozenset(), "auditors read only"
    assert await refused(db, lambda uow: views.case_view(uow, caller(CADRE), "C-ZZZZZZ",
                                                         rules=RULES)) == "no_case"
    assert await refused(db, lambda uow: views.case_view(uow, caller(CADRE), "lamp",
                                                         rules=RULES)) == "bad_number"


async def test_a_long_list_pages(db: Database, people: dict[int, int]) -> None:
    for _ in range(views.PAGE_SIZE + 2):
        await open_case(db)
    second = await run(db, lambda uow: views.list_cases(uow, caller(CADRE), 1, rules=RULES))
    assert (second.page, second.pages, second.total, len(second.lines)) == (
        1, 2, views.PAGE_SIZE + 2, 2)
    past = await run(db, lambda uow: views.list_cases(uow, caller(CADRE), 9, rules=RULES))
    assert past.page == 1, "a page past the end shows the last"


# --- taking ---------------------------------------------------------------------------------


async def test_take_records_the_handler_and_a_timeline_entry(
    db: Database, people: dict[int, int],
) -> None:
    number = await open_case(db)
    acted = await take(db, CADRE, number)
    assert acted.done == "taken" and acted.view.taken_by == "Wang Fang"
    case = await case_row(db, number)
    assert case.status == CaseStatus.TAKEN and case.handler_id == people[CADRE]
    assert case.taken_at is not None and case.version == 2
    taken = (await entries(db, number))[-1]
    assert (taken.kind, taken.notify, taken.person_id, taken.delivered) == (
        timeline.TAKEN, timeline.TO_NONE, people[CADRE], True)
    async with db.reading() as uow:
        audit = await uow.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "case.taken"))
    assert audit is not None and audit.actor == f"person:{people[CADRE]}"


async def test_outsiders_stale_and_wrong_taps_change_nothing(
    db: Database, people: dict[int, int],
) -> None:
    number = await open_case(db)
    assert await refused(db, lambda uow: handling.take(uow, caller(OTHER_CADRE), number, 1,
                                                       rules=RULES)) == "not_your_unit"
    assert await refused(db, lambda uow: handling.take(uow, caller(PINE_ADMIN), number, 1,
                                                       rules=RULES)) == "not_your_unit"
    assert await refused(db, lambda uow: handling.take(uow, caller(AUDITOR), number, 1,
                                                       rules=RULES)) == "read_only"
    assert await refused(db, lambda uow: handling.take(uow, caller(CADRE), number, 7,
                                                       rules=RULES)) == "stale"
    assert await refused(db, lambda uow: handling.approve(uow, caller(CADRE), number, 1,
                                                          rules=RULES)) == "admins_only"
    case = await case_row(db, number)
    assert case.status == CaseStatus.OPEN and case.version == 1
    assert [e.kind for e in await entries(db, number)] == [timeline.OPENED]
    await take(db, CADRE, number)
    assert await refused(db, lambda uow: handling.take(uow, caller(CADRE), number, 2,
                                                       rules=RULES)) == "not_now"
    # An admin may take over from the handler.
    acted = await take(db, ADMIN, number)
    assert acted.view.taken_by == "Admin Liu"
    assert (await entries(db, number))[-1].params == {"from": people[CADRE]}


# --- asking and resolving -------------------------------------------------------------------


async def test_a_question_is_recorded_for_the_resident(
    db: Database, people: dict[int, int],
) -> None:
    number = await open_case(db)
    outcome = await through(db, CADRE, number, views.ASK, "   ", "Which lamp post?")
    assert outcome.acted is not None and outcome.acted.done == "asked"
    message = (await entries(db, number))[-1]
    assert (message.kind, message.notify, message.author, message.person_id, message.text) == (
        timeline.MESSAGE, timeline.TO_RESIDENT, "handler", people[CADRE], "Which lamp post?")
    assert not message.delivered
    silent = await open_case(db, wants_reply=False)
    assert await refused(db, lambda uow: steps.start(uow, caller(CADRE), silent, 1, views.ASK,
                                                     limits=LIMITS)) == "not_now"


async def test_blank_and_over_long_texts_are_refused_whole(
    db: Database, people: dict[int, int],
) -> None:
    number = await open_case(db)
    await take(db, CADRE, number)
    blank = await through(db, CADRE, number, views.RESOLVE, " \u200b ")
    assert blank.prompt is not None and blank.prompt.error == "blank"
    assert blank.prompt.step == "what"
    long = await run(db, lambda uow: steps.text(uow, caller(CADRE), "x" * 61, limits=LIMITS))
    assert long.prompt is not None and long.prompt.error == "too_long"
    assert long.echo == "x" * 61 and long.prompt.resolution is None
    assert (await case_row(db, number)).status == CaseStatus.TAKEN


async def test_resolve_with_a_photo_waits_for_the_residents_answer(
    db: Database, people: dict[int, int],
) -> None:
    number = await open_case(db)
    await take(db, CADRE, number)
    outcome = await through(db, CADRE, number, views.RESOLVE)
    outcome = await run(db, lambda uow: steps.photo(uow, caller(CADRE), PHOTO,
                                                    "Replaced the bulb", limits=LIMITS))
    assert outcome.prompt is not None and outcome.prompt.step == "photos"
    assert outcome.prompt.resolution == "Replaced the bulb" and outcome.prompt.photos == 1
    outcome = await tap(db, CADRE, outcome, steps.NEXT)
    outcome = await run(db, lambda uow: steps.text(uow, caller(CADRE), "Lamp fixed",
                                                   limits=LIMITS))
    assert outcome.prompt is not None and outcome.prompt.step == "confirm"
    assert outcome.prompt.tell
    done = await tap(db, CADRE, outcome, steps.CONFIRM)
    assert done.acted is not None and done.acted.done == "resolved"
    case = await case_row(db, number)
    assert case.status == CaseStatus.RESOLVED and case.resolution == "Replaced the bulb"
    assert case.summary == "Lamp fixed" and case.resolved_on_time is True
    assert case.answer_due_at is not None and case.resolved_at is not None
    assert case.answer_due_at - case.resolved_at == RULES.answer_within
    resolution = (await entries(db, number))[-1]
    assert (resolution.kind, resolution.notify, resolution.text) == (
        timeline.RESOLUTION, timeline.TO_RESIDENT, "Replaced the bulb")
    assert resolution.params is not None and resolution.params["photos"] == [PHOTO.sha256]
    assert resolution.params["summary"] == "Lamp fixed"
    async with db.reading() as uow:
        photos = (await uow.session.scalars(select(CasePhoto))).all()
    assert [(p.part, p.sha256) for p in photos] == [("resolution", PHOTO.sha256)]
    assert await seal_of(db, number) is not None, "kept to ask the resident"


async def test_resolve_without_a_reply_wanted_closes_at_once_and_drops_the_seal(
    db: Database, people: dict[int, int],
) -> None:
    number = await open_case(db, wants_reply=False)
    await take(db, CADRE, number)
    outcome = await through(db, CADRE, number, views.RESOLVE, "Cleared the drain")
    outcome = await tap(db, CADRE, outcome, steps.NEXT)
    outcome = await tap(db, CADRE, outcome, steps.NO_SUMMARY)
    assert outcome.prompt is not None and not outcome.prompt.tell
    done = await tap(db, CADRE, outcome, steps.CONFIRM)
    assert done.acted is not None and done.acted.done == "resolved_closed"
    case = await case_row(db, number)
    assert (case.status, case.outcome, case.summary) == (
        CaseStatus.CLOSED, CaseOutcome.UNCONFIRMABLE, None)
    assert case.closed_at is not None
    last = (await entries(db, number))[-1]
    assert (last.kind, last.notify) == (timeline.RESOLUTION, timeline.TO_NONE)
    assert await seal_of(db, number) is None


async def test_an_admin_resolving_a_cadres_case_becomes_its_handler(
    db: Database, people: dict[int, int],
) -> None:
    """Review S4: the resolution is the admin's, so is the case: appraisal credits (or
    blames) its handler, and the resident's answer goes to them."""
    number = await open_case(db)
    await take(db, CADRE, number)
    outcome = await through(db, ADMIN, number, views.RESOLVE, "Replaced the lamp myself")
    outcome = await tap(db, ADMIN, outcome, steps.NEXT)
    outcome = await tap(db, ADMIN, outcome, steps.NO_SUMMARY)
    done = await tap(db, ADMIN, outcome, steps.CONFIRM)
    assert done.acted is not None and done.acted.done == "resolved"
    assert done.acted.view.taken_by == "Admin Liu"
    case = await case_row(db, number)
    assert (case.status, case.handler_id) == (CaseStatus.RESOLVED, people[ADMIN])
    taken, resolution = (await entries(db, number))[-2:]
    assert (taken.kind, taken.person_id, taken.params) == (
        timeline.TAKEN, people[ADMIN], {"from": people[CADRE]})
    assert (resolution.kind, resolution.person_id) == (timeline.RESOLUTION, people[ADMIN])


async def test_resolving_a_case_nobody_took_takes_it(
    db: Database, people: dict[int, int],
) -> None:
    """Resolve on an open case: the resolver takes it in the same transaction, and Resolve
    sits beside "Add a public summary" once what was done is given (no summary step)."""
    number = await open_case(db)
    outcome = await through(db, CADRE, number, views.RESOLVE, "Replaced the bulb")
    assert outcome.prompt is not None and outcome.prompt.step == "photos"
    assert (await case_row(db, number)).status == CaseStatus.OPEN, "nothing taken yet"
    done = await tap(db, CADRE, outcome, steps.CONFIRM)
    assert done.acted is not None and done.acted.done == "resolved"
    case = await case_row(db, number)
    assert (case.status, case.handler_id) == (CaseStatus.RESOLVED, people[CADRE])
    assert case.taken_at is not None and case.summary is None
    assert [(e.kind, e.person_id) for e in await entries(db, number)] == [
        (timeline.OPENED, None), (timeline.TAKEN, people[CADRE]),
        (timeline.RESOLUTION, people[CADRE])]
    # Someone else's case is not theirs to resolve; an admin may.
    other = await open_case(db)
    await take(db, ADMIN, other)
    assert await refused(db, lambda uow: steps.start(uow, caller(CADRE), other, 2,
                                                     views.RESOLVE, limits=LIMITS)) \
        == "not_your_case"


async def test_a_case_cannot_be_resolved_without_a_resolution(
    db: Database, people: dict[int, int],
) -> None:
    number = await open_case(db)
    await take(db, CADRE, number)
    with pytest.raises(IntegrityError):
        async with db.transaction() as uow:
            case = await uow.cases.by_number(number)
            assert case is not None
            case.status = CaseStatus.RESOLVED
            await uow.session.flush()
    assert await refused(db, lambda uow: steps.start(uow, caller(OTHER_CADRE), number, 2,
                                                     views.RESOLVE, limits=LIMITS)) \
        == "not_your_unit"


# --- requests and decisions -----------------------------------------------------------------


async def test_a_requested_transfer_approved_moves_the_case_keeping_its_deadline(
    db: Database, people: dict[int, int],
) -> None:
    number = await open_case(db)
    await take(db, CADRE, number)
    due = (await case_row(db, number)).due_at
    outcome = await through(db, CADRE, number, views.REQUEST_TRANSFER, "V9", "v2 Pine's road")
    assert outcome.acted is not None and outcome.acted.done == "requested_transfer"
    case = await case_row(db, number)
    assert (case.request, case.request_reason) == ("transfer", "Pine's road")
    asked = (await entries(db, number))[-1]
    assert (asked.kind, asked.notify, asked.params) == (
        timeline.REQUEST, timeline.TO_ADMINS, {"request": "transfer", "unit": "V2"})
    assert await refused(db, lambda uow: steps.start(
        uow, caller(CADRE), number, case.version, views.REQUEST_REJECT,
        limits=LIMITS)) == "request_pending"
    assert await refused(db, lambda uow: handling.approve(
        uow, caller(PINE_ADMIN), number, case.version, rules=RULES)) == "not_your_unit"
    acted = await run(db, lambda uow: handling.approve(uow, caller(ADMIN), number,
                                                       case.version, rules=RULES))
    assert acted.done == "transferred"
    moved = await case_row(db, number)
    assert (moved.status, moved.handler_id, moved.taken_at, moved.request) == (
        CaseStatus.OPEN, None, None, None)
    assert moved.due_at == due
    answer, transferred = (await entries(db, number))[-2:]
    assert (answer.kind, answer.notify, answer.params) == (
        timeline.REQUEST, timeline.TO_HANDLER,
        {"request": "transfer", "decision": "approved", "handler_id": people[CADRE]})
    assert (transferred.kind, transferred.notify, transferred.params, transferred.text) == (
        timeline.TRANSFERRED, timeline.TO_UNIT, {"from": "V1", "to": "V2"}, "Pine's road")
    listed = await run(db, lambda uow: views.list_cases(uow, caller(OTHER_CADRE), rules=RULES))
    assert [line.number for line in listed.lines] == [number]


async def test_a_transfer_lets_the_new_units_admins_be_told_it_is_overdue(
    db: Database, people: dict[int, int],
) -> None:
    """Review S5: the old unit's reminder and overdue escalation do not stand for the new
    unit's: after a transfer supervision reminds and escalates the case afresh."""
    number = await open_case(db)
    async with db.transaction() as uow:
        case = await uow.cases.by_number(number)
        assert case is not None
        case.due_at = now() - timedelta(hours=1)
    async with db.transaction() as uow:
        assert await supervision.escalate_overdue(uow, now()) == 1
    await through(db, ADMIN, number, views.TRANSFER, "V2 Pine's lamp")
    moved = await case_row(db, number)
    assert (moved.reminded_at, moved.overdue_at, moved.escalation, moved.escalated_at) == (
        None, None, None, None)
    async with db.transaction() as uow:
        assert await supervision.escalate_overdue(uow, now()) == 1
    overdue = [e for e in await entries(db, number) if e.kind == timeline.OVERDUE]
    assert len(overdue) == 2 and overdue[-1].notify == timeline.TO_ADMINS


async def test_an_admin_cannot_transfer_outside_their_scope(
    db: Database, people: dict[int, int],
) -> None:
    number = await open_case(db, unit="V2")
    outcome = await through(db, PINE_ADMIN, number, views.TRANSFER, "V1")
    assert outcome.prompt is not None and outcome.prompt.error == "outside_scope"
    outcome = await through(db, OTHER_CADRE, number, views.REQUEST_TRANSFER, "V1 Willow's")
    version = (await case_row(db, number)).version
    assert await refused(db, lambda uow: handling.approve(
        uow, caller(PINE_ADMIN), number, version, rules=RULES)) == "outside_scope"
    assert (await case_row(db, number)).unit_id != (await case_row(db, number)).request_unit_id


async def test_an_admin_rejects_with_a_reason_the_resident_is_told(
    db: Database, people: dict[int, int],
) -> None:
    number = await open_case(db)
    outcome = await through(db, ADMIN, number, views.REJECT, "A private road: not ours")
    assert outcome.acted is not None and outcome.acted.done == "rejected"
    case = await case_row(db, number)
    assert (case.status, case.outcome, case.reject_reason) == (
        CaseStatus.CLOSED, CaseOutcome.REJECTED, "A private road: not ours")
    rejected = (await entries(db, number))[-1]
    assert (rejected.kind, rejected.notify, rejected.text) == (
        timeline.REJECTED, timeline.TO_RESIDENT, "A private road: not ours")
    assert await seal_of(db, number) is not None, "kept until the reason is delivered"
    silent = await open_case(db, wants_reply=False)
    await through(db, ADMIN, silent, views.REJECT, "Duplicate of a closed case")
    assert (await entries(db, silent))[-1].notify == timeline.TO_NONE
    assert await seal_of(db, silent) is None, "nobody to tell: dropped at once"
    await deliver_all(db)
    assert await refused(db, lambda uow: handling.take(uow, caller(ADMIN), number,
                                                       case.version, rules=RULES)) == "not_now"


async def test_a_denied_request_leaves_the_case_and_tells_who_asked(
    db: Database, people: dict[int, int],
) -> None:
    number = await open_case(db)
    await through(db, CADRE, number, views.REQUEST_REJECT, "Not a public lamp")
    version = (await case_row(db, number)).version
    acted = await run(db, lambda uow: handling.deny(uow, caller(ADMIN), number, version,
                                                    rules=RULES))
    assert acted.done == "denied"
    case = await case_row(db, number)
    assert (case.status, case.request, case.request_reason) == (CaseStatus.OPEN, None, None)
    denied = (await entries(db, number))[-1]
    assert (denied.notify, denied.params) == (timeline.TO_HANDLER, {
        "request": "reject", "decision": "denied", "handler_id": people[CADRE]})


# --- merging --------------------------------------------------------------------------------


async def test_reports_of_the_same_problem_merge_into_the_first(
    db: Database, people: dict[int, int],
) -> None:
    first = await open_case(db, opened_on=days_ago(2), location=(30.0, 120.0))
    second = await open_case(db, location=(30.001, 120.0))
    far = await open_case(db, location=(30.2, 120.0))
    other_kind = await open_case(db, category="waiting")
    old = await open_case(db, opened_on=days_ago(9))
    view = await run(db, lambda uow: views.case_view(uow, caller(CADRE), second, rules=RULES))
    assert view.similar == [first]
    assert all(n not in view.similar for n in (far, other_kind, old))
    version, first_version = view.version, (await case_row(db, first)).version
    assert await refused(db, lambda uow: handling.merge(
        uow, caller(OTHER_CADRE), second, version, first, first_version,
        rules=RULES)) == "not_your_unit"
    assert await refused(db, lambda uow: handling.merge(
        uow, caller(CADRE), second, version, far, 1, rules=RULES)) == "not_similar"
    acted = await run(db, lambda uow: handling.merge(uow, caller(CADRE), second, version,
                                                     first, first_version, rules=RULES))
    assert acted.done == "merged" and acted.params["into"] == first
    merged, kept = await case_row(db, second), await case_row(db, first)
    assert (merged.status, merged.merged_into_id) == (CaseStatus.MERGED, kept.id)
    assert kept.reports == 2
    assert (await entries(db, second))[-1].params == {"into": first}
    assert (await entries(db, second))[-1].notify == timeline.TO_RESIDENT
    assert (await entries(db, first))[-1].params == {"from": second, "reports": 2}
    listed = await run(db, lambda uow: views.list_cases(uow, caller(CADRE), rules=RULES))
    assert second not in [line.number for line in listed.lines]


async def test_closing_a_case_drops_the_seals_of_cases_merged_into_it_once_delivered(
    db: Database, people: dict[int, int],
) -> None:
    first = await open_case(db, wants_reply=False)
    second = await open_case(db, wants_reply=True)
    await run(db, lambda uow: handling.merge(uow, caller(ADMIN), second, 1, first, 1,
                                             rules=RULES))
    kept = first if (await case_row(db, first)).status != CaseStatus.MERGED else second
    gone = second if kept == first else first
    await take(db, ADMIN, kept)
    outcome = await through(db, ADMIN, kept, views.RESOLVE, "Lamp replaced")
    outcome = await tap(db, ADMIN, outcome, steps.NEXT)
    outcome = await tap(db, ADMIN, outcome, steps.NO_SUMMARY)
    assert outcome.prompt is not None and outcome.prompt.tell, "a merged resident asked"
    await tap(db, ADMIN, outcome, steps.CONFIRM)
    assert (await case_row(db, kept)).status == CaseStatus.RESOLVED
    await deliver_all(db)  # the relay delivered the resolution to the merged case's resident
    async with db.transaction() as uow:
        case = await uow.cases.by_number(kept, lock=True)
        assert case is not None
        await handling.close(uow, case, CaseOutcome.NOT_CONFIRMED, at=now() + timedelta(days=8),
                             kind=timeline.CLOSED, notify=timeline.TO_NONE, author="system")
    assert await seal_of(db, kept) is None and await seal_of(db, gone) is None


async def test_the_merged_one_is_never_listed_nor_acted_on(
    db: Database, people: dict[int, int],
) -> None:
    first = await open_case(db, opened_on=days_ago(1))
    second = await open_case(db)
    await run(db, lambda uow: handling.merge(uow, caller(CADRE), first, 1, second, 1,
                                             rules=RULES))
    merged = await case_row(db, second)
    assert merged.status == CaseStatus.MERGED
    assert await refused(db, lambda uow: handling.take(uow, caller(CADRE), second,
                                                       merged.version, rules=RULES)) == "not_now"
    async with db.reading() as uow:
        active = [c.number for c in await uow.cases.active()]
        statuses = {c.number: c.status for c in (await uow.session.scalars(select(Case))).all()}
    assert active == [first] and statuses[second] == CaseStatus.MERGED


async def test_a_transfer_takes_the_reports_merged_into_the_case_along(
    db: Database, people: dict[int, int],
) -> None:
    first = await open_case(db, opened_on=days_ago(1))
    second = await open_case(db)
    await run(db, lambda uow: handling.merge(uow, caller(ADMIN), first, 1, second, 1,
                                             rules=RULES))
    outcome = await through(db, ADMIN, first, views.TRANSFER, "V2 Pine's lamp")
    assert outcome.acted is not None and outcome.acted.done == "transferred"
    assert (await case_row(db, first)).unit_id == (await case_row(db, second)).unit_id
    listed = await run(db, lambda uow: views.list_cases(uow, caller(OTHER_CADRE), rules=RULES))
    assert [line.number for line in listed.lines] == [first]


# --- button data ----------------------------------------------------------------------------


def test_case_buttons_fit_telegram_and_forged_data_reads_as_nothing() -> None:
    from handlers.cases_render import action_data, merge_data, parse

    longest = merge_data("C-ZZZZZZ", 999_999_999, "C-YYYYYY", 999_999_999)
    assert len(longest.encode()) <= 64
    assert parse(longest) == ("merge", ("C-ZZZZZZ", 999_999_999, "C-YYYYYY", 999_999_999))
    assert parse(action_data(views.RESOLVE, "C-7K3F9Q", 3)) == (views.RESOLVE, ("C-7K3F9Q", 3))
    assert len(steps.choice_data("abcdef", 999_999_999, "y").encode()) <= 64
    for forged in ("cs:t:7K3F9Q:1\n", "cs:t:7k3f9q:1", "cs:t:7K3F9O:1", "cs:w:7K3F9Q:1",
                   "cs:t:7K3F9Q:1234567890", "cs:o:7K3F9Q:1", "cs:l:-1", "cs:t:7K3F9Q:١"):
        assert parse(forged) is None, forged
    assert steps.parse_choice("cs:d:abcdef:1:q") is None
