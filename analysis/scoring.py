"""The appraisal arithmetic: components, shrinkage, grades, ranks, recognition, training,
exaggeration, and an explanation in plain words. Pure: the caller aggregates the data.

Every component is a mean of 0–100 scores, given as an :class:`Observation` (count, sum and
sum of squares, which SQL aggregates cheaply). For each subject (a unit or a cadre):

1. Each component is shrunk toward the overall mean of that indicator over all subjects of
   the same kind and unit type (pooled sum / pooled count), as if ``prior_weight`` answers
   at that mean had been added (a Bayesian average): a village with five glowing answers
   cannot top the ranking by luck. KPI values and self-assessments are measurements, not
   samples, and are not shrunk (an indicator's own ``prior_weight`` overrides either way);
   cases (each settled case's mean of "solved on time" and "confirmed by its resident", see
   :mod:`analysis.cases`) are a sample like answers, and a subject's case figures are named in
   its explanation.
   With ``estimate_prior_weight`` the weight is estimated per indicator from the data
   instead (empirical Bayes): m = within-subject variance / between-subject variance, the
   one-way random-effects ANOVA estimates over the pool; the smaller the real differences
   between subjects compared with the noise of one answer, the harder small samples are
   pulled. ``prior_weight`` remains the fallback when the pool is too small to tell (fewer
   than 3 subjects with data, or one answer each), and the estimate is capped at 200.
2. Its 95% interval is that of the raw mean: Wilson when every score is 0 or 100 (a yes/no
   or verdict share), otherwise Student's t with the sample sd, falling back to Wilson on
   the rescaled mean when the sample shows no spread; clipped to [0, 100]. Measured values
   (KPI, self-assessment) have none.
3. Missing components (no observation) give their weight to the present ones in proportion
   to their weights, and the explanation says so.
4. A subject whose indicators include residents' answers or comments and that has fewer
   than ``min_responses`` valid responses is "not_enough_responses": no score, grade or
   rank, but every component is still shown. No component at all: "no_data".
5. Score = Σ used weight × component score, rounded to 0.1 (the grade is read from the
   rounded score, the one people see). Rank within kind among graded subjects, 1 = best;
   equal scores are ordered by the weighted lower bounds of the components' intervals
   (more certain first), and share a rank only when both are equal.
6. Recognition: the top ``recognition_share`` of each kind's graded subjects (at least one),
   among those at the best grade only; ties at the cut are all recognised.
7. Training: the topics of the ``training_count`` weakest components (by shrunk score) that
   are under the second grade's threshold ("good"), for graded and not-enough subjects.
8. Others' view = the residents' and inspections' components, weighted by their configured
   weights; a graded subject whose self-view exceeds it by more than
   ``exaggeration_margin`` points is flagged.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Literal, TypeAlias, get_args

from analysis.statistics import mean_interval, shrink, wilson_interval

Source: TypeAlias = Literal["residents", "sentiment", "inspections", "kpi", "self_assessment",
                            "cases"]
SubjectKind: TypeAlias = Literal["unit", "cadre"]
Status: TypeAlias = Literal["graded", "not_enough_responses", "no_data"]

SOURCES: tuple[str, ...] = get_args(Source)
#: Default display names of the sources (an indicator's ``label`` takes precedence).
SOURCE_LABELS: dict[str, str] = {
    "residents": "Resident satisfaction",
    "sentiment": "Comment sentiment",
    "inspections": "Inspection results",
    "kpi": "Objective results (KPI)",
    "self_assessment": "Self-assessment",
    "cases": "Cases solved",
}
#: What n counts, per source (singular, plural).
_COUNTED: dict[str, tuple[str, str]] = {
    "residents": ("response", "responses"),
    "sentiment": ("comment", "comments"),
    "inspections": ("inspection", "inspections"),
    "kpi": ("value", "values"),
    "self_assessment": ("self-assessment", "self-assessments"),
    "cases": ("case", "cases"),
}
#: Measurements, not samples: not shrunk by default and given no sampling interval.
MEASURED: frozenset[str] = frozenset({"kpi", "self_assessment"})
#: Sources that come from residents: the minimum number of responses applies to them.
FROM_RESIDENTS: frozenset[str] = frozenset({"residents", "sentiment"})
#: How the anomaly kinds read in an explanation.
EXCLUSION_LABELS: dict[str, str] = {
    "too_fast": "too fast",
    "straight_lining": "straight-lining",
    "duplicate_comment": "duplicate comment",
    "entry_burst": "entry-point burst",
    "cadre_respondent": "cadre respondent",
}
_KIND_PLURAL = {"unit": "units", "cadre": "cadres"}


@dataclass(frozen=True)
class IndicatorRule:
    """One indicator of a unit type. ``training``: the topic suggested when it is among a
    subject's weakest; ``label``: its display name (default: the source's);
    ``prior_weight``: overrides the rules' (None: the rules' value, 0 for kpi and
    self_assessment).

    Where its data comes from (read by :mod:`analysis.appraisal`, not by the scoring):
    ``answers``, for residents and self_assessment, the survey indicator whose answers count;
    ``kpi``, ``best`` and ``worst``, for kpi, the KPI's name and the values scoring 100 and 0.
    """

    id: str
    source: Source
    weight: float
    training: str | None = None
    label: str | None = None
    prior_weight: float | None = None
    answers: str | None = None
    kpi: str | None = None
    best: float | None = None
    worst: float | None = None

    @property
    def display(self) -> str:
        return self.label or SOURCE_LABELS.get(self.source, self.source)


@dataclass(frozen=True)
class Grade:
    name: str
    min_score: float


DEFAULT_GRADES: tuple[Grade, ...] = (
    Grade("excellent", 85.0), Grade("good", 70.0), Grade("fair", 55.0), Grade("poor", 0.0),
)


@dataclass(frozen=True)
class AppraisalRules:
    """Configured rules (config.yaml ``appraisal:``); checked when built.

    ``indicators``: unit type → its indicators ("*" for every type not listed).
    ``grades``: best first, thresholds strictly descending, the last one at 0 or below.
    """

    indicators: Mapping[str, Sequence[IndicatorRule]]
    min_responses: int = 10
    prior_weight: float = 10.0
    grades: Sequence[Grade] = DEFAULT_GRADES
    recognition_share: float = 0.1
    exaggeration_margin: float = 15.0
    training_count: int = 2
    estimate_prior_weight: bool = False

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError, saying what to fix, when the rules cannot be applied."""
        if not self.indicators:
            raise ValueError("appraisal: no unit types have indicators")
        for unit_type, rules in self.indicators.items():
            where = f"appraisal: unit type {unit_type!r}"
            if not rules:
                raise ValueError(f"{where} has no indicators")
            seen: set[str] = set()
            for rule in rules:
                if rule.id in seen:
                    raise ValueError(f"{where}: indicator id {rule.id!r} is used twice")
                seen.add(rule.id)
                if rule.source not in SOURCES:
                    raise ValueError(
                        f"{where}: indicator {rule.id!r} has unknown source {rule.source!r}"
                        f" (expected one of {', '.join(SOURCES)})"
                    )
                if not math.isfinite(rule.weight) or rule.weight < 0:
                    raise ValueError(
                        f"{where}: indicator {rule.id!r} has weight {rule.weight!r};"
                        " weights must be 0 or more"
                    )
                if rule.prior_weight is not None and not rule.prior_weight >= 0:
                    raise ValueError(f"{where}: indicator {rule.id!r} has a negative prior_weight")
            total = sum(rule.weight for rule in rules)
            if abs(total - 1.0) > 1e-6:
                parts = " + ".join(f"{rule.weight:g} ({rule.id})" for rule in rules)
                raise ValueError(f"{where}: weights must sum to 1, but {parts} = {total:g}")
        if not self.grades:
            raise ValueError("appraisal: no grades")
        names = [grade.name for grade in self.grades]
        if len(set(names)) != len(names):
            raise ValueError(f"appraisal: grade names repeat: {', '.join(names)}")
        floors = [grade.min_score for grade in self.grades]
        if any(low >= high for high, low in pairwise(floors)):
            shown = ", ".join(f"{g.name} {g.min_score:g}" for g in self.grades)
            raise ValueError(f"appraisal: grades must be listed best first with strictly"
                             f" descending thresholds, got {shown}")
        if floors[-1] > 0:
            raise ValueError(f"appraisal: the last grade ({names[-1]}) must start at 0 so that"
                             " every score gets a grade")
        if self.min_responses < 0:
            raise ValueError("appraisal: min_responses must not be negative")
        if not self.prior_weight >= 0:
            raise ValueError("appraisal: prior_weight must not be negative")
        if not 0 <= self.recognition_share <= 1:
            raise ValueError("appraisal: recognition_share must be between 0 and 1")
        if not self.exaggeration_margin >= 0:
            raise ValueError("appraisal: exaggeration_margin must not be negative")
        if self.training_count < 0:
            raise ValueError("appraisal: training_count must not be negative")

    def for_type(self, unit_type: str) -> Sequence[IndicatorRule] | None:
        """The indicators of a unit type, the "*" ones by default, None when neither."""
        rules = self.indicators.get(unit_type)
        return rules if rules is not None else self.indicators.get("*")

    @property
    def good_threshold(self) -> float:
        """Training is suggested for components under this (the second grade's threshold)."""
        return self.grades[1].min_score if len(self.grades) > 1 else self.grades[0].min_score


