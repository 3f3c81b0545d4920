"""Margins of error and Wilson intervals against values computed by hand."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.statistics import (
    QuestionKind,
    kpi_score,
    margin_of_error,
    sentiment_score,
    shrink,
    summarize,
    t95,
    to_score,
    verdict_score,
    wilson_interval,
)


def test_margin_of_error_of_a_classic_poll() -> None:
    # 1,000 respondents, worst case p = 0.5: the familiar ±3.1 points.
    moe = margin_of_error(1000)
    assert moe is not None and math.isclose(moe, 0.0310, abs_tol=0.0001)


def test_finite_population_correction() -> None:
    plain = margin_of_error(100)
    corrected = margin_of_error(100, population=200)
    assert plain is not None and corrected is not None
    assert math.isclose(corrected, plain * math.sqrt(100 / 199))
    assert margin_of_error(200, population=200) == 0.0
    assert margin_of_error(0) is None


def test_wilson_interval_known_values() -> None:
    # 8 of 10: Wilson gives about [0.490, 0.943] (normal approximation would exceed 1 at 10/10).
    low, high = wilson_interval(8, 10) or (0, 0)
    assert math.isclose(low, 0.4902, abs_tol=0.001) and math.isclose(high, 0.9433, abs_tol=0.001)
    low, high = wilson_interval(10, 10) or (0, 0)
    assert high == pytest.approx(1.0) and 0.69 < low < 0.73
    assert wilson_interval(0, 0) is None


@given(st.integers(min_value=1, max_value=10_000), st.data())
def test_wilson_contains_the_estimate(n: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(min_value=0, max_value=n))
    low, high = wilson_interval(k, n) or (2.0, -1.0)
    assert 0.0 <= low <= k / n <= high <= 1.0


# --- summaries per question -------------------------------------------------------------


def test_summarize_rating_by_hand() -> None:
    stats = summarize({5: 3, 4: 2, 1: 1}, "rating")
    assert stats.n == 6 and stats.mean == pytest.approx(4.0)
    # Sample sd: deviations 1,1,1,0,0,-3 -> 12 / 5.
    assert stats.sd == pytest.approx(math.sqrt(12 / 5))
    assert stats.distribution == ((1.0, 1), (2.0, 0), (3.0, 0), (4.0, 2), (5.0, 3))
    assert stats.csat == pytest.approx(5 / 6)
    assert stats.csat_interval == wilson_interval(5, 6)
    assert stats.score == pytest.approx(75.0)
    assert stats.nps is None and stats.yes_share is None
    low, high = stats.mean_interval or (0.0, 0.0)
    # t with 5 degrees of freedom (2.571), clipped at the top of the scale.
    assert low == pytest.approx(4.0 - 2.571 * math.sqrt(12 / 5) / math.sqrt(6))
    assert high == 5.0
    assert stats.margin_of_error == margin_of_error(6)
    assert stats.response_rate is None


def test_summarize_nps_by_hand() -> None:
    # 3 promoters, 2 passives, 1 detractor of 6: NPS = 50% - 16.7% = 33.3.
    stats = summarize({10: 1, 9: 2, 8: 1, 7: 1, 3: 1}, "nps", population=40, invited=12)
    assert stats.nps == pytest.approx(100 * (3 - 1) / 6)
    assert stats.promoters == pytest.approx(0.5) and stats.detractors == pytest.approx(1 / 6)
    assert stats.passives == pytest.approx(1 / 3)
    assert [v for v, _ in stats.distribution] == [float(v) for v in range(11)]
    assert stats.csat is None
    assert stats.response_rate == pytest.approx(0.5)
    assert stats.margin_of_error == pytest.approx(margin_of_error(6, population=40) or -1)
    assert (stats.margin_of_error or 1) < (margin_of_error(6) or 0)


def test_summarize_yesno_accepts_booleans() -> None:
    stats = summarize({True: 3, False: 1}, "yesno")
    assert stats.yes_share == pytest.approx(0.75) and stats.score == pytest.approx(75.0)
    assert stats.yes_interval == wilson_interval(3, 4) == stats.mean_interval
    assert stats.distribution == ((0.0, 1), (1.0, 3))


def test_summarize_number_has_no_scale() -> None:
    stats = summarize({2.5: 3, 7: 1}, "number")
    assert stats.mean == pytest.approx(3.625) and stats.score is None
    assert stats.mean_interval is not None and stats.csat is None


@pytest.mark.parametrize("kind", ["rating", "nps", "yesno", "number"])
def test_summarize_without_answers_is_all_none(kind: QuestionKind) -> None:
    stats = summarize({}, kind, population=100, invited=0)
    assert stats.n == 0
    assert stats.mean is None and stats.sd is None and stats.mean_interval is None
    assert stats.csat is None and stats.nps is None and stats.margin_of_error is None
    assert stats.response_rate is None
    assert all(count == 0 for _, count in stats.distribution)
    assert summarize({3: 0}, "rating").mean is None


def test_summarize_one_answer() -> None:
    stats = summarize({5: 1}, "rating", invited=10)
    assert stats.sd is None and stats.csat == 1.0 and stats.response_rate == pytest.approx(0.1)
    # No spread to measure: the interval is Wilson's on the rescaled mean, not a point.
    low, high = stats.mean_interval or (0.0, 0.0)
    assert high == 5.0 and low < 3.0


def test_summarize_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="outside"):
        summarize({6: 1}, "rating")
    with pytest.raises(ValueError, match="negative"):
        summarize({3: -1}, "rating")


def test_as_dict_is_json() -> None:
    out = json.loads(json.dumps(summarize({5: 3, 4: 2, 1: 1}, "rating").as_dict()))
    assert out["distribution"] == {"1": 1, "2": 0, "3": 0, "4": 2, "5": 3}


@given(st.dictionaries(st.integers(1, 5), st.integers(0, 200), min_size=1))
def test_summarize_rating_properties(counts: dict[int, int]) -> None:
    stats = summarize(counts, "rating", population=1000)
    if stats.n == 0:
        assert stats.mean is None
        return
    assert stats.mean is not None and 1 <= stats.mean <= 5
    assert stats.score is not None and 0 <= stats.score <= 100
    low, high = stats.mean_interval or (9.0, -9.0)
    assert 1 <= low <= stats.mean + 1e-9 and stats.mean - 1e-9 <= high <= 5
    assert stats.csat is not None and 0 <= stats.csat <= 1
    assert sum(c for _, c in stats.distribution) == stats.n


# --- scales and shrinkage -------------------------------------------------------------


def test_to_score_scales() -> None:
    assert [to_score(v, "rating") for v in (1, 3, 5)] == [0.0, 50.0, 100.0]
    assert [to_score(v, "nps") for v in (0, 7, 10)] == [0.0, 70.0, 100.0]
    assert to_score(True, "yesno") == 100.0 and to_score(0, "yesno") == 0.0
    with pytest.raises(ValueError):
        to_score(0, "rating")
    with pytest.raises(ValueError):
        to_score(3, "number")
    assert sentiment_score(-1) == 0.0 and sentiment_score(0.5) == 75.0
    assert verdict_score("partly") == 50.0
    assert kpi_score(75, worst=50, best=100) == 50.0 and kpi_score(120, 50, 100) == 100.0
    assert kpi_score(2, worst=10, best=0) == 80.0  # lower is better


def test_shrink_by_hand() -> None:
    # 3 answers averaging 100, prior 60 with weight 10: (300 + 600) / 13.
    assert shrink(100, 3, 60, 10) == pytest.approx(900 / 13)
    assert shrink(100, 0, 60, 10) == 60
    assert shrink(100, 5, 60, 0) == 100
    assert shrink(100, 0, 60, 0) == 60


@given(
    st.floats(0, 100), st.integers(0, 10_000), st.floats(0, 100), st.floats(0.1, 100),
)
def test_shrink_moves_toward_the_prior(mean: float, n: int, prior: float, weight: float) -> None:
    shrunk = shrink(mean, n, prior, weight)
    assert min(mean, prior) - 1e-9 <= shrunk <= max(mean, prior) + 1e-9
    # More answers, less pull.
    assert abs(shrink(mean, n + 1, prior, weight) - mean) <= abs(shrunk - mean) + 1e-9


def test_t_quantiles() -> None:
    assert t95(1) == pytest.approx(12.706) and t95(30) == pytest.approx(2.042)
    assert t95(60) == pytest.approx(2.000, abs=0.001)
    assert t95(10_000) == pytest.approx(1.960, abs=0.001)
