"""The dashboard's campaign pages, for admins (auditors read them too): the list (a page at
a time, by status, narrowed to a unit a level at a time), a campaign's live progress, the
creation form, closing with a confirmation, and the posters' QR codes.

The reading pages use ``db.browsing()`` with the viewer read in the same unit of work, and
what is kept until the audit log moves (``Deps.kept_campaigns``); the list's body is rendered
once per content for every reader (``fragment``).

Thin like the chat's handlers: the use cases are :mod:`surveys.campaigns.dashboard` and
:mod:`surveys.campaigns.commands`, the same as ``/campaigns``, ``/campaign CODE``,
``/newcampaign`` and ``/close`` in chat, so the scopes are the chat's. A campaign outside the
person's units, an unknown code and a malformed one are the same 404; the forms carry the CSRF
token the middleware checks. After a commit that changes campaigns the scheduler is nudged, so
invitations go out (and stop) now rather than at its next poll.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from analysis.qr import qr_png
from analysis.timeline import bar_chart
from handlers.admin_render import time_left, when
from handlers.web.pages import (
    current,
    fragment,
    message,
    page_link,
    redirect,
    render,
    request_language,
    viewing,
)
from handlers.web.security import web_deps
from storage.ids import parse_id
from storage.models import CampaignStatus, Role, Unit
from surveys.campaigns import commands
from surveys.campaigns.dashboard import (
    CampaignInput,
    Poster,
    campaign_page,
    create_from_form,
    new_campaign_form,
    poster,
)
from surveys.campaigns.dialogue import InputError
from surveys.campaigns.rules import CODE_PATTERN, ENTRY_PATTERN, deep_link
from surveys.paging import PAGE_SIZE
from surveys.people.caller import Refused
from surveys.people.names import display_name
from surveys.people.sign_in import Viewer

_ENTRY = ENTRY_PATTERN
_DONE = ("created", "closed")
_STATUSES = {s.value for s in CampaignStatus}
# What a form field may hold (the code, time zone and closing time are far shorter): the rest
# is cut before any use case reads it.
_FIELD_MAX = 100


def routes() -> list[web.RouteDef]:
    return [
        web.get("/campaigns", list_page),
        web.get("/campaigns/new", new_page),
        web.post("/campaigns/new", new_post),
        web.get("/campaign/{code}", campaign_view),
        web.get("/campaign/{code}/close", close_page),
        web.post("/campaign/{code}/close", close_post),
        web.get("/campaign/{code}/poster", poster_page),
        web.get("/campaign/{code}/qr.png", qr_download),
    ]


def _not_found(request: web.Request, viewer: Viewer) -> web.Response:
    return message(request, "web.not_found", viewer.lang, 404, viewer)


def _signed_out(request: web.Request) -> web.Response:
    return message(request, "web.signed_out", request_language(request), 401)


def _code(request: web.Request) -> str | None:
    code = request.match_info["code"]
    return code if CODE_PATTERN.fullmatch(code) else None


def _entry(request: web.Request) -> tuple[bool, str | None]:
    """(valid, the entry point named by ``?entry=``, None for the main link)."""
    entry = request.query.get("entry")
    if entry is None:
        return True, None
    return bool(_ENTRY.match(entry)), entry


def _list_query(request: web.Request) -> tuple[int, CampaignStatus | None, int | None] | None:
    """The list's ``?page=N&status=S&unit=ID``; None if any is malformed (a 404, as an unknown
    unit is)."""
    page = parse_id(request.query.get("page", "1"))
    status = request.query.get("status")
    unit = request.query.get("unit")
    unit_id = parse_id(unit) if unit is not None else None
    if page is None or (status is not None and status not in _STATUSES) or (
            unit is not None and unit_id is None):
        return None
    return page, CampaignStatus(status) if status is not None else None, unit_id


async def list_page(request: web.Request) -> web.StreamResponse:
    """A page of the campaigns in the person's scope, open ones first (``?status=`` one
    status, ``?unit=ID`` that unit and those below it, ``?page=N``)."""
    w = web_deps(request)
    asked = _list_query(request)
    viewer: Viewer | None = None
    listing: commands.CampaignList | None = None
    try:
        async with w.deps.db.browsing() as uow:
            viewer = await viewing(request, uow)
            if viewer is not None and asked is not None:
                page, status, unit_id = asked
                listing = await commands.list_campaigns(
                    uow, viewer.caller, page=page, size=PAGE_SIZE, status=status,
                    unit_id=unit_id, kept=w.deps.kept_campaigns)
    except Refused:
        pass
    if viewer is None:
        return _signed_out(request)
    if listing is None:
        return _not_found(request, viewer)
    assert asked is not None
    lang, narrowed = listing.lang, asked[2]
    shown = listing.status.value if listing.status is not None else None

    def link(*, status: str | None = shown, unit: int | None = narrowed,
             page: int | None = None) -> str:
        return page_link("/campaigns", status=status, unit=unit or None,
                         page=page if page and page > 1 else None)

    def unit_name(unit: Unit) -> str:
        return display_name(unit, lang)

    # The same for every reader of the same version (read under the same audit log, with the
    # same figures for open campaigns) and address: rendered once.
    rows = fragment(request, "campaigns_rows.html", lang, (narrowed, listing.version),
                    listing=listing, link=link, local=when, unit_name=unit_name,
                    statuses=[s.value for s in commands.STATUS_ORDER])
    return render(request, "campaigns_list.html", lang, viewer=viewer, rows=rows,
                  may_create=Role.ADMIN in viewer.roles)


async def campaign_view(request: web.Request) -> web.StreamResponse:
    code = _code(request)
    w = web_deps(request)
    viewer: Viewer | None = None
    page = None
    try:
        async with w.deps.db.browsing() as uow:
            viewer = await viewing(request, uow)
            if viewer is not None and code is not None:
                page = await campaign_page(uow, viewer.caller, code,
                                           kept=w.deps.kept_campaigns)
    except Refused:
        pass
    if viewer is None:
        return _signed_out(request)
    if page is None:
        return _not_found(request, viewer)
    campaign = page.campaign
    username = w.deps.bot_username
    links = {row.name: deep_link(username, campaign.code, row.name)
             for row in page.entries if row.named}
    done = request.query.get("done")
    return render(request, "campaigns_page.html", page.view.lang, viewer=viewer, page=page,
                  view=page.view, report=page.view.report, campaign=campaign,
                  chart=bar_chart(page.series), link=deep_link(username, campaign.code),
                  links=links, done=done if done in _DONE else None, local=when,
                  left=time_left(page.view.report.time_left, page.view.lang))


# --- creating -------------------------------------------------------------------------------


async def new_page(request: web.Request) -> web.StreamResponse:
    viewer = await current(request)
    if viewer is None:
        return _signed_out(request)
    return await _form(request, viewer, CampaignInput("", "", "", "", "UTC"))


async def _form(request: web.Request, viewer: Viewer, values: CampaignInput,
                error: InputError | None = None) -> web.StreamResponse:
    try:
        async with web_deps(request).deps.db.transaction() as uow:
            form = await new_campaign_form(uow, viewer.caller)
    except Refused:
        return _not_found(request, viewer)
    return render(request, "campaigns_new.html", form.lang, status=400 if error else 200,
                  viewer=viewer, form=form, values=values,
                  error=error.key if error else None, error_params=error.params if error else {},
                  default_days=web_deps(request).deps.default_closes_after_days)


async def new_post(request: web.Request) -> web.StreamResponse:
    viewer = await current(request)
    if viewer is None:
        return _signed_out(request)
    posted = await request.post()

    def field(name: str) -> str:
        value = posted.get(name)
        return value[:_FIELD_MAX] if isinstance(value, str) else ""

    values = CampaignInput(survey=field("survey"), unit=field("unit"), code=field("code"),
                           closes=field("closes"), timezone=field("timezone") or "UTC")
    w = web_deps(request)
    try:
        async with w.deps.db.transaction() as uow:
            created = await create_from_form(uow, viewer.caller, values, burden=w.deps.burden,
                                             default_days=w.deps.default_closes_after_days)
    except Refused:
        return _not_found(request, viewer)
    except InputError as error:
        return await _form(request, viewer, values, error)
    w.deps.campaigns_changed()
    return redirect(f"/campaign/{created.code}?done=created")


# --- closing --------------------------------------------------------------------------------


async def close_page(request: web.Request) -> web.StreamResponse:
    """The confirmation: closing is for good, so it is a second step, a form to post."""
    viewer = await current(request)
    if viewer is None:
        return _signed_out(request)
    code = _code(request)
    if code is None:
        return _not_found(request, viewer)
    try:
        async with web_deps(request).deps.db.transaction() as uow:
            ref = await commands.check_close(uow, viewer.caller, code)
    except Refused as refusal:
        return _close_refused(request, viewer, refusal)
    return render(request, "campaigns_close.html", ref.lang, viewer=viewer, ref=ref)


def _close_refused(request: web.Request, viewer: Viewer, refusal: Refused) -> web.Response:
    if refusal.key == "already_closed":
        return message(request, "web.campaigns.already_closed", refusal.lang, 409, viewer,
                       **refusal.params)
    if refusal.key == "rule":
        return message(request, "web.campaigns.rule", refusal.lang, 409, viewer,
                       **refusal.params)
    return _not_found(request, viewer)


async def close_post(request: web.Request) -> web.StreamResponse:
    viewer = await current(request)
    if viewer is None:
        return _signed_out(request)
    code = _code(request)
    if code is None:
        return _not_found(request, viewer)
    w = web_deps(request)
    try:
        async with w.deps.db.transaction() as uow:
            ref = await commands.close(uow, viewer.caller, code)
    except Refused as refusal:
        return _close_refused(request, viewer, refusal)
    w.deps.campaigns_changed()
    return redirect(f"/campaign/{ref.code}?done=closed")


# --- posters --------------------------------------------------------------------------------


async def _poster_of(request: web.Request) -> tuple[Viewer, Poster] | web.StreamResponse:
    """The poster the address asks for, in the person's scope; else the page to answer."""
    viewer = await current(request)
    if viewer is None:
        return _signed_out(request)
    code = _code(request)
    valid, entry = _entry(request)
    if code is None or not valid:
        return _not_found(request, viewer)
    try:
        async with web_deps(request).deps.db.transaction() as uow:
            return viewer, await poster(uow, viewer.caller, code, entry)
    except Refused:
        return _not_found(request, viewer)


async def poster_page(request: web.Request) -> web.StreamResponse:
    """A page to print: the survey's title, the unit, the QR code and the link."""
    found = await _poster_of(request)
    if not isinstance(found, tuple):
        return found
    viewer, shown = found
    entry = shown.entry
    w = web_deps(request)
    query = f"?entry={entry}" if entry else ""
    return render(request, "campaigns_poster.html", shown.lang, viewer=viewer, poster=shown,
                  link=deep_link(w.deps.bot_username, shown.code, entry),
                  qr=f"/campaign/{shown.code}/qr.png{query}")


async def qr_download(request: web.Request) -> web.StreamResponse:
    """The QR code as a PNG file (as the chat sends it), named after the campaign."""
    found = await _poster_of(request)
    if not isinstance(found, tuple):
        return found
    shown = found[1]
    entry = shown.entry
    w = web_deps(request)
    link = deep_link(w.deps.bot_username, shown.code, entry)
    # Drawing the code is CPU work; keep it off the event loop.
    png = await asyncio.to_thread(qr_png, link)
    name = f"{shown.code}--{entry}.png" if entry else f"{shown.code}.png"
    return web.Response(body=png, content_type="image/png", headers={
        "Content-Disposition": f'attachment; filename="{name}"'})
