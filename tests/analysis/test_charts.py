"""Charts for results in chat: real PNGs for every shape of input, sized for a phone, every
word as the caller gave it (Chinese with a CJK font, Latin fallbacks without one), and
nothing of matplotlib loaded or changed until a chart is drawn."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest
from PIL import Image

from analysis import charts
from analysis.charts import (
    Bar,
    ChartTexts,
    Point,
    Writer,
    cjk_font,
    latin,
    ranking_chart,
    ranking_figure,
    score_chart,
    score_figure,
)

PNG = b"\x89PNG\r\n\x1a\n"


def size_of(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as image:
        image.verify()
        return image.size


def test_a_score_chart_is_a_png_with_components_and_trend() -> None:
    png = score_chart("Cadre Wang 2026-Q4", [
        Bar("Resident satisfaction", 72.0, 60.0, 84.0),
        Bar("Verified key tasks", 100.0, 90.0, 100.0),
        Bar("Self-assessment", None, note="no data"),
    ], [Point("2026-Q2", 60.0), Point("2026-Q3", None), Point("2026-Q4", 72.0)])
    assert png.startswith(PNG)
    width, height = size_of(png)
    assert 400 <= width <= 2000 and 300 <= height <= 2000
    assert width + height < 10_000  # within what Telegram takes as a photo


def test_an_empty_trend_and_no_components_still_draw() -> None:
    assert score_chart("Nobody", [], []).startswith(PNG)


def test_one_component_and_one_period() -> None:
    png = score_chart("Solo", [Bar("Resident satisfaction", 55.0)], [Point("2026-11", 55.0)])
    assert png.startswith(PNG)


def test_out_of_range_and_odd_values_are_clipped_not_fatal() -> None:
    png = score_chart("Odd", [
        Bar("Above", 130.0, 120.0, 140.0),
        Bar("Below", -5.0, -10.0, 3.0),
        Bar("Not a number", float("nan"), 1.0, 2.0),
        Bar("Interval upside down", 50.0, 70.0, 30.0),
    ], [Point("2026-Q1", float("inf")), Point("2026-Q2", 40.0)])
    assert png.startswith(PNG)


def test_without_a_cjk_font_labels_fall_back_to_latin_so_no_glyph_is_missing() -> None:
    # With filterwarnings=error, a glyph missing from the font would fail this test.
    png = score_chart("王村长 2026-Q4", [Bar("群众满意度", 70.0, fallback="satisfaction"),
                                         Bar("道路", 40.0)],
                      [Point("2026年第四季度", 70.0)], texts=CHINESE, font="")
    assert png.startswith(PNG)
    assert ranking_chart("排名", [Bar("柳村", 80.0, fallback="V1")], font="").startswith(PNG)
    figure = ranking_figure("排名", [Bar("柳村", 80.0, fallback="V1")], texts=CHINESE,
                            writer=Writer(None))
    shown = words(figure)
    assert "V1" in shown and "Ranking" in shown and "柳村" not in shown
    assert "score (0-100)" in shown, "the English words where the Chinese cannot be drawn"


def test_latin() -> None:
    assert latin("Resident satisfaction") == "Resident satisfaction"
    assert latin("群众满意度", "satisfaction") == "satisfaction"
    assert latin("群众", "村") == ""
    assert latin("Élus  locaux\n") == "Élus locaux"
    assert latin("Willow Village of the North Township", size=20) == "Willow Village of…"


def test_a_ranking_shows_the_top_few_of_many_at_phone_size() -> None:
    bars = [Bar(f"V{i} Village", 95.0 - i, 90.0 - i, 99.0 - i) for i in range(60)]
    bars.append(Bar("V99 Small", None, note="not enough responses"))
    png = ranking_chart("Units 2026-Q4", bars)
    width, height = size_of(png)
    # Telegram shows it about 360 px wide: drawn at 4.5 inches, type of 9.5 pt and more is
    # at least 10 px there; a few bars keep it no taller than 1.5 times its width.
    assert charts.WIDTH <= 5 and min(charts.FONT, charts.SMALL) >= 9
    assert height <= 1.5 * width, "only the first few are drawn"
    figure = ranking_figure("Units 2026-Q4", bars)
    assert "top 8 of 61" in " ".join(words(figure))
    assert ranking_chart("Empty", []).startswith(PNG)
    assert ranking_chart("Ungraded", [Bar("V1", None)]).startswith(PNG)


CHINESE = ChartTexts(components="各项指标", trend="历期得分", axis="得分（0-100）",
                     axis_interval="得分（0-100），误差线：95% 区间", no_components="暂无指标",
                     no_periods="尚无已发布的考核期", no_results="暂无结果", no_score="无得分",
                     not_graded="未评", top="前 {shown} 名（共 {total} 个）", appraisal="考核",
                     ranking="排名")


def words(figure: object) -> list[str]:
    from matplotlib.text import Text

    return [text.get_text() for text in figure.findobj(Text)  # type: ignore[attr-defined]
            if text.get_text()]


@pytest.fixture
def font() -> str:
    found = cjk_font()
    if found is None:
        pytest.skip("no CJK font on this machine (fonts-noto-cjk)")
    return found


def test_a_chinese_reader_gets_every_word_and_name_in_chinese(font: str) -> None:
    figure = score_figure("王芳 2026-Q4", [Bar("群众满意度", 72.0, 60.0, 84.0, fallback="sat"),
                                           Bar("自评", None, note="无数据")],
                          [Point("2026-Q3", None), Point("2026-Q4", 72.0)], texts=CHINESE,
                          writer=Writer(font))
    shown = words(figure)
    for word in ("王芳 2026-Q4", "各项指标", "历期得分", "得分（0-100），误差线：95% 区间",
                 "群众满意度", "自评", "无数据", "未评"):
        assert word in shown, word
    assert not {"Components", "Score over periods", "sat"} & set(shown)
    many = [Bar(f"第{i}村", 90.0 - i) for i in range(12)]
    ranking = words(ranking_figure("各单位", many, texts=CHINESE, writer=Writer(font)))
    assert "各单位\n前 8 名（共 12 个）" in ranking and "得分（0-100）" in ranking
    png = score_chart("王芳", [Bar("群众满意度", 72.0)], [], texts=CHINESE, font=font)
    assert png.startswith(PNG)  # drawn in the CJK font: no missing glyph (warnings are errors)


def test_long_names_are_cut_at_a_word_boundary_on_a_chart() -> None:
    long = "Willow Village of the North Township of Riverside County"
    [name] = [w for w in words(ranking_figure("Units", [Bar(long, 50.0)]))
              if w.startswith("Willow")]
    kept = name.removesuffix("…")
    assert name.endswith("…") and long.startswith(kept) and long[len(kept)] == " "


@pytest.fixture
def no_font(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(charts, "CJK_FONT_PATHS", ())
    monkeypatch.setattr(charts.shutil, "which", lambda name: None)
    cjk_font.cache_clear()
    yield
    cjk_font.cache_clear()


def test_a_missing_cjk_font_is_said_once_in_the_log(no_font: None,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="analysis.charts"):
        assert cjk_font() is None
        assert cjk_font() is None
        png = ranking_chart("排名", [Bar("柳村", 80.0, fallback="V1")], texts=CHINESE)
    assert png.startswith(PNG)
    [record] = caplog.records
    assert "fonts-noto-cjk" in record.getMessage()


def test_importing_the_package_loads_no_matplotlib() -> None:
    code = ("import sys, analysis.charts, surveys.appraisal.results, handlers.results; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_drawing_changes_no_global_setting() -> None:
    code = ("import matplotlib; before = dict(matplotlib.rcParams); "
            "from analysis.charts import score_chart, ranking_chart, Bar; "
            "score_chart('x', [Bar('a', 1.0)], []); ranking_chart('y', [Bar('b', 2.0)]); "
            "print(dict(matplotlib.rcParams) == before)")
    out = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "True"
