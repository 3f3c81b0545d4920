"""The dashboard from the chat, through the real Application, the sandbox and a real
database: /myscore's short summary and its Mini App button (initData signed by the sandbox
as Telegram would), /dashboard's one-time sign-in link, and the pages' refusals (forged or
stale initData, a used or unknown link, too many attempts, a form without its CSRF token,
another cadre's page by URL). The pages are read over HTTP as a browser would, with cookies.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from sandbox import SandboxClient
from storage.models import AppraisalStatus, Role, SignInLink, WebSession
from storage.uow import Database
from tests.e2e.conftest import Bot
from tests.e2e.fieldwork import make_cadre
from tests.e2e.test_results_chat import ADMIN_T1, cadre_result, ranking, staff
from tests.e2e.web import WebClient, csrf_of, init_data_of, shows_number

pytestmark = pytest.mark.e2e

CADRE, OTHER_CADRE, RESIDENT = 9401, 9402, 9403
OPEN_REPORT = "📊 Open the full report"
LONG_EXPLANATION = (
    "Resident satisfaction (satisfaction): 72.5, the mean 74.0 of 40 answers (95% CI "
    "64.5–80.5) shrunk toward the average 70.0 as if 10 average answers were added; weight "
    "60%. Verified key tasks (key_tasks): 80.0 from 3 inspections; weight 30%. "
    "Self-assessment (self_view): no self-assessment this period; its weight was spread over "
    "the components with data. The grade follows from the score and the configured floors.")


@pytest.fixture
async def browser_of(web_bot: Bot) -> AsyncIterator[WebClient]:
    client = WebClient(web_bot.web_url)
    try:
        yield client
    finally:
        await client.close()


async def _published(db: Database, person_id: int, **extra: object) -> int:
    return await cadre_result(db, "2026-Q3", AppraisalStatus.PUBLISHED, person_id, 72.5, "good",
                              rank=3, ranked=12, **extra)


async def _result_ids(db: Database) -> dict[int, int]:
    from storage.models import AppraisalResult

    async with db.reading() as uow:
        rows = await uow.session.execute(select(AppraisalResult.person_id, AppraisalResult.id))
        return {person: result for person, result in rows if person is not None}


# --- /myscore -------------------------------------------------------------------------------


async def test_myscore_is_a_short_summary_with_a_button_that_opens_the_full_report(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    await _published(db, person_id, recognition=True)
    async with db.transaction() as uow:  # the stored explanation, long as a real one
        from storage.models import AppraisalResult

        result = await uow.session.scalar(select(AppraisalResult))
        assert result is not None
        first, *rest = result.detail["components"]
        shrunk = {**first, "raw_mean": 74.0, "prior": 70.0, "prior_weight": 10.0}
        result.detail = {**result.detail, "explanation": LONG_EXPLANATION,
                         "components": [shrunk, *rest]}
    cadre = await client.user(CADRE, "Wang")

    await cadre.send("/myscore")
    summary = await cadre.wait_for_message("Your appraisal")
    lines = summary.text.splitlines()
    assert len(lines) <= 12, summary.text
    for part in ("Your appraisal · 2026-Q3", "Cadre Wang · Willow Village", "Score: 72.5 / 100",
                 "grade: good", "Rank: 3 of 12", "Recognised", "Valid resident responses: 40",
                 "Strongest: Verified key tasks (80.0)",
                 "Weakest: Resident satisfaction (72.5)"):
        assert part in summary.text, part
    # No raw ids: names, not the unit's code or the indicators' ids.
    assert "V1" not in summary.text and "key_tasks" not in summary.text
    # The explanation is shortened between words, never inside one.
    explained = next(line for line in lines if line.startswith("How it was computed"))
    assert explained.endswith("…")
    last_word = explained[:-1].split()[-1]
    assert last_word in LONG_EXPLANATION.split(), last_word
    assert summary.buttons == [[(OPEN_REPORT, None)]]
    await cadre.expect_no_message()

    url = await cadre.open_web_app(OPEN_REPORT)
    page = await browser_of.open_mini_app(url)
    assert browser_of.status == 200, page
    assert urlsplit(browser_of.url).path.startswith("/result/")
    for part in ("Appraisal result · 2026-Q3", "Cadre Wang", "Willow Village", "72.5",
                 "Resident satisfaction", "60%", "Verified key tasks", "30%", "64.5–80.5",
                 "3 inspections", "Self-assessment", "10% → 0%", "answered too fast: 2",
                 "Working with residents"):
        assert part in page, part
    assert "mean 74.0 → 72.5, shrunk toward 70.0 as if 10 average answers were added" in page
    # The explanation in full, and not one Telegram id anywhere in the page.
    assert "the configured floors." in page
    assert not shows_number(page, CADRE)
    assert "Content-Security-Policy" in browser_of.headers


async def test_the_report_page_of_another_cadre_is_not_found(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    mine = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    theirs = await make_cadre(db, OTHER_CADRE, "V2", "Cadre Li")
    await _published(db, mine)
    await cadre_result(db, "2026-Q2", AppraisalStatus.PUBLISHED, theirs, 55.0, "fair")
    ids = await _result_ids(db)
    cadre = await client.user(CADRE, "Wang")
    await cadre.send("/myscore")
    await cadre.wait_for_message("Your appraisal")
    await browser_of.open_mini_app(await cadre.open_web_app(OPEN_REPORT))
    assert browser_of.status == 200

    page = await browser_of.get(f"/result/{ids[theirs]}")
    assert browser_of.status == 404 and "Not found" in page and "Cadre Li" not in page
    for path in ("/result/999999999", "/result/abc", "/result/-1", "/result/99999999999999"):
        await browser_of.get(path)
        assert browser_of.status == 404, path


async def test_forged_and_stale_init_data_are_refused(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    await make_cadre(db, OTHER_CADRE, "V2", "Cadre Li")
    await _published(db, person_id)
    other = await client.user(OTHER_CADRE, "Li")
    await other.send("/myscore")
    await other.wait_for_message("No published appraisal")
    cadre = await client.user(CADRE, "Wang")
    await cadre.send("/myscore")
    await cadre.wait_for_message("Your appraisal")
    url = await cadre.open_web_app(OPEN_REPORT)

    # Someone else's account put into Wang's signed data: the signature no longer matches.
    forged = init_data_of(url).replace(f"%22id%22%3A{CADRE}", f"%22id%22%3A{OTHER_CADRE}")
    assert forged != init_data_of(url)
    page = await browser_of.open_mini_app(url, init_data=forged)
    assert browser_of.status == 403 and "did not pass the check" in page
    page = await browser_of.open_mini_app(url, init_data=init_data_of(url) + "0")
    assert browser_of.status == 403
    await browser_of.get("/")
    assert browser_of.status == 401, "no session was started"

    two_hours_ago = int(time.time()) - 7200
    stale = await cadre.open_web_app(OPEN_REPORT, auth_date=two_hours_ago)
    page = await browser_of.open_mini_app(stale)
    assert browser_of.status == 403 and "too old" in page
    async with db.reading() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(WebSession)) == 0


async def test_a_resident_cannot_open_the_dashboard(
    web_bot: Bot, client: SandboxClient, browser_of: WebClient,
) -> None:
    resident = await client.user(RESIDENT, "Resident")
    await resident.send("/dashboard")
    await resident.wait_for_message("The dashboard is for admins, auditors")


# --- /dashboard -----------------------------------------------------------------------------


async def _link(client: SandboxClient, user_id: int, name: str, lang: str = "en") -> str:
    user = await client.user(user_id, name, language_code=lang)
    await user.send("/dashboard")
    reply = await user.wait_for_message("/signin/")
    found = re.search(r"https?://\S+/signin/[A-Za-z0-9_-]+", reply.text)
    assert found is not None, reply.text
    return found.group(0)


async def test_dashboard_sends_a_one_time_link_that_signs_in_once(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    await _published(db, person_id)
    link = await _link(client, CADRE, "Wang")
    async with db.reading() as uow:
        stored = (await uow.session.scalars(select(SignInLink))).all()
    token = link.rsplit("/", 1)[1]
    assert len(stored) == 1 and token not in stored[0].token_hash, "only its digest is kept"

    confirm = await browser_of.get(link)
    assert browser_of.status == 200 and "Sign in as Cadre Wang?" in confirm
    home = await browser_of.post(link, {"csrf": csrf_of(confirm)})
    assert browser_of.status == 200 and "Hello, Cadre Wang" in home
    assert "Your latest appraisal result" in home
    cookie = next(c for c in browser_of.session.cookie_jar if c.key == "cp_session")
    assert cookie["httponly"] and cookie["samesite"] == "Strict"

    # Signing out ends the session; the link, once used, never signs in again.
    await browser_of.post("/signout", {"csrf": csrf_of(home)})
    assert browser_of.status == 200
    await browser_of.get("/")
    assert browser_of.status == 401
    page = await browser_of.get(link)
    assert browser_of.status == 403 and "already been used" in page


async def test_a_new_link_replaces_the_old_and_a_link_expires(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    await make_cadre(db, CADRE, "V1", "Cadre Wang")
    first = await _link(client, CADRE, "Wang")
    second = await _link(client, CADRE, "Wang")
    page = await browser_of.get(first)
    assert browser_of.status == 403 and "not valid" in page
    web_bot.clock.offset_s = 11 * 60
    page = await browser_of.get(second)
    assert browser_of.status == 403 and "expired" in page


async def test_link_attempts_are_rate_limited(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    await make_cadre(db, CADRE, "V1", "Cadre Wang")
    link = await _link(client, CADRE, "Wang")
    base = link.rsplit("/", 1)[0]
    for attempt in range(20):
        await browser_of.get(f"{base}/guess{attempt:02d}aaaaaaaaaaaaaaaaaaaaaaaaa")
        assert browser_of.status == 403
    page = await browser_of.get(link)
    assert browser_of.status == 429 and "Too many sign-in attempts" in page


async def test_a_form_posted_without_its_csrf_token_is_refused(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    await make_cadre(db, CADRE, "V1", "Cadre Wang")
    link = await _link(client, CADRE, "Wang")
    confirm = await browser_of.get(link)
    page = await browser_of.post(link, {})
    assert browser_of.status == 403 and "security token" in page
    page = await browser_of.post(link, {"csrf": "0" * 64})
    assert browser_of.status == 403
    home = await browser_of.post(link, {"csrf": csrf_of(confirm)})
    assert "Hello, Cadre Wang" in home, "the link was not spent by the refused posts"
    await browser_of.post("/signout", {})
    assert browser_of.status == 403
    await browser_of.get("/")
    assert browser_of.status == 200, "still signed in"


async def test_the_dashboard_in_chinese(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    await _published(db, person_id)
    cadre = await client.user(CADRE, "Wang", language_code="zh")
    await cadre.send("/myscore")
    summary = await cadre.wait_for_message("您的考核结果")
    assert summary.buttons == [[("📊 打开完整报告", None)]]
    page = await browser_of.open_mini_app(await cadre.open_web_app("📊 打开完整报告"))
    assert "考核结果 · 2026-Q3" in page and "各项指标" in page and "群众工作方法" in page


# --- /results -------------------------------------------------------------------------------


async def _unit_id(db: Database, code: str) -> int:
    async with db.reading() as uow:
        unit = await uow.units.by_code(code)
        assert unit is not None
        return unit.id


async def test_results_is_a_summary_and_the_ranking_page_keeps_to_the_scope(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    await ranking(db, "2026-Q2")
    await ranking(db, "2026-Q3", cadre_id=person_id)
    admin, _ = await staff(client, db, ADMIN_T1, Role.ADMIN, "T1", "Admin Liu")

    await admin.send("/results")
    summary = await admin.wait_for_message("Results · 2026-Q3")
    lines = summary.text.splitlines()
    assert len(lines) <= 12, summary.text
    for part in ("Scope: North Township", "Units graded: 2 of 3 · cadres: 1",
                 "1. Willow Village: 81.5 (good) 🏅", "2. North Township: 74.0 (good)"):
        assert part in summary.text, part
    assert "Riverside" not in summary.text and "T1" not in summary.text.split()
    assert summary.buttons == [[(OPEN_REPORT, None)]]
    await admin.expect_no_message()

    page = await browser_of.open_mini_app(await admin.open_web_app(OPEN_REPORT))
    assert browser_of.status == 200 and urlsplit(browser_of.url).path == "/ranking/2026-Q3"
    for part in ("Results · 2026-Q3", "Willow Village", "North Township", "Pine Village",
                 "not graded: 4 of 10 responses needed", "Cadre Wang", "2026-Q2"):
        assert part in page, part
    assert "Riverside County" not in page and not shows_number(page, ADMIN_T1)

    # Outside the admin's township, by URL: the county's rows, results and the unit itself.
    county = await _unit_id(db, "C1")
    await browser_of.get(f"/ranking/2026-Q3?unit={county}")
    assert browser_of.status == 404
    pine = await _unit_id(db, "V2")
    narrowed = await browser_of.get(f"/ranking/2026-Q3?unit={pine}")
    assert browser_of.status == 200 and "Pine Village" in narrowed and "Willow" not in narrowed
    async with db.reading() as uow:
        from storage.models import AppraisalResult

        county_result = await uow.session.scalar(select(AppraisalResult.id).where(
            AppraisalResult.unit_id == county, AppraisalResult.kind == "unit"))
    await browser_of.get(f"/result/{county_result}")
    assert browser_of.status == 404
    for path in ("/ranking/2025-Q1", "/ranking/nope!", "/ranking/2026-Q3?unit=x"):
        await browser_of.get(path)
        assert browser_of.status == 404, path


async def test_the_pages_live_with_the_bot_and_sessions_outlive_a_restart(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    import aiohttp

    await make_cadre(db, CADRE, "V1", "Cadre Wang")
    home = await browser_of.sign_in_with_link(await _link(client, CADRE, "Wang"))
    assert "Hello, Cadre Wang" in home
    old_url = web_bot.web_url
    await web_bot.stop()
    with pytest.raises(aiohttp.ClientConnectionError):
        await browser_of.get(old_url + "/")
    await web_bot.start()
    # A new port (0 asks for any); the cookie is the host's, and the session is in the
    # database, so the person is still signed in.
    again = await browser_of.get(web_bot.web_url + "/")
    assert browser_of.status == 200 and "Hello, Cadre Wang" in again
