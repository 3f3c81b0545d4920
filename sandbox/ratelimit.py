"""Token buckets modelling Telegram's flood control.

Telegram limits a bot to about 30 messages per second overall and about one per second to one
chat, tolerating short bursts. A token bucket captures both: ``burst`` tokens at most, refilled at
``rate`` tokens per second, one token per message. The clock is injectable so tests can move time
forward instead of sleeping.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]
"""A monotonic clock in seconds (``time.monotonic`` by default)."""


class ManualClock:
    """A clock that moves only when told to: inject it to test flood control without sleeping."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A flood limit: ``rate`` messages per second on average, at most ``burst`` at once."""

    rate: float
    burst: int

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise ValueError(f"rate must be > 0, got {self.rate!r}")
        if self.burst < 1:
            raise ValueError(f"burst must be >= 1, got {self.burst!r}")


class TokenBucket:
    """One bucket; starts full. Time comes from the caller so several buckets share one reading."""

    __slots__ = ("_burst", "_rate", "_stamp", "_tokens")

    def __init__(self, limit: RateLimit, now: float) -> None:
        self._rate = limit.rate
        self._burst = float(limit.burst)
        self._tokens = self._burst
        self._stamp = now

    def _refill(self, now: float) -> None:
        if now > self._stamp:
            self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
            self._stamp = now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available (0.0 if one is available now)."""
        self._refill(now)
        # The epsilon absorbs float drift from many small refills (0.1 * 10 != 1.0).
        if self._tokens >= 1.0 - 1e-9:
            return 0.0
        return (1.0 - self._tokens) / self._rate

    def take(self, now: float) -> None:
        """Consume one token; call only after :meth:`wait_time` returned 0."""
        self._refill(now)
        self._tokens -= 1.0

    def is_full(self, now: float) -> bool:
        """Whether the bucket has refilled completely (it then carries no state worth keeping)."""
        self._refill(now)
        return self._tokens >= self._burst - 1e-9


class FloodControl:
    """A global bucket plus one bucket per chat, checked together.

    A rejected call consumes nothing from either bucket, as with Telegram, where a 429 answer has
    no effect: so both buckets are checked before either is charged.
    """

    # Per-chat buckets that have refilled are dropped once the map grows past this size, so a
    # broadcast to many chats does not keep one bucket per chat forever.
    _PRUNE_AT = 10_000

    def __init__(
        self,
        global_limit: RateLimit | None,
        chat_limit: RateLimit | None,
        clock: Clock = time.monotonic,
    ) -> None:
        self._clock = clock
        self._chat_limit = chat_limit
        self._global = TokenBucket(global_limit, clock()) if global_limit else None
        self._chats: dict[int, TokenBucket] = {}
        self._prune_at = self._PRUNE_AT

    @property
    def enabled(self) -> bool:
        """Whether any limit applies."""
        return self._global is not None or self._chat_limit is not None

    def acquire(self, chat_id: int) -> int:
        """Charge one message to ``chat_id``.

        Returns 0 when the message may go, otherwise Telegram's ``retry_after``: whole seconds,
        at least 1, until both buckets have a token (nothing is charged then).
        """
        if self._global is None and self._chat_limit is None:
            return 0
        now = self._clock()
        wait = self._global.wait_time(now) if self._global is not None else 0.0
        bucket: TokenBucket | None = None
        if self._chat_limit is not None:
            bucket = self._chats.get(chat_id)
            if bucket is None:
                if len(self._chats) >= self._prune_at:
                    self._prune(now)
                bucket = self._chats[chat_id] = TokenBucket(self._chat_limit, now)
            wait = max(wait, bucket.wait_time(now))
        if wait > 0.0:
            return max(1, math.ceil(wait))
        if self._global is not None:
            self._global.take(now)
        if bucket is not None:
            bucket.take(now)
        return 0

    def _prune(self, now: float) -> None:
        for chat_id in [c for c, b in self._chats.items() if b.is_full(now)]:
            del self._chats[chat_id]
        # Amortise: if most buckets are still busy, wait until the map doubles before scanning.
        self._prune_at = max(self._PRUNE_AT, 2 * len(self._chats))
