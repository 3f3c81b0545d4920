"""The hold: what a resident writes on a case reaches staff only at the end of its window.

The relay would otherwise tell staff of a new case, a reply or an answer within seconds, and a
cadre who takes each case the moment they are told takes them in the order the residents sent
them: the audit log's order of those takes would pair every case with its resident
(docs/privacy.md, "Cases"). So a resident's entries, and what their answer causes, are held:
not relayed to staff, not shown in their lists, the case card or counts, until ``held_until``.
Then every entry of the window is released at once, and the relay hands them out in random
order (by the case's random id), not in the order they were written.

``held_until`` is the end of the first clock-aligned hold window that ends at or after the
end of the entry's own privacy window (the coarse time it keeps, ``at``). So it is a function
of ``at`` alone and dates nothing finer; with a hold window that is a multiple of the privacy
resolution it is simply the end of the hold window the entry was written in. An entry is held
for at most the hold window plus the privacy resolution.

Pure: no database, no Telegram. The state is the stored ``held_until`` (nothing in memory),
so a restart during a hold loses nothing and releases nothing early.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

from surveys.respondents.anonymity import coarse

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Held for no longer than this: deadlines are counted in working days from the day a case
# was opened, and a hold this short is a small part of even one of them (bot/settings.py
# keeps the configured window within it).
MAX_WINDOW = timedelta(hours=1)


class Holdable(Protocol):
    @property
    def held_until(self) -> datetime | None: ...


H = TypeVar("H", bound=Holdable)


def ceil_to(moment: datetime, step: timedelta) -> datetime:
    """``moment`` rounded up to a multiple of ``step`` since the epoch (UTC); a moment on a
    boundary stays."""
    size = max(1, int(step.total_seconds()))
    seconds = (moment - _EPOCH).total_seconds()
    whole = int(seconds // size) * size
    if whole < seconds:
        whole += size
    return _EPOCH + timedelta(seconds=whole)


def release_at(now: datetime, resolution: timedelta, window: timedelta) -> datetime:
    """When an entry a resident writes at ``now`` is released to staff: the end of the first
    hold window (``window`` long, aligned on the epoch) ending at or after the end of the
    privacy window (``resolution``) that holds ``now``. Always later than ``now``."""
    privacy_end = coarse(now, resolution) + timedelta(
        seconds=max(1, int(resolution.total_seconds())))
    return ceil_to(privacy_end, window)


def held_until(now: datetime, resolution: timedelta, window: timedelta | None) -> datetime | None:
    """``held_until`` for a resident's entry written at ``now``; None with the hold off."""
    return None if window is None else release_at(now, resolution, window)


def is_held(held_until: datetime | None, now: datetime) -> bool:
    """Whether staff may not see it yet."""
    return held_until is not None and held_until > now


def shown(items: Iterable[H], now: datetime) -> list[H]:
    """The entries (or cases) staff may see at ``now``, in their order."""
    return [item for item in items if not is_held(item.held_until, now)]
