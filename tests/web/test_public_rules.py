"""The public page's rules without a server: what a stored result becomes in public (groups
under the minimum suppressed, self-assessment never shown, satisfaction from residents'
components only), and the trend's drawing (a period that may not be shown is a gap, never
a point or a line across it)."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.web.charts import trend_chart
from storage.models import AppraisalResult, Unit
from surveys.appraisal.public import (
    NO_DATA,
    NOT_ENOUGH,
    SUPPRESSED,
    PublicPoint,
    _row,
    public_components,
    satisfaction,
    slug_of,
)

MIN = 5


def _component(ident: str, source: str, weight: float, score: float | None,
               n: int) -> dict[str, Any]:
    return {"id": ident, "label": ident.title(), "source": source, "weight": weight, "n": n,
            "score": score, "interval": None if score is None else [score - 5, score + 5]}


def result(responses: int, status: str = "graded", score: float | None = 70.0,
           components: list[dict[str, Any]] | None = None) -> AppraisalResult:
    return AppraisalResult(
        id=1, run_id=1, kind="unit", unit_id=1, status=status, score=score,
        grade="good" if score is not None else None, rank=1, responses=responses,
        recognition=False, exaggeration=False,
        detail={"min_responses": 10, "components": components or [
            _component("satisfaction", "residents", 0.6, 72.0, responses),
            _component("service", "residents", 0.2, 60.0, responses),
            _component("key_tasks", "inspections", 0.1, 80.0, 2),
            _component("self_view", "self_assessment", 0.1, 95.0, 1)]})


UNIT = Unit(id=1, code="RIVER-N-Willow", name="Willow Village", name_zh="柳村", type="village")


def test_the_slug_is_the_code_in_lower_case() -> None:
    assert slug_of(UNIT.code) == "river-n-willow"


@pytest.mark.parametrize("responses", [1, 4])
def test_a_group_under_the_minimum_shows_no_figure(responses: int) -> None:
    row = _row(UNIT, 0, result(responses), MIN, "en")
    assert row.state == SUPPRESSED
    assert (row.score, row.grade, row.responses) == (None, None, None)
    assert public_components(result(responses), MIN, UNIT) == ()
    assert satisfaction(result(responses), MIN) is None


def test_at_the_minimum_the_result_shows_without_the_self_assessment() -> None:
    row = _row(UNIT, 0, result(MIN), MIN, "zh")
    assert (row.state, row.score, row.responses, row.name) == ("graded", 70.0, MIN, "柳村")
    shown = public_components(result(MIN), MIN, UNIT)
    assert [c.label for c in shown] == ["Satisfaction", "Service", "Key_Tasks"]
    # Inspections are not residents: two of them are no small cell of people.
    assert shown[-1].n == 2 and shown[-1].score == 80.0


def test_a_residents_component_under_the_minimum_is_hidden_in_a_larger_result() -> None:
    stored = result(40, components=[_component("satisfaction", "residents", 0.6, 72.0, 40),
                                    _component("comments", "sentiment", 0.4, 55.0, 3)])
    shown = public_components(stored, MIN, UNIT)
    assert shown[0].n == 40 and shown[0].score == 72.0
    assert (shown[1].n, shown[1].score, shown[1].low) == (None, None, None)


def test_not_graded_and_no_data() -> None:
    row = _row(UNIT, 1, result(7, "not_enough_responses", None), MIN, "en")
    assert (row.state, row.responses, row.min_responses) == (NOT_ENOUGH, 7, 10)
    empty = _row(UNIT, 1, result(0, "no_data", None, components=[]), MIN, "en")
    assert empty.state == NO_DATA


def test_satisfaction_is_the_weighted_mean_of_residents_ratings() -> None:
    assert satisfaction(result(40), MIN) == pytest.approx((0.6 * 72 + 0.2 * 60) / 0.8)


def test_the_trend_leaves_a_gap_where_a_period_is_not_shown() -> None:
    points = (PublicPoint("2026-Q1", 60.0, 61.0, False), PublicPoint("2026-Q2", 65.0, 66.0, False),
              PublicPoint("2026-Q3", None, None, True), PublicPoint("2026-Q4", 70.0, 71.0, False))
    chart = trend_chart([(p.period, p.satisfaction) for p in points])
    assert chart is not None
    assert [d.period for d in chart.dots] == ["2026-Q1", "2026-Q2", "2026-Q4"]
    assert len(chart.lines) == 1, "Q1-Q2 only: no line across the hidden Q3"
    assert [label for label, _ in chart.labels] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    high, low = chart.dots[2], chart.dots[0]
    assert high.y < low.y, "higher satisfaction is higher on the chart"
    assert chart.left <= low.x < high.x <= chart.right


def test_no_chart_without_a_value_that_may_be_shown() -> None:
    assert trend_chart([("2026-Q3", None)]) is None
    assert trend_chart([]) is None
    one = trend_chart([("2026-Q3", 50.0)])
    assert one is not None and one.lines == () and len(one.dots) == 1
