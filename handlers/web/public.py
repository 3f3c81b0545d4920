"""The public page of a unit (``/p/SLUG``): no sign-in, no cookie, cacheable.

What it shows, and what it must never show, is :mod:`surveys.appraisal.public`'s; this reads
the request (the slug, ``?period=``, ``?lang=`` or else the browser's Accept-Language),
runs that use case (reading pages' way: no transaction, see ``db.browsing``) and renders
``public_unit.html``, with the trend drawn as inline SVG (:mod:`handlers.web.charts`, as the
result page's).

The page is the same for everyone who asks in the same language, so it sets no cookie (no
CSRF token: it has no form) and may be cached for a few minutes by browsers and proxies,
varying by Accept-Language; a publication shows within that time. In the process, the use
case keeps pages (``Deps.public``: a new publication shows at once, cases are at most a minute
old) and each page it hands out is rendered once (kept by its edition): a page asked for
again costs one indexed read (has anything been published?) and writing the response.
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from markupsafe import Markup

from handlers.results import said_lines
from handlers.texts import known, t
from handlers.web.charts import trend_chart
from handlers.web.fragments import PUBLIC_PAGES, Fragments
from handlers.web.pages import request_language
from handlers.web.security import CSRF_FIELD, web_deps
from surveys.appraisal.public import NotPublic, PublicPage, public_page, slug_of
from surveys.cases.summary import YouSaidWeDid
from surveys.people.caller import LANGUAGES

__all__ = ["public_path", "routes", "slug_of"]

# Slugs are unit codes in lower case: letters, digits, "_", "." and "-".
_SLUG = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_PERIOD = re.compile(r"^[0-9A-Za-z-]{4,16}$")
CACHE = "public, max-age=300"


def routes() -> list[web.RouteDef]:
    return [web.get("/p/{slug}", unit_page)]


def public_path(code: str) -> str:
    """The address of a unit's public page, under the dashboard's public address."""
    return f"/p/{slug_of(code)}"


def _language(request: web.Request) -> str:
    asked = request.query.get("lang", "")
    return asked if asked in LANGUAGES else request_language(request)


def _values(lang: str, **context: Any) -> dict[str, Any]:
    """As ``pages.render``'s, without the anonymous cookie a form's CSRF token needs: a
    public page has no form, and a cached answer must not carry anyone's cookie."""

    def text(key: str, **params: object) -> Markup:
        return Markup(t(key, lang, params).replace("\n", "<br>\n"))

    def word(kind: str, value: str | None) -> str:
        key = f"results.{kind}.{'none' if value is None else value}"
        return t(key, lang) if known(key) else (value or "")

    return {"lang": lang, "_": text, "word": word, "csrf": "", "csrf_field": CSRF_FIELD,
            "viewer": None, **context}


def _not_found(request: web.Request, lang: str) -> web.Response:
    return aiohttp_jinja2.render_template(
        "message.html", request, _values(lang, key="web.public.not_found",
                                         title_key="web.public.not_found.title", params={}),
        status=404)


async def unit_page(request: web.Request) -> web.StreamResponse:
    lang = _language(request)
    slug = request.match_info["slug"]
    period = request.query.get("period") or None
    if not _SLUG.match(slug) or (period is not None and not _PERIOD.match(period)):
        return _not_found(request, lang)
    w = web_deps(request)
    try:
        async with w.deps.db.browsing() as uow:
            page = await public_page(uow, slug, lang, w.deps.min_cell_size, period,
                                     now=w.now(), published=w.deps.published,
                                     kept=w.deps.public)
    except NotPublic:
        return _not_found(request, lang)
    query = _query(period)

    def make() -> Markup:
        return Markup(_html(request, page, query))

    # The same page (its edition) with the same links is the same HTML for every reader.
    html = (request.app[PUBLIC_PAGES].get(Fragments.key(page.edition, query), make)
            if page.edition else make())
    response = web.Response(text=html, content_type="text/html")
    response.headers["Cache-Control"] = CACHE
    response.headers["Vary"] = "Accept-Language"
    return response


def _html(request: web.Request, page: PublicPage, query: str) -> str:
    figures, items = _said(page.said, page.lang) if page.said is not None else ([], [])
    chart = trend_chart([(p.period, p.satisfaction) for p in page.trend])
    return aiohttp_jinja2.render_string(
        "public_unit.html", request, _values(page.lang, page=page, chart=chart,
                                             figures=figures, items=items, query=query))


def _said(said: YouSaidWeDid, lang: str) -> tuple[list[Markup], list[list[Markup]]]:
    """"You said, we did" in the chat's words (``/results``, the same rules): its figures,
    and each case's lines (its heading, the resident's words where quoted, what was done)."""
    lines = [Markup(line.strip()) for line in said_lines(said, lang, one_place=True)]
    figures, rest = lines[1:5], lines[5:]
    items: list[list[Markup]] = []
    for item in said.summaries:
        size = 3 if item.said else 2
        items.append(rest[:size])
        rest = rest[size:]
    return figures, items


def _query(period: str | None) -> str:
    """The query string the language switch keeps (the period), ending in ``&`` or ``?``."""
    return f"?period={period}&" if period else "?"
