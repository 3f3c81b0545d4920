"""The one source of "now": everything that needs the current time takes a ``Clock`` (this
module's ``utcnow`` unless a test moves time on), so no rule reads the system clock behind the
caller's back. Durations are measured with ``time.monotonic``/``perf_counter`` instead."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)
