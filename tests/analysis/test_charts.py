"""Charts for results in chat: real PNGs for every shape of input, Latin labels only, and
nothing of matplotlib loaded or changed until a chart is drawn."""

from __future__ import annotations

import io
import subprocess
import sys

from PIL import Image

from analysis.charts import Bar, Point, latin, ranking_chart, score_chart

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


def test_cjk_labels_fall_back_to_latin_so_no_font_is_missing() -> None:
    # With filterwarnings=error, a glyph missing from the font would fail this test.
    png = score_chart("王村长 2026-Q4", [Bar("群众满意度", 70.0, fallback="satisfaction"),
                                         Bar("道路", 40.0)],
                      [Point("2026年第四季度", 70.0)])
    assert png.startswith(PNG)
    assert ranking_chart("排名", [Bar("柳村", 80.0, fallback="V1")]).startswith(PNG)


def test_latin() -> None:
    assert latin("Resident satisfaction") == "Resident satisfaction"
    assert latin("群众满意度", "satisfaction") == "satisfaction"
    assert latin("群众", "村") == ""
    assert latin("Élus  locaux\n") == "Élus locaux"
    assert latin("x" * 50, size=10) == "x" * 9 + "…"


def test_a_ranking_shows_the_top_twenty_of_many() -> None:
    bars = [Bar(f"V{i} Village", 95.0 - i, 90.0 - i, 99.0 - i) for i in range(60)]
    bars.append(Bar("V99 Small", None, note="not enough responses"))
    png = ranking_chart("Units 2026-Q4", bars)
    _width, height = size_of(png)
    assert height < 1200, "only the first 20 are drawn"
    assert ranking_chart("Empty", []).startswith(PNG)
    assert ranking_chart("Ungraded", [Bar("V1", None)]).startswith(PNG)


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
