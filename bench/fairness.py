"""Is the appraisal fair? A simulated county whose true satisfaction per unit is known.

Population: 300 units. Each has a true level of satisfaction (a latent mean on the 1–5
scale, spread across units); residents differ around it, and each answer adds its own noise,
rounded to the scale. The survey is the shipped resident survey: overall rating, "was it
resolved" (yes/no), speed and courtesy ratings, a "what went wrong" question after a low
overall rating, and an optional comment (about 15%; short praise is common, longer
comments are composed from many phrasings, English and Chinese, so two residents do write
the same thing now and then). Responses per unit are skewed, 5 to 500 (median about 30:
many small villages, a few busy service halls). Completions come through a poster QR
(daytime), an SMS link and, for busy units, a service counter (office hours, weekdays).
Timings are several seconds per answer (log-normal, median 6 s), plus typing time for a
comment; 0.5% of residents are careless tappers (random answers, under a second each).
One village holds a residents' meeting where 12 residents answer through the poster within
8 minutes: a genuine group that looks like a burst.

The truth per unit is the expected weighted score of a resident of that unit, computed
exactly from the model. Two appraisals are compared with it:

- raw means: the weighted mean of each unit's answers, every unit graded however few;
- the project's method (analysis.anomalies + analysis.scoring): anomalies excluded, each
  component shrunk toward the overall mean (prior weight 10), units under 10 responses not
  graded.

Spearman's rank correlation with the truth is printed on the units each method grades, on
the same units (those the project grades), and on all units, where an ungraded unit is
counted (a) at its shrunk estimate, which the appraisal still computes and shows, and (b)
tied in the middle, which is all a ranking that refuses to rank it can say.

Then ballot stuffing: 30 five-star responses within 10 minutes through the poster of a weak
unit (distinct respondents, as when a cadre has friends fill it in; 0.8–3.5 s per answer,
one in four with a short comment of praise). Reported: stuffed responses caught, genuine
responses flagged, and whether the unit's grade moved. A patient stuffer (30 over three
hours) is shown too, for information: timing alone cannot catch it.

    .venv/bin/python bench/fairness.py [--seed N] [--seeds K]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.anomalies import AnomalyRules, detect_all
from analysis.facts import ResponseRow
from analysis.scoring import (
    DEFAULT_GRADES,
    AppraisalRules,
    IndicatorRule,
    Observation,
    Result,
    Subject,
    appraise,
)
from analysis.statistics import to_score
from surveys.respondents.anonymity import coarse

DEFAULT_SEED = 20261005
UNITS = 300
START = datetime(2026, 10, 5, tzinfo=UTC)  # a Monday
DAYS = 14
STUFFED = 30

# The survey's indicators, weighted as the resident part of config.yaml's default set.
WEIGHTS = {"satisfaction": 0.5, "problem_solved": 0.2, "responsiveness": 0.15, "attitude": 0.15}
RULES_INDICATORS = tuple(
    IndicatorRule(name, "residents", weight) for name, weight in WEIGHTS.items()
)
# Item offsets on the latent scale: speed is rated a little lower, courtesy a little higher.
OFFSETS = {"satisfaction": 0.0, "responsiveness": -0.2, "attitude": 0.15}
# True unit levels on 1-5. The spread sets how much units really differ compared with the
# noise of one resident's answers, the intra-class correlation (ICC) of the composite score:
# 0.3 gives about 0.08, 0.4 about 0.14, 0.5 about 0.20. Published satisfaction surveys of
# service units (practices, hospitals, offices) mostly report ICCs of 0.05-0.2; the main run
# takes the middle, and the sensitivity section shows both ends.
UNIT_MEAN, UNIT_SD = 3.55, 0.4
SPREADS = (0.3, 0.4, 0.5)
RESIDENT_SD, ITEM_SD = 0.85, 0.55  # residents around their unit; each answer's own noise
RESOLVED_AT, RESOLVED_SD = 2.8, 0.9  # P(resolved) = Phi((r - 2.8) / 0.9)


def phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def expected_rating(mean: float) -> float:
    """E[clip(round(x), 1, 5)] for x ~ N(mean, resident and item noise)."""
    sd = math.hypot(RESIDENT_SD, ITEM_SD)
    total = 0.0
    for k in range(1, 6):
        upper = 1.0 if k == 5 else phi((k + 0.5 - mean) / sd)
        lower = 0.0 if k == 1 else phi((k - 0.5 - mean) / sd)
        total += k * (upper - lower)
    return total


def true_score(level: float) -> float:
    """The expected weighted 0-100 score of a resident of a unit at this level."""
    resolved = phi((level - RESOLVED_AT) / math.hypot(RESIDENT_SD, RESOLVED_SD))
    score = WEIGHTS["problem_solved"] * 100 * resolved
    for item, offset in OFFSETS.items():
        score += WEIGHTS[item] * (expected_rating(level + offset) - 1) * 25
    return score


def grade_of(score: float) -> str:
    return next(g.name for g in DEFAULT_GRADES if score >= g.min_score)


# --- comments ---------------------------------------------------------------------------------

SHORT_GOOD = ["very good", "good", "thanks!", "great", "很好", "满意", "不错", "谢谢", "👍"]
SHORT_BAD = ["too slow", "bad", "not good", "太慢了", "不满意", "一般"]
EN_GOOD = (["The", "Our", "This time the"],
           ["staff", "clerk", "officer", "window staff", "village committee", "service desk"],
           ["were patient", "explained everything clearly", "were very helpful",
            "solved my problem quickly", "were friendly", "helped me fill in the form"],
           ["", " thank you", " keep it up", " much better than last year"])
EN_BAD = (["The", "Again the", "This time the"],
          ["queue", "wait", "process", "paperwork", "office", "phone line"],
          ["took far too long", "was confusing", "sent me back and forth", "was closed at noon",
           "needed too many documents", "was not explained"],
          ["", " please improve", " very disappointing", " I had to come twice"])
ZH_GOOD = (["", "这次", "村里"],
           ["工作人员", "窗口", "办事员", "村干部", "社区"],
           ["态度很好", "很有耐心", "讲解清楚", "办事效率高", "帮我解决了问题"],
           ["", "，谢谢", "，点赞", "，比以前好多了"])
ZH_BAD = (["", "这次", "又是"],
          ["排队", "等待时间", "手续", "材料", "电话"],
          ["太长了", "太复杂", "来回跑了好几趟", "没人说清楚", "中午没人"],
          ["", "，希望改进", "，很失望", "，跑了两次"])


def comment(rng: random.Random, satisfied: bool) -> str:
    if rng.random() < 0.35:
        return rng.choice(SHORT_GOOD if satisfied else SHORT_BAD)
    if rng.random() < 0.5:
        a, b, c, d = EN_GOOD if satisfied else EN_BAD
        return f"{rng.choice(a)} {rng.choice(b)} {rng.choice(c)}{rng.choice(d)}".strip()
    a, b, c, d = ZH_GOOD if satisfied else ZH_BAD
    return f"{rng.choice(a)}{rng.choice(b)}{rng.choice(c)}{rng.choice(d)}"


# --- the population ---------------------------------------------------------------------------


@dataclass
class Unit:
    id: int
    level: float
    truth: float
    size: int
    entries: list[tuple[str, float]]  # entry point, share


@dataclass
class Answer:
    row: ResponseRow
    scores: dict[str, float]  # indicator -> 0-100
    stuffed: bool = False


def make_units(rng: random.Random, spread: float) -> list[Unit]:
    units = []
    for uid in range(1, UNITS + 1):
        level = min(4.8, max(1.6, rng.gauss(UNIT_MEAN, spread)))
        size = int(min(500, max(5, round(math.exp(rng.gauss(math.log(30), 1.1))))))
        entries = [("poster", 0.6), ("sms", 0.4)]
        if size >= 100:
            entries = [("counter", 0.5), ("poster", 0.3), ("sms", 0.2)]
        units.append(Unit(uid, level, true_score(level), size, entries))
    return units


class Builder:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.next_id = 1

    def when(self, entry: str) -> datetime:
        rng = self.rng
        if entry == "counter":
            day = rng.choice([d for d in range(DAYS) if (START + timedelta(days=d)).weekday() < 5])
            return START + timedelta(days=day, hours=9 + 8 * rng.random())
        hour = min(22.0, max(7.0, rng.gauss(14, 3.5)))
        return START + timedelta(days=rng.randrange(DAYS), hours=hour)

    def genuine(self, unit: Unit, entry: str, at: datetime) -> Answer:
        rng = self.rng
        careless = rng.random() < 0.005
        resident = unit.level + rng.gauss(0, RESIDENT_SD)
        ratings = {}
        for item, offset in OFFSETS.items():
            noisy = resident + offset + rng.gauss(0, ITEM_SD)
            value = rng.randint(1, 5) if careless else round(noisy)
            ratings[item] = float(min(5, max(1, value)))
        resolved = (rng.random() < 0.5) if careless else (
            rng.random() < phi((resident - RESOLVED_AT) / RESOLVED_SD))
        answers = 4 + (ratings["satisfaction"] <= 2)
        per_answer = rng.uniform(0.4, 1.1) if careless else rng.lognormvariate(math.log(6), 0.5)
        seconds = per_answer * answers
        text = None
        if not careless and rng.random() < 0.15:
            text = comment(rng, ratings["satisfaction"] >= 4)
            seconds += 10 + 0.7 * len(text) * rng.uniform(0.7, 1.5)
            answers += 1
        return self.answer(unit, entry, at, seconds, answers, ratings, resolved, text, False)

    def stuffed(self, unit: Unit, entry: str, at: datetime) -> Answer:
        rng = self.rng
        ratings = dict.fromkeys(OFFSETS, 5.0)
        answers = 4
        seconds = answers * rng.uniform(0.8, 3.5)
        text = None
        if rng.random() < 0.25:
            text = rng.choice(["very good", "很好", "满意", "Great service!", "服务很好"])
            seconds += 3 + 0.5 * len(text)
            answers += 1
        return self.answer(unit, entry, at, seconds, answers, ratings, True, text, True)

    def answer(self, unit: Unit, entry: str, at: datetime, seconds: float, answers: int,
               ratings: dict[str, float], resolved: bool, text: str | None, stuffed: bool
               ) -> Answer:
        rid = self.next_id
        self.next_id += 1
        row = ResponseRow(
            response_id=rid, campaign_id=1, unit_id=unit.id, entry_point=f"{unit.id}:{entry}",
            respondent_key=f"r{rid}", duration_s=round(seconds),
            # Stored to the privacy resolution, as the bot stores it
            # (surveys.respondents.anonymity).
            completed_at=coarse(at), answers=answers, rating_count=len(ratings),
            rating_min=min(ratings.values()), rating_max=max(ratings.values()), comment=text,
        )
        scores = {item: to_score(value, "rating") for item, value in ratings.items()}
        scores["problem_solved"] = to_score(resolved, "yesno")
        return Answer(row, scores, stuffed)


def population(rng: random.Random, units: list[Unit]) -> tuple[list[Answer], set[int]]:
    """Genuine answers for every unit, with one residents' meeting; and the meeting's ids."""
    build = Builder(rng)
    answers: list[Answer] = []
    for unit in units:
        names = [name for name, _ in unit.entries]
        shares = [share for _, share in unit.entries]
        for _ in range(unit.size):
            entry = rng.choices(names, shares)[0]
            answers.append(build.genuine(unit, entry, build.when(entry)))
    meeting_unit = rng.choice([u for u in units if 20 <= u.size <= 80])
    at = START + timedelta(days=6, hours=19)
    meeting = [build.genuine(meeting_unit, "poster", at + timedelta(seconds=rng.uniform(0, 480)))
               for _ in range(12)]
    answers.extend(meeting)
    meeting_unit.size += len(meeting)
    return answers, {a.row.response_id for a in meeting}


# --- appraising ---------------------------------------------------------------------------------


def appraisal(units: list[Unit], answers: Sequence[Answer], flagged: set[int],
              prior_weight: float | None) -> dict[int, Result]:
    """prior_weight None: estimated from the data (AppraisalRules.estimate_prior_weight)."""
    rules = AppraisalRules(indicators={"*": RULES_INDICATORS},
                           prior_weight=10.0 if prior_weight is None else prior_weight,
                           estimate_prior_weight=prior_weight is None)
    sums: dict[int, dict[str, list[float]]] = {u.id: {} for u in units}
    valid: Counter[int] = Counter()
    for a in answers:
        if a.row.response_id in flagged:
            continue
        valid[a.row.unit_id] += 1
        for item, score in a.scores.items():
            acc = sums[a.row.unit_id].setdefault(item, [0, 0.0, 0.0])
            acc[0] += 1
            acc[1] += score
            acc[2] += score * score
    subjects = [
        Subject(key=str(u.id), kind="unit", name=f"unit {u.id}", unit_type="village",
                responses=valid[u.id],
                observations={k: Observation(int(n), t, t2)
                              for k, (n, t, t2) in sums[u.id].items()})
        for u in units
    ]
    return {int(r.key): r for r in appraise(subjects, rules)}


def raw_means(units: list[Unit], answers: Sequence[Answer]) -> dict[int, float]:
    totals: dict[int, Counter[str]] = {u.id: Counter() for u in units}
    counts: Counter[int] = Counter()
    for a in answers:
        counts[a.row.unit_id] += 1
        totals[a.row.unit_id].update(a.scores)
    return {uid: sum(w * totals[uid][k] / counts[uid] for k, w in WEIGHTS.items())
            for uid in totals}


def estimate(result: Result) -> float:
    """The appraisal's estimate, graded or not: Σ used weight × shrunk component score."""
    if result.score is not None:
        return result.score
    present = [c for c in result.components if c.score is not None]
    weight = sum(c.weight for c in present)
    return sum(c.weight * (c.score or 0) for c in present) / weight if weight else 0.0


