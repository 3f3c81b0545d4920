"""The campaign scheduler: APScheduler (through PTB's JobQueue) runs each campaign's steps.

The database is the source of truth. :meth:`CampaignScheduler.sync` reads the campaigns that
still have work, runs steps that are due (once: each run is recorded with its effect),
records missed steps that no longer make sense, and makes the job store hold exactly the
future steps. It runs at start, every ``resync_interval_s`` (to pick up campaigns created
from the command line or another process) and whenever a chat command changed campaigns.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from telegram.ext import Job, JobQueue

from bot.loops import JobCallback
from handlers.deps import Context
from storage.clock import Clock
from storage.db import DatabaseUnavailable
from storage.uow import Database
from surveys.campaigns import operations, scheduling
from surveys.campaigns.operations import Burden
from surveys.campaigns.scheduling import Job as Step

log = logging.getLogger(__name__)


@dataclass(eq=False)
class CampaignScheduler:
    db: Database
    job_queue: JobQueue[Any]
    _: KW_ONLY
    secret: bytes
    burden: Burden
    clock: Clock
    on_queued: Callable[[], None]
    # Wraps the job queue's callbacks (so that a stop lets a running one finish).
    tracked: Callable[[JobCallback], JobCallback] = lambda callback: callback
    running: bool = field(default=False, init=False)
    _jobs: dict[str, tuple[Step, Job[Any]]] = field(default_factory=dict, init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    _poke: asyncio.Task[None] | None = field(default=None, init=False)
    _dirty: bool = field(default=False, init=False)

    def poke(self) -> None:
        """Campaigns changed: sync soon (after the caller's reply has gone out)."""
        if not self.running:
            return  # another process leads; its next sync picks the change up
        self._dirty = True
        if self._poke is None or self._poke.done():
            self._poke = asyncio.create_task(self._sync_while_dirty(), name="scheduler-sync")

    async def _sync_while_dirty(self) -> None:
        # A poke during a sync is not lost: sync again until nothing new came in.
        while self._dirty:
            self._dirty = False
            await self._safe_sync()

    async def _safe_sync(self) -> None:
        try:
            await self.sync()
        except DatabaseUnavailable as exc:
            log.warning("scheduler: database unavailable, will retry: %s", exc)

    async def _on_tick(self, context: Context) -> None:
        await self._safe_sync()

    async def _on_step(self, context: Context) -> None:
        # The firing is only a wake-up call: sync decides from the database what is due.
        await self._safe_sync()

    def start(self, resync_interval_s: int) -> None:
        self.running = True
        # first=0 would be a moment already past, which APScheduler skips to the next interval.
        self.job_queue.run_repeating(self.tracked(self._on_tick), interval=resync_interval_s,
                                     first=0.1,
                                     name="campaign-scheduler-sync")

    def stop(self) -> None:
        self.running = False
        # Stopped with the Application, the job queue has stopped first and runs none of its
        # jobs again (nor can they be removed from it any more).
        if self.job_queue.scheduler.running:
            for _step, job in self._jobs.values():
                job.schedule_removal()
            for job in self.job_queue.get_jobs_by_name("campaign-scheduler-sync"):
                job.schedule_removal()
        self._jobs.clear()

    async def sync(self) -> int:
        """Run what is due, schedule the rest. Returns how many steps ran."""
        if not self.running:
            return 0
        async with self._lock:
            ran = 0
            # Recurrences create campaigns whose steps may be due at once: loop until quiet.
            for _round in range(10):
                now = self.clock()
                async with self.db.reading() as uow:
                    live = await uow.campaigns.live()
                    done = await uow.runs.done(c.id for c in live)
                wanted: dict[str, Step] = {}
                ran_now = 0
                for campaign in live:
                    plan = scheduling.plan(scheduling.campaign_jobs(campaign),
                                           done[campaign.id], now)
                    for step, reason in plan.skip:
                        async with self.db.transaction() as uow:
                            await operations.skip_step(uow, step.campaign_id, step.name, now,
                                                       reason)
                        log.info("campaign %s: %s skipped (%s)", campaign.code, step.name, reason)
                    for step in plan.run_now:
                        try:
                            ran_now += await self._run(step)
                        except DatabaseUnavailable:
                            raise
                        except Exception:  # one bad step must not stop the rest
                            log.exception("campaign %s: step %s failed", campaign.code,
                                          step.name)
                            await self._record_failure(step)
                    for step in plan.later:
                        wanted[step.key] = step
                self._reconcile(wanted)
                ran += ran_now
                if not ran_now:
                    break
            return ran

    async def _run(self, step: Step) -> int:
        now = self.clock()
        async with self.db.transaction() as uow:
            result = await operations.run_step(uow, step.campaign_id, step.name, now,
                                               secret=self.secret, burden=self.burden)
        if result is None:
            return 0
        log.info("campaign %s: %s ran: %s", result.campaign_code, step.name, result.outcome)
        if result.queued:
            self.on_queued()
        return 1

    async def _record_failure(self, step: Step) -> None:
        """Record the failed step so it is not retried every few seconds; the log has why."""
        async with self.db.transaction() as uow:
            await operations.skip_step(uow, step.campaign_id, step.name, self.clock(),
                                       "failed; see the bot's log")

    def _reconcile(self, wanted: dict[str, Step]) -> None:
        for key, (step, job) in list(self._jobs.items()):
            if key not in wanted or wanted[key].at != step.at:
                job.schedule_removal()
                del self._jobs[key]
        for key, step in wanted.items():
            if key not in self._jobs:
                # No misfire window: a wake-up the event loop comes to late (a busy moment)
                # still runs, late, instead of being skipped until the next resync.
                job = self.job_queue.run_once(self.tracked(self._on_step), when=step.at,
                                             name=key, job_kwargs={"misfire_grace_time": None})
                self._jobs[key] = (step, job)

    @property
    def scheduled(self) -> list[Step]:
        """The future steps in the job store, soonest first."""
        return sorted(step for step, _job in self._jobs.values())
