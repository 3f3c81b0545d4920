"""The period's appraisal: detect anomalies, aggregate in SQL, score, store a new version.

``run_appraisal`` is one transaction: it flags anomalous responses (kept, excluded), asks the
database for counts and sums per unit (a million responses come back as a few thousand rows),
turns them into observations on a 0-100 scale, lets :func:`analysis.scoring.appraise` do the
arithmetic, and stores every unit's and cadre's result as a new draft version with its
explanation. ``publish_appraisal`` freezes a version; a later run is a new version, and both
are in the audit log with the hash of the results. Progress notes never feed any score.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from time import perf_counter
from typing import TYPE_CHECKING, Any, cast

from analysis.anomalies import (
    CADRE_RESPONDENT,
    AnomalyRules,
    ResponseRow,
    Scan,
    enabled_kinds,
)
from analysis.scoring import (
    AppraisalRules,
    Grade,
    IndicatorRule,
    Observation,
    Result,
    Subject,
    appraise,
)
from analysis.sentiment import ANALYSER_VERSION
from analysis.statistics import (
    QuestionStats,
    kpi_score,
    summarize,
    to_score,
    verdict_score,
)
from analysis.themes import top_themes
from storage.appraisal import Distribution
from storage.ids import RESPONSE_ID_MAX, parse_id, shown_id
from storage.models import AnomalyFlag, AppraisalResult, AppraisalRun, AppraisalStatus
from surveys.appraisal.periods import Period, parse_period
from surveys.respondents.anonymity import respondent_key
from surveys.text import clean_text

if TYPE_CHECKING:
    from bot.settings import AppraisalSection, IndicatorSection, Settings
    from storage.uow import Database, UnitOfWork

SCALED_TYPES = ("rating", "nps", "yesno")


class AppraisalError(Exception):
    """The run or publication cannot go ahead; the message says why and what to do."""


@dataclass(frozen=True)
class AppraisalOptions:
    """What a run needs from the settings, so the use case does not depend on bot/."""

    appraisal: AppraisalSection
    anomalies: AnomalyRules
    flag_cadre_respondents: bool
    min_cell: int
    themes_top: int
    topics: Mapping[str, Mapping[str, Sequence[str]]] | None
    secret: bytes

    @classmethod
    def from_settings(cls, settings: Settings, secret: bytes) -> AppraisalOptions:
        a = settings.anomalies
        rules = AnomalyRules(
            too_fast_seconds_per_answer=a.too_fast_seconds_per_answer,
            straight_lining_min_items=a.straight_lining_min_items,
            duplicate_comment_min_chars=a.duplicate_comment_min_chars,
            burst_window_minutes=a.burst_window_minutes,
            burst_min_count=a.burst_min_count,
            burst_factor=a.burst_factor,
        )
        return cls(appraisal=settings.appraisal, anomalies=rules,
                   flag_cadre_respondents=a.flag_cadre_respondents,
                   min_cell=settings.privacy.min_cell_size, themes_top=settings.themes.top,
                   topics={topic: {str(lang): words for lang, words in keywords.items()}
                           for topic, keywords in settings.themes.topics.items()} or None,
                   secret=secret)

    def config_hash(self) -> str:
        payload = {"appraisal": self.appraisal.model_dump(mode="json"),
                   "anomalies": repr(self.anomalies),
                   "flag_cadre_respondents": self.flag_cadre_respondents,
                   "min_cell": self.min_cell, "analyser": ANALYSER_VERSION}
        return hashlib.sha256(_canonical(payload).encode()).hexdigest()


@dataclass(frozen=True)
class RunReport:
    run: AppraisalRun
    units: int
    graded_units: int
    cadres: int
    graded_cadres: int
    responses: int
    flagged: dict[str, int]
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)


def _canonical(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)


def rules_of(section: AppraisalSection) -> AppraisalRules:
    """The pure scoring rules from the validated configuration."""
    indicators = {
        unit_type: tuple(IndicatorRule(id=i.id, source=i.source, weight=i.weight,
                                       training=i.training, label=i.label or i.id) for i in items)
        for unit_type, items in section.unit_types.items()
    }
    return AppraisalRules(
        indicators=indicators, min_responses=section.min_responses,
        prior_weight=section.prior_weight,
        grades=tuple(Grade(name, floor) for name, floor in section.grades.items()),
        recognition_share=section.recognition_share,
        exaggeration_margin=section.exaggeration_margin,
        training_count=section.training_count,
    )


# --- anomalies ------------------------------------------------------------------------------


async def detect_anomalies(uow: UnitOfWork, period: Period, options: AppraisalOptions,
                           now: datetime, timings: dict[str, float] | None = None
                           ) -> dict[str, int]:
    """Flag the period's anomalous residents' responses (replacing earlier flags)."""
    timings = timings if timings is not None else {}
    clock = perf_counter()
    cadre_keys: dict[int, set[str]] = defaultdict(set)
    if options.flag_cadre_respondents:
        for campaign_id, unit_id, user_id in await uow.anomalies.cadre_accounts(
                period.start, period.end):
            cadre_keys[unit_id].add(respondent_key(options.secret, campaign_id, user_id))
    scan = Scan(options.anomalies, enabled_kinds(options.anomalies), cadre_keys)
    # Scanned as they stream in: a million responses are never held at once.
    make = ResponseRow._make
    async for chunk in uow.anomalies.facts(period.start, period.end):
        scan.feed(map(make, chunk))
    flags = scan.flags()
    timings["anomaly scan"] = perf_counter() - clock
    clock = perf_counter()
    # A cadre's answers to their own unit's residents' poll are removed, not flagged: a flag
    # would point at that cadre's answers by name for anyone reading the database (in a unit
    # with one cadre). Only their number is kept, in the run's summary. (The bot refuses
    # such answers at the door; these come from before the account was linked.)
    withheld = {f.response_id for f in flags if f.kind == CADRE_RESPONDENT}
    if withheld:
        await uow.responses.delete_completed(withheld)
        flags = [f for f in flags if f.response_id not in withheld]
    dismissed = await uow.anomalies.replace(
        period.start, period.end, ((f.response_id, f.kind, f.reason) for f in flags), now)
    timings["anomaly store"] = perf_counter() - clock
    counts: dict[str, int] = defaultdict(int)
    if withheld:
        counts[CADRE_RESPONDENT] = len(withheld)
    for f in flags:
        if (f.response_id, f.kind) not in dismissed:
            counts[f.kind] += 1
    return dict(counts)


# An auditor's judgement on a flag, kept with the flag and in the audit log.
MAX_DISMISS_REASON = 300


@dataclass(frozen=True)
class Dismissal:
    flags: list[tuple[int, str]]  # (response id, kind) dismissed
    # Response id -> kinds of its other flags, which still exclude it.
    still_excluded: dict[int, list[str]]


def _checked_actor(actor: str) -> str:
    # Typed text (surveys.text): no control characters (PostgreSQL refuses NUL), one line.
    cleaned = " ".join(clean_text(actor, multiline=False).split())
    if not cleaned or len(cleaned) > 64:
        raise AppraisalError("say who decides (--by), in at most 64 characters")
    return cleaned


async def dismiss_flags(db: Database, response_ids: Sequence[int], kind: str | None,
                        reason: str, actor: str, now: datetime | None = None) -> Dismissal:
    """Dismiss the flags of these responses (of ``kind``, or all): the auditor judged them
    genuine. The flags stay on record and survive reruns while the detectors still raise
    them; from the next ``appraisal run`` they exclude nothing (a response with another,
    undismissed flag stays excluded by that one). Published results are not touched.
    Refuses (AppraisalError), changing nothing, when a response has no flag to dismiss."""
    reason = " ".join(clean_text(reason, multiline=False).split())
    if not reason:
        raise AppraisalError("say why the flag is dismissed (--reason), for the audit log")
    if len(reason) > MAX_DISMISS_REASON:
        raise AppraisalError(f"the reason is {len(reason)} characters; keep it under "
                             f"{MAX_DISMISS_REASON}")
    actor = _checked_actor(actor)
    now = now or db.clock()
    async with db.transaction() as uow:
        flags = await uow.anomalies.of_responses(_known(response_ids), kind)
        _require_flags(response_ids, kind, [f for f in flags if f.dismissed_at is None],
                       "no flag to dismiss")
        done: list[tuple[int, str]] = []
        for flag in flags:
            if flag.dismissed_at is None:
                flag.dismissed_at, flag.dismissed_by, flag.dismiss_reason = now, actor, reason
                done.append((flag.response_id, flag.kind))
                await uow.audit.record(actor, "anomaly.dismiss", "anomaly_flag", flag.id,
                                       before={"response_id": flag.response_id,
                                               "kind": flag.kind, "reason": flag.reason},
                                       after={"dismissed": True, "why": reason})
        await uow.session.flush()
        still = await uow.anomalies.active_kinds({r for r, _ in done})
    return Dismissal(done, still)


async def restore_flags(db: Database, response_ids: Sequence[int], kind: str | None,
                        actor: str) -> list[tuple[int, str]]:
    """Undo a dismissal: the flags exclude their responses again from the next run (if the
    detectors still raise them then)."""
    actor = _checked_actor(actor)
    async with db.transaction() as uow:
        flags = await uow.anomalies.of_responses(_known(response_ids), kind)
        _require_flags(response_ids, kind, [f for f in flags if f.dismissed_at is not None],
                       "no dismissed flag to restore")
        done: list[tuple[int, str]] = []
        for flag in flags:
            if flag.dismissed_at is not None:
                await uow.audit.record(actor, "anomaly.restore", "anomaly_flag", flag.id,
                                       before={"dismissed_by": flag.dismissed_by,
                                               "why": flag.dismiss_reason},
                                       after={"dismissed": False})
                flag.dismissed_at = flag.dismissed_by = flag.dismiss_reason = None
                done.append((flag.response_id, flag.kind))
    return done


def _known(response_ids: Sequence[int]) -> list[int]:
    """The ids a response can have; any other has no flag (and is never looked up)."""
    return [r for r in response_ids if parse_id(r, RESPONSE_ID_MAX) is not None]


def _require_flags(response_ids: Sequence[int], kind: str | None,
                   flags: Sequence[AnomalyFlag], problem: str) -> None:
    """All or nothing: every response named must have a flag to act on."""
    missing = sorted(set(response_ids) - {f.response_id for f in flags})
    if missing:
        of_kind = f" of kind {kind}" if kind else ""
        raise AppraisalError(f"response(s) {', '.join(map(shown_id, missing))}: {problem}"
                             f"{of_kind} (civicpulse anomalies list shows the flags); "
                             "nothing was changed")


# --- observations ---------------------------------------------------------------------------


# Sums use math.fsum (correctly rounded whatever the order): the database returns groups in
# no fixed order, and a plain sum would then differ in its last bit from run to run, and so
# would the results hash of an unchanged period.
def _observation(pairs: Iterable[tuple[float, int]]) -> Observation | None:
    """(score 0-100, count) pairs -> count, sum and sum of squares."""
    found = list(pairs)
    n = sum(count for _, count in found)
    if not n:
        return None
    return Observation(n, math.fsum(score * count for score, count in found),
                       math.fsum(score * score * count for score, count in found))


def _merge(observations: Iterable[Observation | None]) -> Observation | None:
    present = [o for o in observations if o is not None and o.n]
    if not present:
        return None
    return Observation(sum(o.n for o in present), math.fsum(o.total for o in present),
                       math.fsum(o.total_sq for o in present))


def _answer_pairs(rows: Iterable[Distribution]) -> list[tuple[float, int]]:
    return [(to_score(r.value, r.question_type), r.count)  # type: ignore[arg-type]
            for r in rows if r.question_type in SCALED_TYPES]


@dataclass
class _Facts:
    """The period's aggregates, keyed by unit (or person for self-assessments)."""

    answers: dict[int, dict[str | None, list[Distribution]]]
    self_answers: dict[int, dict[str | None, list[Distribution]]]
    valid: dict[int, int]
    excluded: dict[int, dict[str, int]]
    excluded_responses: dict[int, int]
    sentiment: dict[int, tuple[int, float, float]]
    inspections: list[tuple[int, int | None, str, int]]
    kpis: dict[tuple[int, str], float]
    contradictions: dict[int, int]
    invited: dict[int, int]
    started: dict[int, int]
    comments: dict[int, list[tuple[str, str]]]


