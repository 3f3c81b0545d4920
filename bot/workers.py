"""`civicpulse run --workers N`: N bot processes in webhook mode, sharing the port (the
kernel spreads Telegram's connections among them, SO_REUSEPORT) and the PostgreSQL database.

This parent migrates once, starts the workers and watches them: one that dies is started
again (Telegram posts again what it had in flight; the duplicate check keeps it from being
processed twice), and SIGTERM or SIGINT is passed on, each worker finishing the updates it is
handling before it exits. Exactly one worker runs the scheduler and the outbox (the leader
lock of bot/leader.py); when it dies another takes over.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from telegram import Bot, Update
from telegram.error import TelegramError

from bot.cli.common import CliError
from bot.request import AiohttpRequest
from bot.rules import resolve_secret
from bot.settings import Settings
from bot.webhook import set_webhook, webhook_secret
from storage.migrate import upgrade

log = logging.getLogger(__name__)

# A worker that died is started again after this pause (a crash loop does not spin).
RESTART_AFTER_S = 1.0
# How long the parent waits for the workers to drain after passing a stop on.
STOP_WAIT_S = 30.0


def worker_command(settings: Settings, config: str | None) -> list[str]:
    assert settings.webhook.url is not None
    command = [sys.executable, "-m", "bot.cli"]
    if config is not None:
        command += ["--config", config]
    return [*command, "run", "--worker", "--webhook", settings.webhook.url]


async def _set_webhook(settings: Settings) -> None:
    hook = settings.webhook
    assert hook.url is not None and settings.telegram_token is not None
    bot = Bot(settings.telegram_token.get_secret_value(),
              base_url=f"{settings.telegram_api_url}/bot", request=AiohttpRequest())
    try:
        async with bot:
            await set_webhook(bot, hook.url, secret_token=webhook_secret(resolve_secret(settings)),
                              max_connections=hook.max_connections,
                              allowed_updates=hook.allowed_updates or Update.ALL_TYPES)
    except TelegramError as exc:
        raise CliError(f"Telegram refused the webhook {hook.url}: {exc}") from exc


def check_workers(settings: Settings, count: int) -> None:
    """Refuse what several workers cannot do, saying what to do instead."""
    if settings.webhook.url is None:
        raise CliError(f"--workers {count}: several workers take updates by webhook only "
                       "(Telegram hands long-polled updates to one process); add --webhook URL "
                       "or set webhook.url")
    if not settings.database_url.startswith("postgresql"):
        raise CliError(f"--workers {count}: SQLite has one writer at a time, so it runs one "
                       "worker; use PostgreSQL (DATABASE_URL) for more")
    if settings.uses_sandbox:
        raise CliError(f"--workers {count}: each worker would start its own sandbox; start "
                       "the sandbox once (python -m sandbox) and point TELEGRAM_API_URL and "
                       "TELEGRAM_BOT_TOKEN at it, or use a real bot token")


def run_workers(settings: Settings, count: int, config: str | None) -> int:
    check_workers(settings, count)
    upgrade(settings.database_url)
    # Once, here: a worker setting it as it starts would have Telegram post the others'
    # updates in flight again (answered twice).
    asyncio.run(_set_webhook(settings))
    command = worker_command(settings, config)
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    workers = [subprocess.Popen(command, cwd=Path.cwd()) for _ in range(count)]
    log.info("started %d workers: %s", count, ", ".join(str(w.pid) for w in workers))
    try:
        while not stopping:
            for index, worker in enumerate(workers):
                code = worker.poll()
                if code is not None and not stopping:
                    log.warning("worker %d exited with %d; starting it again", worker.pid, code)
                    time.sleep(RESTART_AFTER_S)
                    workers[index] = subprocess.Popen(command, cwd=Path.cwd())
            time.sleep(0.2)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_WAIT_S
        for worker in workers:
            try:
                worker.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker %d did not stop in time; killing it", worker.pid)
                worker.kill()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
