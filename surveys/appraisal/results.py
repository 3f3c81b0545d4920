"""Results in chat: what /myscore and /results read.

Only published runs are ever shown: a draft (computed, not yet published) or a superseded
version never reaches a chat. A cadre sees their own latest published result with its
breakdown and the trend over earlier periods; admins and auditors see the ranking of the
units in their scope. Contesting a result is :mod:`surveys.appraisal.appeals`.

Pure use cases: no Telegram. Each runs in the caller's one transaction. Refusals are raised
as :class:`~surveys.people.caller.Refused` with a text key (``results.<key>``) for the chat
layer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from storage.models import Appeal, AppraisalResult, AppraisalRun, AppraisalStatus, Unit
from storage.units import UnitLike, UnitNode
from surveys.appraisal.periods import Period, PeriodError, parse_period
from surveys.appraisal.published_rows import PublishedRows
from surveys.cases.summary import YouSaidWeDid, you_said_we_did
from surveys.people.access import CADRE_ROLES, VIEW_ROLES, Actor, UnitTree
from surveys.people.caller import Caller, Refused, acting_as
from surveys.people.names import Names, display_name

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

CADRE, UNIT = "cadre", "unit"
GRADED = "graded"
TREND_PERIODS = 8
# The refusals to anyone without the role: results.not_cadre, results.not_staff.
NOT_CADRE, NOT_STAFF = "not_cadre", "not_staff"


# --- reading a stored result ----------------------------------------------------------------


def as_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def as_int(value: Any, default: int = 0) -> int:
    number = as_number(value)
    return int(number) if number is not None else default


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


@dataclass(frozen=True)
class Component:
    id: str
    label: str
    source: str
    weight: float | None
    used_weight: float | None
    n: int
    score: float | None
    low: float | None
    high: float | None
    note: str | None
    # Shrinkage: the raw mean, the mean it was shrunk toward and as if how many answers at
    # it were added (None, None, 0 when not shrunk or not stored).
    raw_mean: float | None = None
    prior: float | None = None
    prior_weight: float = 0.0

    @property
    def shrunk(self) -> bool:
        return (self.prior is not None and self.raw_mean is not None
                and self.score is not None and abs(self.raw_mean - self.score) >= 0.05)

    @classmethod
    def read(cls, data: Mapping[str, Any]) -> Component:
        interval = data.get("interval")
        low = high = None
        if isinstance(interval, list | tuple) and len(interval) == 2:
            low, high = as_number(interval[0]), as_number(interval[1])
        ident = str(data.get("id") or "?")
        return cls(id=ident, label=_text(data.get("label")) or ident,
                   source=str(data.get("source") or ""), weight=as_number(data.get("weight")),
                   used_weight=as_number(data.get("used_weight")), n=as_int(data.get("n")),
                   score=as_number(data.get("score")), low=low, high=high,
                   note=_text(data.get("note")), raw_mean=as_number(data.get("raw_mean")),
                   prior=as_number(data.get("prior")),
                   prior_weight=as_number(data.get("prior_weight")) or 0.0)


@dataclass(frozen=True)
class Theme:
    topic: str
    count: int
    share: float | None


@dataclass(frozen=True)
class Ranked:
    """One unit's or cadre's line in the results table: the stored row's columns."""

    result_id: int
    kind: str
    name: str
    unit_code: str
    unit_name: str
    status: str
    score: float | None
    grade: str | None
    rank: int | None
    ranked: int | None
    responses: int
    min_responses: int | None
    recognition: bool

    @property
    def graded(self) -> bool:
        return self.status == GRADED and self.score is not None


