"""What the outbox sender and the case relay share: a loop in its own task that a commit can
wake, and that stops after the round in flight has been recorded."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field


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

    async def _loop(self) -> None:
        raise NotImplementedError
