"""Work that is not a reply to an update: the scheduler, the outbox sender, the case relay
(with the cases' supervision), the command menus and the auditors' notices of publications
awaiting approval.

They run in one process only (see :mod:`bot.leader`); a process that is not the leader keeps
trying, so a standby takes over when the leader stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram.ext import Application

from analysis.sentiment import ANALYSER_VERSION
from analysis.themes import DEFAULT_TOPICS
from bot.case_relay import CaseRelay
from bot.leader import Leadership
from bot.loops import JobsInFlight
from bot.menus import MenuSync
from bot.metrics import Metrics
from bot.outbox import OutboxSender
from bot.publication_notices import PublicationNotices
from bot.scheduler import CampaignScheduler
from bot.settings import Settings
from handlers.deps import Deps
from storage.clock import Clock
from storage.uow import Database

log = logging.getLogger(__name__)

LEADERSHIP_RETRY_S = 15.0
# The sentiment backlog gauge counts pending texts up to this many (a bigger number says
# no more than "the scorer is far behind", and counting it would cost a scan).
SENTIMENT_BACKLOG_CAP = 1000
JOB_QUEUE_WAIT_S = 0.01


class Background:
    def __init__(
        self, application: Application[Any, Any, Any, Any, Any, Any], db: Database,
        settings: Settings, deps: Deps, clock: Clock, metrics: Metrics | None = None,
    ) -> None:
        assert application.job_queue is not None  # the job-queue extra is a dependency
        self.job_queue = application.job_queue
        self.settings = settings
        self.leadership = Leadership(db)
        # The job queue's jobs (the scheduler's here, the maintenance jobs of bot/app.py),
        # let finish before the Application stops.
        self.jobs = JobsInFlight()
        self.sender = OutboxSender(
            db, application.bot, settings=settings.broadcast, secret=deps.secret,
            catalog=deps.catalog, clock=clock, default_language=settings.bot.default_language,
        )
        self.scheduler = CampaignScheduler(
            db, application.job_queue, secret=deps.secret, burden=deps.burden, clock=clock,
            on_queued=self.sender.wake, tracked=self.jobs.tracked,
        )
        self.menus = MenuSync(application.bot, db, settings.broadcast.resync_interval_s)
        self.notices = PublicationNotices(application.bot, db,
                                          settings.broadcast.resync_interval_s, clock,
                                          settings.bot.default_language)
        self.relay = CaseRelay(
            db, application.bot, secret=deps.secret, rules=deps.cases,
            settings=settings.broadcast, clock=clock, time_resolution=deps.time_resolution,
            topics={topic: {str(lang): words for lang, words in keywords.items()}
                    for topic, keywords in settings.themes.topics.items()} or DEFAULT_TOPICS,
            default_language=settings.bot.default_language, evidence=deps.evidence,
        )
        deps.campaigns_changed = self.scheduler.poke
        deps.outbox_changed = self.sender.wake
        deps.roles_changed = self.menus.wake
        deps.cases_changed = self.relay.wake
        self._watch: asyncio.Task[None] | None = None
        self._leading = False
        self.db = db
        self.metrics = metrics
        self._sent_counted = 0

    async def start(self) -> None:
        """Called from the Application's ``post_init``: before ``application.start()``."""
        self._watch = asyncio.create_task(self._lead(), name="leadership")

    async def _lead(self) -> None:
        # The scheduler's jobs go into the job queue, which application.start() starts: one
        # added before would be put off to its second run. PTB says nothing when it starts.
        while not self.job_queue.scheduler.running:  # noqa: ASYNC110
            await asyncio.sleep(JOB_QUEUE_WAIT_S)
        while True:
            try:
                if not self._leading and await self.leadership.acquire():
                    await self.sender.start()
                    await self.relay.start()
                    self.scheduler.start(self.settings.broadcast.resync_interval_s)
                    self.menus.start()
                    self.notices.start()
                    self._leading = True
                elif self._leading and not await self.leadership.still_held():
                    log.warning("gave up the scheduler: another process may take over")
                    await self._step_down()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database may be down; keep trying
                log.warning("scheduler lock: %s", exc)
            await asyncio.sleep(LEADERSHIP_RETRY_S)

    async def _step_down(self) -> None:
        if self._leading:
            self.scheduler.stop()
            await self.menus.stop()
            await self.notices.stop()
            await self.sender.stop()
            await self.relay.stop()
            self._leading = False
        await self.leadership.release()

    async def stop(self) -> None:
        """Called from the Application's ``post_stop``: after ``application.stop()``, before
        ``shutdown()`` (the sender still sends its last round)."""
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
        await self._step_down()

    @property
    def leading(self) -> bool:
        return self._leading

    async def refresh(self) -> None:
        """Bring the gauges read from the database and the sender up to date (``/metrics``)."""
        metrics = self.metrics
        if metrics is None:
            return
        metrics.leader.set(1 if self._leading else 0)
        sent = self.sender.sent
        metrics.outbox_sent.inc(max(0, sent - self._sent_counted))
        self._sent_counted = sent
        async with self.db.reading() as uow:
            metrics.outbox_depth.set(await uow.outbox.depth())
            backlog = await uow.text_scores.pending(ANALYSER_VERSION, SENTIMENT_BACKLOG_CAP)
        metrics.sentiment_backlog.set(len(backlog))
