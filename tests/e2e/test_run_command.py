"""`civicpulse run` as a real process: the sandbox with demo data, and polling a given Bot API."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from sandbox import BotApiSandbox, SandboxClient
from sandbox.media import png_bytes
from storage.uow import Database
from tests.conftest import seed_campaign

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


class Output:
    """Everything the process prints, read continuously so a full pipe never blocks it."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.lines: list[str] = []
        self._changed = asyncio.Event()
        self.task = asyncio.create_task(self._read(stream))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.lines.append(line.decode(errors="replace"))
            self._changed.set()

    async def wait_for(self, pattern: str) -> re.Match[str]:
        async with asyncio.timeout(60):
            while True:
                for line in self.lines:
                    if match := re.search(pattern, line):
                        return match
                if self.task.done():
                    break
                self._changed.clear()
                await self._changed.wait()
        raise AssertionError(f"{pattern!r} never printed:\n{''.join(self.lines)}")


@asynccontextmanager
async def civicpulse_run(env: dict[str, str]) -> AsyncIterator[Output]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", cwd=ROOT,
        env={**os.environ, **env}, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    output = Output(process.stdout)
    try:
        yield output
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 20)
        await output.task
    assert process.returncode == 0, "stops cleanly on SIGTERM:\n" + "".join(output.lines)


async def test_without_a_token_it_serves_the_sandbox_with_demo_data(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("sandbox:\n  port: 0\nweb:\n  port: 0\n")
    env = {"CIVICPULSE_CONFIG": str(config), "CIVICPULSE_VAR_DIR": str(tmp_path / "var"),
           "DATABASE_URL": "", "TELEGRAM_BOT_TOKEN": ""}
    async with civicpulse_run(env) as output:
        page = (await output.wait_for(r"Chat page:\s+(http://\S+)/")).group(1)
        code = (await output.wait_for(r"Demo campaign:\s+(\S+)")).group(1)
        invite = (await output.wait_for(r"Demo cadre:.*/start (cadre-\S+)")).group(1)
        async with SandboxClient(page) as client:
            user = await client.user(8001, "Demo")
            await user.send(f"/start {code}")
            # The intro and the first question come as one message.
            question = await user.wait_for_message("1/5", timeout=15)
            assert "anonymous" in question.text
            assert question.button_texts[:5] == ["1", "2", "3", "4", "5"]

            # The printed demo cadre link makes another user a cadre who can send a note.
            cadre = await client.user(8003, "Fang")
            await cadre.send(f"/start {invite}")
            await cadre.wait_for_message("Wang Fang", timeout=15)
            await cadre.send_photo(png_bytes(16, 16), caption="School road: potholes filled")
            while not (await cadre.wait_for_message("Photo added", timeout=15)).buttons:
                pass  # an earlier prompt losing its buttons
            await cadre.tap("Repair the road to the school")
            await cadre.wait_for_message("Saved note #", timeout=15)
    assert (tmp_path / "var" / "civicpulse.db").exists()
    assert list((tmp_path / "var" / "evidence").rglob("*.png")), "the photo is kept under var/"


async def test_with_a_token_it_polls_the_configured_bot_api(
    tmp_path: Path, db: Database, db_url: str
) -> None:
    await seed_campaign(db)
    sandbox = BotApiSandbox(token="42:real-looking-token")
    await sandbox.start()
    env = {"TELEGRAM_BOT_TOKEN": sandbox.token, "TELEGRAM_API_URL": sandbox.base_url,
           "DATABASE_URL": db_url, "CIVICPULSE_SECRET_KEY": "k" * 32,
           "CIVICPULSE_CONFIG": str(tmp_path / "absent.yaml")}
    (tmp_path / "absent.yaml").write_text("bot:\n  poll_timeout_s: 1\nweb:\n  port: 0\n")
    try:
        async with civicpulse_run(env), SandboxClient(sandbox.base_url) as client:
            user = await client.user(8002, "Real")
            await user.send("/start willow")
            # The intro and the first question come as one message.
            first = await user.wait_for_message("1/5", timeout=15)
            assert "anonymous" in first.text
    finally:
        await sandbox.stop()
