"""The sandbox's state directory: users, chats, messages, files and update ids survive a restart."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import Forbidden

from sandbox import BotApiSandbox, SandboxClient, SandboxError, StateDirBusy, png_bytes
from sandbox.state import STATE_FILE

ROOT = Path(__file__).resolve().parents[2]


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d) for t, d in buttons]])


@asynccontextmanager
async def running(state_dir: Path, port: int = 0) -> AsyncIterator[BotApiSandbox]:
    """One sandbox instance on ``state_dir``, stopped (and so saved) at the end."""
    sandbox = BotApiSandbox(global_limit=None, chat_limit=None, state_dir=state_dir)
    await sandbox.start(port=port)
    try:
        yield sandbox
    finally:
        await sandbox.stop()


@asynccontextmanager
async def bot_on(sandbox: BotApiSandbox) -> AsyncIterator[Bot]:
    async with Bot(sandbox.token, base_url=sandbox.api_url, base_file_url=sandbox.file_url) as bot:
        yield bot


async def test_users_chats_messages_and_counters_survive_a_restart(tmp_path: Path) -> None:
    photo = png_bytes(8, 6)
    async with running(tmp_path) as first, bot_on(first) as bot, SandboxClient(
        first.base_url
    ) as client:
        alice = await client.user(1001, "Alice", language_code="zh", last_name="Li")
        bob = await client.user(1002, "Bob")
        await alice.send("hello")
        [hello] = await bot.get_updates()
        question = await bot.send_message(1001, "Q1", reply_markup=keyboard(("Yes", "y")))
        await bot.edit_message_text(
            "Q1 (reworded)", 1001, question.message_id, reply_markup=keyboard(("Yes", "y"))
        )
        sent_photo = await bot.send_photo(1001, photo, caption="Your QR")
        await bob.block()
        confirmed = await bot.get_updates(offset=hello.update_id + 1)
        last_update_id = confirmed[-1].update_id
        users_before = await client.users()
        shown_before = _as_shown(first.chat(1001))
        seq_before = first.info()["last_seq"]

    async with running(tmp_path) as second, bot_on(second) as bot, SandboxClient(
        second.base_url
    ) as client:
        assert await client.users() == users_before
        assert _as_shown(second.chat(1001)) == shown_before, "the chat page shows the same chat"
        alice = await client.user(1001, "Alice", language_code="zh", last_name="Li")
        [message] = [m for m in await alice.bot_messages() if m.text]
        assert (message.text, message.button_texts, message.edit_count) == (
            "Q1 (reworded)", ["Yes"], 1)
        # The old keyboard still works, and the bot gets the tap on its old message.
        await alice.tap("Yes")
        sent = await alice.send("after the restart")
        updates = await bot.get_updates(offset=last_update_id + 1)
        assert [u.update_id for u in updates] == [last_update_id + 1, last_update_id + 2]
        assert updates[0].callback_query is not None
        assert updates[0].callback_query.message is not None
        assert updates[0].callback_query.message.message_id == question.message_id
        assert updates[1].message is not None and updates[1].message.text == "after the restart"
        assert sent.update_id == last_update_id + 2 and sent.seq > seq_before
        assert sent.message_id > sent_photo.message_id, "message ids continue in the chat"
        await bot.answer_callback_query(updates[0].callback_query.id, "noted")
        assert (await alice.wait_for_answer()).text == "noted"
        # Files are kept: the photo downloads, and its file_id can be sent again.
        assert await alice.download(sent_photo.photo[-1].file_id) == photo
        await bot.send_photo(1001, sent_photo.photo[-1].file_id)
        await bot.edit_message_reply_markup(1001, question.message_id)  # old messages edit
        # Bob is still blocked.
        with pytest.raises(Forbidden, match="blocked"):
            await bot.send_message(1002, "hi")


def _as_shown(chat: dict[str, Any]) -> list[dict[str, Any]]:
    """The messages as the chat page shows them after replaying the chat's log."""
    shown: dict[int, dict[str, Any]] = {}
    for event in chat["events"]:
        if event["kind"] in ("message", "edit"):
            shown[event["message"]["message_id"]] = event["message"]
        elif event["kind"] == "delete":
            shown.pop(event["message_id"], None)
    return [shown[k] for k in sorted(shown)]


