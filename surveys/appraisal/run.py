"""The period's appraisal: detect anomalies, aggregate in SQL, score, store a new version.

``run_appraisal`` is one transaction: it flags anomalous responses (kept, excluded), asks the
database for counts and sums per unit (a million responses come back as a few thousand rows),
lets :mod:`analysis.appraisal` and :func:`analysis.scoring.appraise` do the arithmetic, and
stores every unit's and cadre's result as a new draft version with its explanation.
:mod:`surveys.appraisal.publication` freezes a version (under four eyes); a later run is a
new version, and both are in the audit log with the hash of the results. Progress notes never
feed any score, nor do a case's notes and messages (only how the case itself went:
:mod:`analysis.cases`).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from time import perf_counter
from typing import TYPE_CHECKING, Any

from analysis.anomalies import CADRE_RESPONDENT, Scan, enabled_kinds
from analysis.appraisal import (
    AppraisalConfig,
    AppraisedUnit,
    PeriodFacts,
    Scored,
    by_owner,
    canonical,
    details,
    entries,
    results_hash,
)
from analysis.scoring import Result, appraise
from analysis.sentiment import ANALYSER_VERSION
from storage.ids import RESPONSE_ID_MAX, parse_id, shown_id
from storage.models import AnomalyFlag, AppraisalResult, AppraisalRun, AppraisalStatus
from surveys.appraisal.periods import Period, parse_period
from surveys.respondents.anonymity import respondent_key
from surveys.text import clean_text

if TYPE_CHECKING:
    from storage.uow import Database, UnitOfWork


class AppraisalError(Exception):
    """The run or publication cannot go ahead; the message says why and what to do."""


@dataclass(frozen=True)
class AppraisalOptions:
    """What a run is configured with (``Settings.appraisal_config()``) and the secret that
    gives the respondent keys of the units' cadres."""

    config: AppraisalConfig
    secret: bytes

    def config_hash(self) -> str:
        config = self.config
        payload = {"appraisal": config.as_configured,
                   "anomalies": repr(config.anomalies),
                   "flag_cadre_respondents": config.flag_cadre_respondents,
                   "min_cell": config.min_cell, "analyser": ANALYSER_VERSION}
        return hashlib.sha256(canonical(payload).encode()).hexdigest()


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


# --- anomalies ------------------------------------------------------------------------------


async def detect_anomalies(uow: UnitOfWork, period: Period, options: AppraisalOptions,
                           now: datetime, timings: dict[str, float] | None = None
                           ) -> dict[str, int]:
    """Flag the period's anomalous residents' responses (replacing earlier flags)."""
    timings = timings if timings is not None else {}
    clock = perf_counter()
    cadre_keys: dict[int, set[str]] = defaultdict(set)
    config = options.config
    if config.flag_cadre_respondents:
        for campaign_id, unit_id, user_id in await uow.anomalies.cadre_accounts(
                period.start, period.end):
            cadre_keys[unit_id].add(respondent_key(options.secret, campaign_id, user_id))
    scan = Scan(config.anomalies, enabled_kinds(config.anomalies), cadre_keys)
    # Scanned as they stream in: a million responses are never held at once.
    async for chunk in uow.anomalies.facts(period.start, period.end):
        scan.feed(chunk)
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


def dismiss_reason(reason: str) -> str:
    """The reason as stored: one line of typed text, not empty, not too long.

    Raises:
        AppraisalError: empty, or longer than ``MAX_DISMISS_REASON``.
    """
    cleaned = " ".join(clean_text(reason, multiline=False).split())
    if not cleaned:
        raise AppraisalError("say why the flag is dismissed (--reason), for the audit log")
    if len(cleaned) > MAX_DISMISS_REASON:
        raise AppraisalError(f"the reason is {len(cleaned)} characters; keep it under "
                             f"{MAX_DISMISS_REASON}")
    return cleaned


async def dismiss_flags(db: Database, response_ids: Sequence[int], kind: str | None,
                        reason: str, actor: str, now: datetime | None = None) -> Dismissal:
    """Dismiss the flags of these responses (of ``kind``, or all): the auditor judged them
    genuine. The flags stay on record and survive reruns while the detectors still raise
    them; from the next ``appraisal run`` they exclude nothing (a response with another,
    undismissed flag stays excluded by that one). Published results are not touched.
    Refuses (AppraisalError), changing nothing, when a response has no flag to dismiss."""
    reason = dismiss_reason(reason)
    actor = _checked_actor(actor)
    async with db.transaction() as uow:
        return await dismiss_in(uow, response_ids, kind, reason, actor, now or db.clock())


