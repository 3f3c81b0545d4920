"""Period labels: months, quarters and years as half-open UTC windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from surveys.appraisal.periods import Period, PeriodError, parse_period, period_of


def utc(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


@pytest.mark.parametrize(
    ("label", "kind", "start", "end", "shown"),
    [
        ("2026-11", "month", utc(2026, 11, 1), utc(2026, 12, 1), "2026-11"),
        ("2026-12", "month", utc(2026, 12, 1), utc(2027, 1, 1), "2026-12"),
        ("2024-02", "month", utc(2024, 2, 1), utc(2024, 3, 1), "2024-02"),
        ("2026-Q1", "quarter", utc(2026, 1, 1), utc(2026, 4, 1), "2026-Q1"),
        ("2026-q4", "quarter", utc(2026, 10, 1), utc(2027, 1, 1), "2026-Q4"),
        (" 2026 ", "year", utc(2026, 1, 1), utc(2027, 1, 1), "2026"),
    ],
)
def test_labels_become_half_open_utc_windows(
    label: str, kind: str, start: datetime, end: datetime, shown: str
) -> None:
    period = parse_period(label)
    assert period == Period(shown, kind, start, end)
    assert period.contains(start) and not period.contains(end)
    assert period.contains(end - timedelta(microseconds=1))


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("2026-13", "the month must be 01 to 12"),
        ("2026-00", "the month must be 01 to 12"),
        ("2026-Q5", "the quarter must be Q1 to Q4"),
        ("2026-Q0", "the quarter must be Q1 to Q4"),
        ("1999", "the year must be between"),
        ("2026-1", "cannot read the period"),
        ("26-11", "cannot read the period"),
        ("November", "cannot read the period"),
        ("", "cannot read the period"),
        ("2026-11-01", "cannot read the period"),
        ("2026-H1", "cannot read the period"),
    ],
)
def test_bad_labels_say_what_would_be_read(label: str, message: str) -> None:
    with pytest.raises(PeriodError, match=message):
        parse_period(label)


def test_every_moment_is_in_one_period_of_each_kind() -> None:
    # 2026-12-31 23:30 UTC-5 is already 2027 in UTC: periods are UTC.
    moment = datetime(2026, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert period_of(moment).label == "2027-01"
    assert period_of(moment, "quarter").label == "2027-Q1"
    assert period_of(moment, "year").label == "2027"
    assert period_of(utc(2026, 11, 15), "quarter").label == "2026-Q4"
    with pytest.raises(PeriodError, match="unknown kind"):
        period_of(moment, "week")
    with pytest.raises(PeriodError, match="timezone-aware"):
        period_of(datetime(2026, 1, 1))  # noqa: DTZ001 (naive on purpose)
