"""What every page of the dashboard shares: cookies, CSRF tokens, security headers.

- The session cookie holds a random token (its digest is the database row); it is HttpOnly,
  SameSite=Strict, Secure when the public address is https, and ends with the session.
- Every form carries a CSRF token: an HMAC of the session token (or, before signing in, of an
  anonymous random cookie) with a key derived from the bot's secret. A POST without the right
  one is refused (403) before its handler runs.
- Every answer carries a Content Security Policy (scripts and styles from this server only,
  no inline script, forms post only here, framed by Telegram's web client only), and no
  referrer leaves the pages (a sign-in link's token is in its path).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web
from telegram import Bot

from handlers.deps import Deps

SESSION_COOKIE = "cp_session"
ANON_COOKIE = "cp_anon"
CSRF_FIELD = "csrf"
ANON_MAX_AGE_S = 24 * 3600

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'self' https://web.telegram.org")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class WebDeps:
    """What the pages need beyond the chat's dependencies: the bot token (to check a Mini
    App's initData), the initData's greatest age, whether cookies are Secure, and the bot
    that tells people in Telegram what a page did (an appeal's reviewers; None: nobody is
    told, as in tests of the pages alone)."""

    deps: Deps
    bot_token: str
    init_data_max_age_s: int = 3600
    secure: bool = False
    trust_forwarded_for: bool = False
    bot: Bot | None = None
    key: bytes = field(init=False)

    def __post_init__(self) -> None:
        self.key = hmac.new(self.deps.secret, b"civicpulse web", hashlib.sha256).digest()

    def now(self) -> datetime:
        return self.deps.clock()


WEB: web.AppKey[WebDeps] = web.AppKey("civicpulse.web", WebDeps)


def web_deps(request: web.Request) -> WebDeps:
    return request.app[WEB]


def _mac(key: bytes, label: str, value: str) -> str:
    return hmac.new(key, f"{label}:{value}".encode(), hashlib.sha256).hexdigest()


def session_token(request: web.Request) -> str:
    return request.cookies.get(SESSION_COOKIE, "")


def client_address(request: web.Request) -> str:
    """Who is asking: the peer, or behind a trusted proxy the address it forwarded."""
    if web_deps(request).trust_forwarded_for:
        forwarded = request.headers.get("X-Forwarded-For", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return request.remote or "?"


def client_key(request: web.Request) -> str:
    """The client's address as a keyed digest (the attempts table never holds addresses)."""
    return _mac(web_deps(request).key, "client", client_address(request))[:64]


def csrf_base(request: web.Request) -> tuple[str, str | None]:
    """What the CSRF token is made from: the session token, else the anonymous cookie; and
    a new anonymous value to set, if the browser had none."""
    session = session_token(request)
    if session:
        return "s:" + session, None
    anon = request.cookies.get(ANON_COOKIE, "")
    if anon:
        return "a:" + anon, None
    fresh = secrets.token_urlsafe(24)
    return "a:" + fresh, fresh


def csrf_token(request: web.Request, base: str) -> str:
    return _mac(web_deps(request).key, "csrf", base)


def set_anon(response: web.StreamResponse, request: web.Request, value: str | None) -> None:
    if value is not None:
        response.set_cookie(ANON_COOKIE, value, max_age=ANON_MAX_AGE_S, httponly=True,
                            samesite="Strict", secure=web_deps(request).secure, path="/")


def set_session(response: web.StreamResponse, request: web.Request, token: str,
                expires_at: datetime) -> None:
    max_age = max(0, int((expires_at - web_deps(request).now()).total_seconds()))
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True,
                        samesite="Strict", secure=web_deps(request).secure, path="/")


def clear_session(response: web.StreamResponse) -> None:
    response.del_cookie(SESSION_COOKIE, path="/")


async def csrf_valid(request: web.Request) -> bool:
    """Whether the posted form carries the CSRF token of this browser."""
    form = await request.post()
    sent = form.get(CSRF_FIELD)
    if not isinstance(sent, str) or not sent:
        return False
    session = session_token(request)
    anon = request.cookies.get(ANON_COOKIE, "")
    bases = [b for b in (f"s:{session}" if session else "", f"a:{anon}" if anon else "") if b]
    return any(hmac.compare_digest(sent, csrf_token(request, base)) for base in bases)


def headers_middleware(refused: Handler, not_forms: Collection[str] = ()
                       ) -> Callable[..., Awaitable[web.StreamResponse]]:
    """The security headers on every answer, and the CSRF check of every POST (``refused``
    renders the 403 page) but those to ``not_forms`` (Telegram's webhook posts JSON, with a
    secret header of its own)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if (request.method == "POST" and request.path not in not_forms
                and not await csrf_valid(request)):
            response = await refused(request)
        else:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                # aiohttp's own answers (404 for an unknown path, 405) carry them too.
                _secure(exc.headers)
                raise
        _secure(response.headers)
        return response

    return middleware


def _secure(headers: MutableMapping[str, str]) -> None:
    headers["Content-Security-Policy"] = CSP
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers.setdefault("Cache-Control", "no-store")
