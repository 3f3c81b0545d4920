"""A person's browser, without the browser: the dashboard over HTTP with a cookie jar, for the
end-to-end tests (the browser tests drive chromium itself)."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_NEXT = re.compile(r'name="next" value="([^"]*)"')


# Opaque values a page carries (CSRF tokens, signatures, nonces): random letters and digits
# that may hold any run of digits by chance.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,}")


def shows_number(page: str, number: int) -> bool:
    """Whether ``number`` (a Telegram id, say) appears in ``page`` as a number of its own, not
    by chance inside a random token (a CSRF token held "9311" once, failing a check that an
    admin's id 9311 was not on the page)."""
    return re.search(rf"(?<!\d){number}(?!\d)", _TOKEN.sub(" ", page)) is not None


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found is not None, "the page has no form with a CSRF token"
    return html.unescape(found.group(1))


def init_data_of(url: str) -> str:
    """The signed initData a Mini App address carries after ``#tgWebAppData=``."""
    return parse_qs(urlsplit(url).fragment)["tgWebAppData"][0]


class WebClient:
    """One browser: its cookies, what it last saw."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        # unsafe: the dashboard runs on 127.0.0.1, whose cookies aiohttp otherwise refuses.
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.status = 0
        self.url = ""
        self.headers: Any = {}

    async def close(self) -> None:
        await self.session.close()

    async def get(self, path: str) -> str:
        async with self.session.get(self._url(path)) as response:
            return await self._read(response)

    async def download(self, path: str) -> bytes:
        """A file as the browser saves it (its headers in ``headers``)."""
        async with self.session.get(self._url(path)) as response:
            self.status = response.status
            self.url = str(response.url)
            self.headers = response.headers
            return await response.read()

    async def post(self, path: str, data: dict[str, str]) -> str:
        async with self.session.post(self._url(path), data=data) as response:
            return await self._read(response)

    async def _read(self, response: aiohttp.ClientResponse) -> str:
        self.status = response.status
        self.url = str(response.url)
        self.headers = response.headers
        return await response.text()

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else self.base_url + path

    async def open_mini_app(self, url: str, init_data: str | None = None) -> str:
        """What Telegram's web view does with a Mini App address: load it, and its script
        posts the initData (``init_data`` instead, to try a forged one)."""
        parts = urlsplit(url)
        page = await self.get(f"{parts.path}?{parts.query}")
        assert self.status == 200, page
        found = _NEXT.search(page)
        assert found is not None
        data = init_data if init_data is not None else init_data_of(url)
        return await self.post("/tg", {"csrf": csrf_of(page), "next": html.unescape(
            found.group(1)), "init_data": data})

    async def sign_in_with_link(self, link: str) -> str:
        page = await self.get(link)
        if self.status != 200:
            return page
        return await self.post(link, {"csrf": csrf_of(page)})
