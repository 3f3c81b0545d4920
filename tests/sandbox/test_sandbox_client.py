"""The client API under /sandbox/ and the Python client's waiting helpers."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from sandbox import BotApiSandbox, SandboxClient, SandboxError
from sandbox.client import SandboxTimeout

ROOT = Path(__file__).resolve().parents[2]


async def test_users_are_idempotent(client: SandboxClient) -> None:
    await client.user(1001, "Alice")
    await client.user(1001, "Alice", language_code="zh")
    await client.user(1002, "Bob")
    users = await client.users()
    assert [(u["id"], u["first_name"], u["language_code"]) for u in users] == [
        (1001, "Alice", "zh"),
        (1002, "Bob", "en"),
    ]
    with pytest.raises(SandboxError) as caught:
        await client.user(0)
    assert caught.value.status == 400


async def test_unknown_user_is_404(client: SandboxClient) -> None:
    with pytest.raises(SandboxError) as caught:
        await client.request("POST", "/sandbox/users/5/messages", json={"text": "hi"})
    assert caught.value.status == 404


async def test_chat_log_after_seq_shows_edits(
    bot: Bot, client: SandboxClient, sandbox: BotApiSandbox
) -> None:
    alice = await client.user(1001)
    await alice.send("hi")
    sent = await bot.send_message(
        1001,
        "Q",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]]),
    )
    everything = sandbox.chat(1001)
    cursor = everything["last_seq"]
    await bot.edit_message_text("Q (closed)", 1001, sent.message_id)
    newer = sandbox.chat(1001, after_seq=cursor)
    [edit] = newer["events"]
    assert edit["kind"] == "edit" and edit["seq"] > cursor
    assert edit["message"]["message_id"] == sent.message_id
    assert edit["message"]["text"] == "Q (closed)" and edit["message"]["edit_count"] == 1
    assert sandbox.chat(1001, after_seq=newer["last_seq"])["events"] == []
    seqs = [e.seq for e in await alice.chat()]
    assert seqs == sorted(seqs) and len(seqs) == 3


async def test_wait_endpoint_long_polls(
    sandbox: BotApiSandbox, bot: Bot, client: SandboxClient
) -> None:
    alice = await client.user(1001)

    async def reply_later() -> None:
        await asyncio.sleep(0.2)
        await bot.send_message(1001, "later")

    task = asyncio.create_task(reply_later())
    started = time.monotonic()
    data = await client.request(
        "GET", "/sandbox/wait", params={"user_id": "1001", "after_seq": "0", "timeout": "10"}
    )
    await task
    assert time.monotonic() - started < 5
    assert [e["message"]["text"] for e in data["events"]] == ["later"]
    # Without user_id it waits for any chat.
    data = await client.request(
        "GET", "/sandbox/wait", params={"after_seq": str(data["last_seq"]), "timeout": "0.1"}
    )
    assert data["events"] == []
    await alice.send("x")
    data = await client.request("GET", "/sandbox/wait", params={"after_seq": "0", "timeout": "1"})
    assert [e["chat_id"] for e in data["events"]] == [1001, 1001]


async def test_wait_for_message_walks_replies_in_order(bot: Bot, client: SandboxClient) -> None:
    alice = await client.user(1001)
    await bot.send_message(1001, "before the action")
    await alice.send("go")
    await bot.send_message(1001, "one")
    await bot.send_message(1001, "two")
    assert (await alice.wait_for_message()).text == "one"
    assert (await alice.wait_for_message()).text == "two"
    with pytest.raises(SandboxTimeout) as caught:
        await alice.wait_for_message("three", timeout=0.2)
    assert "containing 'three'" in str(caught.value)
    with pytest.raises(TimeoutError):
        await alice.wait_for_message(timeout=0.1)
    await alice.send("again")
    await bot.send_message(1001, "zzz")
    await bot.send_message(1001, "the one")
    assert (await alice.wait_for_message("one")).text == "the one"


async def test_expect_no_message(bot: Bot, client: SandboxClient) -> None:
    alice = await client.user(1001)
    await alice.send("hi")
    await alice.expect_no_message(within=0.1)
    await bot.send_message(1001, "surprise")
    with pytest.raises(AssertionError, match="surprise"):
        await alice.expect_no_message(within=0.1)


async def test_wait_for_answer_needs_the_right_tap(bot: Bot, client: SandboxClient) -> None:
    alice = await client.user(1001)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    await bot.send_message(1001, "Q", reply_markup=markup)
    first = await alice.tap("A")
    await alice.tap("A")
    await bot.answer_callback_query(first.callback_query_id, "for the first tap")
    with pytest.raises(SandboxTimeout):
        await alice.wait_for_answer(timeout=0.2)


async def test_stats_and_reset(bot: Bot, client: SandboxClient) -> None:
    await client.user(1001)
    await bot.send_message(1001, "x")
    stats = await client.stats()
    assert stats["calls"]["sendMessage"] == 1 and stats["messages_sent"] == 1
    await client.reset_stats()
    stats = await client.stats()
    assert stats["calls"] == {} and stats["messages_sent"] == 0 and stats["users"] == 1


async def test_chat_page_is_served(sandbox: BotApiSandbox) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(sandbox.base_url + "/") as response:
            assert response.status == 200
            page = await response.text()
        assert "<title>" in page
        # No external resources: everything comes from the sandbox itself.
        assert not re.search(r"""(src|href)=["']https?://""", page)
        for asset in re.findall(r"""(?:src|href)=["'](/static/[^"']+)["']""", page):
            async with http.get(sandbox.base_url + asset) as response:
                assert response.status == 200, asset
        async with http.get(sandbox.base_url + "/sandbox/info") as response:
            info = await response.json()
        assert info["bot"]["username"] == "civicpulse_bot"


def test_command_line_serves_and_stops() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--no-limits"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
        assert match, line

        async def probe() -> int:
            async with aiohttp.ClientSession() as http:
                url = f"{match.group(1)}/bot123456:sandbox-token/getMe"
                async with http.get(url) as response:
                    return response.status

        assert asyncio.run(probe()) == 200
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr


async def test_a_web_app_button_opens_with_init_data_signed_as_telegram_does(
    bot: Bot, client: SandboxClient, sandbox: BotApiSandbox
) -> None:
    from datetime import UTC, datetime, timedelta
    from urllib.parse import parse_qs, urlsplit

    from telegram import WebAppInfo

    from handlers.web.initdata import verify

    alice = await client.user(1001, "Alice", language_code="zh")
    await bot.send_message(1001, "Report", reply_markup=InlineKeyboardMarkup([[
        InlineKeyboardButton("Open", web_app=WebAppInfo("https://example.org/tg?next=/x")),
        InlineKeyboardButton("Tap", callback_data="t")]]))
    await alice.wait_for_message("Report")
    url = await alice.open_web_app("Open")
    parts = urlsplit(url)
    assert (parts.netloc, parts.path, parts.query) == ("example.org", "/tg", "next=/x")
    data = parse_qs(parts.fragment)["tgWebAppData"][0]
    user = verify(data, sandbox.token, datetime.now(UTC), timedelta(minutes=1))
    assert (user.id, user.language_code) == (1001, "zh")
    with pytest.raises(SandboxError) as caught:
        await alice.open_web_app("Tap")
    assert caught.value.status == 400 and "does not open a Mini App" in str(caught.value)
    await alice.expect_no_message()