async def test_unconfirmed_updates_are_delivered_after_a_restart(tmp_path: Path) -> None:
    async with running(tmp_path) as first, bot_on(first) as bot, SandboxClient(
        first.base_url
    ) as client:
        alice = await client.user(1001, "Alice")
        question = await bot.send_message(1001, "Q", reply_markup=keyboard(("Yes", "y")))
        one = await alice.send("one")
        two = await alice.send("two")
        tap = await alice.tap("Yes")
        three = await alice.send("three")
        fetched = await bot.get_updates()
        assert len(fetched) == 4
        await bot.get_updates(offset=one.update_id + 1, timeout=0)  # only "one" is confirmed

    async with running(tmp_path) as second, bot_on(second) as bot, SandboxClient(
        second.base_url
    ) as client:
        updates = await bot.get_updates()
        assert [u.update_id for u in updates] == [two.update_id, tap.update_id, three.update_id]
        assert updates[0].message is not None and updates[0].message.text == "two"
        query = updates[1].callback_query
        assert query is not None and query.data == "y"
        assert query.message is not None and query.message.message_id == question.message_id
        # The tap's query is still open: the bot can answer it after the restart.
        await bot.answer_callback_query(query.id, "got it")
        alice = await client.user(1001, "Alice")
        alice.last_tap = tap
        assert (await alice.wait_for_answer()).text == "got it"
        assert await bot.get_updates(offset=three.update_id + 1, timeout=0) == ()

    async with running(tmp_path) as third, bot_on(third) as bot:
        assert await bot.get_updates(timeout=0) == (), "confirmed updates stay confirmed"


async def test_a_restarted_sandbox_serves_the_same_page_user_on_the_same_port(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as first:
        port = int(first.base_url.rsplit(":", 1)[1])
        async with SandboxClient(first.base_url) as client:
            alice = await client.user(100003, "Alice")
            await alice.send("/start")
    async with running(tmp_path, port) as second, SandboxClient(second.base_url) as client:
        # What the open chat page does after reconnecting: read the chat, carry on.
        data = await client.request("GET", "/sandbox/users/100003/chat", params={"after_seq": "0"})
        assert [e["message"]["text"] for e in data["events"]] == ["/start"]
        await client.request("POST", "/sandbox/users/100003/messages", json={"text": "again"})


async def test_a_missing_state_file_starts_clean_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state_dir = tmp_path / "var" / "sandbox"
    with caplog.at_level(logging.WARNING, logger="sandbox.state"):
        async with running(state_dir) as sandbox:
            assert sandbox.users() == []
            sandbox.add_user(1001, "Alice")
            first = sandbox.send_user_message(1001, "hi")["update_id"]
    assert "no saved state" in caplog.text
    assert (state_dir / STATE_FILE).exists()
    # A fresh state directory does not count from 1000 again: the bot may still remember the
    # update ids of an earlier run for days.
    assert first > 10_000_000
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sandbox.state"):
        async with running(state_dir) as sandbox:
            assert [u["first_name"] for u in sandbox.users()] == ["Alice"]
    assert caplog.text == "", "a saved state loads without warnings"


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda path: path.write_bytes(b"this is not a database" * 100), id="garbage"),
        pytest.param(lambda path: path.write_bytes(path.read_bytes()[:2000]), id="truncated"),
        pytest.param(
            lambda path: _sql(path, "UPDATE users SET data = '{not json'"), id="bad-row"
        ),
        pytest.param(
            lambda path: _sql(path, "UPDATE meta SET value = '99' WHERE key = 'version'"),
            id="other-version",
        ),
        pytest.param(
            lambda path: _sql(path, """UPDATE messages SET data = '{"bogus": 1}'"""),
            id="unknown-fields",
        ),
    ],
)
async def test_a_damaged_state_file_starts_clean_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: Any
) -> None:
    async with running(tmp_path) as sandbox:
        for user_id in range(1001, 1041):
            sandbox.add_user(user_id, "Resident" * 8)
            sandbox.send_user_message(user_id, "x" * 500)
    damage(tmp_path / STATE_FILE)
    with caplog.at_level(logging.WARNING, logger="sandbox.state"):
        async with running(tmp_path) as sandbox:
            assert sandbox.users() == []
            sandbox.add_user(1001, "Alice")
    assert "cannot be read" in caplog.text and "starting with no simulated users" in caplog.text
    assert _listing(tmp_path, f"{STATE_FILE}.damaged-*"), "the damaged file is kept aside"
    async with running(tmp_path) as sandbox:
        assert [u["first_name"] for u in sandbox.users()] == ["Alice"], "saving works again"


def _listing(directory: Path, pattern: str = "*") -> list[Path]:
    return list(directory.glob(pattern))


