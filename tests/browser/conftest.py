"""Browser harness: the sandbox's chat page in Debian's chromium, driven by Playwright.

The sandbox and the bot are the end-to-end tests' own fixtures (tests/e2e/conftest.py), with
the demo data `make run` seeds on top, so `/start demo` works as the README says. Chromium is
the one apt installs (`.ci/run` does it when missing); Playwright never downloads a browser
here. Tests act as a person would (fill the form, type, click what the page shows) and wait
for what the page shows, never for a fixed time.

Screenshots: every ``await shot(page)`` lands in the test's temporary directory; ``await
shot(page, "docs/x.png")`` also writes that file of the repository when
``CIVICPULSE_SCREENSHOTS=1`` (`make screenshots`), so ordinary runs leave tracked files alone.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Protocol

import pytest
from PIL import Image
from playwright.async_api import Browser, Locator, Page, ViewportSize, async_playwright, expect

from bot.demo import seed_demo
from sandbox import BotApiSandbox
from storage.uow import Database

# The end-to-end fixtures, reused as they are: the sandbox, the running bot and their clock.
from tests.e2e.conftest import Bot, Clock, bot, clock, limits, sandbox, web_bot  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
# The README's pictures: wide enough for the sidebar and a chat column, tall enough for a whole
# poll; one device pixel per CSS pixel keeps the PNGs small.
VIEWPORT: ViewportSize = {"width": 900, "height": 1000}
WRITE_SCREENSHOTS = os.environ.get("CIVICPULSE_SCREENSHOTS") == "1"
# Generous, for a loaded machine: waits end as soon as the page shows what is expected.
TIMEOUT_MS = 15_000


class Shot(Protocol):
    """The ``shot`` fixture: ``await shot(page)`` or ``await shot(page, "docs/x.png")``."""

    async def __call__(self, page: Page, readme_path: str | None = None) -> bytes: ...


class ChatPage:
    """The chat page as a person uses it: the user list, the new-user form, the composer,
    the buttons."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.messages = page.locator("#messages")

    async def new_user(self, user_id: int, name: str, language: str = "English (en)") -> None:
        """Create a simulated user with the sidebar's form; their chat opens."""
        form = self.page.locator("#new-user")
        # The page gives the field a random id as it starts (and after each creation): an id
        # typed before that would be overwritten, and the user made under another id.
        await expect(form.get_by_label("Telegram id")).not_to_have_value("")
        await form.get_by_label("Telegram id").fill(str(user_id))
        await expect(form.get_by_label("Telegram id")).to_have_value(str(user_id))
        await form.get_by_label("First name").fill(name)
        await form.get_by_label("Language").select_option(label=language)
        await form.get_by_role("button", name="Create and open chat").click()
        await expect(self.page.locator("#chat-title")).to_have_text(name)
        await expect(self.messages).to_contain_text("No messages yet")

    async def switch_to(self, name: str) -> None:
        """Open another simulated user's chat by clicking them in the sidebar's list; wait
        until the page has loaded that chat (its messages, or the empty chat's hint)."""
        users = self.page.get_by_role("list", name="Simulated users")
        await users.get_by_role("listitem").filter(has_text=name).click()
        await expect(self.page.locator("#chat-title")).to_have_text(name)
        await expect(self.messages.locator(".row, .system").first).to_be_visible()

    async def send(self, text: str) -> None:
        """Type into the composer and press Send; wait until the chat shows the message."""
        await self.page.get_by_placeholder("Write a message or /command").fill(text)
        await self.page.get_by_role("button", name="Send", exact=True).click()
        await expect(self.messages.locator(".row.user").last).to_contain_text(text)

    async def tap(self, button: str) -> None:
        """Click a button of the newest keyboard in the chat (older ones are retired)."""
        keyboard = self.messages.locator(".keyboard").last
        await keyboard.get_by_role("button", name=button, exact=True).click()

    async def shows(self, text: str, *more: str) -> Locator:
        """Wait until a message from the bot contains ``text`` (and each of ``more``); return
        the newest such message, pinned by its place in the chat (a locator by text would lose
        the message once an edit changes its text, and one of "the newest" would move on to the
        bot's next message)."""
        from_bot = self.messages.locator(".row.bot")
        found = from_bot.filter(has_text=text)
        for also in more:
            found = found.filter(has_text=also)
        found = found.last
        await expect(found).to_be_visible()
        place = await found.evaluate(
            "row => [...row.parentNode.querySelectorAll(':scope > .row.bot')].indexOf(row)")
        return from_bot.nth(place)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests drive Debian's chromium. Install it and "
            "its fonts with `apt-get install chromium fonts-noto-cjk fonts-noto-color-emoji` "
            "(.ci/run does this); never `playwright install`.", pytrace=False)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def locale() -> str:
    """The browser's language (times on the page, the font chosen for Chinese); a test sets
    another with ``@pytest.mark.parametrize("locale", ["zh-CN"])``."""
    return "en-US"


