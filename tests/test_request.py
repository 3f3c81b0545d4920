"""The aiohttp request class honours python-telegram-bot's request contract: real calls to the
sandbox (JSON bodies, keyboards, uploads, long polling, 400/401/403/429) and to small local servers
that are slow, refuse or hold the pool."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.request import AiohttpRequest
from sandbox import BotApiSandbox, RateLimit, SandboxClient, png_bytes

SandboxFactory = Callable[..., Awaitable[BotApiSandbox]]


@pytest.fixture(autouse=True)
def timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def make_sandbox() -> AsyncIterator[SandboxFactory]:
    started: list[BotApiSandbox] = []

    async def make(**kwargs: object) -> BotApiSandbox:
        sandbox = BotApiSandbox(**kwargs)  # type: ignore[arg-type]
        await sandbox.start()
        started.append(sandbox)
        return sandbox

    yield make
    for sandbox in started:
        await sandbox.stop()


def bot_for(sandbox: BotApiSandbox, token: str | None = None, **request: object) -> Bot:
    return Bot(token or sandbox.token, base_url=sandbox.api_url, base_file_url=sandbox.file_url,
               request=AiohttpRequest(**request),  # type: ignore[arg-type]
               get_updates_request=AiohttpRequest(connection_pool_size=1))


async def test_messages_keyboards_uploads_and_updates(make_sandbox: SandboxFactory) -> None:
    sandbox = await make_sandbox(global_limit=None, chat_limit=None)
    async with SandboxClient(sandbox.base_url) as client, bot_for(sandbox) as bot:
        alice = await client.user(1001, "Alice")
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("满意 ✓", callback_data="r:5")]])
        await bot.send_message(1001, "<b>Rate</b> us & go", parse_mode="HTML",
                               reply_markup=keyboard)
        photo = png_bytes(20, 10)
        sent = await bot.send_photo(1001, photo, caption="chart")
        file = await bot.get_file(sent.photo[-1].file_id)
        assert bytes(await file.download_as_bytearray()) == photo

        messages = await alice.bot_messages()
        assert messages[0].body == "Rate us & go"
        assert messages[0].button_texts == ["满意 ✓"]
        assert messages[1].caption == "chart" and messages[1].file_id is not None

        await alice.send("hello")
        # A long poll that returns as soon as the update is there.
        updates = await bot.get_updates(timeout=5)
        assert [u.message.text for u in updates if u.message] == ["hello"]


async def test_errors_map_as_telegram_answers_them(make_sandbox: SandboxFactory) -> None:
    sandbox = await make_sandbox(global_limit=None, chat_limit=RateLimit(rate=1, burst=1))
    async with SandboxClient(sandbox.base_url) as client, bot_for(sandbox) as bot:
        alice = await client.user(1001, "Alice")
        await bot.send_message(1001, "one")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(1001, "two")
        assert caught.value.retry_after == dtm.timedelta(seconds=1)
        with pytest.raises(BadRequest):
            await bot.send_message(1001, "")
        await alice.block()
        with pytest.raises(Forbidden, match="blocked"):
            await bot.send_message(1001, "three")
    with pytest.raises(InvalidToken):
        async with bot_for(sandbox, token="123456:wrong"):
            pass


class SlowServer:
    """Answers Telegram-like JSON after ``delay`` seconds; counts what it received."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.received = 0
        self.bodies: list[tuple[str, bytes]] = []  # content type, body
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _answer(self, request: web.Request) -> web.Response:
        self.received += 1
        self.bodies.append((request.content_type, await request.read()))
        await asyncio.sleep(self.delay)
        return web.json_response({"ok": True, "result": True})

    async def __aenter__(self) -> SlowServer:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._answer)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


async def test_read_timeout_default_and_per_call() -> None:
    request = AiohttpRequest(read_timeout=0.1)
    assert request.read_timeout == 0.1
    async with SlowServer(delay=0.4) as server, request:
        with pytest.raises(TimedOut):
            await request.post(f"{server.url}/botT/getMe")
        # A longer timeout for one call (as PTB passes for long polling) wins over the default.
        assert await request.post(f"{server.url}/botT/getMe", read_timeout=3) is True


async def test_parameters_go_as_one_json_object() -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("满意 & ✓", callback_data="r:5")]])
    data = RequestData([RequestParameter.from_input("chat_id", 1001),
                        RequestParameter.from_input("text", "a + b = 100%"),
                        RequestParameter.from_input("reply_markup", keyboard)])
    async with SlowServer(delay=0) as server, AiohttpRequest() as request:
        assert await request.post(f"{server.url}/botT/sendMessage", request_data=data) is True
    [(content_type, body)] = server.bodies
    assert content_type == "application/json"
    # What Telegram reads from a form, PTB's strings: the keyboard as its JSON text.
    assert json.loads(body) == data.json_parameters
    assert json.loads(json.loads(body)["reply_markup"]) == keyboard.to_dict()


async def test_pool_timeout_says_the_request_was_not_sent() -> None:
    request = AiohttpRequest(connection_pool_size=1, pool_timeout=0.1, read_timeout=3)
    async with SlowServer(delay=0.5) as server, request:
        holding = asyncio.create_task(request.post(f"{server.url}/botT/getMe"))
        await asyncio.sleep(0.05)
        with pytest.raises(TimedOut, match="Pool timeout"):
            await request.post(f"{server.url}/botT/getMe")
        assert await holding is True
        assert server.received == 1  # the refused request never left


async def test_refused_connection_is_a_network_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nobody listens there
    async with AiohttpRequest() as request:
        with pytest.raises(NetworkError, match=r"aiohttp\.ClientConnectorError"):
            await request.post(f"http://127.0.0.1:{port}/botT/getMe")


async def test_life_cycle() -> None:
    request = AiohttpRequest()
    # PTB wraps what the class raises (RuntimeError, as its HTTPXRequest) in a NetworkError.
    with pytest.raises(NetworkError, match="not initialized"):
        await request.post("http://127.0.0.1:9/botT/getMe")
    async with SlowServer(delay=0) as server:
        await request.initialize()
        await request.shutdown()
        await request.shutdown()  # twice is harmless, as PTB's shutdown may be
        await request.initialize()  # and it can start again
        assert await request.post(f"{server.url}/botT/getMe") is True
        await request.shutdown()


async def test_http_proxy_is_used(make_sandbox: SandboxFactory) -> None:
    sandbox = await make_sandbox(global_limit=None, chat_limit=None)
    seen: list[str] = []

    async def forward(request: web.Request) -> web.Response:
        # A forward proxy receives the absolute address of the Bot API.
        seen.append(str(request.url))
        async with AiohttpRequest() as upstream:
            status, body = await upstream.do_request(
                str(request.url), "POST", read_timeout=5)
        return web.Response(status=status, body=body, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with bot_for(sandbox, proxy=f"http://127.0.0.1:{port}") as bot:
            assert bot.username == sandbox.bot_username
        assert any(url.endswith("/getMe") for url in seen)
    finally:
        await runner.cleanup()


def test_only_http_proxies_and_a_real_pool() -> None:
    with pytest.raises(ValueError, match="http"):
        AiohttpRequest(proxy="socks5://127.0.0.1:1080")
    with pytest.raises(ValueError, match="at least 1"):
        AiohttpRequest(connection_pool_size=0)
