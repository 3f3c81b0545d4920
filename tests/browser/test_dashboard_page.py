"""The dashboard in chromium: opened from the sandbox chat as a Mini App (valid, forged and
stale initData), signed in with a /dashboard link (used once, then refused), signed out, a
form posted without its CSRF token, another cadre's page by URL, and a township's ranking
with its CSV download. Also the README's pictures of the result page, at a desktop's and a
phone's width, in English and Chinese."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from playwright.async_api import Page, expect

from sandbox import SandboxClient
from sandbox.webapp import launch_url
from storage.models import AppraisalStatus
from storage.uow import Database
from tests.browser.conftest import Bot, ChatPage, Shot
from tests.e2e.fieldwork import make_cadre
from tests.e2e.test_results_chat import cadre_result
from tests.e2e.web import init_data_of

CADRE, OTHER_CADRE = 9501, 9502
OPEN_REPORT = "📊 Open the full report"
PHONE = {"width": 390, "height": 844}


async def _cadre_with_result(db: Database) -> int:
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    await cadre_result(db, "2026-Q3", AppraisalStatus.PUBLISHED, person_id, 72.5, "good",
                       rank=3, ranked=12, recognition=True)
    return person_id


async def _open_report(chat: ChatPage, button: str = OPEN_REPORT) -> Page:
    """Tap the report's Mini App button in the chat; the page it opens."""
    async with chat.page.context.expect_page() as opened:
        await chat.tap(button)
    page = await opened.value
    await page.wait_for_load_state()
    return page


