"""python-telegram-bot's HTTP requests over aiohttp instead of httpx.

Why: profiled at saturation, httpx and httpcore took about 28 % of the bot's CPU (httpcore
checks every pooled connection on each request); aiohttp, already a dependency for the
dashboard and the sandbox, does the same POST for a fraction of that.

PTB's contract (``BaseRequest.do_request``): return the status and the body of any answer,
and leave the mapping of statuses (400, 403, 429 with ``retry_after``...) to ``BaseRequest``;
raise ``TimedOut`` for timeouts and ``NetworkError`` for anything else that went wrong on
the way. The four timeouts keep PTB's meaning:

- ``pool_timeout``: waiting for one of ``connection_pool_size`` slots; when it runs out the
  request was not sent, and the message says so (as PTB's HTTPXRequest does);
- ``connect_timeout``: opening a connection;
- ``read_timeout``: waiting for data of the answer;
- ``write_timeout``: aiohttp has no timer for sending the body alone, so it bounds the whole
  exchange together with the other two (``total = connect + write + read``); media uploads
  use ``media_write_timeout`` in its place.

``None`` means no limit, as in PTB. Only HTTP(S) proxies are supported (aiohttp's own).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from typing import Any

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

POOL_TIMEOUT_MESSAGE = (
    "Pool timeout: All connections in the connection pool are occupied. Request was *not* "
    "sent to Telegram. Consider adjusting the connection pool size or the pool timeout.")


class AiohttpRequest(BaseRequest):
    """A ``BaseRequest`` for ``ApplicationBuilder.request``/``get_updates_request``."""

    __slots__ = (
        "_connect_timeout",
        "_media_write_timeout",
        "_observe",
        "_pool",
        "_pool_size",
        "_pool_timeout",
        "_proxy",
        "_read_timeout",
        "_session",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 8,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
        proxy: str | None = None,
        observe: Callable[[str, int], None] | None = None,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        if proxy is not None and not proxy.startswith(("http://", "https://")):
            raise ValueError("only http:// and https:// proxies are supported (aiohttp's)")
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._proxy = proxy
        self._observe = observe
        self._pool = asyncio.Semaphore(connection_pool_size)
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            # The session belongs to the running loop, so it is made here and not in __init__.
            connector = aiohttp.TCPConnector(limit=self._pool_size, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.USER_AGENT},
                # A timeout of its own per request (below); none for the session.
                timeout=aiohttp.ClientTimeout(total=None))

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = bool(request_data and request_data.contains_files)
        read = _given(read_timeout, self._read_timeout)
        connect = _given(connect_timeout, self._connect_timeout)
        write = _given(write_timeout,
                       self._media_write_timeout if files else self._write_timeout)
        pool = _given(pool_timeout, self._pool_timeout)
        parts = (connect, write, read)
        timeout = aiohttp.ClientTimeout(
            total=None if None in parts else sum(p for p in parts if p is not None),
            sock_connect=connect, sock_read=read)
        try:
            async with asyncio.timeout(pool):
                await self._pool.acquire()
        except TimeoutError as exc:
            raise TimedOut(POOL_TIMEOUT_MESSAGE) from exc
        data, headers = _body(request_data)
        try:
            async with session.request(method, url, data=data, headers=headers, timeout=timeout,
                                       proxy=self._proxy) as response:
                body = await response.read()
        except TimeoutError as exc:  # aiohttp's own timeouts derive from it too
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{exc.__class__.__name__}: {exc}") from exc
        finally:
            self._pool.release()
        if self._observe is not None and method == "POST":
            # The Bot API method is the address's last part (…/bot<token>/sendMessage); file
            # downloads (GET) are not counted, their paths being file names.
            self._observe(url.rpartition("/")[2], response.status)
        return response.status, body


def _given(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value


_JSON = {"Content-Type": "application/json"}


def _body(request_data: RequestData | None) -> tuple[Any, dict[str, str] | None]:
    """The body and its headers: the parameters as one JSON object (Telegram takes that for
    any method), or multipart when files go along.

    Not a urlencoded form as httpx sends for PTB: urlencoding percent-quotes the keyboards'
    JSON one character at a time in Python, a twentieth of the bot's CPU in a profile."""
    if request_data is None:
        return None, None
    if not request_data.contains_files:
        return request_data.json_payload, _JSON
    form = aiohttp.FormData(request_data.json_parameters)
    for name, (filename, content, mime) in request_data.multipart_data.items():
        # A stream rather than bytes: aiohttp warns about (and copies) large bytes bodies.
        stream = io.BytesIO(content) if isinstance(content, bytes) else content
        form.add_field(name, stream, filename=filename, content_type=mime)
    return form, None
