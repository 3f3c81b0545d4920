"""End-to-end harness: the real python-telegram-bot Application polling the sandbox over HTTP
(or taking its webhook posts)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from telegram.ext import Application

from bot.app import background_of, build_application, running, web_server_of, webhook_of
from bot.polling import CommittedPolling
from bot.settings import BotSection, PrivacySection, Settings, WebhookSection, WebSection
from bot.webhook import WebhookFeed
from sandbox import BotApiSandbox, RateLimit, SandboxClient
from storage.uow import Database
from tests.conftest import SECRET, seed_campaign


class Clock:
    """A clock the test can move forward (campaigns close, days pass)."""

    def __init__(self) -> None:
        self.offset_s = 0.0

    def __call__(self) -> datetime:
        from datetime import timedelta

        return datetime.now(UTC) + timedelta(seconds=self.offset_s)


class Bot:
    """Starts, stops and restarts the Application against one sandbox and one database."""

    def __init__(self, sandbox: BotApiSandbox, db: Database, clock: Clock,
                 concurrent_updates: int = 16, web: bool = False, webhook: bool = False,
                 messages_per_second: float = 30,
                 ) -> None:
        self.sandbox = sandbox
        self.db = db
        self.clock = clock
        # Residents' case entries are not held for staff here: the tests of the case loop's
        # other rules would otherwise move the clock past a hold window at every step. The
        # hold (on in production) has its own tests, which turn it on: HOLD below.
        # The dashboard only where a test asks for it (``web_bot``), on a free port: the
        # chat's replies are otherwise the ones without its buttons.
        # A webhook's address names its port before the server listens: a free one now.
        port = free_port() if webhook else 0
        self.settings = Settings(
            bot=BotSection(concurrent_updates=concurrent_updates,
                           max_messages_per_second=messages_per_second),
            privacy=PrivacySection(hold_residents_entries=False),
            web=WebSection(enabled=web, port=port),
            webhook=WebhookSection(url=f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
                                   if webhook else None))
        # False: the case relay's supervision (comment moves, reminders, the batch audit...)
        # runs only when the test calls ``relay.sweep()``, not every minute of real time, which
        # with a frozen clock would land at whatever step a loaded machine had reached.
        self.relay_sweeps = True
        self.application: Application[Any, Any, Any, Any, Any, Any] | None = None
        self.polling: CommittedPolling | None = None
        self.webhook: WebhookFeed | None = None
        self._life = contextlib.AsyncExitStack()

    async def start(self) -> None:
        self.application = build_application(
            self.settings, self.db, token=self.sandbox.token, api_url=self.sandbox.base_url,
            secret=SECRET, clock=self.clock,
        )
        if not self.relay_sweeps:
            background_of(self.application).relay.sweep_s = None
        self.webhook = webhook_of(self.application)
        feed: CommittedPolling | WebhookFeed | None = self.webhook
        if feed is None:
            # As `civicpulse run` polls: confirming to the Bot API only what was handled.
            feed = self.polling = CommittedPolling(self.application, timeout=1)
        # The Application's lifecycle starts (and stops) the scheduler and the outbox sender.
        await self._life.enter_async_context(running(self.application, feed))

    @property
    def web_url(self) -> str:
        """The dashboard's address while the bot runs (``web_bot`` only)."""
        assert self.application is not None
        server = web_server_of(self.application)
        assert server is not None and server.deps.web_url is not None
        return server.deps.web_url

    async def stop(self) -> None:
        if self.application is None:
            return
        await self._life.aclose()
        self.polling = self.webhook = None
        self.application = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()


WEBHOOK_PATH = "/telegram/updates"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# The hold as shipped (config.yaml): for the tests of the hold and of what it protects.
HOLD = PrivacySection()


async def redeliver(bot: Bot, client: SandboxClient, update_id: int) -> None:
    """Deliver an update again once the bot has finished with it (while it is still being
    handled, the poller rightly takes a second copy for the same update and skips it)."""
    assert bot.polling is not None
    async with asyncio.timeout(10):
        await bot.polling.settled()
    await client.redeliver(update_id)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limits() -> tuple[RateLimit | None, RateLimit | None]:
    """Generous limits by default so journeys are quick; flood tests override this."""
    return RateLimit(rate=1000, burst=1000), RateLimit(rate=100, burst=100)


@pytest.fixture
async def sandbox(
    limits: tuple[RateLimit | None, RateLimit | None],
) -> AsyncIterator[BotApiSandbox]:
    box = BotApiSandbox(global_limit=limits[0], chat_limit=limits[1])
    await box.start()
    try:
        yield box
    finally:
        await box.stop()


@pytest.fixture
async def bot(sandbox: BotApiSandbox, db: Database, clock: Clock) -> AsyncIterator[Bot]:
    await seed_campaign(db)
    harness = Bot(sandbox, db, clock)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


@pytest.fixture
async def web_bot(sandbox: BotApiSandbox, db: Database, clock: Clock) -> AsyncIterator[Bot]:
    """The bot with its dashboard (handlers/web) listening on a free port."""
    await seed_campaign(db)
    harness = Bot(sandbox, db, clock, web=True)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


@pytest.fixture
async def client(sandbox: BotApiSandbox) -> AsyncIterator[SandboxClient]:
    async with SandboxClient(sandbox.base_url) as c:
        yield c


UserFactory = Callable[..., Any]
