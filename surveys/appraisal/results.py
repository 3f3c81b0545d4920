"""Results in chat: what /myscore, /results and the appeal commands read and decide.

Only published runs are ever shown: a draft (computed, not yet published) or a superseded
version never reaches a chat. A cadre sees their own latest published result with its
breakdown and the trend over earlier periods; admins and auditors see the ranking of the
units in their scope. A cadre may contest their latest published result once (``/appeal``);
an admin or auditor whose scope covers the cadre's unit answers it, once: upheld or rejected,
with a text the cadre is sent.

Two short dialogues keep their state in ``admin_dialogues`` (one row per person, as notes and
new campaigns do), so a restart in the middle loses nothing: a cadre who sends /appeal without
a reason is asked for it (kind ``appeal``), and a reviewer who taps Uphold or Reject is asked
for the answer's text (kind ``appeal_answer``). Neither starts while another dialogue is in
progress (``surveys.people.busy``): the person is told which and how to finish it.

Pure use cases: no Telegram. Each runs in the caller's one transaction. Refusals are raised
as :class:`Refused` with a text key for the chat layer; the transaction then rolls back, so
nothing changes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from storage.ids import is_digits, parse_id, shown_id
from storage.models import (
    AdminDialogue,
    Appeal,
    AppealStatus,
    AppraisalResult,
    AppraisalRun,
    AppraisalStatus,
    Person,
    PersonRole,
    Role,
    Unit,
)
from surveys.appraisal.periods import Period, PeriodError, parse_period
from surveys.people import busy
from surveys.people.access import VIEW_ROLES, Actor, NotAllowed, UnitTree, acting
from surveys.respondents.responding import resolve_language
from surveys.text import clean_text

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

CADRE_ROLES = (Role.CADRE,)
CADRE, UNIT = "cadre", "unit"
GRADED = "graded"
REASON_KIND, ANSWER_KIND = "appeal", "appeal_answer"
KINDS = (REASON_KIND, ANSWER_KIND)
UPHOLD, REJECT = "uphold", "reject"
DECISIONS = {UPHOLD: AppealStatus.UPHELD, REJECT: AppealStatus.REJECTED}
REASON_MIN, REASON_MAX = 10, 1000
ANSWER_MIN, ANSWER_MAX = 2, 1000
TREND_PERIODS = 8
APPEALS_LISTED = 20
APPEALS_READ = 500
REVIEWERS_NOTIFIED = 10
REVIEWERS_NAMED = 3


# --- who is asking --------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultsCaller:
    """The Telegram account behind a command or a tap."""

    telegram_user_id: int
    now: datetime
    client_language: str | None = None
    default_language: str = "en"


class Refused(Exception):
    """Cannot be done; ``key`` names the text (``results.<key>``, or a shared ``busy.*``
    text), ``params`` fill it in."""

    def __init__(self, key: str, lang: str, params: Mapping[str, object] | None = None) -> None:
        super().__init__(key)
        self.key = key
        self.lang = lang
        self.params: dict[str, object] = dict(params or {})


async def _language(uow: UnitOfWork, caller: ResultsCaller) -> str:
    contact = await uow.contacts.by_user(caller.telegram_user_id)
    return resolve_language(contact, caller.client_language, caller.default_language)


async def _cadre(uow: UnitOfWork, caller: ResultsCaller) -> tuple[Actor, str]:
    lang = await _language(uow, caller)
    try:
        actor = await acting(uow, caller.telegram_user_id, CADRE_ROLES)
    except NotAllowed as exc:
        raise Refused("not_cadre", lang) from exc
    return actor, lang


async def require_reviewer(uow: UnitOfWork, caller: ResultsCaller) -> str:
    """Check the caller is an admin or auditor somewhere; returns their language.

    Raises:
        Refused: ``not_staff``.
    """
    _actor, lang = await _reviewer(uow, caller)
    return lang


async def _reviewer(uow: UnitOfWork, caller: ResultsCaller) -> tuple[Actor, str]:
    lang = await _language(uow, caller)
    try:
        actor = await acting(uow, caller.telegram_user_id, VIEW_ROLES)
    except NotAllowed as exc:
        raise Refused("not_staff", lang) from exc
    return actor, lang


# --- reading a stored result ----------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _int(value: Any, default: int = 0) -> int:
    number = _number(value)
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

    @classmethod
    def read(cls, data: Mapping[str, Any]) -> Component:
        interval = data.get("interval")
        low = high = None
        if isinstance(interval, list | tuple) and len(interval) == 2:
            low, high = _number(interval[0]), _number(interval[1])
        ident = str(data.get("id") or "?")
        return cls(id=ident, label=_text(data.get("label")) or ident,
                   source=str(data.get("source") or ""), weight=_number(data.get("weight")),
                   used_weight=_number(data.get("used_weight")), n=_int(data.get("n")),
                   score=_number(data.get("score")), low=low, high=high,
                   note=_text(data.get("note")))


@dataclass(frozen=True)
class Theme:
    topic: str
    count: int
    share: float | None


@dataclass(frozen=True)
class Breakdown:
    """A stored result as shown: the row's columns, with the detail's explanation.

    The row's columns (status, score, grade, rank, responses, recognition, exaggeration) are
    what was published; the detail adds the components and the rest. A theme is shown only
    when it was mentioned in at least ``min_cell`` comments and the result rests on at least
    ``min_cell`` responses, so no resident can be picked out of a small cell.
    """

    result_id: int
    kind: str
    name: str
    unit_id: int | None
    unit_code: str
    unit_name: str
    status: str
    score: float | None
    grade: str | None
    rank: int | None
    ranked: int | None
    responses: int
    min_responses: int | None
    components: tuple[Component, ...]
    excluded: dict[str, int]
    excluded_total: int
    others_view: float | None
    self_view: float | None
    exaggeration: bool
    recognition: bool
    training: tuple[dict[str, str], ...]
    themes: tuple[Theme, ...]
    themes_note: str | None  # as stored: why the computation left themes out, if it did
    themes_hidden: bool  # some themes (or all) are not shown
    explanation: str | None

    @property
    def graded(self) -> bool:
        return self.status == GRADED and self.score is not None

    @classmethod
    def read(cls, result: AppraisalResult, min_cell: int, unit: Unit | None = None
             ) -> Breakdown:
        detail: Mapping[str, Any] = result.detail if isinstance(result.detail, dict) else {}
        components = tuple(Component.read(c) for c in detail.get("components") or []
                           if isinstance(c, dict))
        excluded = {str(k): _int(v) for k, v in (detail.get("excluded") or {}).items()
                    if _int(v) > 0} if isinstance(detail.get("excluded"), dict) else {}
        training = tuple({k: str(v) for k, v in item.items()}
                         for item in detail.get("training") or [] if isinstance(item, dict))
        note = _text(detail.get("themes_note"))
        stored = [Theme(str(t.get("topic")), _int(t.get("count")), _number(t.get("share")))
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
            name=_text(detail.get("name")) or (unit.name if unit is not None else "?"),
            unit_id=result.unit_id,
            unit_code=_text(detail.get("unit_code")) or (unit.code if unit else "?"),
            unit_name=_text(detail.get("unit_name")) or (unit.name if unit else "?"),
            status=result.status, score=_number(result.score), grade=result.grade,
            rank=result.rank, ranked=_int(ranked) if _number(ranked) is not None else None,
            responses=result.responses,
            min_responses=(_int(detail.get("min_responses"))
                           if _number(detail.get("min_responses")) is not None else None),
            components=components, excluded=excluded,
            excluded_total=_int(detail.get("excluded_total"), sum(excluded.values())),
            others_view=_number(detail.get("others_view")),
            self_view=_number(detail.get("self_view")),
            exaggeration=bool(result.exaggeration), recognition=bool(result.recognition),
            training=training, themes=themes, themes_note=note, themes_hidden=hidden,
            explanation=_text(detail.get("explanation")),
        )


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


async def _published_of(uow: UnitOfWork, actor: Actor
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


async def my_score(uow: UnitOfWork, caller: ResultsCaller, min_cell: int = 5) -> MyScore:
    """``/myscore``: the cadre's latest published result and the trend over the published
    periods of the same kind (months with months, quarters with quarters).

    Raises:
        Refused: ``not_cadre``.
    """
    actor, lang = await _cadre(uow, caller)
    published = await _published_of(uow, actor)
    if not published:
        return MyScore(lang, actor.name, min_cell=min_cell)
    run, result = published[-1]
    kind = _kind_of(run.period)
    trend = tuple(
        TrendPoint(r.period, _number(res.score) if res.status == GRADED else None, res.grade,
                   res.status)
        for r, res in published if _kind_of(r.period) == kind
    )[-TREND_PERIODS:]
    unit = await _unit(uow, result.unit_id)
    appeal = next((a for a in await uow.appeals.of_person(actor.person_id)
                   if a.result_id == result.id), None)
    return MyScore(
        lang, actor.name, run.period, run.version, run.published_at,
        Breakdown.read(result, min_cell, unit), trend,
        _appeal_state(appeal) if appeal is not None else None, min_cell,
    )


def _appeal_state(appeal: Appeal) -> AppealState:
    return AppealState(appeal.id, str(appeal.status), appeal.created_at, appeal.answer,
                       appeal.answered_at)


async def _unit(uow: UnitOfWork, unit_id: int | None) -> Unit | None:
    return await uow.session.get(Unit, unit_id) if unit_id is not None else None


# --- /results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ranked:
    """One unit's or cadre's line in the table."""

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
    low: float | None = None
    high: float | None = None

    @property
    def graded(self) -> bool:
        return self.status == GRADED and self.score is not None


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


def _ranked(result: AppraisalResult, unit: Unit | None) -> Ranked:
    shown = Breakdown.read(result, min_cell=10**9, unit=unit)  # themes are not shown here
    return Ranked(result.id, result.kind, shown.name, shown.unit_code, shown.unit_name,
                  shown.status, shown.score, shown.grade, shown.rank, shown.ranked,
                  shown.responses, shown.min_responses, shown.recognition)


def _table_order(row: Ranked) -> tuple[Any, ...]:
    if row.graded and row.rank is not None:
        return (0, row.rank, row.unit_code, row.name)
    if row.graded:
        return (1, -(row.score or 0.0), row.unit_code, row.name)
    return (2, 0, row.unit_code, row.name)


def _find_unit(tree: UnitTree, code: str) -> Unit | None:
    found = tree.by_code.get(code)
    if found is not None:
        return found
    matches = [u for c, u in tree.by_code.items() if c.casefold() == code.casefold()]
    return matches[0] if len(matches) == 1 else None


async def results_table(uow: UnitOfWork, caller: ResultsCaller, args: Sequence[str] = ()
                        ) -> ResultsTable:
    """``/results [UNIT] [PERIOD]``: the published ranking of the units in the caller's
    scope (or under UNIT, which must be in it), for PERIOD or the latest published period,
    and the cadres of those units. A lone argument that is no unit code but reads as a
    period is taken as the period.

    Raises:
        Refused: ``not_staff``, ``usage``, ``unknown_unit``, ``out_of_scope``,
            ``bad_period``, ``no_published``, ``no_published_period``.
    """
    actor, lang = await _reviewer(uow, caller)
    tree = await UnitTree.load(uow)
    args = [a for a in args if a.strip()]
    if len(args) > 2:
        raise Refused("usage_results", lang)
    unit_code = args[0] if args else None
    period_label = args[1] if len(args) > 1 else None
    if (unit_code is not None and period_label is None and _find_unit(tree, unit_code) is None
            and _period(unit_code) is not None):
        unit_code, period_label = None, unit_code
    if unit_code is not None:
        unit = _find_unit(tree, unit_code)
        if unit is None:
            raise Refused("unknown_unit", lang, {"code": unit_code})
        if not actor.covers(tree, unit.id, VIEW_ROLES):
            raise Refused("out_of_scope", lang, {"code": unit.code})
        visible = tree.subtree(unit.id)
        scope: tuple[str, ...] = (unit.code,)
    else:
        visible = actor.visible_units(tree, VIEW_ROLES)
        scopes = actor.scopes(VIEW_ROLES)
        scope = () if None in scopes else tuple(
            tree.by_id[s].code for s in dict.fromkeys(scopes) if s is not None and s in tree.by_id)
    runs = sorted(await uow.appraisal.published(), key=_order)
    if not runs:
        raise Refused("no_published", lang)
    periods = tuple(dict.fromkeys(r.period for r in runs))
    if period_label is not None:
        try:
            label = parse_period(period_label).label
        except PeriodError as exc:
            raise Refused("bad_period", lang, {"period": period_label}) from exc
        chosen = [r for r in runs if r.period == label]
        if not chosen:
            raise Refused("no_published_period", lang,
                          {"period": label, "periods": ", ".join(periods[-6:])})
        run = chosen[-1]
    else:
        run = runs[-1]
    units: list[Ranked] = []
    cadres: list[Ranked] = []
    for result in await uow.appraisal.results(run.id):
        if result.unit_id is None or result.unit_id not in visible:
            continue
        row = _ranked(result, tree.by_id.get(result.unit_id))
        (units if result.kind == UNIT else cadres).append(row)
    return ResultsTable(lang, run.period, run.version, run.published_at, scope,
                        tuple(sorted(units, key=_table_order)),
                        tuple(sorted(cadres, key=_table_order)), periods)


# --- /appeal --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """Someone to tell after the commit: their chat and language."""

    chat_id: int
    lang: str


@dataclass(frozen=True)
class AppealFiled:
    lang: str
    appeal_id: int
    cadre: str
    unit_code: str
    unit_name: str
    period: str
    version: int
    score: float | None
    grade: str | None
    status: str
    reason: str
    reviewers: tuple[str, ...]
    reviewer_count: int
    notify: tuple[Recipient, ...]


@dataclass(frozen=True)
class ReasonAsked:
    lang: str
    period: str
    score: float | None
    grade: str | None
    status: str


async def _dialogue(uow: UnitOfWork, person_id: int) -> AdminDialogue | None:
    """The person's dialogue, after locking the person (two messages at once take turns)."""
    await uow.session.get(Person, person_id, with_for_update=True)
    return await uow.session.get(AdminDialogue, person_id, with_for_update=True,
                                 populate_existing=True)