@dataclass(frozen=True)
class Observation:
    """Count, sum and sum of squares of a component's 0–100 scores."""

    n: int
    total: float
    total_sq: float

    def __post_init__(self) -> None:
        if self.n < 0 or not math.isfinite(self.total) or not math.isfinite(self.total_sq):
            raise ValueError(f"invalid observation {self!r}")

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None


@dataclass(frozen=True)
class Subject:
    key: str
    kind: SubjectKind
    name: str
    unit_type: str
    responses: int  # valid resident responses, after exclusions
    observations: Mapping[str, Observation]  # by IndicatorRule.id
    excluded: Mapping[str, int] = field(default_factory=dict)  # anomaly kind -> responses
    self_view: float | None = None  # the cadre's self-assessment, 0-100
    # Indicator id -> what its data were, in words, for the explanation (cases: "12 cases: 9
    # solved on time, 7 of 10 confirmed ...").
    figures: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Component:
    id: str
    label: str
    source: Source
    weight: float  # configured
    used_weight: float  # after spreading missing components' weight over the present ones
    n: int
    raw_mean: float | None
    score: float | None  # shrunk
    interval: tuple[float, float] | None  # 95% interval of the raw mean
    prior: float | None  # the mean it was shrunk toward (None when not shrunk)
    note: str | None
    prior_weight: float = 0.0  # m: as if this many answers at the prior were added
    figures: str | None = None  # the subject's figures for it, in words

    def as_dict(self) -> dict[str, object]:
        found: dict[str, object] = {
            "id": self.id, "label": self.label, "source": self.source, "weight": self.weight,
            "used_weight": self.used_weight, "n": self.n, "raw_mean": self.raw_mean,
            "score": self.score,
            "interval": list(self.interval) if self.interval is not None else None,
            "prior": self.prior, "prior_weight": self.prior_weight, "note": self.note,
        }
        # Only when there are figures: results without them (and their hash) stay as they were.
        if self.figures is not None:
            found["figures"] = self.figures
        return found


