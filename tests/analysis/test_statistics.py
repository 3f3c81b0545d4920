"""Margins of error and Wilson intervals against values computed by hand."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.statistics import margin_of_error, wilson_interval


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