def ranks(values: Sequence[float]) -> list[float]:
    """Ranks from 1, ties at their average rank."""
    order = sorted(range(len(values)), key=values.__getitem__)
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rho: Pearson's correlation of the (average) ranks."""
    rx, ry = ranks(x), ranks(y)
    n = len(rx)
    mx, my = sum(rx) / n, sum(ry) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    return sxy / math.sqrt(sxx * syy) if sxx and syy else 0.0


# --- one run --------------------------------------------------------------------------------------


@dataclass
class Outcome:
    seed: int
    rho_raw_all: float
    rho_project_graded: float
    rho_raw_same: float
    rho_project_all: float
    rho_project_all_tied: float
    match_raw: float
    match_project: float
    graded: int
    caught: int
    genuine_flagged: int
    genuine_total: int
    grade_before: str
    grade_after: str
    grade_undetected: str
    raw_grade_before: str
    raw_grade_after: str
    meeting_flagged: int
    patient_caught: int
    patient_grade: str
    target: Unit
    spread: float
    icc: float
    sizes: list[int]
    genuine_kinds: Counter[str]
    sweep: list[tuple[float | None, float, float, float]]  # m, rho all, grades right, MAE
    match_raw_same: float
    errors: tuple[float, float, float, float]  # MAE: raw all, project all, raw graded, project
    seconds: float


