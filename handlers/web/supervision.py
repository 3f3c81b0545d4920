"""The auditors' pages: anomaly flags (dismiss and restore, each with a reason), appeals with
their answers, the audit log searched by record with the chain's check, and the publications
awaiting approval (four eyes: approve with a confirmation, or refuse with a reason). Flags
and appeals come 50 to a page (``?page=N``), the audit log 50 events at a time
(``?before=ID``).

Thin like the chat's handlers: each page runs one use case of
:mod:`surveys.appraisal.supervision`, :mod:`surveys.appraisal.appeals` or
:mod:`surveys.appraisal.publication` in one transaction; the lists read with the viewer's
session in one unit of work without a transaction (``pages.browse``). A flag or request
outside the person's scope is the same 404 as one that does not exist; every form carries the
CSRF token (checked by ``security.headers_middleware`` before these handlers run).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web

from handlers.texts import t
from handlers.web.pages import (
    PERIOD,
    address,
    browse,
    current,
    fragment,
    message,
    page_number,
    redirect,
    render,
    request_language,
)
from handlers.web.security import web_deps
from storage.ids import parse_id
from surveys.appraisal import appeals, publication, supervision
from surveys.appraisal.periods import period_of
from surveys.people.caller import Refused
from surveys.people.sign_in import Viewer

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

T = TypeVar("T")
# Refusals that mean "nothing of yours here": the 404 page, whatever the reason.
_NOT_FOUND = {supervision.NOT_AUDITOR, "flag_unknown", "not_staff"}


def routes() -> list[web.RouteDef]:
    return [
        web.get("/audit/flags", flags_page),
        web.get("/audit/flags/{flag_id}", flag_page),
        web.post("/audit/flags/{flag_id}/dismiss", flag_dismiss),
        web.post("/audit/flags/{flag_id}/restore", flag_restore),
        web.get("/audit/appeals", appeals_page),
        web.get("/audit/log", log_page),
        web.get("/audit/approvals", approvals_page),
        web.get("/audit/approvals/{request_id}", approval_page),
        web.post("/audit/approvals/{request_id}/approve", approval_approve),
        web.post("/audit/approvals/{request_id}/refuse", approval_refuse),
        web.get("/audit/drafts", drafts_page),
        web.post("/audit/drafts/{run_id}/ask", draft_ask),
    ]


# --- shared ---------------------------------------------------------------------------------


async def _run(request: web.Request, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    async with web_deps(request).deps.db.transaction() as uow:
        return await work(uow)


def _not_found(request: web.Request, viewer: Viewer) -> web.Response:
    return message(request, "web.not_found", viewer.lang, 404, viewer)


def _said(request: web.Request, viewer: Viewer, title_key: str, key: str, status: int,
          lang: str | None = None, **params: object) -> web.Response:
    """A page that says one thing under its own title (the chat's texts have none)."""
    return render(request, "message.html", lang or viewer.lang, status=status, viewer=viewer,
                  key=key, title_key=title_key, params=params)


def _refused(request: web.Request, viewer: Viewer, refusal: Refused, prefix: str,
             title_key: str) -> web.Response:
    # Approval refusals all say why (an auditor of one township is told who may approve).
    if prefix != "approve" and refusal.key in _NOT_FOUND:
        return _not_found(request, viewer)
    return _said(request, viewer, title_key, f"{prefix}.{refusal.key}", 403, refusal.lang,
                 **refusal.params)


async def _form_text(request: web.Request, name: str) -> str:
    form = await request.post()
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def _signed_in(request: web.Request) -> Viewer | web.Response:
    viewer = await current(request)
    if viewer is None:
        return message(request, "web.signed_out", request_language(request), 401)
    return viewer


# --- anomaly flags --------------------------------------------------------------------------


async def flags_page(request: web.Request) -> web.StreamResponse:
    """``/audit/flags?period=2026-Q4&page=N``: a page of the period's flags in scope (default:
    this quarter's)."""
    asked = request.query.get("period", "").strip()
    page = page_number(request)
    deps = web_deps(request).deps

    async def work(uow: UnitOfWork, viewer: Viewer) -> supervision.FlagList | None:
        period = asked or period_of(viewer.caller.now, "quarter").label
        if not PERIOD.match(period) or page is None:
            return None
        return await supervision.flags_of_period(uow, viewer.caller, period, page,
                                                 published=deps.published, kept=deps.flags)

    read = await browse(request, work)
    if read is None:
        return message(request, "web.signed_out", request_language(request), 401)
    viewer, listed = read
    if isinstance(listed, Refused):
        return _refused(request, viewer, listed, "supervision", "supervision.period.title")
    if listed is None:
        if page is None:
            return _not_found(request, viewer)
        return _said(request, viewer, "supervision.period.title", "supervision.period", 400,
                     period=asked[:40])
    # The rows are the same for every auditor shown them: rendered once per content.
    rows = fragment(request, "supervision_flags_rows.html", listed.lang,
                    (listed.period, listed.items), listed=listed)
    return render(request, "supervision_flags.html", listed.lang, viewer=viewer, listed=listed,
                  paging=listed.paging, rows=rows,
                  here=address("/audit/flags", period=listed.period))


async def flag_page(request: web.Request) -> web.StreamResponse:
    viewer = await _signed_in(request)
    if not isinstance(viewer, Viewer):
        return viewer
    flag_id = parse_id(request.match_info["flag_id"])
    if flag_id is None:
        return _not_found(request, viewer)
    try:
        view = await _run(request, lambda uow: supervision.flag_view(uow, viewer.caller,
                                                                     flag_id))
    except Refused as refusal:
        return _refused(request, viewer, refusal, "supervision", "supervision.refused.title")
    return render(request, "supervision_flag.html", view.lang, viewer=viewer, view=view,
                  error=None, reason="")


async def _flag_action(request: web.Request, action: Callable[..., Awaitable[Any]]
                       ) -> web.StreamResponse:
    viewer = await _signed_in(request)
    if not isinstance(viewer, Viewer):
        return viewer
    flag_id = parse_id(request.match_info["flag_id"])
    if flag_id is None:
        return _not_found(request, viewer)
    reason = await _form_text(request, "reason")
    try:
        await _run(request, lambda uow: action(uow, viewer.caller, flag_id, reason))
    except Refused as refusal:
        if refusal.key in _NOT_FOUND:
            return _not_found(request, viewer)
        # The form again, with what was typed and what is wrong with it.
        view = await _run(request, lambda uow: supervision.flag_view(uow, viewer.caller,
                                                                     flag_id))
        return render(request, "supervision_flag.html", view.lang, status=400, viewer=viewer,
                      view=view, error=(f"supervision.{refusal.key}", refusal.params),
                      reason=reason[:1000])
    return redirect(f"/audit/flags/{flag_id}")


async def flag_dismiss(request: web.Request) -> web.StreamResponse:
    return await _flag_action(request, supervision.dismiss)


async def flag_restore(request: web.Request) -> web.StreamResponse:
    return await _flag_action(request, supervision.restore)


# --- appeals and the audit log --------------------------------------------------------------


async def appeals_page(request: web.Request) -> web.StreamResponse:
    """``/audit/appeals?page=N``: the appeals in scope, newest first, with their answers."""
    page = page_number(request)
    deps = web_deps(request).deps

    async def work(uow: UnitOfWork, viewer: Viewer) -> appeals.AppealHistory | None:
        if page is None:
            return None
        return await appeals.appeal_history(uow, viewer.caller, page, published=deps.published,
                                            kept=deps.appealed_units)

    read = await browse(request, work)
    if read is None:
        return message(request, "web.signed_out", request_language(request), 401)
    viewer, history = read
    if history is None or isinstance(history, Refused):
        return _not_found(request, viewer)
    return render(request, "supervision_appeals.html", history.lang, viewer=viewer,
                  history=history, paging=history.paging, here=address("/audit/appeals"))


async def log_page(request: web.Request) -> web.StreamResponse:
    """``/audit/log?q=...&before=ID``: the newest events about a record (older than event
    ID, for the next page), and the chain's check."""
    needle = request.query.get("q", "")
    raw = request.query.get("before")
    before = parse_id(raw) if raw is not None else None
    kept = web_deps(request).deps.audit_chain

    async def work(uow: UnitOfWork, viewer: Viewer) -> supervision.AuditLog | None:
        if raw is not None and before is None:
            return None
        return await supervision.audit_log(uow, viewer.caller, needle, before, kept=kept)

    read = await browse(request, work)
    if read is None:
        return message(request, "web.signed_out", request_language(request), 401)
    viewer, log = read
    if isinstance(log, Refused):
        return _refused(request, viewer, log, "supervision", "supervision.refused.title")
    if log is None:
        return _not_found(request, viewer)
    return render(request, "supervision_log.html", log.lang, viewer=viewer, log=log,
                  here=address("/audit/log", q=log.needle or None, before=log.before))


# --- publications awaiting approval (four eyes) ---------------------------------------------


async def approvals_page(request: web.Request) -> web.StreamResponse:
    viewer = await _signed_in(request)
    if not isinstance(viewer, Viewer):
        return viewer
    try:
        found = await _run(request, lambda uow: publication.review(uow, viewer.caller))
    except Refused as refusal:
        return _refused(request, viewer, refusal, "approve", "supervision.not_approved.title")
    return render(request, "supervision_approvals.html", found.lang, viewer=viewer,
                  review=found)


async def approval_page(request: web.Request) -> web.StreamResponse:
    """The confirmation step: what is approved, and the button that publishes it."""
    viewer = await _signed_in(request)
    if not isinstance(viewer, Viewer):
        return viewer
    request_id = parse_id(request.match_info["request_id"])
    if request_id is None:
        return _not_found(request, viewer)
    try:
        item, lang = await _run(request, lambda uow: publication.confirm(
            uow, viewer.caller, request_id))
    except Refused as refusal:
        return _refused(request, viewer, refusal, "approve", "supervision.not_approved.title")
    return render(request, "supervision_confirm.html", lang, viewer=viewer, item=item,
                  max_reason=publication.MAX_REFUSAL_REASON)


async def approval_approve(request: web.Request) -> web.StreamResponse:
    viewer = await _signed_in(request)
    if not isinstance(viewer, Viewer):
        return viewer
    request_id = parse_id(request.match_info["request_id"])
    if request_id is None:
        return _not_found(request, viewer)
    try:
        done, lang = await _run(request, lambda uow: publication.approve_tapped(
            uow, viewer.caller, request_id))
    except Refused as refusal:
        return _refused(request, viewer, refusal, "approve", "supervision.not_approved.title")
    run = done.run
    superseded = (t("approve.superseded", lang, {"version": done.superseded})
                  if done.superseded else "")
    return _said(request, viewer, "supervision.published.title", "approve.done", 200, lang,
                 period=run.period, version=run.version, events=run.audit_head_events,
                 head=(run.audit_head_hash or "")[:16], superseded=superseded.strip())


async def approval_refuse(request: web.Request) -> web.StreamResponse:
    viewer = await _signed_in(request)
    if not isinstance(viewer, Viewer):
        return viewer
    request_id = parse_id(request.match_info["request_id"])
    if request_id is None:
        return _not_found(request, viewer)
    reason = await _form_text(request, "reason")
    try:
        run, lang = await _run(request, lambda uow: publication.refuse_tapped(
            uow, viewer.caller, request_id, reason))
    except Refused as refusal:
        return _refused(request, viewer, refusal, "approve", "supervision.not_approved.title")
    return _said(request, viewer, "supervision.refused_publication.title",
                 "supervision.refused_publication", 200, lang, period=run.period,
                 version=run.version)


# --- an admin asks for a draft's publication ------------------------------------------------


async def drafts_page(request: web.Request) -> web.StreamResponse:
    viewer = await _signed_in(request)
    if not isinstance(viewer, Viewer):
        return viewer
    try:
        found, lang = await _run(request, lambda uow: publication.drafts(uow, viewer.caller))
    except Refused as refusal:
        return _refused(request, viewer, refusal, "approve", "supervision.refused.title")
    return render(request, "supervision_drafts.html", lang, viewer=viewer, drafts=found,
                  approval=web_deps(request).deps.publish_requires_approval)


async def draft_ask(request: web.Request) -> web.StreamResponse:
    viewer = await _signed_in(request)
    if not isinstance(viewer, Viewer):
        return viewer
    run_id = parse_id(request.match_info["run_id"])
    if run_id is None:
        return _not_found(request, viewer)
    approval = web_deps(request).deps.publish_requires_approval
    try:
        done, lang = await _run(request, lambda uow: publication.ask_tapped(
            uow, viewer.caller, run_id, approval))
    except Refused as refusal:
        return _refused(request, viewer, refusal, "approve", "supervision.refused.title")
    run = done.run
    if isinstance(done, publication.Requested):
        return _said(request, viewer, "supervision.asked.title", "supervision.asked", 200,
                     lang, period=run.period, version=run.version)
    return _said(request, viewer, "supervision.published.title", "supervision.published_now",
                 200, lang, period=run.period, version=run.version)

