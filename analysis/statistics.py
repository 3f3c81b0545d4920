"""Survey statistics that need no database: margins of error, intervals, per-question summaries.

Conventions: shares (CSAT, "yes", response rate, margin of error) are fractions in [0, 1];
NPS is in points, from −100 to 100; appraisal scores are on 0–100 (higher is better).
Every function answers None rather than dividing by zero when there is nothing to measure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal, TypeAlias

Z95 = 1.959963984540054

QuestionKind: TypeAlias = Literal["rating", "nps", "yesno", "number"]
#: A distribution: answer value -> number of answers (Mapping is invariant in its key type,
#: hence the three spellings).
Counts: TypeAlias = Mapping[float, int] | Mapping[int, int] | Mapping[bool, int]

#: The fixed scales of the scale question types (as in surveys.questionnaire.schema.SCALE_RANGES).
SCALES: dict[str, tuple[int, int]] = {"rating": (1, 5), "nps": (0, 10)}

# Two-sided 95% quantiles of Student's t for 1..30 degrees of freedom.
_T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)


def margin_of_error(
    n: int, p: float = 0.5, population: int | None = None, z: float = Z95
) -> float | None:
    """Half-width of the normal-approximation interval for a proportion, as a fraction.

    ``p=0.5`` gives the worst case, the usual figure quoted for a poll. With the unit's
    ``population`` known, the finite-population correction shrinks it (to 0 when everyone
    answered). None when there are no responses.
    """
    if n <= 0:
        return None
    moe = z * math.sqrt(p * (1 - p) / n)
    if population is not None and population > 1:
        if n >= population:
            return 0.0
        moe *= math.sqrt((population - n) / (population - 1))
    return moe


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for a proportion: honest for small n, unlike the normal one."""
    if n <= 0:
        return None
    return _wilson_fraction(successes / n, n, z)


def t95(df: int) -> float:
    """Two-sided 95% quantile of Student's t (table to 30 degrees of freedom, then a
    Cornish–Fisher expansion, within 0.001 of the exact value)."""
    if df < 1:
        raise ValueError("t needs at least one degree of freedom")
    if df <= len(_T95):
        return _T95[df - 1]
    z = Z95
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df * df)


def mean_interval(
    n: int, mean: float, sd: float | None, bounds: tuple[float, float] | None = None
) -> tuple[float, float] | None:
    """95% interval of a mean from n answers with sample standard deviation ``sd``.

    Student's t with the sample sd (wider than the normal one for small n), clipped to
    ``bounds`` when the scale has them. When the sample shows no spread at all (n = 1, or
    every answer the same) the sd says nothing, and on a bounded scale the interval falls
    back to Wilson's for the mean rescaled to [0, 1]: a bounded answer cannot vary more
    than a yes/no with the same mean, so that interval is conservative, never a point.
    Without bounds and without spread: None.
    """
    if n <= 0:
        return None
    if sd is not None and sd > 0 and n >= 2:
        half = t95(n - 1) * sd / math.sqrt(n)
        low, high = mean - half, mean + half
        if bounds is not None:
            low, high = max(float(bounds[0]), low), min(float(bounds[1]), high)
        return low, high
    if bounds is None or bounds[1] <= bounds[0]:
        return None
    lo, hi = bounds
    p = min(1.0, max(0.0, (mean - lo) / (hi - lo)))
    interval = _wilson_fraction(p, n)
    return lo + interval[0] * (hi - lo), lo + interval[1] * (hi - lo)


