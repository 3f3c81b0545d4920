"""The case loop's rules: limits, deadlines in working days, public numbers and which state
may follow which. Pure: no database, no Telegram."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from analysis.themes import DEFAULT_TOPICS, Topics
from storage.models import CaseOutcome, CaseStatus
from storage.models.cases import ACTIVE_STATUSES

# Where a case came from.
REPORT, POLL, COMMENT = "report", "poll", "comment"
ORIGINS = (REPORT, POLL, COMMENT)
# The category of a problem no topic fits.
OTHER = "other"
# Who wrote a case message.
RESIDENT, HANDLER, ADMIN, INSPECTOR = "resident", "handler", "admin", "inspector"
# A handler's requests, which only an admin decides.
TRANSFER, REJECT = "transfer", "reject"
# The resident's answer to "Was this solved?".
YES, PARTLY, NO = "yes", "partly", "no"
ANSWERS = (YES, PARTLY, NO)
# Why a case was escalated to the unit's admins.
OVERDUE, NOT_SOLVED = "overdue", "not_solved"

# Still being worked on: counts against the resident's limit and shows in /cases (defined
# with the statuses, where the repository's queries read it too).
ACTIVE = ACTIVE_STATUSES
# Closed by the resident's answer (see :func:`outcome_of_answer`).
ANSWERED_OUTCOMES = (CaseOutcome.CONFIRMED, CaseOutcome.PARTLY, CaseOutcome.NOT_SOLVED)

# Public numbers: no 0/O, 1/I/L, so a number read aloud or typed is not mistaken.
_NUMBER_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_NUMBER_LENGTH = 6


@dataclass(frozen=True)
class CaseRules:
    """Limits and deadlines from config.yaml (section ``cases``)."""

    max_text_length: int = 1000
    max_open_per_person: int = 3
    # Working days to solve a case, per category; ``default_working_days`` for the rest.
    default_working_days: int = 5
    working_days: Mapping[str, int] = field(default_factory=dict)
    # Deadlines are counted in this zone, Monday to Friday, skipping the holidays and
    # counting the make-up working days (weekend days worked in exchange for a holiday).
    time_zone: str = "UTC"
    holidays: frozenset[date] = frozenset()
    makeup_days: frozenset[date] = frozenset()
    # The handler is reminded this long before the deadline.
    remind_before: timedelta = timedelta(hours=24)
    # The resident's "Was this solved?" waits this long; no answer closes the case as not
    # confirmed.
    answer_within: timedelta = timedelta(days=7)
    # A poll answer at or below this rating offers to report a problem.
    offer_at_or_below: int = 2
    # Reports of one category in one unit within this many days, and as near as this, are
    # offered for merging.
    merge_within: timedelta = timedelta(days=7)
    merge_radius_km: float = 0.5
    # A reply or an answer's comment begun and not sent within this long is dropped.
    draft_expires_after: timedelta = timedelta(hours=24)
    # Categories a resident may choose (theme topics); OTHER is always allowed.
    categories: tuple[str, ...] = ()
    # The theme topics' keywords, which suggest a category from a report's text.
    topics: Topics = field(default_factory=lambda: DEFAULT_TOPICS)
    # From section ``privacy``: residents' entries are held for staff until the end of a
    # window this long (surveys.cases.holding); None: not held.
    hold_window: timedelta | None = None

    def working_days_for(self, category: str) -> int:
        return self.working_days.get(category, self.default_working_days)

    def due_on(self, category: str, opened_on: date) -> date:
        """The last working day of a case of ``category`` opened on ``opened_on``."""
        return add_working_days(opened_on, self.working_days_for(category), self.holidays,
                                self.makeup_days)

    def due(self, category: str, opened_on: date) -> datetime:
        """The deadline of a case opened on ``opened_on``: the end of its last working day
        (midnight in the case time zone, as UTC)."""
        day = self.due_on(category, opened_on)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(self.time_zone))
        return end.astimezone(UTC)

    def today(self, now: datetime) -> date:
        """The date in the case time zone: a case keeps only this of when it was opened."""
        return now.astimezone(ZoneInfo(self.time_zone)).date()


def is_working_day(day: date, holidays: frozenset[date] = frozenset(),
                   makeup_days: frozenset[date] = frozenset()) -> bool:
    """Monday to Friday except the holidays, and the make-up days (a Saturday or Sunday
    worked in exchange for a holiday)."""
    return day in makeup_days or (day.weekday() < 5 and day not in holidays)


def add_working_days(start: date, days: int, holidays: frozenset[date] = frozenset(),
                     makeup_days: frozenset[date] = frozenset()) -> date:
    """The ``days``-th working day after ``start`` (a report on a Friday with two days is due
    on Tuesday); ``days`` 0 is ``start`` itself."""
    day = start
    left = days
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(day, holidays, makeup_days):
            left -= 1
    return day


def new_number() -> str:
    """A fresh public case number, e.g. ``C-7K3F9Q`` (about 10^9 of them: a clash is retried
    by the caller, since the column is unique)."""
    return "C-" + "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(_NUMBER_LENGTH))


def normalise_number(text: str) -> str | None:
    """A case number as typed ("c-7k3f9q", "7K3F9Q", "C 7K3F9Q") in its stored form, or None
    if it cannot be one."""
    core = text.strip().upper().replace(" ", "").replace("-", "")
    # The "C" of "C-": a number's own first character can be a C too ("C-CWH69G" typed
    # "CWH69G"), so only a seventh character is the prefix.
    if len(core) == _NUMBER_LENGTH + 1:
        core = core.removeprefix("C")
    if len(core) != _NUMBER_LENGTH or any(ch not in _NUMBER_ALPHABET for ch in core):
        return None
    return "C-" + core


# Which status may follow which; anything else is refused (a stale or forged button).
TRANSITIONS: dict[CaseStatus, tuple[CaseStatus, ...]] = {
    CaseStatus.OPEN: (CaseStatus.TAKEN, CaseStatus.CLOSED, CaseStatus.MERGED),
    CaseStatus.TAKEN: (CaseStatus.RESOLVED, CaseStatus.OPEN, CaseStatus.CLOSED,
                       CaseStatus.MERGED),
    # "No" reopens it (once) as taken by the same handler; otherwise it closes.
    CaseStatus.RESOLVED: (CaseStatus.TAKEN, CaseStatus.CLOSED),
    CaseStatus.CLOSED: (),
    CaseStatus.MERGED: (),
}


def may_move(current: CaseStatus, target: CaseStatus) -> bool:
    return target in TRANSITIONS[current]


def outcome_of_answer(answer: str, reopened: int) -> CaseOutcome | None:
    """What the resident's answer makes of a resolved case: closed confirmed or partly, closed
    not solved (a "No" after it was reopened once), or None: reopen it."""
    if answer == YES:
        return CaseOutcome.CONFIRMED
    if answer == PARTLY:
        return CaseOutcome.PARTLY
    return CaseOutcome.NOT_SOLVED if reopened >= 1 else None


def on_time(resolved_at: datetime, due_at: datetime) -> bool:
    return resolved_at <= due_at
