"""The dashboard's pages: thin like the chat's handlers (read the request, run one use case
in one transaction, render a template).

Signing in: ``/tg?next=PATH`` is what a Mini App button opens (Telegram appends the signed
``initData`` to the address after ``#tgWebAppData=``); its page posts it back (a small
script, the only one) to start a session, then goes on to PATH. ``/signin/TOKEN`` is a
/dashboard link: it asks to confirm (so a link preview or a scanner that fetches it spends
nothing) and the confirmation signs in. ``/signout`` ends the session.

Scopes: a page names what it shows by id (``/result/ID``); the use case checks it against
the person's roles and units, and anything outside them is the same 404 as an id that does
not exist. No page shows a Telegram id.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from markupsafe import Markup

from handlers.results import refusal_text, tell_reviewers
from handlers.texts import known, refusal_key, t
from handlers.web import initdata
from handlers.web.cases_links import links as case_links
from handlers.web.charts import trend_chart
from handlers.web.fragments import FRAGMENTS, Fragments
from handlers.web.security import (
    CSRF_FIELD,
    clear_session,
    client_key,
    csrf_base,
    csrf_token,
    session_token,
    set_anon,
    set_session,
    web_deps,
)
from handlers.web.supervision_links import links as supervision_links
from storage.db import DatabaseUnavailable
from storage.ids import parse_id
from storage.models import Role
from storage.uow import UnitOfWork
from surveys.appraisal import appeals
from surveys.appraisal.results import MyScore, latest_result_id, result_view, results_table
from surveys.people import sign_in
from surveys.people.caller import Caller, Refused, resolve_language
from surveys.people.sign_in import LinkCheck, Viewer

log = logging.getLogger(__name__)

# Where a Mini App may go on to: a path of this site, nothing else (no //host, no scheme).
_NEXT = re.compile(r"^/(?![/\\])[A-Za-z0-9/_?=&-]{0,200}$")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
PERIOD = re.compile(r"^[0-9A-Za-z-]{4,16}$")
_PAGE = re.compile(r"^[1-9][0-9]{0,5}$")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/", home),
        web.get("/result/{result_id}", result_page),
        web.post("/result/{result_id}/appeal", appeal_post),
        web.get("/ranking", ranking_page),
        web.get("/ranking/{period}", ranking_page),
        web.get("/tg", telegram_page),
        web.post("/tg", telegram_post),
        web.get("/signin/{token}", signin_page),
        web.post("/signin/{token}", signin_post),
        web.post("/signout", sign_out),
    ]


# --- rendering ------------------------------------------------------------------------------


def request_language(request: web.Request) -> str:
    """The language of a page for nobody signed in: the browser's, if we speak it."""
    header = request.headers.get("Accept-Language", "")
    first = header.split(",")[0].split(";")[0].strip()
    return resolve_language(None, first or None, web_deps(request).deps.default_language)


def render(request: web.Request, template: str, lang: str, *, status: int = 200,
           viewer: Viewer | None = None, **context: Any) -> web.Response:
    """A page in ``lang``, its forms carrying this browser's CSRF token."""
    base, fresh = csrf_base(request)
    values = {**_texts(lang), "csrf": csrf_token(request, base), "csrf_field": CSRF_FIELD,
              "viewer": viewer, **context}
    response = aiohttp_jinja2.render_template(template, request, values, status=status)
    set_anon(response, request, fresh)
    return response


def _texts(lang: str) -> dict[str, Any]:
    """What templates say things with, in ``lang``."""

    def text(key: str, **params: object) -> Markup:
        # The catalog's texts are HTML written by us; the parameters are escaped by t().
        return Markup(t(key, lang, params).replace("\n", "<br>\n"))

    def word(kind: str, value: str | None) -> str:
        key = f"results.{kind}.{'none' if value is None else value}"
        return t(key, lang) if known(key) else (value or "")

    return {"lang": lang, "_": text, "word": word}


def fragment(request: web.Request, template: str, lang: str, key: tuple[object, ...],
             **context: Any) -> Markup:
    """A part of a page that is the same for every reader (no CSRF token, no viewer),
    rendered once per ``key`` (which must name everything it shows)."""

    def make() -> Markup:
        env = aiohttp_jinja2.get_env(request.app)
        return Markup(env.get_template(template).render({**_texts(lang), **context}))

    return request.app[FRAGMENTS].get(Fragments.key(template, lang, *key), make)


