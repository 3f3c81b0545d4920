"""Appraisal arithmetic: shrinkage, missing components, status, grades, ranks, recognition,
training, exaggeration and the explanation, by hand and as properties."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.scoring import (
    AppraisalRules,
    Grade,
    IndicatorRule,
    Observation,
    Result,
    Subject,
    appraise,
)
from analysis.statistics import shrink, wilson_interval

INDICATORS = (
    IndicatorRule("satisfaction", "residents", 0.5, training="residents",
                  label="Resident satisfaction"),
    IndicatorRule("solved", "residents", 0.2, training="policy", label="Problems solved"),
    IndicatorRule("comments", "sentiment", 0.1),
    IndicatorRule("key_tasks", "inspections", 0.2, training="projects"),
)
RULES = AppraisalRules(indicators={"*": INDICATORS})


def obs(*scores: float) -> Observation:
    return Observation(len(scores), sum(scores), sum(s * s for s in scores))


def unit(key: str, responses: int, unit_type: str = "village", **observations: Observation
         ) -> Subject:
    return Subject(key=key, kind="unit", name=key.title(), unit_type=unit_type,
                   responses=responses, observations=observations)


def by_key(results: Sequence[Result]) -> dict[str, Result]:
    return {result.key: result for result in results}


# --- rules ------------------------------------------------------------------------------


def test_weights_must_sum_to_one() -> None:
    with pytest.raises(ValueError, match=r"'village': weights must sum to 1, but 0.5 \(a\)"):
        AppraisalRules(indicators={"village": [IndicatorRule("a", "residents", 0.5),
                                               IndicatorRule("b", "kpi", 0.4)]})
    # Rounding in the configuration is tolerated.
    AppraisalRules(indicators={"*": [IndicatorRule("a", "residents", 0.1 + 0.2),
                                     IndicatorRule("b", "kpi", 0.7)]})


@pytest.mark.parametrize(
    ("indicators", "grades", "message"),
    [
        ({"*": [IndicatorRule("a", "residents", -0.5), IndicatorRule("b", "kpi", 1.5)]},
         None, "weight -0.5"),
        ({"*": [IndicatorRule("a", "residents", 0.5), IndicatorRule("a", "kpi", 0.5)]},
         None, "'a' is used twice"),
        ({"*": [IndicatorRule("a", "votes", 1.0)]}, None, "unknown source 'votes'"),  # type: ignore[arg-type]
        ({"*": []}, None, "has no indicators"),
        ({}, None, "no unit types"),
        ({"*": [IndicatorRule("a", "residents", 1.0)]},
         [Grade("good", 70), Grade("excellent", 85), Grade("poor", 0)], "descending"),
        ({"*": [IndicatorRule("a", "residents", 1.0)]},
         [Grade("good", 70), Grade("fair", 50)], "must start at 0"),
        ({"*": [IndicatorRule("a", "residents", 1.0)]},
         [Grade("good", 70), Grade("good", 0)], "repeat"),
    ],
)
def test_bad_rules_are_refused(
    indicators: dict[str, list[IndicatorRule]], grades: list[Grade] | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        if grades is None:
            AppraisalRules(indicators=indicators)
        else:
            AppraisalRules(indicators=indicators, grades=grades)


# --- by hand ----------------------------------------------------------------------------


def test_shrinkage_missing_weight_and_grade_by_hand() -> None:
    a = unit("a", 20, satisfaction=obs(*[100.0] * 15, *[50.0] * 5),
             solved=obs(*[100.0] * 16, *[0.0] * 4), key_tasks=obs(100, 50))
    b = unit("b", 10, satisfaction=obs(*[50.0] * 10), solved=obs(*[100.0] * 5, *[0.0] * 5),
             key_tasks=obs(50, 50))
    results = by_key(appraise([a, b], RULES))
    ra, rb = results["a"], results["b"]
    # Priors: pooled means over both units.
    prior_sat = (1750 + 500) / 30
    prior_solved = (1600 + 500) / 30
    prior_tasks = 250 / 4
    sat = shrink(87.5, 20, prior_sat, 10)
    solved = shrink(80.0, 20, prior_solved, 10)
    tasks = shrink(75.0, 2, prior_tasks, 10)
    # Comments are missing: their 10% goes to the others in proportion (0.5/0.9, ...).
    expected = (0.5 * sat + 0.2 * solved + 0.2 * tasks) / 0.9
    assert ra.status == "graded" and ra.score == round(expected, 1)
    components = {c.id: c for c in ra.components}
    assert components["satisfaction"].score == pytest.approx(sat)
    assert components["satisfaction"].used_weight == pytest.approx(0.5 / 0.9)
    assert components["comments"].used_weight == 0 and components["comments"].score is None
    assert "spread over the other components" in (components["comments"].note or "")
    assert sum(c.used_weight for c in ra.components) == pytest.approx(1.0)
    # Solved is a yes/no share: Wilson's interval.
    low, high = wilson_interval(16, 20) or (0, 0)
    assert components["solved"].interval == pytest.approx((100 * low, 100 * high))
    assert ra.grade == "good" and ra.rank == 1 and rb.rank == 2
    assert rb.grade == "fair"  # 50s, pulled up toward the pooled means


def test_the_explanation_names_every_component() -> None:
    a = Subject(key="a", kind="unit", name="A", unit_type="town", responses=38,
                observations={"satisfaction": obs(*[75.0] * 20, *[100.0] * 10, *[50.0] * 8),
                              "key_tasks": obs(100, 50, 100)},
                excluded={"too_fast": 3, "entry_burst": 30})
    text = appraise([a], RULES)[0].explanation
    assert text.startswith("Score ")
    assert "Resident satisfaction (satisfaction): 76.3 from 38 responses (95% CI" in text
    assert "; weight 50% (71.4% with the missing components' weight)" in text
    assert "Problems solved (solved): no data; its 20% weight is spread" in text
    assert "Comment sentiment (comments): no data" in text
    assert "Inspection results (key_tasks): 83.3 from 3 inspections (95% CI" in text
    assert "Excluded from the scores: 3 too fast, 30 entry-point burst." in text


def test_a_unit_with_one_response_is_not_graded() -> None:
    lonely = unit("lonely", 1, satisfaction=obs(100), solved=obs(100))
    others = [unit(f"u{i}", 30, satisfaction=obs(*[60.0] * 30)) for i in range(3)]
    result = by_key(appraise([lonely, *others], RULES))["lonely"]
    assert result.status == "not_enough_responses"
    assert result.score is None and result.grade is None and result.rank is None
    assert not result.recognition and not result.exaggeration
    assert result.explanation.startswith("Not graded: not enough responses: 1 of the 10 needed.")
    # Its components are still computed and explained, shrunk toward the others.
    satisfaction = result.components[0]
    assert satisfaction.n == 1 and satisfaction.raw_mean == 100.0
    assert satisfaction.score == pytest.approx(shrink(100, 1, 5500 / 91, 10))
    assert "Resident satisfaction (satisfaction): 64.0, the mean 100.0 of 1 response" in \
        result.explanation


def test_a_period_with_no_data() -> None:
    assert appraise([], RULES) == []
    empty = appraise([unit("empty", 0)], RULES)[0]
    assert empty.status == "no_data" and empty.score is None
    assert empty.explanation.startswith("Not graded: no data for this period.")


def test_all_answers_flagged() -> None:
    stuffed = Subject(key="s", kind="unit", name="S", unit_type="village", responses=0,
                      observations={}, excluded={"entry_burst": 40, "too_fast": 2})
    result = appraise([stuffed], RULES)[0]
    assert result.status == "not_enough_responses"
    assert "0 of the 10 needed" in result.explanation
    assert "Excluded from the scores: 40 entry-point burst, 2 too fast." in result.explanation


def test_unknown_unit_type_without_default() -> None:
    rules = AppraisalRules(indicators={"village": [IndicatorRule("satisfaction", "residents", 1)]})
    result = appraise([unit("x", 30, unit_type="school", satisfaction=obs(50))], rules)[0]
    assert result.status == "no_data"
    assert "no indicators are configured for unit type 'school'" in result.explanation


def test_kpi_only_type_needs_no_responses_and_is_not_shrunk() -> None:
    rules = AppraisalRules(indicators={"depot": [IndicatorRule("waste", "kpi", 1.0)]})
    results = appraise([unit("d1", 0, unit_type="depot", waste=obs(90)),
                        unit("d2", 0, unit_type="depot", waste=obs(40))], rules)
    assert [r.score for r in results] == [90.0, 40.0]
    assert results[0].components[0].interval is None
    assert "a measured value" in results[0].explanation
    # An indicator's own prior weight overrides the default.
    shrunk = AppraisalRules(indicators={"depot": [IndicatorRule("waste", "kpi", 1.0,
                                                                prior_weight=1)]})
    results = appraise([unit("d1", 0, unit_type="depot", waste=obs(90)),
                        unit("d2", 0, unit_type="depot", waste=obs(40))], shrunk)
    assert results[0].score == pytest.approx(77.5)


def test_priors_are_per_kind_and_unit_type() -> None:
    village = unit("v", 10, satisfaction=obs(*[80.0] * 10))
    town = unit("t", 10, unit_type="town", satisfaction=obs(*[40.0] * 10))
    results = appraise([village, town], RULES)
    # Each is alone in its type: shrunk toward itself, i.e. not moved.
    assert [r.components[0].score for r in results] == [80.0, 40.0]


def test_equal_scores_rank_the_more_certain_first() -> None:
    # Both at the pooled mean, so shrinkage leaves them equal; the bigger sample is surer.
    scores = [50.0, 100.0] * 50
    big = unit("big", 100, satisfaction=obs(*scores))
    small = unit("small", 10, satisfaction=obs(*scores[:10]))
    results = by_key(appraise([small, big], AppraisalRules(indicators={
        "*": [IndicatorRule("satisfaction", "residents", 1.0)]})))
    assert results["big"].score == results["small"].score
    assert (results["big"].rank, results["small"].rank) == (1, 2)


def test_exact_ties_share_a_rank() -> None:
    rules = AppraisalRules(indicators={"*": [IndicatorRule("satisfaction", "residents", 1.0)]})
    results = appraise([unit(k, 20, satisfaction=obs(*[75.0] * 20)) for k in "abc"], rules)
    assert [r.rank for r in results] == [1, 1, 1]


def test_recognition_only_at_the_best_grade() -> None:
    rules = AppraisalRules(indicators={"*": [IndicatorRule("satisfaction", "residents", 1.0)]},
                           prior_weight=0)
    means = [95, 92, 90, 88, 86, *[60] * 15]  # 20 graded, 5 excellent
    results = appraise([unit(f"u{i:02}", 20, satisfaction=obs(*[m] * 20))
                        for i, m in enumerate(means)], rules)
    assert [r.key for r in results if r.recognition] == ["u00", "u01"]  # 10% of 20
    assert "Recognised: among the top 10% of units" in results[0].explanation
    # Nobody excellent: nobody recognised, however many are graded.
    results = appraise([unit(f"u{i}", 20, satisfaction=obs(*[80.0] * 20)) for i in range(5)],
                       rules)
    assert not any(r.recognition for r in results)
    # Few graded: still one.
    results = appraise([unit("a", 20, satisfaction=obs(*[90.0] * 20)),
                        unit("b", 20, satisfaction=obs(*[60.0] * 20))], rules)
    assert [r.recognition for r in results] == [True, False]


def test_training_from_the_weakest_indicators_under_good() -> None:
    rules = AppraisalRules(indicators={"*": INDICATORS}, prior_weight=0, training_count=2)
    weak = unit("w", 20, satisfaction=obs(*[60.0] * 20), solved=obs(*[0.0] * 10, *[100.0] * 10),
                comments=obs(10.0), key_tasks=obs(90, 90))
    result = appraise([weak], rules)[0]
    # Comments are the weakest but have no topic; solved (50) then satisfaction (60).
    assert result.training == ("policy", "residents")
    strong = unit("s", 20, satisfaction=obs(*[90.0] * 20), key_tasks=obs(100))
    assert appraise([strong], rules)[0].training == ()


def test_exaggeration() -> None:
    rules = AppraisalRules(indicators={"*": [
        IndicatorRule("satisfaction", "residents", 0.6),
        IndicatorRule("key_tasks", "inspections", 0.3),
        IndicatorRule("self", "self_assessment", 0.1),
    ]}, prior_weight=0)

    def cadre(key: str, self_view: float, responses: int = 20) -> Subject:
        return Subject(key=key, kind="cadre", name=key, unit_type="village",
                       responses=responses,
                       observations={"satisfaction": obs(*[60.0] * responses),
                                     "key_tasks": obs(30.0), "self": obs(self_view)},
                       self_view=self_view)

    high, fair, small = appraise([cadre("high", 90), cadre("fair", 65), cadre("small", 95, 3)],
                                 rules)
    assert high.others_view == 50.0  # (0.6 × 60 + 0.3 × 30) / 0.9
    assert high.exaggeration and "possible exaggeration" in high.explanation
    assert not fair.exaggeration
    assert not small.exaggeration and "not judged without a grade" in small.explanation
    # The self-assessment is a component like any other, not shrunk.
    assert high.components[2].score == 90.0


def test_as_dict_is_json() -> None:
    result = appraise([unit("a", 20, satisfaction=obs(*[80.0] * 20))], RULES)[0]
    data = json.loads(json.dumps(result.as_dict()))
    assert data["status"] == "graded" and len(data["components"]) == 4
    assert data["components"][0]["interval"] is not None


# --- properties ---------------------------------------------------------------------------

scores_st = st.lists(st.sampled_from([0.0, 25.0, 50.0, 75.0, 100.0]), min_size=0, max_size=40)


@st.composite
def subjects_st(draw: st.DrawFn) -> list[Subject]:
    count = draw(st.integers(1, 8))
    subjects = []
    for i in range(count):
        sat = draw(scores_st)
        solved = draw(st.lists(st.sampled_from([0.0, 100.0]), max_size=40))
        tasks = draw(st.lists(st.sampled_from([0.0, 50.0, 100.0]), max_size=4))
        observations = {k: obs(*v) for k, v in
                        (("satisfaction", sat), ("solved", solved), ("key_tasks", tasks)) if v}
        subjects.append(Subject(key=f"u{i}", kind="unit", name=f"U{i}", unit_type="village",
                                responses=len(sat), observations=observations))
    return subjects


@settings(max_examples=150, deadline=None)
@given(subjects_st())
def test_scores_are_bounded_and_weights_add_up(subjects: list[Subject]) -> None:
    for result in appraise(subjects, RULES):
        if result.status == "graded":
            assert result.score is not None and 0 <= result.score <= 100
            assert sum(c.used_weight for c in result.components) == pytest.approx(1.0)
            assert result.grade is not None and result.rank is not None
        else:
            assert result.score is None and result.rank is None
        for c in result.components:
            if c.score is not None and c.raw_mean is not None:
                assert 0 <= c.score <= 100
                if c.prior is not None:  # shrinkage moves toward the prior, never past it
                    lo, hi = sorted((c.raw_mean, c.prior))
                    assert lo - 1e-9 <= c.score <= hi + 1e-9
            if c.interval is not None:
                assert 0 <= c.interval[0] <= c.interval[1] <= 100


@settings(max_examples=150, deadline=None)
@given(subjects_st(), st.data())
def test_more_satisfied_answers_never_lower_a_score(
    subjects: list[Subject], data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(subjects) - 1))
    target = subjects[index]
    sat = target.observations.get("satisfaction")
    if sat is None or sat.n == 0:
        return
    # One answer moves up a step (25 points), if any can.
    values = data.draw(st.lists(st.sampled_from([0.0, 25.0, 50.0, 75.0]), min_size=1,
                                max_size=1))
    old, new = values[0], values[0] + 25.0
    better = Observation(sat.n, sat.total + (new - old), sat.total_sq + new * new - old * old)
    if better.total > 100 * better.n or better.total_sq < 0:
        return
    improved = Subject(**{**target.__dict__,
                          "observations": {**target.observations, "satisfaction": better}})
    before = appraise(subjects, RULES)[index]
    after = appraise([*subjects[:index], improved, *subjects[index + 1:]], RULES)[index]
    if before.score is not None and after.score is not None:
        assert after.score >= before.score
    assert (after.components[0].score or 0) >= (before.components[0].score or 0) - 1e-9


@given(st.floats(0, 100), st.integers(1, 500), st.floats(0, 100))
def test_shrinkage_pulls_small_samples_harder(mean: float, n: int, prior: float) -> None:
    small = abs(shrink(mean, n, prior, 10) - prior)
    large = abs(shrink(mean, n * 10, prior, 10) - prior)
    assert small <= large + 1e-9 and math.isfinite(small)


def test_estimated_prior_weight() -> None:
    one = (IndicatorRule("satisfaction", "residents", 1.0),)
    rules = AppraisalRules(indicators={"*": one}, estimate_prior_weight=True, prior_weight=7)
    # Units that really differ (all answers 0, 50 or 100 within a unit): barely shrunk.
    apart = [unit(k, 20, satisfaction=obs(*[v] * 19, 50.0)) for k, v in
             (("a", 0.0), ("b", 50.0), ("c", 100.0))]
    weights = [r.components[0].prior_weight for r in appraise(apart, rules)]
    assert all(0 < w < 0.1 for w in weights)
    # Units alike but for noise: pulled hard, at most the cap.
    alike = [unit(k, 20, satisfaction=obs(*[0.0, 100.0] * 10)) for k in "abc"]
    alike.append(unit("d", 20, satisfaction=obs(*[0.0] * 9, *[100.0] * 11)))
    heavy = appraise(alike, rules)[3].components[0]
    assert heavy.prior_weight == 200.0
    # Too few subjects to tell: the configured weight.
    two = appraise(apart[:2], rules)[0].components[0]
    assert two.prior_weight == 7
    assert "as if 7 average responses were added" in appraise(apart[:2], rules)[0].explanation


def test_observation_sums_do_not_depend_on_row_order() -> None:
    # The database returns groups in no fixed order; a plain float sum of 0.1, 0.2 and 0.3
    # differs in its last bit between orders, and so would an unchanged period's results hash.
    from analysis.appraisal import merge, observation

    pairs = [(0.1, 1), (0.2, 1), (0.3, 1)]
    forward, backward = observation(pairs), observation(reversed(pairs))
    assert forward == backward
    assert merge([forward, observation([(0.7, 3)])]) == merge([observation([(0.7, 3)]),
                                                                backward])
