"""Appeals: a cadre contests a published result, and an admin or auditor answers it.

A cadre may contest their latest published result once (``/appeal``); an admin or auditor
whose scope covers the cadre's unit answers it, once: upheld or rejected, with a text the
cadre is sent. Both are audited.

Two short dialogues keep their state in ``admin_dialogues`` (one row per person, as notes and
new campaigns do), so a restart in the middle loses nothing: a cadre who sends /appeal without
a reason is asked for it (kind ``appeal``), and a reviewer who taps Uphold or Reject is asked
for the answer's text (kind ``appeal_answer``). Neither starts while another dialogue is in
progress (``surveys.people.busy``): the person is told which and how to finish it.

Pure use cases: no Telegram. Refusals are raised as :class:`~surveys.people.caller.Refused`
with a text key for the chat layer (``results.<key>``, or a shared ``busy.*`` text); the
transaction then rolls back, so nothing changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from storage.appraisal import AppealLine
from storage.ids import is_digits, parse_id, shown_id
from storage.models import (
    AdminDialogue,
    Appeal,
    AppealStatus,
    AppraisalResult,
    AppraisalRun,
    Person,
    PersonRole,
)
from surveys.appraisal.published_rows import PublishedRows
from surveys.appraisal.results import (
    NOT_CADRE,
    NOT_STAFF,
    Breakdown,
    as_int,
    as_number,
    published_of,
    unit_names,
)
from surveys.kept import UntilAudit
from surveys.paging import PAGE_SIZE, Paging
from surveys.people import busy
from surveys.people.access import CADRE_ROLES, VIEW_ROLES, Actor, UnitTree
from surveys.people.caller import (
    Caller,
    Refused,
    acting_as,
    language,
    require,
    resolve_language,
)
from surveys.people.names import Names, display_name
from surveys.text import clean_text

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

REASON_KIND, ANSWER_KIND = busy.APPEAL, busy.APPEAL_ANSWER
KINDS = (REASON_KIND, ANSWER_KIND)
UPHOLD, REJECT = "uphold", "reject"
DECISIONS = {UPHOLD: AppealStatus.UPHELD, REJECT: AppealStatus.REJECTED}
REASON_MIN, REASON_MAX = 10, 1000
ANSWER_MIN, ANSWER_MAX = 2, 1000
APPEALS_LISTED = 20
APPEALS_READ = 500
APPEALS_PAGE = PAGE_SIZE
REVIEWERS_NOTIFIED = 10
REVIEWERS_NAMED = 3


async def require_reviewer(uow: UnitOfWork, caller: Caller) -> str:
    """Check the caller is an admin or auditor somewhere; returns their language.

    Raises:
        Refused: ``not_staff``.
    """
    return await require(uow, caller, VIEW_ROLES, NOT_STAFF)


@dataclass(frozen=True)
class Recipient:
    """Someone to tell after the commit: their chat and language."""

    chat_id: int
    lang: str


@dataclass(frozen=True)
class Appealed:
    """The appealed result as its reader sees it."""

    unit_code: str
    unit_name: str  # in the reader's language
    period: str
    version: int
    score: float | None
    grade: str | None
    # Both names of the unit, for those told in another language (the reviewers).
    unit: Names


@dataclass(frozen=True)
class AppealFiled:
    lang: str
    appeal_id: int
    cadre: Names  # each reviewer told reads it in their own language
    result: Appealed
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


def _not_busy(actor: Actor, dialogue: AdminDialogue | None, lang: str, command: str) -> None:
    blocked = busy.in_the_way(actor, dialogue, KINDS, command)
    if blocked is not None:
        raise Refused(blocked.key, lang, blocked.params)


async def _latest(uow: UnitOfWork, actor: Actor, lang: str
                  ) -> tuple[AppraisalRun, AppraisalResult]:
    published = await published_of(uow, actor)
    if not published:
        raise Refused("appeal_no_result", lang)
    return published[-1]


async def _existing(uow: UnitOfWork, actor: Actor, result_id: int) -> Appeal | None:
    return next((a for a in await uow.appeals.of_person(actor.person_id)
                 if a.result_id == result_id), None)


def _already(appeal: Appeal, lang: str) -> Refused:
    return Refused("appeal_already", lang, {"id": appeal.id, "status": str(appeal.status),
                                            "date": appeal.created_at})


async def ask_reason(uow: UnitOfWork, caller: Caller) -> ReasonAsked:
    """``/appeal`` without a reason: check there is a result to contest, then wait for the
    reason as the cadre's next message.

    Raises:
        Refused: ``not_cadre``, ``appeal_no_result``, ``appeal_already``, ``busy.*``.
    """
    actor, lang = await acting_as(uow, caller, CADRE_ROLES, NOT_CADRE)
    dialogue = await busy.locked(uow, actor.person_id, person_first=True)
    _not_busy(actor, dialogue, lang, "/appeal")
    run, result = await _latest(uow, actor, lang)
    existing = await _existing(uow, actor, result.id)
    if existing is not None:
        raise _already(existing, lang)
    await uow.dialogues.start(actor.person_id, REASON_KIND, "reason",
                              {"result_id": result.id}, caller.now)
    return ReasonAsked(lang, run.period, as_number(result.score), result.grade, result.status)


async def file_appeal(uow: UnitOfWork, caller: Caller, reason: str,
                      result_id: int | None = None) -> AppealFiled:
    """Contest the cadre's latest published result with ``reason`` (10 to 1,000 characters,
    counted once cleaned by the rule for typed text, :mod:`surveys.text`).

    One appeal per result; the filing is audited (``appeal.file``). Ends the cadre's
    ``appeal`` dialogue, if any. Returns who will answer and whom to tell.

    ``result_id`` is the result the cadre was looking at (the dashboard's form): filed only
    if it is still their latest, so a page left open over a publication contests nothing
    they have not seen.

    Raises:
        Refused: ``not_cadre``, ``appeal_no_result``, ``appeal_not_latest``,
            ``appeal_already``, ``appeal_invisible`` (only invisible or control characters),
            ``appeal_short``, ``appeal_long``.
    """
    actor, lang = await acting_as(uow, caller, CADRE_ROLES, NOT_CADRE)
    dialogue = await busy.locked(uow, actor.person_id, person_first=True)
    run, result = await _latest(uow, actor, lang)
    if result_id is not None and result.id != result_id:
        raise Refused("appeal_not_latest", lang, {"period": run.period})
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
    shown = Breakdown.read(result, min_cell=10**9, lang=lang)
    reviewers = await _reviewers(uow, result.unit_id, exclude=actor.person_id)
    notify: list[Recipient] = []
    for person in reviewers[:REVIEWERS_NOTIFIED]:
        recipient = await _recipient(uow, person, caller.default_language)
        if recipient is not None:
            notify.append(recipient)
    return AppealFiled(
        lang, appeal.id, Names.of(actor), _appealed(shown, run, unit_names(result)), shown.status,
        text,
        tuple(display_name(p, lang) for p in reviewers[:REVIEWERS_NAMED]), len(reviewers),
        tuple(notify),
    )


def _appealed(shown: Breakdown, run: AppraisalRun, unit: Names) -> Appealed:
    return Appealed(shown.unit_code, shown.unit_name, run.period, run.version, shown.score,
                    shown.grade, unit)


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
    result: Appealed
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


def _item(appeal: Appeal, result: AppraisalResult, run: AppraisalRun, cadre: Person | None,
          tree: UnitTree, actor: Actor, lang: str) -> AppealItem:
    unit = tree.by_id.get(result.unit_id) if result.unit_id is not None else None
    shown = Breakdown.read(result, min_cell=10**9, unit=unit, lang=lang)
    name = display_name(cadre, lang) if cadre is not None else "?"
    appealed = _appealed(shown, run, unit_names(result, unit))
    return AppealItem(appeal.id, name, appeal.person_id, appealed, shown.status, appeal.reason,
                      str(appeal.status), appeal.created_at, appeal.person_id == actor.person_id)


def _in_scope(actor: Actor, tree: UnitTree, result: AppraisalResult) -> bool:
    if result.unit_id is None or result.unit_id not in tree.by_id:
        return None in actor.scopes(VIEW_ROLES)
    return actor.covers(tree, result.unit_id, VIEW_ROLES)


async def list_appeals(uow: UnitOfWork, caller: Caller) -> AppealList:
    """``/appeals``: the open appeals of results for units in the caller's scope, oldest
    first (the longest waiting on top).

    Raises:
        Refused: ``not_staff``.
    """
    actor, lang = await acting_as(uow, caller, VIEW_ROLES, NOT_STAFF)
    tree = await UnitTree.load(uow)
    rows = await uow.appeals.listed(AppealStatus.OPEN, limit=APPEALS_READ)
    items = [_item(appeal, result, run, cadre, tree, actor, lang)
             for appeal, result, run, cadre in rows if _in_scope(actor, tree, result)]
    items.sort(key=lambda item: (item.created_at, item.id))
    return AppealList(lang, tuple(items[:APPEALS_LISTED]), len(items))


@dataclass(frozen=True)
class AppealRecord:
    """An appeal and its answer (if answered), for the dashboard's auditors' page."""

    item: AppealItem
    answer: str | None
    answered_by: str | None  # the reviewer's name
    answered_at: datetime | None


@dataclass(frozen=True)
class AppealHistory:
    lang: str
    records: tuple[AppealRecord, ...]  # the page's
    paging: Paging  # its total: every appeal in scope


UnitOfResult = tuple[str | None, str | None, str | None]


class KeptUnitNames(UntilAudit[int, UnitOfResult]):
    """The unit's code and names each result recorded, by result id: a result never
    changes, so what was read of it stays true (its explanation need not be read again)."""

    def __init__(self, keep: int = 20_000) -> None:
        super().__init__(keep)


async def appeal_history(uow: UnitOfWork, caller: Caller, page: int = 1,
                         published: PublishedRows | None = None,
                         kept: KeptUnitNames | None = None) -> AppealHistory:
    """The appeals of results in the caller's scope (open or answered), newest first, with
    their answers, a page at a time: what the dashboard's appeals page lists. ``published``
    keeps the unit tree between calls, ``kept`` the units the results recorded (the
    dashboard's).

    Raises:
        Refused: ``not_staff``.
    """
    actor, lang = await acting_as(uow, caller, VIEW_ROLES, NOT_STAFF)
    tree = await published.tree(uow) if published is not None else await UnitTree.load(uow)
    # A result of no unit (or of one since gone) is for those scoped everywhere only.
    units = None if None in actor.scopes(VIEW_ROLES) else actor.visible_units(tree, VIEW_ROLES)
    paging = Paging.of(page, APPEALS_PAGE, await uow.appeals.counted(units))
    lines = (await uow.appeals.page(units, paging.offset, paging.size)
             if paging.total else [])
    recorded = await _recorded_units(uow, [line.result_id for line in lines], kept)
    records = tuple(AppealRecord(_line_item(line, recorded[line.result_id], tree, actor, lang),
                                 line.answer, _name(line.reviewer, line.reviewer_zh, lang),
                                 line.answered_at) for line in lines)
    return AppealHistory(lang, records, paging)


async def _recorded_units(uow: UnitOfWork, result_ids: list[int],
                          kept: KeptUnitNames | None) -> dict[int, UnitOfResult]:
    found: dict[int, UnitOfResult] = {}
    for result_id in result_ids:
        known = kept.peek(result_id, None) if kept is not None else None
        if known is not None:
            found[result_id] = known
    read = await uow.appeals.unit_names([i for i in result_ids if i not in found])
    for result_id, names_of in read.items():
        found[result_id] = names_of
        if kept is not None:
            kept.put(result_id, None, names_of)
    return {i: found.get(i, (None, None, None)) for i in result_ids}


def _name(name: str | None, name_zh: str | None, lang: str) -> str | None:
    return display_name(Names(name, name_zh), lang) if name is not None else None


def _line_item(line: AppealLine, recorded: UnitOfResult, tree: UnitTree, actor: Actor,
               lang: str) -> AppealItem:
    """An appeal as :func:`_item` makes it, from what the list reads of it: the unit's names
    as the result recorded them (its names now, for a result stored without them)."""
    code, name, name_zh = recorded
    now = tree.by_id.get(line.unit_id) if line.unit_id is not None else None
    unit = (Names(name, name_zh) if name
            else Names.of(now) if now is not None else Names("?"))
    appealed = Appealed(code or (now.code if now is not None else "?"),
                        display_name(unit, lang), line.period, line.version,
                        as_number(line.score), line.grade, unit)
    return AppealItem(line.id, _name(line.cadre, line.cadre_zh, lang) or "?", line.person_id,
                      appealed, line.result_status, line.reason, str(line.status),
                      line.created_at, line.person_id == actor.person_id)


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
    reviewer: Names  # the cadre told reads it in their own language
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
    item = _item(appeal, result, run, person, tree, actor, lang)
    if item.own:
        raise Refused("appeal_own", lang, {"id": appeal_id})
    if appeal.status != AppealStatus.OPEN:
        raise Refused("appeal_answered", lang, {"id": appeal_id, "status": str(appeal.status)})
    return appeal, item


async def ask_answer(uow: UnitOfWork, caller: Caller, appeal_id: int,
                     decision: str) -> AnswerAsked:
    """A tap on Uphold or Reject: check the appeal can be answered, then wait for the
    answer's text as the caller's next message.

    Raises:
        Refused: ``not_staff``, ``forged``, those of :func:`_answerable`, ``busy.*``.
    """
    actor, lang = await acting_as(uow, caller, VIEW_ROLES, NOT_STAFF)
    if decision not in DECISIONS:
        raise Refused("forged", lang)
    dialogue = await busy.locked(uow, actor.person_id, person_first=True)
    _not_busy(actor, dialogue, lang, "/appeals")
    _appeal, item = await _answerable(uow, actor, lang, appeal_id)
    await uow.dialogues.start(actor.person_id, ANSWER_KIND, "answer",
                              {"appeal_id": appeal_id, "decision": decision}, caller.now)
    return AnswerAsked(lang, item, decision)


async def answer_appeal(uow: UnitOfWork, caller: Caller, appeal_id: int,
                        decision: str, text: str) -> Answered:
    """Record the answer (compare-and-set from open, so two reviewers cannot both answer),
    audited as ``appeal.answer`` with before and after. Ends the caller's dialogue if it
    was waiting for this answer.

    Raises:
        Refused: ``not_staff``, ``forged``, ``answer_invisible``, ``answer_short``,
            ``answer_long``, those of
            :func:`_answerable`.
    """
    actor, lang = await acting_as(uow, caller, VIEW_ROLES, NOT_STAFF)
    if decision not in DECISIONS:
        raise Refused("forged", lang)
    dialogue = await busy.locked(uow, actor.person_id, person_first=True)
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
    return Answered(lang, item, decision, answer, Names.of(actor), recipient)


async def answer_from_dialogue(uow: UnitOfWork, caller: Caller, text: str) -> Answered:
    """The text a reviewer typed after tapping Uphold or Reject.

    Raises:
        Refused: ``no_dialogue`` (nothing is waiting for it), those of
            :func:`answer_appeal`.
    """
    actor, lang = await acting_as(uow, caller, VIEW_ROLES, NOT_STAFF)
    dialogue = await uow.dialogues.get(actor.person_id)
    if dialogue is None or dialogue.kind != ANSWER_KIND:
        raise Refused("no_dialogue", lang)
    data = dialogue.data
    return await answer_appeal(uow, caller, as_int(data.get("appeal_id")),
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


@dataclass(frozen=True)
class Cancelled:
    lang: str
    kind: str | None  # the dialogue dropped; None when there was none
    appeal_id: int | None = None  # the appeal an answer was being written for


async def cancel(uow: UnitOfWork, caller: Caller) -> Cancelled:
    """``/cancel`` in a results dialogue: drop it (the appeal, if any, stays open)."""
    lang = await language(uow, caller)
    person = await uow.people.by_user(caller.telegram_user_id)
    if person is None:
        return Cancelled(lang, None)
    dialogue = await busy.locked(uow, person.id, person_first=True)
    if dialogue is None or dialogue.kind not in KINDS:
        return Cancelled(lang, None)
    await uow.dialogues.end(person.id)
    appeal_id = dialogue.data.get("appeal_id") if dialogue.kind == ANSWER_KIND else None
    return Cancelled(lang, dialogue.kind, appeal_id if isinstance(appeal_id, int) else None)