def _not_busy(actor: Actor, dialogue: AdminDialogue | None, lang: str, command: str) -> None:
    blocked = busy.in_the_way(actor, dialogue, KINDS, command)
    if blocked is not None:
        raise Refused(blocked.key, lang, blocked.params)


async def _latest(uow: UnitOfWork, actor: Actor, lang: str
                  ) -> tuple[AppraisalRun, AppraisalResult]:
    published = await _published_of(uow, actor)
    if not published:
        raise Refused("appeal_no_result", lang)
    return published[-1]


async def _existing(uow: UnitOfWork, actor: Actor, result_id: int) -> Appeal | None:
    return next((a for a in await uow.appeals.of_person(actor.person_id)
                 if a.result_id == result_id), None)


def _already(appeal: Appeal, lang: str) -> Refused:
    return Refused("appeal_already", lang, {"id": appeal.id, "status": str(appeal.status),
                                            "date": appeal.created_at})


async def ask_reason(uow: UnitOfWork, caller: ResultsCaller) -> ReasonAsked:
    """``/appeal`` without a reason: check there is a result to contest, then wait for the
    reason as the cadre's next message.

    Raises:
        Refused: ``not_cadre``, ``appeal_no_result``, ``appeal_already``, ``busy.*``.
    """
    actor, lang = await _cadre(uow, caller)
    dialogue = await _dialogue(uow, actor.person_id)
    _not_busy(actor, dialogue, lang, "/appeal")
    run, result = await _latest(uow, actor, lang)
    existing = await _existing(uow, actor, result.id)
    if existing is not None:
        raise _already(existing, lang)
    await uow.dialogues.start(actor.person_id, REASON_KIND, "reason",
                              {"result_id": result.id}, caller.now)
    return ReasonAsked(lang, run.period, _number(result.score), result.grade, result.status)


