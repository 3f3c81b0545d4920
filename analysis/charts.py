"""Charts for results in chat: a cadre's breakdown and trend, and a ranking of units.

Pure: plain values in, PNG bytes out; every word on a chart (title, axis, legend, notes)
comes from the caller in the reader's language (:class:`ChartTexts`, English by default).
Matplotlib is imported inside the functions (never when ``analysis`` is imported: it is
slow to load and the bot may never draw a chart), and each figure is drawn on its own Agg
canvas, without pyplot, so nothing global is touched and charts can be drawn in worker
threads at once.

Drawn for a phone: Telegram shows a photo about 320-400 px wide, so a chart is a narrow
figure (``WIDTH`` inches) with large type, each bar's name above the bar (the bar keeps
the whole width), a few bars only (``RANKED_SHOWN``) and the last few periods.

Chinese (any text beyond Latin script) needs a CJK font: :func:`cjk_font` looks for one
(Noto Sans CJK, Debian's ``fonts-noto-cjk``) by its usual paths, then by ``fc-match``. When
there is none, it says so once in the log and labels outside Latin script are replaced by
their Latin fallback (a unit code, the English text), so no glyph is ever missing.
"""

from __future__ import annotations

import functools
import io
import logging
import math
import shutil
import subprocess
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.packing import clip

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

SCALE = (0.0, 100.0)
RANKED_SHOWN = 8  # bars in a ranking: more are unreadable at chat size
TREND_SHOWN = 6  # periods in a trend
WIDTH = 4.5  # inches: shown about 360 px wide, 11 pt type reads as about 12 px
DPI = 180  # 810 px wide: sharp on a phone's dense screen
ROW = 0.56  # inches per bar, its name above it
LABEL_WIDTH = 34  # of a bar's name, in columns (a Chinese character takes two)
FONT = 11
SMALL = 9.5
BAR_COLOUR = "#4C72B0"
MISSING_COLOUR = "#999999"
TREND_COLOUR = "#DD8452"
# Where Debian's fonts-noto-cjk puts its sans-serif faces, then other common places.
CJK_FONT_PATHS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)


@dataclass(frozen=True)
class ChartTexts:
    """Every word a chart shows, in the reader's language (``{shown}``, ``{total}``: counts)."""

    components: str = "Components"
    trend: str = "Score over periods"
    axis: str = "score (0-100)"
    axis_interval: str = "score (0-100), whiskers: 95% interval"
    no_components: str = "no components"
    no_periods: str = "no published periods yet"
    no_results: str = "no results"
    no_score: str = "no score"
    not_graded: str = "n/a"
    top: str = "top {shown} of {total}"
    appraisal: str = "Appraisal"
    ranking: str = "Ranking"


ENGLISH = ChartTexts()


@dataclass(frozen=True)
class Bar:
    """One bar: a component's or a unit's score (None: no score) and its 95% interval."""

    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    fallback: str = ""  # shown when ``label`` cannot be drawn (not Latin, no CJK font)
    note: str = ""  # shown instead of a bar when there is no value


@dataclass(frozen=True)
class Point:
    """One period of a trend: its label ("2026-Q4") and score (None: not graded)."""

    label: str
    value: float | None


def _is_latin(text: str) -> bool:
    return all(ch.isprintable() and ord(ch) < 0x250 for ch in text)


def latin(text: str, fallback: str = "", size: int = LABEL_WIDTH) -> str:
    """``text`` if it is printable Latin script, else ``fallback`` (else nothing); clipped to
    ``size`` at a word boundary."""
    text = " ".join(str(text).split())
    if not text or not _is_latin(text):
        text = " ".join(str(fallback).split())
        if not _is_latin(text):
            text = ""
    return clip(text, size)