@dataclass(frozen=True, kw_only=True)
class Breakdown(Ranked):
    """A stored result as shown: the row's columns, with the detail's explanation.

    The row's columns (status, score, grade, rank, responses, recognition, exaggeration) are
    what was published; the detail adds the components and the rest. A theme is shown only
    when it was mentioned in at least ``min_cell`` comments and the result rests on at least
    ``min_cell`` responses, so no resident can be picked out of a small cell.
    """

    unit_id: int | None
    components: tuple[Component, ...]
    excluded: dict[str, int]
    excluded_total: int
    others_view: float | None
    self_view: float | None
    exaggeration: bool
    training: tuple[dict[str, str], ...]
    themes: tuple[Theme, ...]
    themes_note: str | None  # as stored: why the computation left themes out, if it did
    themes_hidden: bool  # some themes (or all) are not shown
    explanation: str | None

    @classmethod
    def read(cls, result: AppraisalResult, min_cell: int, unit: UnitLike | None = None,
             lang: str = "en") -> Breakdown:
        """The result as shown to a reader of ``lang`` (names in their language)."""
        detail: Mapping[str, Any] = result.detail if isinstance(result.detail, dict) else {}
        # The names as they were at the run; a result stored without them names its unit now.
        fallback = Names.of(unit) if unit is not None else Names("?")
        kept_name = _text(detail.get("name"))
        name = Names(kept_name, _text(detail.get("name_zh"))) if kept_name else fallback
        unit_name = unit_names(result, unit)
        components = tuple(Component.read(c) for c in detail.get("components") or []
                           if isinstance(c, dict))
        excluded = {str(k): as_int(v) for k, v in (detail.get("excluded") or {}).items()
                    if as_int(v) > 0} if isinstance(detail.get("excluded"), dict) else {}
        training = tuple({k: str(v) for k, v in item.items()}
                         for item in detail.get("training") or [] if isinstance(item, dict))
        note = _text(detail.get("themes_note"))
        stored = [Theme(str(t.get("topic")), as_int(t.get("count")), as_number(t.get("share")))
                  for t in detail.get("themes") or [] if isinstance(t, dict) and t.get("topic")]
        # The computation keeps only topics of at least min_cell comments and says why it
        # left any out (the note); checked again here, so a small cell never reaches a chat.
        themes: tuple[Theme, ...] = ()
        if result.responses >= min_cell:
            themes = tuple(th for th in stored if th.count >= min_cell)
        hidden = note is not None or len(themes) < len(stored)
        # "ranked" per the stored schema; the scorer's own name for it is "ranked_among".
        ranked = detail.get("ranked", detail.get("ranked_among"))
        return cls(
            result_id=result.id, kind=result.kind,
            name=display_name(name, lang),
            unit_id=result.unit_id,
            unit_code=_text(detail.get("unit_code")) or (unit.code if unit else "?"),
            unit_name=display_name(unit_name, lang),
            status=result.status, score=as_number(result.score), grade=result.grade,
            rank=result.rank, ranked=as_int(ranked) if as_number(ranked) is not None else None,
            responses=result.responses,
            min_responses=(as_int(detail.get("min_responses"))
                           if as_number(detail.get("min_responses")) is not None else None),
            components=components, excluded=excluded,
            excluded_total=as_int(detail.get("excluded_total"), sum(excluded.values())),
            others_view=as_number(detail.get("others_view")),
            self_view=as_number(detail.get("self_view")),
            exaggeration=bool(result.exaggeration), recognition=bool(result.recognition),
            training=training, themes=themes, themes_note=note, themes_hidden=hidden,
            explanation=_text(detail.get("explanation")),
        )


def unit_names(result: AppraisalResult, unit: UnitLike | None = None) -> Names:
    """Both names of the result's unit as they were at the run (``unit``'s now for a result
    stored without them), for readers of either language."""
    detail: Mapping[str, Any] = result.detail if isinstance(result.detail, dict) else {}
    kept = _text(detail.get("unit_name"))
    if kept:
        return Names(kept, _text(detail.get("unit_name_zh")))
    return Names.of(unit) if unit is not None else Names("?")


def _period(label: str) -> Period | None:
    try:
        return parse_period(label)
    except PeriodError:
        return None


def _order(run: AppraisalRun) -> tuple[Any, ...]:
    """Later periods last; among periods ending together, the shorter (a quarter after its
    year); then by publication."""
    period = _period(run.period)
    published = run.published_at or run.computed_at
    if period is None:
        return ("", "", run.period, published.isoformat())
    return (period.end.isoformat(), period.start.isoformat(), run.period, published.isoformat())


def _kind_of(label: str) -> str | None:
    period = _period(label)
    return period.kind if period is not None else None


def _pick(results: Sequence[AppraisalResult], primary: Sequence[int]) -> AppraisalResult:
    """The result for the cadre's first unit (oldest grant) if there is one, else the first."""
    for unit_id in primary:
        for result in results:
            if result.unit_id == unit_id:
                return result
    return min(results, key=lambda r: r.id)


async def published_of(uow: UnitOfWork, actor: Actor
                        ) -> list[tuple[AppraisalRun, AppraisalResult]]:
    """The cadre's published results, one per period, in period order (oldest first)."""
    by_run: dict[int, tuple[AppraisalRun, list[AppraisalResult]]] = {}
    for run, result in await uow.appraisal.published_of_person(actor.person_id):
        if run.status != AppraisalStatus.PUBLISHED or result.kind != CADRE:
            continue
        by_run.setdefault(run.id, (run, []))[1].append(result)
    primary = [u for u in actor.scopes(CADRE_ROLES) if u is not None]
    runs = sorted(by_run.values(), key=lambda item: _order(item[0]))
    return [(run, _pick(results, primary)) for run, results in runs]


