"""Wiring: one place builds the Application with its handlers and dependencies, and leads its
life (:func:`running`)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder

from bot.background import Background
from bot.loops import JobCallback
from bot.metrics import Metrics
from bot.ops import ReadyCheck, ops_routes
from bot.pace import RepliesFirst
from bot.polling import CommittedPolling
from bot.request import AiohttpRequest
from bot.rules import burden_of, cases_of, fieldwork_of, resolve_secret
from bot.settings import Settings
from bot.turns import mark_failed
from bot.web import WebServer
from bot.webhook import WebhookFeed, webhook_secret
from handlers.admin import admin_audience
from handlers.approval import approval_audience
from handlers.cadre import cadre_audience
from handlers.cases_resident import CASES_GROUP, case_resident_handlers
from handlers.cases_staff import cases_staff_audience
from handlers.common import answer
from handlers.dashboard import dashboard_audience
from handlers.deps import Context, Deps
from handlers.inspector import inspector_audience
from handlers.menus import set_default_menus
from handlers.resident import resident_handlers
from handlers.results import results_audience
from handlers.router import ROLES_GROUP, role_handlers
from handlers.texts import catalogs, t
from storage.clock import Clock
from storage.db import DatabaseUnavailable
from storage.evidence import EvidenceStore
from storage.uow import Database
from surveys.people.caller import resolve_language
from surveys.people.sign_in import WebRules
from surveys.questionnaire.catalog import SurveyCatalog
from surveys.respondents.anonymity import DEFAULT_RESOLUTION, coarse

log = logging.getLogger(__name__)

__all__ = ["build_application", "burden_of", "cases_of", "fieldwork_of", "resolve_secret",
           "running"]

def build_application(
    settings: Settings,
    db: Database,
    *,
    token: str,
    api_url: str,
    secret: bytes,
    clock: Clock | None = None,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """Build the python-telegram-bot Application talking to ``api_url`` (Telegram or sandbox).

    ``clock`` is the database's unless a test moves time on for the bot alone."""
    clock = clock or db.clock
    metrics = Metrics()
    db.on_transaction = metrics.transaction_seconds.observe
    catalogs()  # read the text catalogs now: a broken one stops the start, not a reply
    deps = _deps(settings, db, secret, clock, metrics)
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{api_url}/bot")
        .base_file_url(f"{api_url}/file/bot")
        .concurrent_updates(settings.bot.concurrent_updates)
        # All chats together at Telegram's pace, replies to people waiting first; after a 429
        # everything waits the retry_after Telegram gives.
        .rate_limiter(
            RepliesFirst(
                rate=settings.bot.max_messages_per_second,
                # A sixth of a second's worth saved up: a whole second's burst at once followed
                # by sending at exactly Telegram's rate leaves no slack for jitter, so Telegram
                # answers 429 and every send pauses for a second.
                burst=max(1.0, settings.bot.max_messages_per_second / 6),
                max_retries=settings.bot.retries_after_429,
            )
        )
        # aiohttp rather than PTB's default httpx: a third of the CPU per request (bot/request.py).
        .request(AiohttpRequest(connection_pool_size=max(8, min(settings.bot.concurrent_updates,
                                                                64)), pool_timeout=30,
                                observe=metrics.count_call))
        .get_updates_request(AiohttpRequest(connection_pool_size=1))
        # Starting the Application starts the work that is not a reply to an update, and
        # stopping it stops that work (see running()).
        .post_init(_post_init)
        .post_stop(_post_stop)
        .build()
    )
    background = Background(application, db, settings, deps, clock, metrics)
    application.bot_data[_BACKGROUND] = background
    application.bot_data[_METRICS] = metrics
    _serve_web(application, settings, db, deps, token, secret, metrics, background)
    # Commands, buttons and dialogues of people with roles run before the resident journey
    # (group 0); whichever handles an update stops it there.
    audiences = [results_audience(deps), inspector_audience(deps), cadre_audience(deps),
                 admin_audience(deps)]
    audiences.append(cases_staff_audience(deps))
    audiences.append(dashboard_audience(deps))
    audiences.append(approval_audience(deps))
    application.add_handlers(role_handlers(deps, audiences), group=ROLES_GROUP)
    application.add_handlers(case_resident_handlers(deps), group=CASES_GROUP)
    application.add_handlers(resident_handlers(deps))
    application.add_error_handler(_on_error)
    _schedule_maintenance(application, db, clock, settings.sentiment.batch_size,
                          settings.sentiment.interval_s,
                          timedelta(minutes=settings.privacy.time_resolution_minutes),
                          leading=lambda: background.leading, tracked=background.jobs.tracked)
    return application


