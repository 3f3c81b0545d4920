"""The sandbox's wire format: how requests arrive and how answers and errors go back.

The Bot API side reads parameters the way Telegram's server does (query string, JSON body,
urlencoded form or multipart form with files) and answers ``{"ok": ..., "result": ...}`` or an
:class:`ApiError`; the client API (simulated users) refuses actions with a :class:`SandboxError`
whose message a person can read.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, hdrs, web

from sandbox.media import Upload

__all__ = [
    "TOO_LARGE",
    "ApiError",
    "Described",
    "Handler",
    "Params",
    "SandboxError",
    "bad",
    "client_error",
    "dumps",
    "json_response",
    "read_multipart",
    "read_params",
]

TOO_LARGE = "Request Entity Too Large"


class ApiError(Exception):
    """A Bot API error answer: ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(
        self, code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        """The JSON body Telegram would send."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


class SandboxError(Exception):
    """A refused action of a simulated user (client API): HTTP status and a plain message.

    The message is shown as is on the chat page, so it says what happened and what to do in
    words a person uses. ``code`` is for programs (the chat page re-creates its user on
    ``unknown_user``).
    """

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


def bad(description: str) -> ApiError:
    """A 400 answer, worded as Telegram words them."""
    return ApiError(400, "Bad Request: " + description)


class Params:
    """A request's parameters, merged from the query string and the body, read by type.

    PTB (``RequestData.json_parameters``) sends every value as a string in a form (urlencoded, or
    multipart when files are attached): strings as they are, everything else JSON-encoded
    (``"123"``, ``"true"``, ``'{"inline_keyboard": ...}'``). Other clients send a JSON body with
    native types. So the type of a value is decided by the field that reads it, as Telegram's
    server does, never guessed from the value (a text ``"123"`` stays a string).
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data

    def __contains__(self, name: str) -> bool:
        return self._data.get(name) is not None

    def raw(self, name: str) -> Any:
        """The value as received (None when absent)."""
        return self._data.get(name)

    def get_str(self, name: str) -> str | None:
        """A string field; numbers sent in JSON bodies are turned into their text."""
        value = self._data.get(name)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        raise bad(f'field "{name}" must be of type String')

    def get_int(self, name: str) -> int | None:
        """An integer field (JSON number or decimal string)."""
        value = self._data.get(name)
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return int(value.strip())
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise bad(f'field "{name}" must be of type Integer')

    def get_bool(self, name: str) -> bool:
        """A boolean field; absent means False."""
        value = self._data.get(name)
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value != 0
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in ("true", "1"):
                return True
            if lowered in ("false", "0", ""):
                return False
        raise bad(f'field "{name}" must be of type Boolean')

    def get_json(self, name: str, error: str | None = None) -> Any:
        """An object or array field: decoded when it arrived as a JSON string inside a form."""
        value = self._data.get(name)
        if isinstance(value, str):
            if not value:
                return None
            try:
                return json.loads(value)
            except ValueError:
                raise bad(error or f"can't parse {name} JSON object") from None
        return value


@dataclass(slots=True)
class Described:
    """A successful result that Telegram accompanies with a description (setWebhook and co)."""

    result: Any
    description: str


# A Bot API method: its parameters in, its ``result`` (or a Described) out, ApiError to refuse.
Handler = Callable[[Params], Awaitable[Any]]


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(payload: Any, status: int = 200) -> web.Response:
    return web.Response(body=dumps(payload), status=status, content_type="application/json")


def client_error(error: Exception) -> web.Response:
    """A client API refusal: a SandboxError's status and words; 400 for a malformed value."""
    status = error.status if isinstance(error, SandboxError) else 400
    body: dict[str, Any] = {"ok": False, "error": str(error)}
    if isinstance(error, SandboxError) and error.code is not None:
        body["code"] = error.code
    return json_response(body, status)


async def read_params(request: web.Request, max_body: int) -> Params:
    """A Bot API request's parameters, from its query string and whichever body it has."""
    data: dict[str, Any] = dict(request.query) if request.query_string else {}
    if request.method != "POST" or not request.body_exists:
        return Params(data)
    ctype = request.content_type
    if ctype == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise bad("can't parse JSON encoded request") from None
        if not isinstance(body, dict):
            raise bad("can't parse JSON encoded request")
        data.update(body)
    elif ctype == "application/x-www-form-urlencoded":
        form = await request.post()
        for key, value in form.items():
            data[key] = value
    elif ctype == "multipart/form-data":
        data.update(await read_multipart(request, max_body))
    return Params(data)


async def read_multipart(request: web.Request, max_body: int) -> dict[str, str | Upload]:
    """A multipart form: text fields as strings, file parts as :class:`Upload`.

    Read part by part into memory rather than through ``request.post()``, which spools
    files to temporary files on disk. A body over ``max_body`` bytes is 413, as from Telegram's
    front end; a malformed one is 400.
    """
    fields: dict[str, str | Upload] = {}
    total = 0
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise bad("can't parse multipart/form-data request")
            name = part.name
            value: str | Upload
            if part.filename is None:
                value = await part.text()
                total += len(value)
            else:
                content = bytes(await part.read(decode=True))
                total += len(content)
                value = Upload(content, part.filename, part.headers.get(hdrs.CONTENT_TYPE))
            if total > max_body:
                raise ApiError(413, TOO_LARGE)
            if name:
                fields[name] = value
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(413, TOO_LARGE) from None
    except ValueError:  # bad boundaries, bad encodings (UnicodeDecodeError included)
        raise bad("can't parse multipart/form-data request") from None
    return fields