def _wilson_fraction(p: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson interval for an observed share p of n (n > 0, need not be whole)."""
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(max(0.0, p * (1 - p)) / n + z * z / (4 * n * n)) / denominator
    # At a share of 0 or 1 the bound is exactly 0 or 1; float rounding would miss it.
    low = 0.0 if p <= 0 else max(0.0, centre - half)
    high = 1.0 if p >= 1 else min(1.0, centre + half)
    return low, high


def to_score(value: float, kind: QuestionKind) -> float:
    """Map one answer to the shared 0–100 scale (higher is better).

    rating 1–5 → (v − 1) × 25; nps 0–10 → v × 10; yesno → 100 for yes (any non-zero value,
    True included) and 0 for no. A ``number`` answer has no fixed scale (map it with
    :func:`kpi_score`), and a value off its scale is a caller's bug: both raise ValueError.
    """
    if kind == "yesno":
        return 100.0 if value else 0.0
    if kind == "number":
        raise ValueError("a number answer has no fixed 0-100 scale; map it with kpi_score()")
    low, high = SCALES[kind]
    if not low <= value <= high:
        raise ValueError(f"{kind} answer {value!r} is outside {low}-{high}")
    return (value - low) * 100.0 / (high - low)


def sentiment_score(polarity: float) -> float:
    """Comment polarity in [−1, 1] → 0–100 ((p + 1) × 50, clipped)."""
    return min(100.0, max(0.0, (polarity + 1.0) * 50.0))


#: Inspection verdicts on the 0–100 scale.
VERDICT_SCORES: dict[str, float] = {"achieved": 100.0, "partly": 50.0, "not_achieved": 0.0}


def verdict_score(verdict: str) -> float:
    """An inspector's verdict on a key task → 100, 50 or 0 (ValueError when unknown)."""
    try:
        return VERDICT_SCORES[verdict]
    except KeyError:
        raise ValueError(f"unknown inspection verdict {verdict!r}") from None


def kpi_score(value: float, worst: float, best: float) -> float:
    """A KPI value → 100 × (value − worst) / (best − worst), clipped to [0, 100].

    ``best`` may be below ``worst`` (lower is better, e.g. days to resolve a complaint).
    """
    if best == worst:
        raise ValueError("a KPI's best and worst values must differ")
    return min(100.0, max(0.0, 100.0 * (value - worst) / (best - worst)))


def shrink(mean: float, n: float, prior_mean: float, prior_weight: float) -> float:
    """Bayesian average: the mean of n answers pulled toward ``prior_mean`` as if
    ``prior_weight`` answers at the prior had been added. n = 0 gives the prior; a large n
    leaves the mean almost untouched."""
    if n < 0 or prior_weight < 0:
        raise ValueError("n and prior_weight must not be negative")
    if n + prior_weight == 0:
        return prior_mean
    return (n * mean + prior_weight * prior_mean) / (n + prior_weight)


@dataclass(frozen=True)
class QuestionStats:
    """What one question's answers say, for one unit (or any group) and period.

    ``mean``, ``sd`` and ``mean_interval`` are on the question's own scale (1–5, 0–10, the
    share of yes for yesno, raw numbers); ``score`` is the mean on 0–100 (None for numbers).
    ``distribution`` lists (value, count) pairs in ascending value, every scale point
    included (zeros too) for rating and nps, and 0 (no) and 1 (yes) for yesno.
    """

    kind: QuestionKind
    n: int
    mean: float | None
    sd: float | None
    mean_interval: tuple[float, float] | None
    score: float | None
    distribution: tuple[tuple[float, int], ...]
    csat: float | None = None  # rating: share of 4-5 answers
    csat_interval: tuple[float, float] | None = None  # its Wilson interval
    nps: float | None = None  # nps: % of 9-10 minus % of 0-6, in points (-100..100)
    promoters: float | None = None  # nps: share of 9-10
    passives: float | None = None  # nps: share of 7-8
    detractors: float | None = None  # nps: share of 0-6
    yes_share: float | None = None  # yesno
    yes_interval: tuple[float, float] | None = None  # its Wilson interval
    margin_of_error: float | None = None  # worst case (p = 0.5), with the FPC if population
    response_rate: float | None = None  # n / invited
    population: int | None = None
    invited: int | None = None

    def as_dict(self) -> dict[str, object]:
        """JSON-able form (distribution as {value: count} with string keys)."""
        return {
            "kind": self.kind,
            "n": self.n,
            "mean": self.mean,
            "sd": self.sd,
            "mean_interval": list(self.mean_interval) if self.mean_interval else None,
            "score": self.score,
            "distribution": {_key(v): c for v, c in self.distribution},
            "csat": self.csat,
            "csat_interval": list(self.csat_interval) if self.csat_interval else None,
            "nps": self.nps,
            "promoters": self.promoters,
            "passives": self.passives,
            "detractors": self.detractors,
            "yes_share": self.yes_share,
            "yes_interval": list(self.yes_interval) if self.yes_interval else None,
            "margin_of_error": self.margin_of_error,
            "response_rate": self.response_rate,
            "population": self.population,
            "invited": self.invited,
        }


def _key(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def summarize(
    counts: Counts,
    kind: QuestionKind,
    population: int | None = None,
    invited: int | None = None,
) -> QuestionStats:
    """Summarise one question from its distribution (answer value → number of answers).

    For yesno the values are 1 (or True) for yes and 0 for no. Counts of zero are allowed;
    negative counts, and rating/nps values off their scale, raise ValueError. With no answers
    every figure is None (the distribution still lists the scale points, all at zero).
    """
    merged: dict[float, int] = {}
    for value, count in counts.items():
        if count < 0:
            raise ValueError(f"negative count {count} for value {value!r}")
        key = float(1 if value else 0) if kind == "yesno" else float(value)
        if kind in SCALES:
            low, high = SCALES[kind]
            if not low <= key <= high:
                raise ValueError(f"{kind} answer {value!r} is outside {low}-{high}")
        if not math.isfinite(key):
            raise ValueError(f"answer {value!r} is not a finite number")
        merged[key] = merged.get(key, 0) + count
    if kind in SCALES:
        low, high = SCALES[kind]
        for point in range(low, high + 1):
            merged.setdefault(float(point), 0)
    elif kind == "yesno":
        merged.setdefault(0.0, 0)
        merged.setdefault(1.0, 0)
    distribution = tuple(sorted(merged.items()))
    n = sum(merged.values())
    rate = n / invited if invited else None
    if n == 0:
        return QuestionStats(
            kind=kind, n=0, mean=None, sd=None, mean_interval=None, score=None,
            distribution=distribution, response_rate=rate, population=population,
            invited=invited,
        )
    mean = sum(v * c for v, c in merged.items()) / n
    sd = (
        math.sqrt(max(0.0, sum(c * (v - mean) ** 2 for v, c in merged.items()) / (n - 1)))
        if n >= 2 else None
    )
    base = QuestionStats(
        kind=kind, n=n, mean=mean, sd=sd, mean_interval=None, score=None,
        distribution=distribution, margin_of_error=margin_of_error(n, population=population),
        response_rate=rate, population=population, invited=invited,
    )
    if kind == "yesno":
        yes = merged[1.0]
        interval = wilson_interval(yes, n)
        return replace(
            base, mean_interval=interval, score=100.0 * yes / n, yes_share=yes / n,
            yes_interval=interval,
        )
    if kind == "number":
        return replace(base, mean_interval=mean_interval(n, mean, sd))
    low, high = SCALES[kind]
    base = replace(
        base, mean_interval=mean_interval(n, mean, sd, (low, high)),
        score=(mean - low) * 100.0 / (high - low),
    )
    if kind == "rating":
        satisfied = merged[4.0] + merged[5.0]
        return replace(base, csat=satisfied / n, csat_interval=wilson_interval(satisfied, n))
    promoters = sum(c for v, c in merged.items() if v >= 9) / n
    detractors = sum(c for v, c in merged.items() if v <= 6) / n
    return replace(
        base, nps=100.0 * (promoters - detractors), promoters=promoters,
        passives=1.0 - promoters - detractors, detractors=detractors,
    )
