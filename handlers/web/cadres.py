"""The dashboard's cadre profiles, for admins and auditors of their units, a page at a time
by name and narrowed to a unit a level at a time: each cadre's position, units, key tasks
(what inspectors verify) and the state of their one-time link to the bot. The use case is
``/cadres``'s (:func:`surveys.fieldwork.invites.list_cadres`), so the scope is the chat's;
new links are still given in chat (``/invite ID``), where the link and its QR code are shown
once to the admin who asked. Pages are kept until the audit log moves
(``Deps.kept_cadres``) and their bodies rendered once per content for every reader.
"""

from __future__ import annotations

from aiohttp import web

from handlers.admin_render import when
from handlers.web.pages import (
    fragment,
    message,
    page_link,
    render,
    request_language,
    viewing,
)
from handlers.web.security import web_deps
from storage.ids import parse_id
from surveys.fieldwork.cadres import EXPIRED, PENDING
from surveys.fieldwork.invites import CadreList, list_cadres
from surveys.paging import PAGE_SIZE
from surveys.people.caller import Refused
from surveys.people.names import Named, display_name
from surveys.people.sign_in import Viewer


def routes() -> list[web.RouteDef]:
    return [web.get("/cadres", cadres_page)]


async def cadres_page(request: web.Request) -> web.StreamResponse:
    """A page of the cadres of the person's units, by name (``?unit=ID``: that unit and those
    below it, ``?page=N``)."""
    w = web_deps(request)
    page = parse_id(request.query.get("page", "1"))
    unit = request.query.get("unit")
    unit_id = parse_id(unit) if unit is not None else None
    wrong = page is None or (unit is not None and unit_id is None)
    viewer: Viewer | None = None
    listing: CadreList | None = None
    try:
        async with w.deps.db.browsing() as uow:
            viewer = await viewing(request, uow)
            if viewer is not None and not wrong and page is not None:
                listing = await list_cadres(uow, viewer.caller, page=page, size=PAGE_SIZE,
                                            unit_id=unit_id, kept=w.deps.kept_cadres)
    except Refused:
        pass
    if viewer is None:
        return message(request, "web.signed_out", request_language(request), 401)
    if listing is None:
        return message(request, "web.not_found", viewer.lang, 404, viewer)
    lang = listing.lang

    def link(*, unit: int | None = unit_id, page: int | None = None) -> str:
        return page_link("/cadres", unit=unit or None, page=page if page and page > 1 else None)

    def name(named: Named) -> str:
        return display_name(named, lang)

    # The same for every reader of the same version (read under the same audit log, its
    # links in the same states) and address: rendered once.
    rows = fragment(request, "cadres_rows.html", lang, (unit_id, listing.version),
                    listing=listing, link=link, name=name, local=when,
                    renewing=(PENDING, EXPIRED))
    return render(request, "cadres_list.html", lang, viewer=viewer, rows=rows)