async def file_appeal(uow: UnitOfWork, caller: ResultsCaller, reason: str) -> AppealFiled:
    """Contest the cadre's latest published result with ``reason`` (10 to 1,000 characters,
    counted once cleaned by the rule for typed text, :mod:`surveys.text`).

    One appeal per result; the filing is audited (``appeal.file``). Ends the cadre's
    ``appeal`` dialogue, if any. Returns who will answer and whom to tell.

    Raises:
        Refused: ``not_cadre``, ``appeal_no_result``, ``appeal_already``,
            ``appeal_invisible`` (only invisible or control characters), ``appeal_short``,
            ``appeal_long``.
    """
    actor, lang = await _cadre(uow, caller)
    dialogue = await _dialogue(uow, actor.person_id)
    run, result = await _latest(uow, actor, lang)
    existing = await _existing(uow, actor, result.id)
    if existing is not None:
        raise _already(existing, lang)
    text = clean_text(reason)
    if not text and reason.strip():
        raise Refused("appeal_invisible", lang, {"min": REASON_MIN, "max": REASON_MAX})
    if len(text) < REASON_MIN:
        raise Refused("appeal_short", lang, {"min": REASON_MIN, "max": REASON_MAX,
                                             "length": len(text)})
    if len(text) > REASON_MAX:
        raise Refused("appeal_long", lang, {"min": REASON_MIN, "max": REASON_MAX,
                                            "length": len(text)})
    appeal = await uow.appeals.create(result.id, actor.person_id, text, caller.now)
    if appeal is None:
        existing = await _existing(uow, actor, result.id)
        assert existing is not None
        raise _already(existing, lang)
    if dialogue is not None and dialogue.kind == REASON_KIND:
        await uow.dialogues.end(actor.person_id)
    await uow.audit.record(actor.label, "appeal.file", "appeal", appeal.id, after={
        "result_id": result.id, "run_id": run.id, "period": run.period,
        "version": run.version, "person_id": actor.person_id, "reason": text,
        "status": str(AppealStatus.OPEN),
    })
    shown = Breakdown.read(result, min_cell=10**9)
    reviewers = await _reviewers(uow, result.unit_id, exclude=actor.person_id)
    notify: list[Recipient] = []
    for person in reviewers[:REVIEWERS_NOTIFIED]:
        recipient = await _recipient(uow, person, caller.default_language)
        if recipient is not None:
            notify.append(recipient)
    return AppealFiled(
        lang, appeal.id, actor.name, shown.unit_code, shown.unit_name, run.period,
        run.version, shown.score, shown.grade, shown.status, text,
        tuple(p.name for p in reviewers[:REVIEWERS_NAMED]), len(reviewers), tuple(notify),
    )


