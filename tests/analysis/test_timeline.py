"""Counts per day (or week) and the bar chart's geometry for the campaign page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from analysis.timeline import MAX_DAILY_BARS, Bucket, bar_chart, buckets

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_every_day_is_shown_and_counted_in_the_campaigns_zone() -> None:
    moments = [
        (datetime(2026, 12, 1, 10, 0, tzinfo=UTC), 3),
        # 20:00 UTC on the 1st is already the 2nd in Shanghai.
        (datetime(2026, 12, 1, 20, 0, tzinfo=UTC), 2),
        (datetime(2026, 12, 4, 1, 0, tzinfo=UTC), 1),
        (datetime(2026, 11, 20, 1, 0, tzinfo=UTC), 9),  # before the range: left out
    ]
    series = buckets(moments, SHANGHAI, date(2026, 12, 1), date(2026, 12, 4))
    assert [(b.start.day, b.days, b.count) for b in series] == [
        (1, 1, 3), (2, 1, 2), (3, 1, 0), (4, 1, 1)]


def test_a_long_campaign_is_counted_per_week() -> None:
    first = date(2026, 1, 1)
    last = first + timedelta(days=MAX_DAILY_BARS + 9)
    moments = [(datetime(2026, 1, 8, 12, tzinfo=UTC), 4),
               (datetime(2026, 1, 14, 12, tzinfo=UTC), 1)]
    series = buckets(moments, UTC, first, last)
    assert all(b.days == 7 for b in series[:-1]) and 1 <= series[-1].days <= 7
    assert sum(b.days for b in series) == (last - first).days + 1
    assert series[1] == Bucket(date(2026, 1, 8), 7, 5)


def test_nothing_before_the_first_day() -> None:
    assert buckets([], UTC, date(2026, 1, 2), date(2026, 1, 1)) == []


def test_the_tallest_bar_fills_the_chart_and_an_empty_one_is_flat() -> None:
    series = [Bucket(date(2026, 1, d), 1, n) for d, n in ((1, 2), (2, 4), (3, 0))]
    chart = bar_chart(series, width=300, height=100, gap=0.2)
    assert chart.top == 4
    tall = chart.bars[1]
    assert (tall.y, tall.height) == (0.0, 100.0)
    assert (chart.bars[0].y, chart.bars[0].height) == (50.0, 50.0)
    assert chart.bars[2].height == 0.0
    assert chart.bars[0].x == 10.0 and chart.bars[0].width == 80.0
    assert chart.bars[2].x + chart.bars[2].width <= 300


def test_a_chart_of_nothing_has_no_bars() -> None:
    empty = bar_chart([Bucket(date(2026, 1, 1), 1, 0)])
    assert empty.top == 0 and empty.bars[0].height == 0.0
    assert bar_chart([]).bars == []
