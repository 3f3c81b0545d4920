"""The dashboard's cases pages, through the real Application, the sandbox and a real database,
read over HTTP as a browser would: the cases of the person's scope by unit (open, overdue,
resolved, recently closed), a case read-only with its timeline, and the chat's scopes and hold
kept: another township's case, a held case, an unknown or malformed number are the same 404, a
held timeline entry is not shown and nothing names the resident. In chat, ``/cases`` keeps its
short summary with "📊 Open the full report" on top, which opens the page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest

from sandbox import SandboxClient
from storage.models import CaseOutcome, CaseStatus, Role
from storage.uow import Database
from surveys.cases import timeline
from surveys.cases.rules import RESIDENT as RESIDENT_AUTHOR
from surveys.people.units import import_units
from tests.cases.staff_factory import days_ago, make_staff, open_case
from tests.conftest import TEST_UNITS, now
from tests.e2e.conftest import Bot
from tests.e2e.test_dashboard_campaigns import SOUTH, signed_in
from tests.e2e.test_results_chat import staff
from tests.e2e.web import WebClient, shows_number

pytestmark = pytest.mark.e2e

ADMIN_T1, AUDITOR_T1, PINE_CADRE, WILLOW_CADRE = 9711, 9712, 9713, 9714
HELD_TEXT = "The bins by the school overflow"
HELD_REPLY = "It is the blue bins, behind the gym"


@pytest.fixture
async def browser_of(web_bot: Bot) -> AsyncIterator[WebClient]:
    client = WebClient(web_bot.web_url)
    try:
        yield client
    finally:
        await client.close()


@dataclass(frozen=True)
class Cases:
    fresh: str  # Willow Village, open, days left
    late: str  # Willow Village, taken by Wang Fang long ago, overdue
    resolved: str  # Pine Village, resolved, the resident's answer awaited
    closed: str  # Willow Village, closed two days ago
    old: str  # Willow Village, closed two months ago: not "recent"
    south: str  # Oak Village, another township
    held: str  # Willow Village, its report still held


async def _set(db: Database, number: str, **values: object) -> None:
    async with db.transaction() as uow:
        case = await uow.cases.by_number(number)
        assert case is not None
        for name, value in values.items():
            setattr(case, name, value)


async def some_cases(db: Database) -> Cases:
    async with db.transaction() as uow:
        await import_units(uow, [*TEST_UNITS, *SOUTH], actor="test")
    moment = now()
    fresh = await open_case(db, text="The street lamp on Mill Road is dark",
                            category="fees")
    late = await open_case(db, text="A pothole by the bus stop", opened_on=days_ago(40))
    wang = await make_staff(db, WILLOW_CADRE, Role.CADRE, "V1", "Wang Fang")
    await _set(db, late, status=CaseStatus.TAKEN, handler_id=wang,
               taken_at=moment - timedelta(days=30))
    resolved = await open_case(db, unit="V2", text="The well pump is broken")
    await _set(db, resolved, status=CaseStatus.RESOLVED, resolution="Pump replaced",
               resolved_at=moment - timedelta(days=1),
               answer_due_at=moment + timedelta(days=3))
    closed = await open_case(db, text="Fallen tree on the path", opened_on=days_ago(9))
    await _set(db, closed, status=CaseStatus.CLOSED, outcome=CaseOutcome.CONFIRMED,
               resolution="Tree removed", closed_at=moment - timedelta(days=2))
    old = await open_case(db, text="Graffiti on the hall", opened_on=days_ago(70))
    await _set(db, old, status=CaseStatus.CLOSED, outcome=CaseOutcome.CONFIRMED,
               resolution="Painted over", closed_at=moment - timedelta(days=60))
    south = await open_case(db, unit="V3", text="The Oak bridge rail is loose")
    held = await open_case(db, text=HELD_TEXT)
    await _set(db, held, held_until=moment + timedelta(hours=1))
    # A reply of the resident on a shown case, still held: not on its page yet.
    async with db.transaction() as uow:
        case = await uow.cases.by_number(fresh)
        assert case is not None
        await timeline.record(uow, case, timeline.MESSAGE, timeline.TO_HANDLER,
                              author=RESIDENT_AUTHOR, at=moment, text=HELD_REPLY,
                              held_until=moment + timedelta(hours=1))
    return Cases(fresh, late, resolved, closed, old, south, held)


async def test_an_admin_sees_the_cases_of_their_township_by_unit(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    cases = await some_cases(db)
    home = await signed_in(client, db, browser_of, ADMIN_T1, Role.ADMIN, "T1", "Admin Liu")
    assert 'href="/cases"' in home
    page = await browser_of.get("/cases")
    assert browser_of.status == 200
    for number in (cases.fresh, cases.late, cases.resolved, cases.closed):
        assert f'href="/cases/{number}"' in page, number
    for number in (cases.old, cases.south, cases.held):
        assert number not in page, number
    assert HELD_TEXT not in page
    for part in ("North Township", "Willow Village", "Pine Village", "overdue by", "left",
                 "<b>2</b> open, <b>1</b> of them overdue", "<b>1</b> resolved", "<b>1</b> closed",
                 "Fees", "taken: Wang Fang",
                 "closed: solved, the resident confirmed", "answer awaited"):
        assert part in page, part
    assert "Oak Village" not in page and "South Township" not in page
    # Along the tree: the township, then its villages (Pine before Willow, by name).
    assert page.index("North Township") < page.index("Pine Village") < page.index(
        "Willow Village")
    assert not shows_number(page, ADMIN_T1), "no Telegram id"

    only = await browser_of.get("/cases?show=overdue")
    assert browser_of.status == 200
    assert cases.late in only and cases.fresh not in only and cases.resolved not in only
    await browser_of.get("/cases?show=everything")
    assert browser_of.status == 404


async def test_a_case_page_shows_its_timeline_without_what_is_held(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    cases = await some_cases(db)
    await signed_in(client, db, browser_of, ADMIN_T1, Role.ADMIN, "T1", "Admin Liu")
    page = await browser_of.get(f"/cases/{cases.fresh}")
    assert browser_of.status == 200
    for part in (f"Case {cases.fresh}", "Willow Village", "The street lamp on Mill Road is dark",
                 "Timeline", "Resident", "open, not taken", "left",
                 f"send /case {cases.fresh} in the chat"):
        assert part in page, part
    assert HELD_REPLY not in page, "a held entry is not shown yet"
    assert not shows_number(page, ADMIN_T1)
    closed = await browser_of.get(f"/cases/{cases.closed}")
    assert browser_of.status == 200 and "Tree removed" in closed
    # Outside the scope, held, unknown, malformed: the same 404.
    for number in (cases.south, cases.held, "C-ZZZZZZ", "not a number!", "x" * 40):
        missing = await browser_of.get(f"/cases/{number}")
        assert browser_of.status == 404, number
        assert HELD_TEXT not in missing and "Oak bridge" not in missing


async def test_a_cadre_sees_their_village_only_and_an_auditor_reads(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    cases = await some_cases(db)
    await signed_in(client, db, browser_of, PINE_CADRE, Role.CADRE, "V2", "Li Ming")
    page = await browser_of.get("/cases")
    assert browser_of.status == 200
    assert cases.resolved in page and "Pine Village" in page
    assert cases.fresh not in page and "Willow Village" not in page
    await browser_of.get(f"/cases/{cases.fresh}")
    assert browser_of.status == 404
    auditor = WebClient(web_bot.web_url)
    try:
        await signed_in(client, db, auditor, AUDITOR_T1, Role.AUDITOR, "T1", "Auditor Chen")
        read = await auditor.get("/cases")
        assert auditor.status == 200 and cases.fresh in read and cases.south not in read
        assert "You can read these cases" in read
        one = await auditor.get(f"/cases/{cases.late}")
        assert auditor.status == 200 and "You can read this case but not act on it" in one
    finally:
        await auditor.close()


async def test_signed_out_is_refused(web_bot: Bot, browser_of: WebClient) -> None:
    await browser_of.get("/cases")
    assert browser_of.status == 401
    await browser_of.get("/cases/C-ZZZZZZ")
    assert browser_of.status == 401


async def test_the_cases_page_in_chinese(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    cases = await some_cases(db)
    await signed_in(client, db, browser_of, ADMIN_T1, Role.ADMIN, "T1", "Admin Liu", "zh")
    page = await browser_of.get("/cases")
    assert browser_of.status == 200
    for part in ("问题办理", "已超期", "办理中", cases.late):
        assert part in page, part


async def test_cases_in_chat_opens_the_page_in_the_mini_app(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    """``/cases`` keeps its short summary and its buttons, with "📊 Open the full report" on
    top, which opens the cases page, signed in by the Mini App's initData."""
    cases = await some_cases(db)
    admin, _ = await staff(client, db, ADMIN_T1, Role.ADMIN, "T1", "Admin Liu")
    await admin.send("/cases")
    summary = await admin.wait_for_message("Active cases")
    assert len(summary.text.splitlines()) <= 12, summary.text
    assert cases.held not in summary.text
    rows = [[label for label, _ in row] for row in summary.buttons]
    assert rows[0] == ["📊 Open the full report"] and len(rows) > 1, rows
    page = await browser_of.open_mini_app(await admin.open_web_app("📊 Open the full report"))
    assert browser_of.status == 200
    assert "Cases" in page and cases.late in page and cases.held not in page
    assert not shows_number(page, ADMIN_T1)


