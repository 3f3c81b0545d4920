"""One polling process per bot token: Telegram hands getUpdates to one caller at a time, and
two pollers keep ending each other's requests (409 Conflict)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from sandbox import BotApiSandbox, SandboxClient
from storage.uow import Database
from tests.conftest import seed_campaign
from tests.e2e.processes import BotProcess

pytestmark = pytest.mark.e2e
CONFIG = "bot:\n  poll_timeout_s: 5\n"


async def polling(box: BotApiSandbox, bot: BotProcess) -> None:
    async with asyncio.timeout(60):
        while not box.stats()["calls"].get("getUpdates"):
            assert bot.process is not None and bot.process.returncode is None, bot.output()
            await asyncio.sleep(0.05)


async def exits(bot: BotProcess) -> int:
    assert bot.process is not None
    return await asyncio.wait_for(bot.process.wait(), 60)


async def test_a_second_process_on_the_same_token_refuses_to_start(
    db: Database, db_url: str, tmp_path: Path,
) -> None:
    await seed_campaign(db)
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    async with BotApiSandbox(token="42:shared-token") as box:
        first = BotProcess(box, db_url, tmp_path / "first", CONFIG)
        second = BotProcess(box, db_url, tmp_path / "second", CONFIG)
        await first.start()
        try:
            await polling(box, first)
            calls = box.stats()["calls"]["getUpdates"]
            await second.start()
            assert await exits(second) == 1
            said = second.output()
            assert "another process" in said and "already polling" in said, said
            assert "Only one process may poll per bot token" in said
            assert "Traceback" not in said
            assert box.stats()["calls"]["getUpdates"] == calls, "the second never polled"
            # The first goes on answering.
            async with SandboxClient(box.base_url) as client:
                user = await client.user(8101, "Resident")
                await user.send("/start willow")
                await user.wait_for_message("1/5", timeout=30)
        finally:
            await first.stop()
        assert first.process is not None and first.process.returncode == 0, first.output()
        # Once the first has stopped, the lock is free again.
        third = BotProcess(box, db_url, tmp_path / "second", CONFIG)
        await third.start()
        try:
            await polling(box, third)
            await asyncio.sleep(0.5)
            assert third.process is not None and third.process.returncode is None
        finally:
            await third.stop()


async def test_a_conflict_from_telegram_stops_the_bot_with_a_clear_message(
    db: Database, db_url: str, tmp_path: Path,
) -> None:
    """Another machine polls with the token (so no shared lock): Telegram ends one of the two
    long polls with 409 Conflict. The bot stops and says why, rather than fight on."""
    await seed_campaign(db)
    async with BotApiSandbox(token="42:shared-token") as box:
        bot = BotProcess(box, db_url, tmp_path, CONFIG)
        await bot.start()
        try:
            await polling(box, bot)
            await asyncio.sleep(0.5)  # its long poll is waiting now
            async with aiohttp.ClientSession() as http:
                url = f"{box.base_url}/bot{box.token}/getUpdates"
                async with http.post(url, json={"timeout": 1}) as reply:
                    assert reply.status == 200  # the other machine's poll goes through
            assert await exits(bot) == 1
        finally:
            await bot.stop()
        said = bot.output()
        assert "another process is polling with this bot token" in said, said
        assert "Conflict" in said and "Stop the other one" in said
        assert "Traceback" not in said
