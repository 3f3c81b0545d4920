"""A unit's public page: what anyone may read about a place without signing in.

The page of a unit (found by its public slug, the unit code in lower case: a stable address
that counts nothing, unlike a row id) shows, for one published period (the latest by default):

- the unit's published result: score, grade, responses, and the components that rest on
  residents' answers or on objective data (never a self-assessment, which is a cadre's own
  rating of themselves);
- the published results of the units below it, each linking to its own page;
- the trend of residents' satisfaction over the published periods of the same kind;
- "You said, we did" for the unit and those below it (:mod:`surveys.cases.summary`, the
  same small-cell rules as ``/results``).

Privacy, as for every public output:

- Only published runs; a draft or a superseded version never shows.
- A group under the privacy minimum (``privacy.min_cell_size``) is "fewer than N
  responses": neither its count nor any figure computed from it (score, grade, component)
  is shown. A component counting residents' answers with fewer than N is hidden the same way.
- No person is named: cadres' results are not on the page (the chat shows them to staff
  only), nor any Telegram id; a unit's stored result names the unit only.

Pure use case: no Telegram, one transaction (the caller's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from analysis.scoring import FROM_RESIDENTS
from storage.models import AppraisalResult, AppraisalRun, Unit
from surveys.appraisal.periods import PeriodError, parse_period
from surveys.appraisal.results import GRADED, TREND_PERIODS, Breakdown, Component, _order
from surveys.cases.summary import YouSaidWeDid, you_said_we_did
from surveys.people.access import UnitTree
from surveys.people.names import display_name

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

# What a public row says instead of a figure.
SUPPRESSED = "suppressed"  # fewer than the privacy minimum of responses
NOT_ENOUGH = "not_enough"  # enough to show the count, too few to grade
NO_DATA = "no_data"
NO_RESULT = "no_result"  # the unit has no result in this run
# Components whose n counts residents (their answers, comments or cases): under the
# privacy minimum they are hidden. Self-assessment is a cadre's own rating: never public.
_RESIDENT_SOURCES = frozenset({*FROM_RESIDENTS, "cases"})
_PRIVATE_SOURCES = frozenset({"self_assessment"})
# A county's page lists at most this many units below it (the rest are on their pages).
BELOW_ROWS = 200


class NotPublic(Exception):
    """No unit has this slug, or the period asked for is not published (the page's 404)."""


def slug_of(code: str) -> str:
    """A unit's public address: its code in lower case (codes are letters, digits, ``_``,
    ``.`` and ``-``, so the slug needs no escaping)."""
    return code.lower()


@dataclass(frozen=True)
class PublicComponent:
    label: str
    score: float | None
    low: float | None
    high: float | None
    n: int | None  # None: fewer than the minimum (so neither n nor the score is shown)
    residents: bool  # n counts residents (responses), else inspections or data points


@dataclass(frozen=True)
class PublicRow:
    """One unit's published standing, with what must not be shown already left out."""

    slug: str
    name: str
    depth: int  # 0 for the page's unit, 1 for those just below it, ...
    state: str  # graded, suppressed, not_enough, no_data, no_result
    score: float | None = None
    grade: str | None = None
    responses: int | None = None  # None when suppressed (or no result)
    min_responses: int | None = None
    recognition: bool = False


@dataclass(frozen=True)
class PublicPoint:
    period: str
    satisfaction: float | None  # residents' satisfaction (0-100); None when not shown
    score: float | None
    suppressed: bool  # fewer than the minimum of responses in that period


@dataclass(frozen=True)
class PublicPage:
    lang: str
    slug: str
    name: str
    up: tuple[tuple[str, str], ...]  # (slug, name) of the units above, the root first
    min_cell: int
    period: str | None = None  # None: nothing published yet
    periods: tuple[str, ...] = ()  # the published periods, oldest first
    version: int | None = None
    published_at: datetime | None = None
    unit: PublicRow | None = None
    components: tuple[PublicComponent, ...] = ()
    below: tuple[PublicRow, ...] = ()
    below_more: int = 0  # units below not listed (over BELOW_ROWS)
    trend: tuple[PublicPoint, ...] = ()
    said: YouSaidWeDid | None = None


def _find(tree: UnitTree, slug: str) -> Unit | None:
    matches = [unit for code, unit in tree.by_code.items() if slug_of(code) == slug]
    # Two codes differing only in case would share a slug: neither page then (an address
    # that could show one place or another is worse than none).
    return matches[0] if len(matches) == 1 else None


def _row(unit: Unit, depth: int, result: AppraisalResult | None, min_cell: int,
         lang: str) -> PublicRow:
    slug, name = slug_of(unit.code), display_name(unit, lang)
    if result is None:
        return PublicRow(slug, name, depth, NO_RESULT)
    detail: Mapping[str, Any] = result.detail if isinstance(result.detail, dict) else {}
    raw_min = detail.get("min_responses")
    minimum = raw_min if isinstance(raw_min, int) and not isinstance(raw_min, bool) else None
    # A group of 1 to min_cell - 1 residents: nothing computed from it. None at all tells
    # nothing of anyone (a unit graded from inspections alone keeps its score).
    if 0 < result.responses < min_cell:
        return PublicRow(slug, name, depth, SUPPRESSED, min_responses=minimum)
    if result.status == GRADED and result.score is not None:
        return PublicRow(slug, name, depth, GRADED, float(result.score), result.grade,
                         result.responses, minimum, bool(result.recognition))
    state = NO_DATA if result.status == NO_DATA else NOT_ENOUGH
    return PublicRow(slug, name, depth, state, responses=result.responses,
                     min_responses=minimum)


def _component(c: Component, min_cell: int) -> PublicComponent:
    residents = c.source in _RESIDENT_SOURCES
    if residents and c.n < min_cell:
        return PublicComponent(c.label, None, None, None, None, True)
    return PublicComponent(c.label, c.score, c.low, c.high, c.n, residents)


def public_components(result: AppraisalResult, min_cell: int,
                      unit: Unit) -> tuple[PublicComponent, ...]:
    """The unit's components as the public may see them (none for a suppressed result)."""
    if 0 < result.responses < min_cell:
        return ()
    shown = Breakdown.read(result, min_cell, unit)
    return tuple(_component(c, min_cell) for c in shown.components
                 if c.source not in _PRIVATE_SOURCES)


def satisfaction(result: AppraisalResult, min_cell: int) -> float | None:
    """Residents' satisfaction in a result: the weighted mean of its components scored from
    residents' ratings (source ``residents``) with at least ``min_cell`` answers."""
    if result.responses < min_cell:
        return None
    shown = Breakdown.read(result, min_cell)
    rated = [(c.weight or 0.0, c.score) for c in shown.components
             if c.source == "residents" and c.score is not None and c.n >= min_cell]
    total = sum(w for w, _ in rated)
    if not rated:
        return None
    if total <= 0:
        return sum(s for _, s in rated) / len(rated)
    return sum(w * s for w, s in rated) / total


def _kind(label: str) -> str | None:
    try:
        return parse_period(label).kind
    except PeriodError:
        return None


def _point(label: str, result: AppraisalResult, min_cell: int) -> PublicPoint:
    hidden = 0 < result.responses < min_cell
    score = (float(result.score) if not hidden and result.status == GRADED
             and result.score is not None else None)
    return PublicPoint(label, satisfaction(result, min_cell), score, hidden)


def _trend(published: Sequence[tuple[AppraisalRun, AppraisalResult]], chosen: AppraisalRun,
           min_cell: int) -> tuple[PublicPoint, ...]:
    """The unit's published periods of the chosen one's kind (months with months), up to
    the chosen one."""
    kind, end = _kind(chosen.period), _order(chosen)
    latest: dict[str, AppraisalResult] = {}
    for run, result in sorted(published, key=lambda pair: _order(pair[0])):
        if _kind(run.period) == kind and _order(run) <= end:
            latest[run.period] = result
    return tuple(_point(label, result, min_cell)
                 for label, result in latest.items())[-TREND_PERIODS:]


def _below(tree: UnitTree, unit: Unit) -> list[tuple[Unit, int]]:
    """The units below ``unit``, depth first (each after its parent), with their depth."""
    found: list[tuple[Unit, int]] = []
    stack = [(child, 1) for child in reversed(tree.children.get(unit.id, []))]
    while stack:
        current, depth = stack.pop()
        found.append((current, depth))
        stack.extend((child, depth + 1) for child in reversed(tree.children.get(current.id, [])))
    return found


def _up(tree: UnitTree, unit: Unit, lang: str) -> tuple[tuple[str, str], ...]:
    chain = [tree.by_id[i] for i in reversed(tree.ancestors(unit.id)) if i in tree.by_id]
    return tuple((slug_of(u.code), display_name(u, lang)) for u in chain if u.id != unit.id)


async def public_page(uow: UnitOfWork, slug: str, lang: str, min_cell: int,
                      period: str | None = None) -> PublicPage:
    """The public page of the unit with ``slug``, for ``period`` (a published period's
    label) or the latest published one, in ``lang``.

    Raises:
        NotPublic: no unit has this slug, or ``period`` is not a published period.
    """
    tree = await UnitTree.load(uow)
    unit = _find(tree, slug.lower())
    if unit is None:
        raise NotPublic(slug)
    page = PublicPage(lang, slug_of(unit.code), display_name(unit, lang), _up(tree, unit, lang),
                      min_cell)
    runs = sorted(await uow.appraisal.published(), key=_order)
    if not runs:
        if period is not None:
            raise NotPublic(period)
        return page
    periods = tuple(dict.fromkeys(r.period for r in runs))
    if period is not None:
        try:
            label = parse_period(period).label
        except PeriodError as exc:
            raise NotPublic(period) from exc
        chosen = [r for r in runs if r.period == label]
        if not chosen:
            raise NotPublic(period)
        run = chosen[-1]
    else:
        run = runs[-1]
    below = _below(tree, unit)
    wanted = {unit.id, *(u.id for u, _ in below)}
    results = {r.unit_id: r for r in await uow.appraisal.results(run.id, kind="unit")
               if r.unit_id in wanted}
    own = results.get(unit.id)
    listed = below[:BELOW_ROWS]
    said = await you_said_we_did(uow, wanted, parse_period(run.period), min_cell=min_cell)
    return PublicPage(
        lang, page.slug, page.name, page.up, min_cell, run.period, periods, run.version,
        run.published_at, _row(unit, 0, own, min_cell, lang),
        public_components(own, min_cell, unit) if own is not None else (),
        tuple(_row(u, depth, results.get(u.id), min_cell, lang) for u, depth in listed),
        len(below) - len(listed),
        _trend(await uow.appraisal.published_of_unit(unit.id), run, min_cell),
        said)
