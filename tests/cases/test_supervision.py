"""Supervision of cases (surveys.cases.supervision): reminders and overdue escalations once
each, the resident's answer timing out, the batch audit of residents' entries, seals let go.

Cases are made here as the resident's and staff's use cases leave them (a row, a seal, the
timeline entries), so these tests do not depend on those flows.
"""

from __future__ import annotations

import random
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text

from storage.models import AuditEvent, Case, CaseMessage, CaseOutcome, CaseStatus
from storage.uow import Database
from surveys.cases import rules, sealing, supervision, timeline
from surveys.cases.rules import NOT_SOLVED, RESIDENT, CaseRules
from surveys.respondents.anonymity import coarse
from tests.conftest import SECRET, seed_campaign

RULES = CaseRules(remind_before=timedelta(hours=24))
RESOLUTION = timedelta(minutes=10)


async def open_case(db: Database, *, unit: str = "V1", category: str = "roads",
                    chat_id: int | None = None, language: str = "en",
                    due_in: timedelta = timedelta(days=3), now: datetime | None = None,
                    text: str = "The lamp on Mill Road is dark", photo: bool = False,
                    **fields: Any) -> Case:
    """A case as a resident's report leaves it: its row, its seal (with the chat if
    ``chat_id``), a photo if asked, and the OPENED entry to the unit with a coarse time."""
    now = now or datetime.now(UTC)
    async with db.transaction() as uow:
        found = await uow.units.by_code(unit)
        assert found is not None, f"import the test units first ({unit})"
        values: dict[str, Any] = {
            "unit_id": found.id, "category": category, "origin": rules.REPORT, "text": text,
            "wants_reply": chat_id is not None, "status": CaseStatus.OPEN,
            "opened_on": rules.CaseRules().today(now), "due_at": now + due_in, **fields}
        case = await uow.cases.add(Case(**values), [rules.new_number() for _ in range(4)])
        reporter = sealing.Reporter(sealing.quota_key(SECRET, chat_id or secrets.randbits(40)),
                                    chat_id, language)
        await uow.cases.put_seal(case.id, sealing.seal(SECRET, case.id, reporter))
        if photo:
            await uow.cases.add_photo(case.id, "report", sha256="ab" * 32, path="ab/cd.jpg",
                                      size_bytes=1234, media_type="image/jpeg")
        await timeline.record(uow, case, timeline.OPENED, timeline.TO_UNIT, author=RESIDENT,
                              at=coarse(now, RESOLUTION), text=text)
    return case


async def add_entry(db: Database, number: str, kind: str, notify: str, *, author: str,
                    text: str = "", at: datetime | None = None, person_id: int | None = None,
                    params: dict[str, Any] | None = None, **changes: Any) -> CaseMessage:
    """A timeline entry on the case, with changes to the case made in the same transaction
    (as a use case would)."""
    async with db.transaction() as uow:
        case = await uow.cases.by_number(number, lock=True)
        assert case is not None
        for name, value in changes.items():
            setattr(case, name, value)
        return await timeline.record(uow, case, kind, notify, author=author, text=text,
                                     at=at or datetime.now(UTC), person_id=person_id,
                                     params=params)


async def case_of(db: Database, number: str) -> Case:
    async with db.reading() as uow:
        case = await uow.cases.by_number(number)
        assert case is not None
        return case


async def entries(db: Database, number: str) -> list[CaseMessage]:
    async with db.reading() as uow:
        case = await uow.cases.by_number(number)
        assert case is not None
        return list(await uow.cases.messages(case.id))


async def seal_exists(db: Database, case_id: int) -> bool:
    async with db.reading() as uow:
        return await uow.cases.seal_of(case_id) is not None


async def run(db: Database, step: Any, **kwargs: Any) -> int:
    async with db.transaction() as uow:
        return int(await step(uow, **kwargs))


