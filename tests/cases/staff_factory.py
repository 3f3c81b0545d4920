"""Test helpers for the staff side of cases: a case as the resident flow leaves it (the case,
its seal and its OPENED entry), written straight with the repository, and staff with roles.

The units must exist already (``tests.conftest.seed_campaign`` imports ``TEST_UNITS``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from storage.models import Case, CaseMessage, CaseStatus, Role
from storage.uow import Database
from surveys.cases import sealing, timeline
from surveys.cases.rules import RESIDENT, CaseRules, new_number
from surveys.people.roles import grant_role
from surveys.respondents.anonymity import coarse
from tests.conftest import SECRET, now

RESIDENT_CHAT = 4242


async def open_case(
    db: Database, *, unit: str = "V1", category: str = "roads", text: str = "The lamp is dark",
    wants_reply: bool = True, opened_on: date | None = None,
    location: tuple[float, float] | None = None, rules: CaseRules | None = None,
    resident_chat: int = RESIDENT_CHAT, at: datetime | None = None,
) -> str:
    """A new OPEN case of ``unit`` with its seal and OPENED entry; returns its number."""
    rules = rules or CaseRules()
    moment = at or now()
    day = opened_on or rules.today(moment)
    async with db.transaction() as uow:
        found = await uow.units.by_code(unit)
        assert found is not None, f"unknown unit {unit!r}"
        case = await uow.cases.add(Case(
            unit_id=found.id, category=category, origin="report", text=text,
            wants_reply=wants_reply, status=CaseStatus.OPEN, opened_on=day,
            due_at=rules.due(category, day),
            latitude=location[0] if location else None,
            longitude=location[1] if location else None,
        ), [new_number() for _ in range(5)])
        reporter = sealing.Reporter(sealing.quota_key(SECRET, resident_chat),
                                    resident_chat if wants_reply else None, "en")
        await uow.cases.put_seal(case.id, sealing.seal(SECRET, case.id, reporter))
        await timeline.record(uow, case, timeline.OPENED, timeline.TO_UNIT, author=RESIDENT,
                              at=coarse(moment))
        return case.number


async def make_staff(db: Database, telegram_user_id: int, role: Role, unit: str | None,
                     name: str) -> int:
    """A person holding ``role`` for ``unit``'s subtree (None: everywhere); the person id."""
    async with db.transaction() as uow:
        person, _ = await grant_role(uow, telegram_user_id=telegram_user_id, role=role,
                                     unit_code=unit, name=name, actor="test")
        return person.id


async def case_row(db: Database, number: str) -> Case:
    async with db.reading() as uow:
        case = await uow.cases.by_number(number)
        assert case is not None
        return case


async def entries(db: Database, number: str) -> list[CaseMessage]:
    """The case's timeline, oldest first."""
    async with db.reading() as uow:
        case = await uow.cases.by_number(number)
        assert case is not None
        return list(await uow.cases.messages(case.id))


async def seal_of(db: Database, number: str) -> str | None:
    async with db.reading() as uow:
        case = await uow.cases.by_number(number)
        assert case is not None
        return await uow.cases.seal_of(case.id)


async def deliver_all(db: Database) -> None:
    """What the relay does once it has sent everything (tests only need the marks)."""
    async with db.transaction() as uow:
        pending = await uow.session.scalars(select(CaseMessage.id).where(
            CaseMessage.delivered.is_(False)))
        await uow.cases.mark_delivered(list(pending.all()))


def days_ago(days: int) -> date:
    return (now() - timedelta(days=days)).date()
