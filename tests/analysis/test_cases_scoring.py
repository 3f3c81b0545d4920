"""The `cases` indicator source: whose cases count for a unit and a cadre, shrinkage and
intervals as for answers, the figures in the explanation, and results without cases exactly
as before."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml

from analysis.appraisal import AppraisedUnit, PeriodFacts, entries
from analysis.facts import CaseGroup
from analysis.scoring import AppraisalRules, IndicatorRule, Observation, Result, appraise
from analysis.statistics import shrink
from bot.settings import AppraisalSection, IndicatorSection

RULES = AppraisalRules(indicators={"*": (
    IndicatorRule("key_tasks", "inspections", 0.5),
    IndicatorRule("cases", "cases", 0.5, label="Cases solved"),
)}, min_responses=0)
WILLOW = AppraisedUnit(1, "V1", "Willow Village", "village", None)
PINE = AppraisedUnit(2, "V2", "Pine Village", "village", None)
WANG, LI, ADMIN = 11, 12, 99


def case(unit: AppraisedUnit, handler: int | None, status: str, outcome: str | None = None,
         on_time: bool | None = None, count: int = 1, past_due: bool = True) -> CaseGroup:
    return CaseGroup(unit_id=unit.id, handler_id=handler, category="roads", status=status,
                     outcome=outcome, resolved_on_time=on_time, reopened=False,
                     past_due=past_due, count=count)


def facts(cases: Sequence[CaseGroup], inspections: Sequence[tuple[int, int | None, str, int]]
          = ()) -> PeriodFacts:
    return PeriodFacts(answers={}, self_answers={}, valid={}, excluded={},
                       excluded_responses={}, sentiment={}, inspections=list(inspections),
                       kpis={}, contradictions={}, invited={}, started={}, comments={},
                       cases=list(cases))


def appraised(period: PeriodFacts, rules: AppraisalRules = RULES
              ) -> dict[str, tuple[Result, dict[str, object]]]:
    found = entries([WILLOW, PINE], [(WANG, "Wang", None, 1), (LI, "Li", None, 1)], period,
                    rules)
    results = appraise([e.subject for e in found], rules)
    return {r.key: (r, dict(e.extra)) for e, r in zip(found, results, strict=True)}


CASES = [
    # Wang: 3 solved on time and confirmed, 1 late and partly.
    case(WILLOW, WANG, "closed", "confirmed", on_time=True, count=3),
    case(WILLOW, WANG, "closed", "partly", on_time=False),
    # Li: one late, no answer asked for.
    case(WILLOW, LI, "closed", "unconfirmable", on_time=False),
    # Nobody took it, and it is overdue: each cadre of the unit answers for it.
    case(WILLOW, None, "open"),
    # An admin handled it: the unit's, no cadre's.
    case(WILLOW, ADMIN, "closed", "confirmed", on_time=True),
    # Pine: 2 on time, one still within its deadline.
    case(PINE, None, "closed", "not_confirmed", on_time=True, count=2),
    case(PINE, None, "taken", past_due=False),
]


def test_whose_cases_count_for_a_unit_and_a_cadre() -> None:
    results = appraised(facts(CASES))
    willow, extra = results["unit:V1"]
    assert extra["cases"] == {"raised": 7, "cases": 7, "on_time": 4, "answered": 5,
                              "confirmed": 4, "partly": 1, "not_solved": 0,
                              "confirmed_value": 4.5}
    wang = results["cadre:11"][1]["cases"]
    li = results["cadre:12"][1]["cases"]
    assert isinstance(wang, dict) and isinstance(li, dict)
    assert (wang["cases"], wang["on_time"], wang["answered"]) == (5, 3, 4)  # 4 own + untaken
    assert (li["cases"], li["on_time"], li["answered"]) == (2, 0, 0)
    pine, pine_extra = results["unit:V2"]
    assert pine_extra["cases"] == {"raised": 3, "cases": 2, "on_time": 2, "answered": 0,
                                   "confirmed": 0, "partly": 0, "not_solved": 0,
                                   "confirmed_value": 0.0}
    component = {c.id: c for c in willow.components}["cases"]
    # Mean marks: 3 x 100 (on time, yes), 25 (late, partly), 0 (late), 0 (overdue), 100.
    assert component.n == 7 and component.raw_mean == pytest.approx(425 / 7)
    assert pine.components[1].n == 2 and pine.components[1].raw_mean == 100.0


def test_cases_are_shrunk_with_an_interval_and_explained() -> None:
    results = appraised(facts(CASES))
    willow = results["unit:V1"][0]
    pine = results["unit:V2"][0]
    component = {c.id: c for c in willow.components}["cases"]
    prior = (425 + 200) / 9  # both units' settled cases pooled
    assert component.prior == pytest.approx(prior)
    assert component.score == pytest.approx(shrink(425 / 7, 7, prior, 10.0))
    assert component.interval is not None and component.interval[0] < component.raw_mean
    assert component.figures == ("7 cases: 4 solved on time, 4.5 of 5 confirmed by residents"
                                 " (4 yes, 1 partly counting as half, 0 no)")
    assert ("Cases solved (cases): " in willow.explanation
            and "(7 cases: 4 solved on time, 4.5 of 5 confirmed by residents" in willow.explanation)
    assert "1 more still within the deadline is not counted yet" in pine.explanation
    as_dict = willow.as_dict()["components"]
    assert isinstance(as_dict, list)
    assert [c.get("figures") is not None for c in as_dict] == [False, True]


def test_a_unit_without_cases_has_no_case_figures_and_the_weight_moves() -> None:
    results = appraised(facts([case(PINE, None, "open")], [(1, None, "achieved", 2)]))
    willow, extra = results["unit:V1"]
    assert "cases" not in extra
    component = {c.id: c for c in willow.components}["cases"]
    assert component.n == 0 and component.figures is None
    assert "spread over the other components" in willow.explanation
    assert "figures" not in willow.as_dict()["components"][1]  # type: ignore[index]


def test_results_without_cases_are_as_before() -> None:
    """A configuration without a cases indicator and a period without cases: the stored
    results carry no trace of cases (so their hash is what it was)."""
    rules = AppraisalRules(indicators={"*": (IndicatorRule("key_tasks", "inspections", 1.0),)},
                           min_responses=0)
    results = appraised(facts([], [(1, None, "achieved", 2)]), rules)
    willow, extra = results["unit:V1"]
    assert "cases" not in extra and "cases" not in willow.explanation.lower()
    assert all("figures" not in c for c in willow.as_dict()["components"])  # type: ignore[union-attr]
    # Without the indicator, a period with cases keeps their figures beside the result.
    with_cases = appraised(facts(CASES, [(1, None, "achieved", 2)]), rules)
    assert "cases" in with_cases["unit:V1"][1]
    assert "cases" not in with_cases["unit:V1"][0].explanation.lower()


def test_the_observation_of_a_single_case() -> None:
    results = appraised(facts([case(WILLOW, WANG, "closed", "partly", on_time=True)]))
    component = {c.id: c for c in results["unit:V1"][0].components}["cases"]
    assert component.n == 1 and component.raw_mean == 75.0
    assert Observation(1, 75.0, 5625.0).mean == component.raw_mean


def test_the_config_accepts_a_cases_indicator() -> None:
    section = AppraisalSection.model_validate({"unit_types": {"*": [
        {"id": "satisfaction", "source": "residents", "answers": "overall_satisfaction",
         "weight": 0.9},
        {"id": "cases", "label": "Cases solved", "source": "cases", "weight": 0.1,
         "training": "residents"}]}})
    rule = section.rules().indicators["*"][1]
    assert (rule.source, rule.display, rule.weight) == ("cases", "Cases solved", 0.1)
    assert IndicatorSection(id="cases", source="cases", weight=1).rule().display == "cases"


def test_the_example_in_config_yaml_makes_a_valid_village_type() -> None:
    """config.yaml shows how to add cases to villages (not a default): done as it says, the
    village type is valid and its weights still sum to 1."""
    text = (Path(__file__).parents[2] / "config.yaml").read_text(encoding="utf-8")
    line = next(raw for raw in text.splitlines() if "source: cases" in raw)
    [example] = yaml.safe_load(line.lstrip().removeprefix("#").strip())
    shipped = AppraisalSection()
    village = [i.model_copy(update={"weight": {"satisfaction": 0.25, "key_tasks": 0.10}.get(
        i.id, i.weight)}) for i in shipped.unit_types["village"]]
    section = AppraisalSection(unit_types={**shipped.unit_types,
                                           "village": [*village, IndicatorSection(**example)]})
    assert [r.source for r in section.rules().indicators["village"]][-1] == "cases"
    assert all(i.source != "cases" for items in shipped.unit_types.values() for i in items)