def message(request: web.Request, key: str, lang: str, status: int,
            viewer: Viewer | None = None, **params: object) -> web.Response:
    """A page that only says something (a refusal, "not found", "signed out")."""
    return render(request, "message.html", lang, status=status, viewer=viewer, key=key,
                  title_key=f"{key}.title", params=params)


async def refused_csrf(request: web.Request) -> web.StreamResponse:
    return message(request, "web.csrf", request_language(request), 403)


async def current(request: web.Request) -> Viewer | None:
    async with web_deps(request).deps.db.browsing() as uow:
        return await _viewing(request, uow)


async def _viewing(request: web.Request, uow: UnitOfWork) -> Viewer | None:
    """Who is signed in, read with what the page asks for, in one unit of work (20 readers
    at once: a page's round trips to the database are most of its cost). Reading pages use
    ``db.browsing()``, which on PostgreSQL spares them BEGIN and COMMIT too."""
    w = web_deps(request)
    return await sign_in.viewer(uow, session_token(request), w.now(), w.deps.default_language)


async def viewing(request: web.Request, uow: UnitOfWork) -> Viewer | None:
    """Who is signed in, read in the page's own unit of work (see ``_viewing``)."""
    return await _viewing(request, uow)


def page_link(path: str, **params: object) -> str:
    """``path`` with the query ``params`` that are set (None and "" left out), for a list's
    filters and pages to link to each other."""
    query = urlencode({k: v for k, v in params.items() if v is not None and v != ""})
    return f"{path}?{query}" if query else path


T = TypeVar("T")


async def browse(request: web.Request, work: Callable[[UnitOfWork, Viewer], Awaitable[T]]
                 ) -> tuple[Viewer, T | Refused] | None:
    """A reading page's use case with who is signed in, in one unit of work and without a
    transaction (``db.browsing()``): the use case's answer, or its refusal for the page to
    say; None for nobody signed in."""
    async with web_deps(request).deps.db.browsing() as uow:
        viewer = await _viewing(request, uow)
        if viewer is None:
            return None
        try:
            return viewer, await work(uow, viewer)
        except Refused as refusal:
            return viewer, refusal


def page_number(request: web.Request) -> int | None:
    """``?page=N`` of a list shown a page at a time (1 without it); None if it is no page
    number. A number past the end is the last page (the use case's paging says so)."""
    raw = request.query.get("page")
    if raw is None or raw == "":
        return 1
    return int(raw) if _PAGE.match(raw) else None


def address(path: str, **params: object) -> Callable[..., str]:
    """A page's address with its parameters, and some changed (None: left out): what a
    list's links (its next page, a filter) lead to."""

    def here(**changed: object) -> str:
        query = {k: v for k, v in {**params, **changed}.items() if v is not None}
        return path + ("?" + urlencode(query) if query else "")

    return here


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The database being down is a page that says so (503), not a stack trace."""
    try:
        return await handler(request)
    except DatabaseUnavailable as exc:
        log.warning("dashboard: database unavailable: %s", exc)
        return message(request, "web.unavailable", request_language(request), 503)


def redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


# --- pages ----------------------------------------------------------------------------------


async def home(request: web.Request) -> web.StreamResponse:
    w = web_deps(request)
    links: list[tuple[str, str]] = []
    async with w.deps.db.browsing() as uow:
        viewer = await _viewing(request, uow)
        if viewer is not None and Role.CADRE in viewer.roles:
            mine = await latest_result_id(uow, viewer.caller)
            if mine is not None:
                links.append(("web.home.my_result", f"/result/{mine}"))
    if viewer is None:
        return message(request, "web.signed_out", request_language(request), 401)
    return render(request, "home.html", viewer.lang, viewer=viewer,
                  links=[*links, *_staff_links(viewer), *case_links(viewer)])


def _staff_links(viewer: Viewer) -> list[tuple[str, str]]:
    if not viewer.roles & {Role.ADMIN, Role.AUDITOR}:
        return []
    return [("web.home.ranking", "/ranking"), ("web.home.campaigns", "/campaigns"),
            ("web.home.cadres", "/cadres"), *supervision_links(viewer)]


async def result_page(request: web.Request) -> web.StreamResponse:
    raw = request.match_info["result_id"]
    w = web_deps(request)
    viewer: Viewer | None = None
    view = None
    try:
        async with w.deps.db.browsing() as uow:
            viewer = await _viewing(request, uow)
            result_id = parse_id(raw)
            if viewer is not None and result_id is not None:
                view = await result_view(uow, viewer.caller, result_id, w.deps.min_cell_size,
                                         published=w.deps.published)
    except Refused:
        pass
    if viewer is None:
        return message(request, "web.signed_out", request_language(request), 401)
    if view is None:
        return message(request, "web.not_found", viewer.lang, 404, viewer)
    return _result(request, viewer, view)


def _result(request: web.Request, viewer: Viewer, view: MyScore, *, status: int = 200,
            error: str | None = None, reason: str = "") -> web.Response:
    """The result page; with the appeal form (and what was wrong with the reason typed in
    it, kept) when it is the reader's own latest result, not appealed yet."""
    trend = trend_chart([(p.period, p.score) for p in view.trend])
    return render(request, "result.html", view.lang, status=status, viewer=viewer, view=view,
                  shown=view.breakdown, trend=trend, appeal_form=view.own and not view.appeal,
                  error=Markup(error) if error else None, reason=reason,
                  reason_min=appeals.REASON_MIN, reason_max=appeals.REASON_MAX)