def _deps(settings: Settings, db: Database, secret: bytes, clock: Clock,
          metrics: Metrics) -> Deps:
    return Deps(
        db=db,
        secret=secret,
        catalog=SurveyCatalog(),
        default_language=settings.bot.default_language,
        min_cell_size=settings.privacy.min_cell_size,
        time_resolution=timedelta(minutes=settings.privacy.time_resolution_minutes),
        clock=clock,
        bot_username=settings.bot.username if not settings.uses_sandbox
        else settings.sandbox.bot_username,
        burden=burden_of(settings),
        default_closes_after_days=settings.surveys.default_closes_after_days,
        fieldwork=fieldwork_of(settings),
        evidence=EvidenceStore(settings.evidence_dir),
        cases=cases_of(settings),
        web=web_rules_of(settings),
        publish_requires_approval=settings.appraisal.publish_requires_approval,
        public_url=settings.web.public_url if settings.web.enabled else None,
        on_duplicate=metrics.duplicates.inc,
    )


def _serve_web(application: Application[Any, Any, Any, Any, Any, Any], settings: Settings,
               db: Database, deps: Deps, token: str, secret: bytes, metrics: Metrics,
               background: Background) -> None:
    """The webhook feed (when configured) and the aiohttp server for it, the pages and /metrics."""
    hook = settings.webhook
    feed = None
    if hook.url is not None:
        feed = WebhookFeed(application, url=hook.url, path=hook.path,
                           secret_token=webhook_secret(secret),
                           max_connections=hook.max_connections,
                           allowed_updates=hook.allowed_updates or Update.ALL_TYPES,
                           metrics=metrics)
        application.bot_data[_WEBHOOK] = feed
    if settings.web.enabled or feed is not None:
        application.bot_data[_WEB] = WebServer(
            settings.web, deps, token, sandbox=settings.uses_sandbox, bot=application.bot,
            pages=settings.web.enabled,
            routes=ops_routes(metrics, _readiness(application, db, feed), background.refresh),
            posts={feed.path: feed.receive} if feed is not None else None,
            reuse_port=feed is not None)


_BACKGROUND = "civicpulse.background"
_WEB = "civicpulse.web"
_WEBHOOK = "civicpulse.webhook"
_METRICS = "civicpulse.metrics"


def metrics_of(application: Application[Any, Any, Any, Any, Any, Any]) -> Metrics:
    metrics = application.bot_data[_METRICS]
    assert isinstance(metrics, Metrics)
    return metrics


def webhook_of(application: Application[Any, Any, Any, Any, Any, Any]) -> WebhookFeed | None:
    """The webhook feed built with the application (None in polling mode)."""
    feed = application.bot_data.get(_WEBHOOK)
    assert feed is None or isinstance(feed, WebhookFeed)
    return feed


def _readiness(application: Application[Any, Any, Any, Any, Any, Any], db: Database,
               feed: WebhookFeed | None) -> ReadyCheck:
    async def ready() -> str | None:
        if not application.running or (feed is not None and not feed.open):
            return "starting or stopping"
        try:
            await db.ping()
        except DatabaseUnavailable as exc:
            return f"the database is unavailable ({exc})"
        return None

    return ready


def web_server_of(application: Application[Any, Any, Any, Any, Any, Any]) -> WebServer | None:
    """The dashboard's server built with the application (None when web.enabled is off)."""
    server = application.bot_data.get(_WEB)
    assert server is None or isinstance(server, WebServer)
    return server


def web_rules_of(settings: Settings) -> WebRules:
    section = settings.web
    return WebRules(link_valid_for=timedelta(minutes=section.link_valid_minutes),
                    session_for=timedelta(hours=section.session_hours),
                    max_attempts=section.max_sign_in_attempts,
                    attempts_window=timedelta(minutes=section.sign_in_window_minutes))


def background_of(application: Application[Any, Any, Any, Any, Any, Any]) -> Background:
    """The scheduler and outbox sender built with the application."""
    background = application.bot_data[_BACKGROUND]
    assert isinstance(background, Background)
    return background


@asynccontextmanager
async def running(application: Application[Any, Any, Any, Any, Any, Any],
                  polling: CommittedPolling | WebhookFeed) -> AsyncIterator[None]:
    """The Application's life as PTB's ``run_polling`` leads it, with ``polling`` (or the
    webhook feed) in the place of PTB's Updater (which would confirm updates before they are
    handled).

    ``run_polling`` runs its own event loop and Updater, so the bot (and the e2e tests, which
    run the sandbox in the same loop) lead the same steps here: initialize, ``post_init``,
    start, then polling while the block runs; afterwards polling stops (the updates in flight
    finish), then stop, ``post_stop``, shutdown and ``post_shutdown``, each of the later steps
    whatever became of the earlier ones.
    """
    await application.initialize()
    try:
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        try:
            await polling.start()
            try:
                yield
            finally:
                await polling.stop()
        finally:
            # Running jobs end first: the job queue's stop would cancel them mid-work.
            await background_of(application).jobs.drain(application.job_queue)
            await application.stop()
            if application.post_stop is not None:
                await application.post_stop(application)
    finally:
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)