async def test_a_reminder_goes_once_before_the_deadline(db: Database) -> None:
    await seed_campaign(db)
    now = datetime.now(UTC)
    soon = await open_case(db, due_in=timedelta(hours=10))
    later = await open_case(db, due_in=timedelta(hours=30))
    resolved = await open_case(db, due_in=timedelta(hours=10), status=CaseStatus.RESOLVED,
                               resolution="Fixed")
    assert await run(db, supervision.remind, rules=RULES, now=now) == 1
    assert await run(db, supervision.remind, rules=RULES, now=now + timedelta(hours=1)) == 0
    reminders = [e for e in await entries(db, soon.number) if e.kind == timeline.REMINDER]
    assert [(e.notify, e.author, e.delivered) for e in reminders] == [
        (timeline.TO_HANDLER, supervision.SYSTEM, False)]
    assert (await case_of(db, soon.number)).reminded_at is not None
    assert (await case_of(db, soon.number)).version == 1, "no button of the case went stale"
    for other in (later, resolved):
        assert (await case_of(db, other.number)).reminded_at is None
    # Seven hours on, the later one is within a day of its deadline too.
    assert await run(db, supervision.remind, rules=RULES, now=now + timedelta(hours=7)) == 1


async def test_an_overdue_case_is_escalated_to_the_admins_once(db: Database) -> None:
    await seed_campaign(db)
    now = datetime.now(UTC)
    late = await open_case(db, due_in=timedelta(hours=-1), status=CaseStatus.TAKEN)
    # Escalated earlier because the resident said "not solved": overdue is news all the same.
    reopened = await open_case(db, due_in=timedelta(hours=-2), status=CaseStatus.TAKEN,
                               escalation=NOT_SOLVED, escalated_at=now - timedelta(days=1),
                               reopened=1)
    on_time = await open_case(db, due_in=timedelta(hours=1))
    assert await run(db, supervision.escalate_overdue, now=now) == 2
    assert await run(db, supervision.escalate_overdue, now=now + timedelta(hours=5)) == 1, (
        "only the one due in an hour, once it is past")
    assert await run(db, supervision.escalate_overdue, now=now + timedelta(hours=6)) == 0
    for number in (late.number, reopened.number, on_time.number):
        case = await case_of(db, number)
        assert (case.escalation, case.escalated_at is not None) == (rules.OVERDUE, True)
        overdue = [e for e in await entries(db, number) if e.kind == timeline.OVERDUE]
        assert [(e.notify, e.params) for e in overdue] == [
            (timeline.TO_ADMINS, {"escalation": rules.OVERDUE})]


async def test_an_unanswered_resolution_closes_as_not_confirmed(db: Database) -> None:
    await seed_campaign(db)
    now = datetime.now(UTC)
    waiting = await open_case(db, chat_id=501, status=CaseStatus.RESOLVED, resolution="Fixed",
                              resolved_at=now - timedelta(days=8),
                              answer_due_at=now - timedelta(minutes=1), version=4)
    still = await open_case(db, chat_id=502, status=CaseStatus.RESOLVED, resolution="Fixed",
                            answer_due_at=now + timedelta(days=1))
    assert await run(db, supervision.time_out_answers, now=now) == 1
    assert await run(db, supervision.time_out_answers, now=now) == 0
    closed = await case_of(db, waiting.number)
    assert (closed.status, closed.outcome, closed.version) == (
        CaseStatus.CLOSED, CaseOutcome.NOT_CONFIRMED, 5)
    assert closed.closed_at is not None
    [entry] = [e for e in await entries(db, waiting.number) if e.kind == timeline.CLOSED]
    assert (entry.notify, entry.params) == (timeline.TO_HANDLER, {"outcome": "not_confirmed"})
    assert (await case_of(db, still.number)).status == CaseStatus.RESOLVED
    # The seal stays until the relay has nothing left for the resident, then goes.
    assert await seal_exists(db, waiting.id)
    assert await run(db, supervision.release_seals) == 1
    assert not await seal_exists(db, waiting.id)
    assert await seal_exists(db, still.id)


