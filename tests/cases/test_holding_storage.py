"""The hold in the database (surveys/cases/holding.py): what the relay claims, what staff's
queries list and count, and what supervision reminds and escalates, before and after a
resident's entries are released."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from storage.models import CaseStatus
from storage.uow import Database
from surveys.cases import supervision, timeline
from surveys.cases.holding import release_at
from surveys.cases.rules import RESIDENT, CaseRules
from surveys.respondents.anonymity import coarse
from tests.cases.test_supervision import RESOLUTION, open_case, run
from tests.conftest import seed_campaign

WINDOW = timedelta(minutes=15)


def moments() -> tuple[datetime, datetime]:
    """A time inside a privacy window, and when what a resident writes then is released.
    Today's date at a fixed time of day: at some times of day the privacy window closes on
    a hold window's boundary, and the batch-audit test needs a moment between the two."""
    today = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    now = coarse(today, RESOLUTION) + timedelta(minutes=3)
    return now, release_at(now, RESOLUTION, WINDOW)


async def held_report(db: Database, now: datetime, released: datetime,
                      **fields: object) -> str:
    """A report as the hold leaves it: the case and its OPENED entry held until ``released``
    (the helper's own OPENED entry stands for one written with the hold off)."""
    case = await open_case(db, now=now, held_until=released, **fields)
    async with db.transaction() as uow:
        row = await uow.cases.by_number(case.number, lock=True)
        assert row is not None
        for entry in await uow.cases.messages(row.id):
            entry.held_until = released
    return case.number


async def test_the_relay_claims_held_entries_only_at_their_release_in_random_order(
    db: Database,
) -> None:
    await seed_campaign(db)
    now, released = moments()
    numbers = [await held_report(db, now, released, text=f"Report {i}") for i in range(12)]
    async with db.transaction() as uow:
        case = await uow.cases.by_number(numbers[0], lock=True)
        assert case is not None
        # A second entry of one case in the same window: after its first, whatever its id.
        await timeline.record(uow, case, timeline.MESSAGE, timeline.TO_HANDLER,
                              author=RESIDENT, at=coarse(now, RESOLUTION), text="More",
                              held_until=released)
    async with db.transaction() as uow:
        assert await uow.cases.undelivered(100, now=now) == []
        assert await uow.cases.undelivered(100, now=released - timedelta(seconds=1)) == []
        claimed = await uow.cases.undelivered(100, now=released)
        cases = await uow.cases.by_ids({e.case_id for e in claimed})
    assert len(claimed) == 13
    assert [e.case_id for e in claimed] == sorted(e.case_id for e in claimed), "by random id"
    first = [e.kind for e in claimed if cases[e.case_id].number == numbers[0]]
    assert first == [timeline.OPENED, timeline.MESSAGE], "a case's entries in its order"


async def test_staff_lists_and_counts_leave_out_a_held_case_until_its_release(
    db: Database,
) -> None:
    await seed_campaign(db)
    now, released = moments()
    seen = (await open_case(db, now=now)).number
    held = await held_report(db, now, released)
    async with db.reading() as uow:
        def numbers(cases: object) -> set[str]:
            return {c.number for c in cases}  # type: ignore[attr-defined]

        assert numbers(await uow.cases.active(shown_at=now)) == {seen}
        assert numbers(await uow.cases.active(shown_at=released)) == {seen, held}
        assert numbers(await uow.cases.active()) == {seen, held}, "supervision sees all"
        assert numbers(await uow.cases.listed(shown_at=now)) == {seen}
        assert numbers(await uow.cases.listed(shown_at=released)) == {seen, held}
        today = now.date()
        window = (today - timedelta(days=1), today + timedelta(days=2))
        before = await uow.cases.period_groups(*window, now, shown_only=True)
        after = await uow.cases.period_groups(*window, released, shown_only=True)
        everything = await uow.cases.period_groups(*window, now)
    assert sum(g.count for g in before) == 1
    assert sum(g.count for g in after) == sum(g.count for g in everything) == 2


async def test_reminders_and_escalations_wait_for_the_release(db: Database) -> None:
    """A held case is not reminded or escalated: that would tell staff of it early. Its
    deadline (working days from its day) is not moved: the hold is at most an hour."""
    await seed_campaign(db)
    now, released = moments()
    rules = CaseRules(remind_before=timedelta(days=2))
    await held_report(db, now, released, due_in=timedelta(days=1))
    await held_report(db, now, released, due_in=-timedelta(minutes=1))
    assert await run(db, supervision.remind, rules=rules, now=now) == 0
    assert await run(db, supervision.escalate_overdue, now=now) == 0
    assert await run(db, supervision.remind, rules=rules, now=released) == 1
    assert await run(db, supervision.escalate_overdue, now=released) == 1


async def test_the_batch_audit_logs_held_entries_once_their_window_closed(
    db: Database,
) -> None:
    """The batch audit does not wait for the release (its own window and shuffle keep the
    order): it locks the cases, logs their entries and marks them audited, once."""
    await seed_campaign(db)
    now, released = moments()
    numbers = [await held_report(db, now, released) for _ in range(3)]
    later = coarse(now, RESOLUTION) + RESOLUTION + timedelta(seconds=1)
    assert later < released
    audit = supervision.audit_residents
    assert await run(db, audit, now=now, resolution=RESOLUTION) == 0, "window still open"
    assert await run(db, audit, now=later, resolution=RESOLUTION,
                     shuffle=random.Random(3)) == 3
    assert await run(db, audit, now=released, resolution=RESOLUTION) == 0
    async with db.reading() as uow:
        for number in numbers:
            case = await uow.cases.by_number(number)
            assert case is not None and case.status == CaseStatus.OPEN
            assert all(e.audited for e in await uow.cases.messages(case.id))
