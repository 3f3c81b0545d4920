"""What the background loops share (the outbox sender, the case relay, the command menus, the
publication notices): a loop in its own task that a commit can wake, and that stops after the
round in flight has been recorded."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from storage.db import DatabaseUnavailable

log = logging.getLogger(__name__)


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
