"""The dashboard's cadre profiles, for admins and auditors of their units: each cadre's
position, units, key tasks (what inspectors verify) and the state of their one-time link to
the bot. The use case is ``/cadres``'s (:func:`surveys.fieldwork.invites.list_cadres`), so the
scope is the chat's; new links are still given in chat (``/invite ID``), where the link and
its QR code are shown once to the admin who asked.
"""

from __future__ import annotations

from aiohttp import web

from handlers.admin_render import when
from handlers.web.pages import current, message, render, request_language
from handlers.web.security import web_deps
from surveys.fieldwork.cadres import EXPIRED, PENDING
from surveys.fieldwork.invites import list_cadres
from surveys.people.caller import Refused
from surveys.people.names import display_name


def routes() -> list[web.RouteDef]:
    return [web.get("/cadres", cadres_page)]


async def cadres_page(request: web.Request) -> web.StreamResponse:
    viewer = await current(request)
    if viewer is None:
        return message(request, "web.signed_out", request_language(request), 401)
    try:
        async with web_deps(request).deps.db.transaction() as uow:
            listing = await list_cadres(uow, viewer.caller)
    except Refused:
        return message(request, "web.not_found", viewer.lang, 404, viewer)
    lang = listing.lang
    return render(request, "cadres_list.html", lang, viewer=viewer, listing=listing,
                  name=lambda named: display_name(named, lang), local=when,
                  renewing=(PENDING, EXPIRED))