# Telegram keeps an undelivered update for at most 24 hours, so older ids never come back.
UPDATE_IDS_KEPT = timedelta(days=2)
# A poll begun this long ago and not finished is reshuffled as it stands.
ABANDONED_AFTER = timedelta(days=1)
RESHUFFLE_BATCH = 5000


def _schedule_maintenance(
    application: Application[Any, Any, Any, Any, Any, Any], db: Database, clock: Clock,
    batch_size: int = 500, sentiment_interval_s: float = 60,
    resolution: timedelta = DEFAULT_RESOLUTION, leading: Callable[[], bool] = lambda: True,
    tracked: Callable[[JobCallback], JobCallback] = lambda callback: callback,
) -> None:
    async def prune_update_ids() -> int:
        async with db.transaction() as uow:
            return await uow.updates.prune(clock() - UPDATE_IDS_KEPT)

    async def prune_sign_ins() -> int:
        # Ended sessions, spent or expired links, and attempts older than any window.
        async with db.transaction() as uow:
            now = clock()
            return await uow.web.prune(now, now - timedelta(days=1))

    async def score_texts() -> int:
        # Comments, notes and remarks get their sentiment soon after they arrive, so an
        # appraisal run finds little left to score. The analysers run in a worker thread.
        from surveys.appraisal.textscoring import score_pending

        return await score_pending(db, batch_size, limit=10 * batch_size,
                                   settled_before=coarse(clock(), resolution))

    async def reshuffle() -> int:
        # Answers of a closed privacy window, and polls left unfinished for a day, rewritten
        # in random order (see ResponsesRepository.reshuffle).
        now, total = clock(), 0
        while True:
            async with db.transaction() as uow:
                moved = await uow.responses.reshuffle(
                    coarse(now, resolution), now - ABANDONED_AFTER, limit=RESHUFFLE_BATCH)
            total += moved
            if moved < RESHUFFLE_BATCH:
                return total

    assert application.job_queue is not None  # the job-queue extra is a dependency
    jobs = application.job_queue
    every = [
        (_job("prune processed update ids", "pruned %d processed update ids", prune_update_ids,
              leading), 3600, 60, "prune_update_ids"),
        (_job("prune sign-ins", None, prune_sign_ins, leading), 3600, 120, "prune_sign_ins"),
        (_job("reshuffle responses", None, reshuffle, leading),
         max(60.0, resolution.total_seconds() / 2), 90, "reshuffle"),
        (_job("score texts", "scored the sentiment of %d text(s)", score_texts, leading),
         sentiment_interval_s, 30, "score_texts"),
    ]
    for callback, interval, first, name in every:
        jobs.run_repeating(tracked(callback), interval=interval, first=first, name=name)


def _job(what: str, done: str | None, work: Callable[[], Awaitable[int]],
         leading: Callable[[], bool]) -> Callable[[Context], Coroutine[Any, Any, None]]:
    """A maintenance job; ``work`` returns how many rows it changed, logged as ``done`` (if
    given). The database being unavailable waits for the next run. Only the process that
    leads (runs the scheduler) does the work: two workers would reshuffle and score the same
    rows at once."""

    async def run(context: Context) -> None:
        if not leading():
            return
        try:
            count = await work()
        except DatabaseUnavailable as exc:
            log.warning("could not %s: %s", what, exc)
            return
        if count and done is not None:
            log.info(done, count)

    return run


async def _post_init(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    # The residents' menu; people with roles get theirs from the leader's MenuSync.
    await set_default_menus(application.bot)
    # The dashboard answers in every process (it only reads, and writes sessions).
    server = web_server_of(application)
    if server is not None:
        await server.start()
    # The scheduler and the outbox sender, in whichever process takes the lead.
    await background_of(application).start()


async def _post_stop(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    # After stop(): no update is handled any more and the job queue has stopped, but the bot
    # can still send, so the sender finishes (and records) its round before shutdown().
    await background_of(application).stop()
    server = web_server_of(application)
    if server is not None:
        await server.stop()


async def _on_error(update: object, context: Context) -> None:
    # Only the id: the update itself holds the user's id next to what they typed.
    mark_failed()
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("unhandled error for update %s", update_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        user = update.effective_user
        lang = resolve_language(None, user.language_code if user else None, "en")
        try:
            if update.callback_query is not None:
                # Through answer(): by webhook, it replaces a silent answer the post carries.
                await answer(update.callback_query, t("error", lang), alert=True)
            else:
                await update.effective_chat.send_message(t("error", lang),
                                                         parse_mode=ParseMode.HTML)
        except TelegramError:
            log.warning("could not tell the user about the error")
