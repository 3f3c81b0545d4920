"""Webhook mode: the sandbox posts updates to the bot's server as Telegram does; the secret
header, duplicates, switching back to polling, and what /metrics, /healthz and /readyz say."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from telegram import Update

from bot.app import web_server_of
from bot.turns import ChatTurns
from bot.webhook import SECRET_HEADER, webhook_secret
from handlers import render
from sandbox import BotApiSandbox, SandboxClient
from storage.db import DatabaseUnavailable
from storage.models import Response
from storage.uow import Database
from tests.conftest import SECRET, seed_campaign
from tests.e2e.conftest import WEBHOOK_PATH, Bot, Clock
from tests.e2e.test_resident_journey import answer_all, begin, tap_and_wait

pytestmark = pytest.mark.e2e


@pytest.fixture
async def hook_bot(sandbox: BotApiSandbox, db: Database, clock: Clock) -> AsyncIterator[Bot]:
    await seed_campaign(db)
    harness = Bot(sandbox, db, clock, webhook=True)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


def base_of(bot: Bot) -> str:
    assert bot.application is not None
    server = web_server_of(bot.application)
    assert server is not None and server.port is not None
    return f"http://127.0.0.1:{server.port}"


async def scrape(bot: Bot) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """/metrics as {(sample name, sorted labels): value}."""
    async with aiohttp.ClientSession() as http, http.get(f"{base_of(bot)}/metrics") as response:
        assert response.status == 200
        assert response.content_type == "text/plain"
        text = await response.text()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def message_update(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    person = {"id": user_id, "is_bot": False, "first_name": "Zhao", "language_code": "en"}
    return {"update_id": update_id,
            "message": {"message_id": update_id, "date": int(time.time()), "text": text,
                        "chat": {"id": user_id, "type": "private", "first_name": "Zhao"},
                        "from": person,
                        "entities": [{"type": "bot_command", "offset": 0, "length": 6}]
                        if text.startswith("/start") else []}}


async def post(bot: Bot, body: Any, secret: str | None) -> int:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    async with aiohttp.ClientSession() as http, http.post(
            f"{base_of(bot)}{WEBHOOK_PATH}", json=body, headers=headers) as response:
        return response.status


async def test_a_resident_answers_through_the_webhook(
    hook_bot: Bot, client: SandboxClient, db: Database
) -> None:
    user = await client.user(4001, "Wang", language_code="en")
    summary = await answer_all(user)
    assert "Your answers" in summary.text
    stats = await client.stats()
    # The updates came by webhook (/start, four taps and the comment; the last one's post
    # may still be answering as the summary arrives).
    assert stats["webhook_deliveries"] >= 5
    assert stats.get("webhook_failures", 0) == 0

    assert hook_bot.application is not None
    bot = hook_bot.application.bot
    hook = await bot.get_webhook_info()
    assert hook.url.endswith(WEBHOOK_PATH)
    assert hook.max_connections == 40
    async with asyncio.timeout(5):  # the last post is confirmed once its reply has gone
        while (await bot.get_webhook_info()).pending_update_count:  # noqa: ASYNC110
            await asyncio.sleep(0.05)

    metrics = await scrape(hook_bot)
    handled = metrics[("civicpulse_updates_total",
                       (("kind", "callback_query"), ("outcome", "handled")))]
    assert handled == 4  # the four taps
    assert metrics[("civicpulse_handler_seconds_count", (("kind", "message"),))] >= 2
    assert metrics[("civicpulse_db_transaction_seconds_count", ())] >= 7
    assert metrics[("civicpulse_telegram_calls_total",
                    (("method", "sendMessage"), ("status", "200")))] >= 2
    assert metrics[("civicpulse_webhook_refused_total", (("reason", "wrong"),))] == 0
    # Each tap was answered (the app's spinner stops) by the answer to its post, not by a
    # request of its own.
    assert len(await user.callback_answers()) == 4
    assert metrics[("civicpulse_telegram_calls_total",
                    (("method", "answerCallbackQuery"), ("status", "in_answer")))] == 4
    assert ("civicpulse_telegram_calls_total",
            (("method", "answerCallbackQuery"), ("status", "200"))) not in metrics
    stats = await client.stats()
    assert stats["webhook_answer_calls"] == 4
    assert stats["webhook_answer_refused"] == 0


async def test_a_stale_tap_is_told_through_the_post(
    hook_bot: Bot, client: SandboxClient, db: Database
) -> None:
    """A stale button's notice rides on the post's answer too, and the person sees it."""
    user = await client.user(4004, "Qian", language_code="en")
    question = await begin(user)
    await tap_and_wait(user, "4", "2/5")
    # The first question's button, tapped as an app that had not yet shown the edit would.
    await user.tap_data(question.message_id, question.buttons[0][0][1] or "")
    await user.wait_for_answer()
    answers = await user.callback_answers()
    assert answers[0].text == ""
    assert answers[1].text == "This button is no longer active; please use the latest message."
    assert (await client.stats())["webhook_answer_calls"] == 2


async def test_a_tap_whose_post_fails_is_answered_by_a_request(
    hook_bot: Bot, client: SandboxClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer to a failed post (500) carries nothing Telegram acts on, so a tap answered
    while it was handled is answered by a request of its own: no spinner is left turning."""
    original = ChatTurns.process
    failed: list[int] = []

    async def failing_once(self: ChatTurns, update: Update, in_answer: Any = None) -> None:
        await original(self, update, in_answer)
        if update.callback_query is not None and not failed:
            failed.append(update.update_id)
            raise RuntimeError("the framework failed after the handler")

    monkeypatch.setattr(ChatTurns, "process", failing_once)
    user = await client.user(4005, "Li", language_code="en")
    await begin(user)
    await tap_and_wait(user, "4", "2/5")
    await user.wait_for_answer()
    assert failed
    stats = await client.stats()
    assert stats["webhook_failures"] >= 1  # the 500; the post came again, a duplicate
    assert stats["webhook_answer_calls"] == 0
    metrics = await scrape(hook_bot)
    assert metrics[("civicpulse_telegram_calls_total",
                    (("method", "answerCallbackQuery"), ("status", "200")))] == 1
    assert len(await user.callback_answers()) == 1


