"""Updates: getUpdates semantics, callback queries from taps, redelivery and webhooks."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Conflict

from sandbox import BotApiSandbox, SandboxClient, SandboxError


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


async def test_user_message_update(bot: Bot, client: SandboxClient) -> None:
    alice = await client.user(1001, "Alice", language_code="zh")
    sent = await alice.send("/start campaign_42")
    [update] = await bot.get_updates()
    assert update.update_id == sent.update_id
    message = update.message
    assert message is not None
    assert message.text == "/start campaign_42"
    assert message.message_id == sent.message_id
    assert message.chat.id == 1001 and message.chat.type == "private"
    assert message.from_user is not None
    assert (message.from_user.id, message.from_user.first_name) == (1001, "Alice")
    assert message.from_user.language_code == "zh"
    assert message.date.timestamp() == pytest.approx(time.time(), abs=5)
    # PTB's CommandHandler relies on this entity.
    assert [(e.type, e.offset, e.length) for e in message.entities] == [("bot_command", 0, 6)]


async def test_long_user_text_is_delivered_whole(bot: Bot, client: SandboxClient) -> None:
    alice = await client.user(1001)
    await alice.send("字" * 5000)
    [update] = await bot.get_updates()
    assert update.message is not None and update.message.text == "字" * 5000


async def test_offset_limit_and_confirmation(bot: Bot, client: SandboxClient) -> None:
    alice = await client.user(1001)
    ids = [(await alice.send(f"m{i}")).update_id for i in range(5)]
    assert ids == sorted(ids) and len(set(ids)) == 5
    first_two = await bot.get_updates(limit=2)
    assert [u.update_id for u in first_two] == ids[:2]
    # Without a new offset nothing is confirmed: the same updates come again.
    assert [u.update_id for u in await bot.get_updates(limit=2)] == ids[:2]
    rest = await bot.get_updates(offset=ids[2])
    assert [u.update_id for u in rest] == ids[2:]
    assert await bot.get_updates(offset=ids[-1] + 1) == ()
    # Confirmed updates are gone for good.
    assert await bot.get_updates(offset=ids[0]) == ()


async def test_long_poll_returns_when_an_update_arrives(bot: Bot, client: SandboxClient) -> None:
    alice = await client.user(1001)
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=20))
    await asyncio.sleep(0.1)
    assert not poll.done()
    await alice.send("hello")
    updates = await asyncio.wait_for(poll, 3)
    assert time.monotonic() - started < 3
    assert [u.message.text for u in updates if u.message] == ["hello"]


async def test_long_poll_times_out_empty(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 <= time.monotonic() - started < 3


async def test_newer_get_updates_ends_older_with_conflict(sandbox: BotApiSandbox, bot: Bot) -> None:
    older = asyncio.create_task(bot.get_updates(timeout=20))
    await asyncio.sleep(0.1)
    # A second instance of the same bot (PTB allows one getUpdates at a time per Bot).
    async with Bot(sandbox.token, base_url=sandbox.api_url) as second:
        assert await second.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await asyncio.wait_for(older, 3)


async def test_allowed_updates_is_remembered(bot: Bot, client: SandboxClient) -> None:
    alice = await client.user(1001)
    await bot.send_message(1001, "Q", reply_markup=keyboard([("Yes", "y")]))
    await alice.send("text")
    await alice.tap("Yes")
    updates = await bot.get_updates(allowed_updates=["callback_query"])
    assert [u.callback_query is not None for u in updates] == [True]
    # Later calls without allowed_updates keep the filter, as with Telegram.
    assert len(await bot.get_updates()) == 1
    assert len(await bot.get_updates(allowed_updates=[])) == 2


async def test_tap_produces_callback_query(bot: Bot, client: SandboxClient) -> None:
    alice = await client.user(1001, "Alice")
    q1 = await bot.send_message(
        1001, "Q1", reply_markup=keyboard([("Yes", "q1:y"), ("No", "q1:n")])
    )
    q2 = await bot.send_message(1001, "Q2", reply_markup=keyboard([("Yes", "q2:y")]))
    await bot.edit_message_text("Q2 (edited)", 1001, q2.message_id, reply_markup=q2.reply_markup)

    tap = await alice.tap("Yes")  # the latest message with that button: Q2
    [update] = await bot.get_updates()
    query = update.callback_query
    assert query is not None and update.update_id == tap.update_id
    assert query.id == tap.callback_query_id
    assert query.data == "q2:y" and query.from_user.id == 1001
    assert isinstance(query.message, Message) and query.message.message_id == q2.message_id
    # The message as it is now, edits included.
    assert query.message.text == "Q2 (edited)"
    assert query.message.reply_markup == q2.reply_markup
    assert query.chat_instance

    # Stale taps on older messages that still show buttons are allowed.
    stale = await alice.tap("No", message_id=q1.message_id)
    assert stale.data == "q1:n"
    [update] = await bot.get_updates(offset=update.update_id + 1)
    assert update.callback_query is not None
    assert isinstance(update.callback_query.message, Message)
    assert update.callback_query.message.message_id == q1.message_id
    assert update.callback_query.id != query.id


async def test_taps_must_name_an_existing_button(bot: Bot, client: SandboxClient) -> None:
    alice = await client.user(1001)
    sent = await bot.send_message(1001, "Q", reply_markup=keyboard([("Yes", "y")]))
    with pytest.raises(SandboxError) as caught:
        await alice.tap("Maybe")
    assert caught.value.status == 400 and "Maybe" in caught.value.message
    with pytest.raises(SandboxError) as caught:
        await alice.tap("Maybe", message_id=sent.message_id)
    assert caught.value.status == 400 and "'Yes'" in caught.value.message
    with pytest.raises(SandboxError) as caught:
        await alice.tap("Yes", message_id=sent.message_id + 10)
    assert caught.value.status == 400 and "no bot message" in caught.value.message
    # Once the keyboard is gone, its buttons cannot be tapped.
    await bot.edit_message_reply_markup(1001, sent.message_id)
    with pytest.raises(SandboxError):
        await alice.tap("Yes")
    with pytest.raises(SandboxError):
        await alice.tap_data(sent.message_id, "y", forge=False)


async def test_forged_tap(bot: Bot, client: SandboxClient) -> None:
    alice = await client.user(1001)
    sent = await bot.send_message(1001, "Q", reply_markup=keyboard([("Yes", "q1:y")]))
    tap = await alice.tap_data(sent.message_id, "q1:admin-override")
    [update] = await bot.get_updates()
    assert update.callback_query is not None
    assert update.callback_query.data == "q1:admin-override" == tap.data
    events = await alice.chat()
    assert events[-1].kind == "tap" and events[-1].raw["forged"] is True


async def test_redelivery_repeats_the_same_update(bot: Bot, client: SandboxClient) -> None:
    alice = await client.user(1001)
    sent = await alice.send("vote 5")
    [first] = await bot.get_updates()
    assert await bot.get_updates(offset=first.update_id + 1) == ()  # confirmed
    await client.redeliver(sent.update_id)
    newer = await alice.send("later")
    again = await bot.get_updates(offset=first.update_id + 1)
    assert [u.update_id for u in again] == [sent.update_id, newer.update_id]
    assert again[0].to_dict() == first.to_dict()
    with pytest.raises(SandboxError) as caught:
        await client.redeliver(999_999)
    assert caught.value.status == 404


class WebhookReceiver:
    """A tiny HTTP server standing in for the bot's webhook endpoint."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, Any], str | None]] = []
        self.fail_next = 0
        # What to answer the next posts with, in order: a JSON body (a Bot API call) each.
        self.answers: list[Any] = []
        self.arrived = asyncio.Event()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        if self.fail_next:
            self.fail_next -= 1
            return web.Response(status=500)
        body = await request.json()
        self.received.append((body, request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        self.arrived.set()
        if self.answers:
            return web.json_response(self.answers.pop(0))
        return web.Response(text="ok")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/hook"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_for(self, count: int, limit_s: float = 5.0) -> None:
        async with asyncio.timeout(limit_s):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    await receiver.start()
    yield receiver
    await receiver.stop()


async def test_webhook_delivery_with_secret(make_sandbox: Any, receiver: WebhookReceiver) -> None:
    sandbox: BotApiSandbox = await make_sandbox(
        global_limit=None, chat_limit=None, webhook_retry_delay=0.05
    )
    async with (
        SandboxClient(sandbox.base_url) as client,
        Bot(sandbox.token, base_url=sandbox.api_url) as bot,
    ):
        alice = await client.user(1001)
        earlier = await alice.send("sent before the webhook")
        assert await bot.set_webhook(receiver.url, secret_token="s3cret_-X", max_connections=5)
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()

        await receiver.wait_for(1)
        receiver.fail_next = 2  # the next delivery fails twice, then succeeds
        later = await alice.send("hello hook")
        await receiver.wait_for(2)
        bodies = [body for body, _ in receiver.received]
        assert [b["update_id"] for b in bodies] == [earlier.update_id, later.update_id]
        assert bodies[1]["message"]["text"] == "hello hook"
        assert {secret for _, secret in receiver.received} == {"s3cret_-X"}
        update = Update.de_json(bodies[1], bot)
        assert update.message is not None and update.message.chat.id == 1001

        info = await bot.get_webhook_info()
        assert info.url == receiver.url and info.max_connections == 5
        assert info.pending_update_count == 0
        assert info.last_error_message is not None and "500" in info.last_error_message
        stats = await client.stats()
        assert stats["webhook_failures"] == 2 and stats["webhook_deliveries"] == 2

        await client.redeliver(later.update_id)
        await receiver.wait_for(3)
        assert receiver.received[2][0]["update_id"] == later.update_id

        assert await bot.delete_webhook()
        assert (await bot.get_webhook_info()).url == ""
        after = await alice.send("back to polling")
        assert [u.update_id for u in await bot.get_updates()] == [after.update_id]


async def test_webhook_validation(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="max_connections"):
        await bot.set_webhook("http://127.0.0.1:9/hook", max_connections=101)
    with pytest.raises(BadRequest, match="max_connections"):
        await bot.set_webhook("http://127.0.0.1:9/hook", max_connections=0)
    with pytest.raises(BadRequest, match=r"(?i)secret token"):
        await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="not allowed!")
    with pytest.raises(BadRequest):
        await bot.set_webhook("ftp://example.com/hook")


async def test_delete_webhook_keeps_undelivered_updates(
    sandbox: BotApiSandbox, bot: Bot, client: SandboxClient
) -> None:
    alice = await client.user(1001)
    # Nothing listens on port 9: deliveries keep failing and stay pending.
    await bot.set_webhook("http://127.0.0.1:9/hook")
    sent = await alice.send("pending")
    await asyncio.sleep(0.1)
    assert (await bot.get_webhook_info()).pending_update_count == 1
    await bot.delete_webhook()
    assert [u.update_id for u in await bot.get_updates()] == [sent.update_id]
    await bot.set_webhook("http://127.0.0.1:9/hook")
    await bot.delete_webhook(drop_pending_updates=True)
    assert (await bot.get_webhook_info()).pending_update_count == 0


async def test_raw_webhook_json_is_what_telegram_posts(
    sandbox: BotApiSandbox, receiver: WebhookReceiver
) -> None:
    sandbox.add_user(1001)
    async with aiohttp.ClientSession() as http:
        url = f"{sandbox.api_url}{sandbox.token}/setWebhook"
        async with http.post(url, data={"url": receiver.url}) as response:
            body = await response.json()
    assert body == {"ok": True, "result": True, "description": "Webhook was set"}
    sandbox.send_user_message(1001, "hi")
    await receiver.wait_for(1)
    payload, secret = receiver.received[0]
    assert secret is None
    assert set(payload) == {"update_id", "message"}
    assert json.loads(json.dumps(payload)) == payload


async def test_default_tap_target_is_the_latest_message_with_the_button(
    bot: Bot, client: SandboxClient
) -> None:
    alice = await client.user(1001)
    older = await bot.send_message(1001, "older", reply_markup=keyboard([("Yes", "old")]))
    newer = await bot.send_message(1001, "newer", reply_markup=keyboard([("Yes", "new")]))
    assert (await alice.tap("Yes")).message_id == newer.message_id
    await bot.edit_message_reply_markup(1001, newer.message_id)
    assert (await alice.tap("Yes")).message_id == older.message_id
    await bot.edit_message_reply_markup(
        1001, newer.message_id, reply_markup=keyboard([("Yes", "n")])
    )
    tap = await alice.tap("Yes")
    assert (tap.message_id, tap.data) == (newer.message_id, "n")


async def test_a_bot_api_call_in_the_webhooks_answer_is_made(
    sandbox: BotApiSandbox, client: SandboxClient, receiver: WebhookReceiver
) -> None:
    """As Telegram: a 2xx answer whose JSON names a method has it made (nothing is told
    back); a method that cannot be, or a call that fails, is dropped and counted, and the
    update counts as delivered all the same."""
    alice = await client.user(1001)
    sent = await alice.send("menu")
    async with Bot(sandbox.token, base_url=sandbox.api_url) as bot:
        assert await bot.set_webhook(receiver.url)
        await receiver.wait_for(1)
        await bot.send_message(1001, "pick", reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("A", callback_data="a")]]))
        for bad in ({"method": "noSuchMethod"}, {"method": "getUpdates"},
                    {"method": "answerCallbackQuery", "callback_query_id": "unknown"}):
            receiver.answers.append(bad)
            await alice.send("again")
        await receiver.wait_for(4)
        tap = await alice.tap("A")
        await receiver.wait_for(5)
        query_id = receiver.received[-1][0]["callback_query"]["id"]
        assert query_id == tap.callback_query_id
        # The tap's post was answered before this call was queued: answer the next one.
        receiver.answers.append({"method": "answerCallbackQuery", "callback_query_id": query_id,
                                 "text": "Noted", "show_alert": True})
        await alice.send("one more")
        await receiver.wait_for(6)
        async with asyncio.timeout(5):
            while not await alice.callback_answers():  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        answer = (await alice.callback_answers())[0]
        assert (answer.text, answer.show_alert) == ("Noted", True)
        stats = await client.stats()
        assert stats["webhook_answer_calls"] == 4
        assert stats["webhook_answer_refused"] == 3
        assert stats["webhook_failures"] == 0
        assert (await bot.get_webhook_info()).pending_update_count == 0
        assert receiver.received[0][0]["update_id"] == sent.update_id