def icc(units: list[Unit], answers: Sequence[Answer]) -> float:
    """Share of the composite score's variance that lies between units (true spread)."""
    by_unit: dict[int, list[float]] = {}
    for a in answers:
        by_unit.setdefault(a.row.unit_id, []).append(
            sum(w * a.scores[k] for k, w in WEIGHTS.items()))
    within = sum(statistics.pvariance(v) * len(v) for v in by_unit.values()) / len(answers)
    between = statistics.pvariance([u.truth for u in units])
    return between / (between + within)


def run(seed: int, spread: float = UNIT_SD) -> Outcome:
    started = time.perf_counter()
    rng = random.Random(seed)
    units = make_units(rng, spread)
    genuine, meeting = population(rng, units)
    truth = {u.id: u.truth for u in units}
    rules = AnomalyRules()

    flagged = {f.response_id for f in detect_all((a.row for a in genuine), rules)}
    genuine_kinds: Counter[str] = Counter()
    results = appraisal(units, genuine, flagged, 10)
    raw = raw_means(units, genuine)
    ids = [u.id for u in units]
    graded = [uid for uid in ids if results[uid].status == "graded"]
    middle = sum(results[uid].score or 0 for uid in graded) / max(1, len(graded))

    def rho(uids: Sequence[int], est: dict[int, float]) -> float:
        return spearman([est[u] for u in uids], [truth[u] for u in uids])

    project_est = {uid: estimate(results[uid]) for uid in ids}
    tied = {uid: (results[uid].score if results[uid].score is not None else middle) for uid in ids}
    outcome_rhos = (
        rho(ids, raw), rho(graded, project_est), rho(graded, raw), rho(ids, project_est),
        rho(ids, {k: v or 0.0 for k, v in tied.items()}),
    )
    match_raw = sum(grade_of(raw[u]) == grade_of(truth[u]) for u in ids) / len(ids)
    match_project = sum(results[u].grade == grade_of(truth[u]) for u in graded) / len(graded)
    match_raw_same = sum(grade_of(raw[u]) == grade_of(truth[u]) for u in graded) / len(graded)

    def mae(uids: Sequence[int], est: dict[int, float]) -> float:
        return sum(abs(est[u] - truth[u]) for u in uids) / len(uids)

    errors = (mae(ids, raw), mae(ids, project_est), mae(graded, raw), mae(graded, project_est))

    sweep = []
    for m in (0.0, 2.0, 5.0, 10.0, 20.0, None):
        res_m = appraisal(units, genuine, flagged, m)
        g = [u for u in ids if res_m[u].status == "graded"]
        right = sum(res_m[u].grade == grade_of(truth[u]) for u in g) / max(1, len(g))
        sweep.append((m, rho(ids, {u: estimate(res_m[u]) for u in ids}), right,
                      mae(ids, {u: estimate(res_m[u]) for u in ids})))

    # Ballot stuffing for a weak unit with a modest number of responses.
    weak = [u for u in units if u.truth < 60 and 12 <= u.size <= 60
            and results[u.id].status == "graded"]
    target = rng.choice(weak or [min(units, key=lambda u: u.truth)])
    build = Builder(rng)
    build.next_id = 10_000_000
    stuffing_at = START + timedelta(days=rng.randrange(DAYS), hours=rng.uniform(8, 20))
    offsets = sorted(rng.uniform(0, 600) for _ in range(STUFFED))
    stuffed = [build.stuffed(target, "poster", stuffing_at + timedelta(seconds=s)) for s in offsets]
    attacked = genuine + stuffed
    all_flags = detect_all((a.row for a in attacked), rules)
    flags_attacked = {f.response_id for f in all_flags}
    stuffed_ids = {a.row.response_id for a in stuffed}
    first_kind: dict[int, str] = {}
    for flag in all_flags:
        first_kind.setdefault(flag.response_id, flag.kind)
    genuine_kinds.update(k for rid, k in first_kind.items() if rid not in stuffed_ids)
    after = appraisal(units, attacked, flags_attacked, 10)
    undetected = appraisal(units, attacked, flags_attacked - stuffed_ids, 10)
    raw_after = raw_means(units, attacked)
    genuine_ids = {a.row.response_id for a in genuine}

    patient_offsets = sorted(rng.uniform(0, 3 * 3600) for _ in range(STUFFED))
    patient = [build.stuffed(target, "poster", stuffing_at + timedelta(seconds=s))
               for s in patient_offsets]
    flags_patient = {f.response_id for f in detect_all((a.row for a in genuine + patient), rules)}
    patient_result = appraisal(units, genuine + patient, flags_patient, 10)

    def grade(result: Result) -> str:
        return result.grade or result.status

    return Outcome(
        seed, *outcome_rhos, match_raw, match_project, len(graded),
        caught=len(flags_attacked & stuffed_ids),
        genuine_flagged=len(flags_attacked & genuine_ids), genuine_total=len(genuine_ids),
        grade_before=grade(results[target.id]), grade_after=grade(after[target.id]),
        grade_undetected=grade(undetected[target.id]),
        raw_grade_before=grade_of(raw[target.id]), raw_grade_after=grade_of(raw_after[target.id]),
        meeting_flagged=len(flags_attacked & meeting),
        patient_caught=len(flags_patient & {a.row.response_id for a in patient}),
        patient_grade=grade(patient_result[target.id]),
        target=target, spread=spread, icc=icc(units, genuine),
        sizes=sorted(u.size for u in units), genuine_kinds=genuine_kinds, sweep=sweep,
        match_raw_same=match_raw_same, errors=errors,
        seconds=time.perf_counter() - started,
    )


