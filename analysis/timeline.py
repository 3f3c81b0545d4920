"""Counts over time, and the geometry of a small bar chart for them (a dashboard draws it as
inline SVG, so the page needs no script and its Content Security Policy stays strict)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

# More days than this are drawn a week to a bar: a bar stays wide enough to see on a phone.
MAX_DAILY_BARS = 62


@dataclass(frozen=True)
class Bucket:
    """``count`` events from ``start`` (a local date) for ``days`` days."""

    start: date
    days: int
    count: int


def buckets(moments: Iterable[tuple[datetime, int]], zone: tzinfo, first: date, last: date
            ) -> list[Bucket]:
    """Counts per local day (per week past :data:`MAX_DAILY_BARS` days) from ``first`` to
    ``last`` (both included, dates in ``zone``), every day shown even when nothing happened.

    ``moments`` are (UTC time, count) pairs, e.g. responses grouped by their coarse
    completion time; those outside the range are left out.
    """
    if last < first:
        return []
    span = (last - first).days + 1
    step = 1 if span <= MAX_DAILY_BARS else 7
    counts = [0] * ((span + step - 1) // step)
    for moment, n in moments:
        day = moment.astimezone(zone).date()
        if first <= day <= last:
            counts[(day - first).days // step] += n
    return [Bucket(first + timedelta(days=i * step), min(step, span - i * step), n)
            for i, n in enumerate(counts)]


@dataclass(frozen=True)
class Bar:
    """A bar in chart units (the chart is ``width`` × ``height``, y growing downwards)."""

    x: float
    y: float
    width: float
    height: float
    bucket: Bucket


@dataclass(frozen=True)
class BarChart:
    width: float
    height: float
    top: int  # the count a full-height bar stands for
    bars: list[Bar]


def bar_chart(series: list[Bucket], width: float = 600, height: float = 160,
              gap: float = 0.2) -> BarChart:
    """Bars side by side filling ``width``; the tallest reaches ``height``; ``gap`` is the
    share of each slot left empty between bars."""
    top = max((b.count for b in series), default=0)
    slot = width / len(series) if series else width
    bars = []
    for i, bucket in enumerate(series):
        tall = height * bucket.count / top if top else 0.0
        bars.append(Bar(x=round(i * slot + slot * gap / 2, 2), y=round(height - tall, 2),
                        width=round(slot * (1 - gap), 2), height=round(tall, 2), bucket=bucket))
    return BarChart(width, height, top, bars)