# What refuses the appeal itself rather than the reason typed: said on a page of its own.
_NOT_APPEALABLE = {"not_cadre", "appeal_no_result", "appeal_not_latest"}
# More than an accepted reason can be, kept to show again in the form.
_REASON_KEPT = 4 * appeals.REASON_MAX


async def appeal_post(request: web.Request) -> web.StreamResponse:
    """The result page's appeal form: the chat's /appeal with the reason typed in it, for
    that result only (the cadre's latest); the reviewers are told in Telegram as from chat.
    A result outside the person's scope is the same 404 as on the page."""
    viewer = await current(request)
    if viewer is None:
        return message(request, "web.signed_out", request_language(request), 401)
    result_id = parse_id(request.match_info["result_id"])
    form = await request.post()
    typed = form.get("reason")
    reason = typed[:_REASON_KEPT] if isinstance(typed, str) else ""
    if result_id is None:
        return message(request, "web.not_found", viewer.lang, 404, viewer)
    w = web_deps(request)
    try:
        async with w.deps.db.transaction() as uow:
            # Seen only as the page would be: a result outside the scope is not found.
            await result_view(uow, viewer.caller, result_id, w.deps.min_cell_size)
    except Refused:
        return message(request, "web.not_found", viewer.lang, 404, viewer)
    try:
        async with w.deps.db.transaction() as uow:
            filed = await appeals.file_appeal(uow, viewer.caller, reason, result_id=result_id)
    except Refused as refusal:
        if refusal.key in _NOT_APPEALABLE:
            return render(request, "message.html", refusal.lang, status=403, viewer=viewer,
                          key=refusal_key("results", refusal.key),
                          title_key="web.appeal.refused.title", params=refusal.params)
        # The page again as it stands (an appeal filed meanwhile shows), with the reason.
        async with w.deps.db.transaction() as uow:
            view = await result_view(uow, viewer.caller, result_id, w.deps.min_cell_size)
        status = 409 if refusal.key == "appeal_already" else 400
        return _result(request, viewer, view, status=status, error=refusal_text(refusal),
                       reason=reason)
    if w.bot is not None:
        await tell_reviewers(w.bot, filed)
    return redirect(f"/result/{result_id}#appeal")


