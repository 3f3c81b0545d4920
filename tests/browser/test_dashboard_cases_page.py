"""The cases pages in chromium at a phone's width, opened as a Mini App from ``/cases`` in the
sandbox chat: the cases of the admin's township with its villages to open one at a time, one
case with its timeline (a held entry left out), another township's case by URL not found.
Also the README's pictures of both pages at a phone's width."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from storage.models import Role
from storage.uow import Database
from surveys.people.roles import grant_role
from tests.browser.conftest import Bot, ChatPage, Shot
from tests.browser.test_dashboard_page import PHONE, _fits, _open_report
from tests.e2e.test_dashboard_cases import HELD_REPLY, HELD_TEXT, some_cases

ADMIN = 9731


async def test_the_cases_pages_at_a_phones_width(
    app_chat: ChatPage, db: Database, web_bot: Bot, shot: Shot,
) -> None:
    cases = await some_cases(db)
    await app_chat.new_user(ADMIN, "Liu")
    async with db.transaction() as uow:
        await grant_role(uow, telegram_user_id=ADMIN, role=Role.ADMIN, unit_code="T1",
                         name="Admin Liu", actor="test")
    await app_chat.send("/cases")
    await app_chat.shows("Active cases")

    page = await _open_report(app_chat)
    await page.set_viewport_size(PHONE)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Cases")
    main = page.locator("main")
    await expect(main).to_contain_text("of them overdue")
    # The township opened, its villages with cases below it, and all its cases.
    await expect(page.get_by_role("heading", name="North Township")).to_be_visible()
    below = page.locator("table.cs-below")
    await expect(below.get_by_role("link", name="Pine Village")).to_be_visible()
    await expect(below.get_by_role("link", name="Willow Village")).to_be_visible()
    for number in (cases.fresh, cases.late, cases.resolved, cases.closed):
        await expect(page.get_by_role("link", name=number, exact=True)).to_be_visible()
    for hidden in (cases.south, cases.held, HELD_TEXT, "Oak Village"):
        await expect(main).not_to_contain_text(hidden)
    await expect(page.locator("body")).not_to_contain_text(str(ADMIN))
    await _fits(page)
    await shot(page, "docs/dashboard-cases-phone.png")
    # A village opened: its cases only, and the way back up.
    await below.get_by_role("link", name="Pine Village").click()
    await expect(page.get_by_role("heading", name="Pine Village")).to_be_visible()
    await expect(page.get_by_role("link", name=cases.resolved, exact=True)).to_be_visible()
    await expect(main).not_to_contain_text(cases.fresh)
    await page.get_by_role("link", name="↑ One level up").click()
    await expect(page.get_by_role("heading", name="North Township")).to_be_visible()

    await page.get_by_role("link", name=cases.fresh, exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Case {cases.fresh}")
    await expect(main).to_contain_text("The street lamp on Mill Road is dark")
    await expect(page.locator("ol.cs-timeline li").first).to_contain_text("Resident")
    await expect(main).not_to_contain_text(HELD_REPLY)
    await _fits(page)
    await shot(page, "docs/dashboard-case-phone.png")

    answer = await page.goto(web_bot.web_url + f"/cases/{cases.south}")
    assert answer is not None and answer.status == 404
    await expect(page.locator("h1")).to_have_text("Not found")
    await expect(main).not_to_contain_text("Oak bridge")


@pytest.mark.parametrize("locale", ["zh-CN"])
async def test_the_cases_page_in_chinese_at_a_phones_width(
    app_chat: ChatPage, db: Database, shot: Shot,
) -> None:
    cases = await some_cases(db)
    await app_chat.new_user(ADMIN, "刘", language="中文 (zh)")
    async with db.transaction() as uow:
        await grant_role(uow, telegram_user_id=ADMIN, role=Role.ADMIN, unit_code="T1",
                         name="刘管理员", actor="test")
    await app_chat.send("/cases")
    await app_chat.shows("办理中的问题")
    page = await _open_report(app_chat, "📊 打开完整报告")
    await page.set_viewport_size(PHONE)
    await expect(page.get_by_role("heading", level=1)).to_have_text("问题办理")
    await expect(page.locator("main")).to_contain_text("其中已超期")
    await expect(page.get_by_role("link", name=cases.late, exact=True)).to_be_visible()
    await _fits(page)
    await shot(page, "docs/dashboard-cases-phone-zh.png")
