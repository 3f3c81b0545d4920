"""The dashboard's cases page as a use case, on SQLite and PostgreSQL: a level of the unit tree
at a time (the unit opened, its counts and those of the units below it with cases, units with
nothing left out), the cases of the unit and below it the most urgent first, a page at a time,
overdue told from open, closed ones only while recent, held ones not at all, and only staff;
read in a few statements however many cases there are."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from storage.models import Case, CaseOutcome, CaseStatus, Role
from storage.uow import Database
from surveys.appraisal.published_rows import PublishedRows
from surveys.cases.board import CLOSED, OPEN, OVERDUE, RESOLVED, Board, case_board
from surveys.cases.rules import CaseRules
from surveys.paging import PAGE_SIZE
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


async def board_of(db: Database, user_id: int, show: str | None = None,
                   unit: str | None = None, page: int = 1) -> Board:
    async with db.transaction() as uow:
        found = await uow.units.by_code(unit) if unit is not None else None
        return await case_board(uow, Caller(telegram_user_id=user_id, now=now()), show=show,
                                unit_id=found.id if found is not None else None, page=page)


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


async def test_a_county_auditor_opens_the_top_of_the_scope_with_the_units_below(
    db: Database, numbers: dict[str, str],
) -> None:
    board = await board_of(db, AUDITOR)
    assert board.read_only
    assert board.name == "Riverside County" and board.up is None
    assert board.counts == {OVERDUE: 1, OPEN: 1, RESOLVED: 1, CLOSED: 1}
    assert [(u.name, u.counts) for u in board.below] == [("North Township", board.counts)]
    # Every case of the county, the most urgent first, each saying where it is.
    assert [(r.number, r.state, r.unit) for r in board.rows] == [
        (numbers["late"], OVERDUE, "Willow Village"), (numbers["fresh"], OPEN, "Willow Village"),
        (numbers["resolved"], RESOLVED, "Pine Village"),
        (numbers["closed"], CLOSED, "Willow Village")]
    shown = {r.number for r in board.rows}
    assert numbers["held"] not in shown and numbers["old"] not in shown
    assert (board.paging.total, board.paging.pages) == (4, 1)


async def test_a_unit_opened_shows_its_subtree_and_leads_back_up(
    db: Database, numbers: dict[str, str],
) -> None:
    county = await board_of(db, AUDITOR)
    township = await board_of(db, AUDITOR, unit="T1")
    assert township.name == "North Township" and township.up == county.unit_id
    assert [(u.name, u.counts) for u in township.below] == [
        ("Pine Village", {OVERDUE: 0, OPEN: 0, RESOLVED: 1, CLOSED: 0}),
        ("Willow Village", {OVERDUE: 1, OPEN: 1, RESOLVED: 0, CLOSED: 1})], "by name"
    willow = await board_of(db, AUDITOR, unit="V1")
    assert willow.up == township.unit_id and willow.below == []
    assert [r.number for r in willow.rows] == [numbers["late"], numbers["fresh"],
                                               numbers["closed"]], "overdue first"
    assert willow.counts == {OVERDUE: 1, OPEN: 1, RESOLVED: 0, CLOSED: 1}


async def test_one_kind_only_and_a_cadres_scope(db: Database, numbers: dict[str, str]) -> None:
    overdue = await board_of(db, AUDITOR, show=OVERDUE, unit="T1")
    assert [u.name for u in overdue.below] == ["Willow Village"], "Pine has none overdue"
    assert [r.number for r in overdue.rows] == [numbers["late"]]
    assert overdue.counts[OPEN] == 1, "the counts are of all"
    assert overdue.paging.total == 1
    pine = await board_of(db, PINE_CADRE)
    assert not pine.read_only
    assert (pine.name, pine.up, pine.below) == ("Pine Village", None, [])
    assert [r.number for r in pine.rows] == [numbers["resolved"]]
    # Above or beside the cadre's village: not theirs to open.
    for unit in ("T1", "V1"):
        with pytest.raises(Refused) as refused:
            await board_of(db, PINE_CADRE, unit=unit)
        assert refused.value.key == "unknown_unit"
    with pytest.raises(Refused):
        async with db.reading() as uow:
            await case_board(uow, Caller(telegram_user_id=AUDITOR, now=now()), unit_id=10**6)


async def test_only_staff(db: Database, numbers: dict[str, str]) -> None:
    for user_id in (INSPECTOR, 999_999):
        with pytest.raises(Refused) as refused:
            await board_of(db, user_id)
        assert refused.value.key == "not_staff"


async def _many(db: Database, count: int) -> None:
    """``count`` open cases of Willow Village, due one day after another."""
    rules = CaseRules()
    async with db.transaction() as uow:
        willow = await uow.units.by_code("V1")
        assert willow is not None
        for i in range(count):
            day = rules.today(now()) + timedelta(days=i)
            await uow.cases.add(Case(
                unit_id=willow.id, category="roads", origin="report", text=f"Lamp {i}",
                wants_reply=False, status=CaseStatus.OPEN, opened_on=day,
                due_at=rules.due("roads", day)), [f"C-P{i:05d}"])


async def test_the_cases_come_a_page_at_a_time(db: Database, numbers: dict[str, str]) -> None:
    await _many(db, PAGE_SIZE + 5)
    first = await board_of(db, AUDITOR)
    assert first.counts[OPEN] == PAGE_SIZE + 6 and first.paging.total == PAGE_SIZE + 9
    assert len(first.rows) == PAGE_SIZE and first.paging.next == 2
    assert first.rows[0].number == numbers["late"], "the most urgent on the first page"
    second = await board_of(db, AUDITOR, page=2)
    assert len(second.rows) == 9 and second.paging.previous == 1 and second.paging.next is None
    assert not {r.number for r in first.rows} & {r.number for r in second.rows}
    assert second.rows[-1].number == numbers["closed"]
    past = await board_of(db, AUDITOR, page=40)
    assert past.paging.number == 2 and past.rows == second.rows, "past the end: the last page"


async def test_the_board_is_read_in_a_few_statements(db: Database,
                                                     numbers: dict[str, str]) -> None:
    """However many cases and units: besides who the caller is (the dashboard reads that with
    its session), the unit tree's mark (the tree kept between pages), one grouped count and
    one page of rows, the handlers' names joined."""
    await _many(db, 30)
    kept = PublishedRows()
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    caller = Caller(telegram_user_id=AUDITOR, now=now())
    async with db.reading() as uow:
        await case_board(uow, caller, published=kept)  # the tree read once
    async with db.reading() as uow:
        event.listen(db.engine.sync_engine, "before_cursor_execute", count)
        try:
            board = await case_board(uow, caller, published=kept)
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    assert len(board.rows) == 34
    who = ("SELECT contacts.", "SELECT people.", "SELECT person_roles.")
    rest = [s for s in statements if not s.startswith(who)]
    assert len(rest) == 3, "\n".join(s[:90] for s in rest)
    assert "GROUP BY" in rest[1] and "LIMIT" in rest[2]