# --- /myscore -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendPoint:
    period: str
    score: float | None
    grade: str | None
    status: str


@dataclass(frozen=True)
class AppealState:
    id: int
    status: str
    created_at: datetime
    answer: str | None
    answered_at: datetime | None


@dataclass(frozen=True)
class MyScore:
    lang: str
    name: str
    period: str | None = None
    version: int | None = None
    published_at: datetime | None = None
    breakdown: Breakdown | None = None
    trend: tuple[TrendPoint, ...] = ()
    appeal: AppealState | None = None
    min_cell: int = 5
    # The reader's own latest published result: the one they may appeal (once).
    own: bool = False


async def my_score(uow: UnitOfWork, caller: Caller, min_cell: int = 5) -> MyScore:
    """``/myscore``: the cadre's latest published result and the trend over the published
    periods of the same kind (months with months, quarters with quarters).

    Raises:
        Refused: ``not_cadre``.
    """
    actor, lang = await acting_as(uow, caller, CADRE_ROLES, NOT_CADRE)
    return await _my_score(uow, actor, lang, min_cell)


async def latest_result_id(uow: UnitOfWork, caller: Caller) -> int | None:
    """The id of the cadre's latest published result (what the dashboard's home links to);
    None for someone who is no cadre or has none."""
    try:
        actor, _lang = await acting_as(uow, caller, CADRE_ROLES, NOT_CADRE)
    except Refused:
        return None
    published = await published_of(uow, actor)
    return published[-1][1].id if published else None


async def _my_score(uow: UnitOfWork, actor: Actor, lang: str, min_cell: int,
                    tree: UnitTree | None = None) -> MyScore:
    published = await published_of(uow, actor)
    if not published:
        return MyScore(lang, display_name(actor, lang), min_cell=min_cell)
    run, result = published[-1]
    kind = _kind_of(run.period)
    trend = tuple(
        TrendPoint(r.period, as_number(res.score) if res.status == GRADED else None, res.grade,
                   res.status)
        for r, res in published if _kind_of(r.period) == kind
    )[-TREND_PERIODS:]
    unit = await _unit(uow, result.unit_id, tree)
    appeal = next((a for a in await uow.appeals.of_person(actor.person_id)
                   if a.result_id == result.id), None)
    return MyScore(
        lang, display_name(actor, lang), run.period, run.version, run.published_at,
        Breakdown.read(result, min_cell, unit, lang), trend,
        _appeal_state(appeal) if appeal is not None else None, min_cell, own=True,
    )


NOT_FOUND = "not_found"


async def result_view(uow: UnitOfWork, caller: Caller, result_id: int, min_cell: int = 5,
                      published: PublishedRows | None = None) -> MyScore:
    """One published result in full (the dashboard's result page): a cadre's own, or any
    in the scope of an admin or auditor. The trend is the cadre's own, for their own.
    ``published`` keeps what is read between calls (the unit tree, the results).

    Raises:
        Refused: ``not_found`` for a result that is not published or not the caller's to see
            (the page answers 404 either way, so ids outside the scope reveal nothing).
    """
    actor, lang = await acting_as(uow, caller, (*CADRE_ROLES, *VIEW_ROLES), NOT_FOUND)
    kept = published if published is not None else PublishedRows(keep=0)
    snapshot = await kept.snapshot(uow)
    found = await kept.result(uow, snapshot, result_id)
    if found is None:
        raise Refused(NOT_FOUND, lang)
    run, result = found
    tree = snapshot.tree
    own = result.kind == CADRE and result.person_id == actor.person_id
    if not own:
        above = (tree.ancestors(result.unit_id)
                 if result.unit_id is not None and result.unit_id in tree.by_id else [])
        if not above or not actor.covers_any(above, VIEW_ROLES):
            raise Refused(NOT_FOUND, lang)
    if own:
        if not actor.has(CADRE_ROLES):
            raise Refused(NOT_FOUND, lang)  # as /myscore refuses someone no longer a cadre
        mine = await _my_score(uow, actor, lang, min_cell, tree)
        if mine.breakdown is not None and mine.breakdown.result_id == result_id:
            return mine
    unit = await _unit(uow, result.unit_id, tree)
    return MyScore(lang, display_name(actor, lang), run.period, run.version, run.published_at,
                   Breakdown.read(result, min_cell, unit, lang), min_cell=min_cell)