async def test_the_lists_next_page_keeps_the_report_button(
    web_bot: Bot, client: SandboxClient, db: Database,
) -> None:
    for _ in range(9):
        await open_case(db)
    admin, _ = await staff(client, db, ADMIN_T1, Role.ADMIN, "T1", "Admin Liu")
    await admin.send("/cases")
    await admin.wait_for_message("Page 1 of 2")
    await admin.tap("Next ›")
    second = await admin.wait_for_message("Page 2 of 2")
    assert [label for label, _ in second.buttons[0]] == ["📊 Open the full report"]
    assert second.has_button("‹ Previous")


async def _unit_id(db: Database, code: str) -> int:
    async with db.reading() as uow:
        unit = await uow.units.by_code(code)
    assert unit is not None
    return unit.id


async def test_a_unit_below_is_opened_a_level_at_a_time(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    cases = await some_cases(db)
    await signed_in(client, db, browser_of, ADMIN_T1, Role.ADMIN, "T1", "Admin Liu")
    willow, oak = await _unit_id(db, "V1"), await _unit_id(db, "V3")
    page = await browser_of.get("/cases")
    assert f'href="/cases?unit={willow}"' in page, "Willow Village opens from its township"
    village = await browser_of.get(f"/cases?unit={willow}")
    assert browser_of.status == 200
    for number in (cases.fresh, cases.late, cases.closed):
        assert f'href="/cases/{number}"' in village, number
    assert cases.resolved not in village, "Pine Village's"
    township = await _unit_id(db, "T1")
    assert "↑ One level up" in village and f'href="/cases?unit={township}"' in village
    top = await browser_of.get(f"/cases?unit={township}")
    assert cases.resolved in top and "↑ One level up" not in top, "the top of the scope"
    overdue = await browser_of.get(f"/cases?unit={willow}&show=overdue")
    assert cases.late in overdue and cases.fresh not in overdue
    assert f'href="/cases?unit={willow}"' in overdue, "All keeps the unit opened"
    # Another township's village, a unit that does not exist, and nonsense: not found.
    for query in (f"unit={oak}", "unit=999999", "unit=T1", "page=0", "page=x"):
        missing = await browser_of.get(f"/cases?{query}")
        assert browser_of.status == 404, query
        assert "Oak bridge" not in missing


async def test_the_cases_come_a_page_at_a_time(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    from storage.models import Case
    from surveys.cases.rules import CaseRules

    cases = await some_cases(db)
    rules = CaseRules()
    async with db.transaction() as uow:
        for i in range(50):
            day = rules.today(now()) + timedelta(days=i)
            await uow.cases.add(Case(
                unit_id=await _unit_id(db, "V2"), category="roads", origin="report",
                text=f"Lamp {i}", wants_reply=False, status=CaseStatus.OPEN, opened_on=day,
                due_at=rules.due("roads", day)), [f"C-P{i:05d}"])
    await signed_in(client, db, browser_of, ADMIN_T1, Role.ADMIN, "T1", "Admin Liu")
    first = await browser_of.get("/cases")
    assert "1–50 of 54 (page 1 of 2)" in first and 'href="/cases?page=2"' in first
    assert f'href="/cases/{cases.late}"' in first, "the overdue case first"
    assert f'href="/cases/{cases.closed}"' not in first, "the closed case last"
    second = await browser_of.get("/cases?page=2")
    assert browser_of.status == 200 and "51–54 of 54 (page 2 of 2)" in second
    assert f'href="/cases/{cases.closed}"' in second and "‹ Previous" in second
    assert f'href="/cases/{cases.late}"' not in second
