"""The bot's pace towards Telegram: replies to people who are waiting go first.

Telegram allows about 30 messages a second overall. PTB's AIORateLimiter shares that budget
first come, first served, so while the outbox sends a campaign's invitations every reply to
someone answering a poll queues behind them. Here the budget is one token bucket, and a call
made while an update is being handled (a reply: bot/turns.py knows) takes the next token
before any call made outside one (invitations, reminders, notices). Within each class calls
go in order. Group chats keep Telegram's 20 messages a minute each, as in PTB's limiter.

After a 429 every call waits the ``retry_after`` Telegram gave and the refused one is tried
again, up to ``max_retries`` times, as PTB's limiter does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram._utils.types import JSONDict
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.turns import handling_update

log = logging.getLogger(__name__)

Result = bool | JSONDict | list[JSONDict]


class PriorityBucket:
    """A token bucket (``rate`` a second, at most ``burst`` saved) whose waiters are served
    the high ones first, each class in order."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = burst
        self._updated = clock()
        self._waiting: tuple[deque[asyncio.Future[None]], deque[asyncio.Future[None]]] = (
            deque(), deque())
        self._pump: asyncio.Task[None] | None = None

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    async def acquire(self, high: bool) -> None:
        self._refill()
        if self._tokens >= 1 and not any(self._waiting):
            self._tokens -= 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiting[0 if high else 1].append(waiter)
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._serve(), name="pace")
        await waiter

    def _next(self) -> asyncio.Future[None] | None:
        for queue in self._waiting:
            while queue:
                waiter = queue.popleft()
                if not waiter.done():  # a cancelled caller gives up its turn
                    return waiter
        return None

    async def _serve(self) -> None:
        while any(self._waiting):
            self._refill()
            if self._tokens < 1:
                await asyncio.sleep((1 - self._tokens) / self.rate)
                continue
            waiter = self._next()
            if waiter is None:
                return
            self._tokens -= 1
            waiter.set_result(None)

    @property
    def waiting(self) -> tuple[int, int]:
        """Callers waiting: (replies, the rest)."""
        return len(self._waiting[0]), len(self._waiting[1])


class RepliesFirst(BaseRateLimiter[int]):
    """python-telegram-bot's rate limiter with replies ahead of broadcasts."""

    def __init__(self, rate: float = 30.0, burst: float = 5.0, max_retries: int = 3,
                 group_per_minute: int = 20) -> None:
        self.bucket = PriorityBucket(rate, burst)
        self.max_retries = max_retries
        self.group_per_minute = group_per_minute
        self._groups: dict[int | str, AsyncLimiter] = {}
        self._go = asyncio.Event()
        self._go.set()

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    def _group(self, chat_id: int | str) -> AsyncLimiter:
        if len(self._groups) > 512:
            # Forget idle groups' limiters (a full one is busy, keep it).
            self._groups = {k: v for k, v in self._groups.items() if not v.has_capacity()}
        limiter = self._groups.get(chat_id)
        if limiter is None:
            limiter = self._groups[chat_id] = AsyncLimiter(self.group_per_minute, 60)
        return limiter

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        chat_id = data.get("chat_id")
        with contextlib.suppress(ValueError, TypeError):
            chat_id = int(chat_id)  # type: ignore[arg-type]
        group = (isinstance(chat_id, int) and chat_id < 0) or isinstance(chat_id, str)
        high = handling_update()
        retries = rate_limit_args or self.max_retries
        for attempt in range(retries + 1):
            await self._go.wait()
            # Only calls to a chat count against the budget (answering a button, editing
            # one's own menu or reading updates do not send anyone a message).
            if chat_id is not None:
                async with self._group(chat_id) if group else contextlib.nullcontext():
                    await self.bucket.acquire(high)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == retries:
                    log.error("Telegram still refused %s after %d retries (flood control)",
                              endpoint, retries)
                    raise
                pause = exc._retry_after.total_seconds() + 0.1
                log.info("flood control: waiting %.1f s as Telegram asks", pause)
                self._go.clear()
                try:
                    await asyncio.sleep(pause)
                finally:
                    self._go.set()
        raise AssertionError("unreachable")
