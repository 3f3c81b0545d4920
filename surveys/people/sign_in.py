"""Signing in to the dashboard: one-time links from /dashboard, Mini App openings, sessions.

Who may sign in: a person with a role (admin, auditor, inspector, cadre). A sign-in link
works once, for ``link_valid_for``; a new one replaces the unused ones. Every attempt to use
a link (right or wrong) is counted per client, so links cannot be guessed: past
``max_attempts`` in ``attempts_window`` the client is refused until the window moves on.
Tokens (the link's, the session cookie's) are random; only their SHA-256 digests are stored.

The Mini App's ``initData`` is checked by the web layer (it is Telegram's transport); this
module starts the session for the account it names. What a signed-in person then sees goes
through the same use cases, with the same :class:`~surveys.people.caller.Caller`, as in
chat, so the scopes are the chat's.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from storage.models import Role, SignInLink, WebSession
from surveys.people.access import Actor
from surveys.people.caller import Caller, acting_as, resolve_language
from surveys.people.names import display_name

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

ANY_ROLE = tuple(Role)
# Refusal keys (texts web.refused.<key> and dashboard.<key>).
NO_ROLE = "no_role"
UNKNOWN, USED, EXPIRED, TOO_MANY = "unknown", "used", "expired", "too_many"
VIA_LINK, VIA_TELEGRAM = "link", "telegram"


@dataclass(frozen=True)
class WebRules:
    link_valid_for: timedelta = timedelta(minutes=10)
    session_for: timedelta = timedelta(hours=12)
    max_attempts: int = 20
    attempts_window: timedelta = timedelta(minutes=10)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class IssuedLink:
    token: str
    lang: str
    expires_at: datetime


async def issue_link(uow: UnitOfWork, caller: Caller, rules: WebRules) -> IssuedLink:
    """``/dashboard``: a new one-time sign-in link for the caller (their unused ones stop
    working).

    Raises:
        Refused: ``no_role`` for a resident or a stranger.
    """
    actor, lang = await acting_as(uow, caller, ANY_ROLE, NO_ROLE)
    await uow.web.drop_unused_links(actor.person_id)
    token = new_token()
    expires = caller.now + rules.link_valid_for
    await uow.web.add_link(SignInLink(token_hash=digest(token), person_id=actor.person_id,
                                      client_language=caller.client_language,
                                      expires_at=expires, used_at=None))
    return IssuedLink(token, lang, expires)


@dataclass(frozen=True)
class Started:
    """A session begun: its cookie's token (shown to the browser only) and its end."""

    token: str
    expires_at: datetime


@dataclass(frozen=True)
class LinkCheck:
    """What became of an attempt to use a link: a refusal key, or None (it works); the
    language of the person it belongs to, if it names one."""

    refusal: str | None
    lang: str | None = None
    name: str | None = None
    started: Started | None = None


async def _count_attempt(uow: UnitOfWork, client: str, now: datetime, rules: WebRules) -> bool:
    """Record an attempt by ``client``; False when it is over the limit (not recorded)."""
    if await uow.web.count_attempts(client, now - rules.attempts_window) >= rules.max_attempts:
        return False
    await uow.web.add_attempt(client, now)
    return True


async def _live_link(uow: UnitOfWork, token: str, now: datetime, default_language: str
                     ) -> tuple[LinkCheck, SignInLink | None]:
    link = await uow.web.link(digest(token)) if token else None
    if link is None:
        return LinkCheck(UNKNOWN), None
    person = await uow.people.get(link.person_id)
    contact = (await uow.contacts.get(person.contact_id)
               if person is not None and person.contact_id is not None else None)
    lang = resolve_language(contact, link.client_language, default_language)
    name = display_name(Actor.of(person), lang) if person is not None else None
    if link.used_at is not None:
        return LinkCheck(USED, lang, name), None
    if link.expires_at <= now:
        return LinkCheck(EXPIRED, lang, name), None
    if person is None or not Actor.of(person).has(ANY_ROLE):
        return LinkCheck(NO_ROLE, lang, name), None
    return LinkCheck(None, lang, name), link


async def check_link(uow: UnitOfWork, token: str, client: str, now: datetime, rules: WebRules,
                     default_language: str = "en") -> LinkCheck:
    """Whether the link would sign in (the page asks to confirm): counts as an attempt."""
    if not await _count_attempt(uow, client, now, rules):
        return LinkCheck(TOO_MANY)
    check, _link = await _live_link(uow, token, now, default_language)
    return check


async def redeem_link(uow: UnitOfWork, token: str, client: str, now: datetime,
                      rules: WebRules, default_language: str = "en") -> LinkCheck:
    """Use the link: it is spent and a session begins. Counts as an attempt; a refusal is
    returned (not raised), so the attempt is kept."""
    if not await _count_attempt(uow, client, now, rules):
        return LinkCheck(TOO_MANY)
    check, link = await _live_link(uow, token, now, default_language)
    if link is None:
        return check
    if not await uow.web.use_link(link.token_hash, now):
        return LinkCheck(USED, check.lang, check.name)
    started = await _start(uow, link.person_id, VIA_LINK, link.client_language, now, rules)
    return LinkCheck(None, check.lang, check.name, started)


async def _start(uow: UnitOfWork, person_id: int, via: str, client_language: str | None,
                 now: datetime, rules: WebRules) -> Started:
    token = new_token()
    expires = now + rules.session_for
    await uow.web.add_session(WebSession(token_hash=digest(token), person_id=person_id, via=via,
                                         client_language=client_language, expires_at=expires))
    return Started(token, expires)


async def sign_in_from_telegram(uow: UnitOfWork, caller: Caller, rules: WebRules
                                ) -> tuple[Started, str]:
    """A Mini App opened by the caller (its initData checked): a session for them, and
    their language.

    Raises:
        Refused: ``no_role`` for a resident or a stranger.
    """
    actor, lang = await acting_as(uow, caller, ANY_ROLE, NO_ROLE)
    started = await _start(uow, actor.person_id, VIA_TELEGRAM, caller.client_language,
                           caller.now, rules)
    return started, lang


@dataclass(frozen=True)
class Viewer:
    """Who is signed in: the caller the use cases take (the Telegram id stays on the
    server), their language and name."""

    caller: Caller
    lang: str
    name: str
    roles: frozenset[Role]


async def viewer(uow: UnitOfWork, token: str, now: datetime, default_language: str = "en"
                 ) -> Viewer | None:
    """The person signed in with this session token; None for none, an ended or expired
    session, or a person who holds no role any more."""
    if not token:
        return None
    found = await uow.web.session_of(digest(token), now)
    if found is None:
        return None
    session, person, contact = found
    actor = Actor.of(person)
    if contact is None or not actor.has(ANY_ROLE):
        return None
    lang = resolve_language(contact, session.client_language, default_language)
    caller = Caller(telegram_user_id=contact.telegram_user_id, now=now,
                    client_language=session.client_language, default_language=default_language)
    return Viewer(caller, lang, display_name(actor, lang),
                  frozenset(role for role, _unit in actor.grants))


async def sign_out(uow: UnitOfWork, token: str) -> None:
    if token:
        await uow.web.end_session(digest(token))
