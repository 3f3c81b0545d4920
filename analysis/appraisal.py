"""From a period's aggregates to scored and explained results: the appraisal's arithmetic.

The database hands over counts and sums per unit (:class:`PeriodFacts`: a million responses
come back as a few thousand rows). Here they become observations on a 0-100 scale per
indicator (:func:`entries`), :func:`analysis.scoring.appraise` scores them, and
:func:`details` adds to each result what is stored and shown with it (labels, question
statistics, themes, training topics). :func:`results_hash` fingerprints a run's results.
Pure: the use case in ``surveys.appraisal.run`` reads and writes the database around it.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias, cast

from analysis.anomalies import AnomalyRules
from analysis.cases import CaseTally, figures, tally
from analysis.facts import CaseGroup, Distribution
from analysis.scoring import AppraisalRules, IndicatorRule, Observation, Result, Subject
from analysis.statistics import QuestionStats, kpi_score, summarize, to_score, verdict_score
from analysis.themes import Topics, top_themes

SCALED_TYPES = ("rating", "nps", "yesno")


@dataclass(frozen=True)
class AppraisalConfig:
    """What a run is configured with (config.yaml ``appraisal``, ``anomalies``, ``themes``
    and ``privacy``), as plain values: ``bot.settings`` builds it."""

    rules: AppraisalRules
    # Training topic id -> its name per language, for the explanation.
    training_topics: Mapping[str, Mapping[str, str]]
    anomalies: AnomalyRules
    flag_cadre_respondents: bool
    min_cell: int
    themes_top: int
    topics: Topics | None  # None: the shipped topics
    # The appraisal section as written (its JSON form). The run's config hash covers it, so
    # an unchanged configuration keeps the hash that earlier runs recorded.
    as_configured: Mapping[str, Any] = field(default_factory=dict)


#: Owner (unit or person) -> survey indicator -> its distribution rows.
ByOwner: TypeAlias = dict[int, dict[str | None, list[Distribution]]]


@dataclass(frozen=True)
class PeriodFacts:
    """The period's aggregates, keyed by unit (or person for self-assessments)."""

    answers: ByOwner
    self_answers: ByOwner
    valid: Mapping[int, int]
    excluded: Mapping[int, Mapping[str, int]]  # unit -> anomaly kind -> responses
    excluded_responses: Mapping[int, int]
    sentiment: Mapping[int, tuple[int, float, float]]  # comments, sum and sum of squares
    inspections: Sequence[tuple[int, int | None, str, int]]  # unit, cadre, verdict, count
    kpis: Mapping[tuple[int, str], float]
    contradictions: Mapping[int, int]
    invited: Mapping[int, int]
    started: Mapping[int, int]
    comments: Mapping[int, Sequence[tuple[str, str]]]  # (text, language)
    # The cases opened in the period, as they stood when read (analysis.cases says which
    # count and how).
    cases: Sequence[CaseGroup] = ()


@dataclass(frozen=True)
class AppraisedUnit:
    """What the appraisal needs of a unit."""

    id: int
    code: str
    name: str
    type: str
    population: int | None
    name_zh: str | None = None  # kept with its results, shown to Chinese readers


@dataclass(frozen=True)
class Entry:
    """One subject to score, with the unit it belongs to (a cadre's first unit) and what its
    stored result adds to the scoring's own fields."""

    subject: Subject
    unit: AppraisedUnit
    person_id: int | None
    extra: Mapping[str, Any]
    comment_units: Sequence[int]  # whose comments give its themes


#: A scored subject: (result, its stored detail, unit id, person id).
Scored: TypeAlias = tuple[Result, dict[str, Any], int | None, int | None]


def by_owner(rows: Iterable[Distribution]) -> ByOwner:
    """Owner (unit or person) -> survey indicator -> its distribution rows."""
    found: ByOwner = defaultdict(lambda: defaultdict(list))
    for row in rows:
        found[row.owner_id][row.indicator].append(row)
    return found


# --- observations ---------------------------------------------------------------------------


# Sums use math.fsum (correctly rounded whatever the order): the database returns groups in
# no fixed order, and a plain sum would then differ in its last bit from run to run, and so
# would the results hash of an unchanged period.
def observation(pairs: Iterable[tuple[float, int]]) -> Observation | None:
    """(score 0-100, count) pairs -> count, sum and sum of squares."""
    found = list(pairs)
    n = sum(count for _, count in found)
    if not n:
        return None
    return Observation(n, math.fsum(score * count for score, count in found),
                       math.fsum(score * score * count for score, count in found))


