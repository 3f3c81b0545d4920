"""The dashboard's cases page as a use case, on SQLite and PostgreSQL: the cases of the
person's scope grouped along the unit tree (counts of each unit's subtree, units with nothing
left out), overdue told from open, closed ones only while recent, held ones not at all, and
only staff."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage.models import CaseOutcome, CaseStatus, Role
from storage.uow import Database
from surveys.cases.board import CLOSED, OPEN, OVERDUE, RESOLVED, Board, case_board
from surveys.people.caller import Caller, Refused
from tests.cases.staff_factory import days_ago, make_staff, open_case
from tests.conftest import now, seed_campaign

AUDITOR, PINE_CADRE, INSPECTOR = 601, 602, 603


async def _set(db: Database, number: str, **values: object) -> None:
    async with db.transaction() as uow:
        case = await uow.cases.by_number(number)
        assert case is not None
        for name, value in values.items():
            setattr(case, name, value)


async def board_of(db: Database, user_id: int, show: str | None = None) -> Board:
    async with db.transaction() as uow:
        return await case_board(uow, Caller(telegram_user_id=user_id, now=now()), show=show)


@pytest.fixture
async def numbers(db: Database) -> dict[str, str]:
    await seed_campaign(db)
    await make_staff(db, AUDITOR, Role.AUDITOR, "C1", "Auditor Sun")
    await make_staff(db, PINE_CADRE, Role.CADRE, "V2", "Li Ming")
    await make_staff(db, INSPECTOR, Role.INSPECTOR, "C1", "Inspector Zhou")
    moment = now()
    found = {
        "fresh": await open_case(db),
        "late": await open_case(db, opened_on=days_ago(40)),
        "resolved": await open_case(db, unit="V2"),
        "closed": await open_case(db, opened_on=days_ago(9)),
        "old": await open_case(db, opened_on=days_ago(70)),
        "held": await open_case(db),
    }
    await _set(db, found["resolved"], status=CaseStatus.RESOLVED, resolution="Done")
    await _set(db, found["closed"], status=CaseStatus.CLOSED, outcome=CaseOutcome.CONFIRMED,
               resolution="Done", closed_at=moment - timedelta(days=3))
    await _set(db, found["old"], status=CaseStatus.CLOSED, outcome=CaseOutcome.REJECTED,
               closed_at=moment - timedelta(days=45))
    await _set(db, found["held"], held_until=moment + timedelta(minutes=30))
    return found


async def test_a_county_auditor_sees_the_tree_with_subtree_counts(
    db: Database, numbers: dict[str, str],
) -> None:
    board = await board_of(db, AUDITOR)
    assert board.read_only
    assert [(u.name, u.depth) for u in board.units] == [
        ("Riverside County", 0), ("North Township", 1), ("Pine Village", 2),
        ("Willow Village", 2)]
    assert board.counts == {OVERDUE: 1, OPEN: 1, RESOLVED: 1, CLOSED: 1}
    assert board.units[0].counts == board.counts and board.units[0].rows == []
    willow = board.units[3]
    assert [r.number for r in willow.rows] == [numbers["late"], numbers["fresh"],
                                               numbers["closed"]], "overdue first"
    assert [r.state for r in willow.rows] == [OVERDUE, OPEN, CLOSED]
    shown = {r.number for u in board.units for r in u.rows}
    assert numbers["held"] not in shown and numbers["old"] not in shown


async def test_one_kind_only_and_a_cadres_scope(db: Database, numbers: dict[str, str]) -> None:
    overdue = await board_of(db, AUDITOR, show=OVERDUE)
    assert [u.name for u in overdue.units] == ["Riverside County", "North Township",
                                               "Willow Village"], "Pine has none overdue"
    assert [r.number for u in overdue.units for r in u.rows] == [numbers["late"]]
    assert overdue.counts[OPEN] == 1, "the counts are of all"
    pine = await board_of(db, PINE_CADRE)
    assert not pine.read_only
    assert [(u.name, u.depth) for u in pine.units] == [("Pine Village", 0)]
    assert [r.number for r in pine.units[0].rows] == [numbers["resolved"]]


async def test_only_staff(db: Database, numbers: dict[str, str]) -> None:
    for user_id in (INSPECTOR, 999_999):
        with pytest.raises(Refused) as refused:
            await board_of(db, user_id)
        assert refused.value.key == "not_staff"