async def _reviewers(uow: UnitOfWork, unit_id: int | None, exclude: int) -> list[Person]:
    """Admins and auditors whose scope covers the unit (everywhere-scoped ones for none),
    narrowest scope first, then by name."""
    people = (await uow.session.scalars(
        select(Person).where(Person.id.in_(
            select(PersonRole.person_id).where(PersonRole.role.in_(VIEW_ROLES))))
        .options(selectinload(Person.roles)).order_by(Person.name, Person.id))).all()
    tree = await UnitTree.load(uow)
    found: list[tuple[int, Person]] = []
    for person in people:
        if person.id == exclude:
            continue
        actor = Actor.of(person)
        if unit_id is None or unit_id not in tree.by_id:
            if None in actor.scopes(VIEW_ROLES):
                found.append((10**6, person))
            continue
        if actor.covers(tree, unit_id, VIEW_ROLES):
            above = tree.ancestors(unit_id)
            depth = min((above.index(s) if s in above else 10**6)
                        for s in actor.scopes(VIEW_ROLES))
            found.append((depth, person))
    found.sort(key=lambda item: item[0])
    return [person for _depth, person in found]


async def _recipient(uow: UnitOfWork, person: Person, default_language: str
                     ) -> Recipient | None:
    if person.contact_id is None:
        return None
    contact = await uow.contacts.get(person.contact_id)
    if contact is None or contact.unreachable:
        return None
    return Recipient(contact.chat_id, resolve_language(contact, None, default_language))