def merge(observations: Iterable[Observation | None]) -> Observation | None:
    present = [o for o in observations if o is not None and o.n]
    if not present:
        return None
    return Observation(sum(o.n for o in present), math.fsum(o.total for o in present),
                       math.fsum(o.total_sq for o in present))


def _answer_pairs(rows: Iterable[Distribution]) -> list[tuple[float, int]]:
    return [(to_score(r.value, r.question_type), r.count)  # type: ignore[arg-type]
            for r in rows if r.question_type in SCALED_TYPES]


def _sentiment_observation(sums: tuple[int, float, float] | None) -> Observation | None:
    if not sums or not sums[0]:
        return None
    n, total_p, total_p2 = sums
    # score = 50 p + 50, so the sums follow from those of p.
    return Observation(n, 50 * total_p + 50 * n, 2500 * total_p2 + 5000 * total_p + 2500 * n)


def _observation_of(rule: IndicatorRule, facts: PeriodFacts, unit_ids: Sequence[int],
                    person_id: int | None, cases: CaseTally) -> Observation | None:
    """One indicator's observation for a unit (``person_id`` None) or a cadre of units
    (``cases``: the subject's cases)."""
    if rule.source == "residents":
        return merge(observation(_answer_pairs(facts.answers.get(u, {}).get(rule.answers, [])))
                     for u in unit_ids)
    if rule.source == "sentiment":
        return merge(_sentiment_observation(facts.sentiment.get(u)) for u in unit_ids)
    if rule.source == "inspections":
        units = set(unit_ids)
        return observation(
            (verdict_score(verdict), n) for unit, cadre, verdict, n in facts.inspections
            if (person_id is not None and cadre == person_id)
            or (unit in units and (person_id is None or cadre is None)))
    if rule.source == "kpi" and rule.kpi and rule.best is not None and rule.worst is not None:
        return observation(
            (kpi_score(facts.kpis[(u, rule.kpi)], rule.worst, rule.best), 1)
            for u in unit_ids if (u, rule.kpi) in facts.kpis)
    if rule.source == "self_assessment" and person_id is not None:
        return observation(_answer_pairs(
            facts.self_answers.get(person_id, {}).get(rule.answers, [])))
    if rule.source == "cases":
        return cases.observation
    return None


def observations(indicators: Sequence[IndicatorRule], facts: PeriodFacts,
                 unit_ids: Sequence[int], person_id: int | None,
                 cases: CaseTally | None = None) -> dict[str, Observation]:
    """Indicator id -> its observation, for the indicators that have data."""
    found: dict[str, Observation] = {}
    for rule in indicators:
        obs = _observation_of(rule, facts, unit_ids, person_id, cases or CaseTally())
        if obs is not None:
            found[rule.id] = obs
    return found


def _self_view(indicators: Sequence[IndicatorRule], observations: Mapping[str, Observation]
               ) -> float | None:
    views = [observations[i.id] for i in indicators
             if i.source == "self_assessment" and i.id in observations]
    merged = merge(views)
    return None if merged is None else merged.total / merged.n


