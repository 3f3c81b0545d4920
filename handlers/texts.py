"""Everything the bot says, looked up in the gettext catalogs of ``handlers/locale``.

One catalog per language, ``locale/<lang>/LC_MESSAGES/civicpulse.po``, read with Babel once,
on first use (``bot.app`` asks at start, so a broken catalog stops the start rather than a
reply). A msgid is the key the code asks for, its msgstr the text: HTML with ``{name}``
placeholders. English is the source language; a language is added by adding its catalog
(``make catalogs LOCALE=xx``), and what it has not translated yet is said in English.
"""

from __future__ import annotations

import functools
import html
import string
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from types import MappingProxyType

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "civicpulse"
SOURCE_LANGUAGE = "en"


@functools.cache
def catalogs() -> Mapping[str, Mapping[str, str]]:
    """Each language's texts by key, from its catalog.

    Empty and fuzzy entries are left out, as gettext leaves them out: they are not (or no
    longer surely) translations, so the English text is said instead.
    """
    found: dict[str, Mapping[str, str]] = {}
    for path in sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with path.open("rb") as file:
            catalog = read_po(file, domain=DOMAIN)
        found[path.parent.parent.name] = MappingProxyType({
            message.id: message.string for message in catalog
            if isinstance(message.id, str) and message.id
            and isinstance(message.string, str) and message.string and not message.fuzzy
        })
    return MappingProxyType(found)


def known(key: str) -> bool:
    """Whether ``key`` has a text (every key has one in the source language)."""
    return key in catalogs()[SOURCE_LANGUAGE]


def refusal_key(prefix: str, key: str) -> str:
    """The text of refusal ``key`` from the use cases of ``prefix`` (``admin``, ``note``,
    ``results``): the ``busy.*`` ones (one dialogue at a time, ``surveys.people.busy``) are the
    same whichever dialogue stands in the way, so every prefix shares them."""
    return key if key.startswith("busy.") else f"{prefix}.{key}"


class _Lenient(dict[str, object]):
    # A placeholder the caller did not fill shows as "?" rather than failing the reply.
    def __missing__(self, key: str) -> str:
        return "?"


def format_value(value: object, lang: str) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def t(
    key: str,
    lang: str,
    params: Mapping[str, object] | None = None,
    *,
    raw: frozenset[str] = frozenset(),
) -> str:
    """The text ``key`` in ``lang`` (English if missing), as HTML, with ``params`` filled in.

    An unknown key says the generic error (``invalid.generic`` for an ``invalid.*`` key) in
    ``lang``; an unknown language is English. Parameters are HTML-escaped unless named in
    ``raw`` (already-rendered HTML fragments).
    """
    every = catalogs()
    source = every[SOURCE_LANGUAGE]
    if key not in source:
        key = "invalid.generic" if key.startswith("invalid.") else "error"
    template = every.get(lang, source).get(key) or source[key]
    values = _Lenient(
        {
            k: (str(v) if k in raw else html.escape(format_value(v, lang), quote=False))
            for k, v in (params or {}).items()
        }
    )
    return string.Formatter().vformat(template, (), values)
