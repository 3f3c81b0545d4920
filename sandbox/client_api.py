"""The client API: the JSON endpoints under ``/sandbox/`` through which the browser chat page,
the end-to-end tests and the benchmarks act as users (see :class:`sandbox.client.SandboxClient`).

Each endpoint reads its request, calls the matching :class:`~sandbox.users.SimulatedUsers`
action and answers its result as JSON, or ``{"ok": false, "error": ...}`` with the refusal's
status and words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from sandbox.files import file_name, size_text
from sandbox.media import Upload, guess_mime_type
from sandbox.protocol import ApiError, SandboxError, client_error, json_response, read_multipart
from sandbox.updates import UpdateQueue
from sandbox.users import SimulatedUsers

__all__ = ["ClientApi"]


@dataclass(frozen=True, slots=True)
class ClientApi:
    """The ``/sandbox/`` request handlers; the server routes to them.

    Built from, in order: the actions the endpoints perform, the update queue (to redeliver),
    the largest upload the server reads, and the sandbox's ``info``, ``stats`` and
    ``reset_stats`` (for the chat page and the benchmarks).
    """

    _users: SimulatedUsers
    _updates: UpdateQueue
    _max_body: int
    _summary: Callable[[str | None, int | None], dict[str, Any]]
    _statistics: Callable[[], dict[str, Any]]
    _zero_statistics: Callable[[], None]

    async def info(self, request: web.Request) -> web.Response:
        chat = request.query.get("chat_id", "")
        chat_id = int(chat) if chat.lstrip("-").isdigit() else None
        return json_response(self._summary(request.query.get("language_code"), chat_id))

    async def users(self, request: web.Request) -> web.Response:
        return json_response({"users": self._users.users()})

    async def add_user(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        return _client_call(
            lambda: self._users.add_user(
                _int_field(body, "id"),
                first_name=str(body.get("first_name") or "Resident"),
                last_name=_opt_str(body, "last_name"),
                username=_opt_str(body, "username"),
                language_code=_opt_str(body, "language_code"),
            )
        )

    async def send(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        text = body.get("text")
        if not isinstance(text, str):
            return client_error(SandboxError(400, "The message is empty; type something to send."))
        return _client_call(
            lambda: self._users.send_user_message(_path_int(request, "user_id"), text)
        )

    async def send_photo(self, request: web.Request) -> web.Response:
        """Multipart: a ``photo`` file part, optional ``caption`` and ``forwarded_from`` fields."""
        try:
            form = await self._form(request)
            upload = _form_upload(form, "photo")
            caption = _form_text(form, "caption")
            result = self._users.send_user_photo(
                _path_int(request, "user_id"),
                upload.data,
                caption,
                upload.filename,
                _form_text(form, "forwarded_from"),
            )
        except SandboxError as error:
            return client_error(error)
        return json_response(result)

    async def send_document(self, request: web.Request) -> web.Response:
        """Multipart: a ``document`` file part, optional ``caption``, ``mime_type`` and
        ``forwarded_from`` fields (without ``mime_type``, the type is guessed from the file
        name, then the part's type)."""
        try:
            form = await self._form(request)
            upload = _form_upload(form, "document")
            name = file_name(upload.filename) or "file"
            mime = _form_text(form, "mime_type") or guess_mime_type(
                name, upload.content_type, upload.data
            )
            result = self._users.send_user_document(
                _path_int(request, "user_id"),
                upload.data,
                name,
                mime,
                _form_text(form, "caption"),
                _form_text(form, "forwarded_from"),
            )
        except SandboxError as error:
            return client_error(error)
        return json_response(result)

    async def send_location(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        # Any: the method checks that both are numbers in range.
        latitude: Any = body.get("latitude")
        longitude: Any = body.get("longitude")
        # Any: the method checks it is a non-empty string when given.
        forwarded_from: Any = body.get("forwarded_from")
        return _client_call(
            lambda: self._users.send_user_location(
                _path_int(request, "user_id"), latitude, longitude, forwarded_from
            )
        )

    async def _form(self, request: web.Request) -> dict[str, str | Upload]:
        if request.content_type != "multipart/form-data":
            raise SandboxError(400, "send the file as multipart/form-data")
        try:
            return await read_multipart(request, self._max_body)
        except ApiError as error:
            if error.code == 413:
                raise SandboxError(
                    413,
                    f"The file is too large for the sandbox: at most {size_text(self._max_body)} "
                    "in one upload.",
                ) from None
            raise SandboxError(
                error.code, "The upload could not be read; try sending the file again."
            ) from None

    async def tap(self, request: web.Request) -> web.Response:
        body = await _json_body(request)

        def call() -> dict[str, Any]:
            message_id = body.get("message_id")
            data = body.get("data")
            text = body.get("button_text")
            return self._users.tap(
                _path_int(request, "user_id"),
                message_id=_int_field(body, "message_id") if message_id is not None else None,
                button_text=str(text) if text is not None else None,
                data=str(data) if data is not None else None,
                forge=bool(body.get("forge", False)),
            )

        return _client_call(call)

    async def web_app(self, request: web.Request) -> web.Response:
        body = await _json_body(request)

        def call() -> dict[str, Any]:
            message_id = body.get("message_id")
            return self._users.open_web_app(
                _path_int(request, "user_id"), str(body.get("button_text") or ""),
                message_id=_int_field(body, "message_id") if message_id is not None else None,
                auth_date=_int_field(body, "auth_date") if "auth_date" in body else None,
            )

        return _client_call(call)

    async def block(self, request: web.Request) -> web.Response:
        return _client_call(lambda: self._users.block(_path_int(request, "user_id")))

    async def unblock(self, request: web.Request) -> web.Response:
        return _client_call(lambda: self._users.unblock(_path_int(request, "user_id")))

    async def chat(self, request: web.Request) -> web.Response:
        return _client_call(
            lambda: self._users.chat(
                _path_int(request, "user_id"),
                _query_int(request, "after_seq", 0) or 0,
                _query_int(request, "limit", None),
            )
        )

    async def redeliver(self, request: web.Request) -> web.Response:
        return _client_call(lambda: self._updates.redeliver(_path_int(request, "update_id")))

    async def stats(self, request: web.Request) -> web.Response:
        return json_response(self._statistics())

    async def reset_stats(self, request: web.Request) -> web.Response:
        self._zero_statistics()
        return json_response({"ok": True})

    async def wait(self, request: web.Request) -> web.Response:
        try:
            user_id = _query_int(request, "user_id", None)
            after_seq = _query_int(request, "after_seq", 0) or 0
            timeout = float(request.query.get("timeout", "10"))
            result = await self._users.wait(user_id, after_seq, timeout)
        except (SandboxError, ValueError) as error:
            return client_error(error)
        return json_response(result)


def _client_call(call: Callable[[], dict[str, Any]]) -> web.Response:
    try:
        return json_response(call())
    except SandboxError as error:
        return client_error(error)


async def _json_body(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(
            text='{"ok":false,"error":"body must be JSON"}', content_type="application/json"
        ) from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text='{"ok":false,"error":"body must be a JSON object"}',
            content_type="application/json",
        )
    return body


def _int_field(body: Mapping[str, Any], name: str) -> int:
    value = body.get(name)
    if isinstance(value, bool):
        raise SandboxError(400, f"{name} must be an integer")
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise SandboxError(400, f"{name} must be an integer") from None


def _opt_str(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    return None if value is None or value == "" else str(value)


def _path_int(request: web.Request, name: str) -> int:
    try:
        return int(request.match_info[name])
    except ValueError:
        raise SandboxError(400, f"{name} must be an integer") from None


def _query_int(request: web.Request, name: str, default: int | None) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SandboxError(400, f"{name} must be an integer") from None


def _form_upload(form: Mapping[str, str | Upload], name: str) -> Upload:
    value = form.get(name)
    if not isinstance(value, Upload):
        raise SandboxError(400, f"the form needs a file part named {name!r}")
    return value


def _form_text(form: Mapping[str, str | Upload], name: str) -> str | None:
    value = form.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise SandboxError(400, f"{name} must be a text field")
    return value
