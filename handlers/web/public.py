"""The public page of a unit (``/p/SLUG``): no sign-in, no cookie, cacheable.

What it shows, and what it must never show, is :mod:`surveys.appraisal.public`'s; this reads
the request (the slug, ``?period=``, ``?lang=`` or else the browser's Accept-Language),
runs that use case in one transaction and renders ``public_unit.html``, with the trend drawn
as inline SVG (:mod:`handlers.web.charts`, as the result page's).

The page is the same for everyone who asks in the same language, so it sets no cookie (no
CSRF token: it has no form) and may be cached for a few minutes by browsers and proxies,
varying by Accept-Language; a publication shows within that time.
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
from handlers.web.pages import request_language
from handlers.web.security import CSRF_FIELD, web_deps
from surveys.appraisal.public import NotPublic, public_page, slug_of
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


def _render(request: web.Request, template: str, lang: str, *, status: int = 200,
            **context: Any) -> web.Response:
    """As ``pages.render``, without the anonymous cookie a form's CSRF token needs: a public
    page has no form, and a cached answer must not carry anyone's cookie."""

    def text(key: str, **params: object) -> Markup:
        return Markup(t(key, lang, params).replace("\n", "<br>\n"))

    def word(kind: str, value: str | None) -> str:
        key = f"results.{kind}.{'none' if value is None else value}"
        return t(key, lang) if known(key) else (value or "")

    values = {"lang": lang, "_": text, "word": word, "csrf": "", "csrf_field": CSRF_FIELD,
              "viewer": None, **context}
    return aiohttp_jinja2.render_template(template, request, values, status=status)


def _not_found(request: web.Request, lang: str) -> web.Response:
    return _render(request, "message.html", lang, status=404, key="web.public.not_found",
                   title_key="web.public.not_found.title", params={})


async def unit_page(request: web.Request) -> web.StreamResponse:
    lang = _language(request)
    slug = request.match_info["slug"]
    period = request.query.get("period") or None
    if not _SLUG.match(slug) or (period is not None and not _PERIOD.match(period)):
        return _not_found(request, lang)
    w = web_deps(request)
    try:
        async with w.deps.db.reading() as uow:
            page = await public_page(uow, slug, lang, w.deps.min_cell_size, period)
    except NotPublic:
        return _not_found(request, lang)
    figures, items = _said(page.said, lang) if page.said is not None else ([], [])
    chart = trend_chart([(p.period, p.satisfaction) for p in page.trend])
    response = _render(request, "public_unit.html", lang, page=page, chart=chart,
                       figures=figures, items=items, query=_query(period))
    response.headers["Cache-Control"] = CACHE
    response.headers["Vary"] = "Accept-Language"
    return response


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