# --- /appeals and answers -------------------------------------------------------------------


@dataclass(frozen=True)
class AppealItem:
    id: int
    cadre: str
    person_id: int
    unit_code: str
    unit_name: str
    period: str
    version: int
    score: float | None
    grade: str | None
    result_status: str
    reason: str
    status: str
    created_at: datetime
    own: bool  # the caller's own appeal: they may not answer it


@dataclass(frozen=True)
class AppealList:
    lang: str
    items: tuple[AppealItem, ...]
    total: int  # open appeals in scope; ``items`` holds at most APPEALS_LISTED


def _item(appeal: Appeal, result: AppraisalResult, run: AppraisalRun, name: str,
          tree: UnitTree, actor: Actor) -> AppealItem:
    unit = tree.by_id.get(result.unit_id) if result.unit_id is not None else None
    shown = Breakdown.read(result, min_cell=10**9, unit=unit)
    return AppealItem(appeal.id, name, appeal.person_id, shown.unit_code, shown.unit_name,
                      run.period, run.version, shown.score, shown.grade, shown.status,
                      appeal.reason, str(appeal.status), appeal.created_at,
                      appeal.person_id == actor.person_id)


def _in_scope(actor: Actor, tree: UnitTree, result: AppraisalResult) -> bool:
    if result.unit_id is None or result.unit_id not in tree.by_id:
        return None in actor.scopes(VIEW_ROLES)
    return actor.covers(tree, result.unit_id, VIEW_ROLES)