async def test_residents_entries_are_audited_in_a_shuffled_batch_with_their_coarse_time(
    db: Database,
) -> None:
    await seed_campaign(db)
    window = coarse(datetime.now(UTC), RESOLUTION)
    cases = [await open_case(db, chat_id=600 + i, now=window + timedelta(minutes=i),
                             text=f"Report {i}", photo=True) for i in range(6)]
    await add_entry(db, cases[0].number, timeline.TAKEN, timeline.TO_UNIT, author="handler")
    stamps_before = await _stamps(db)
    # Within the window nothing is logged: the log's order would date the reports.
    assert await run(db, supervision.audit_residents, now=window + timedelta(minutes=9),
                     resolution=RESOLUTION) == 0
    async with db.reading() as uow:
        logged = await uow.session.scalars(
            select(AuditEvent.action).where(AuditEvent.entity == "case"))
        assert list(logged) == ["case.taken"], "only the staff's entry, at once"
        pending = await uow.cases.unaudited(window + RESOLUTION)
    ids = sorted(e.id for e in pending)
    expected = list(pending)
    shuffler = random.Random(7)
    random.Random(7).shuffle(expected)
    assert [e.id for e in expected] != ids, "the seed must actually reorder them"
    assert await run(db, supervision.audit_residents, now=window + RESOLUTION,
                     resolution=RESOLUTION, shuffle=shuffler) == 6
    assert await run(db, supervision.audit_residents, now=window + 2 * RESOLUTION,
                     resolution=RESOLUTION) == 0
    async with db.reading() as uow:
        events = [e for e in await uow.audit.of("case") if e.actor == RESIDENT]
        assert await uow.audit.verify() is None, "the chain holds with earlier times in it"
        for case in cases:
            assert all(m.audited for m in await uow.cases.messages(case.id))
    by_text = {e.text: e.id for e in expected}
    assert [by_text[e.after["text"]] for e in events] == [e.id for e in expected]
    assert {e.at.replace(tzinfo=UTC) if e.at.tzinfo is None else e.at for e in events} == {
        window}, "only the coarse time"
    assert {e.action for e in events} == {"case.opened"}
    assert not any("chat" in str(e.after) or "quota" in str(e.after) for e in events)
    if db.dialect == "postgresql":
        stamps = await _stamps(db)
        rewritten = {xmin for table in stamps.values() for xmin, _ in table.values()}
        assert len(rewritten) == 1, "one batch transaction wrote every row anew"
        assert not rewritten & {x for t in stamps_before.values() for x, _ in t.values()}
        # And in the order of their random ids, not in the order the reports came in.
        for table, rows in stamps.items():
            by_place = [key for key, (_, ctid) in sorted(rows.items(), key=lambda r: r[1][1])]
            assert by_place == sorted(rows), table


async def _stamps(db: Database) -> dict[str, dict[int, tuple[int, tuple[int, int]]]]:
    """PostgreSQL's transaction stamp and row address of every case row, report photo, seal
    and resident entry, by the row's id."""
    if db.dialect != "postgresql":
        return {}
    found: dict[str, dict[int, tuple[int, tuple[int, int]]]] = {}
    async with db.reading() as uow:
        for table, key, where in (("cases", "id", ""), ("case_photos", "id", ""),
                                  ("case_seals", "case_id", ""),
                                  ("case_messages", "id", "WHERE author = 'resident'")):
            rows = await uow.session.execute(text(
                f"SELECT {key}, xmin::text::bigint, ctid::text FROM {table} {where}"))
            found[table] = {}
            for row_id, xmin, ctid in rows:
                block, offset = ctid.strip("()").split(",")
                found[table][row_id] = (xmin, (int(block), int(offset)))
    return found


