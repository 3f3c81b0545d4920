"""Charts for results in chat: a cadre's breakdown and trend, and a ranking of units.

Pure: plain values in, PNG bytes out. Matplotlib is imported inside the functions (never
when ``analysis`` is imported: it is slow to load and the bot may never draw a chart), and
each figure is drawn on its own Agg canvas, without pyplot, so nothing global is touched and
charts can be drawn in worker threads at once. Labels are kept to Latin script (anything
else is replaced by a short Latin fallback, such as a unit code), so no CJK font is needed
and matplotlib has no missing glyph to warn about.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

SCALE = (0.0, 100.0)
RANKED_SHOWN = 20
TREND_SHOWN = 12
LABEL_SIZE = 32
DPI = 100
BAR_COLOUR = "#4C72B0"
MISSING_COLOUR = "#999999"
TREND_COLOUR = "#DD8452"


@dataclass(frozen=True)
class Bar:
    """One bar: a component's or a unit's score (None: no score) and its 95% interval."""

    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    fallback: str = ""  # shown when ``label`` is not in Latin script
    note: str = ""  # shown instead of a bar when there is no value (Latin script)


@dataclass(frozen=True)
class Point:
    """One period of a trend: its label ("2026-Q4") and score (None: not graded)."""

    label: str
    value: float | None


def latin(text: str, fallback: str = "", size: int = LABEL_SIZE) -> str:
    """``text`` if it is printable Latin script (clipped to ``size``), else ``fallback``."""
    text = " ".join(str(text).split())
    if not text or not all(ch.isprintable() and ord(ch) < 0x250 for ch in text):
        text = " ".join(str(fallback).split())
        if not all(ch.isprintable() and ord(ch) < 0x250 for ch in text):
            text = ""
    return text if len(text) <= size else text[:size - 1] + "…"


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _clip(value: float) -> float:
    return min(SCALE[1], max(SCALE[0], value))


def _figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)  # the Agg backend for this figure only
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _bars(axes: Axes, bars: Sequence[Bar], empty: str) -> None:
    """Horizontal bars on 0-100, the first on top, with interval whiskers."""
    axes.set_xlim(*SCALE)
    axes.set_xlabel("score (0-100), whiskers: 95% interval")
    axes.grid(axis="x", alpha=0.3)
    if not bars:
        axes.set_yticks([])
        axes.text(50, 0.5, empty, ha="center", va="center", transform=axes.transData)
        axes.set_ylim(0, 1)
        return
    positions = list(range(len(bars)))
    labels = [latin(bar.label, bar.fallback or f"#{i + 1}") for i, bar in enumerate(bars)]
    values = [_finite(bar.value) for bar in bars]
    heights = [_clip(v) if v is not None else 0.0 for v in values]
    lows, highs = [], []
    for bar, value in zip(bars, values, strict=True):
        low, high = _finite(bar.low), _finite(bar.high)
        if value is None or low is None or high is None:
            lows.append(0.0)
            highs.append(0.0)
            continue
        lows.append(max(0.0, _clip(value) - _clip(low)))
        highs.append(max(0.0, _clip(high) - _clip(value)))
    colours = [BAR_COLOUR if v is not None else MISSING_COLOUR for v in values]
    if any(lows) or any(highs):
        axes.barh(positions, heights, color=colours, xerr=[lows, highs], capsize=3,
                  error_kw={"elinewidth": 1, "ecolor": "#333333"})
    else:
        axes.set_xlabel("score (0-100)")
        axes.barh(positions, heights, color=colours)
    for position, value, bar in zip(positions, values, bars, strict=True):
        if value is None:
            axes.text(1, position, latin(bar.note, size=40) or "no score", va="center",
                      fontsize=8, color="#555555")
        else:
            end = max(_clip(value), _clip(_finite(bar.high) or 0.0))
            axes.text(min(end + 1.5, 93), position, f"{value:.0f}", va="center", fontsize=8,
                      bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
    axes.set_yticks(positions, labels)
    axes.set_ylim(len(bars) - 0.5, -0.5)  # the first bar on top


def score_chart(title: str, components: Sequence[Bar], trend: Sequence[Point]) -> bytes:
    """A cadre's (or a unit's) components as bars with their intervals, above the composite
    score over periods as a line. Either may be empty."""
    rows = max(1, len(components))
    figure = _figure(8.0, 2.6 + 0.42 * rows + 2.4)
    top, bottom = figure.subplots(2, 1, height_ratios=[0.8 + 0.42 * rows, 2.4])
    figure.suptitle(latin(title, "Appraisal", size=70) or "Appraisal")
    top.set_title("Components", fontsize=10, loc="left")
    _bars(top, components, "no components")
    _trend(bottom, trend[-TREND_SHOWN:])
    return _png(figure)


def _trend(axes: Axes, trend: Sequence[Point]) -> None:
    axes.set_title("Score over periods", fontsize=10, loc="left")
    axes.set_ylim(*SCALE)
    axes.grid(axis="y", alpha=0.3)
    if not trend:
        axes.set_xticks([])
        axes.text(0.5, 0.5, "no published periods yet", ha="center", va="center",
                  transform=axes.transAxes)
        return
    positions = list(range(len(trend)))
    labels = [latin(point.label, f"P{i + 1}", size=12) for i, point in enumerate(trend)]
    shown = [(x, _clip(v)) for x, point in zip(positions, trend, strict=True)
             if (v := _finite(point.value)) is not None]
    if shown:
        xs, ys = zip(*shown, strict=True)
        axes.plot(xs, ys, marker="o", color=TREND_COLOUR)
        for x, y in shown:
            axes.annotate(f"{y:.0f}", (x, y), textcoords="offset points", xytext=(0, 6),
                          ha="center", fontsize=8)
    for x, point in zip(positions, trend, strict=True):
        if _finite(point.value) is None:
            axes.text(x, 3, "n/a", ha="center", fontsize=8, color="#555555")
    axes.set_xticks(positions, labels)
    axes.set_xlim(-0.5, len(trend) - 0.5)


def ranking_chart(title: str, bars: Sequence[Bar], limit: int = RANKED_SHOWN) -> bytes:
    """Units (or cadres) as horizontal bars, in the order given (best first), the first
    ``limit`` only; ungraded ones as a grey note instead of a bar."""
    shown = list(bars[:max(1, limit)])
    figure = _figure(8.0, 1.4 + 0.36 * max(1, len(shown)))
    axes = figure.subplots()
    heading = latin(title, "Ranking", size=70) or "Ranking"
    if len(bars) > len(shown):
        heading += f" (top {len(shown)} of {len(bars)})"
    axes.set_title(heading, fontsize=11)
    _bars(axes, shown, "no results")
    return _png(figure)