def columns(text: str) -> int:
    """How wide ``text`` is drawn, in columns: a wide (East Asian) character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


@functools.cache
def cjk_font() -> str | None:
    """The path of a font with Chinese glyphs, or None (said once in the log)."""
    for candidate in CJK_FONT_PATHS:
        if Path(candidate).is_file():
            return candidate
    found = _fc_match("Noto Sans CJK SC") or _fc_match("sans-serif:lang=zh-cn")
    if found:
        return found
    log.warning("charts: no font with Chinese glyphs found (install fonts-noto-cjk); "
                "labels that are not in Latin script are drawn as their Latin fallbacks")
    return None


def _fc_match(pattern: str) -> str | None:
    """fontconfig's best font for ``pattern``, if it covers Chinese (fc-match always answers
    something, often a font without a single Han glyph)."""
    if shutil.which("fc-match") is None:
        return None
    try:
        out = subprocess.run(["fc-match", "-f", "%{file}\n%{lang}", pattern], check=False,
                             capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    path, _, langs = out.partition("\n")
    return path if path and "zh-cn" in langs.split("|") and Path(path).is_file() else None


@dataclass(frozen=True)
class Writer:
    """Turns texts into what can be drawn: any script with a CJK font, else Latin only."""

    font: str | None

    def label(self, text: str, fallback: str = "", size: int = LABEL_WIDTH) -> str:
        text = " ".join(str(text).split())
        if self.font is None or not text:
            return latin(text, fallback, size)
        return clip(text, size, columns)

    def texts(self, texts: ChartTexts) -> ChartTexts:
        """``texts`` where they can be drawn, English where they cannot."""
        if self.font is not None:
            return texts
        return replace(texts, **{f.name: getattr(ENGLISH, f.name) for f in fields(texts)
                                 if not _is_latin(getattr(texts, f.name))})


def _writer(font: str | None) -> Writer:
    """``font``: a font file to draw with; None finds a CJK font; "" draws Latin only."""
    return Writer(cjk_font() if font is None else (font or None))


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _clip(value: float) -> float:
    return min(SCALE[1], max(SCALE[0], value))


def _figure(height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)  # the Agg backend for this figure only
    return figure


def _png(figure: Figure, font: str | None) -> bytes:
    if font is not None:
        _use_font(figure, font)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _use_font(figure: Figure, font: str) -> None:
    """Every text of ``figure`` in the font file ``font``, at its own size and weight (per
    text, not through matplotlib's global settings)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.text import Text

    for text in figure.findobj(Text):
        text.set_fontproperties(FontProperties(fname=font, size=text.get_fontsize(),
                                               weight=text.get_fontweight()))


def _bars(axes: Axes, bars: Sequence[Bar], empty: str, texts: ChartTexts,
          writer: Writer) -> None:
    """Horizontal bars on 0-100, the first on top, each with its name above it and its
    interval as whiskers."""
    axes.set_xlim(*SCALE)
    axes.set_xlabel(texts.axis_interval, fontsize=SMALL)
    axes.tick_params(labelsize=SMALL)
    axes.grid(axis="x", alpha=0.3)
    axes.set_yticks([])
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
    if not bars:
        axes.text(50, 0.5, empty, ha="center", va="center", fontsize=FONT)
        axes.set_ylim(0, 1)
        return
    positions = [i + 0.18 for i in range(len(bars))]  # the bar in the lower part of its row
    values = [_finite(bar.value) for bar in bars]
    heights = [_clip(v) if v is not None else 0.0 for v in values]
    colours = [BAR_COLOUR if v is not None else MISSING_COLOUR for v in values]
    axes.barh(positions, heights, height=0.44, color=colours)
    whiskers = False
    for position, bar, value in zip(positions, bars, values, strict=True):
        low, high = _finite(bar.low), _finite(bar.high)
        if value is None or low is None or high is None:
            continue  # no interval: no whisker (not even a cap at 0)
        whiskers = True
        axes.errorbar([_clip(value)], [position], fmt="none", ecolor="#333333",
                      elinewidth=1.2, capsize=3,
                      xerr=[[max(0.0, _clip(value) - _clip(low))],
                            [max(0.0, _clip(high) - _clip(value))]])
    if not whiskers:
        axes.set_xlabel(texts.axis, fontsize=SMALL)
    for index, (position, value, bar) in enumerate(zip(positions, values, bars, strict=True)):
        axes.text(0, index - 0.22, writer.label(bar.label, bar.fallback or f"#{index + 1}"),
                  va="center", ha="left", fontsize=FONT)
        if value is None:
            axes.text(1, position, writer.label(bar.note, size=40) or texts.no_score,
                      va="center", fontsize=SMALL, color="#555555")
        else:
            end = max(_clip(value), _clip(_finite(bar.high) or 0.0))
            if end <= 88:  # after the whisker
                axes.text(end + 1.5, position, f"{value:.0f}", va="center", fontsize=SMALL)
            else:  # no room after it: inside the bar, before the whisker
                axes.text(max(_clip(value) - 1.5, 8), position, f"{value:.0f}", va="center",
                          ha="right", fontsize=SMALL, color="white", fontweight="bold")
    axes.set_ylim(len(bars) - 0.45, -0.55)  # the first bar on top, room for its name


def score_chart(title: str, components: Sequence[Bar], trend: Sequence[Point], *,
                texts: ChartTexts = ENGLISH, font: str | None = None) -> bytes:
    """A cadre's (or a unit's) components as bars with their intervals, above the composite
    score over the last periods as a line. Either may be empty. ``font``: a font file to
    draw with (None: a CJK font if there is one; "": Latin script only)."""
    writer = _writer(font)
    return _png(score_figure(title, components, trend, texts=texts, writer=writer),
                writer.font)


def score_figure(title: str, components: Sequence[Bar], trend: Sequence[Point], *,
                 texts: ChartTexts = ENGLISH, writer: Writer | None = None) -> Figure:
    writer = writer or _writer("")
    texts = writer.texts(texts)
    rows = max(1, len(components))
    figure = _figure(0.9 + ROW * rows + 2.0)
    top, bottom = figure.subplots(2, 1, height_ratios=[0.5 + ROW * rows, 2.0])
    figure.suptitle(writer.label(title, texts.appraisal, size=40) or texts.appraisal,
                    fontsize=FONT + 2)
    top.set_title(texts.components, fontsize=FONT, loc="left")
    _bars(top, components, texts.no_components, texts, writer)
    _trend(bottom, trend[-TREND_SHOWN:], texts, writer)
    return figure


def _trend(axes: Axes, trend: Sequence[Point], texts: ChartTexts, writer: Writer) -> None:
    axes.set_title(texts.trend, fontsize=FONT, loc="left")
    axes.set_ylim(*SCALE)
    axes.tick_params(labelsize=SMALL)
    axes.grid(axis="y", alpha=0.3)
    if not trend:
        axes.set_xticks([])
        axes.text(0.5, 0.5, texts.no_periods, ha="center", va="center", fontsize=FONT,
                  transform=axes.transAxes)
        return
    positions = list(range(len(trend)))
    labels = [writer.label(point.label, f"P{i + 1}", size=10) for i, point in enumerate(trend)]
    shown = [(x, _clip(v)) for x, point in zip(positions, trend, strict=True)
             if (v := _finite(point.value)) is not None]
    if shown:
        xs, ys = zip(*shown, strict=True)
        axes.plot(xs, ys, marker="o", color=TREND_COLOUR, linewidth=2)
        for x, y in shown:
            axes.annotate(f"{y:.0f}", (x, y), textcoords="offset points", xytext=(0, 7),
                          ha="center", fontsize=SMALL)
    for x, point in zip(positions, trend, strict=True):
        if _finite(point.value) is None:
            axes.text(x, 3, texts.not_graded, ha="center", fontsize=SMALL, color="#555555")
    axes.set_xticks(positions, labels)
    axes.set_xlim(-0.5, len(trend) - 0.5)


def ranking_chart(title: str, bars: Sequence[Bar], limit: int = RANKED_SHOWN, *,
                  texts: ChartTexts = ENGLISH, font: str | None = None) -> bytes:
    """Units (or cadres) as horizontal bars, in the order given (best first), the first
    ``limit`` only; ungraded ones as a grey note instead of a bar. ``font`` as for
    :func:`score_chart`."""
    writer = _writer(font)
    return _png(ranking_figure(title, bars, limit, texts=texts, writer=writer), writer.font)


def ranking_figure(title: str, bars: Sequence[Bar], limit: int = RANKED_SHOWN, *,
                   texts: ChartTexts = ENGLISH, writer: Writer | None = None) -> Figure:
    writer = writer or _writer("")
    texts = writer.texts(texts)
    shown = list(bars[:max(1, limit)])
    figure = _figure(1.2 + ROW * max(1, len(shown)))
    axes = figure.subplots()
    heading = writer.label(title, texts.ranking, size=40) or texts.ranking
    if len(bars) > len(shown):
        heading += "\n" + texts.top.format(shown=len(shown), total=len(bars))
    axes.set_title(heading, fontsize=FONT + 1)
    _bars(axes, shown, texts.no_results, texts, writer)
    return figure
