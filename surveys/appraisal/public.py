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

What is kept between requests, and for how long (:class:`PublicPages`): what comes from
published versions until anything is published or a unit changes (at once, then); "You said,
we did", whose cases change without a publication, a minute (:data:`SAID_KEPT`), well within
the five minutes a browser may keep the page (``Cache-Control: max-age=300``).

Pure use case: no Telegram, one unit of work (the caller's).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from analysis.scoring import FROM_RESIDENTS
from storage.models import AppraisalResult, AppraisalRun
from storage.units import UnitNode
from surveys.appraisal.periods import PeriodError, parse_period
from surveys.appraisal.published_rows import PublishedRows, Snapshot
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
# How long a page's "You said, we did" is shown before its cases are read again.
SAID_KEPT = timedelta(minutes=1)
_EDITIONS = itertools.count(1)


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
    # Tells this page from any other made in this process (another unit, version, language
    # or reading of its cases), so what is drawn from it can be kept under it.
    edition: int = 0


def _row(unit: UnitNode, depth: int, result: AppraisalResult | None, min_cell: int,
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
                      unit: UnitNode) -> tuple[PublicComponent, ...]:
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


def _below(tree: UnitTree, unit: UnitNode) -> list[tuple[UnitNode, int]]:
    """The units below ``unit``, depth first (each after its parent), with their depth."""
    found: list[tuple[UnitNode, int]] = []
    stack = [(child, 1) for child in reversed(tree.children.get(unit.id, []))]
    while stack:
        current, depth = stack.pop()
        found.append((current, depth))
        stack.extend((child, depth + 1) for child in reversed(tree.children.get(current.id, [])))
    return found


def _up(tree: UnitTree, unit: UnitNode, lang: str) -> tuple[tuple[str, str], ...]:
    chain = [tree.by_id[i] for i in reversed(tree.ancestors(unit.id)) if i in tree.by_id]
    return tuple((slug_of(u.code), display_name(u, lang)) for u in chain if u.id != unit.id)


async def public_page(uow: UnitOfWork, slug: str, lang: str, min_cell: int,
                      period: str | None = None, *, now: datetime | None = None,
                      published: PublishedRows | None = None,
                      kept: PublicPages | None = None) -> PublicPage:
    """The public page of the unit with ``slug``, for ``period`` (a published period's
    label) or the latest published one, in ``lang``; its cases as they stand ``now``.

    ``published`` and ``kept`` keep what is read between calls (:class:`PublicPages` says
    for how long); without them everything is read afresh.

    Raises:
        NotPublic: no unit has this slug, or ``period`` is not a published period.
    """
    pages = kept if kept is not None else PublicPages(keep=0)
    return await pages.page(uow, published if published is not None else PublishedRows(keep=0),
                            slug, lang, min_cell, period, now or uow.clock())


@dataclass
class _Kept:
    page: PublicPage
    unit_ids: frozenset[int]  # the unit and those below it: whose cases the page counts
    said_until: datetime  # "You said, we did" is read again from then on
    refreshing: bool = False  # a request is reading it again: the others show this one


class PublicPages:
    """The public pages, kept between requests (read afresh, a page decoded every unit's
    stored result of the version: 1.4 s on a county of 2,000 units, for each reader).

    What comes from published versions never changes, so a page is kept per unit, period
    asked for, language and :attr:`Snapshot.key` (the published versions and the unit tree,
    read again whenever the audit log moves, as every publication and every change to units
    is audited): a new publication, a superseded version or a renamed unit is another key,
    shown at once. A version's units' results are kept by its id, for all its pages.

    "You said, we did" counts cases, which change without a publication (a case closes, a
    resident answers, a deadline passes): it is read again once it is ``said_for`` old
    (:data:`SAID_KEPT`, a minute), by one request while the others show the page as it was.
    So the cases shown are at most about a minute old, well within the five minutes a
    browser or a proxy may keep the page anyway (``Cache-Control: max-age=300``).
    """

    def __init__(self, keep: int = 4096, said_for: timedelta = SAID_KEPT,
                 keep_versions: int = 4) -> None:
        self.keep = keep
        self.said_for = said_for
        self.keep_versions = keep_versions if keep else 0
        self._pages: OrderedDict[tuple[object, ...], _Kept] = OrderedDict()
        self._versions: OrderedDict[int, dict[int, AppraisalResult]] = OrderedDict()
        self._reading = asyncio.Lock()  # one request reads a version's results, not twenty
        self._slugs: tuple[str, dict[str, UnitNode | None]] | None = None

    async def page(self, uow: UnitOfWork, published: PublishedRows, slug: str, lang: str,
                   min_cell: int, period: str | None, now: datetime) -> PublicPage:
        """As :func:`public_page`."""
        snapshot = await published.snapshot(uow)
        key = (snapshot.key, slug.lower(), period, lang, min_cell)
        kept = self._pages.get(key)
        if kept is None:
            page, unit_ids = await self._published_part(uow, snapshot, slug, lang, min_cell,
                                                        period)
            page = replace(page, said=await self._said(uow, page, unit_ids, min_cell, now))
            if self.keep:
                self._pages[key] = _Kept(page, unit_ids, now + self.said_for)
                while len(self._pages) > self.keep:
                    self._pages.popitem(last=False)
            return page
        self._pages.move_to_end(key)
        if kept.said_until <= now and not kept.refreshing:
            kept.refreshing = True
            try:
                said = await self._said(uow, kept.page, kept.unit_ids, min_cell, now)
            finally:
                kept.refreshing = False
            kept.page = replace(kept.page, said=said, edition=next(_EDITIONS))
            kept.said_until = now + self.said_for
        return kept.page

    @staticmethod
    async def _said(uow: UnitOfWork, page: PublicPage, unit_ids: frozenset[int], min_cell: int,
                    now: datetime) -> YouSaidWeDid | None:
        if page.period is None:
            return None
        return await you_said_we_did(uow, unit_ids, parse_period(page.period),
                                     min_cell=min_cell, now=now)

    async def _published_part(self, uow: UnitOfWork, snapshot: Snapshot, slug: str, lang: str,
                              min_cell: int, period: str | None
                              ) -> tuple[PublicPage, frozenset[int]]:
        """The page but its cases, and the units whose cases it counts."""
        tree = snapshot.tree
        unit = self._by_slug(snapshot).get(slug.lower())
        if unit is None:
            raise NotPublic(slug)
        page = PublicPage(lang, slug_of(unit.code), display_name(unit, lang),
                          _up(tree, unit, lang), min_cell, edition=next(_EDITIONS))
        runs = sorted(snapshot.published, key=_order)
        if not runs:
            if period is not None:
                raise NotPublic(period)
            return page, frozenset()
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
        results = await self._results(uow, run)
        own = results.get(unit.id)
        listed = below[:BELOW_ROWS]
        # The unit's results of the versions this snapshot says are published (one published
        # since is another snapshot, so another key).
        versions = {r.id for r in runs}
        history = [(r, result) for r, result in await uow.appraisal.published_of_unit(unit.id)
                   if r.id in versions]
        page = replace(
            page, period=run.period, periods=periods, version=run.version,
            published_at=run.published_at, unit=_row(unit, 0, own, min_cell, lang),
            components=public_components(own, min_cell, unit) if own is not None else (),
            below=tuple(_row(u, depth, results.get(u.id), min_cell, lang)
                        for u, depth in listed),
            below_more=len(below) - len(listed), trend=_trend(history, run, min_cell))
        return page, frozenset({unit.id, *(u.id for u, _ in below)})

    def _by_slug(self, snapshot: Snapshot) -> dict[str, UnitNode | None]:
        if self._slugs is not None and self._slugs[0] == snapshot.key:
            return self._slugs[1]
        found: dict[str, UnitNode | None] = {}
        for code, unit in snapshot.tree.by_code.items():
            slug = slug_of(code)
            # Two codes differing only in case would share a slug: neither page then (an
            # address that could show one place or another is worse than none).
            found[slug] = None if slug in found else unit
        if self.keep:
            self._slugs = (snapshot.key, found)
        return found

    async def _results(self, uow: UnitOfWork, run: AppraisalRun) -> dict[int, AppraisalResult]:
        """The units' results of a published version, by unit (read once: they never
        change, and a version's id is never another's)."""
        found = self._versions.get(run.id)
        if found is not None:
            self._versions.move_to_end(run.id)
            return found
        async with self._reading:
            found = self._versions.get(run.id)  # read by another request meanwhile
            if found is None:
                found = {r.unit_id: r for r in await uow.appraisal.results(run.id, kind="unit")
                         if r.unit_id is not None}
                if self.keep_versions:
                    self._versions[run.id] = found
                    while len(self._versions) > self.keep_versions:
                        self._versions.popitem(last=False)
        return found