async def test_an_error_after_a_silent_answer_is_the_answer_shown(
    hook_bot: Bot, client: SandboxClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A later answer replaces the one the post would carry: the person sees the error's
    alert, not a tap that seemed to work."""
    user = await client.user(4006, "Zhou", language_code="en")
    await begin(user)

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("rendering failed")

    monkeypatch.setattr(render, "screen_message", broken)
    await user.tap("4")
    await user.wait_for_answer()
    answers = await user.callback_answers()
    assert (answers[0].text, answers[0].show_alert) == (
        "Sorry, something went wrong on our side. Please try again.", True)
    stats = await client.stats()
    assert (stats["webhook_answer_calls"], stats["webhook_answer_refused"]) == (1, 0)
    metrics = await scrape(hook_bot)
    assert ("civicpulse_telegram_calls_total",
            (("method", "answerCallbackQuery"), ("status", "200"))) not in metrics


async def test_only_posts_with_the_secret_header_are_taken(
    hook_bot: Bot, client: SandboxClient, db: Database
) -> None:
    user = await client.user(4002, "Zhao", language_code="en")
    start = message_update(700_001, 4002, "/start willow")
    assert await post(hook_bot, start, secret=None) == 401
    assert await post(hook_bot, start, secret="not-the-secret") == 401
    metrics = await scrape(hook_bot)
    assert metrics[("civicpulse_webhook_refused_total", (("reason", "missing"),))] == 1
    assert metrics[("civicpulse_webhook_refused_total", (("reason", "wrong"),))] == 1
    assert await user.bot_messages() == [], "a refused post changes nothing"

    right = webhook_secret(SECRET)
    assert await post(hook_bot, {"not": "an update"}, secret=right) == 400
    assert await post(hook_bot, start, secret=right) == 200
    intro = await user.wait_for_message("anonymous")
    assert "Willow Village" in intro.text


async def test_an_update_posted_twice_at_once_is_processed_once(
    hook_bot: Bot, client: SandboxClient, db: Database
) -> None:
    await client.user(4003, "Sun", language_code="en")
    start = message_update(700_101, 4003, "/start willow")
    right = webhook_secret(SECRET)
    # As when Telegram retries a post to a second worker while the first still handles it.
    statuses = await asyncio.gather(post(hook_bot, start, right), post(hook_bot, start, right))
    assert statuses == [200, 200]
    async with db.transaction() as uow:
        begun = await uow.session.scalar(select(func.count()).select_from(Response))
    assert begun == 1
    metrics = await scrape(hook_bot)
    assert metrics[("civicpulse_duplicate_updates_total", ())] == 1


async def test_health_and_readiness(hook_bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base_of(hook_bot)}/healthz") as response:
            assert response.status == 200
        async with http.get(f"{base_of(hook_bot)}/readyz") as response:
            assert response.status == 200 and await response.text() == "ready\n"

        async def down() -> None:
            raise DatabaseUnavailable("connection refused")

        monkeypatch.setattr(hook_bot.db, "ping", down)
        async with http.get(f"{base_of(hook_bot)}/readyz") as response:
            assert response.status == 503
            assert "database is unavailable" in await response.text()


async def test_going_back_to_polling_deletes_the_webhook_and_keeps_updates(
    sandbox: BotApiSandbox, db: Database, clock: Clock, client: SandboxClient
) -> None:
    await seed_campaign(db)
    hooked = Bot(sandbox, db, clock, webhook=True)
    await hooked.start()
    await hooked.stop()
    # Telegram keeps what comes while no worker answers; it must reach the poller.
    user = await client.user(4004, "Qian", language_code="en")
    await user.send("/start willow")
    polling = Bot(sandbox, db, clock)
    await polling.start()
    try:
        await user.wait_for_message("anonymous")
        assert polling.application is not None
        assert (await polling.application.bot.get_webhook_info()).url == ""
    finally:
        await polling.stop()