async def test_seals_go_once_nothing_is_left_for_the_resident(db: Database) -> None:
    await seed_campaign(db)
    now = datetime.now(UTC)
    active = await open_case(db, chat_id=701)
    closed = await open_case(db, chat_id=702, status=CaseStatus.CLOSED, resolution="Done",
                             outcome=CaseOutcome.CONFIRMED, closed_at=now)
    told = await add_entry(db, closed.number, timeline.CLOSED, timeline.TO_RESIDENT,
                           author="handler")
    primary = await open_case(db, chat_id=703, status=CaseStatus.RESOLVED, resolution="Done")
    merged = await open_case(db, chat_id=704, status=CaseStatus.MERGED,
                             merged_into_id=primary.id, closed_at=now - timedelta(days=3))
    assert await run(db, supervision.release_seals) == 0, (
        "the closed one still has a message for its resident; the merged one waits for its "
        "primary's resolution to be told")
    async with db.transaction() as uow:
        await uow.cases.mark_delivered([told.id])
    await add_entry(db, primary.number, timeline.CLOSED, timeline.TO_HANDLER, author="admin",
                    status=CaseStatus.CLOSED, outcome=CaseOutcome.CONFIRMED, closed_at=now)
    assert await run(db, supervision.release_seals, case_ids=[closed.id]) == 1
    assert await run(db, supervision.release_seals) == 2
    assert [await seal_exists(db, c.id) for c in (active, closed, primary, merged)] == [
        True, False, False, False]


async def test_the_backstop_drops_seals_a_day_after_closing_whatever_is_pending(
    db: Database,
) -> None:
    await seed_campaign(db)
    now = datetime.now(UTC)
    old = await open_case(db, chat_id=801, status=CaseStatus.CLOSED, resolution="Done",
                          outcome=CaseOutcome.PARTLY, closed_at=now - timedelta(hours=25))
    recent = await open_case(db, chat_id=802, status=CaseStatus.CLOSED, resolution="Done",
                             outcome=CaseOutcome.PARTLY, closed_at=now - timedelta(hours=2))
    for case in (old, recent):
        await add_entry(db, case.number, timeline.MESSAGE, timeline.TO_RESIDENT,
                        author="handler", text="Thanks")
    assert await run(db, supervision.release_seals) == 0
    assert await run(db, supervision.drop_stale_seals, now=now) == 1
    assert (await seal_exists(db, old.id), await seal_exists(db, recent.id)) == (False, True)


async def test_a_reply_is_shown_after_its_question_and_what_an_answer_caused_is_audited(
    db: Database,
) -> None:
    await seed_campaign(db)
    window = coarse(datetime.now(UTC), RESOLUTION)
    case = await open_case(db, chat_id=700, now=window)
    question = await add_entry(db, case.number, timeline.MESSAGE, timeline.TO_RESIDENT,
                               author="handler", text="Which lamp post?",
                               at=window + timedelta(minutes=8))
    # The reply's own time is coarse (the window's start), earlier than the question's.
    reply = await add_entry(db, case.number, timeline.MESSAGE, timeline.TO_HANDLER,
                            author=RESIDENT, text="The one by the school gate", at=window)
    assert reply.at == window < question.at, "the reply's time stays coarse"
    shown = [e.text for e in await entries(db, case.number)]
    assert shown.index("The one by the school gate") > shown.index("Which lamp post?"), \
        "yet it is shown after the question it answers"
    async with db.transaction() as uow:
        found = await uow.cases.by_number(case.number, lock=True)
        assert found is not None
        caused = await timeline.record(uow, found, timeline.ESCALATED, timeline.TO_ADMINS,
                                       author=supervision.SYSTEM, at=window,
                                       params={"escalation": NOT_SOLVED}, audit_later=True)
    assert not caused.audited
    assert await run(db, supervision.audit_residents, now=window + 2 * RESOLUTION,
                     resolution=RESOLUTION) == 3
    async with db.reading() as uow:
        logged = {(e.actor, e.action, e.at.replace(tzinfo=UTC) if e.at.tzinfo is None
                   else e.at) for e in await uow.audit.of("case")}
    assert (supervision.SYSTEM, "case.escalated", window) in logged, "audited, coarsely"
    assert (RESIDENT, "case.message", window) in logged
