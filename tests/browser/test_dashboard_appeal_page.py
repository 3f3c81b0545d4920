"""A cadre appeals from their result page in chromium: opened from /myscore as a Mini App, the
trend and the self-view drawn, the reason typed in the page's form (too short first: said on
the page, the text kept), then filed and shown open. Also the README's pictures of it at a
phone's width, in English and Chinese."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select

from storage.models import AppraisalResult, AppraisalStatus
from storage.uow import Database
from tests.browser.conftest import ChatPage, Shot
from tests.browser.test_dashboard_page import PHONE, _fits, _open_report
from tests.e2e.fieldwork import make_cadre
from tests.e2e.test_results_chat import appeals, cadre_result

CADRE = 9801
REASON = "The road inspection was done before the repair was finished."
REASON_ZH = "道路检查是在维修完成之前进行的，结果没有反映实际情况。"
EXPLANATION = ("Score 72.5 of 100: good, rank 3 of 12 cadres. Resident satisfaction: 72.5 "
               "from 40 answers; verified key tasks: 80.0 from 3 inspections; no "
               "self-assessment score this period.")


async def _cadre_with_a_trend(db: Database) -> None:
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    await cadre_result(db, "2026-Q1", AppraisalStatus.PUBLISHED, person_id, 58.0, "fair")
    await cadre_result(db, "2026-Q2", AppraisalStatus.PUBLISHED, person_id, 64.5, "fair")
    await cadre_result(db, "2026-Q3", AppraisalStatus.PUBLISHED, person_id, 72.5, "good",
                       rank=3, ranked=12, exaggeration=True)
    async with db.transaction() as uow:  # a short explanation: the pictures show more around it
        for result in (await uow.session.scalars(select(AppraisalResult))).all():
            result.detail = {**result.detail, "explanation": EXPLANATION}


async def _to(page: Page, selector: str) -> None:
    """Scroll so that ``selector`` is at the top of the screen (or the page's end shows)."""
    await page.locator(selector).evaluate("el => el.scrollIntoView({block: 'start'})")


async def test_a_cadre_appeals_from_the_result_page(
    app_chat: ChatPage, db: Database, shot: Shot,
) -> None:
    await _cadre_with_a_trend(db)
    await app_chat.new_user(CADRE, "Wang")
    await app_chat.send("/myscore")
    await app_chat.shows("Your appraisal · 2026-Q3")
    page = await _open_report(app_chat)
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Appraisal result · 2026-Q3")
    await page.set_viewport_size(PHONE)
    await _fits(page)

    # The trend drawn, with its figures; the self-view against residents' as two bars.
    chart = page.locator("svg.trend-chart")
    await expect(chart).to_be_visible()
    await expect(chart.locator("circle.dot")).to_have_count(3)
    await expect(page.locator("table.trend-table")).to_contain_text("64.5")
    await expect(page.get_by_role("img", name="Residents and inspectors: 70.5")).to_be_visible()
    await expect(page.get_by_role("img", name="Self-assessment: 92.5")).to_be_visible()
    await _to(page, ".views")
    await shot(page, "docs/dashboard-trend-phone.png")

    reason = page.get_by_label("What did the appraisal get wrong?")
    await reason.fill(REASON)
    await _to(page, "#appeal")
    await shot(page, "docs/dashboard-appeal-phone.png")

    # Too short: said on the page, and what was typed is still there.
    await reason.fill("Too early")
    await page.get_by_role("button", name="File the appeal").click()
    await expect(page.get_by_role("alert")).to_contain_text("That reason is too short")
    await expect(reason).to_have_value("Too early")
    assert await appeals(db) == []

    await reason.fill(REASON)
    await page.get_by_role("button", name="File the appeal").click()
    appeal = page.locator("#appeal")
    await expect(appeal).to_contain_text("You appealed this result on")
    await expect(appeal).to_contain_text("waiting for an answer")
    await expect(page.get_by_role("button", name="File the appeal")).to_have_count(0)
    await _fits(page)
    [filed] = await appeals(db)
    assert filed.reason == REASON


@pytest.mark.parametrize("locale", ["zh-CN"])
async def test_a_cadre_appeals_in_chinese(app_chat: ChatPage, db: Database, shot: Shot) -> None:
    await _cadre_with_a_trend(db)
    await app_chat.new_user(CADRE, "王", language="中文 (zh)")
    await app_chat.send("/myscore")
    await app_chat.shows("您的考核结果")
    page = await _open_report(app_chat, "📊 打开完整报告")
    await expect(page.get_by_role("heading", level=1)).to_have_text("考核结果 · 2026-Q3")
    await page.set_viewport_size(PHONE)
    await expect(page.get_by_role("img", name="自评: 92.5")).to_be_visible()
    await page.get_by_label("考核结果哪里有误？").fill(REASON_ZH)
    await page.get_by_role("button", name="提交申诉").click()
    await expect(page.locator("#appeal")).to_contain_text("正在等待答复")
    await _fits(page)
    await _to(page, "#appeal")
    await shot(page, "docs/dashboard-appeal-phone-zh.png")
    [filed] = await appeals(db)
    assert filed.reason == REASON_ZH