def by_owner(rows: Iterable[Distribution]) -> dict[int, dict[str | None, list[Distribution]]]:
    """Owner (unit or person) -> survey indicator -> its distribution rows."""
    found: dict[int, dict[str | None, list[Distribution]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        found[row.owner_id][row.indicator].append(row)
    return found


async def _gather(uow: UnitOfWork, period: Period) -> _Facts:
    a, s, e = uow.appraisal, period.start, period.end
    comments: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for unit_id, text, language in await a.comments(s, e, ANALYSER_VERSION):
        comments[unit_id].append((text, language))
    return _Facts(
        answers=by_owner(await a.resident_distributions(s, e)),
        self_answers=by_owner(await a.self_distributions(s, e)),
        valid=await a.valid_responses(s, e),
        excluded=await a.excluded(s, e),
        excluded_responses=await a.excluded_responses(s, e),
        sentiment=await a.sentiment_sums(s, e, ANALYSER_VERSION),
        inspections=await a.inspection_counts(s, e),
        kpis={(k.unit_id, k.kpi): k.value for k in await uow.kpis.of_period(period.label)},
        contradictions=await a.contradictions(s, e, ANALYSER_VERSION),
        invited=await a.invited(s, e),
        started=await a.started(s, e),
        comments=comments,
    )


def _sentiment_observation(sums: tuple[int, float, float] | None) -> Observation | None:
    if not sums or not sums[0]:
        return None
    n, total_p, total_p2 = sums
    # score = 50 p + 50, so the sums follow from those of p.
    return Observation(n, 50 * total_p + 50 * n, 2500 * total_p2 + 5000 * total_p + 2500 * n)


def _observations(indicators: Sequence[IndicatorSection], facts: _Facts, unit_ids: Sequence[int],
                  person_id: int | None) -> dict[str, Observation]:
    found: dict[str, Observation] = {}
    for rule in indicators:
        obs: Observation | None = None
        if rule.source == "residents":
            obs = _merge(_observation(_answer_pairs(facts.answers.get(u, {}).get(rule.answers, [])))
                         for u in unit_ids)
        elif rule.source == "sentiment":
            obs = _merge(_sentiment_observation(facts.sentiment.get(u)) for u in unit_ids)
        elif rule.source == "inspections":
            units = set(unit_ids)
            obs = _observation(
                (verdict_score(verdict), n) for unit, cadre, verdict, n in facts.inspections
                if (person_id is not None and cadre == person_id)
                or (unit in units and (person_id is None or cadre is None)))
        elif rule.source == "kpi" and rule.kpi and rule.best is not None \
                and rule.worst is not None:
            obs = _observation(
                (kpi_score(facts.kpis[(u, rule.kpi)], rule.worst, rule.best), 1)
                for u in unit_ids if (u, rule.kpi) in facts.kpis)
        elif rule.source == "self_assessment" and person_id is not None:
            obs = _observation(_answer_pairs(
                facts.self_answers.get(person_id, {}).get(rule.answers, [])))
        if obs is not None:
            found[rule.id] = obs
    return found


def _self_view(indicators: Sequence[IndicatorSection], observations: Mapping[str, Observation]
               ) -> float | None:
    views = [observations[i.id] for i in indicators
             if i.source == "self_assessment" and i.id in observations]
    merged = _merge(views)
    return None if merged is None else merged.total / merged.n


def _sum_counts(maps: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: dict[str, int] = defaultdict(int)
    for m in maps:
        for k, v in m.items():
            total[k] += v
    return dict(total)


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


# --- the run ----------------------------------------------------------------------------------


def _detail(result: Result, *, unit: Any, labels: Mapping[str, str], section: AppraisalSection,
            themes: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    data = result.as_dict()
    components = cast(list[dict[str, Any]], data.get("components", []))
    for component in components:
        component["label"] = labels.get(component["id"], component["id"])
    training_ids = list(result.training)
    data.update({
        "name": result.name, "unit_code": unit.code, "unit_name": unit.name,
        "unit_type": unit.type, "min_responses": section.min_responses,
        "excluded_total": extra.get("excluded_total", 0),
        "training": [{"id": t, **section.training_topics.get(t, {"en": t, "zh": t})}
                     for t in training_ids],
        **themes, **{k: v for k, v in extra.items() if k != "excluded_total"},
    })
    return data


def _themes(comments: Sequence[tuple[str, str]], responses: int, options: AppraisalOptions
            ) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"top": options.themes_top, "min_cell": options.min_cell,
                              "keywords": False}
    if options.topics:
        kwargs["topics"] = options.topics
    summary = top_themes(comments, responses, **kwargs)
    return {"themes": [{"topic": t.topic, "count": t.count, "share": round(t.share, 4)}
                       for t in summary.themes],
            "themes_note": summary.note}


async def compute(uow: UnitOfWork, period: Period, options: AppraisalOptions, now: datetime,
                  timings: dict[str, float] | None = None
                  ) -> tuple[list[tuple[Result, dict[str, Any], int | None, int | None]],
                             dict[str, int]]:
    """Flag anomalies, aggregate and score. Returns (result, detail, unit id, person id) rows
    and the flags raised by kind; writes only the flags."""
    timings = timings if timings is not None else {}
    flagged = await detect_anomalies(uow, period, options, now, timings)
    clock = perf_counter()
    facts = await _gather(uow, period)
    timings["aggregate"] = perf_counter() - clock
    clock = perf_counter()
    units = list(await uow.units.all())
    by_id = {u.id: u for u in units}
    section = options.appraisal
    subjects: list[Subject] = []
    owners: list[tuple[int | None, int | None]] = []
    extras: list[dict[str, Any]] = []
    for unit in units:
        indicators = section.indicators_for(unit.type)
        observations = _observations(indicators, facts, [unit.id], None)
        responses = facts.valid.get(unit.id, 0)
        stats = unit_statistics(facts.answers.get(unit.id, {}), unit.population,
                                facts.invited.get(unit.id))
        subjects.append(Subject(key=f"unit:{unit.code}", kind="unit", name=unit.name,
                                unit_type=unit.type, responses=responses,
                                observations=observations,
                                excluded=facts.excluded.get(unit.id, {})))
        owners.append((unit.id, None))
        started = facts.started.get(unit.id, 0)
        extras.append({
            "excluded_total": facts.excluded_responses.get(unit.id, 0),
            "contradictions": facts.contradictions.get(unit.id, 0),
            "completion_rate": round(responses / started, 4) if started else None,
            "invited": facts.invited.get(unit.id),
            "statistics": [{"question": q, "indicator": ind, **_stats_json(st)}
                           for q, ind, st in stats],
            "_comments": [unit.id],
        })
    cadre_units: dict[int, list[int]] = defaultdict(list)
    names: dict[int, str] = {}
    for person_id, name, unit_id in await uow.appraisal.cadres():
        if unit_id in by_id:
            cadre_units[person_id].append(unit_id)
            names[person_id] = name
    for person_id, unit_ids in cadre_units.items():
        home = by_id[unit_ids[0]]
        indicators = section.indicators_for(home.type)
        observations = _observations(indicators, facts, unit_ids, person_id)
        subjects.append(Subject(
            key=f"cadre:{person_id}", kind="cadre", name=names[person_id],
            unit_type=home.type, responses=sum(facts.valid.get(u, 0) for u in unit_ids),
            observations=observations,
            excluded=_sum_counts(facts.excluded.get(u, {}) for u in unit_ids),
            self_view=_self_view(indicators, observations)))
        owners.append((home.id, person_id))
        extras.append({"excluded_total": sum(facts.excluded_responses.get(u, 0)
                                             for u in unit_ids),
                       "units": [by_id[u].code for u in unit_ids], "_comments": unit_ids})
    timings["prepare"] = perf_counter() - clock
    clock = perf_counter()
    results = appraise(subjects, rules_of(section))
    timings["score"] = perf_counter() - clock
    clock = perf_counter()
    rows: list[tuple[Result, dict[str, Any], int | None, int | None]] = []
    for result, (owner_unit, owner_person), extra, subject in zip(results, owners, extras,
                                                                  subjects, strict=True):
        home_unit = by_id[owner_unit] if owner_unit is not None else None
        labels = {i.id: i.label or i.id for i in section.indicators_for(subject.unit_type)}
        comment_units = extra.pop("_comments")
        comments = [c for u in comment_units for c in facts.comments.get(u, [])]
        detail = _detail(result, unit=home_unit, labels=labels, section=section,
                         themes=_themes(comments, subject.responses, options), extra=extra)
        rows.append((result, detail, owner_unit, owner_person))
    timings["themes"] = perf_counter() - clock
    return rows, flagged


def _result_row(run_id: int, result: Result, detail: Mapping[str, Any], unit_id: int | None,
                person_id: int | None) -> dict[str, Any]:
    return {"run_id": run_id, "kind": result.kind, "unit_id": unit_id,
            "person_id": person_id, "status": result.status, "score": result.score,
            "grade": result.grade, "rank": result.rank, "responses": detail.get("responses", 0),
            "recognition": result.recognition, "exaggeration": result.exaggeration,
            "detail": dict(detail)}


def _stored_row(result: AppraisalResult) -> dict[str, Any]:
    """The same fields as ``_result_row``, read back from the database."""
    return {"run_id": result.run_id, "kind": result.kind, "unit_id": result.unit_id,
            "person_id": result.person_id, "status": result.status, "score": result.score,
            "grade": result.grade, "rank": result.rank, "responses": result.responses,
            "recognition": result.recognition, "exaggeration": result.exaggeration,
            "detail": result.detail}


def results_hash(rows: Sequence[Mapping[str, Any]]) -> str:
    """SHA-256 over the results in a canonical form (independent of ids and row order)."""
    canonical = sorted(_canonical({k: v for k, v in row.items() if k != "run_id"})
                       for row in rows)
    return hashlib.sha256("\n".join(canonical).encode()).hexdigest()


async def run_appraisal(db: Database, period_label: str, options: AppraisalOptions,
                        actor: str) -> RunReport:
    """Compute the period's appraisal as a new draft version (one transaction)."""
    period = parse_period(period_label)
    started = perf_counter()
    timings: dict[str, float] = {}
    async with db.transaction() as uow:
        runs = await uow.appraisal.lock_runs(period.label)
        now = uow.clock()
        rows, flagged = await compute(uow, period, options, now, timings)
        version = max((r.version for r in runs), default=0) + 1
        clock = perf_counter()
        stored = [_result_row(0, result, detail, unit_id, person_id)
                  for result, detail, unit_id, person_id in rows]
        digest = results_hash(stored)
        units = [r for r, *_ in rows if r.kind == "unit"]
        cadres = [r for r, *_ in rows if r.kind == "cadre"]
        summary = {
            "responses": sum(d.get("responses", 0) for r, d, *_ in rows if r.kind == "unit"),
            "flagged": flagged,
            "units": len(units), "graded_units": sum(r.status == "graded" for r in units),
            "cadres": len(cadres), "graded_cadres": sum(r.status == "graded" for r in cadres),
            "analyser": ANALYSER_VERSION,
        }
        run = await uow.appraisal.add_run(AppraisalRun(
            period=period.label, version=version, status=AppraisalStatus.DRAFT,
            computed_at=now, computed_by=actor, published_at=None, published_by=None,
            config_hash=options.config_hash(), results_hash=digest, summary=summary))
        for row in stored:
            row["run_id"] = run.id
        await uow.appraisal.add_results(stored)
        await uow.audit.record(actor, "appraisal.run", "appraisal_run", run.id, after={
            "period": period.label, "version": version, "results_hash": digest,
            "config_hash": run.config_hash, **summary})
        timings["store"] = perf_counter() - clock
    return RunReport(run=run, units=summary["units"], graded_units=summary["graded_units"],
                     cadres=summary["cadres"], graded_cadres=summary["graded_cadres"],
                     responses=summary["responses"], flagged=flagged,
                     seconds=perf_counter() - started, timings=timings)


async def publish_appraisal(db: Database, period_label: str, actor: str,
                            version: int | None = None) -> tuple[AppraisalRun, int | None]:
    """Publish the period's latest draft (or ``version``); returns it and the version it
    superseded, if any. Published results are never changed afterwards."""
    period = parse_period(period_label)
    async with db.transaction() as uow:
        runs = list(await uow.appraisal.lock_runs(period.label))
        if not runs:
            raise AppraisalError(f"no appraisal has been computed for {period.label}; run "
                                 f"`civicpulse appraisal run --period {period.label}` first")
        if version is None:
            chosen = runs[-1]
            if chosen.status != AppraisalStatus.DRAFT:
                raise AppraisalError(f"nothing new to publish for {period.label} (version "
                                     f"{chosen.version} is {chosen.status.value}); a new "
                                     "`appraisal run` makes a new version")
        else:
            found = [r for r in runs if r.version == version]
            if not found:
                raise AppraisalError(f"{period.label} has no version {version} (versions: "
                                     f"{', '.join(str(r.version) for r in runs)})")
            chosen = found[0]
            if chosen.status != AppraisalStatus.DRAFT:
                raise AppraisalError(f"version {version} of {period.label} is "
                                     f"{chosen.status.value}; only a draft can be published")
        results = await uow.appraisal.results(chosen.id)
        digest = results_hash([_stored_row(r) for r in results])
        if digest != chosen.results_hash:
            raise AppraisalError(f"version {chosen.version} of {period.label} no longer matches "
                                 "the hash recorded when it was computed; it was changed and "
                                 "will not be published (see civicpulse audit show "
                                 f"appraisal_run {chosen.id})")
        now = uow.clock()
        superseded = None
        for r in runs:
            if r.status == AppraisalStatus.PUBLISHED:
                superseded = r.version
            # Earlier drafts are settled too: only the published version is current.
            if r.id != chosen.id and r.status != AppraisalStatus.SUPERSEDED:
                await uow.appraisal.set_status(r.id, AppraisalStatus.SUPERSEDED)
        await uow.appraisal.set_status(chosen.id, AppraisalStatus.PUBLISHED, published_at=now,
                                       published_by=actor)
        await uow.audit.record(actor, "appraisal.publish", "appraisal_run", chosen.id,
                               before={"status": "draft", "superseded_version": superseded},
                               after={"status": "published", "period": period.label,
                                      "version": chosen.version, "results_hash": digest})
        await uow.session.refresh(chosen)
    return chosen, superseded