@dataclass(frozen=True)
class Result:
    key: str
    kind: SubjectKind
    name: str
    score: float | None
    grade: str | None
    status: Status
    rank: int | None
    components: tuple[Component, ...]
    excluded: Mapping[str, int]
    recognition: bool
    training: tuple[str, ...]
    others_view: float | None
    self_view: float | None
    exaggeration: bool
    explanation: str
    responses: int = 0
    ranked_among: int = 0  # graded subjects of the same kind

    def as_dict(self) -> dict[str, object]:
        """A JSON-able dict of every field (components as dicts)."""
        return {
            "key": self.key, "kind": self.kind, "name": self.name, "score": self.score,
            "grade": self.grade, "status": self.status, "rank": self.rank,
            "ranked_among": self.ranked_among, "responses": self.responses,
            "components": [c.as_dict() for c in self.components],
            "excluded": dict(self.excluded), "recognition": self.recognition,
            "training": list(self.training), "others_view": self.others_view,
            "self_view": self.self_view, "exaggeration": self.exaggeration,
            "explanation": self.explanation,
        }


@dataclass
class _Draft:
    """A result being built (ranks and recognition need every subject first)."""

    subject: Subject
    status: Status
    components: list[Component]
    score: float | None
    lower: float
    reason: str  # why not graded, when not
    rank: int | None = None
    recognition: bool = False


