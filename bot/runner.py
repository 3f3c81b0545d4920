"""`civicpulse run`: the bot by long polling or by webhook, against Telegram or the local
sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application

from bot.app import build_application, cases_of, metrics_of, resolve_secret, running, webhook_of
from bot.demo import demo_cadre_invite, seed_demo, seed_demo_appraisal, seed_demo_cases
from bot.leader import PollingLock
from bot.polling import CommittedPolling, PollingStopped
from bot.settings import ConfigError, Settings
from bot.webhook import WebhookFeed
from sandbox import BotApiSandbox, RateLimit, StateDirBusy
from storage.clock import utcnow
from storage.migrate import upgrade
from storage.uow import Database
from surveys.appraisal.run import AppraisalOptions
from surveys.campaigns.rules import deep_link

log = logging.getLogger(__name__)


async def run(settings: Settings, *, migrate: bool = True, sets_webhook: bool = True) -> None:
    """Migrate (unless a parent did), then take updates until SIGINT or SIGTERM: by long
    polling, or by webhook when ``webhook.url`` is set (setting it unless a parent did).

    Raises:
        PollingStopped: another process polls with this token (here or, by Telegram's word,
            anywhere), or Telegram refused the token or the webhook.
    """
    secret = resolve_secret(settings)
    if migrate:
        await asyncio.to_thread(upgrade, settings.database_url)
    db = Database.from_url(settings.database_url, **settings.database_options)
    sandbox: BotApiSandbox | None = None
    token = (settings.sandbox.token if settings.telegram_token is None
             else settings.telegram_token.get_secret_value())
    # Webhook workers share the updates (Telegram posts each to one of them); pollers cannot.
    lock = PollingLock(db, token) if settings.webhook.url is None else None
    try:
        refused = await lock.acquire() if lock is not None else None
        if refused is not None:
            raise PollingStopped(
                f"{refused}. Only one process may poll per bot token (Telegram hands updates "
                "to one poller at a time); stop the other one first, or run the bot in "
                "webhook mode (civicpulse run --webhook URL) to have several.")
        if settings.telegram_token is None:
            sandbox, api_url = await _start_sandbox(settings)
            await _seed_and_greet(settings, db, secret, api_url)
        else:
            api_url = settings.telegram_api_url
            log.info("talking to the Bot API at %s", api_url)
        application = build_application(
            settings, db, token=token, api_url=api_url, secret=secret
        )
        hook = webhook_of(application)
        feed: CommittedPolling | WebhookFeed
        if hook is not None:
            hook.sets_webhook = sets_webhook
            feed = hook
        else:
            feed = CommittedPolling(application, timeout=settings.bot.poll_timeout_s,
                                    allowed_updates=Update.ALL_TYPES,
                                    metrics=metrics_of(application))
        await _serve_until_stopped(application, feed)
    finally:
        if sandbox is not None:
            await sandbox.stop()
        if lock is not None:
            await lock.release()
        await db.dispose()


async def _start_sandbox(settings: Settings) -> tuple[BotApiSandbox, str]:
    """The local Bot API stand-in, listening; with its address."""
    box = settings.sandbox
    try:
        sandbox = BotApiSandbox(
            token=box.token,
            bot_username=box.bot_username,
            global_limit=RateLimit(box.global_limit.rate, box.global_limit.burst),
            chat_limit=RateLimit(box.chat_limit.rate, box.chat_limit.burst),
            # Users, chats and update ids survive a restart of `make run`: a restarted
            # sandbox counting update ids from the start again would be ignored by the bot.
            state_dir=settings.var_dir / "sandbox",
        )
    except StateDirBusy as exc:
        raise ConfigError(f"sandbox: {exc}") from exc
    try:
        return sandbox, await sandbox.start(box.host, box.port)
    except OSError as exc:
        await sandbox.stop()
        raise ConfigError(
            f"sandbox.port: cannot listen on {box.host}:{box.port} ({exc.strerror}); "
            "stop what uses it or choose another port in config.yaml"
        ) from exc


async def _seed_and_greet(settings: Settings, db: Database, secret: bytes, base: str) -> None:
    """The demo's campaign, cadre, cases and appraisal, and how to reach them."""
    box = settings.sandbox
    code = await seed_demo(db, utcnow())
    cadre = await demo_cadre_invite(db, utcnow())
    # Before the appraisal: last quarter's closed cases are in its results.
    await seed_demo_cases(db, utcnow(), cases_of(settings))
    appraised = await seed_demo_appraisal(
        db, utcnow(), AppraisalOptions(settings.appraisal_config(), secret))
    cadre_line = (f"  Demo cadre:     as another user send: /start {cadre}  (then /note)\n"
                  if cadre else "")
    print(
        "\nCivicPulse is running against the local sandbox (no TELEGRAM_BOT_TOKEN set).\n"
        f"  Chat page:      {base}/\n"
        f"  Demo campaign:  {code}  (in the chat page send: /start {code})\n"
        f"  Deep link form: {deep_link(box.bot_username, code)}\n"
        f"{cadre_line}"
        f"{dashboard_line(settings)}"
        f"  Saved chats:    {settings.var_dir / 'sandbox'}  (users and chats survive a "
        "restart; delete it to start afresh)\n"
        f"  Appraisal:      {appraised} published (the demo cadre's /myscore, an "
        "admin's /results)\n"
        "  Cases:          Willow Village's open, overdue and solved cases (the demo "
        "cadre's /cases; \"You said, we did\" in an admin's /results)\n"
        "Press Ctrl+C to stop.\n",
        flush=True,
    )


def dashboard_line(settings: Settings) -> str:
    web = settings.web
    if not web.enabled:
        return ""
    url = web.public_url or f"http://{web.host}:{web.port}"
    return (f"  Dashboard:      {url}/  (/myscore's button opens it; /dashboard sends a sign-in "
            "link)\n")


async def _serve_until_stopped(
    application: Application[Any, Any, Any, Any, Any, Any], feed: CommittedPolling | WebhookFeed
) -> None:
    """Until SIGINT or SIGTERM (or polling fails): then the updates in flight finish first."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        async with running(application, feed):
            # What start-up built (modules, mappers, catalogs, templates) lives as long as the
            # process: out of the collector's sight, a full collection walks only what came
            # after (one at start-up walked it for about 75 ms).
            gc.collect()
            gc.freeze()
            waits = {asyncio.create_task(stop.wait())}
            if isinstance(feed, CommittedPolling):
                waits.add(asyncio.create_task(feed.stopped.wait()))
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for task in waits:
                task.cancel()
    except TelegramError as exc:
        if isinstance(feed, WebhookFeed):
            # setWebhook refused: a wrong address, or Telegram cannot reach it.
            raise PollingStopped(f"Telegram refused the webhook {feed.url}: {exc}") from exc
        raise
    if isinstance(feed, CommittedPolling) and feed.failure is not None:
        raise feed.failure
