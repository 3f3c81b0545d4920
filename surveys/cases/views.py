"""What staff see of cases: the /cases list, one case with its timeline and photos, the
reports that may be the same problem, and which actions the viewer may take.

Who sees what: cadres see the cases of the units they serve (and of the units inside them),
admins those inside their scope, auditors those inside theirs, read-only
(:func:`may_view`). Which buttons a viewer gets follows :func:`allowed`, and every use case in
:mod:`surveys.cases.handling` checks the same function again under the case's lock, so a
button shown a minute ago promises nothing.

Read-only: nothing here writes. No Telegram.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from storage.models import Case, CaseOutcome, CaseStatus, Person, Role
from surveys.cases import holding
from surveys.cases.routing import is_admin_for, may_handle
from surveys.cases.rules import ACTIVE, RESIDENT, CaseRules, normalise_number
from surveys.fieldwork.rules import distance_km
from surveys.people.access import ADMIN_ROLES, CADRE_ROLES, Actor, UnitTree
from surveys.people.caller import Caller, Refused, acting_as
from surveys.people.names import display_name

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

# Who may list and view cases: cadres and admins (to handle them), auditors (to read).
STAFF_ROLES = (*CADRE_ROLES, *ADMIN_ROLES, Role.AUDITOR)
AUDIT_ROLES = (Role.AUDITOR,)
NOT_STAFF = "not_staff"
PAGE_SIZE = 8
# A case in one of these is still being worked on, so staff may act on it.
WORKING = (CaseStatus.OPEN, CaseStatus.TAKEN)

# What a viewer may do with a case (the buttons under it).
TAKE, ASK, RESOLVE = "take", "ask", "resolve"
REQUEST_TRANSFER, REQUEST_REJECT = "request_transfer", "request_reject"
TRANSFER, REJECT, APPROVE, DENY, MERGE = "transfer", "reject", "approve", "deny", "merge"
ADMIN_ACTIONS = (TRANSFER, REJECT, APPROVE, DENY)


@dataclass(frozen=True)
class Staff:
    """A cadre, admin or auditor acting on cases, with the unit tree of this transaction."""

    uow: UnitOfWork
    caller: Caller
    actor: Actor
    lang: str
    tree: UnitTree

    @property
    def now(self) -> datetime:
        return self.caller.now


async def staff(uow: UnitOfWork, caller: Caller) -> Staff:
    """Who is asking, if they are staff.

    Raises:
        Refused: ``not_staff`` (a resident, an inspector only, a stranger).
    """
    actor, lang = await acting_as(uow, caller, STAFF_ROLES, NOT_STAFF)
    return Staff(uow, caller, actor, lang, await UnitTree.load(uow))


def may_view(actor: Actor, tree: UnitTree, unit_id: int) -> bool:
    """Those who may handle it, and auditors whose scope covers the unit."""
    return may_handle(actor, tree, unit_id) or actor.covers(tree, unit_id, AUDIT_ROLES)


def allowed(actor: Actor, tree: UnitTree, case: Case) -> frozenset[str]:
    """What ``actor`` may do with ``case`` as it stands (its buttons)."""
    if case.status not in ACTIVE:
        return frozenset()
    handles = may_handle(actor, tree, case.unit_id)
    admin = is_admin_for(actor, tree, case.unit_id)
    found: set[str] = set()
    if handles and case.wants_reply:
        found.add(ASK)
    if case.status not in WORKING or not handles:
        return frozenset(found)
    mine = case.handler_id == actor.person_id
    # An admin may take over a case someone else took (a handler gone quiet, or gone).
    if case.status == CaseStatus.OPEN or (admin and not mine):
        found.add(TAKE)
    # Resolving a case nobody took takes it too: whoever resolves it is its handler.
    if case.status == CaseStatus.OPEN or mine or admin:
        found.add(RESOLVE)
    found.add(MERGE)
    if admin:
        found |= {TRANSFER, REJECT}
        if case.request is not None:
            found |= {APPROVE, DENY}
    elif case.request is None:
        found |= {REQUEST_TRANSFER, REQUEST_REJECT}
    return frozenset(found)


def why_not(actor: Actor, tree: UnitTree, case: Case, action: str) -> str:
    """The refusal's text key when ``action`` is not in :func:`allowed`."""
    if not may_handle(actor, tree, case.unit_id):
        return "read_only" if may_view(actor, tree, case.unit_id) else "not_your_unit"
    if action in ADMIN_ACTIONS and not is_admin_for(actor, tree, case.unit_id):
        return "admins_only"
    if action == RESOLVE and case.status == CaseStatus.TAKEN:
        return "not_your_case"
    if action in (REQUEST_TRANSFER, REQUEST_REJECT) and case.request is not None:
        return "request_pending"
    return "not_now"


