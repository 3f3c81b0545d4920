"""A unit's public page in chromium, with no sign-in: the township's published results with a
village under the privacy minimum ("fewer than 5 responses", never its count), the trend
drawn as inline SVG under the strict Content Security Policy, "You said, we did"; in English
and in Chinese (the browser's language, then the switch), at a desktop's and a phone's width.
Also the README's pictures of it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect

from storage.uow import Database
from tests.browser.conftest import TIMEOUT_MS, VIEWPORT, Bot, Shot
from tests.e2e.test_public_page import seed_quarters

PHONE = {"width": 390, "height": 844}


@pytest.fixture
async def visitor(browser: Browser, web_bot: Bot, db: Database,
                  locale: str) -> AsyncIterator[Page]:
    """A stranger's browser (no cookie, no sign-in) on the township's public page."""
    await seed_quarters(db)
    context = await browser.new_context(viewport=VIEWPORT, device_scale_factor=1,
                                        locale=locale, timezone_id="UTC")
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    refused: list[str] = []
    # Anything the Content Security Policy blocks (an inline style, a script) is a failure.
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text
            else None)
    try:
        await page.goto(web_bot.web_url + "/p/t1")
        yield page
    finally:
        await context.close()
    assert refused == [], refused


async def _fits(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= await page.evaluate("window.innerWidth"), width


async def test_the_public_page_with_a_village_under_the_minimum(
    visitor: Page, shot: Shot,
) -> None:
    page = visitor
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "North Township: public results")
    below = page.locator("table.public-below")
    pine = below.locator("tr", has_text="Pine Village")
    await expect(pine).to_contain_text("not shown")
    await expect(pine).to_contain_text("fewer than 5 responses")
    await expect(pine).not_to_contain_text("4")
    await expect(below.locator("tr", has_text="Willow Village")).to_contain_text("81.5")
    chart = page.locator("svg.trend-chart")
    await expect(chart).to_be_visible()
    await expect(chart.locator("circle.dot")).to_have_count(4)
    await expect(page.locator("section.said")).to_contain_text("We did: Replaced the lamp")
    await expect(page.locator("body")).not_to_contain_text("Cadre")
    # The line is drawn with the stylesheet's stroke (a blocked style would leave it black).
    stroke = await chart.locator("polyline").first.evaluate(
        "el => getComputedStyle(el).stroke")
    assert stroke == "rgb(42, 122, 176)", stroke
    await shot(page, "docs/public-unit.png")
    await page.set_viewport_size(PHONE)
    await _fits(page)
    await page.locator("section.said").scroll_into_view_if_needed()
    await shot(page)

    # A village's page, from its row: under the minimum, nothing computed from it is shown.
    await page.set_viewport_size(VIEWPORT)
    await pine.get_by_role("link", name="Pine Village").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Pine Village: public results")
    await expect(page.locator("main")).to_contain_text("fewer than 5 responses")
    await expect(page.locator("svg.trend-chart")).to_have_count(0)


@pytest.mark.parametrize("locale", ["zh-CN"])
async def test_the_public_page_in_chinese(visitor: Page, shot: Shot) -> None:
    page = visitor
    # The browser's language chooses Chinese; the switch goes to English and back.
    await expect(page.get_by_role("heading", level=1)).to_have_text("北镇：结果公示")
    await expect(page.locator("table.public-below tr", has_text="松村")).to_contain_text(
        "少于 5 份答卷")
    await expect(page.locator("section.said")).to_contain_text("您反映·我们办")
    await page.set_viewport_size(PHONE)
    await _fits(page)
    await shot(page, "docs/public-unit-phone-zh.png")
    await page.get_by_role("link", name="English").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "North Township: public results")
    await page.get_by_role("link", name="中文").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("北镇：结果公示")
    await page.set_viewport_size(VIEWPORT)
    await shot(page)