def met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def targets(o: Outcome) -> dict[str, bool]:
    return {
        "method beats raw means on rank correlation (units graded by each)":
            o.rho_project_graded > o.rho_raw_all,
        "  stricter: also on the same units and on all units":
            o.rho_project_graded > o.rho_raw_same and o.rho_project_all > o.rho_raw_all,
        "  method's scores closer to the truth (MAE, all units and graded)":
            o.errors[1] < o.errors[0] and o.errors[3] < o.errors[2],
        "stuffed caught >= 95%": o.caught >= 0.95 * STUFFED,
        "genuine flagged <= 2%": o.genuine_flagged <= 0.02 * o.genuine_total,
        "stuffed unit's grade unchanged": o.grade_after == o.grade_before,
    }


def report(o: Outcome) -> None:
    n = UNITS
    small = sum(size < 10 for size in o.sizes)
    print(f"seed {o.seed}: {n} units, {o.genuine_total} genuine responses (per unit: median"
          f" {statistics.median(o.sizes):g}, {o.sizes[0]} to {o.sizes[-1]}; {small} units under"
          f" 10), true spread {o.spread} (ICC {o.icc:.2f}); {o.seconds:.1f} s")
    print("\nRank correlation with the truth (Spearman):")
    rows = [
        (f"raw means, all {n} units (all graded)", o.rho_raw_all),
        (f"project's method, the {o.graded} units it grades", o.rho_project_graded),
        (f"raw means on those same {o.graded} units", o.rho_raw_same),
        ("project, all units, ungraded at their shrunk estimate", o.rho_project_all),
        ("project, all units, ungraded tied in the middle", o.rho_project_all_tied),
    ]
    for label, value in rows:
        print(f"  {label:<56} {value:.3f}")
    print(f"  ({n - o.graded} units have fewer than 10 valid responses: the appraisal shows"
          " their shrunk estimate but neither grades nor ranks them)")
    print("\nMean absolute error of the score against the true score (points of 100):")
    print(f"  all units: raw means {o.errors[0]:.2f}, project's estimates {o.errors[1]:.2f};"
          f" the {o.graded} graded: raw {o.errors[2]:.2f}, project {o.errors[3]:.2f}")
    print("\nGrades matching the truth's grade:")
    print(f"  raw means: {100 * o.match_raw:.1f}% of {n} units,"
          f" {100 * o.match_raw_same:.1f}% of the {o.graded} the project grades")
    right = o.match_project * o.graded
    print(f"  project's method: {100 * o.match_project:.1f}% of the {o.graded} graded units"
          f" (of all units: {100 * right / n:.1f}% graded right,"
          f" {100 * (o.graded - right) / n:.1f}% wrong, {100 * (n - o.graded) / n:.1f}%"
          " not graded)")
    print("\nPrior weight m (appraisal.prior_weight; est. = estimated from the data):")
    print("  m      rho, all units   MAE, all units   grades right (graded)")
    for m, r, match, error in o.sweep:
        label = "est." if m is None else f"{m:g}"
        print(f"  {label:<6} {r:.3f}            {error:5.2f}            {100 * match:.1f}%")
    t = o.target
    print(f"\nBallot stuffing: {STUFFED} five-star responses within 10 minutes through the poster"
          f" of unit {t.id} (true score {t.truth:.1f}, {t.size} genuine responses)")
    print(f"  stuffed responses caught: {o.caught} of {STUFFED} ({100 * o.caught / STUFFED:.0f}%)")
    kinds = ", ".join(f"{count} {kind}" for kind, count in o.genuine_kinds.most_common())
    print(f"  genuine responses flagged: {o.genuine_flagged} of {o.genuine_total}"
          f" ({100 * o.genuine_flagged / o.genuine_total:.2f}%): {kinds or 'none'};"
          f" {o.meeting_flagged} of the 12 at the residents' meeting")
    print(f"  unit {t.id}'s grade: {o.grade_before} before, {o.grade_after} after"
          f" ({o.grade_undetected} had the stuffing gone undetected; with raw means:"
          f" {o.raw_grade_before} -> {o.raw_grade_after})")
    print(f"  for information, a patient stuffer ({STUFFED} over 3 hours): {o.patient_caught}"
          f" caught, grade {o.patient_grade}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--seeds", type=int, default=5,
                        help="also run this many further seeds and report the worst case")
    parser.add_argument("--spread", type=float, default=UNIT_SD,
                        help="sd of the true unit levels on the 1-5 scale")
    args = parser.parse_args()
    started = time.perf_counter()
    main_run = run(args.seed, args.spread)
    report(main_run)
    print("\nTargets (this seed):")
    for name, ok in targets(main_run).items():
        print(f"  {name}: {met(ok)}")

    print("\nSensitivity to how much units really differ (this seed; rho with the truth):")
    print("  spread  ICC   raw all  raw same  project graded  project all  est. m all  caught"
          "  genuine flagged  grade")
    for spread in SPREADS:
        o = main_run if spread == args.spread else run(args.seed, spread)
        est = next(r for m, r, _, _ in o.sweep if m is None)
        print(f"  {spread:<6g}  {o.icc:.2f}  {o.rho_raw_all:.3f}    {o.rho_raw_same:.3f}"
              f"     {o.rho_project_graded:.3f}           {o.rho_project_all:.3f}        {est:.3f}"
              f"      {o.caught:>2}/{STUFFED}  {100 * o.genuine_flagged / o.genuine_total:.2f}%"
              f"            {o.grade_before} -> {o.grade_after}")
    if args.seeds > 0:
        runs = [main_run] + [run(args.seed + i, args.spread) for i in range(1, args.seeds + 1)]
        print(f"\nSeeds {args.seed}..{args.seed + args.seeds} (spread {args.spread:g}):")
        print("  seed      raw all  raw same  project graded  project all  caught  genuine"
              " flagged  grade")
        for o in runs:
            print(f"  {o.seed}  {o.rho_raw_all:.3f}    {o.rho_raw_same:.3f}     "
                  f"{o.rho_project_graded:.3f}           {o.rho_project_all:.3f}        "
                  f"{o.caught:>2}/{STUFFED}  {o.genuine_flagged:>3}"
                  f" ({100 * o.genuine_flagged / o.genuine_total:.2f}%)    "
                  f"{o.grade_before} -> {o.grade_after}")
        print("\nWorst case over the seeds:")
        gains = (min(o.rho_project_graded - o.rho_raw_all for o in runs),
                 min(o.rho_project_graded - o.rho_raw_same for o in runs),
                 min(o.rho_project_all - o.rho_raw_all for o in runs))
        print(f"  smallest gain in rho over raw means: {gains[0]:+.3f} (graded by each),"
              f" {gains[1]:+.3f} (same units), {gains[2]:+.3f} (all units)")
        print(f"  fewest stuffed caught: {min(o.caught for o in runs)} of {STUFFED}")
        worst_flag = max(o.genuine_flagged / o.genuine_total for o in runs)
        print(f"  most genuine flagged: {100 * worst_flag:.2f}%")
        moved = [str(o.seed) for o in runs if o.grade_after != o.grade_before]
        print(f"  stuffed unit's grade moved in: {', '.join(moved) or 'no seed'}")
        print("\nTargets (worst case over the seeds):")
        for name in targets(main_run):
            print(f"  {name}: {met(all(targets(o)[name] for o in runs))}")
    print(f"\n({time.perf_counter() - started:.1f} s in all)")


if __name__ == "__main__":
    main()
