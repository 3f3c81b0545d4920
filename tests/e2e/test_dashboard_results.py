"""The result and ranking pages acted on, through the running bot, the sandbox and a real
database: a cadre appeals from their own latest result page (the chat's rules: once, 10 to
1,000 characters, refusals said on the page with the reason kept; the reviewers told in
Telegram as from /appeal), nobody else can (the form is not shown to them and their post is
refused); the trend and the self-view drawn; and the ranking's CSV and XLSX downloads, which
hold the rows of the reader's scope only, read back with csv and openpyxl.
"""

from __future__ import annotations

import csv
import html
import io
import logging
import re
import warnings
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from sandbox import SandboxClient
from storage.models import AppealStatus, AppraisalResult, AppraisalStatus, Role
from storage.uow import Database
from surveys.people.units import UnitRow, import_units
from tests.e2e.conftest import Bot
from tests.e2e.fieldwork import make_cadre
from tests.e2e.test_dashboard import _link
from tests.e2e.test_results_chat import (
    REASON,
    appeals,
    audit,
    cadre_result,
    detail,
    seed_run,
    staff,
    unit_id,
)
from tests.e2e.web import WebClient, csrf_of

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # only a library notice, if any
    from openpyxl import load_workbook

pytestmark = pytest.mark.e2e

CADRE, OTHER_CADRE, AUDITOR, ADMIN_T1, ADMIN_V2, ADMIN_C1 = 9701, 9702, 9703, 9704, 9705, 9706
FORM = 'name="reason"'
FORMULA = '=HYPERLINK("http://evil.example","click me")'


@pytest.fixture
async def browser_of(web_bot: Bot) -> AsyncIterator[WebClient]:
    client = WebClient(web_bot.web_url)
    try:
        yield client
    finally:
        await client.close()


async def _sign_in(client: SandboxClient, web: WebClient, user_id: int, name: str) -> str:
    home = await web.sign_in_with_link(await _link(client, user_id, name))
    assert f"Hello, {name}" in home, home
    return home


async def _result_of(db: Database, person_id: int, period: str) -> int:
    from storage.models import AppraisalRun

    async with db.reading() as uow:
        found = await uow.session.scalar(
            select(AppraisalResult.id).join(AppraisalRun)
            .where(AppraisalResult.person_id == person_id, AppraisalRun.period == period))
    assert found is not None
    return found


async def _cadre_with_two_periods(db: Database) -> tuple[int, int, int]:
    """Cadre Wang with a published 2026-Q2 and (latest) 2026-Q3: (person, Q2's, Q3's)."""
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    await cadre_result(db, "2026-Q2", AppraisalStatus.PUBLISHED, person_id, 61.0, "fair")
    await cadre_result(db, "2026-Q3", AppraisalStatus.PUBLISHED, person_id, 72.5, "good",
                       rank=3, ranked=12, exaggeration=True)
    return (person_id, await _result_of(db, person_id, "2026-Q2"),
            await _result_of(db, person_id, "2026-Q3"))


# --- the appeal form ------------------------------------------------------------------------