async def dismiss_in(uow: UnitOfWork, response_ids: Sequence[int], kind: str | None,
                     reason: str, actor: str, now: datetime) -> Dismissal:
    """:func:`dismiss_flags` within the caller's transaction (the dashboard's), with the
    reason and actor already checked."""
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
                        actor: str, reason: str | None = None) -> list[tuple[int, str]]:
    """Undo a dismissal: the flags exclude their responses again from the next run (if the
    detectors still raise them then). ``reason``, if given, is kept in the audit log."""
    actor = _checked_actor(actor)
    why = dismiss_reason(reason) if reason is not None else None
    async with db.transaction() as uow:
        return await restore_in(uow, response_ids, kind, actor, why)


async def restore_in(uow: UnitOfWork, response_ids: Sequence[int], kind: str | None,
                     actor: str, reason: str | None = None) -> list[tuple[int, str]]:
    """:func:`restore_flags` within the caller's transaction, the actor and reason checked."""
    flags = await uow.anomalies.of_responses(_known(response_ids), kind)
    _require_flags(response_ids, kind, [f for f in flags if f.dismissed_at is not None],
                   "no dismissed flag to restore")
    done: list[tuple[int, str]] = []
    for flag in flags:
        if flag.dismissed_at is not None:
            after: dict[str, object] = {"dismissed": False}
            if reason is not None:
                after["why"] = reason
            await uow.audit.record(actor, "anomaly.restore", "anomaly_flag", flag.id,
                                   before={"dismissed_by": flag.dismissed_by,
                                           "why": flag.dismiss_reason},
                                   after=after)
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


# --- the run ----------------------------------------------------------------------------------


async def _gather(uow: UnitOfWork, period: Period, now: datetime) -> PeriodFacts:
    a, s, e = uow.appraisal, period.start, period.end
    comments: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for unit_id, text, language in await a.comments(s, e, ANALYSER_VERSION):
        comments[unit_id].append((text, language))
    return PeriodFacts(
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
        # Opened in the period (by its dates), as they stand now: one past its deadline
        # counts as late; one within it, not yet.
        cases=await uow.cases.period_groups(period.start.date(), period.end.date(), now),
    )


async def compute(uow: UnitOfWork, period: Period, options: AppraisalOptions, now: datetime,
                  timings: dict[str, float] | None = None
                  ) -> tuple[list[Scored], dict[str, int]]:
    """Flag anomalies, aggregate and score. Returns (result, detail, unit id, person id) rows
    and the flags raised by kind; writes only the flags."""
    timings = timings if timings is not None else {}
    flagged = await detect_anomalies(uow, period, options, now, timings)
    clock = perf_counter()
    facts = await _gather(uow, period, now)
    timings["aggregate"] = perf_counter() - clock
    clock = perf_counter()
    units = [AppraisedUnit(u.id, u.code, u.name, u.type, u.population, u.name_zh)
             for u in (await uow.units.snapshot()).units]
    subjects = entries(units, await uow.appraisal.cadres(), facts, options.config.rules)
    timings["prepare"] = perf_counter() - clock
    clock = perf_counter()
    results = appraise([e.subject for e in subjects], options.config.rules)
    timings["score"] = perf_counter() - clock
    clock = perf_counter()
    rows = details(subjects, results, facts, options.config)
    timings["themes"] = perf_counter() - clock
    return rows, flagged


def _result_row(run_id: int, result: Result, detail: Mapping[str, Any], unit_id: int | None,
                person_id: int | None) -> dict[str, Any]:
    return {"run_id": run_id, "kind": result.kind, "unit_id": unit_id,
            "person_id": person_id, "status": result.status, "score": result.score,
            "grade": result.grade, "rank": result.rank, "responses": detail.get("responses", 0),
            "recognition": result.recognition, "exaggeration": result.exaggeration,
            "detail": dict(detail)}


def stored_row(result: AppraisalResult) -> dict[str, Any]:
    """The same fields as ``_result_row``, read back from the database."""
    return {"run_id": result.run_id, "kind": result.kind, "unit_id": result.unit_id,
            "person_id": result.person_id, "status": result.status, "score": result.score,
            "grade": result.grade, "rank": result.rank, "responses": result.responses,
            "recognition": result.recognition, "exaggeration": result.exaggeration,
            "detail": result.detail}


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