async def ranking_page(request: web.Request) -> web.StreamResponse:
    """A period's ranking in the person's scope (``?unit=ID``: that unit and those below)."""
    period = request.match_info.get("period")
    unit = request.query.get("unit")
    wrong = ((period is not None and not PERIOD.match(period))
             or (unit is not None and parse_id(unit) is None))
    w = web_deps(request)
    viewer: Viewer | None = None
    table = None
    try:
        async with w.deps.db.browsing() as uow:
            viewer = await _viewing(request, uow)
            if viewer is not None and not wrong:
                table = await results_table(
                    uow, viewer.caller, [period] if period else [], w.deps.min_cell_size,
                    unit_id=parse_id(unit) if unit is not None else None,
                    published=w.deps.published, with_said=False,
                    one_level=True)
    except Refused:
        pass
    if viewer is None:
        return message(request, "web.signed_out", request_language(request), 401)
    if table is None:
        return message(request, "web.not_found", viewer.lang, 404, viewer)
    # The tables are the same for everyone with the same rows (a version never changes).
    tables = fragment(request, "ranking_tables.html", table.lang, (
        table.period, table.version, table.scope_ids,
        tuple(r.result_id for r in table.units), tuple(r.result_id for r in table.cadres),
        tuple(table.unit_of.items())), table=table)
    return render(request, "ranking.html", table.lang, viewer=viewer, table=table,
                  tables=tables)


# --- signing in from Telegram (a Mini App) --------------------------------------------------


def _next(value: str | None) -> str:
    return value if value and _NEXT.match(value) else "/"


async def telegram_page(request: web.Request) -> web.StreamResponse:
    return render(request, "telegram.html", request_language(request),
                  next=_next(request.query.get("next")))


async def telegram_post(request: web.Request) -> web.StreamResponse:
    w = web_deps(request)
    form = await request.post()
    raw = form.get("init_data")
    lang = request_language(request)
    try:
        user = initdata.verify(raw if isinstance(raw, str) else "", w.bot_token, w.now(),
                               timedelta(seconds=w.init_data_max_age_s))
    except initdata.InitDataRefused as refusal:
        return message(request, f"web.initdata.{refusal.reason}", lang, 403)
    caller = Caller(telegram_user_id=user.id, now=w.now(), client_language=user.language_code,
                    default_language=w.deps.default_language)
    try:
        async with w.deps.db.transaction() as uow:
            # A session this browser had (perhaps someone else's) ends: one person at a time.
            await sign_in.sign_out(uow, session_token(request))
            started, lang = await sign_in.sign_in_from_telegram(uow, caller, w.deps.web)
    except Refused as refusal:
        return message(request, "web.no_role", refusal.lang, 403)
    next_path = form.get("next")
    response = redirect(_next(next_path if isinstance(next_path, str) else None))
    set_session(response, request, started.token, started.expires_at)
    return response


# --- signing in with a /dashboard link ------------------------------------------------------


def _link_refused(request: web.Request, check: LinkCheck) -> web.Response:
    lang = check.lang or request_language(request)
    status = 429 if check.refusal == sign_in.TOO_MANY else 403
    return message(request, f"web.link.{check.refusal}", lang, status)


async def signin_page(request: web.Request) -> web.StreamResponse:
    token = request.match_info["token"]
    w = web_deps(request)
    if not _TOKEN.match(token):
        check = LinkCheck(sign_in.UNKNOWN)
    else:
        async with w.deps.db.transaction() as uow:
            check = await sign_in.check_link(uow, token, client_key(request), w.now(),
                                             w.deps.web, w.deps.default_language)
    if check.refusal is not None:
        return _link_refused(request, check)
    return render(request, "signin.html", check.lang or request_language(request),
                  name=check.name, token=token)


async def signin_post(request: web.Request) -> web.StreamResponse:
    token = request.match_info["token"]
    w = web_deps(request)
    if not _TOKEN.match(token):
        return _link_refused(request, LinkCheck(sign_in.UNKNOWN))
    async with w.deps.db.transaction() as uow:
        check = await sign_in.redeem_link(uow, token, client_key(request), w.now(), w.deps.web,
                                          w.deps.default_language)
        if check.started is not None:
            await sign_in.sign_out(uow, session_token(request))
    if check.started is None:
        return _link_refused(request, check)
    response = redirect("/")
    set_session(response, request, check.started.token, check.started.expires_at)
    return response


async def sign_out(request: web.Request) -> web.StreamResponse:
    lang = request_language(request)
    viewer = await current(request)
    if viewer is not None:
        lang = viewer.lang
    async with web_deps(request).deps.db.transaction() as uow:
        await sign_in.sign_out(uow, session_token(request))
    response = message(request, "web.bye", lang, 200)
    clear_session(response)
    return response