def appraise(subjects: Sequence[Subject], rules: AppraisalRules) -> list[Result]:
    """Appraise every subject; results come back in the order of ``subjects``."""
    priors = _priors(subjects, rules)
    drafts = [_draft(subject, rules, priors) for subject in subjects]
    _rank_and_recognise(drafts, rules)
    ranked_among: dict[str, int] = defaultdict(int)
    for draft in drafts:
        if draft.status == "graded":
            ranked_among[draft.subject.kind] += 1
    return [_result(draft, rules, ranked_among[draft.subject.kind]) for draft in drafts]


@dataclass(frozen=True)
class _Pool:
    """An indicator over all subjects of one kind and unit type."""

    mean: float
    weight: float | None  # estimated prior weight, None when it cannot be estimated


#: The most an estimated prior weight may be (no real spread between subjects at all).
MAX_ESTIMATED_WEIGHT = 200.0


def _priors(
    subjects: Sequence[Subject], rules: AppraisalRules
) -> dict[tuple[str, str, str], _Pool]:
    """(kind, unit type, indicator id) -> pooled mean (and prior weight) over the subjects
    that have data."""
    pools: dict[tuple[str, str, str], list[Observation]] = {}
    for subject in subjects:
        for rule in rules.for_type(subject.unit_type) or ():
            obs = subject.observations.get(rule.id)
            if obs is not None and obs.n > 0:
                pools.setdefault((subject.kind, subject.unit_type, rule.id), []).append(obs)
    return {
        key: _Pool(
            mean=sum(o.total for o in group) / sum(o.n for o in group),
            weight=_estimated_weight(group) if rules.estimate_prior_weight else None,
        )
        for key, group in pools.items()
    }


def _estimated_weight(group: Sequence[Observation]) -> float | None:
    """Within- over between-subject variance (one-way random effects, unbalanced ANOVA)."""
    k = len(group)
    total_n = sum(o.n for o in group)
    if k < 3 or total_n - k <= 0:
        return None
    within = sum(max(0.0, o.total_sq - o.total * o.total / o.n) for o in group) / (total_n - k)
    grand = sum(o.total for o in group) / total_n
    between_ss = sum(o.n * (o.total / o.n - grand) ** 2 for o in group)
    n0 = (total_n - sum(o.n * o.n for o in group) / total_n) / (k - 1)
    between = (between_ss / (k - 1) - within) / n0
    if between <= 0:
        return MAX_ESTIMATED_WEIGHT if within > 0 else None
    return min(MAX_ESTIMATED_WEIGHT, within / between)


