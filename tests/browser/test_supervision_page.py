"""The auditors' pages in chromium: a township's auditor dismisses a flag and restores it
(each with a reason), finds another township's flag by URL not found, and has the dismiss
form refused without its CSRF token; an auditor approves a publication after the
confirmation step, and the auditor who computed it is refused."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from storage.models import AppraisalStatus, Role
from storage.uow import Database
from surveys.people.roles import grant_role
from tests.browser.conftest import VIEWPORT, ChatPage, Shot
from tests.browser.test_dashboard_page import PHONE, _dashboard_link, _fits
from tests.e2e.supervision import PERIOD, awaiting, flags

TOWN_AUDITOR, AUDITOR, COMPUTER, ADMIN = 9701, 9702, 9703, 9704


async def _grant(db: Database, user_id: int, role: Role, unit: str | None, name: str) -> int:
    async with db.transaction() as uow:
        person, _ = await grant_role(uow, telegram_user_id=user_id, role=role,
                                     unit_code=unit, name=name, actor="test")
        return person.id


async def _sign_in(chat: ChatPage, page: Page, user_id: int, name: str) -> None:
    """Sign ``page``'s browser in as the chat's new user ``name``, by a /dashboard link."""
    await chat.new_user(user_id, name)
    await page.goto(await _dashboard_link(chat))
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("h1")).to_have_text(f"Hello, {name}")


async def test_an_auditor_dismisses_a_flag_and_restores_it(
    app_chat: ChatPage, db: Database, shot: Shot,
) -> None:
    seeded = await flags(db)
    await _grant(db, TOWN_AUDITOR, Role.AUDITOR, "T1", "Town Auditor")
    page = await app_chat.page.context.new_page()
    await _sign_in(app_chat, page, TOWN_AUDITOR, "Town Auditor")

    await page.get_by_role("link", name="Anomaly flags").click()
    await expect(page.locator("h1")).to_have_text("Anomaly flags · 2026-Q4")
    await page.get_by_label("Period").fill(PERIOD)
    await page.get_by_role("button", name="Show").click()
    table = page.locator("table.sv-flags")
    await expect(table).to_contain_text("Willow Village")
    await expect(table).to_contain_text("via window")
    await expect(table).not_to_contain_text("Birch Village")
    await shot(page, "docs/dashboard-flags.png")
    await page.set_viewport_size(PHONE)
    await _fits(page)
    await page.set_viewport_size(VIEWPORT)

    await table.get_by_role("link", name="Review").click()
    await expect(page.locator("h1")).to_contain_text("Flag on response")
    # Without a reason the form says what is missing.
    await page.get_by_role("button", name="Dismiss the flag").click()
    await expect(page.get_by_role("alert")).to_have_text("Say why, for the audit log.")
    await page.get_by_label("Reason (kept in the audit log)").fill("a regular, known to staff")
    await page.get_by_role("button", name="Dismiss the flag").click()
    state = page.locator(".sv-state")
    await expect(state).to_contain_text("Dismissed by Town Auditor")
    await expect(state).to_contain_text("a regular, known to staff")
    await expect(state).to_contain_text("counts in scores from the next appraisal run")

    await page.get_by_label("Reason (kept in the audit log)").fill("seen again at the window")
    await page.get_by_role("button", name="Restore the flag").click()
    await expect(state).to_contain_text("Excludes its response from scores")
    await expect(page.locator("body")).not_to_contain_text(str(TOWN_AUDITOR))

    # The same form without its CSRF token is refused, and nothing changes.
    await page.get_by_label("Reason (kept in the audit log)").fill("no token")
    await page.locator("form.sv-form input[name=csrf]").evaluate("input => input.remove()")
    async with page.expect_response(lambda r: r.url.endswith("/dismiss")) as answered:
        await page.get_by_role("button", name="Dismiss the flag").click()
    assert (await answered.value).status == 403
    await expect(page.locator("h1")).to_have_text("Form refused")
    async with db.reading() as uow:
        from storage.models import AnomalyFlag

        flag = await uow.session.get(AnomalyFlag, seeded.north)
        assert flag is not None and flag.dismissed_at is None

    # The other township's flag by its address: not found, like no flag at all.
    base = page.url.split("/audit/")[0]
    answer = await page.goto(f"{base}/audit/flags/{seeded.south}")
    assert answer is not None and answer.status == 404
    await expect(page.locator("h1")).to_have_text("Not found")
    await expect(page.locator("body")).not_to_contain_text("Birch")


async def test_approval_of_a_publication_and_self_approval_refused(
    app_chat: ChatPage, db: Database, browser: Browser, shot: Shot,
) -> None:
    computer_id = await _grant(db, COMPUTER, Role.AUDITOR, None, "Zhao Calc")
    await _grant(db, AUDITOR, Role.AUDITOR, None, "Auditor Wang")
    await _grant(db, ADMIN, Role.ADMIN, None, "Admin Li")
    asked = await awaiting(db, ADMIN, f"person:{computer_id}")

    # The auditor who computed the version: shown it without a button, refused by URL.
    own = await app_chat.page.context.new_page()
    await _sign_in(app_chat, own, COMPUTER, "Zhao Calc")
    await own.get_by_role("link", name="Publications awaiting approval").click()
    item = own.locator(".sv-approval")
    await expect(item).to_contain_text("Appraisal 2026-Q4, version 1")
    await expect(item).to_contain_text("You asked for it or computed it")
    await expect(item.get_by_role("link")).to_have_count(0)
    base = own.url.split("/audit/")[0]
    await own.goto(f"{base}/audit/approvals/{asked.request.id}")
    await expect(own.locator("h1")).to_have_text("Not approved")
    await expect(own.locator("main")).to_contain_text("you cannot approve it")

    # Another auditor, in another browser: review, confirm, published.
    context = await browser.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="UTC")
    try:
        page = await context.new_page()
        chat_page = await context.new_page()
        await chat_page.goto(app_chat.page.url)
        other_chat = ChatPage(chat_page)
        await expect(chat_page.locator("#bot-name")).to_contain_text("@civicpulse_bot")
        await _sign_in(other_chat, page, AUDITOR, "Auditor Wang")
        await page.get_by_role("link", name="Publications awaiting approval").click()
        await page.get_by_role("link", name="Approve 2026-Q4 v1…").click()
        await expect(page.locator("main")).to_contain_text(
            "Approve and publish this version now?")
        await shot(page, "docs/dashboard-approval.png")
        await page.get_by_role("button", name="✅ Yes, publish 2026-Q4 v1").click()
        await expect(page.locator("h1")).to_have_text("Published")
        await expect(page.locator("main")).to_contain_text(
            "Appraisal 2026-Q4, version 1, is published")
        await page.get_by_role("link", name="CivicPulse").click()
        await page.get_by_role("link", name="Audit log").click()
        await expect(page.locator(".sv-intact")).to_contain_text("Chain intact")
        await expect(page.locator("table.sv-log")).to_contain_text("appraisal.approve")
    finally:
        await context.close()
    async with db.reading() as uow:
        [run] = await uow.appraisal.runs(PERIOD)
    assert run.status == AppraisalStatus.PUBLISHED
