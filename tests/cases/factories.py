"""Cases straight in the database, as the case loop leaves them (the flows are tested on their
own): the case row through ``uow.cases`` and its timeline through ``timeline.record``."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from storage.models import Case, CaseOutcome, CaseStatus
from storage.uow import Database
from surveys.cases import timeline
from surveys.cases.rules import HANDLER, RESIDENT, new_number

RESOLVED_OUTCOMES = (CaseOutcome.CONFIRMED, CaseOutcome.PARTLY, CaseOutcome.NOT_SOLVED,
                     CaseOutcome.NOT_CONFIRMED, CaseOutcome.UNCONFIRMABLE)


async def add_case(
    db: Database, unit_code: str, *, opened_on: date, due_at: datetime | None = None,
    category: str = "roads", status: CaseStatus = CaseStatus.OPEN,
    outcome: CaseOutcome | None = None, handler_id: int | None = None,
    on_time: bool | None = None, reopened: int = 0, summary: str | None = None,
    text: str = "The street lamp on Mill Road has been dark for a month",
    quotable: bool = False, reports: int = 1, merged_into: int | None = None,
) -> Case:
    """One case of ``unit_code`` with its opening entry and, when it was resolved, the
    resolution entry (and a staff note and a relay message, which must never count)."""
    due = due_at or datetime.combine(opened_on + timedelta(days=7), time(0), tzinfo=UTC)
    resolved = status == CaseStatus.RESOLVED or outcome in RESOLVED_OUTCOMES
    resolved_at = None
    if resolved:
        resolved_at = due - timedelta(hours=1) if on_time else due + timedelta(days=2)
    async with db.transaction() as uow:
        unit = await uow.units.by_code(unit_code)
        assert unit is not None, f"unknown unit {unit_code!r}"
        case = await uow.cases.add(Case(
            unit_id=unit.id, category=category, origin="report", text=text,
            quotable=quotable, wants_reply=True, status=status, outcome=outcome,
            opened_on=opened_on, due_at=due, handler_id=handler_id,
            taken_at=None if handler_id is None else due - timedelta(days=5),
            resolution="Done as described" if resolved else None, summary=summary,
            resolved_at=resolved_at, resolved_on_time=on_time if resolved else None,
            closed_at=resolved_at if status == CaseStatus.CLOSED else None,
            reopened=reopened, reports=reports, merged_into_id=merged_into,
        ), [new_number() for _ in range(3)])
        opened = datetime.combine(opened_on, time(0), tzinfo=UTC)
        await timeline.record(uow, case, timeline.OPENED, timeline.TO_UNIT, author=RESIDENT,
                              at=opened, text=text)
        await timeline.record(uow, case, timeline.MESSAGE, timeline.TO_HANDLER,
                              author=RESIDENT, at=opened, text="It is the one by the gate")
        if resolved_at is not None:
            await timeline.record(uow, case, timeline.NOTE, timeline.TO_NONE, author=HANDLER,
                                  at=resolved_at, text="Called the electrician twice",
                                  person_id=handler_id, actor="test")
            await timeline.record(uow, case, timeline.RESOLUTION, timeline.TO_RESIDENT,
                                  author=HANDLER, at=resolved_at, text="Done as described",
                                  person_id=handler_id, actor="test")
        return case