def _draft(
    subject: Subject, rules: AppraisalRules, priors: Mapping[tuple[str, str, str], _Pool]
) -> _Draft:
    indicators = rules.for_type(subject.unit_type)
    if indicators is None:
        return _Draft(subject, "no_data", [], None, 0.0,
                      f"no indicators are configured for unit type {subject.unit_type!r}")
    present = [
        rule for rule in indicators
        if (obs := subject.observations.get(rule.id)) is not None and obs.n > 0
    ]
    present_weight = sum(rule.weight for rule in present)
    components: list[Component] = []
    lower = 0.0
    for rule in indicators:
        obs = subject.observations.get(rule.id)
        if obs is None or obs.n <= 0:
            spread = (
                f"; its {_pct(rule.weight)} weight is spread over the other components"
                if rule.weight > 0 and present_weight > 0 else ""
            )
            components.append(Component(
                id=rule.id, label=rule.display, source=rule.source, weight=rule.weight,
                used_weight=0.0, n=0, raw_mean=None, score=None, interval=None, prior=None,
                note=f"no data{spread}", figures=subject.figures.get(rule.id),
            ))
            continue
        component = _component(subject, rule, obs, rules, priors, present_weight)
        components.append(component)
        # For ordering equal scores: the interval's lower bound, shrunk like the score.
        low = component.score if component.score is not None else 0.0
        if component.interval is not None:
            low = component.interval[0]
            if component.prior is not None:
                low = shrink(low, obs.n, component.prior, component.prior_weight)
        lower += component.used_weight * low

    needs_responses = any(rule.source in FROM_RESIDENTS for rule in indicators)
    if needs_responses and subject.responses < rules.min_responses:
        if not present and subject.responses == 0 and not any(subject.excluded.values()):
            return _Draft(subject, "no_data", components, None, 0.0, "no data for this period")
        return _Draft(
            subject, "not_enough_responses", components, None, 0.0,
            f"not enough responses: {subject.responses} of the {rules.min_responses} needed",
        )
    if not present:
        return _Draft(subject, "no_data", components, None, 0.0, "no data for this period")
    if present_weight <= 0:
        return _Draft(subject, "no_data", components, None, 0.0,
                      "only indicators with no weight have data")
    raw = sum(c.used_weight * c.score for c in components if c.score is not None)
    score = round(min(100.0, max(0.0, raw)), 1)
    return _Draft(subject, "graded", components, score, lower, "")


def _prior_weight(rule: IndicatorRule, rules: AppraisalRules, pool: _Pool | None) -> float:
    if rule.prior_weight is not None:
        return rule.prior_weight
    if rule.source in MEASURED:
        return 0.0
    if pool is not None and pool.weight is not None:
        return pool.weight
    return rules.prior_weight


def _component(
    subject: Subject, rule: IndicatorRule, obs: Observation, rules: AppraisalRules,
    priors: Mapping[tuple[str, str, str], _Pool], present_weight: float,
) -> Component:
    n = obs.n
    mean = min(100.0, max(0.0, obs.total / n))
    pool = priors.get((subject.kind, subject.unit_type, rule.id))
    m = _prior_weight(rule, rules, pool)
    prior = pool.mean if pool is not None and m > 0 else None
    score = shrink(mean, n, prior, m) if prior is not None else mean
    interval = None if rule.source in MEASURED else _interval(obs, mean)
    used = rule.weight / present_weight if present_weight > 0 else 0.0
    note = None
    if rule.source in MEASURED:
        note = "a measured value: not shrunk, no sampling interval"
    return Component(
        id=rule.id, label=rule.display, source=rule.source, weight=rule.weight,
        used_weight=used, n=n, raw_mean=mean, score=min(100.0, max(0.0, score)),
        interval=interval, prior=prior, note=note, prior_weight=m if prior is not None else 0.0,
        figures=subject.figures.get(rule.id),
    )


