"""Charts drawn on the server as inline SVG (no script, no inline style: the strict Content
Security Policy holds): a trend over periods on a fixed 0-100 scale, for the public page's
satisfaction and a result page's score. The markup is ``charts.html``'s macros; this computes
where everything goes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    value: float
    period: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    ticks: tuple[tuple[int, float], ...]  # (value, y)
    labels: tuple[tuple[str, float], ...]  # (period, x)
    lines: tuple[str, ...]  # polylines' points, one per run of consecutive values
    dots: tuple[Dot, ...]


def trend_chart(points: Sequence[tuple[str, float | None]], width: int = 640,
                height: int = 240) -> Chart | None:
    """Values (period, value) over the periods on a fixed 0-100 scale; a period without a
    value that may be shown (too few responses, not graded) is a gap, never a guessed point.
    None when no period has a value."""
    if not any(value is not None for _period, value in points):
        return None
    # Room for the value axis on the left and half a period's label on the right.
    left, right, top, bottom = 44, width - 36, 18, height - 30
    span = max(len(points) - 1, 1)

    def x_of(index: int) -> float:
        if len(points) == 1:
            return round((left + right) / 2, 1)
        return round(left + (right - left) * index / span, 1)

    def y_of(value: float) -> float:
        return round(bottom - (bottom - top) * max(0.0, min(100.0, value)) / 100, 1)

    dots: list[Dot] = []
    lines: list[str] = []
    run: list[Dot] = []
    for index, (period, value) in enumerate(points):
        if value is None:
            run = []
            continue
        dot = Dot(x_of(index), y_of(value), value, period)
        dots.append(dot)
        run.append(dot)
        if len(run) > 1:  # the segment to this point from the one before
            lines.append(f"{run[-2].x},{run[-2].y} {dot.x},{dot.y}")
    return Chart(width, height, left, right, top, bottom,
                 tuple((v, y_of(v)) for v in (0, 25, 50, 75, 100)),
                 tuple((period, x_of(i)) for i, (period, _value) in enumerate(points)),
                 tuple(lines), tuple(dots))