def similar(case: Case, other: Case, rules: CaseRules) -> bool:
    """Whether two reports may be the same problem: both still being worked on, the same unit
    and category, opened within ``rules.merge_within`` of each other and, when both have a
    location, within ``rules.merge_radius_km``."""
    if (other.id == case.id or other.unit_id != case.unit_id
            or other.category != case.category
            or case.status not in WORKING or other.status not in WORKING):
        return False
    if abs(case.opened_on - other.opened_on) > rules.merge_within:
        return False
    if (case.latitude is None or case.longitude is None
            or other.latitude is None or other.longitude is None):
        return True
    return distance_km(case.latitude, case.longitude,
                       other.latitude, other.longitude) <= rules.merge_radius_km


def primary_of(one: Case, other: Case) -> tuple[Case, Case]:
    """Which of two reports of the same problem stays (the first reported; on the same day
    the one being worked on, then the one with more reports) and which merges into it."""
    def key(case: Case) -> tuple[date, int, int, str]:
        return (case.opened_on, 0 if case.status == CaseStatus.TAKEN else 1, -case.reports,
                case.number)

    first, second = sorted((one, other), key=key)
    return first, second


def unit_label(tree: UnitTree, unit_id: int, lang: str) -> str:
    unit = tree.by_id.get(unit_id)
    """The unit as staff read it: its name in ``lang`` (the code is an id nobody reads)."""
    return display_name(unit, lang) if unit is not None else "?"


async def case_of(ctx: Staff, number: str, *, lock: bool = False,
                  version: int | None = None) -> Case:
    """The case called ``number`` (as typed or as a button carries it), if the caller may see
    it; at ``version`` if one is given.

    Raises:
        Refused: ``bad_number``, ``no_case``, ``not_your_unit``, ``stale``.
    """
    normal = normalise_number(number)
    if normal is None:
        raise Refused("bad_number", ctx.lang, {"number": number[:20]})
    case = await ctx.uow.cases.by_number(normal, lock=lock)
    # A case whose report is still held is not there yet, for staff (surveys.cases.holding).
    if case is None or holding.is_held(case.held_until, ctx.now):
        raise Refused("no_case", ctx.lang, {"number": normal})
    if not may_view(ctx.actor, ctx.tree, case.unit_id):
        raise Refused("not_your_unit", ctx.lang, {
            "number": case.number, "unit": unit_label(ctx.tree, case.unit_id, ctx.lang)})
    if version is not None and case.version != version:
        raise Refused("stale", ctx.lang)
    return case


# --- the list -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseLine:
    """One case in /cases."""

    number: str
    unit: str
    category: str
    status: CaseStatus
    reports: int
    due_at: datetime
    answer_due_at: datetime | None
    taken_by: str | None
    request: str | None
    similar: tuple[str, ...]


@dataclass(frozen=True)
class CaseList:
    lang: str
    lines: list[CaseLine]
    page: int
    pages: int
    total: int
    read_only: bool
    now: datetime
    overdue: int = 0  # of the total, past their deadline and not resolved