def _appeal_state(appeal: Appeal) -> AppealState:
    return AppealState(appeal.id, str(appeal.status), appeal.created_at, appeal.answer,
                       appeal.answered_at)


async def _unit(uow: UnitOfWork, unit_id: int | None, tree: UnitTree | None = None
                ) -> UnitLike | None:
    if unit_id is None:
        return None
    if tree is not None and unit_id in tree.by_id:
        return tree.by_id[unit_id]
    return await uow.session.get(Unit, unit_id)


# --- /results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultsTable:
    lang: str
    period: str
    version: int
    published_at: datetime | None
    scope: tuple[str, ...]  # unit codes the table covers (with their subtrees); () = all
    units: tuple[Ranked, ...]
    cadres: tuple[Ranked, ...]
    periods: tuple[str, ...]  # every published period, oldest first
    # "You said, we did": the residents' cases of the same units and period, as they stand.
    said: YouSaidWeDid | None = None
    # The scope's units by name, in the reader's language (the codes are ``scope``).
    scope_names: tuple[str, ...] = ()
    # The unit of each unit row that has units below it (result id -> unit id), to narrow
    # the table to them.
    unit_of: Mapping[int, int] = field(default_factory=dict)
    scope_ids: tuple[int, ...] = ()  # the units of ``scope``


def _ranked(result: AppraisalResult, unit: UnitLike | None, lang: str) -> Ranked:
    # Themes are not shown here.
    shown = Breakdown.read(result, min_cell=10**9, unit=unit, lang=lang)
    return Ranked(**{f.name: getattr(shown, f.name) for f in fields(Ranked)})


def _unit_in(tree: UnitTree, result: AppraisalResult) -> UnitLike | None:
    return tree.by_id.get(result.unit_id) if result.unit_id is not None else None


def _table_order(row: Ranked) -> tuple[Any, ...]:
    if row.graded and row.rank is not None:
        return (0, row.rank, row.unit_code, row.name)
    if row.graded:
        return (1, -(row.score or 0.0), row.unit_code, row.name)
    return (2, 0, row.unit_code, row.name)


def _find_unit(tree: UnitTree, code: str) -> UnitNode | None:
    found = tree.by_code.get(code)
    if found is not None:
        return found
    matches = [u for c, u in tree.by_code.items() if c.casefold() == code.casefold()]
    return matches[0] if len(matches) == 1 else None


def _scope(tree: UnitTree, actor: Actor, unit: UnitLike | None, lang: str
           ) -> tuple[set[int], tuple[str, ...]]:
    """The units whose results the actor sees (under ``unit``, which must be in their scope,
    or all of theirs), and the codes of the scope's tops (() for everywhere).

    Raises:
        Refused: ``out_of_scope``.
    """
    if unit is not None:
        if not actor.covers(tree, unit.id, VIEW_ROLES):
            raise Refused("out_of_scope", lang, {"unit": display_name(unit, lang)})
        return tree.subtree(unit.id), (unit.code,)
    scopes = actor.scopes(VIEW_ROLES)
    scope = () if None in scopes else tuple(
        tree.by_id[s].code for s in dict.fromkeys(scopes) if s is not None and s in tree.by_id)
    return actor.visible_units(tree, VIEW_ROLES), scope


@dataclass(frozen=True)
class Scope:
    """What an admin or auditor may see of the results: the units (ids) and the tops of
    their scope (codes; () for everywhere)."""

    lang: str
    units: frozenset[int]
    codes: tuple[str, ...]


async def results_scope(uow: UnitOfWork, caller: Caller, unit_id: int | None = None,
                        published: PublishedRows | None = None) -> Scope:
    """The units whose results the ranking shows the caller (under ``unit_id``, if given):
    what an export of the same results keeps to.

    Raises:
        Refused: ``not_staff``, ``unknown_unit``, ``out_of_scope``.
    """
    actor, lang = await acting_as(uow, caller, VIEW_ROLES, NOT_STAFF)
    kept = published if published is not None else PublishedRows(keep=0)
    tree = await kept.tree(uow)
    unit = None
    if unit_id is not None:
        unit = tree.by_id.get(unit_id)
        if unit is None:
            raise Refused("unknown_unit", lang, {"code": str(unit_id)})
    visible, codes = _scope(tree, actor, unit, lang)
    return Scope(lang, frozenset(visible), codes)


def _tops(tree: UnitTree, unit: UnitLike | None, scope: tuple[str, ...]) -> set[int]:
    """The units a scope's page starts from: the unit asked for, the scope's own, or the
    roots for everywhere."""
    if unit is not None:
        return {unit.id}
    if scope:
        return {tree.by_code[code].id for code in scope}
    return {u.id for u in tree.children.get(None, [])}


