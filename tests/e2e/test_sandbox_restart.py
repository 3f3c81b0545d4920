"""Restarting the sandbox (and the bot with it) loses no user, no chat and no message.

Before the sandbox kept its state, a restarted `make run` counted update ids from 1000 again
while the bot remembered the ids it had handled, so it ignored the next messages without a
word; and the open chat page failed because the sandbox had forgotten its user.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import pytest

from sandbox import BotApiSandbox, RateLimit, SandboxClient, SandboxUser
from storage.uow import Database
from tests.conftest import seed_campaign
from tests.e2e.conftest import Bot, Clock
from tests.e2e.test_run_command import ROOT, civicpulse_run

pytestmark = pytest.mark.e2e

IGNORED = "ignoring redelivered update"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def chat_a_little(user: SandboxUser, times: int) -> None:
    """Messages the bot always answers: each must get its own reply."""
    for _ in range(times):
        await user.send("/help")
        await user.wait_for_message("/units", timeout=15)


async def test_make_run_restarted_twice_answers_every_message(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "config.yaml"
    config.write_text(f"sandbox:\n  port: {port}\nbot:\n  poll_timeout_s: 1\nweb:\n  port: 0\n")
    env = {"CIVICPULSE_CONFIG": str(config), "CIVICPULSE_VAR_DIR": str(tmp_path / "var"),
           "DATABASE_URL": "", "TELEGRAM_BOT_TOKEN": ""}
    outputs = []
    # One client for the three runs, like a chat page left open while `make run` restarts.
    async with SandboxClient(f"http://127.0.0.1:{port}") as client:
        async with civicpulse_run(env) as output:
            outputs.append(output)
            code = (await output.wait_for(r"Demo campaign:\s+(\S+)")).group(1)
            mei = await client.user(8101, "Mei")
            await mei.send(f"/start {code}")
            # The intro and the first question come as one message.
            first = await mei.wait_for_message("1/5", timeout=15)
            assert "anonymous" in first.text
            await chat_a_little(mei, 6)
            await mei.tap("4")
            await mei.wait_for_message("2/5", timeout=15)

        for run, (answer, expect) in enumerate([("Yes", "3/5"), ("5", "4/5")], start=2):
            async with civicpulse_run(env) as output:
                outputs.append(output)
                await output.wait_for(r"Press Ctrl\+C")
                # The page's user is still there, with its history, and the chat goes on.
                assert [u["id"] for u in await client.users()] == [8101]
                said = [e.message.body for e in await mei.chat() if e.message is not None]
                assert said[0] == f"/start {code}" and said.count("/help") == 7 * (run - 1) - 1
                await chat_a_little(mei, 6)
                # The question sent before the restart still takes taps, and the bot edits it.
                await mei.tap(answer)
                await mei.wait_for_message(expect, timeout=15)
                await chat_a_little(mei, 1)
    for output in outputs:
        assert not [line for line in output.lines if IGNORED in line], "".join(output.lines)
    assert (tmp_path / "var" / "sandbox" / "sandbox.sqlite3").exists()


async def test_messages_sent_while_the_bot_is_down_survive_sandbox_restarts(
    tmp_path: Path, db: Database, clock: Clock
) -> None:
    await seed_campaign(db)
    limits = RateLimit(rate=1000, burst=1000), RateLimit(rate=100, burst=100)
    sandbox = BotApiSandbox(global_limit=limits[0], chat_limit=limits[1], state_dir=tmp_path)
    base = await sandbox.start()
    port = int(base.rsplit(":", 1)[1])
    bot = Bot(sandbox, db, clock)
    await bot.start()
    try:
        async with SandboxClient(base) as client:
            li = await client.user(8201, "Li")
            await li.send("/start willow")
            # The intro and the first question come as one message.
            first = await li.wait_for_message("1/5")
            assert "anonymous" in first.text
            for answer, expect in [("4", "2/5"), ("Yes", "3/5")]:
                # The bot stops first (as `make run` does), then the resident writes and taps
                # while it is away, then the sandbox restarts too, then the bot comes back.
                await bot.stop()
                await li.send("/help")
                await li.tap(answer)
                await sandbox.stop()
                sandbox = BotApiSandbox(
                    global_limit=limits[0], chat_limit=limits[1], state_dir=tmp_path
                )
                await sandbox.start(port=port)
                bot.sandbox = sandbox
                await bot.start()
                replies = [await li.wait_for_message() for _ in range(2)]
                assert any("/units" in m.text for m in replies), [m.text for m in replies]
                assert any(expect in m.text for m in replies), [m.text for m in replies]
                await chat_a_little(li, 3)
    finally:
        await bot.stop()
        await sandbox.stop()


async def test_a_second_make_run_on_the_same_var_dir_refuses_and_harms_nothing(
    tmp_path: Path,
) -> None:
    port, other_port = free_port(), free_port()
    config, other = tmp_path / "config.yaml", tmp_path / "other.yaml"
    config.write_text(f"sandbox:\n  port: {port}\nweb:\n  port: 0\n")
    other.write_text(f"sandbox:\n  port: {other_port}\nweb:\n  port: 0\n")
    env = {"CIVICPULSE_CONFIG": str(config), "CIVICPULSE_VAR_DIR": str(tmp_path / "var"),
           "DATABASE_URL": "", "TELEGRAM_BOT_TOKEN": ""}
    async with SandboxClient(f"http://127.0.0.1:{port}") as client:
        async with civicpulse_run(env) as output:
            await output.wait_for(r"Press Ctrl\+C")
            mei = await client.user(8301, "Mei")
            second = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "run", cwd=ROOT,
                env={**os.environ, **env, "CIVICPULSE_CONFIG": str(other)},
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            _, stderr = await asyncio.wait_for(second.communicate(), 60)
            # The bot's own lock refuses first (one poller per token; the sandbox's lock on
            # its state directory is tested in tests/sandbox/test_sandbox_state.py).
            assert second.returncode == 1
            assert "Only one process may poll per bot token" in stderr.decode(), stderr.decode()
            await chat_a_little(mei, 1)
        async with civicpulse_run(env) as output:
            await output.wait_for(r"Press Ctrl\+C")
            assert [u["id"] for u in await client.users()] == [8301]
            await chat_a_little(mei, 1)
