"""Appraisal periods: a month ("2026-11"), a quarter ("2026-Q4") or a year ("2026").

Pure: a label becomes a half-open UTC window ``[start, end)``, and a moment belongs to exactly
one period of each kind. Self-assessment exports and (later) appraisal both read periods here,
so "November" means the same thing everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

MONTH, QUARTER, YEAR = "month", "quarter", "year"
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq](\d)$")
_YEAR = re.compile(r"^(\d{4})$")
# Far enough either way for any appraisal; keeps datetime arithmetic away from its limits.
FIRST_YEAR, LAST_YEAR = 2000, 2999


class PeriodError(ValueError):
    """A period label that cannot be read; the message says what would be."""


@dataclass(frozen=True)
class Period:
    label: str
    kind: str  # month, quarter or year
    start: datetime  # inclusive, UTC
    end: datetime  # exclusive, UTC

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def _year(text: str, label: str) -> int:
    year = int(text)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise PeriodError(f"period {label!r}: the year must be between {FIRST_YEAR} and "
                          f"{LAST_YEAR}")
    return year


def _months(year: int, first: int, count: int) -> tuple[datetime, datetime]:
    start = datetime(year, first, 1, tzinfo=UTC)
    index = first - 1 + count
    end = datetime(year + index // 12, index % 12 + 1, 1, tzinfo=UTC)
    return start, end


def parse_period(text: str) -> Period:
    """Read ``2026-11`` (a month), ``2026-Q4`` (a quarter) or ``2026`` (a year).

    Raises:
        PeriodError: anything else, with the accepted forms in the message.
    """
    label = (text or "").strip()
    if match := _MONTH.match(label):
        year, month = _year(match.group(1), label), int(match.group(2))
        if not 1 <= month <= 12:
            raise PeriodError(f"period {label!r}: the month must be 01 to 12")
        return Period(f"{year}-{month:02d}", MONTH, *_months(year, month, 1))
    if match := _QUARTER.match(label):
        year, quarter = _year(match.group(1), label), int(match.group(2))
        if not 1 <= quarter <= 4:
            raise PeriodError(f"period {label!r}: the quarter must be Q1 to Q4")
        return Period(f"{year}-Q{quarter}", QUARTER, *_months(year, 3 * quarter - 2, 3))
    if match := _YEAR.match(label):
        year = _year(match.group(1), label)
        return Period(str(year), YEAR, *_months(year, 1, 12))
    raise PeriodError(f"cannot read the period {text!r}: use a month (2026-11), a quarter "
                      "(2026-Q4) or a year (2026)")


def period_of(moment: datetime, kind: str = MONTH) -> Period:
    """The period of ``kind`` that ``moment`` (timezone-aware) falls in, in UTC."""
    if moment.tzinfo is None:
        raise PeriodError("a period needs a timezone-aware moment")
    at = moment.astimezone(UTC)
    if kind == MONTH:
        return parse_period(f"{at.year}-{at.month:02d}")
    if kind == QUARTER:
        return parse_period(f"{at.year}-Q{(at.month - 1) // 3 + 1}")
    if kind == YEAR:
        return parse_period(str(at.year))
    raise PeriodError(f"unknown kind of period {kind!r}: month, quarter or year")