def _chosen(runs: Sequence[AppraisalRun], periods: tuple[str, ...], period_label: str | None,
            lang: str) -> AppraisalRun:
    """The published version of ``period_label``, or the latest period's.

    Raises:
        Refused: ``no_published``, ``bad_period``, ``no_published_period``.
    """
    if not runs:
        raise Refused("no_published", lang)
    if period_label is None:
        return runs[-1]
    try:
        label = parse_period(period_label).label
    except PeriodError as exc:
        raise Refused("bad_period", lang, {"period": period_label}) from exc
    chosen = [r for r in runs if r.period == label]
    if not chosen:
        raise Refused("no_published_period", lang,
                      {"period": label, "periods": ", ".join(periods[-6:])})
    return chosen[-1]


async def results_table(uow: UnitOfWork, caller: Caller, args: Sequence[str] = (),
                        min_cell: int = 5, unit_id: int | None = None,
                        published: PublishedRows | None = None,
                        with_said: bool = True, one_level: bool = False) -> ResultsTable:
    """``/results [UNIT] [PERIOD]``: the published ranking of the units in the caller's
    scope (or under UNIT, which must be in it), for PERIOD or the latest published period,
    the cadres of those units, and "You said, we did" for the same units and period (small
    cells under ``min_cell`` hidden). A lone argument that is no unit code but reads as a
    period is taken as the period.

    ``unit_id`` names the unit by id instead (the dashboard's address), before the period;
    ``published`` keeps what is read between calls; ``with_said=False`` leaves ``said`` None.
    ``one_level`` keeps the rows of the scope's units and the units right below them (the
    dashboard's page, which drills down a level at a time: a county's whole table is about
    4,000 rows, too many to read or send).

    Raises:
        Refused: ``not_staff``, ``usage``, ``unknown_unit``, ``out_of_scope``,
            ``bad_period``, ``no_published``, ``no_published_period``.
    """
    actor, lang = await acting_as(uow, caller, VIEW_ROLES, NOT_STAFF)
    kept = published if published is not None else PublishedRows(keep=0)
    snapshot = await kept.snapshot(uow)
    tree = snapshot.tree
    args = [a for a in args if a.strip()]
    if unit_id is not None:
        if unit_id not in tree.by_id:
            raise Refused("unknown_unit", lang, {"code": str(unit_id)})
        args = [tree.by_id[unit_id].code, *args[:1]]
    if len(args) > 2:
        raise Refused("usage_results", lang)
    unit_code = args[0] if args else None
    period_label = args[1] if len(args) > 1 else None
    if (unit_code is not None and period_label is None and _find_unit(tree, unit_code) is None
            and _period(unit_code) is not None):
        unit_code, period_label = None, unit_code
    unit = None
    if unit_code is not None:
        unit = _find_unit(tree, unit_code)
        if unit is None:
            raise Refused("unknown_unit", lang, {"code": unit_code})
    visible, scope = _scope(tree, actor, unit, lang)
    top_ids = _tops(tree, unit, scope) if one_level else set()
    shown = ({*top_ids, *(child.id for top in top_ids for child in tree.children.get(top, []))}
             if one_level else None)
    runs = sorted(snapshot.published, key=_order)
    periods = tuple(dict.fromkeys(r.period for r in runs))
    run = _chosen(runs, periods, period_label, lang)
    tops: list[Ranked] = []  # a level at a time: the scope's own units head the table
    units: list[Ranked] = []
    cadres: list[Ranked] = []
    unit_of: dict[int, int] = {}
    for found in await kept.rows(
            uow, run, lang, lambda result: _ranked(result, _unit_in(tree, result), lang),
            lambda found: (found.kind, _table_order(found.row)), units=shown):
        if found.unit_id is None or found.unit_id not in visible:
            continue
        row = found.row
        if found.kind != UNIT:
            cadres.append(row)
        elif shown is not None and found.unit_id in top_ids:
            tops.append(row)
        else:
            units.append(row)
        if found.kind == UNIT and tree.children.get(found.unit_id):
            unit_of[row.result_id] = found.unit_id
    said = (await you_said_we_did(uow, visible, parse_period(run.period), min_cell=min_cell)
            if with_said else None)
    scoped = [tree.by_code[code] for code in scope if code in tree.by_code]
    names = tuple(display_name(unit, lang) for unit in scoped)
    return ResultsTable(lang, run.period, run.version, run.published_at, scope,
                        (*tops, *units), tuple(cadres), periods, said, names, unit_of,
                        tuple(unit.id for unit in scoped))
