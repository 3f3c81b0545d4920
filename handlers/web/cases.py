"""The dashboard's cases pages, for staff (admins, auditors, the cadres of a unit): the cases
they may see, open, overdue, resolved and recently closed, a level of the unit tree at a time
(``/cases``, ``?unit=ID`` for a unit below, ``?show=STATE`` for one kind, ``?page=N``), and
one case read-only with its timeline (``/cases/NUMBER``). A unit outside the scope is the same
404 as one that does not exist.

Thin like the chat's handlers: the use cases are :func:`surveys.cases.board.case_board` and
:func:`surveys.cases.views.case_view`, the latter the same as ``/case NUMBER`` in chat, so
the scopes and the hold are the chat's: a case outside the person's units, a held one (its
report not yet released to staff), an unknown number and a malformed one are the same 404.
Acting on a case stays in the chat, where every action is checked under the case's lock.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING

from aiohttp import web
from markupsafe import Markup

from handlers.admin_render import when
from handlers.cases_render import case_parts, category_label, deadline
from handlers.texts import known, t
from handlers.web.pages import (
    address,
    browse,
    current,
    message,
    page_number,
    render,
    request_language,
)
from handlers.web.security import web_deps
from storage.ids import parse_id
from storage.models import CaseStatus
from surveys.cases.board import CLOSED, RESOLVED, STATES, Board, BoardRow, case_board
from surveys.cases.views import case_view
from surveys.people.caller import Refused
from surveys.people.sign_in import Viewer

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

# A case number as typed or linked ("C-7K3F9Q"); the use case reads it further.
_NUMBER = re.compile(r"^[A-Za-z0-9-]{1,16}$")


def routes() -> list[web.RouteDef]:
    return [web.get("/cases", cases_page), web.get("/cases/{number}", case_page)]


def _not_found(request: web.Request, viewer: Viewer) -> web.Response:
    return message(request, "web.not_found", viewer.lang, 404, viewer)


def _html(text: str) -> Markup:
    # Texts from the catalogs are HTML written by us; t() has escaped their parameters.
    return Markup(text.replace("\n", "<br>\n"))


def row_status(row: BoardRow, lang: str) -> str:
    """A case's status in a few words, as ``/cases`` says it (closed: with its outcome)."""
    if row.status == CaseStatus.TAKEN:
        return t("cstaff.short.taken", lang, {"who": row.taken_by or "?"})
    if row.status == CaseStatus.CLOSED:
        outcome = row.outcome.value if row.outcome is not None else "rejected"
        return t("cstaff.status.closed", lang, {"outcome": t(f"cstaff.outcome.{outcome}", lang)})
    key = f"cstaff.short.{row.status.value}"
    return t(key, lang) if known(key) else row.status.value


def row_timing(row: BoardRow, lang: str, now: datetime, zone: str) -> Markup:
    """Time left or overdue by; for a resolved case the resident's answer awaited; for a
    closed one the day it closed."""
    if row.state == CLOSED:
        return _html(t("web.cases.closed_on", lang, {"date": f"{row.closed_on or ''}"}))
    if row.state == RESOLVED:
        if row.answer_due_at is None:
            return Markup("–")
        return _html(t("cstaff.answer_by", lang, {
            "when": deadline(row.answer_due_at, now, lang)},
            raw=frozenset({"when"})))
    return _html(deadline(row.due_at, now, lang)
                 + "<br><span class=\"note\">"
                 + t("web.cases.due", lang, {"when": when(row.due_at, zone)}) + "</span>")


async def cases_page(request: web.Request) -> web.StreamResponse:
    """``/cases?unit=ID&show=STATE&page=N``: the cases at a unit of the scope (its top without
    ``unit``), of one state or all, a page at a time."""
    show = request.query.get("show")
    raw = request.query.get("unit")
    unit_id = parse_id(raw) if raw is not None else None
    page = page_number(request)
    w = web_deps(request)
    wrong = ((show is not None and show not in STATES) or (raw is not None and unit_id is None)
             or page is None)

    async def work(uow: UnitOfWork, viewer: Viewer) -> Board | None:
        if wrong or page is None:
            return None
        return await case_board(uow, viewer.caller, show=show, unit_id=unit_id, page=page,
                                published=w.deps.published)

    read = await browse(request, work)
    if read is None:
        return message(request, "web.signed_out", request_language(request), 401)
    viewer, board = read
    if board is None or isinstance(board, Refused):
        return _not_found(request, viewer)
    zone, lang = w.deps.cases.time_zone, board.lang
    return render(request, "cases_list.html", lang, viewer=viewer, board=board, states=STATES,
                  here=address("/cases", unit=unit_id, show=show),
                  paging=board.paging,
                  status_of=lambda row: row_status(row, lang),
                  timing=lambda row: row_timing(row, lang, board.now, zone),
                  category=lambda value: category_label(value, lang))


async def case_page(request: web.Request) -> web.StreamResponse:
    """One case, read-only: the chat's card in full, its held entries left out."""
    viewer = await current(request)
    if viewer is None:
        return message(request, "web.signed_out", request_language(request), 401)
    number = request.match_info["number"]
    if not _NUMBER.match(number):
        return _not_found(request, viewer)
    w = web_deps(request)
    try:
        async with w.deps.db.transaction() as uow:
            view = await case_view(uow, viewer.caller, number, rules=w.deps.cases)
    except Refused:
        return _not_found(request, viewer)
    facts, report, outcome, entries = case_parts(view, w.deps.cases.time_zone)
    return render(request, "cases_page.html", view.lang, viewer=viewer, view=view,
                  facts=[_html(line) for line in facts[1:]], report=_html(report),
                  outcome=[_html(line) for line in outcome],
                  entries=[_html(line) for line in entries],
                  category=category_label(view.category, view.lang))