def _interval(obs: Observation, mean: float) -> tuple[float, float] | None:
    """95% interval of the component's raw mean on 0–100 (see the module docstring)."""
    n = obs.n
    # Every score is 0 or 100 exactly when Σx² = 100·Σx (for x in [0, 100]).
    if abs(obs.total_sq - 100.0 * obs.total) <= 1e-6 * max(1.0, obs.total_sq):
        successes = min(n, max(0, round(obs.total / 100.0)))
        low, high = wilson_interval(successes, n) or (0.0, 1.0)
        return 100.0 * low, 100.0 * high
    sd = None
    if n >= 2:
        variance = (obs.total_sq - obs.total * obs.total / n) / (n - 1)
        # Float cancellation can leave a tiny non-zero variance when all scores are equal.
        sd = math.sqrt(variance) if variance > 1e-9 * max(1.0, obs.total_sq / n) else 0.0
    return mean_interval(n, mean, sd, (0.0, 100.0))


def _rank_and_recognise(drafts: list[_Draft], rules: AppraisalRules) -> None:
    best = rules.grades[0]
    for kind in sorted({draft.subject.kind for draft in drafts}):
        graded = [d for d in drafts if d.subject.kind == kind and d.status == "graded"]
        graded.sort(key=lambda d: (-(d.score or 0.0), -round(d.lower, 6), d.subject.key))
        previous: tuple[float, float] | None = None
        for position, draft in enumerate(graded, start=1):
            marker = (draft.score or 0.0, round(draft.lower, 6))
            if marker != previous:
                draft.rank = position
                previous = marker
            else:
                draft.rank = graded[position - 2].rank
        if rules.recognition_share <= 0 or not graded:
            continue
        top = [d for d in graded if (d.score or 0.0) >= best.min_score]
        if not top:
            continue
        quota = max(1, math.floor(rules.recognition_share * len(graded) + 1e-9))
        cut = top[min(quota, len(top)) - 1].rank or 0
        for draft in top:
            draft.recognition = (draft.rank or 0) <= cut


def _grade(score: float, rules: AppraisalRules) -> str:
    for grade in rules.grades:
        if score >= grade.min_score:
            return grade.name
    return rules.grades[-1].name


def _result(draft: _Draft, rules: AppraisalRules, ranked_among: int) -> Result:
    subject = draft.subject
    components = tuple(draft.components)
    present = [c for c in components if c.score is not None]
    training: tuple[str, ...] = ()
    if draft.status != "no_data" and rules.training_count > 0:
        topics = {rule.id: rule.training for rule in rules.for_type(subject.unit_type) or ()}
        weak = sorted(
            (c for c in present
             if topics.get(c.id) and (c.score or 0.0) < rules.good_threshold),
            key=lambda c: (c.score or 0.0, c.id),
        )
        chosen: list[str] = []
        for component in weak[: rules.training_count]:
            topic = topics[component.id]
            if topic and topic not in chosen:
                chosen.append(topic)
        training = tuple(chosen)
    others = [c for c in present if c.source in ("residents", "inspections") and c.weight > 0]
    others_view = (
        sum(c.weight * (c.score or 0.0) for c in others) / sum(c.weight for c in others)
        if others else None
    )
    exaggeration = (
        draft.status == "graded" and subject.self_view is not None and others_view is not None
        and subject.self_view - others_view > rules.exaggeration_margin
    )
    grade = _grade(draft.score, rules) if draft.score is not None else None
    result = Result(
        key=subject.key, kind=subject.kind, name=subject.name, score=draft.score, grade=grade,
        status=draft.status, rank=draft.rank, components=components,
        excluded=dict(subject.excluded), recognition=draft.recognition, training=training,
        others_view=None if others_view is None else round(others_view, 1),
        self_view=subject.self_view, exaggeration=exaggeration, explanation="",
        responses=subject.responses, ranked_among=ranked_among,
    )
    return _with_explanation(result, draft.reason, rules)


