"""The campaign pages in chromium: an admin scoped to one township opens another township's
campaign and its close action by URL (not found, nothing closed); creates a campaign with the
form and closes it after the confirmation; and a close form posted without its CSRF token is
refused. Also the README's pictures of a campaign's page, at a desktop's and a phone's width.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import Page, expect

from storage.models import CampaignStatus, Role
from storage.uow import Database
from surveys.campaigns.admin import create_campaign
from surveys.people.roles import grant_role
from surveys.people.units import import_units
from surveys.questionnaire.loader import load_template
from tests.browser.conftest import Bot, ChatPage, Shot
from tests.browser.test_dashboard_page import PHONE, _fits
from tests.conftest import TEST_UNITS
from tests.e2e.test_dashboard_campaigns import SOUTH, campaign_with_progress

ADMIN = 9711


async def _status(db: Database, code: str) -> CampaignStatus | None:
    async with db.reading() as uow:
        campaign = await uow.campaigns.by_code(code)
        return None if campaign is None else campaign.status


async def _admin_of_north(chat: ChatPage, db: Database, bot: Bot,
                          language: str = "English (en)") -> Page:
    """South Township with its campaign "oak"; Admin Liu, scoped to North Township, signed
    in with a /dashboard link in a tab of their own."""
    async with db.transaction() as uow:
        await import_units(uow, [*TEST_UNITS, *SOUTH], actor="test")
        now = bot.clock()
        await create_campaign(uow, survey=load_template("resident_satisfaction"),
                              unit_code="V3", code="oak", opens_at=now - timedelta(minutes=1),
                              closes_at=now + timedelta(days=10), now=now, actor="test")
    await chat.new_user(ADMIN, "Liu", language=language)
    async with db.transaction() as uow:
        await grant_role(uow, telegram_user_id=ADMIN, role=Role.ADMIN, unit_code="T1",
                         name="Admin Liu", actor="test")
    page = await chat.page.context.new_page()
    await chat.send("/dashboard")
    reply = await chat.shows("登录数据面板" if language.endswith("(zh)") else
                             "Sign in to the dashboard")
    link = await reply.locator("a[href*='/signin/']").get_attribute("href")
    assert link is not None
    await page.goto(link)
    await page.locator("form button.primary").click()
    await expect(page.locator("h1")).to_contain_text("Admin Liu")
    return page


async def test_another_townships_campaign_and_its_close_action_are_not_found(
    app_chat: ChatPage, db: Database, web_bot: Bot, shot: Shot,
) -> None:
    await campaign_with_progress(db, web_bot)
    page = await _admin_of_north(app_chat, db, web_bot)
    await page.get_by_role("link", name="Campaigns").click()
    await expect(page.locator("h1")).to_have_text("Campaigns")
    table = page.locator("table.campaigns")
    await expect(table).to_contain_text("willow")
    await expect(table).not_to_contain_text("oak")
    await page.get_by_role("link", name="willow-q4").click()
    await expect(page.locator("h1")).to_have_text("Campaign willow-q4")
    await expect(page.locator("figure.timeline svg rect.bar")).to_have_count(13)
    await expect(page.locator("main")).to_contain_text("Margin of error at 95%")
    await expect(page.locator("main")).to_contain_text("40 sent")
    await shot(page, "docs/dashboard-campaign.png")
    await page.set_viewport_size(PHONE)
    await _fits(page)
    await shot(page, "docs/dashboard-campaign-phone.png")
    token = await page.locator("form.signout input[name=csrf]").input_value()

    for path in ("/campaign/oak", "/campaign/oak/close", "/campaign/oak/poster"):
        answer = await page.goto(web_bot.web_url + path)
        assert answer is not None and answer.status == 404, path
        await expect(page.locator("h1")).to_have_text("Not found")
        await expect(page.locator("main")).not_to_contain_text("Oak Village")
    # The close action itself, posted by URL with a valid token of this session.
    posted = await page.context.request.post(web_bot.web_url + "/campaign/oak/close",
                                             form={"csrf": token})
    assert posted.status == 404
    assert await _status(db, "oak") == CampaignStatus.OPEN, "nothing was closed"


async def test_an_admin_creates_a_campaign_and_closes_it_after_confirming(
    app_chat: ChatPage, db: Database, web_bot: Bot, shot: Shot,
) -> None:
    page = await _admin_of_north(app_chat, db, web_bot)
    await page.goto(web_bot.web_url + "/campaigns")
    await page.get_by_role("link", name="New campaign").click()
    await expect(page.locator("h1")).to_have_text("New campaign")
    survey = page.get_by_label("Survey")
    await expect(survey.locator("option:checked")).to_contain_text("(residents)")
    await survey.select_option("resident_satisfaction")
    units = page.get_by_label("Unit")
    await expect(units.locator("option")).to_have_count(3)  # North Township and its villages
    await units.select_option(label="Riverside County › North Township › Pine Village")
    await page.get_by_label("Closes").fill("yesterday")
    await page.get_by_label("Campaign code (in its link and QR code)").fill("pine-dec")
    await page.get_by_role("button", name="Create campaign").click()
    await expect(page.get_by_role("alert")).to_contain_text(
        "I cannot read the closing time “yesterday”")
    await page.get_by_label("Closes").fill("14d")
    await shot(page, "docs/dashboard-campaign-new.png")
    await page.get_by_role("button", name="Create campaign").click()
    await expect(page.get_by_role("status")).to_contain_text("Campaign pine-dec is created")
    await expect(page.locator("main")).to_contain_text("Pine Village")
    assert await _status(db, "pine-dec") == CampaignStatus.OPEN

    await page.get_by_role("link", name="Close campaign…").click()
    await expect(page.locator("h1")).to_have_text("Close campaign pine-dec?")
    await page.get_by_role("link", name="No, keep it open").click()
    await expect(page.locator("h1")).to_have_text("Campaign pine-dec")
    assert await _status(db, "pine-dec") == CampaignStatus.OPEN

    await page.get_by_role("link", name="Close campaign…").click()
    await page.get_by_role("button", name="Yes, close pine-dec now").click()
    await expect(page.get_by_role("status")).to_contain_text("Campaign pine-dec is closed")
    await expect(page.get_by_role("link", name="Close campaign…")).to_have_count(0)
    assert await _status(db, "pine-dec") == CampaignStatus.CLOSED


async def test_a_close_form_without_its_csrf_token_is_refused(
    app_chat: ChatPage, db: Database, web_bot: Bot,
) -> None:
    page = await _admin_of_north(app_chat, db, web_bot)
    await page.goto(web_bot.web_url + "/campaign/willow/close")
    await expect(page.locator("h1")).to_have_text("Close campaign willow?")
    await page.locator("form.confirm input[name=csrf]").evaluate("input => input.remove()")
    async with page.expect_response(lambda r: r.url.endswith("/close")) as answered:
        await page.get_by_role("button", name="Yes, close willow now").click()
    assert (await answered.value).status == 403
    await expect(page.locator("h1")).to_have_text("Form refused")
    assert await _status(db, "willow") == CampaignStatus.OPEN


async def test_the_poster_shows_the_qr_code(
    app_chat: ChatPage, db: Database, web_bot: Bot,
) -> None:
    page = await _admin_of_north(app_chat, db, web_bot)
    await page.goto(web_bot.web_url + "/campaign/willow")
    await page.get_by_role("link", name="Poster").first.click()
    image = page.get_by_role("img", name="QR code that opens the survey in Telegram")
    await expect(image).to_be_visible()
    # Visible (its box is laid out) can come before the PNG has arrived on a busy machine.
    await page.wait_for_function("img => img.complete && img.naturalWidth > 100",
                                 arg=await image.element_handle())
    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="QR code (PNG)").click()
    download = await downloading.value
    assert download.suggested_filename == "willow.png"


@pytest.mark.parametrize("locale", ["zh-CN"])
async def test_a_campaigns_page_in_chinese_at_a_phones_width(
    app_chat: ChatPage, db: Database, web_bot: Bot, shot: Shot,
) -> None:
    await campaign_with_progress(db, web_bot)
    page = await _admin_of_north(app_chat, db, web_bot, "中文 (zh)")
    await page.set_viewport_size(PHONE)
    await page.goto(web_bot.web_url + "/campaign/willow-q4")
    await expect(page.locator("h1")).to_have_text("调查活动 willow-q4")
    await expect(page.locator("main")).to_contain_text("95% 置信度下的误差范围")
    await _fits(page)
    await shot(page, "docs/dashboard-campaign-phone-zh.png")


async def test_the_campaigns_list_pages_and_narrows_at_a_phones_width(
    app_chat: ChatPage, db: Database, web_bot: Bot, shot: Shot,
) -> None:
    page = await _admin_of_north(app_chat, db, web_bot)
    async with db.transaction() as uow:
        now = web_bot.clock()
        for i in range(55):
            opens = now - timedelta(days=1, hours=i)
            await create_campaign(uow, survey=load_template("resident_satisfaction"),
                                  unit_code=("V1", "V2")[i % 2], code=f"north-{i:02d}",
                                  opens_at=opens, closes_at=now + timedelta(days=5),
                                  now=opens, actor="test")
    await page.set_viewport_size(PHONE)
    await page.goto(web_bot.web_url + "/campaigns")
    rows = page.locator("table.campaigns tbody tr")
    await expect(rows).to_have_count(50)
    await expect(rows.first).to_contain_text("willow")
    pager = page.get_by_role("navigation", name="Pages")
    await expect(pager).to_contain_text("Page 1 of 2 · 1–50 of 56")
    await _fits(page)
    await shot(page)
    await pager.get_by_role("link", name="Next →").click()
    await expect(rows).to_have_count(6)
    await expect(rows.last).to_contain_text("north-54")
    await pager.get_by_role("link", name="← Previous").click()
    await expect(rows).to_have_count(50)

    units = page.get_by_role("navigation", name="Narrow to a unit")
    await units.get_by_role("link", name="Pine Village").click()
    await expect(page.locator("main")).to_contain_text(
        "Within Riverside County › North Township › Pine Village")
    await expect(rows).to_have_count(27)
    await expect(page.locator("table.campaigns")).not_to_contain_text("Willow Village")
    await _fits(page)
    await page.get_by_role("link", name="↑ Up a level").click()
    await expect(rows).to_have_count(50)
    await expect(page.get_by_role("link", name="↑ Up a level")).to_have_count(0)
