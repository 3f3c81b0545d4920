"""The charts' words and names for a reader: Chinese for a Chinese reader (every word, from
the catalogs), units by their names in the reader's language, never by code."""

from __future__ import annotations

import dataclasses

import pytest

from analysis import charts
from handlers.chart_render import (
    chart_texts,
    component_bars,
    ranking_bars,
    ranking_chart_args,
    score_chart_args,
)
from surveys.appraisal.results import Component, MyScore, Ranked, TrendPoint

PNG = b"\x89PNG\r\n\x1a\n"


def ranked(code: str, name: str, score: float | None, status: str = "graded") -> Ranked:
    return Ranked(result_id=1, kind="unit", name=name, unit_code=code, unit_name=name,
                  status=status, score=score, grade=None, rank=None, ranked=None,
                  responses=30, min_responses=10, recognition=False)


def component(ident: str, label: str, score: float | None, n: int = 30) -> Component:
    return Component(id=ident, label=label, source="survey", weight=0.5, used_weight=0.5,
                     n=n, score=score, low=None, high=None, note=None)


def words(figure: object) -> list[str]:
    from matplotlib.text import Text

    return [text.get_text() for text in figure.findobj(Text)  # type: ignore[attr-defined]
            if text.get_text()]


def test_every_chart_word_is_chinese_for_a_chinese_reader() -> None:
    english, chinese = chart_texts("en"), chart_texts("zh")
    assert english == charts.ENGLISH, "the chart's own defaults are the catalog's English"
    for field in dataclasses.fields(chinese):
        word = getattr(chinese, field.name)
        assert word != getattr(english, field.name), field.name
        assert any("\u4e00" <= ch <= "\u9fff" for ch in word), field.name
    assert chinese.top.format(shown=8, total=12) == "前 8 名（共 12 个）"


def test_units_are_named_not_coded_and_notes_are_in_the_language() -> None:
    rows = [ranked("RIVER-N-WILLOW", "柳村", 81.0),
            ranked("RIVER-N-PINE", "松村", None, status="insufficient"),
            ranked("RIVER-N-OAK", "橡村", None, status="no_data")]
    bars = ranking_bars(rows, "zh")
    assert [b.label for b in bars] == ["柳村", "松村", "橡村"]
    assert all("RIVER" not in b.label for b in bars)
    assert [b.note for b in bars[1:]] == ["回答不足", "无数据"]
    args = ranking_chart_args(rows, "2026-Q4", "zh")
    assert args["title"] == "各单位 2026-Q4"
    assert charts.ranking_chart(**args).startswith(PNG)


def test_components_by_label_with_the_id_only_as_fallback() -> None:
    [bar] = component_bars([component("resident_satisfaction", "群众满意度", None, n=0)], "zh")
    assert (bar.label, bar.fallback, bar.note) == ("群众满意度", "resident_satisfaction",
                                                    "无数据")


def test_a_score_chart_for_a_chinese_cadre_speaks_chinese() -> None:
    font = charts.cjk_font()
    if font is None:
        pytest.skip("no CJK font on this machine (fonts-noto-cjk)")
    view = MyScore(lang="zh", name="王芳", period="2026-Q4",
                   trend=(TrendPoint("2026-Q3", None, None, "insufficient"),
                          TrendPoint("2026-Q4", 72.0, "B", "graded")))
    args = score_chart_args(view, _breakdown())
    shown = words(charts.score_figure(**args, writer=charts.Writer(font)))
    for word in ("王芳 2026-Q4", "各项指标", "历期得分", "群众满意度", "未评"):
        assert word in shown, word
    assert not {"Components", "Score over periods", "n/a"} & set(shown)
    assert charts.score_chart(**args).startswith(PNG)


def _breakdown() -> object:
    from surveys.appraisal.results import Breakdown

    base = dataclasses.asdict(ranked("RIVER-N-WILLOW", "王芳", 72.0))
    return Breakdown(**base, unit_id=1,
                     components=(component("resident_satisfaction", "群众满意度", 72.0),),
                     excluded={}, excluded_total=0, others_view=None, self_view=None,
                     exaggeration=False, training=(), themes=(), themes_note=None,
                     themes_hidden=False, explanation=None)


def test_a_ranking_chart_for_a_chinese_reader_speaks_chinese() -> None:
    font = charts.cjk_font()
    if font is None:
        pytest.skip("no CJK font on this machine (fonts-noto-cjk)")
    rows = [ranked("RIVER-N-WILLOW", "柳村", 81.0),
            ranked("RIVER-N-PINE", "松村", None, status="insufficient")]
    args = ranking_chart_args(rows, "2026-Q4", "zh")
    shown = words(charts.ranking_figure(**args, writer=charts.Writer(font)))
    for word in ("各单位 2026-Q4", "柳村", "松村", "回答不足"):
        assert word in shown, word
    assert not any("RIVER" in word for word in shown), "units by name, never by code"
    assert not {"Units 2026-Q4", "not enough responses"} & set(shown)
