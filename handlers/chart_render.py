"""What the charts in chat say, in the reader's language: their words from the catalogs and
their bars named as the reader reads the units (display names, never codes), for
:mod:`analysis.charts`, which draws whatever it is given and knows no language.

``/myscore`` and ``/results`` draw their charts with these: :func:`score_chart_args` and
:func:`ranking_chart_args` give the arguments of ``charts.score_chart`` and
``charts.ranking_chart`` for a reader of ``lang``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from analysis import charts
from handlers.texts import t
from surveys.appraisal.results import Breakdown, Component, MyScore, Ranked

_FIELDS = ("components", "trend", "axis", "axis_interval", "no_components", "no_periods",
           "no_results", "no_score", "not_graded", "appraisal", "ranking")


def chart_texts(lang: str) -> charts.ChartTexts:
    """Every word a chart shows, in ``lang``."""
    words = {name: t(f"chart.{name}", lang) for name in _FIELDS}
    # The counts are filled in by the chart, which knows how many bars it drew.
    top = t("chart.top", lang, {"shown": "{shown}", "total": "{total}"})
    return charts.ChartTexts(**words, top=top)


def component_bars(components: Sequence[Component], lang: str) -> list[charts.Bar]:
    """A result's components as bars, named by their labels (the indicator's id is only
    the fallback of a label that cannot be drawn)."""
    return [charts.Bar(c.label, c.score, c.low, c.high, fallback=c.id,
                       note=t("chart.no_data" if c.n == 0 else "chart.no_score", lang))
            for c in components]


def ranking_bars(rows: Sequence[Ranked], lang: str) -> list[charts.Bar]:
    """Units (best first) as bars named by the unit's name in ``lang`` (``unit_name`` is
    read in the reader's language); the code only as the fallback of a name that cannot be
    drawn, never shown next to it."""
    return [charts.Bar(r.unit_name, r.score if r.graded else None, fallback=r.unit_code,
                       note=t("chart.no_data" if r.status == "no_data" else "chart.too_few",
                              lang))
            for r in rows]


def score_chart_args(view: MyScore, shown: Breakdown) -> dict[str, Any]:
    """``charts.score_chart(**score_chart_args(view, shown))`` for ``/myscore``."""
    lang = view.lang
    return {"title": f"{shown.name} {view.period or ''}".strip(),
            "components": component_bars(shown.components, lang),
            "trend": [charts.Point(p.period, p.score) for p in view.trend],
            "texts": chart_texts(lang)}


def ranking_chart_args(rows: Sequence[Ranked], period: str, lang: str) -> dict[str, Any]:
    """``charts.ranking_chart(**ranking_chart_args(...))`` for ``/results``."""
    return {"title": t("chart.units", lang, {"period": period}),
            "bars": ranking_bars(rows, lang), "texts": chart_texts(lang)}
