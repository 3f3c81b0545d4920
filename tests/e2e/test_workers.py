"""Several webhook workers as real processes on one port and one PostgreSQL database: one
killed with SIGKILL under load loses no answer, processes no update twice, and the other
takes over the scheduler; and what `--workers` refuses."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from bot.leader import ADVISORY_KEY
from sandbox import BotApiSandbox, SandboxClient, SandboxUser
from storage.models import Answer, Response, ResponseStatus
from storage.uow import Database
from tests.conftest import PG_URL, seed_campaign
from tests.e2e.conftest import WEBHOOK_PATH, free_port
from tests.e2e.test_resident_journey import tap_and_wait
from tests.e2e.test_run_command import Output

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
# The leader lock's retry (bot.background.LEADERSHIP_RETRY_S) and some slack for a busy machine.
TAKEOVER_S = 15 + 10


@asynccontextmanager
async def worker(args: list[str], env: dict[str, str]) -> AsyncIterator[
        tuple[asyncio.subprocess.Process, Output]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", *args, cwd=ROOT, env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    assert process.stdout is not None
    output = Output(process.stdout)
    try:
        yield process, output
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 30)
        await output.task


async def leader_backend(db: Database) -> int | None:
    """The PostgreSQL backend holding the scheduler's lock (None if nobody leads)."""
    async with db.transaction() as uow:
        return await uow.session.scalar(text(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND objid = :key"), {"key": ADVISORY_KEY})


async def answer_and_submit(user: SandboxUser) -> str:
    """The whole poll. A step whose worker died after committing is answered again by the
    other one as things stand ("Welcome back..." for a /start), so only progress is checked."""
    await user.send("/start willow")
    await user.wait_for_message("1/5", timeout=30)
    for button, expect in [("4", "2/5"), ("Yes", "3/5"), ("5", "4/5"), ("4", "5/5")]:
        await user.tap(button)
        await user.wait_for_message(expect, timeout=30)
    await user.send("Friendly staff, thanks")
    await user.wait_for_message("Your answers", timeout=30)
    return (await tap_and_wait(user, "✅ Submit", "Thank you")).text


async def until(check: object, timeout: float) -> None:  # noqa: ASYNC109
    async with asyncio.timeout(timeout):
        while not await check():  # type: ignore[operator]  # noqa: ASYNC110 - a query, no event
            await asyncio.sleep(0.2)


@asynccontextmanager
async def _workers_stack(tmp_path: Path, postgres_url: str, **delivery: float) -> AsyncIterator[
        tuple[Database, BotApiSandbox, dict[str, str], str]]:
    """A seeded PostgreSQL database, a sandbox, the workers' environment and webhook URL."""
    from tests.conftest import _truncate

    db = Database.from_url(postgres_url)
    await _truncate(db)
    await seed_campaign(db)
    sandbox = BotApiSandbox(token="42:workers-token", global_limit=None, chat_limit=None,
                            **delivery)
    await sandbox.start()
    port = free_port()
    (tmp_path / "config.yaml").write_text(f"web:\n  enabled: false\n  port: {port}\n")
    env = {"TELEGRAM_BOT_TOKEN": sandbox.token, "TELEGRAM_API_URL": sandbox.base_url,
           "DATABASE_URL": postgres_url, "CIVICPULSE_SECRET_KEY": "k" * 32,
           "CIVICPULSE_CONFIG": str(tmp_path / "config.yaml")}
    try:
        yield db, sandbox, env, f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
    finally:
        await sandbox.stop()
        await db.dispose()


@pytest.mark.skipif(PG_URL is None, reason="several workers need PostgreSQL (TEST_DATABASE_URL)")
async def test_a_worker_killed_under_load_loses_nothing(
    tmp_path: Path, postgres_url: str
) -> None:
    async with _workers_stack(tmp_path, postgres_url, webhook_retry_delay=0.2,
                              webhook_max_retry_delay=1.0) as (db, sandbox, env, url):
        hook = ["--webhook", url]
        async with worker(hook, env) as (first, first_out):
            await first_out.wait_for("webhook set")
            await until(lambda: leader_backend(db), 20)
            led_by = await leader_backend(db)
            async with worker(hook, env) as (second, second_out), \
                    SandboxClient(sandbox.base_url) as client:
                await second_out.wait_for("webhook set")
                residents = [await client.user(9100 + i, f"R{i}", language_code="en")
                             for i in range(16)]
                answering = [asyncio.create_task(answer_and_submit(user)) for user in residents]
                await asyncio.sleep(1.0)  # residents are mid-poll, posts in flight
                first.send_signal(signal.SIGKILL)
                thanks = await asyncio.wait_for(asyncio.gather(*answering), 90)
                assert all("Thank you" in t for t in thanks)

                async def taken_over() -> bool:
                    holder = await leader_backend(db)
                    return holder is not None and holder != led_by

                await until(taken_over, TAKEOVER_S)
                assert second.returncode is None
            assert second.returncode == 0, "drains and stops on SIGTERM:\n" + "".join(
                second_out.lines)
        assert first.returncode == -signal.SIGKILL
        async with db.transaction() as uow:
            completed = await uow.session.scalar(
                select(func.count()).select_from(Response)
                .where(Response.status == ResponseStatus.COMPLETED))
            answers = await uow.session.scalar(select(func.count()).select_from(Answer))
        # Nothing lost, nothing twice: 16 polls of five answers each.
        assert (completed, answers) == (16, 16 * 5)


@pytest.mark.skipif(PG_URL is None, reason="several workers need PostgreSQL (TEST_DATABASE_URL)")
async def test_the_parent_of_workers_sets_the_webhook_once_so_nothing_is_answered_twice(
    tmp_path: Path, postgres_url: str
) -> None:
    # A worker setting the webhook as it starts cuts the posts in flight to the others short,
    # and Telegram (the sandbox too) posts them again: answered twice, two copies of a question.
    async with _workers_stack(tmp_path, postgres_url) as (_db, sandbox, env, url):
        args = ["--webhook", url, "--workers", "2"]
        async with worker(args, env) as (parent, output), \
                SandboxClient(sandbox.base_url) as client:
            await output.wait_for("webhook set")
            residents = [await client.user(9200 + i, f"R{i}", language_code="en")
                         for i in range(6)]
            # Residents begin while the workers are still starting.
            answering = [asyncio.create_task(answer_and_submit(user)) for user in residents]
            thanks = await asyncio.wait_for(asyncio.gather(*answering), 90)
            assert all("Thank you" in t for t in thanks)
            await until(lambda: _both_taking(output), 30)
            for user in residents:
                asked = {event.message.message_id for event in await user.chat()
                         if event.message is not None and event.message.from_bot
                         and "1/5" in event.message.text}
                assert len(asked) == 1, "the first question in one message, not twice"
            parent.send_signal(signal.SIGTERM)
            await asyncio.wait_for(parent.wait(), 40)
        printed = "".join(output.lines)
        assert parent.returncode == 0, printed
        assert printed.count("webhook set") == 1, printed
        assert "was handled before" not in printed, printed


async def _both_taking(output: Output) -> bool:
    return "".join(output.lines).count("taking the posts of the webhook") == 2


async def test_several_workers_need_webhooks_and_postgresql(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("web:\n  port: 0\n")
    env = {"CIVICPULSE_CONFIG": str(config), "TELEGRAM_BOT_TOKEN": "42:token",
           "CIVICPULSE_SECRET_KEY": "k" * 32,
           "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"}
    async with worker(["--workers", "2"], env) as (process, output):
        await asyncio.wait_for(process.wait(), 30)
    assert process.returncode == 1
    assert "take updates by webhook only" in "".join(output.lines)
    async with worker(["--workers", "2", "--webhook", "https://bot.example.org/hook"],
                      env) as (process, output):
        await asyncio.wait_for(process.wait(), 30)
    assert process.returncode == 1
    assert "SQLite has one writer" in "".join(output.lines)
    async with worker(["--webhook", "not a url"], env) as (process, output):
        await asyncio.wait_for(process.wait(), 30)
    assert process.returncode == 1
    assert "--webhook: 'not a url' is not an http(s) address" in "".join(output.lines)
