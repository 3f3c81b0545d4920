"""The dashboard's cases page: the cases the person may see, open, overdue, resolved and
recently closed, a level of the unit tree at a time.

The page opens a unit of the scope (at first its top, or the whole scope when it has several
tops): how many cases there are in it and below it, the units one level down that have any
(each with its own counts, to open in turn), and the cases themselves, the most urgent
first, a page at a time. So what a page reads and shows is bounded whatever the size of the
county (or province): one grouped statement counts the cases by unit and state, and one
reads the page's rows.

The scope and the hold are the chat's (:func:`surveys.cases.views.list_cases`): cadres see the
cases of the units they serve, admins and auditors those inside their scope, and a case whose
report is still held (:mod:`surveys.cases.holding`) is not there yet. One case in full is
:func:`surveys.cases.views.case_view`, the same as ``/case NUMBER``.

Read-only: nothing here writes. No Telegram.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from storage.cases import BOARD_STATES, BoardLine
from storage.models import CaseOutcome, CaseStatus
from storage.units import UnitNode
from surveys.cases.views import NOT_STAFF, STAFF_ROLES, unit_label
from surveys.paging import PAGE_SIZE, Paging
from surveys.people.access import ADMIN_ROLES, CADRE_ROLES, Actor, UnitTree
from surveys.people.caller import Caller, Refused, acting_as
from surveys.people.names import Names, display_name

if TYPE_CHECKING:
    from storage.uow import UnitOfWork
    from surveys.appraisal.published_rows import PublishedRows

# How far back a closed case is still shown ("recently closed").
RECENT = timedelta(days=30)

# Where a case stands on the page, in the order it lists them.
OVERDUE, OPEN, RESOLVED, CLOSED = BOARD_STATES
STATES = BOARD_STATES


def state_of(status: CaseStatus, due_at: datetime, now: datetime) -> str:
    """Overdue: still being worked on (open or taken) past its deadline, as in ``/cases``
    (and as :meth:`storage.cases.CasesRepository.board_counts` tells them apart)."""
    if status == CaseStatus.CLOSED:
        return CLOSED
    if status == CaseStatus.RESOLVED:
        return RESOLVED
    return OVERDUE if due_at < now else OPEN


@dataclass(frozen=True)
class BoardRow:
    """One case on the page."""

    number: str
    unit: str  # its unit's name, in the reader's language
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
    """A unit one level below the one opened, with cases in it or below it: the counts of
    its whole subtree."""

    unit_id: int
    name: str
    counts: dict[str, int]


@dataclass(frozen=True)
class Board:
    lang: str
    now: datetime
    unit_id: int | None  # the unit opened; None: the whole scope (several top units)
    name: str | None  # its name
    up: int | None  # where going up leads: a unit's id, 0 for the whole scope, None: nowhere
    below: list[UnitCases]
    counts: dict[str, int]  # of the opened unit and everything below it, every state
    rows: list[BoardRow]  # the page's
    paging: Paging  # its total: the cases counted, of the state shown
    recent_days: int
    show: str | None
    read_only: bool


def _count() -> dict[str, int]:
    return dict.fromkeys(STATES, 0)


def _tops(tree: UnitTree, actor: Actor) -> list[UnitNode]:
    """The top units of the scope, by name (a scope inside another one adds nothing)."""
    scopes = actor.scopes(STAFF_ROLES)
    if None in scopes:
        return list(tree.children.get(None, []))
    inner = {s for s in scopes if s is not None and s in tree.by_id}
    return sorted((tree.by_id[s] for s in inner
                   if not any(a in inner for a in tree.ancestors(s)[1:])),
                  key=lambda u: u.name)


async def case_board(uow: UnitOfWork, caller: Caller, *, show: str | None = None,
                     unit_id: int | None = None, page: int = 1, recent: timedelta = RECENT,
                     published: PublishedRows | None = None) -> Board:
    """The cases page at the unit ``unit_id`` (None: the top of the scope): its counts, the
    units below it with cases, and page ``page`` of its cases; ``show``: only the cases in
    that state (one of :data:`STATES`; the counts are always of all). ``published`` keeps
    the unit tree between calls (the dashboard's).

    Raises:
        Refused: ``not_staff``; ``unknown_unit`` for a unit unknown or outside the scope.
    """
    actor, lang = await acting_as(uow, caller, STAFF_ROLES, NOT_STAFF)
    tree = await published.tree(uow) if published is not None else await UnitTree.load(uow)
    now = caller.now
    tops = _tops(tree, actor)
    node: UnitNode | None
    if unit_id is not None:
        if unit_id not in tree.by_id or not actor.covers(tree, unit_id, STAFF_ROLES):
            raise Refused("unknown_unit", lang)
        node = tree.by_id[unit_id]
    else:
        node = tops[0] if len(tops) == 1 else None
    # The units one level down (or the scope's tops), each counted with its subtree, and
    # the opened unit's own cases.
    groups = tree.children.get(node.id, []) if node is not None else tops
    own = node.id if node is not None else None
    since = now - recent
    counts = _count()
    below: dict[int, dict[str, int]] = {}
    for found, state, many in await uow.cases.board_counts([u.id for u in groups], own, now,
                                                           since):
        counts[state] += many
        if found != own:
            below.setdefault(found, _count())[state] += many
    places = [UnitCases(u.id, display_name(u, lang), below[u.id]) for u in groups
              if u.id in below and (show is None or below[u.id][show])]
    total = counts[show] if show is not None else sum(counts.values())
    paging = Paging.of(page, PAGE_SIZE, total)
    lines = (await uow.cases.board_page([u.id for u in groups], own, now, since, show,
                                        paging.offset, paging.size) if total else [])
    if node is None:
        up = None
    elif any(node.id == top.id for top in tops):
        up = 0 if len(tops) > 1 else None
    else:
        up = node.parent_id
    return Board(lang, now, node.id if node is not None else None,
                 display_name(node, lang) if node is not None else None, up, places, counts,
                 [_row(line, tree, lang, now) for line in lines], paging, recent.days, show,
                 not actor.has((*CADRE_ROLES, *ADMIN_ROLES)))


def _row(line: BoardLine, tree: UnitTree, lang: str, now: datetime) -> BoardRow:
    handler = (display_name(Names(line.handler_name, line.handler_name_zh), lang)
               if line.handler_name is not None else None)
    status = CaseStatus(line.status)
    return BoardRow(
        number=line.number, unit=unit_label(tree, line.unit_id, lang), category=line.category,
        status=status, state=state_of(status, line.due_at, now), due_at=line.due_at,
        answer_due_at=line.answer_due_at, taken_by=handler,
        outcome=CaseOutcome(line.outcome) if line.outcome is not None else None,
        reports=line.reports,
        closed_on=line.closed_at.date() if line.closed_at is not None else None)