@pytest.fixture
async def chat(
    # The e2e fixtures by name (F811: they shadow the imports that make pytest find them).
    browser: Browser, bot: Bot, sandbox: BotApiSandbox, db: Database, clock: Clock,  # noqa: F811
    locale: str,
) -> AsyncIterator[ChatPage]:
    """The chat page open in a fresh browser context, with the demo campaign open."""
    async with _chat_page(browser, sandbox, db, clock, locale) as page:
        yield page


@pytest.fixture
async def app_chat(
    browser: Browser, web_bot: Bot, sandbox: BotApiSandbox, db: Database,  # noqa: F811
    clock: Clock, locale: str,  # noqa: F811
) -> AsyncIterator[ChatPage]:
    """The chat page as ``chat``, with the bot's dashboard running (``web_app`` buttons)."""
    async with _chat_page(browser, sandbox, db, clock, locale) as page:
        yield page


@asynccontextmanager
async def _chat_page(browser: Browser, sandbox: BotApiSandbox, db: Database,  # noqa: F811
                     clock: Clock, locale: str) -> AsyncIterator[ChatPage]:  # noqa: F811
    await seed_demo(db, clock())
    context = await browser.new_context(
        viewport=VIEWPORT, device_scale_factor=1, locale=locale, timezone_id="UTC")
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    errors: list[Exception] = []

    def failed(error: Exception) -> None:
        errors.append(error)

    page.on("pageerror", failed)
    try:
        await page.goto(sandbox.base_url + "/")
        await expect(page.locator("#bot-name")).to_contain_text("@civicpulse_bot")
        yield ChatPage(page)
    finally:
        await context.close()
    assert errors == [], f"the page's script failed: {errors}"


@pytest.fixture(autouse=True)
def _expect_timeout() -> None:
    expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture
def shot(request: pytest.FixtureRequest, tmp_path: Path) -> Shot:
    """``await shot(page)``, or ``await shot(page, "docs/x.png")`` for a README picture.

    Saves the viewport as a PNG in the test's temporary directory (and, for a README picture
    under ``CIVICPULSE_SCREENSHOTS=1``, at that path in the repository), checks that it shows
    something, and returns its bytes.
    """

    async def take(page: Page, readme_path: str | None = None) -> bytes:
        # Two frames painted first: right after a viewport resize or a scroll, chromium has
        # once handed over a blank frame (the fresh-clone CI run of 2026-12-07).
        await page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        # Animations at their end: an edited message's flash would otherwise be caught midway.
        png = await page.screenshot(path=tmp_path / f"{request.node.name}.png",
                                    animations="disabled")
        assert_not_blank(png)
        if readme_path is not None and WRITE_SCREENSHOTS:
            (ROOT / readme_path).write_bytes(png)
        return png

    return take


def assert_not_blank(png: bytes, what: str = "the screenshot") -> None:
    """Some of the picture is text-dark: a page that rendered nothing (or only boxes of one
    colour) fails."""
    with Image.open(io.BytesIO(png)) as image:
        grey = image.convert("L")
        dark = sum(grey.histogram()[:110])
        assert dark > grey.width * grey.height // 500, f"{what} shows no text: {dark} dark pixels"


async def fonts_rendering(element: Locator) -> dict[str, int]:
    """The platform fonts chromium drew the element's own text with: family -> glyph count."""
    page = element.page
    await element.evaluate("el => { el.dataset.fontProbe = '1'; }")
    cdp = await page.context.new_cdp_session(page)
    try:
        await cdp.send("DOM.enable")
        await cdp.send("CSS.enable")
        document = await cdp.send("DOM.getDocument")
        node = await cdp.send("DOM.querySelector", {
            "nodeId": document["root"]["nodeId"], "selector": "[data-font-probe]"})
        used = await cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})
    finally:
        await cdp.detach()
        await element.evaluate("el => { delete el.dataset.fontProbe; }")
    return {font["familyName"]: font["glyphCount"] for font in used["fonts"]}