async def list_appeals(uow: UnitOfWork, caller: ResultsCaller) -> AppealList:
    """``/appeals``: the open appeals of results for units in the caller's scope, oldest
    first (the longest waiting on top).

    Raises:
        Refused: ``not_staff``.
    """
    actor, lang = await _reviewer(uow, caller)
    tree = await UnitTree.load(uow)
    rows = await uow.appeals.listed(AppealStatus.OPEN, limit=APPEALS_READ)
    items = [_item(appeal, result, run, name, tree, actor)
             for appeal, result, run, name in rows if _in_scope(actor, tree, result)]
    items.sort(key=lambda item: (item.created_at, item.id))
    return AppealList(lang, tuple(items[:APPEALS_LISTED]), len(items))


@dataclass(frozen=True)
class AnswerAsked:
    lang: str
    item: AppealItem
    decision: str


@dataclass(frozen=True)
class Answered:
    lang: str
    item: AppealItem
    decision: str
    answer: str
    reviewer: str
    cadre: Recipient | None


async def _answerable(uow: UnitOfWork, actor: Actor, lang: str, appeal_id: int,
                      lock: bool = False) -> tuple[Appeal, AppealItem]:
    """The appeal, if the caller may answer it now.

    Raises:
        Refused: ``appeal_unknown`` (no such appeal, or one outside the caller's scope: the
            caller learns nothing of it), ``appeal_own``, ``appeal_answered``.
    """
    known = parse_id(appeal_id)
    appeal = await uow.appeals.get(known, lock=lock) if known is not None else None
    found = await uow.appraisal.result(appeal.result_id) if appeal is not None else None
    tree = await UnitTree.load(uow)
    if appeal is None or found is None or not _in_scope(actor, tree, found[1]):
        raise Refused("appeal_unknown", lang, {"id": shown_id(appeal_id)})
    run, result = found
    person = await uow.cadres.get(appeal.person_id)
    item = _item(appeal, result, run, person.name if person is not None else "?", tree, actor)
    if item.own:
        raise Refused("appeal_own", lang, {"id": appeal_id})
    if appeal.status != AppealStatus.OPEN:
        raise Refused("appeal_answered", lang, {"id": appeal_id, "status": str(appeal.status)})
    return appeal, item


async def ask_answer(uow: UnitOfWork, caller: ResultsCaller, appeal_id: int,
                     decision: str) -> AnswerAsked:
    """A tap on Uphold or Reject: check the appeal can be answered, then wait for the
    answer's text as the caller's next message.

    Raises:
        Refused: ``not_staff``, ``forged``, those of :func:`_answerable`, ``busy.*``.
    """
    actor, lang = await _reviewer(uow, caller)
    if decision not in DECISIONS:
        raise Refused("forged", lang)
    dialogue = await _dialogue(uow, actor.person_id)
    _not_busy(actor, dialogue, lang, "/appeals")
    _appeal, item = await _answerable(uow, actor, lang, appeal_id)
    await uow.dialogues.start(actor.person_id, ANSWER_KIND, "answer",
                              {"appeal_id": appeal_id, "decision": decision}, caller.now)
    return AnswerAsked(lang, item, decision)