def _with_explanation(result: Result, reason: str, rules: AppraisalRules) -> Result:
    plural = _KIND_PLURAL.get(result.kind, result.kind + "s")
    among = f"{result.ranked_among} {plural if result.ranked_among != 1 else result.kind}"
    parts: list[str] = []
    if result.status == "graded":
        parts.append(f"Score {result.score:.1f} of 100: {result.grade}, rank {result.rank} of"
                     f" {among}.")
        if result.recognition:
            parts.append(f"Recognised: among the top {_pct(rules.recognition_share)} of"
                         f" {plural}, at the best grade.")
    else:
        parts.append(f"Not graded: {reason}.")
    spread = any(c.score is None and c.weight > 0 for c in result.components) and any(
        c.score is not None for c in result.components)
    for c in result.components:
        parts.append(_describe(c, spread) + ".")
    excluded = [(kind, count) for kind, count in result.excluded.items() if count > 0]
    if excluded:
        listed = ", ".join(f"{count} {EXCLUSION_LABELS.get(kind, kind.replace('_', ' '))}"
                           for kind, count in excluded)
        parts.append(f"Excluded from the scores: {listed}.")
    else:
        parts.append("No responses were excluded.")
    if result.training:
        parts.append(f"Suggested training: {', '.join(result.training)} (the weakest"
                     f" indicators under {rules.good_threshold:g}).")
    if result.self_view is not None:
        if result.others_view is None:
            parts.append(f"Self-assessment {result.self_view:.1f}; no residents' or inspectors'"
                         " view to compare it with.")
        else:
            gap = result.self_view - result.others_view
            sentence = (f"Self-assessment {result.self_view:.1f} against residents' and"
                        f" inspectors' view of {result.others_view:.1f}")
            if result.exaggeration:
                sentence += (f": {gap:.1f} points higher, more than the"
                             f" {rules.exaggeration_margin:g}-point margin (possible"
                             " exaggeration)")
            elif result.status != "graded" and gap > rules.exaggeration_margin:
                sentence += f": {gap:.1f} points higher, not judged without a grade"
            parts.append(sentence + ".")
    elif result.others_view is not None and result.kind == "cadre":
        parts.append(f"Residents' and inspectors' view: {result.others_view:.1f}.")
    return replace(result, explanation=" ".join(parts))


def _describe(c: Component, spread: bool) -> str:
    head = f"{c.label} ({c.id})"
    if c.score is None or c.raw_mean is None:
        figures = f" ({c.figures})" if c.figures else ""
        return f"{head}: {c.note or 'no data'}{figures}"
    one, many = _COUNTED.get(c.source, ("answer", "answers"))
    sample = f"{c.n} {one if c.n == 1 else many}"
    if c.interval is not None:
        sample += f" (95% CI {c.interval[0]:.1f}–{c.interval[1]:.1f})"
    if c.prior is not None and abs(c.raw_mean - c.score) >= 0.05:
        text = (f"{head}: {c.score:.1f}, the mean {c.raw_mean:.1f} of {sample} shrunk toward"
                f" the average {c.prior:.1f} as if {_approx(c.prior_weight)} average"
                f" {one if _approx(c.prior_weight) == '1' else many} were added")
    else:
        text = f"{head}: {c.score:.1f} from {sample}"
        if c.source in MEASURED:
            text += ", a measured value"
    if c.figures:
        text += f" ({c.figures})"
    text += f"; weight {_pct(c.weight)}"
    if spread and abs(c.used_weight - c.weight) > 1e-9:
        text += f" ({_pct(c.used_weight)} with the missing components' weight)"
    return text


def _approx(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0") if value < 10 else f"{value:.0f}"


def _pct(share: float) -> str:
    value = 100 * share
    return f"{value:.0f}%" if abs(value - round(value)) < 0.05 else f"{value:.1f}%"
