"""The chat page (sandbox/static/chat.js) across sandbox restarts, run in Node with a tiny DOM.

The page must notice that the sandbox went away, show that it is reconnecting, come back by
itself with the same user (creating the user again if the sandbox forgot it), keep what the
person typed when a message could not be sent, and say so in plain words.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot

from sandbox import BotApiSandbox

ROOT = Path(__file__).resolve().parents[2]
HARNESS = Path(__file__).with_name("chat_page_harness.js")
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="needs Node.js to run the chat page")

State = dict[str, Any]


class Page:
    """The chat page open in a (simulated) browser."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def _call(self, command: dict[str, Any]) -> State:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write((json.dumps(command) + "\n").encode())
        await self.process.stdin.drain()
        line = await asyncio.wait_for(self.process.stdout.readline(), 10)
        assert line, "the page's harness ended"
        state: State = json.loads(line)
        return state

    async def state(self) -> State:
        return await self._call({"op": "state"})

    async def send(self, text: str) -> None:
        await self._call({"op": "send", "text": text})

    async def until(self, what: str, check: Callable[[State], bool], timeout: float = 15) -> State:  # noqa: ASYNC109
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            state = await self.state()
            if check(state):
                return state
            if loop.time() > deadline:
                raise AssertionError(f"the page never showed {what}; it shows {state}")
            await asyncio.sleep(0.1)


@asynccontextmanager
async def open_page(base_url: str, hash_: str = "", profile: str = "") -> AsyncIterator[Page]:
    assert NODE is not None
    process = await asyncio.create_subprocess_exec(
        NODE, str(HARNESS), base_url, str(ROOT / "sandbox" / "static" / "chat.js"), hash_, profile,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        yield Page(process)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


def _shows(rows: list[str], text: str) -> bool:
    return any(text in row for row in rows)


async def test_the_page_reconnects_by_itself_and_carries_on_with_the_same_user(
    tmp_path: Path,
) -> None:
    sandbox = BotApiSandbox(global_limit=None, chat_limit=None, state_dir=tmp_path / "a")
    base = await sandbox.start()
    port = int(base.rsplit(":", 1)[1])
    profile = json.dumps({"id": 100003, "first_name": "Mei", "language_code": "zh"})
    try:
        # The page remembers user 100003 from an earlier visit; this sandbox has never seen it:
        # the page creates it again instead of failing with "no user 100003".
        async with open_page(base, "#user=100003", profile) as page:
            await page.until(
                "the chat open",
                lambda s: s["title"] == "Mei" and _shows(s["rows"], "No messages yet"),
            )
            assert [(u["id"], u["first_name"], u["language_code"]) for u in sandbox.users()] == [
                (100003, "Mei", "zh")
            ]
            await page.send("hello")
            await page.until("its message", lambda s: _shows(s["rows"], "hello"))
            async with Bot(sandbox.token, base_url=sandbox.api_url) as bot:
                await bot.send_message(100003, "Hello Mei")
            await page.until("the bot's reply", lambda s: _shows(s["rows"], "Hello Mei"))

            # The sandbox restarts with its state: the page says it is reconnecting, then
            # comes back to the same chat, history included.
            await sandbox.stop()
            state = await page.until("reconnecting", lambda s: s["reconnecting"])
            assert "Reconnecting" in state["banner"]
            # What is typed meanwhile is not lost, and the person is told why.
            await page.send("are you there?")
            state = await page.until("the failure", lambda s: s["toast"] is not None)
            assert "did not reach the sandbox" in state["toast"]
            assert "POST" not in state["toast"] and "/sandbox" not in state["toast"]
            assert state["composer"] == "are you there?"
            sandbox = BotApiSandbox(global_limit=None, chat_limit=None, state_dir=tmp_path / "a")
            await sandbox.start(port=port)
            state = await page.until(
                "the chat again", lambda s: not s["reconnecting"] and _shows(s["rows"], "Hello Mei")
            )
            assert _shows(state["rows"], "hello")
            await page.send("back again")
            await page.until("the new message", lambda s: _shows(s["rows"], "back again"))
            async with Bot(sandbox.token, base_url=sandbox.api_url) as bot:
                updates = await bot.get_updates()
                assert [u.message.text for u in updates if u.message] == ["hello", "back again"]
                await bot.send_message(100003, "Welcome back")
            await page.until("live replies again", lambda s: _shows(s["rows"], "Welcome back"))

            # A sandbox started afresh (its saved state gone): the page re-creates its user.
            await sandbox.stop()
            await page.until("reconnecting", lambda s: s["reconnecting"])
            sandbox = BotApiSandbox(global_limit=None, chat_limit=None, state_dir=tmp_path / "b")
            await sandbox.start(port=port)
            await page.until(
                "an empty chat",
                lambda s: not s["reconnecting"] and _shows(s["rows"], "No messages"),
            )
            assert [(u["id"], u["first_name"]) for u in sandbox.users()] == [(100003, "Mei")]
            await page.send("anyone?")
            await page.until("the message", lambda s: _shows(s["rows"], "anyone?"))
            assert [e["message"]["text"] for e in sandbox.chat(100003)["events"]] == ["anyone?"]
    finally:
        await sandbox.stop()
