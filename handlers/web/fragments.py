"""Parts of pages rendered once and served to every reader they are the same for.

A county's ranking is a table of about 4,000 rows (every unit and cadre in its scope);
rendering it took most of the page's time, for every reader. Its rows come from a published
version, which never changes, so the same rows in the same language render to the same HTML:
the key is the content itself (period, version, language and the ids of the rows shown, in
order), so a narrower scope, another version or a moved unit is another key, never a stale
answer. What differs per reader (their name, the forms' CSRF tokens) stays outside.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable

from aiohttp import web
from markupsafe import Markup


class Fragments:
    """Rendered parts by key, the most recently used kept up to ``max_chars`` in all."""

    def __init__(self, max_chars: int = 64 * 1024 * 1024) -> None:
        self.max_chars = max_chars
        self._kept: OrderedDict[str, Markup] = OrderedDict()
        self._size = 0

    @staticmethod
    def key(*parts: object) -> str:
        return hashlib.blake2b(repr(parts).encode(), digest_size=20).hexdigest()

    def get(self, key: str, make: Callable[[], Markup]) -> Markup:
        found = self._kept.get(key)
        if found is not None:
            self._kept.move_to_end(key)
            return found
        made = make()
        if len(made) <= self.max_chars:
            self._kept[key] = made
            self._size += len(made)
            while self._size > self.max_chars:
                _key, dropped = self._kept.popitem(last=False)
                self._size -= len(dropped)
        return made


FRAGMENTS: web.AppKey[Fragments] = web.AppKey("civicpulse.fragments", Fragments)
# The public pages, whole (handlers/web/public.py): kept apart, so strangers reading every
# unit's page cannot push the signed-in readers' tables out.
PUBLIC_PAGES: web.AppKey[Fragments] = web.AppKey("civicpulse.public_pages", Fragments)