def _sum_counts(maps: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: dict[str, int] = defaultdict(int)
    for m in maps:
        for k, v in m.items():
            total[k] += v
    return dict(total)


# --- question statistics --------------------------------------------------------------------


def unit_statistics(facts_answers: Mapping[str | None, list[Distribution]],
                    population: int | None, invited: int | None
                    ) -> list[tuple[str, str | None, QuestionStats]]:
    """(question, indicator, statistics) for each scaled question of a unit."""
    per_question: dict[tuple[str, str | None, str], dict[float, int]] = defaultdict(dict)
    for rows in facts_answers.values():
        for r in rows:
            if r.question_type in SCALED_TYPES:
                counts = per_question[(r.question_id, r.indicator, r.question_type)]
                counts[r.value] = counts.get(r.value, 0) + r.count
    return [(question, indicator, summarize(counts, kind,  # type: ignore[arg-type]
                                            population=population, invited=invited or None))
            for (question, indicator, kind), counts in sorted(per_question.items(),
                                                              key=lambda kv: kv[0][0])]


def _stats_json(stats: QuestionStats) -> dict[str, Any]:
    def r(x: float | None, digits: int = 4) -> float | None:
        return None if x is None else round(x, digits)

    def pair(p: tuple[float, float] | None) -> list[float] | None:
        return None if p is None else [round(p[0], 4), round(p[1], 4)]

    return {"kind": stats.kind, "n": stats.n, "mean": r(stats.mean), "sd": r(stats.sd),
            "mean_interval": pair(stats.mean_interval), "score": r(stats.score, 2),
            "distribution": {f"{v:g}": c for v, c in stats.distribution},
            "csat": r(stats.csat), "csat_interval": pair(stats.csat_interval),
            "nps": r(stats.nps, 2), "yes_share": r(stats.yes_share),
            "yes_interval": pair(stats.yes_interval),
            "margin_of_error": r(stats.margin_of_error),
            "response_rate": r(stats.response_rate)}


# --- subjects -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cases:
    """The period's cases by unit and by handler, so each subject's are found at once."""

    by_unit: Mapping[int, Sequence[CaseGroup]]
    by_handler: Mapping[int, Sequence[CaseGroup]]

    @classmethod
    def of(cls, groups: Iterable[CaseGroup]) -> _Cases:
        by_unit: dict[int, list[CaseGroup]] = defaultdict(list)
        by_handler: dict[int, list[CaseGroup]] = defaultdict(list)
        for group in groups:
            by_unit[group.unit_id].append(group)
            if group.handler_id is not None:
                by_handler[group.handler_id].append(group)
        return cls(by_unit, by_handler)

    def of_unit(self, unit_id: int) -> CaseTally:
        return tally(self.by_unit.get(unit_id, ()))

    def of_cadre(self, person_id: int, unit_ids: Sequence[int]) -> CaseTally:
        """A cadre answers for the cases they handled (in any unit) and, as an inspection of
        the unit as a whole counts for each of its cadres, for their units' cases nobody
        took. A case an admin handled is the unit's alone."""
        untaken = [g for u in unit_ids for g in self.by_unit.get(u, ()) if g.handler_id is None]
        return tally([*self.by_handler.get(person_id, ()), *untaken])


def _case_figures(indicators: Sequence[IndicatorRule], found: CaseTally
                  ) -> tuple[dict[str, str], dict[str, Any]]:
    """The explanation's words for the cases indicators, and the figures kept with the
    result (whether or not the unit type scores cases); nothing when there were no cases."""
    if not found.raised:
        return {}, {}
    words = figures(found)
    return ({rule.id: words for rule in indicators if rule.source == "cases"},
            {"cases": found.as_dict()})


def entries(units: Sequence[AppraisedUnit], cadres: Iterable[tuple[int, str, str | None, int]],
            facts: PeriodFacts, rules: AppraisalRules) -> list[Entry]:
    """Every unit, then every cadre of a known unit, ready to score. ``cadres``: (person id,
    name, Chinese name, unit id) for each unit a cadre serves; a cadre of several units is
    appraised once, on all of them, by the indicators of the first."""
    cases = _Cases.of(facts.cases)
    return [*(_unit_entry(unit, facts, rules, cases) for unit in units),
            *_cadre_entries(units, cadres, facts, rules, cases)]


def _unit_entry(unit: AppraisedUnit, facts: PeriodFacts, rules: AppraisalRules,
                cases: _Cases) -> Entry:
    indicators = rules.for_type(unit.type) or ()
    responses = facts.valid.get(unit.id, 0)
    stats = unit_statistics(facts.answers.get(unit.id, {}), unit.population,
                            facts.invited.get(unit.id))
    found = cases.of_unit(unit.id)
    words, kept = _case_figures(indicators, found)
    subject = Subject(key=f"unit:{unit.code}", kind="unit", name=unit.name,
                      unit_type=unit.type, responses=responses,
                      observations=observations(indicators, facts, [unit.id], None, found),
                      excluded=facts.excluded.get(unit.id, {}), figures=words)
    started = facts.started.get(unit.id, 0)
    extra = {
        **kept,
        "name_zh": unit.name_zh,
        "excluded_total": facts.excluded_responses.get(unit.id, 0),
        "contradictions": facts.contradictions.get(unit.id, 0),
        "completion_rate": round(responses / started, 4) if started else None,
        "invited": facts.invited.get(unit.id),
        "statistics": [{"question": q, "indicator": ind, **_stats_json(st)}
                       for q, ind, st in stats],
    }
    return Entry(subject, unit, None, extra, [unit.id])


def _cadre_entries(units: Sequence[AppraisedUnit],
                   cadres: Iterable[tuple[int, str, str | None, int]],
                   facts: PeriodFacts, rules: AppraisalRules, cases: _Cases) -> list[Entry]:
    by_id = {u.id: u for u in units}
    cadre_units: dict[int, list[int]] = defaultdict(list)
    names: dict[int, tuple[str, str | None]] = {}
    for person_id, name, name_zh, unit_id in cadres:
        if unit_id in by_id:
            cadre_units[person_id].append(unit_id)
            names[person_id] = name, name_zh
    found: list[Entry] = []
    for person_id, unit_ids in cadre_units.items():
        home = by_id[unit_ids[0]]
        indicators = rules.for_type(home.type) or ()
        handled = cases.of_cadre(person_id, unit_ids)
        words, kept = _case_figures(indicators, handled)
        seen = observations(indicators, facts, unit_ids, person_id, handled)
        subject = Subject(
            key=f"cadre:{person_id}", kind="cadre", name=names[person_id][0],
            unit_type=home.type, responses=sum(facts.valid.get(u, 0) for u in unit_ids),
            observations=seen,
            excluded=_sum_counts(facts.excluded.get(u, {}) for u in unit_ids),
            self_view=_self_view(indicators, seen), figures=words)
        extra = {**kept, "name_zh": names[person_id][1],
                 "excluded_total": sum(facts.excluded_responses.get(u, 0) for u in unit_ids),
                 "units": [by_id[u].code for u in unit_ids]}
        found.append(Entry(subject, home, person_id, extra, unit_ids))
    return found


# --- what is stored with each result ----------------------------------------------------------


def details(entries: Sequence[Entry], results: Sequence[Result], facts: PeriodFacts,
            config: AppraisalConfig) -> list[Scored]:
    """Each result with its stored detail (``results`` in the order of ``entries``)."""
    rows: list[Scored] = []
    for entry, result in zip(entries, results, strict=True):
        labels = {i.id: i.label or i.id
                  for i in config.rules.for_type(entry.subject.unit_type) or ()}
        comments = [c for u in entry.comment_units for c in facts.comments.get(u, [])]
        detail = _detail(result, unit=entry.unit, labels=labels, config=config,
                         themes=_themes(comments, entry.subject.responses, config),
                         extra=entry.extra)
        rows.append((result, detail, entry.unit.id, entry.person_id))
    return rows


def _detail(result: Result, *, unit: AppraisedUnit, labels: Mapping[str, str],
            config: AppraisalConfig, themes: Mapping[str, Any], extra: Mapping[str, Any]
            ) -> dict[str, Any]:
    data = result.as_dict()
    components = cast(list[dict[str, Any]], data.get("components", []))
    for component in components:
        component["label"] = labels.get(component["id"], component["id"])
    training_ids = list(result.training)
    data.update({
        "name": result.name, "unit_code": unit.code, "unit_name": unit.name,
        "unit_name_zh": unit.name_zh,
        "unit_type": unit.type, "min_responses": config.rules.min_responses,
        "excluded_total": extra.get("excluded_total", 0),
        "training": [{"id": t, **config.training_topics.get(t, {"en": t, "zh": t})}
                     for t in training_ids],
        **themes, **{k: v for k, v in extra.items() if k != "excluded_total"},
    })
    return data


def _themes(comments: Sequence[tuple[str, str]], responses: int, config: AppraisalConfig
            ) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"top": config.themes_top, "min_cell": config.min_cell,
                              "keywords": False}
    if config.topics:
        kwargs["topics"] = config.topics
    summary = top_themes(comments, responses, **kwargs)
    return {"themes": [{"topic": t.topic, "count": t.count, "share": round(t.share, 4)}
                       for t in summary.themes],
            "themes_note": summary.note}


def canonical(payload: Any) -> str:
    """One JSON text for equal payloads (sorted keys, no spaces), for hashing."""
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)


def results_hash(rows: Sequence[Mapping[str, Any]]) -> str:
    """SHA-256 over the results in a canonical form (independent of ids and row order)."""
    lines = sorted(canonical({k: v for k, v in row.items() if k != "run_id"}) for row in rows)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()