async def _fits(page: Page) -> None:
    """Nothing wider than the screen: no sideways scrolling at a phone's width."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= await page.evaluate("window.innerWidth"), width


async def test_the_report_opens_from_the_chat_as_a_mini_app(
    app_chat: ChatPage, db: Database, shot: Shot,
) -> None:
    await _cadre_with_result(db)
    await app_chat.new_user(CADRE, "Wang")
    await app_chat.send("/myscore")
    summary = await app_chat.shows("Your appraisal · 2026-Q3")
    await expect(summary).to_contain_text("Score: 72.5 / 100")

    page = await _open_report(app_chat)
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Appraisal result · 2026-Q3")
    table = page.locator("table.components")
    await expect(table).to_contain_text("Resident satisfaction")
    await expect(table).to_contain_text("64.5–80.5")
    await expect(table).to_contain_text("10% → 0%")
    await expect(page.locator("body")).to_contain_text("answered too fast: 2")
    await expect(page.locator("body")).not_to_contain_text(str(CADRE))
    assert "#tgWebAppData" not in page.url, "the signed data leaves the address once read"
    await shot(page, "docs/dashboard-result.png")
    await page.set_viewport_size(PHONE)
    await _fits(page)
    await shot(page, "docs/dashboard-result-phone.png")


@pytest.mark.parametrize("locale", ["zh-CN"])
async def test_the_report_in_chinese(app_chat: ChatPage, db: Database, shot: Shot) -> None:
    await _cadre_with_result(db)
    await app_chat.new_user(CADRE, "王", language="中文 (zh)")
    await app_chat.send("/myscore")
    await app_chat.shows("您的考核结果")
    page = await _open_report(app_chat, "📊 打开完整报告")
    await expect(page.get_by_role("heading", level=1)).to_have_text("考核结果 · 2026-Q3")
    await expect(page.locator("table.components")).to_contain_text("权重")
    await page.set_viewport_size(PHONE)
    await _fits(page)
    await shot(page, "docs/dashboard-result-phone-zh.png")


async def test_forged_and_stale_init_data_are_refused(
    app_chat: ChatPage, db: Database, web_bot: Bot,
) -> None:
    await _cadre_with_result(db)
    await make_cadre(db, OTHER_CADRE, "V2", "Cadre Li")
    await app_chat.new_user(CADRE, "Wang")
    await app_chat.send("/myscore")
    await app_chat.shows("Your appraisal")

    # The address Telegram would open, with someone else's id put into the signed data.
    page = await _open_report(app_chat)
    await expect(page.locator("table.components")).to_be_visible()
    context = await app_chat.page.context.browser.new_context()  # type: ignore[union-attr]
    try:
        forger = await context.new_page()
        url = await _launch_url(app_chat, web_bot)
        signed = init_data_of(url)
        forged = signed.replace(quote(f'"id":{CADRE}', safe=""),
                                quote(f'"id":{OTHER_CADRE}', safe=""))
        assert forged != signed
        await forger.goto(launch_url(url, forged))
        await expect(forger.locator("h1")).to_have_text("Could not sign in")
        await expect(forger.locator("main")).to_contain_text("did not pass the check")
        await forger.goto(web_bot.web_url + "/")
        await expect(forger.locator("h1")).to_have_text("Not signed in")
    finally:
        await context.close()

    # Two hours later (the default greatest age is one), the same button's data is too old.
    web_bot.clock.offset_s = 2 * 3600
    await app_chat.page.context.clear_cookies()
    stale = await _open_report(app_chat)
    await expect(stale.locator("h1")).to_have_text("Sign-in expired")
    await expect(stale.locator("main")).to_contain_text("too old")


async def _launch_url(chat: ChatPage, bot: Bot) -> str:
    """The address the newest report button opens, as the sandbox signs it for the user."""
    async with SandboxClient(bot.sandbox.base_url) as client:
        user = await client.user(CADRE, "Wang")
        return await user.open_web_app(OPEN_REPORT)


async def _dashboard_link(chat: ChatPage) -> str:
    await chat.send("/dashboard")
    reply = await chat.shows("Sign in to the dashboard")
    href = await reply.locator("a[href*='/signin/']").get_attribute("href")
    assert href is not None
    return href


async def test_sign_in_by_link_once_then_sign_out(
    app_chat: ChatPage, db: Database, shot: Shot,
) -> None:
    await _cadre_with_result(db)
    await app_chat.new_user(CADRE, "Wang")
    link = await _dashboard_link(app_chat)
    page = await app_chat.page.context.new_page()
    await page.goto(link)
    await expect(page.locator("main")).to_contain_text("Sign in as Cadre Wang?")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("h1")).to_have_text("Hello, Cadre Wang")
    await page.get_by_role("link", name="Your latest appraisal result").click()
    await expect(page.locator("h1")).to_have_text("Appraisal result · 2026-Q3")
    cookie = next(c for c in await page.context.cookies() if c["name"] == "cp_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.locator("h1")).to_have_text("Signed out")
    await page.goto(link)
    await expect(page.locator("h1")).to_have_text("Link already used")
    await page.goto(link.rsplit("/", 2)[0] + "/")
    await expect(page.locator("h1")).to_have_text("Not signed in")


async def test_a_form_without_its_csrf_token_is_refused(
    app_chat: ChatPage, db: Database,
) -> None:
    await _cadre_with_result(db)
    await app_chat.new_user(CADRE, "Wang")
    page = await app_chat.page.context.new_page()
    await page.goto(await _dashboard_link(app_chat))
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("h1")).to_have_text("Hello, Cadre Wang")

    await page.locator("form.signout input[name=csrf]").evaluate("input => input.remove()")
    async with page.expect_response(lambda r: r.url.endswith("/signout")) as answered:
        await page.get_by_role("button", name="Sign out").click()
    assert (await answered.value).status == 403
    await expect(page.locator("h1")).to_have_text("Form refused")
    await page.reload()
    await page.goto(page.url.rsplit("/", 1)[0] + "/")
    await expect(page.locator("h1")).to_have_text("Hello, Cadre Wang")


async def test_another_cadres_page_by_url_is_not_found(
    app_chat: ChatPage, db: Database, web_bot: Bot,
) -> None:
    await _cadre_with_result(db)
    other = await make_cadre(db, OTHER_CADRE, "V2", "Cadre Li")
    theirs = await cadre_result(db, "2026-Q2", AppraisalStatus.PUBLISHED, other, 55.0, "fair")
    del theirs  # the run's id; the result's is looked up below
    async with db.reading() as uow:
        from sqlalchemy import select

        from storage.models import AppraisalResult
        result_id = await uow.session.scalar(
            select(AppraisalResult.id).where(AppraisalResult.person_id == other))
    await app_chat.new_user(CADRE, "Wang")
    await app_chat.send("/myscore")
    await app_chat.shows("Your appraisal")
    page = await _open_report(app_chat)
    await expect(page.locator("table.components")).to_be_visible()

    answer = await page.goto(f"{web_bot.web_url}/result/{result_id}")
    assert answer is not None and answer.status == 404
    await expect(page.locator("h1")).to_have_text("Not found")
    await expect(page.locator("main")).not_to_contain_text("Cadre Li")


async def test_an_admin_opens_the_ranking_and_cannot_leave_the_township(
    app_chat: ChatPage, db: Database, web_bot: Bot, shot: Shot,
) -> None:
    from storage.models import Role
    from surveys.people.roles import grant_role
    from tests.e2e.test_results_chat import ADMIN_T1, ranking

    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    await ranking(db, "2026-Q2")
    await ranking(db, "2026-Q3", cadre_id=person_id)
    await app_chat.new_user(ADMIN_T1, "Liu")
    async with db.transaction() as uow:
        await grant_role(uow, telegram_user_id=ADMIN_T1, role=Role.ADMIN, unit_code="T1",
                         name="Admin Liu", actor="test")
    await app_chat.send("/results")
    await app_chat.shows("Results · 2026-Q3", "Scope: North Township")

    page = await _open_report(app_chat)
    await expect(page.locator("h1")).to_have_text("Results · 2026-Q3")
    units = page.locator("table.ranking").first
    await expect(units).to_contain_text("Willow Village")
    await expect(units).not_to_contain_text("Riverside County")
    await shot(page, "docs/dashboard-ranking.png")
    # The period's results to download: the township's rows, named after the period.
    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="Download CSV").click()
    download = await downloading.value
    assert download.suggested_filename == "appraisal-2026-Q3.csv"
    saved = await download.path()
    assert saved is not None
    text = saved.read_bytes().decode("utf-8-sig")
    assert "Willow Village" in text and "Riverside County" not in text
    await page.get_by_role("link", name="Pine Village").click()
    await expect(page.locator("h1")).to_have_text("Appraisal result · 2026-Q3")
    await expect(page.locator("main")).to_contain_text("Pine Village")

    async with db.reading() as uow:
        county = await uow.units.by_code("C1")
    assert county is not None
    answer = await page.goto(f"{web_bot.web_url}/ranking/2026-Q3?unit={county.id}")
    assert answer is not None and answer.status == 404
    await expect(page.locator("h1")).to_have_text("Not found")


@pytest.mark.parametrize("locale", ["zh-CN"])
async def test_a_county_admin_goes_down_the_ranking_a_level_at_a_time(
    app_chat: ChatPage, db: Database, shot: Shot,
) -> None:
    from storage.models import Role
    from surveys.people.roles import grant_role
    from tests.e2e.test_results_chat import ranking

    county_admin = 9601
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    await ranking(db, "2026-Q2")
    await ranking(db, "2026-Q3", cadre_id=person_id)
    await app_chat.new_user(county_admin, "刘", language="中文 (zh)")
    async with db.transaction() as uow:
        await grant_role(uow, telegram_user_id=county_admin, role=Role.ADMIN, unit_code="C1",
                         name="Admin Liu", actor="test")
    await app_chat.send("/results")
    page = await _open_report(app_chat, "📊 打开完整报告")
    await expect(page.locator("h1")).to_have_text("考核结果 · 2026-Q3")
    # The county and the township right below it; the villages and their cadres a level down.
    units = page.locator("table.ranking").first
    await expect(units).to_contain_text("河畔县")
    await expect(units).to_contain_text("北镇")
    await expect(units).not_to_contain_text("柳村")
    await expect(page.locator("main")).to_contain_text("每次显示一级")
    await shot(page, "docs/dashboard-ranking-zh.png")
    await page.get_by_role("link", name="下级单位").last.click()
    await expect(page.locator("table.ranking").first).to_contain_text("柳村")
    await expect(page.locator("table.ranking").nth(1)).to_contain_text("Cadre Wang")
    await page.set_viewport_size(PHONE)
    await _fits(page)
    await shot(page, "docs/dashboard-ranking-phone-zh.png")
