"""Who is asking: the account behind a chat command, its language, and what it may not do.

Every chat use case of admins, cadres, inspectors and reviewers starts the same way: find the
person behind the Telegram account, check they hold one of the roles the use case needs, and
answer in their language. A refusal is raised as :class:`Refused` with a text key; the chat
layer of each audience maps the key to its text (admin keys, ``note.*``, ``inspect.*`` or
``results.*``), and the use case's transaction rolls back, so nothing changes.

What one use case needs beyond who is asking (the burden limits, the respondent keys' secret,
the field rules) is passed to it as its own argument, never carried on the caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from storage.models import Contact, Role
from surveys.people.access import Actor

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

LANGUAGES = ("en", "zh")


def resolve_language(contact: Contact | None, client_language: str | None, default: str) -> str:
    """The language to answer in: the one the person chose, else their Telegram client's
    (if we speak it), else the configured default."""
    if contact is not None and contact.language in LANGUAGES:
        return contact.language
    if client_language:
        code = client_language.lower()
        if code.startswith("zh"):
            return "zh"
        if code.startswith("en"):
            return "en"
    return default


@dataclass(frozen=True)
class Caller:
    """The Telegram account behind a command, a tap or a message, and when it arrived."""

    telegram_user_id: int
    now: datetime
    client_language: str | None = None
    default_language: str = "en"


class Refused(Exception):
    """The caller may not do this, or it cannot be done; ``key`` names the text, ``lang`` is
    the language to say it in and ``params`` fill it in."""

    def __init__(self, key: str, lang: str, params: Mapping[str, object] | None = None) -> None:
        super().__init__(key)
        self.key = key
        self.lang = lang
        self.params: dict[str, object] = dict(params or {})


async def language(uow: UnitOfWork, caller: Caller) -> str:
    """The caller's language (see :func:`resolve_language`)."""
    contact = await uow.contacts.by_user(caller.telegram_user_id)
    return resolve_language(contact, caller.client_language, caller.default_language)


async def acting_as(uow: UnitOfWork, caller: Caller, roles: Sequence[Role],
                    refusal: str) -> tuple[Actor, str]:
    """The person behind the caller, acting with their roles, and their language.

    Raises:
        Refused: ``refusal``, when the caller holds none of ``roles`` (a resident, a
            stranger, or a person with other roles only).
    """
    lang = await language(uow, caller)
    person = await uow.people.by_user(caller.telegram_user_id)
    actor = Actor.of(person) if person is not None else None
    if actor is None or not actor.has(roles):
        raise Refused(refusal, lang)
    return actor, lang


async def require(uow: UnitOfWork, caller: Caller, roles: Sequence[Role], refusal: str) -> str:
    """The caller's language, if they hold one of ``roles``: a command's usage, or a reply
    to its harmless buttons, is for those who may use it only.

    Raises:
        Refused: ``refusal``.
    """
    _actor, lang = await acting_as(uow, caller, roles, refusal)
    return lang