async def answer_appeal(uow: UnitOfWork, caller: ResultsCaller, appeal_id: int,
                        decision: str, text: str) -> Answered:
    """Record the answer (compare-and-set from open, so two reviewers cannot both answer),
    audited as ``appeal.answer`` with before and after. Ends the caller's dialogue if it
    was waiting for this answer.

    Raises:
        Refused: ``not_staff``, ``forged``, ``answer_invisible``, ``answer_short``,
            ``answer_long``, those of
            :func:`_answerable`.
    """
    actor, lang = await _reviewer(uow, caller)
    if decision not in DECISIONS:
        raise Refused("forged", lang)
    dialogue = await _dialogue(uow, actor.person_id)
    answer = clean_text(text)
    appeal, item = await _answerable(uow, actor, lang, appeal_id, lock=True)
    if not answer and text.strip():
        raise Refused("answer_invisible", lang, {"min": ANSWER_MIN, "id": appeal_id})
    if len(answer) < ANSWER_MIN:
        raise Refused("answer_short", lang, {"min": ANSWER_MIN, "id": appeal_id})
    if len(answer) > ANSWER_MAX:
        raise Refused("answer_long", lang, {"max": ANSWER_MAX, "length": len(answer),
                                            "id": appeal_id})
    status = DECISIONS[decision]
    if not await uow.appeals.answer(appeal, status, answer, actor.person_id, caller.now):
        # Someone else answered between the read and the write.
        raise Refused("appeal_answered", lang, {"id": appeal_id, "status": "answered"})
    if (dialogue is not None and dialogue.kind == ANSWER_KIND
            and dialogue.data.get("appeal_id") == appeal_id):
        await uow.dialogues.end(actor.person_id)
    await uow.audit.record(
        actor.label, "appeal.answer", "appeal", appeal_id,
        before={"status": str(AppealStatus.OPEN), "answer": None, "answered_by": None},
        after={"status": str(status), "answer": answer, "answered_by": actor.person_id},
    )
    cadre = await uow.cadres.get(appeal.person_id)
    recipient = (await _recipient(uow, cadre, caller.default_language)
                 if cadre is not None else None)
    return Answered(lang, item, decision, answer, actor.name, recipient)


async def answer_from_dialogue(uow: UnitOfWork, caller: ResultsCaller, text: str) -> Answered:
    """The text a reviewer typed after tapping Uphold or Reject.

    Raises:
        Refused: ``no_dialogue`` (nothing is waiting for it), those of
            :func:`answer_appeal`.
    """
    actor, lang = await _reviewer(uow, caller)
    dialogue = await uow.dialogues.get(actor.person_id)
    if dialogue is None or dialogue.kind != ANSWER_KIND:
        raise Refused("no_dialogue", lang)
    data = dialogue.data
    return await answer_appeal(uow, caller, _int(data.get("appeal_id")),
                               str(data.get("decision")), text)


def parse_answer(args: Sequence[str]) -> tuple[int, str, str] | None:
    """``/answer ID uphold|reject TEXT`` as (appeal id, decision, text); None if malformed.
    The text is what follows the decision, joined as typed by the caller."""
    # Any number is read as an appeal id: one that cannot exist is "no such appeal" too.
    if len(args) < 2 or not is_digits(args[0].lstrip("#")):
        return None
    decision = args[1].casefold()
    if decision not in DECISIONS:
        return None
    return int(args[0].lstrip("#")), decision, " ".join(args[2:])


# --- the dialogues --------------------------------------------------------------------------


async def presence(uow: UnitOfWork, telegram_user_id: int) -> str | None:
    """The kind of results dialogue the account is in (``appeal`` or ``appeal_answer``),
    or None; a cheap read that claims nothing."""
    person = await uow.people.by_user(telegram_user_id)
    if person is None:
        return None
    dialogue = await uow.dialogues.get(person.id)
    if dialogue is None or dialogue.kind not in KINDS:
        return None
    needed = CADRE_ROLES if dialogue.kind == REASON_KIND else VIEW_ROLES
    return dialogue.kind if Actor.of(person).has(needed) else None


@dataclass(frozen=True)
class Cancelled:
    lang: str
    kind: str | None  # the dialogue dropped; None when there was none
    appeal_id: int | None = None  # the appeal an answer was being written for


async def cancel(uow: UnitOfWork, caller: ResultsCaller) -> Cancelled:
    """``/cancel`` in a results dialogue: drop it (the appeal, if any, stays open)."""
    lang = await _language(uow, caller)
    person = await uow.people.by_user(caller.telegram_user_id)
    if person is None:
        return Cancelled(lang, None)
    dialogue = await _dialogue(uow, person.id)
    if dialogue is None or dialogue.kind not in KINDS:
        return Cancelled(lang, None)
    await uow.dialogues.end(person.id)
    appeal_id = dialogue.data.get("appeal_id") if dialogue.kind == ANSWER_KIND else None
    return Cancelled(lang, dialogue.kind, appeal_id if isinstance(appeal_id, int) else None)
