"""What the background loops share (the outbox sender, the case relay, the command menus, the
publication notices): a loop in its own task that a commit can wake, and that stops after the
round in flight has been recorded. And the same for the job queue's jobs (the campaign
scheduler's, the maintenance jobs): a stop lets the ones running finish."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from telegram.ext import JobQueue

from storage.db import DatabaseUnavailable

log = logging.getLogger(__name__)

JobCallback = Callable[[Any], Coroutine[Any, Any, None]]


class JobsInFlight:
    """The job queue's callbacks running now, so that stopping lets them finish first.

    APScheduler's asyncio executor cancels the jobs still running when the job queue stops;
    one cancelled while it takes a database connection leaves the connection to the garbage
    collector (aiosqlite's is made in a thread the cancellation cannot reach), and one
    cancelled mid-transaction redoes its work at the next start."""

    def __init__(self) -> None:
        self._running: set[asyncio.Task[Any]] = set()

    def tracked(self, callback: JobCallback) -> JobCallback:
        async def run(context: Any) -> None:
            task = asyncio.current_task()
            assert task is not None
            self._running.add(task)
            try:
                await callback(context)
            finally:
                self._running.discard(task)

        return run

    async def drain(self, job_queue: JobQueue[Any] | None, grace_s: float = 10.0) -> None:
        """Start no more jobs; wait (``grace_s`` at most) for those running to end. Called
        before the Application stops (and with it the job queue)."""
        if job_queue is not None and job_queue.scheduler.running:
            job_queue.scheduler.pause()
        if self._running:
            _done, late = await asyncio.wait(set(self._running), timeout=grace_s)
            if late:
                log.warning("%d job(s) still running at stop: they are cancelled", len(late))


@dataclass(eq=False)
class WakeableLoop:
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)
    _stopping: bool = field(default=False, init=False)

    def wake(self) -> None:
        """Something new to send: look now instead of at the next poll."""
        self._wake.set()

    def _begin(self, name: str) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._loop(), name=name)

    async def stop(self, grace_s: float = 10.0) -> None:
        """Let the round in flight finish and be recorded (so a deploy causes no duplicates),
        then stop; after ``grace_s`` give up and leave it to the next start, which sends it
        again."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace_s)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _idle(self, seconds: float) -> None:
        """Wait until woken, or ``seconds`` at most. A wake that came during the round just
        done is not lost: the event is cleared only after the wait, and the next round reads
        the database afresh."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    async def _rounds(self, work: Callable[[], Awaitable[object]], every_s: float,
                      what: str) -> None:
        """``work`` now, then whenever woken or every ``every_s``, until stopped. For loops
        whose work is a convenience (menus, notices): a failed round is logged and tried
        again at the next."""
        while not self._stopping:
            try:
                await work()
            except DatabaseUnavailable as exc:
                log.warning("could not %s, the database is unavailable: %s", what, exc)
            except Exception:
                log.exception("could not %s", what)
            await self._idle(every_s)

    async def _loop(self) -> None:
        raise NotImplementedError