async def test_only_the_cadre_sees_the_appeal_form_on_their_latest_result_with_the_trend_drawn(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    _, older, latest = await _cadre_with_two_periods(db)
    await _sign_in(client, browser_of, CADRE, "Cadre Wang")

    page = await browser_of.get(f"/result/{latest}")
    assert browser_of.status == 200, page
    assert FORM in page and f'action="/result/{latest}/appeal"' in page
    assert "File the appeal" in page and "(10 to 1000 characters)" in page
    # The trend: drawn (SVG, no script) with its figures in a table.
    assert '<svg class="trend-chart"' in page and "<script" not in page
    assert "<polyline" in page, "a line from 2026-Q2 to 2026-Q3"
    table = page[page.index('class="components trend-table"'):]
    for part in ("2026-Q2", "61.0", "fair", "2026-Q3", "72.5", "good"):
        assert part in table, part
    # The self-view against residents': the words, two labelled bars, the flag.
    assert "Residents and inspectors: 70.5 · your self-assessment: 92.5" in page
    assert 'aria-label="Residents and inspectors: 70.5"' in page
    assert 'aria-label="Self-assessment: 92.5"' in page
    assert "higher than what residents and inspectors report" in page

    old = await browser_of.get(f"/result/{older}")
    assert browser_of.status == 200 and "2026-Q2" in old
    assert FORM not in old, "only the latest result can be appealed"

    # An admin over the cadre's unit reads the result, without the form.
    admin_web = WebClient(web_bot.web_url)
    try:
        await staff(client, db, ADMIN_T1, Role.ADMIN, "T1", "Admin Liu")
        await _sign_in(client, admin_web, ADMIN_T1, "Admin Liu")
        theirs = await admin_web.get(f"/result/{latest}")
        assert admin_web.status == 200 and "Cadre Wang" in theirs
        assert FORM not in theirs and "File the appeal" not in theirs
    finally:
        await admin_web.close()


async def test_a_cadre_files_an_appeal_from_the_page_and_the_reviewers_are_told(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    person_id, _, latest = await _cadre_with_two_periods(db)
    auditor, _ = await staff(client, db, AUDITOR, Role.AUDITOR, None, "Auditor Zhao")
    await _sign_in(client, browser_of, CADRE, "Cadre Wang")
    page = await browser_of.get(f"/result/{latest}")

    shown = await browser_of.post(f"/result/{latest}/appeal",
                                  {"csrf": csrf_of(page), "reason": REASON})
    assert browser_of.status == 200, shown
    assert browser_of.url.split("#")[0].endswith(f"/result/{latest}")
    assert "You appealed this result on" in shown and "it is waiting for an answer" in shown
    assert FORM not in shown, "appealed: the form is gone"
    [appeal] = await appeals(db)
    assert appeal.reason == REASON and appeal.status == AppealStatus.OPEN
    assert appeal.person_id == person_id and appeal.result_id == latest
    [event] = await audit(db, "appeal.file")
    assert event.after is not None and event.after["period"] == "2026-Q3"

    # The reviewers hear of it in Telegram, as when a cadre appeals in chat.
    told = await auditor.wait_for_message("New appeal")
    assert REASON in told.text and "Cadre Wang (Willow Village)" in told.text
    assert "/appeals" in told.text

    # A second appeal of the same result: refused, with the first one's state.
    again = await browser_of.post(f"/result/{latest}/appeal",
                                  {"csrf": csrf_of(shown), "reason": REASON + " again"})
    assert browser_of.status == 409
    assert "You have already appealed this result" in again and "status: open" in again
    assert len(await appeals(db)) == 1 and len(await audit(db, "appeal.file")) == 1
    await auditor.expect_no_message()


async def test_a_reviewer_telegram_cannot_reach_does_not_fail_the_page(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from surveys.people.roles import grant_role

    caplog.set_level(logging.INFO, logger="handlers.results")
    _, _, latest = await _cadre_with_two_periods(db)
    # An admin whose chat Telegram does not know (sending to it fails), and one it reaches.
    async with db.transaction() as uow:
        await grant_role(uow, telegram_user_id=9799, role=Role.ADMIN, unit_code="T1",
                         name="Admin Gone", actor="test")
    auditor, _ = await staff(client, db, AUDITOR, Role.AUDITOR, None, "Auditor Zhao")
    await _sign_in(client, browser_of, CADRE, "Cadre Wang")
    page = await browser_of.get(f"/result/{latest}")

    shown = await browser_of.post(f"/result/{latest}/appeal",
                                  {"csrf": csrf_of(page), "reason": REASON})
    assert browser_of.status == 200 and "it is waiting for an answer" in shown
    assert len(await appeals(db)) == 1
    await auditor.wait_for_message("New appeal")
    assert "could not tell a reviewer about appeal" in caplog.text


async def test_a_reason_too_short_is_refused_and_kept_in_the_form(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    _, _, latest = await _cadre_with_two_periods(db)
    await _sign_in(client, browser_of, CADRE, "Cadre Wang")
    page = await browser_of.get(f"/result/{latest}")

    refused = await browser_of.post(f"/result/{latest}/appeal",
                                    {"csrf": csrf_of(page), "reason": "<b>Wrong"})
    assert browser_of.status == 400
    assert "That reason is too short (8 characters)" in refused
    assert "Nothing was filed." in refused
    # What was typed is in the form again, as text (never markup).
    textarea = re.search(r'<textarea id="appeal-reason"[^>]*>(.*?)</textarea>', refused, re.S)
    assert textarea is not None and textarea.group(1) == "&lt;b&gt;Wrong"
    assert html.unescape(textarea.group(1)) == "<b>Wrong"
    too_long = await browser_of.post(f"/result/{latest}/appeal",
                                     {"csrf": csrf_of(refused), "reason": "x" * 1001})
    assert browser_of.status == 400 and "That reason is too long (1001 characters)" in too_long
    assert "x" * 1001 in too_long
    assert await appeals(db) == []


async def test_an_appeal_posted_without_its_csrf_token_is_refused(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    _, _, latest = await _cadre_with_two_periods(db)
    await _sign_in(client, browser_of, CADRE, "Cadre Wang")
    await browser_of.get(f"/result/{latest}")
    page = await browser_of.post(f"/result/{latest}/appeal", {"reason": REASON})
    assert browser_of.status == 403 and "security token" in page
    await browser_of.post(f"/result/{latest}/appeal", {"csrf": "0" * 64, "reason": REASON})
    assert browser_of.status == 403
    assert await appeals(db) == []


async def test_nobody_else_can_appeal_a_cadres_result(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    _, older, latest = await _cadre_with_two_periods(db)

    # An admin over the cadre's unit: the result is theirs to read, not to appeal.
    await staff(client, db, ADMIN_T1, Role.ADMIN, "T1", "Admin Liu")
    home = await _sign_in(client, browser_of, ADMIN_T1, "Admin Liu")
    refused = await browser_of.post(f"/result/{latest}/appeal",
                                    {"csrf": csrf_of(home), "reason": REASON})
    assert browser_of.status == 403
    assert "Appeal not filed" in refused and "This is for cadres" in refused

    # An admin of another village: the result is not found, as its page.
    other = WebClient(web_bot.web_url)
    try:
        await staff(client, db, ADMIN_V2, Role.ADMIN, "V2", "Admin Sun")
        home = await _sign_in(client, other, ADMIN_V2, "Admin Sun")
        await other.get(f"/result/{latest}")
        assert other.status == 404
        page = await other.post(f"/result/{latest}/appeal",
                                {"csrf": csrf_of(home), "reason": REASON})
        assert other.status == 404 and "Cadre Wang" not in page
    finally:
        await other.close()

    # The cadre, on their older result: only the latest can be appealed.
    mine = WebClient(web_bot.web_url)
    try:
        home = await _sign_in(client, mine, CADRE, "Cadre Wang")
        page = await mine.post(f"/result/{older}/appeal",
                               {"csrf": csrf_of(home), "reason": REASON})
        assert mine.status == 403 and "not your latest published result" in page
        assert "2026-Q3" in page
        for path in ("/result/abc/appeal", "/result/99999999999999/appeal"):
            await mine.post(path, {"csrf": csrf_of(home), "reason": REASON})
            assert mine.status == 404, path
    finally:
        await mine.close()

    # Not signed in: nobody to appeal as.
    anonymous = WebClient(web_bot.web_url)
    try:
        page = await anonymous.get("/tg")  # a form, and this browser's anonymous token
        await anonymous.post(f"/result/{latest}/appeal",
                             {"csrf": csrf_of(page), "reason": REASON})
        assert anonymous.status == 401
    finally:
        await anonymous.close()
    assert await appeals(db) == []


# --- the ranking's downloads ----------------------------------------------------------------


SOUTH = [UnitRow("T2", "South Township", "C1", "township", 15_000, 5),
         UnitRow("V3", "Birch Village", "T2", "village", 900, 6)]


async def _county_ranking(db: Database, cadre_id: int, other_id: int) -> None:
    """2026-Q3 published for every unit of two townships and a cadre in each (Wang in North
    Township's Willow Village, with an explanation that starts like a formula; Li in South
    Township's Birch Village)."""
    async with db.transaction() as uow:
        await import_units(uow, SOUTH, actor="test")
    rows: list[dict[str, Any]] = []
    for rank, (code, name, score) in enumerate(
            [("V1", "Willow Village", 81.5), ("T1", "North Township", 74.0),
             ("V3", "Birch Village", 70.0), ("C1", "Riverside County", 66.0),
             ("T2", "South Township", 60.0), ("V2", "Pine Village", 55.0)], 1):
        rows.append({"kind": "unit", "unit_id": await unit_id(db, code),
                     "detail": detail(name, (code, name), score=score, grade="good",
                                      rank=rank, ranked=6)})
    wang = detail("Cadre Wang", ("V1", "Willow Village"), score=79.0, grade="good", rank=1)
    wang["explanation"] = FORMULA
    rows.append({"kind": "cadre", "unit_id": await unit_id(db, "V1"), "person_id": cadre_id,
                 "detail": wang})
    rows.append({"kind": "cadre", "unit_id": await unit_id(db, "V3"), "person_id": other_id,
                 "detail": detail("Cadre Li", ("V3", "Birch Village"), score=65.0,
                                  grade="fair", rank=2)})
    await seed_run(db, "2026-Q3", AppraisalStatus.PUBLISHED, rows)


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with the BOM Excel needs for Chinese"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _who(rows: list[dict[str, str]]) -> list[tuple[str, str, str]]:
    return [(r["kind"], r["unit_code"], r["cadre"]) for r in rows]


async def test_the_ranking_downloads_hold_only_the_readers_scope(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    wang = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    li = await make_cadre(db, OTHER_CADRE, "V1", "Cadre Li")
    await _county_ranking(db, wang, li)
    north = await unit_id(db, "T1")

    # A township's admin: its units and cadres, from the links on the ranking page.
    await staff(client, db, ADMIN_T1, Role.ADMIN, "T1", "Admin Liu")
    await _sign_in(client, browser_of, ADMIN_T1, "Admin Liu")
    ranking = await browser_of.get("/ranking/2026-Q3")
    csv_link = f"/ranking/2026-Q3/export.csv?unit={north}"
    xlsx_link = f"/ranking/2026-Q3/export.xlsx?unit={north}"
    assert f'href="{csv_link}"' in ranking and "Download CSV" in ranking
    assert f'href="{xlsx_link}"' in ranking and "Download XLSX" in ranking

    data = await browser_of.download(csv_link)
    assert browser_of.status == 200
    assert browser_of.headers["Content-Disposition"] == \
        'attachment; filename="appraisal-2026-Q3.csv"'
    assert browser_of.headers["Content-Type"].startswith("text/csv")
    rows = _csv_rows(data)
    assert _who(rows) == [("unit", "V1", ""), ("unit", "T1", ""), ("unit", "V2", ""),
                          ("cadre", "V1", "Cadre Wang")]
    assert "Birch" not in data.decode("utf-8-sig") and "South" not in data.decode("utf-8-sig")
    # The CLI's columns, formula-escaped.
    assert list(rows[0])[:5] == ["period", "version", "run_status", "kind", "unit_code"]
    assert "satisfaction_score" in rows[0] and rows[0]["period"] == "2026-Q3"
    assert rows[3]["explanation"] == "'" + FORMULA
    # Without ?unit the same: the admin's own scope.
    assert _who(_csv_rows(await browser_of.download("/ranking/2026-Q3/export.csv"))) == \
        _who(rows)

    book = load_workbook(io.BytesIO(await browser_of.download(xlsx_link)))
    assert browser_of.headers["Content-Disposition"] == \
        'attachment; filename="appraisal-2026-Q3.xlsx"'
    assert book.sheetnames == ["results", "components", "run"]
    sheet = list(book["results"].iter_rows(values_only=True))
    header = list(sheet[0])
    kinds = [(r[header.index("kind")], r[header.index("unit_code")]) for r in sheet[1:]]
    assert kinds == [("unit", "V1"), ("unit", "T1"), ("unit", "V2"), ("cadre", "V1")]
    explanation = book["results"].cell(row=5, column=header.index("explanation") + 1)
    assert explanation.value == "'" + FORMULA and explanation.data_type == "s"
    components = list(book["components"].iter_rows(values_only=True))
    assert {r[3] for r in components[1:]} == {"V1", "T1", "V2"}
    facts = dict(book["run"].iter_rows(min_row=2, values_only=True))
    assert facts["scope"] == "T1" and "summary" not in facts, "the run's counts are county's"

    # Another township, another period, a malformed one: not found.
    south = await unit_id(db, "T2")
    for path in (f"/ranking/2026-Q3/export.csv?unit={south}",
                 f"/ranking/2026-Q3/export.xlsx?unit={south}",
                 "/ranking/2025-Q1/export.csv", "/ranking/nope!/export.csv",
                 "/ranking/2026-Q3/export.csv?unit=x", "/ranking/2026-Q3/export.pdf"):
        await browser_of.download(path)
        assert browser_of.status == 404, path

    # The county's admin and an auditor for all units: every row.
    for user_id, name, role, unit in ((ADMIN_C1, "Admin Zhou", Role.ADMIN, "C1"),
                                      (AUDITOR, "Auditor Zhao", Role.AUDITOR, None)):
        reader = WebClient(web_bot.web_url)
        try:
            await staff(client, db, user_id, role, unit, name)
            await _sign_in(client, reader, user_id, name)
            every = _csv_rows(await reader.download("/ranking/2026-Q3/export.csv"))
            assert reader.status == 200
            assert sorted(_who(every)) == sorted([
                ("unit", "V1", ""), ("unit", "T1", ""), ("unit", "V3", ""), ("unit", "C1", ""),
                ("unit", "T2", ""), ("unit", "V2", ""), ("cadre", "V1", "Cadre Wang"),
                ("cadre", "V3", "Cadre Li")]), name
            book = load_workbook(io.BytesIO(await reader.download(
                "/ranking/2026-Q3/export.xlsx")))
            assert book["results"].max_row == 9, name
            facts = dict(book["run"].iter_rows(min_row=2, values_only=True))
            assert "summary" in facts, "the whole run: its counts too"
        finally:
            await reader.close()


async def test_the_downloads_are_for_staff_signed_in(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    wang = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    await _county_ranking(db, wang, await make_cadre(db, OTHER_CADRE, "V1", "Cadre Li"))
    page = await browser_of.download("/ranking/2026-Q3/export.csv")
    assert browser_of.status == 401 and b"Not signed in" in page
    # A cadre has no ranking page, and no download.
    await _sign_in(client, browser_of, CADRE, "Cadre Wang")
    await browser_of.download("/ranking/2026-Q3/export.xlsx")
    assert browser_of.status == 404
