"""The dashboard's cases page: every case the person may see, open, overdue, resolved and
recently closed, grouped by unit along the unit tree of their scope.

The scope and the hold are the chat's (:func:`surveys.cases.views.list_cases`): cadres see the
cases of the units they serve, admins and auditors those inside their scope, and a case whose
report is still held (:mod:`surveys.cases.holding`) is not there yet. One case in full is
:func:`surveys.cases.views.case_view`, the same as ``/case NUMBER``.

Read-only: nothing here writes. No Telegram.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from storage.models import Case, CaseOutcome, CaseStatus, Person
from surveys.cases.views import STAFF_ROLES, may_view, staff, unit_label
from surveys.people.access import ADMIN_ROLES, CADRE_ROLES, UnitTree
from surveys.people.caller import Caller
from surveys.people.names import display_name

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

# How far back a closed case is still shown ("recently closed").
RECENT = timedelta(days=30)

# Where a case stands on the page, in the order shown within a unit.
OVERDUE, OPEN, RESOLVED, CLOSED = "overdue", "open", "resolved", "closed"
STATES = (OVERDUE, OPEN, RESOLVED, CLOSED)


def state_of(case: Case, now: datetime) -> str:
    """Overdue: still being worked on (open or taken) past its deadline, as in ``/cases``."""
    if case.status == CaseStatus.CLOSED:
        return CLOSED
    if case.status == CaseStatus.RESOLVED:
        return RESOLVED
    return OVERDUE if case.due_at < now else OPEN


@dataclass(frozen=True)
class BoardRow:
    """One case on the page."""

    number: str
    category: str
    status: CaseStatus
    state: str
    due_at: datetime
    answer_due_at: datetime | None
    taken_by: str | None
    outcome: CaseOutcome | None
    reports: int
    closed_on: date | None


@dataclass(frozen=True)
class UnitCases:
    """A unit of the scope with cases in it or below it: its own cases and the counts of
    its whole subtree."""

    unit_id: int
    name: str
    depth: int
    rows: list[BoardRow]
    counts: dict[str, int]


@dataclass(frozen=True)
class Board:
    lang: str
    now: datetime
    units: list[UnitCases]
    counts: dict[str, int]
    recent_days: int
    show: str | None
    read_only: bool


def _order(row: BoardRow) -> tuple[int, datetime, str]:
    return STATES.index(row.state), row.due_at, row.number


def _count(states: Iterable[str]) -> dict[str, int]:
    counts = dict.fromkeys(STATES, 0)
    for state in states:
        counts[state] += 1
    return counts


async def case_board(uow: UnitOfWork, caller: Caller, *, show: str | None = None,
                     recent: timedelta = RECENT) -> Board:
    """The cases page: the cases the caller may see, by unit along the tree; ``show``: only
    the cases in that state (one of :data:`STATES`; the counts are always of all).

    Raises:
        Refused: ``not_staff``.
    """
    ctx = await staff(uow, caller)
    now, tree, lang = ctx.now, ctx.tree, ctx.lang
    everywhere = None in ctx.actor.scopes(STAFF_ROLES)
    visible = (set(tree.by_id) if everywhere
               else ctx.actor.visible_units(tree, STAFF_ROLES))
    units = None if everywhere else visible
    found = [*await uow.cases.active(units, shown_at=now),
             *await uow.cases.closed_since(units, now - recent, shown_at=now)]
    cases = [c for c in found if may_view(ctx.actor, tree, c.unit_id)]
    names = await _handlers(uow, {c.handler_id for c in cases if c.handler_id is not None},
                            lang)
    rows: dict[int, list[BoardRow]] = {}
    for case in cases:
        rows.setdefault(case.unit_id, []).append(BoardRow(
            number=case.number, category=case.category, status=case.status,
            state=state_of(case, now), due_at=case.due_at, answer_due_at=case.answer_due_at,
            taken_by=(names.get(case.handler_id, "?") if case.handler_id is not None
                      else None), outcome=case.outcome,
            reports=case.reports,
            closed_on=case.closed_at.date() if case.closed_at is not None else None))
    grouped = _along_tree(tree, visible | set(rows), rows, lang, show)
    return Board(lang, now, grouped, _count(r.state for rs in rows.values() for r in rs),
                 recent.days, show, not ctx.actor.has((*CADRE_ROLES, *ADMIN_ROLES)))


async def _handlers(uow: UnitOfWork, person_ids: set[int], lang: str) -> dict[int, str]:
    """The names of the cases' handlers (staff: named as in chat)."""
    found: dict[int, str] = {}
    for person_id in person_ids:
        person = await uow.session.get(Person, person_id)
        if person is not None:
            found[person_id] = display_name(person, lang)
    return found


def _along_tree(tree: UnitTree, visible: set[int], rows: dict[int, list[BoardRow]],
                lang: str, show: str | None) -> list[UnitCases]:
    """The units with cases in or below them, depth first from the top of the scope (a unit
    under one shown is indented under it), each with its own cases and its subtree's counts."""
    found: list[UnitCases] = []

    def walk(unit_id: int, depth: int) -> list[str]:
        start = len(found)
        own = sorted(rows.get(unit_id, []), key=_order)
        found.append(UnitCases(unit_id, unit_label(tree, unit_id, lang), depth,
                               [r for r in own if show is None or r.state == show], {}))
        states = [r.state for r in own]
        for child in tree.children.get(unit_id, []):
            if child.id in visible:
                states += walk(child.id, depth + 1)
        if not states:
            del found[start]  # nothing in or below it
        else:
            found[start].counts.update(_count(states))
        return states

    tops = [u for u in tree.by_id.values()
            if u.id in visible and (u.parent_id is None or u.parent_id not in visible)]
    for top in sorted(tops, key=lambda u: u.name):
        walk(top.id, 0)
    if show is not None:  # units left with nothing of that state in or below them go
        found = [u for u in found if u.counts.get(show)]
    return found