async def list_cases(uow: UnitOfWork, caller: Caller, page: int = 0, *,
                     rules: CaseRules) -> CaseList:
    """``/cases``: the active cases the caller may handle or supervise (auditors: read),
    nearest deadline first, ``PAGE_SIZE`` a page.

    Raises:
        Refused: ``not_staff``.
    """
    ctx = await staff(uow, caller)
    everywhere = None in ctx.actor.scopes(STAFF_ROLES)
    units = None if everywhere else ctx.actor.visible_units(ctx.tree, STAFF_ROLES)
    cases = [c for c in await uow.cases.active(units, shown_at=caller.now)
             if may_view(ctx.actor, ctx.tree, c.unit_id)]
    pages = max(1, -(-len(cases) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    shown = cases[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
    names = await _names(uow, {c.handler_id for c in shown if c.handler_id is not None})
    # Only reports of the same unit and category can be the same problem.
    groups: dict[tuple[int, str], list[Case]] = {}
    for case in cases:
        groups.setdefault((case.unit_id, case.category), []).append(case)
    lines = [CaseLine(
        number=c.number, unit=unit_label(ctx.tree, c.unit_id, ctx.lang), category=c.category,
        status=c.status, reports=c.reports, due_at=c.due_at, answer_due_at=c.answer_due_at,
        taken_by=_name(names, c.handler_id, ctx.lang), request=c.request,
        similar=tuple(o.number for o in groups[(c.unit_id, c.category)]
                      if similar(c, o, rules)),
    ) for c in shown]
    read_only = not ctx.actor.has((*CADRE_ROLES, *ADMIN_ROLES))
    overdue = sum(1 for c in cases if c.status != CaseStatus.RESOLVED and c.due_at < caller.now)
    return CaseList(ctx.lang, lines, page, pages, len(cases), read_only, caller.now, overdue)


async def _names(uow: UnitOfWork, person_ids: set[int]) -> dict[int, Person]:
    found: dict[int, Person] = {}
    for person_id in person_ids:
        person = await uow.session.get(Person, person_id)
        if person is not None:
            found[person_id] = person
    return found


def _name(names: Mapping[int, Person], person_id: int | None, lang: str) -> str | None:
    if person_id is None:
        return None
    person = names.get(person_id)
    return display_name(person, lang) if person is not None else "?"


# --- one case -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """A timeline entry as staff see it; ``who`` is None for the resident and the system."""

    at: datetime
    author: str
    who: str | None
    kind: str
    notify: str
    text: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Photo:
    part: str
    path: str
    sha256: str
    media_type: str


@dataclass(frozen=True)
class CaseView:
    """A case as a viewer sees it, with what they may do."""

    lang: str
    number: str
    version: int
    unit: str
    category: str
    origin: str
    status: CaseStatus
    outcome: CaseOutcome | None
    text: str
    wants_reply: bool
    reports: int
    opened_on: date
    due_at: datetime
    now: datetime
    taken_by: str | None
    resolution: str | None
    summary: str | None
    resolved_on_time: bool | None
    answer_due_at: datetime | None
    request: str | None
    request_reason: str | None
    request_unit: str | None
    reject_reason: str | None
    merged_into: str | None
    location: tuple[float, float] | None
    photos: list[Photo]
    timeline: list[Entry]
    similar: list[str]
    actions: frozenset[str]
    merges: list[tuple[str, int]] = field(default_factory=list)  # (number, version) to merge


async def view_of(ctx: Staff, case: Case, rules: CaseRules) -> CaseView:
    """``case`` as the caller sees it now."""
    uow, lang, tree = ctx.uow, ctx.lang, ctx.tree
    # Residents' entries still held are not shown yet (surveys.cases.holding).
    entries = holding.shown(await uow.cases.messages(case.id), ctx.now)
    names = await _names(uow, {i for i in [case.handler_id, *(e.person_id for e in entries)]
                               if i is not None})
    others = await _others(uow, case, rules, ctx.now)
    actions = allowed(ctx.actor, tree, case)
    merges = [(o.number, o.version) for o in others
              if MERGE in actions and MERGE in allowed(ctx.actor, tree, o)]
    merged_into = (await uow.cases.get(case.merged_into_id)
                   if case.merged_into_id is not None else None)
    return CaseView(
        lang=lang, number=case.number, version=case.version,
        unit=unit_label(tree, case.unit_id, lang), category=case.category, origin=case.origin,
        status=case.status, outcome=case.outcome, text=case.text, wants_reply=case.wants_reply,
        reports=case.reports, opened_on=case.opened_on, due_at=case.due_at, now=ctx.now,
        taken_by=_name(names, case.handler_id, lang), resolution=case.resolution,
        summary=case.summary, resolved_on_time=case.resolved_on_time,
        answer_due_at=case.answer_due_at, request=case.request,
        request_reason=case.request_reason,
        request_unit=(unit_label(tree, case.request_unit_id, lang)
                      if case.request_unit_id is not None else None),
        reject_reason=case.reject_reason,
        merged_into=merged_into.number if merged_into is not None else None,
        location=((case.latitude, case.longitude)
                  if case.latitude is not None and case.longitude is not None else None),
        photos=[Photo(p.part, p.path, p.sha256, p.media_type)
                for p in await uow.cases.photos(case.id)],
        timeline=[Entry(e.at, e.author, None if e.author == RESIDENT
                        else _name(names, e.person_id, lang), e.kind, e.notify, e.text,
                        _named(tree, e.params or {}, lang)) for e in entries],
        similar=[o.number for o in others], actions=actions, merges=merges,
    )


def _named(tree: UnitTree, params: Mapping[str, Any], lang: str) -> Mapping[str, Any]:
    """A timeline entry's parameters with the unit codes it stored (a transfer's ``from``
    and ``to``) as the units' names in ``lang``; a unit gone since keeps its code."""
    if not isinstance(params.get("from"), str) or not isinstance(params.get("to"), str):
        return params
    named = dict(params)
    for key in ("from", "to"):
        unit = tree.by_code.get(named[key])
        if unit is not None:
            named[key] = display_name(unit, lang)
    return named


async def _others(uow: UnitOfWork, case: Case, rules: CaseRules,
                  now: datetime) -> Sequence[Case]:
    """Other active reports of the same unit and category that may be the same problem (of
    those staff may see now)."""
    return [o for o in await uow.cases.active([case.unit_id], shown_at=now)
            if similar(case, o, rules)]


async def case_view(uow: UnitOfWork, caller: Caller, number: str, *,
                    rules: CaseRules) -> CaseView:
    """``/case C-XXXXXX`` and the list's buttons: one case, if the caller may see it.

    Raises:
        Refused: ``not_staff``, ``bad_number``, ``no_case``, ``not_your_unit``.
    """
    ctx = await staff(uow, caller)
    return await view_of(ctx, await case_of(ctx, number), rules)