def _sql(path: Path, statement: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(statement)
    conn.close()


async def test_without_a_state_dir_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    sandbox = BotApiSandbox(global_limit=None, chat_limit=None)
    await sandbox.start()
    sandbox.add_user(1001, "Alice")
    assert sandbox.send_user_message(1001, "hi")["update_id"] == 1000
    await sandbox.stop()
    assert _listing(tmp_path) == []
    again = BotApiSandbox(global_limit=None, chat_limit=None)
    assert again.users() == []


async def test_changes_are_written_behind_within_the_interval(tmp_path: Path) -> None:
    sandbox = BotApiSandbox(
        global_limit=None, chat_limit=None, state_dir=tmp_path, state_interval=0.05
    )
    await sandbox.start()
    try:
        sandbox.add_user(1001, "Alice")
        sandbox.send_user_message(1001, "hi")
        for _ in range(100):
            await asyncio.sleep(0.05)
            if _count(tmp_path, "events") == 1:
                break
        assert _count(tmp_path, "users") == 1 and _count(tmp_path, "events") == 1
        assert _count(tmp_path, "updates") == 1
    finally:
        await sandbox.stop()


def _count(state_dir: Path, table: str) -> int:
    conn = sqlite3.connect(state_dir / STATE_FILE)
    try:
        (count,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    finally:
        conn.close()
    return int(count)


async def test_unknown_user_error_speaks_to_a_person(client: SandboxClient) -> None:
    async with aiohttp.ClientSession() as http, http.post(
        client.base_url + "/sandbox/users/100003/messages", json={"text": "hi"}
    ) as response:
        assert response.status == 404
        body = await response.json()
    assert body["code"] == "unknown_user"
    assert "POST" not in body["error"] and "/sandbox" not in body["error"]
    assert "100003" in body["error"] and "Create the user again" in body["error"]
    with pytest.raises(SandboxError) as caught:
        await client.user(0)
    assert caught.value.message == (
        "The Telegram id must be a whole number from 1 to 4503599627370495."
    )


# --- a real crash: the sandbox process killed with SIGKILL -------------------------------------


class SandboxProcess:
    """``python -m sandbox --state-dir`` in a child process that can be killed."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.process: asyncio.subprocess.Process | None = None
        self.base_url = ""

    async def start(self) -> str:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "sandbox", "--port", "0", "--no-limits",
            "--state-dir", str(self.state_dir),
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert self.process.stdout is not None
        line = (await asyncio.wait_for(self.process.stdout.readline(), 30)).decode()
        match = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
        assert match, line
        self.base_url = match.group(1)
        return self.base_url

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> str:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(self.process.communicate(), 20)
        return stderr.decode()


async def test_a_killed_sandbox_loses_nothing_it_had_saved_and_never_reuses_an_id(
    tmp_path: Path,
) -> None:
    box = SandboxProcess(tmp_path)
    async with SandboxClient(await box.start()) as client:
        alice = await client.user(1001, "Alice")
        saved = [await alice.send(f"saved {i}") for i in range(5)]
        await asyncio.sleep(1.0)  # more than the write-behind interval
        unsaved = [await alice.send(f"maybe lost {i}") for i in range(20)]
        await box.kill()

    async with SandboxClient(await box.start()) as client:
        try:
            users = await client.users()
            assert [u["first_name"] for u in users] == ["Alice"]
            alice = await client.user(1001, "Alice")
            texts = [e.message.text for e in await alice.chat() if e.message is not None]
            assert texts[:5] == [f"saved {i}" for i in range(5)]
            after = await alice.send("after the crash")
            handed_out = [s.update_id for s in saved + unsaved]
            assert after.update_id > max(handed_out), "no update id is handed out twice"
            assert after.seq > max(s.seq for s in saved + unsaved), "no chat cursor goes back"
            assert after.message_id > max(s.message_id for s in saved + unsaved)
            bot = Bot("123456:sandbox-token", base_url=client.base_url + "/bot")
            async with bot:
                updates = await bot.get_updates(timeout=0)
            texts = [u.message.text for u in updates if u.message is not None]
            assert texts[:5] == [f"saved {i}" for i in range(5)], "saved updates still come"
            assert texts[-1] == "after the crash"
        finally:
            stderr = await box.stop()
    assert "did not stop cleanly" in stderr
    assert "cannot be read" not in stderr, "a crash does not damage the file"


async def test_one_state_dir_serves_one_sandbox_at_a_time(tmp_path: Path) -> None:
    async with running(tmp_path) as first:
        first.add_user(1001, "Alice")
        with pytest.raises(StateDirBusy, match="another sandbox is using"):
            BotApiSandbox(state_dir=tmp_path)
        first.send_user_message(1001, "still saved")
    async with running(tmp_path) as second:
        assert [e["message"]["text"] for e in second.chat(1001)["events"]] == ["still saved"]
