"""A local stand-in for the Telegram Bot API, served by aiohttp.

The bot talks to it exactly as to ``api.telegram.org`` (PTB's ``base_url``): long polling or a
webhook, the same parameter encodings, the same answer shapes and the same error texts for the
rules that matter to CivicPulse (text and caption length, ``callback_data`` size, flood control,
blocked users, stale callback queries, unmodified edits, file sizes and types). Files (photos and
documents, from the bot or from users) are kept in memory and served like Telegram's:
``getFile`` gives a path for ``GET /file/bot<token>/<file_path>``. Simulated users act through a
small JSON API under ``/sandbox/`` that the browser chat page, the end-to-end tests and the
benchmarks share. With a ``state_dir`` the sandbox also saves what it holds (users, chats,
files, unconfirmed updates, counters) and carries on from it when started again; see
:mod:`sandbox.state`.

Everything happens on the event loop without awaiting in the middle of a state change, so every
request sees and leaves a consistent state without locks. Lookups are by dictionary (chat by id,
message by id within its chat) so the cost of a request does not grow with the history.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import logging
import math
import re
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import BodyPartReader, hdrs, web

from sandbox.formatting import EntityParseError, parse_text, strip_text, user_entities
from sandbox.media import (
    FileLimits,
    FileStore,
    NewFile,
    StoredFile,
    Upload,
    guess_mime_type,
    is_mime_type,
    sniff_image,
)
from sandbox.ratelimit import Clock, FloodControl, RateLimit
from sandbox.state import (
    Batch,
    SavedState,
    StateWriter,
    discard_state,
    load_state,
    lock_state_dir,
)

__all__ = ["ApiError", "BotApiSandbox", "Params", "SandboxError"]

_LOG = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("static")

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
# Telegram refuses photos whose width + height exceeds this, or whose sides differ over 20-fold.
MAX_PHOTO_SIDES = 10_000
MAX_PHOTO_RATIO = 20
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
_ALL_EVENTS_KEPT = 10_000

# Update types Telegram sends when allowed_updates is empty or was never set.
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

_CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note",
        "upload_video_note",
    }
)  # fmt: skip

# An inline button must carry exactly one action; a bare text button is refused.
_BUTTON_ACTIONS = (
    "callback_data", "url", "login_url", "web_app", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)  # fmt: skip

_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
BLOCKED = "Forbidden: bot was blocked by the user"
TOO_LARGE = "Request Entity Too Large"
WRONG_FILE = "Bad Request: wrong file identifier/HTTP URL specified"
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)


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


def _bad(description: str) -> ApiError:
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
        raise _bad(f'field "{name}" must be of type String')

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
        raise _bad(f'field "{name}" must be of type Integer')

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
        raise _bad(f'field "{name}" must be of type Boolean')

    def get_json(self, name: str, error: str | None = None) -> Any:
        """An object or array field: decoded when it arrived as a JSON string inside a form."""
        value = self._data.get(name)
        if isinstance(value, str):
            if not value:
                return None
            try:
                return json.loads(value)
            except ValueError:
                raise _bad(error or f"can't parse {name} JSON object") from None
        return value


@dataclass(slots=True)
class _User:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    blocked: bool = False
    # Cached Bot API objects: every message carries them, so build them once per change.
    api_from: dict[str, Any] = field(default_factory=dict)
    api_chat: dict[str, Any] = field(default_factory=dict)

    def refresh(self) -> None:
        base: dict[str, Any] = {"id": self.id, "first_name": self.first_name}
        if self.last_name:
            base["last_name"] = self.last_name
        if self.username:
            base["username"] = self.username
        self.api_from = {"id": self.id, "is_bot": False, **base}
        if self.language_code:
            self.api_from["language_code"] = self.language_code
        self.api_chat = {**base, "type": "private"}

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "username": self.username,
            "language_code": self.language_code,
            "blocked": self.blocked,
        }


@dataclass(slots=True)
class _Message:
    message_id: int
    from_bot: bool
    date: int
    # The text, or a media message's caption ("" for none): edits and "not modified" treat both
    # alike, and the Bot API shapes tell them apart by ``media``.
    text: str
    entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None = None  # inline keyboards only; they belong to a message
    reply_to: int | None = None
    link_preview_options: dict[str, Any] | None = None
    edit_count: int = 0
    edit_date: int | None = None
    # Bot API fields of a media message, as sent: {"photo": [...]}, {"document": {...}} or
    # {"location": {...}}; None for a text message.
    media: dict[str, Any] | None = None
    caption_above: bool = False
    # A user's message forwarded from someone else: the Bot API's ``forward_origin``.
    forward_origin: dict[str, Any] | None = None


@dataclass(slots=True)
class _Query:
    """A callback query sent to the bot, awaiting answerCallbackQuery."""

    id: str
    chat_id: int
    message_id: int
    data: str
    tap_seq: int


class _Chat:
    """A private chat: its messages by id and its event log ordered by ``seq``."""

    __slots__ = (
        "chat_instance",
        "events",
        "keyboard_ids",
        "messages",
        "next_message_id",
        "reply_keyboard",
        "seqs",
        "user",
        "waiters",
    )

    def __init__(self, user: _User, chat_instance: str) -> None:
        self.user = user
        self.chat_instance = chat_instance
        self.next_message_id = 1
        self.messages: dict[int, _Message] = {}
        self.events: list[dict[str, Any]] = []
        self.seqs: list[int] = []  # parallel to events, for bisect on after_seq
        # Ids of bot messages that were sent or edited with an inline keyboard, ascending, so
        # "the latest message with this button" is found from the end without a full scan.
        self.keyboard_ids: list[int] = []
        self.reply_keyboard: dict[str, Any] | None = None
        self.waiters: list[asyncio.Future[None]] = []

    @property
    def last_seq(self) -> int:
        return self.seqs[-1] if self.seqs else 0

    def remember_keyboard(self, message_id: int) -> None:
        ids = self.keyboard_ids
        if not ids or message_id > ids[-1]:
            ids.append(message_id)  # the usual case: a new message
            return
        at = bisect.bisect_left(ids, message_id)
        if at == len(ids) or ids[at] != message_id:
            ids.insert(at, message_id)  # an old message got a keyboard back

    def events_after(self, after_seq: int, limit: int | None = None) -> list[dict[str, Any]]:
        start = bisect.bisect_right(self.seqs, after_seq)
        end = len(self.events) if limit is None else min(len(self.events), start + limit)
        return self.events[start:end]


@dataclass(slots=True)
class _Update:
    update_id: int
    kind: str
    body: dict[str, Any]
    encoded: bytes | None = None  # the webhook body, built once even if retried


@dataclass(slots=True)
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None
    task: asyncio.Task[None] | None = None
    deliveries: set[asyncio.Task[None]] = field(default_factory=set)


@dataclass(slots=True)
class _Described:
    """A successful result that Telegram accompanies with a description (setWebhook and co)."""

    result: Any
    description: str


Handler = Callable[[Params], Awaitable[Any]]


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _json_response(payload: Any, status: int = 200) -> web.Response:
    return web.Response(body=_dumps(payload), status=status, content_type="application/json")


def _buttons(markup: dict[str, Any] | None) -> list[list[dict[str, Any]]]:
    if not markup:
        return []
    rows: list[list[dict[str, Any]]] = markup.get("inline_keyboard") or []
    return rows


class BotApiSandbox:
    """A Telegram Bot API server for one bot, with simulated users in private chats.

    Args:
        token: the bot token the API answers to; its numeric prefix is the bot's user id.
        bot_username: the bot's username (getMe).
        global_limit: flood limit over all chats; None disables it.
        chat_limit: flood limit per chat; None disables it.
        clock: monotonic clock for the flood limits (tests inject a fake one).
        bot_name: the bot's first_name (getMe).
        webhook_retry_delay: first pause before re-sending a failed webhook delivery; doubles
            up to ``webhook_max_retry_delay``.
        history_limit: how many past updates are kept for redelivery.
        file_limits: size limits for uploads and downloads (Telegram's by default).
        state_dir: where to keep users, chats, messages, files, unconfirmed updates and the
            counters across restarts (see :mod:`sandbox.state`); None keeps everything in
            memory only (tests and benchmarks).
        state_interval: the longest a change waits before it is written to ``state_dir``.

    Raises:
        StateDirBusy: another sandbox is using ``state_dir``.
    """

    def __init__(
        self,
        token: str = "123456:sandbox-token",
        bot_username: str = "civicpulse_bot",
        global_limit: RateLimit | None = RateLimit(rate=30, burst=30),  # noqa: B008 (frozen)
        chat_limit: RateLimit | None = RateLimit(rate=1, burst=5),  # noqa: B008 (frozen)
        *,
        clock: Clock = time.monotonic,
        bot_name: str = "CivicPulse",
        webhook_retry_delay: float = 0.5,
        webhook_max_retry_delay: float = 30.0,
        history_limit: int = 100_000,
        file_limits: FileLimits = FileLimits(),  # noqa: B008 (frozen)
        state_dir: Path | str | None = None,
        state_interval: float = 0.5,
    ) -> None:
        prefix, sep, _ = token.partition(":")
        if not sep or not prefix.isdigit():
            raise ValueError("token must look like '<bot id>:<secret>'")
        self.token = token
        self.bot_id = int(prefix)
        self.bot_username = bot_username
        self.bot_name = bot_name
        self.global_limit = global_limit
        self.chat_limit = chat_limit
        self._flood = FloodControl(global_limit, chat_limit, clock)
        self._webhook_retry_delay = webhook_retry_delay
        self._webhook_max_retry_delay = webhook_max_retry_delay
        self._history_limit = history_limit
        self.file_limits = file_limits
        self._files = FileStore()
        # Room for the largest upload plus the other form fields; bigger bodies get 413 before
        # they are read.
        self._max_body = max(file_limits.photo, file_limits.document) + 1024**2

        self._bot_from: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
        }
        self._users: dict[int, _User] = {}
        self._chats: dict[int, _Chat] = {}
        self._seq = 0
        # Every event of every chat, for waiters on "anything new" (the browser's user list).
        self._all_events: list[dict[str, Any]] = []
        self._all_seqs: list[int] = []
        self._any_waiters: list[asyncio.Future[None]] = []

        self._next_update_id = 1000
        self._pending: deque[_Update] = deque()
        self._redeliveries: deque[_Update] = deque()  # delivered again whatever the offset
        self._history: OrderedDict[int, _Update] = OrderedDict()
        self._update_waiters: list[asyncio.Future[None]] = []
        self._allowed_updates: list[str] = []
        self._poll_generation = 0
        self._webhook: _Webhook | None = None
        self._inflight: dict[int, _Update] = {}

        self._next_query = 1
        self._queries: dict[str, _Query] = {}
        self._commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self._descriptions: dict[tuple[str, str], str] = {}
        self._menu_buttons: dict[int | None, dict[str, Any]] = {}

        self._calls: Counter[str] = Counter()
        self._counters: Counter[str] = Counter()
        self._stats_since = time.time()

        self._closing = False
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None

        # What changed since the last write to the state directory (only with one).
        self._store: StateWriter | None = None
        self._dirty_users: dict[int, None] = {}  # an ordered set: new users keep their order
        self._dirty_messages: dict[tuple[int, int], None] = {}
        self._new_events: list[dict[str, Any]] = []
        self._dirty_queries: set[str] = set()
        self._new_files: list[StoredFile] = []
        self._saved_updates: set[int] = set()
        self._updates_changed = False
        if state_dir is not None:
            lock = lock_state_dir(Path(state_dir))
            try:
                saved = load_state(Path(state_dir))
            except BaseException:
                if lock is not None:
                    lock.close()
                raise
            if saved is not None:
                try:
                    self._restore(saved)
                except (KeyError, TypeError, ValueError) as exc:
                    self._forget_everything()
                    discard_state(Path(state_dir), f"{type(exc).__name__}: {exc}")
                    saved = None
            if saved is None or "update_id" not in saved.counters:
                self._next_update_id = _fresh_update_id()
            self._store = StateWriter(
                Path(state_dir), self._collect_changes, state_interval, lock
            )
            self._files.on_add = self._file_added

        self._methods: dict[str, tuple[str, Handler]] = {}
        for name, handler in (
            ("getMe", self._get_me),
            ("logOut", self._log_out),
            ("close", self._log_out),
            ("getUpdates", self._get_updates),
            ("setWebhook", self._set_webhook),
            ("deleteWebhook", self._delete_webhook),
            ("getWebhookInfo", self._get_webhook_info),
            ("sendMessage", self._send_message),
            ("sendPhoto", self._send_photo),
            ("sendDocument", self._send_document),
            ("getFile", self._get_file),
            ("editMessageText", self._edit_message_text),
            ("editMessageCaption", self._edit_message_caption),
            ("editMessageReplyMarkup", self._edit_message_reply_markup),
            ("deleteMessage", self._delete_message),
            ("deleteMessages", self._delete_messages),
            ("answerCallbackQuery", self._answer_callback_query),
            ("sendChatAction", self._send_chat_action),
            ("getChat", self._get_chat),
            ("setMyCommands", self._set_my_commands),
            ("getMyCommands", self._get_my_commands),
            ("deleteMyCommands", self._delete_my_commands),
            ("setMyDescription", self._set_description("description")),
            ("getMyDescription", self._get_description("description")),
            ("setMyShortDescription", self._set_description("short_description")),
            ("getMyShortDescription", self._get_description("short_description")),
            ("setChatMenuButton", self._set_chat_menu_button),
            ("getChatMenuButton", self._get_chat_menu_button),
        ):
            self.add_method(name, handler)

        self._app = self._build_app()

    # --- public surface -----------------------------------------------------------------------

    def add_method(self, name: str, handler: Handler) -> None:
        """Register (or replace) a Bot API method; names match case-insensitively."""
        self._methods[name.lower()] = (name, handler)

    @property
    def app(self) -> web.Application:
        """The aiohttp application (Bot API, client API and chat page)."""
        return self._app

    @property
    def base_url(self) -> str:
        """``http://host:port`` once started."""
        if self._base_url is None:
            raise RuntimeError("the sandbox is not started")
        return self._base_url

    @property
    def api_url(self) -> str:
        """What PTB's ``base_url`` takes: it appends the token and then ``/method``."""
        return self.base_url + "/bot"

    @property
    def file_url(self) -> str:
        """What PTB's ``base_file_url`` takes: it appends the token and then ``/file_path``."""
        return self.base_url + "/file/bot"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0 picks a free port) and return the base URL."""
        if self._runner is not None:
            return self.base_url
        # No access log: benchmarks push thousands of requests a second through here.
        runner = web.AppRunner(self._app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound_port = runner.addresses[0][1] if runner.addresses else port
        shown_host = f"[{host}]" if ":" in host else host
        self._base_url = f"http://{shown_host}:{bound_port}"
        return self._base_url

    async def stop(self) -> None:
        """Stop serving; pending long polls return at once. With a state directory, everything
        is written before this returns."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            self._wake_everyone()
            await runner.cleanup()
            self._base_url = None
        if self._store is not None:
            await self._store.close()

    async def save(self) -> None:
        """Write what changed to the state directory now (a no-op without one)."""
        if self._store is not None:
            await self._store.flush()

    async def __aenter__(self) -> BotApiSandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- app wiring ---------------------------------------------------------------------------

    def _build_app(self) -> web.Application:
        app = web.Application(client_max_size=self._max_body)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        app.router.add_get("/", self._handle_index)
        app.router.add_static("/static", STATIC_DIR, show_index=False)
        r = app.router
        r.add_get("/sandbox/info", self._h_info)
        r.add_get("/sandbox/users", self._h_users)
        r.add_post("/sandbox/users", self._h_add_user)
        r.add_post("/sandbox/users/{user_id}/messages", self._h_send)
        r.add_post("/sandbox/users/{user_id}/photos", self._h_send_photo)
        r.add_post("/sandbox/users/{user_id}/documents", self._h_send_document)
        r.add_post("/sandbox/users/{user_id}/locations", self._h_send_location)
        r.add_get("/sandbox/files/{file_id}", self._h_file)
        r.add_post("/sandbox/users/{user_id}/taps", self._h_tap)
        r.add_post("/sandbox/users/{user_id}/block", self._h_block)
        r.add_post("/sandbox/users/{user_id}/unblock", self._h_unblock)
        r.add_get("/sandbox/users/{user_id}/chat", self._h_chat)
        r.add_post("/sandbox/updates/{update_id}/redeliver", self._h_redeliver)
        r.add_get("/sandbox/stats", self._h_stats)
        r.add_post("/sandbox/reset-stats", self._h_reset_stats)
        r.add_get("/sandbox/wait", self._h_wait)
        app.on_startup.append(self._on_startup)
        app.on_shutdown.append(self._on_shutdown)
        app.on_cleanup.append(self._on_cleanup)
        return app

    async def _on_startup(self, app: web.Application) -> None:
        self._closing = False

    async def _on_shutdown(self, app: web.Application) -> None:
        # Runs before aiohttp waits for open requests: let long polls answer now.
        self._closing = True
        self._wake_everyone()

    async def _on_cleanup(self, app: web.Application) -> None:
        self._closing = True
        self._wake_everyone()
        if self._webhook is not None:
            await self._stop_webhook_delivery(self._webhook, drop=False)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _handle_index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC_DIR / "chat.html")

    # --- Bot API transport --------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        info = request.match_info
        if info["token"] != self.token:
            return _json_response(ApiError(401, "Unauthorized").payload(), 401)
        entry = self._methods.get(info["method"].lower())
        if entry is None:
            return _json_response(ApiError(404, "Not Found: method not found").payload(), 404)
        name, handler = entry
        self._calls[name] += 1
        try:
            params = await self._read_params(request)
            result = await handler(params)
        except ApiError as error:
            if error.code == 429:
                self._counters["responses_429"] += 1
            elif error.code == 403:
                self._counters["responses_403"] += 1
            return _json_response(error.payload(), error.code)
        if isinstance(result, _Described):
            return _json_response(
                {"ok": True, "result": result.result, "description": result.description}
            )
        return _json_response({"ok": True, "result": result})

    async def _read_params(self, request: web.Request) -> Params:
        data: dict[str, Any] = dict(request.query) if request.query_string else {}
        if request.method != "POST" or not request.body_exists:
            return Params(data)
        ctype = request.content_type
        if ctype == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise _bad("can't parse JSON encoded request") from None
            if not isinstance(body, dict):
                raise _bad("can't parse JSON encoded request")
            data.update(body)
        elif ctype == "application/x-www-form-urlencoded":
            form = await request.post()
            for key, value in form.items():
                data[key] = value
        elif ctype == "multipart/form-data":
            data.update(await self._read_multipart(request))
        return Params(data)

    async def _read_multipart(self, request: web.Request) -> dict[str, str | Upload]:
        """A multipart form: text fields as strings, file parts as :class:`Upload`.

        Read part by part into memory rather than through ``request.post()``, which spools
        files to temporary files on disk. An oversized body is 413, as from Telegram's front
        end; a malformed one is 400.
        """
        fields: dict[str, str | Upload] = {}
        total = 0
        try:
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader):
                    raise _bad("can't parse multipart/form-data request")
                name = part.name
                value: str | Upload
                if part.filename is None:
                    value = await part.text()
                    total += len(value)
                else:
                    content = bytes(await part.read(decode=True))
                    total += len(content)
                    value = Upload(content, part.filename, part.headers.get(hdrs.CONTENT_TYPE))
                if total > self._max_body:
                    raise ApiError(413, TOO_LARGE)
                if name:
                    fields[name] = value
        except web.HTTPRequestEntityTooLarge:
            raise ApiError(413, TOO_LARGE) from None
        except ValueError:  # bad boundaries, bad encodings (UnicodeDecodeError included)
            raise _bad("can't parse multipart/form-data request") from None
        return fields

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        """``GET /file/bot<token>/<file_path>``: what PTB's ``File.download_*`` fetch."""
        if request.match_info["token"] != self.token:
            return _json_response(ApiError(401, "Unauthorized").payload(), 401)
        stored = self._files.by_path(request.match_info["file_path"])
        if stored is None:
            return _json_response(ApiError(404, "Not Found").payload(), 404)
        self._counters["file_downloads"] += 1
        return _file_response(stored, inline=False)

    # --- helpers shared by methods ------------------------------------------------------------

    def _chat_param(self, p: Params, name: str = "chat_id") -> _Chat:
        raw = p.raw(name)
        if raw is None or raw == "":
            raise _bad(f"{name} is empty")
        try:
            chat_id = int(raw) if not isinstance(raw, bool) else None
        except (TypeError, ValueError):
            chat_id = None
        chat = self._chats.get(chat_id) if chat_id is not None else None
        if chat is None:
            raise _bad("chat not found")
        return chat

    def _text_param(self, p: Params) -> tuple[str, list[dict[str, Any]]]:
        plain, entities = self._formatted_param(p, "text", "entities")
        if not plain:
            raise _bad("message text is empty")
        if len(plain) > MAX_TEXT_LENGTH:
            raise _bad("message is too long")
        return plain, entities

    def _caption_param(self, p: Params) -> tuple[str, list[dict[str, Any]]]:
        """A media caption: optional (empty after parsing means none), 1024 characters at most
        after entity parsing, with the same parse_mode rules as a text."""
        plain, entities = self._formatted_param(p, "caption", "caption_entities")
        if len(plain) > MAX_CAPTION_LENGTH:
            raise _bad("message caption is too long")
        return plain, entities

    def _formatted_param(
        self, p: Params, name: str, entities_name: str
    ) -> tuple[str, list[dict[str, Any]]]:
        """A text-like field parsed by parse_mode (or with explicit entities), then stripped."""
        text = p.get_str(name)
        if not text:
            return "", []
        parse_mode = p.get_str("parse_mode")
        try:
            if parse_mode:
                plain, entities = parse_text(text, parse_mode)
            else:
                plain = text
                entities = self._entities_param(p.get_json(entities_name))
        except EntityParseError as error:
            raise ApiError(400, str(error)) from None
        return strip_text(plain, entities)

    @staticmethod
    def _entities_param(value: Any) -> list[dict[str, Any]]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(
            isinstance(e, dict) and isinstance(e.get("offset"), int) for e in value
        ):
            raise _bad("can't parse entities JSON object")
        return [dict(e) for e in value]

    def _markup_param(self, p: Params, inline_only: bool = False) -> dict[str, Any] | None:
        markup = p.get_json("reply_markup", "can't parse reply keyboard markup JSON object")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            return self._check_inline_keyboard(markup)
        if inline_only:
            raise _bad("inline keyboard expected")
        if "keyboard" in markup or "remove_keyboard" in markup or "force_reply" in markup:
            return markup
        raise _bad("can't parse reply keyboard markup JSON object")

    @staticmethod
    def _check_inline_keyboard(markup: dict[str, Any]) -> dict[str, Any]:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise _bad("can't parse inline keyboard button: Text must be a String")
                data = button.get("callback_data")
                if data is not None:
                    size = len(data.encode()) if isinstance(data, str) else 0
                    if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                        raise _bad("BUTTON_DATA_INVALID")
                elif not any(button.get(key) is not None for key in _BUTTON_ACTIONS):
                    raise _bad("text buttons are unallowed in the inline keyboard")
        return {"inline_keyboard": rows}

    def _check_can_send(self, chat: _Chat) -> None:
        """403 for a blocked user, then flood control; a refused call changes nothing."""
        if chat.user.blocked:
            raise ApiError(403, BLOCKED)
        retry_after = self._flood.acquire(chat.user.id)
        if retry_after:
            raise ApiError(
                429,
                f"Too Many Requests: retry after {retry_after}",
                {"retry_after": retry_after},
            )

    def _message_api(self, chat: _Chat, msg: _Message, nested: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "message_id": msg.message_id,
            "from": self._bot_from if msg.from_bot else chat.user.api_from,
            "chat": chat.user.api_chat,
            "date": msg.date,
        }
        if msg.media is None:
            out["text"] = msg.text
            if msg.entities:
                out["entities"] = msg.entities
        else:
            out.update(msg.media)
            if msg.text:
                out["caption"] = msg.text
                if msg.entities:
                    out["caption_entities"] = msg.entities
                if msg.caption_above:
                    out["show_caption_above_media"] = True
        if msg.forward_origin is not None:
            out["forward_origin"] = msg.forward_origin
        if msg.edit_date is not None:
            out["edit_date"] = msg.edit_date
        if msg.link_preview_options:
            out["link_preview_options"] = msg.link_preview_options
        if msg.reply_markup:
            out["reply_markup"] = msg.reply_markup
        if nested and msg.reply_to is not None:
            target = chat.messages.get(msg.reply_to)
            if target is not None:
                out["reply_to_message"] = self._message_api(chat, target, nested=False)
        return out

    @staticmethod
    def _message_view(msg: _Message) -> dict[str, Any]:
        """The client API's flat view of a message (what the chat page and tests read).

        A media message has an empty ``text`` and its caption (or None) in ``caption``, and its
        ``photo`` sizes and ``document`` carry a ``url`` under /sandbox/files/ for the page.
        """
        media = msg.media
        view: dict[str, Any] = {
            "message_id": msg.message_id,
            "from": "bot" if msg.from_bot else "user",
            "date": msg.date,
            "text": msg.text if media is None else "",
            "entities": msg.entities if media is None else [],
            "buttons": _buttons(msg.reply_markup),
            "edit_count": msg.edit_count,
        }
        if media is not None:
            view["caption"] = msg.text or None
            view["caption_entities"] = msg.entities
            if "photo" in media:
                view["photo"] = [{**size, "url": _file_url(size)} for size in media["photo"]]
            if "document" in media:
                view["document"] = {**media["document"], "url": _file_url(media["document"])}
            if "location" in media:
                view["location"] = media["location"]
        if msg.forward_origin is not None:
            view["forwarded_from"] = msg.forward_origin.get("sender_user_name")
        if msg.edit_date is not None:
            view["edit_date"] = msg.edit_date
        if msg.reply_to is not None:
            view["reply_to_message_id"] = msg.reply_to
        return view

    def _add_event(self, chat: _Chat, event: dict[str, Any]) -> dict[str, Any]:
        self._seq += 1
        event["seq"] = self._seq
        event["chat_id"] = chat.user.id
        chat.events.append(event)
        chat.seqs.append(self._seq)
        self._all_events.append(event)
        self._all_seqs.append(self._seq)
        if len(self._all_events) > 2 * _ALL_EVENTS_KEPT:
            # Only "anything new?" waiters read this log, and only its tail; trimming in halves
            # keeps the cost amortised O(1) and memory bounded in long benchmarks.
            del self._all_events[:-_ALL_EVENTS_KEPT]
            del self._all_seqs[:-_ALL_EVENTS_KEPT]
        if chat.waiters:
            _wake(chat.waiters)
        if self._any_waiters:
            _wake(self._any_waiters)
        if self._store is not None:
            self._event_changed(chat, event)
        return event

    def _enqueue(self, kind: str, body: dict[str, Any]) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        update = _Update(update_id, kind, {"update_id": update_id, kind: body})
        self._pending.append(update)
        self._history[update_id] = update
        if len(self._history) > self._history_limit:
            self._history.popitem(last=False)
        self._counters["updates_created"] += 1
        if self._store is not None:
            self._updates_touched()
        if self._update_waiters:
            _wake(self._update_waiters)
        return update_id

    def _wake_everyone(self) -> None:
        _wake(self._update_waiters)
        _wake(self._any_waiters)
        for chat in self._chats.values():
            if chat.waiters:
                _wake(chat.waiters)

    # --- persistence (only with a state directory) --------------------------------------------

    def _event_changed(self, chat: _Chat, event: dict[str, Any]) -> None:
        """Every change to a chat goes through its log, so this is where changes are noted."""
        assert self._store is not None
        chat_id = chat.user.id
        self._dirty_users[chat_id] = None  # its next message id or reply keyboard may change
        message_id = event["message"]["message_id"] if "message" in event else None
        if message_id is None and event["kind"] == "delete":
            message_id = event["message_id"]
        if message_id is not None:
            self._dirty_messages[(chat_id, message_id)] = None
        # "typing…" matters only while it shows; a restarted chat does not replay it.
        if event["kind"] != "chat_action":
            self._new_events.append(event)
        self._store.touch()

    def _updates_touched(self) -> None:
        assert self._store is not None
        self._updates_changed = True
        self._store.touch()

    def _file_added(self, stored: StoredFile) -> None:
        assert self._store is not None
        self._new_files.append(stored)
        self._store.touch()

    def _collect_changes(self, force: bool) -> Batch | None:
        """The changes since the last call, as plain data for the writer's thread.

        Runs on the event loop, so it sees a consistent state. What it hands over is never
        changed in place afterwards (edits replace a message's fields, they do not mutate them),
        so the thread may encode it while the loop goes on.
        """
        if not (
            force
            or self._dirty_users
            or self._dirty_messages
            or self._new_events
            or self._dirty_queries
            or self._new_files
            or self._updates_changed
        ):
            return None
        batch = Batch(
            counters={
                "update_id": self._next_update_id,
                "seq": self._seq,
                "query": self._next_query,
                "file": self._files.next_number,
            }
        )
        for user_id in self._dirty_users:
            chat = self._chats[user_id]
            user = chat.user
            batch.users.append(
                (
                    user_id,
                    {
                        "id": user.id,
                        "first_name": user.first_name,
                        "last_name": user.last_name,
                        "username": user.username,
                        "language_code": user.language_code,
                        "blocked": user.blocked,
                        "chat_instance": chat.chat_instance,
                        "next_message_id": chat.next_message_id,
                        "reply_keyboard": chat.reply_keyboard,
                    },
                )
            )
        self._dirty_users = {}
        for chat_id, message_id in self._dirty_messages:
            msg = self._chats[chat_id].messages.get(message_id)
            if msg is None:
                batch.deleted_messages.append((chat_id, message_id))
            else:
                fields = {name: getattr(msg, name) for name in _Message.__slots__}
                batch.messages.append((chat_id, message_id, fields))
        self._dirty_messages = {}
        batch.events, self._new_events = self._new_events, []
        for query_id in self._dirty_queries:
            query = self._queries.get(query_id)
            if query is None:
                batch.answered_queries.append(query_id)
            else:
                batch.queries.append(
                    {name: getattr(query, name) for name in _Query.__slots__}
                )
        self._dirty_queries = set()
        for stored in self._new_files:
            meta = {name: getattr(stored, name) for name in StoredFile.__slots__}
            data = meta.pop("data")
            batch.files.append((meta, data))
        self._new_files = []
        if self._updates_changed:
            # Unconfirmed = waiting for getUpdates or being delivered to a webhook.
            unconfirmed = {u.update_id: u for u in self._pending}
            unconfirmed.update(self._inflight)
            batch.updates = [
                (u.update_id, u.kind, u.body)
                for update_id, u in unconfirmed.items()
                if update_id not in self._saved_updates
            ]
            batch.confirmed_updates = [u for u in self._saved_updates if u not in unconfirmed]
            self._saved_updates = set(unconfirmed)
            self._updates_changed = False
        return batch

    def _forget_everything(self) -> None:
        """Back to an empty sandbox, after a saved state turned out not to make sense."""
        self._users, self._chats, self._queries = {}, {}, {}
        self._pending, self._history = deque(), OrderedDict()
        self._saved_updates = set()
        self._all_events, self._all_seqs = [], []
        self._files = FileStore()
        self._seq, self._next_query = 0, 1

    def _restore(self, saved: SavedState) -> None:
        """Rebuild users, chats, messages, logs, files and unconfirmed updates from the state
        directory, and continue every counter after its last value."""
        for row in saved.users:
            user = _User(
                int(row["id"]),
                str(row["first_name"]),
                row.get("last_name"),
                row.get("username"),
                row.get("language_code"),
                bool(row.get("blocked")),
            )
            user.refresh()
            self._users[user.id] = user
            chat = _Chat(user, str(row["chat_instance"]))
            chat.next_message_id = int(row["next_message_id"])
            chat.reply_keyboard = row.get("reply_keyboard")
            self._chats[user.id] = chat
        for chat_id, fields in saved.messages:
            owner = self._chats.get(chat_id)
            if owner is None:
                continue
            msg = _Message(**fields)
            owner.messages[msg.message_id] = msg
            if msg.reply_markup:
                owner.keyboard_ids.append(msg.message_id)  # rows come in message id order
        events: list[dict[str, Any]] = []
        for event in saved.events:
            owner = self._chats.get(int(event["chat_id"]))
            if owner is None:
                continue
            if event["kind"] == "message":
                shown = owner.messages.get(int(event.pop("message_id")))
                if shown is None:
                    continue  # deleted since
                event["message"] = self._message_view(shown)
            owner.events.append(event)
            owner.seqs.append(int(event["seq"]))
            events.append(event)
        tail = events[-_ALL_EVENTS_KEPT:]
        self._all_events = list(tail)
        self._all_seqs = [int(e["seq"]) for e in tail]
        for update_id, kind, body in saved.updates:
            update = _Update(update_id, kind, body)
            self._pending.append(update)
            self._history[update_id] = update
            self._saved_updates.add(update_id)
        for row in saved.queries:
            query = _Query(**row)
            if query.chat_id in self._chats:
                self._queries[query.id] = query
        for meta, data in saved.files:
            self._files.restore(StoredFile(**meta, data=data))
        counters = saved.counters
        last_seq = self._all_seqs[-1] if self._all_seqs else 0
        self._seq = max(counters.get("seq", 0), last_seq)
        last_update = saved.updates[-1][0] + 1 if saved.updates else 0
        self._next_update_id = max(counters.get("update_id", 1000), last_update)
        self._next_query = max(counters.get("query", 1), 1)
        self._files.next_number = max(counters.get("file", 1), self._files.next_number)

    # --- Bot API methods: bot and updates -----------------------------------------------------

    async def _get_me(self, p: Params) -> Any:
        return {
            **self._bot_from,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _log_out(self, p: Params) -> Any:
        return True

    def _is_allowed(self, update: _Update, allowed: list[str] | None) -> bool:
        if allowed:
            return update.kind in allowed
        return update.kind not in _DEFAULT_EXCLUDED_UPDATES

    def _collect(self, limit: int) -> list[dict[str, Any]]:
        allowed = self._allowed_updates
        batch: list[dict[str, Any]] = []
        # Redeliveries go first so that the batch's last update_id, which PTB confirms with the
        # next offset, is still the newest genuine one.
        while self._redeliveries and len(batch) < limit:
            update = self._redeliveries.popleft()
            if self._is_allowed(update, allowed):
                batch.append(update.body)
        for update in self._pending:
            if len(batch) >= limit:
                break
            if self._is_allowed(update, allowed):
                batch.append(update.body)
        return batch

    async def _get_updates(self, p: Params) -> Any:
        if self._webhook is not None:
            raise ApiError(409, CONFLICT_WEBHOOK)
        offset = p.get_int("offset")
        limit = p.get_int("limit") or 100
        limit = max(1, min(100, limit))
        timeout = p.get_int("timeout") or 0
        allowed = p.get_json("allowed_updates")
        if isinstance(allowed, list):
            # Remembered like Telegram does: later calls without the field keep the setting.
            self._allowed_updates = [str(kind) for kind in allowed]
        if offset is not None:
            self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        # A newer getUpdates ends an older long poll with 409, as Telegram does; wake it.
        _wake(self._update_waiters)
        self._counters["get_updates"] += 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0, timeout)
        while True:
            batch = self._collect(limit)
            if batch or self._closing:
                self._counters["updates_delivered"] += len(batch)
                return batch
            remaining = deadline - loop.time()
            if remaining <= 0:
                return batch
            await self._wait(self._update_waiters, remaining)
            if generation != self._poll_generation:
                raise ApiError(409, CONFLICT_POLL)
            if self._webhook is not None:
                raise ApiError(409, CONFLICT_WEBHOOK)

    def _confirm(self, offset: int) -> None:
        pending = self._pending
        before = len(pending)
        if offset < 0:
            keep = -offset
            while len(pending) > keep:
                pending.popleft()
        else:
            while pending and pending[0].update_id < offset:
                pending.popleft()
        if self._store is not None and len(pending) != before:
            self._updates_touched()

    @staticmethod
    async def _wait(waiters: list[asyncio.Future[None]], max_wait: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters.append(future)
        try:
            await asyncio.wait_for(future, max_wait)
        except TimeoutError:
            pass
        finally:
            if not future.done():
                future.cancel()
            with contextlib.suppress(ValueError):
                waiters.remove(future)

    async def _set_webhook(self, p: Params) -> Any:
        url = p.get_str("url") or ""
        if not url:
            return await self._delete_webhook(p)
        if not url.startswith(("http://", "https://")):
            # Telegram insists on HTTPS; the sandbox also accepts plain HTTP for local servers.
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        max_connections = p.get_int("max_connections")
        if max_connections is None:
            max_connections = 40
        if not 1 <= max_connections <= 100:
            raise _bad("bad webhook: max_connections must be between 1 and 100")
        secret = p.get_str("secret_token")
        if secret is not None and not _SECRET_TOKEN.match(secret):
            raise _bad("secret token contains unallowed characters")
        allowed = p.get_json("allowed_updates")
        allowed_list = [str(k) for k in allowed] if isinstance(allowed, list) else None
        drop = p.get_bool("drop_pending_updates")
        old = self._webhook
        if old is not None:
            await self._stop_webhook_delivery(old, drop=drop)
        elif drop:
            self._drop_pending()
        if allowed_list is not None:
            self._allowed_updates = allowed_list
        hook = _Webhook(url, secret or None, max_connections, allowed_list)
        self._webhook = hook
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        hook.task = asyncio.get_running_loop().create_task(self._webhook_loop(hook))
        _wake(self._update_waiters)  # a pending getUpdates now ends with 409
        return _Described(True, "Webhook was set")

    async def _delete_webhook(self, p: Params) -> Any:
        drop = p.get_bool("drop_pending_updates")
        hook = self._webhook
        if hook is None:
            if drop:
                self._drop_pending()
            return _Described(True, "Webhook is already deleted")
        await self._stop_webhook_delivery(hook, drop=drop)
        return _Described(True, "Webhook was deleted")

    def _drop_pending(self) -> None:
        self._pending.clear()
        self._redeliveries.clear()
        if self._store is not None:
            self._updates_touched()

    async def _stop_webhook_delivery(self, hook: _Webhook, drop: bool) -> None:
        if self._webhook is hook:
            self._webhook = None
        unsent = list(self._inflight.values())
        tasks = [t for t in (hook.task, *hook.deliveries) if t is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._inflight.clear()
        if drop:
            self._drop_pending()
        elif unsent:
            # Deliveries cut short go back in line for getUpdates, in update order.
            merged = sorted([*unsent, *self._pending], key=lambda u: u.update_id)
            self._pending = deque(merged)

    async def _get_webhook_info(self, p: Params) -> Any:
        pending = len(self._pending) + len(self._redeliveries) + len(self._inflight)
        hook = self._webhook
        info: dict[str, Any] = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": pending,
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            info["ip_address"] = "127.0.0.1"
            if hook.allowed_updates is not None:
                info["allowed_updates"] = hook.allowed_updates
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        return info

    def _take_for_webhook(self, hook: _Webhook) -> _Update | None:
        allowed = hook.allowed_updates or self._allowed_updates
        for queue in (self._redeliveries, self._pending):
            while queue:
                update = queue.popleft()
                if self._is_allowed(update, allowed):
                    return update
        return None

    async def _webhook_loop(self, hook: _Webhook) -> None:
        slots = asyncio.Semaphore(hook.max_connections)
        loop = asyncio.get_running_loop()
        while not self._closing:
            await slots.acquire()
            update = self._take_for_webhook(hook)
            if update is None:
                slots.release()
                await self._wait(self._update_waiters, 3600.0)
                continue
            self._inflight[update.update_id] = update
            task = loop.create_task(self._deliver(hook, update, slots))
            hook.deliveries.add(task)
            task.add_done_callback(hook.deliveries.discard)

    async def _deliver(self, hook: _Webhook, update: _Update, slots: asyncio.Semaphore) -> None:
        assert self._session is not None
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        if update.encoded is None:
            update.encoded = _dumps(update.body)
        delay = self._webhook_retry_delay
        try:
            while True:
                try:
                    async with self._session.post(
                        hook.url, data=update.encoded, headers=headers
                    ) as response:
                        await response.read()
                        if 200 <= response.status < 300:
                            self._counters["updates_delivered"] += 1
                            self._counters["webhook_deliveries"] += 1
                            return
                        error = (
                            f"Wrong response from the webhook: {response.status} "
                            f"{response.reason or ''}".rstrip()
                        )
                except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                    error = f"Connection failed: {exc.__class__.__name__}: {exc}"
                hook.last_error_date = int(time.time())
                hook.last_error_message = error
                self._counters["webhook_failures"] += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._webhook_max_retry_delay)
        finally:
            self._inflight.pop(update.update_id, None)
            slots.release()
            if self._store is not None:
                self._updates_touched()

    # --- Bot API methods: messages ------------------------------------------------------------

    async def _send_message(self, p: Params) -> Any:
        chat = self._chat_param(p)
        text, entities = self._text_param(p)
        markup = self._markup_param(p)
        reply_to = self._reply_to_param(p, chat)
        preview = p.get_json("link_preview_options")
        self._check_can_send(chat)
        msg = _Message(
            message_id=chat.next_message_id,
            from_bot=True,
            date=int(time.time()),
            text=text,
            entities=entities,
            reply_to=reply_to,
            link_preview_options=preview if isinstance(preview, dict) else None,
        )
        return self._post_bot_message(chat, msg, markup)

    async def _send_photo(self, p: Params) -> Any:
        return self._send_media(p, "photo")

    async def _send_document(self, p: Params) -> Any:
        return self._send_media(p, "document")

    def _send_media(self, p: Params, kind: str) -> dict[str, Any]:
        """sendPhoto and sendDocument: the checks of sendMessage, then the file's own."""
        chat = self._chat_param(p)
        caption, entities = self._caption_param(p)
        markup = self._markup_param(p)
        reply_to = self._reply_to_param(p, chat)
        caption_above = p.get_bool("show_caption_above_media")
        source = self._file_param(p, kind)
        # Blocked and flood checks come last, as for texts; the file is stored only once the
        # message is certain, so a refused call leaves nothing behind.
        self._check_can_send(chat)
        stored = self._files.add(source) if isinstance(source, NewFile) else source
        media = (
            {"photo": [stored.photo_size()]} if kind == "photo" else {"document": stored.document()}
        )
        msg = _Message(
            message_id=chat.next_message_id,
            from_bot=True,
            date=int(time.time()),
            text=caption,
            entities=entities,
            reply_to=reply_to,
            media=media,
            caption_above=caption_above,
        )
        return self._post_bot_message(chat, msg, markup)

    def _file_param(self, p: Params, kind: str) -> StoredFile | NewFile:
        """The ``photo``/``document`` field: an upload, an ``attach://`` name of one, or the
        file_id of a stored file of the same kind."""
        value = p.raw(kind)
        if isinstance(value, str) and value.startswith("attach://"):
            value = p.raw(value[len("attach://") :])
            if not isinstance(value, Upload):
                raise _bad(f"there is no {kind} in the request")
        if isinstance(value, Upload):
            return self._check_upload(value, kind)
        if value is None or value == "":
            raise _bad(f"there is no {kind} in the request")
        if not isinstance(value, str):
            raise _bad(f'field "{kind}" must be of type String')
        if value.startswith(("http://", "https://")):
            # Telegram would fetch the URL; the sandbox never leaves the machine.
            raise _bad("failed to get HTTP URL content")
        stored = self._files.get(value.strip())
        if stored is None:
            raise ApiError(400, WRONG_FILE)
        if stored.kind != kind:
            raise _bad("type of file mismatch")
        return stored

    def _check_upload(self, upload: Upload, kind: str) -> NewFile:
        data = upload.data
        if not data:
            raise _bad("file must be non-empty")
        if kind == "document":
            if len(data) > self.file_limits.document:
                raise ApiError(413, TOO_LARGE)
            name = _file_name(upload.filename)
            mime = guess_mime_type(name, upload.content_type, data)
            return NewFile("document", data, mime, file_name=name)
        if len(data) > self.file_limits.photo:
            raise _bad("PHOTO_SAVE_FILE_INVALID")
        image = sniff_image(data)
        if image is None:
            raise _bad("IMAGE_PROCESS_FAILED")
        long_side, short_side = max(image.width, image.height), min(image.width, image.height)
        if image.width + image.height > MAX_PHOTO_SIDES or long_side > MAX_PHOTO_RATIO * short_side:
            raise _bad("PHOTO_INVALID_DIMENSIONS")
        return NewFile("photo", data, image.mime_type, width=image.width, height=image.height)

    def _post_bot_message(
        self, chat: _Chat, msg: _Message, markup: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Add a checked bot message to the chat and its log; the Bot API Message."""
        now = msg.date
        inline = markup if markup and "inline_keyboard" in markup else None
        msg.reply_markup = inline
        chat.next_message_id += 1
        chat.messages[msg.message_id] = msg
        if inline:
            chat.remember_keyboard(msg.message_id)
        event: dict[str, Any] = {"kind": "message", "date": now, "message": self._message_view(msg)}
        if markup is not None and inline is None:
            # A reply keyboard belongs to the chat, not to the message: it stays until replaced.
            chat.reply_keyboard = None if markup.get("remove_keyboard") else markup
            event["reply_keyboard"] = chat.reply_keyboard
        self._add_event(chat, event)
        self._counters["messages_sent"] += 1
        return self._message_api(chat, msg)

    def _reply_to_param(self, p: Params, chat: _Chat) -> int | None:
        target: int | None = None
        allow_missing = p.get_bool("allow_sending_without_reply")
        params = p.get_json("reply_parameters")
        if isinstance(params, dict) and params.get("message_id") is not None:
            target = int(params["message_id"])
            allow_missing = allow_missing or bool(params.get("allow_sending_without_reply"))
        elif "reply_to_message_id" in p:
            target = p.get_int("reply_to_message_id")
        if target is None:
            return None
        if target not in chat.messages:
            if allow_missing:
                return None
            raise _bad("message to be replied not found")
        return target

    def _bot_message_param(self, p: Params, chat: _Chat, action: str) -> _Message:
        if p.get_str("inline_message_id"):
            raise _bad("inline messages are not supported by the sandbox")
        message_id = p.get_int("message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        msg = chat.messages.get(message_id)
        if msg is None:
            raise _bad(f"message to {action} not found")
        if not msg.from_bot:
            raise _bad(f"message can't be {action}ed")
        return msg

    def _apply_edit(
        self,
        chat: _Chat,
        msg: _Message,
        text: str,
        entities: list[dict[str, Any]],
        markup: dict[str, Any] | None,
    ) -> dict[str, Any]:
        if text == msg.text and entities == msg.entities and markup == msg.reply_markup:
            raise ApiError(400, NOT_MODIFIED)
        self._check_can_send(chat)
        now = int(time.time())
        if markup and not msg.reply_markup:
            chat.remember_keyboard(msg.message_id)
        msg.text = text
        msg.entities = entities
        msg.reply_markup = markup
        msg.edit_count += 1
        msg.edit_date = now
        self._add_event(chat, {"kind": "edit", "date": now, "message": self._message_view(msg)})
        self._counters["messages_edited"] += 1
        return self._message_api(chat, msg)

    async def _edit_message_text(self, p: Params) -> Any:
        chat = self._chat_param(p)
        msg = self._bot_message_param(p, chat, "edit")
        if msg.media is not None:
            raise _bad("there is no text in the message to edit")
        text, entities = self._text_param(p)
        # Like Telegram: an edit without reply_markup removes the message's inline keyboard.
        markup = self._markup_param(p, inline_only=True)
        preview = p.get_json("link_preview_options")
        result = self._apply_edit(chat, msg, text, entities, markup)
        if isinstance(preview, dict):
            msg.link_preview_options = preview
        return result

    async def _edit_message_caption(self, p: Params) -> Any:
        chat = self._chat_param(p)
        msg = self._bot_message_param(p, chat, "edit")
        if msg.media is None or "location" in msg.media:
            raise _bad("there is no caption in the message to edit")
        # An absent or empty caption removes it, as in Telegram.
        caption, entities = self._caption_param(p)
        markup = self._markup_param(p, inline_only=True)
        result = self._apply_edit(chat, msg, caption, entities, markup)
        if "show_caption_above_media" in p:
            msg.caption_above = p.get_bool("show_caption_above_media")
        return result

    async def _edit_message_reply_markup(self, p: Params) -> Any:
        chat = self._chat_param(p)
        msg = self._bot_message_param(p, chat, "edit")
        markup = self._markup_param(p, inline_only=True)
        return self._apply_edit(chat, msg, msg.text, msg.entities, markup)

    async def _delete_message(self, p: Params) -> Any:
        chat = self._chat_param(p)
        message_id = p.get_int("message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        if chat.messages.pop(message_id, None) is None:
            raise _bad("message to delete not found")
        self._add_event(
            chat, {"kind": "delete", "date": int(time.time()), "message_id": message_id}
        )
        return True

    async def _delete_messages(self, p: Params) -> Any:
        chat = self._chat_param(p)
        ids = p.get_json("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise _bad("message_ids must be a non-empty array of at most 100 identifiers")
        now = int(time.time())
        for raw in ids:
            with contextlib.suppress(TypeError, ValueError):
                message_id = int(raw)
                if chat.messages.pop(message_id, None) is not None:
                    self._add_event(chat, {"kind": "delete", "date": now, "message_id": message_id})
        return True

    async def _answer_callback_query(self, p: Params) -> Any:
        query_id = p.get_str("callback_query_id") or ""
        query = self._queries.get(query_id)
        if query is None:
            raise ApiError(400, QUERY_INVALID)
        text = p.get_str("text") or ""
        if len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad("MESSAGE_TOO_LONG")
        # An answered query can never be answered again: forgetting it makes a second answer
        # fail like Telegram's, and keeps the map small.
        del self._queries[query_id]
        if self._store is not None:
            self._dirty_queries.add(query_id)
        chat = self._chats[query.chat_id]
        self._add_event(
            chat,
            {
                "kind": "callback_answer",
                "date": int(time.time()),
                "callback_query_id": query_id,
                "message_id": query.message_id,
                "data": query.data,
                "tap_seq": query.tap_seq,
                "text": text,
                "show_alert": p.get_bool("show_alert"),
                "url": p.get_str("url"),
            },
        )
        self._counters["callback_answers"] += 1
        return True

    async def _send_chat_action(self, p: Params) -> Any:
        chat = self._chat_param(p)
        action = p.get_str("action")
        if action not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        if chat.user.blocked:
            raise ApiError(403, BLOCKED)
        self._add_event(chat, {"kind": "chat_action", "date": int(time.time()), "action": action})
        return True

    async def _get_file(self, p: Params) -> Any:
        stored = self._files.get((p.get_str("file_id") or "").strip())
        if stored is None:
            raise _bad("invalid file_id")
        if stored.file_size > self.file_limits.download:
            raise _bad("file is too big")
        return stored.file()

    async def _get_chat(self, p: Params) -> Any:
        chat = self._chat_param(p)
        return {
            **chat.user.api_chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    # --- Bot API methods: commands and descriptions -------------------------------------------

    @staticmethod
    def _scope_key(p: Params) -> tuple[str, str]:
        scope = p.get_json("scope")
        if not isinstance(scope, dict):
            scope = {"type": "default"}
        return json.dumps(scope, sort_keys=True), p.get_str("language_code") or ""

    async def _set_my_commands(self, p: Params) -> Any:
        commands = p.get_json("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("too many commands")
        clean: list[dict[str, str]] = []
        for item in commands:
            if not isinstance(item, dict):
                raise _bad("can't parse BotCommand")
            name = str(item.get("command", ""))
            description = str(item.get("description", ""))
            if not _COMMAND_NAME.match(name):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
            clean.append({"command": name, "description": description})
        self._commands[self._scope_key(p)] = clean
        return True

    async def _get_my_commands(self, p: Params) -> Any:
        return self._commands.get(self._scope_key(p), [])

    async def _delete_my_commands(self, p: Params) -> Any:
        self._commands.pop(self._scope_key(p), None)
        return True

    def _set_description(self, kind: str) -> Handler:
        async def handler(p: Params) -> Any:
            self._descriptions[(kind, p.get_str("language_code") or "")] = p.get_str(kind) or ""
            return True

        return handler

    def _get_description(self, kind: str) -> Handler:
        async def handler(p: Params) -> Any:
            value = self._descriptions.get((kind, p.get_str("language_code") or ""), "")
            return {kind: value}

        return handler

    async def _set_chat_menu_button(self, p: Params) -> Any:
        button = p.get_json("menu_button")
        self._menu_buttons[p.get_int("chat_id")] = (
            button if isinstance(button, dict) else {"type": "default"}
        )
        return True

    async def _get_chat_menu_button(self, p: Params) -> Any:
        chat_id = p.get_int("chat_id")
        return (
            self._menu_buttons.get(chat_id) or self._menu_buttons.get(None) or {"type": "commands"}
        )

    # --- simulated users (in-process API; the HTTP client API calls these) --------------------

    def add_user(
        self,
        user_id: int,
        first_name: str = "Resident",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> dict[str, Any]:
        """Create the user and their private chat, or update the names of an existing one."""
        if not isinstance(user_id, int) or isinstance(user_id, bool) or not 0 < user_id < 2**52:
            raise SandboxError(
                400, f"The Telegram id must be a whole number from 1 to {2**52 - 1}."
            )
        if user_id == self.bot_id:
            raise SandboxError(400, "That Telegram id belongs to the bot; choose another one.")
        if not first_name or len(first_name) > 64:
            raise SandboxError(400, "The first name must have 1 to 64 characters.")
        user = self._users.get(user_id)
        if user is None:
            user = _User(user_id, first_name, last_name, username, language_code)
            self._users[user_id] = user
            chat_instance = str((user_id * 2654435761 + self.bot_id) % 10**18 + 10**17)
            self._chats[user_id] = _Chat(user, chat_instance)
        else:
            user.first_name = first_name
            user.last_name = last_name
            user.username = username
            user.language_code = language_code
        user.refresh()
        if self._store is not None:
            self._dirty_users[user_id] = None
            self._store.touch()
        return {**user.view(), "last_seq": self._chats[user_id].last_seq}

    def users(self) -> list[dict[str, Any]]:
        """All simulated users, in creation order."""
        return [{**u.view(), "last_seq": self._chats[u.id].last_seq} for u in self._users.values()]

    def _chat_of(self, user_id: int) -> _Chat:
        chat = self._chats.get(user_id)
        if chat is None:
            raise SandboxError(
                404,
                f"The sandbox has no user with id {user_id}; it may have been started with "
                "no saved users. Create the user again to go on chatting.",
                code="unknown_user",
            )
        return chat

    def send_user_message(self, user_id: int, text: str) -> dict[str, Any]:
        """The user sends ``text`` (any length: odd clients exist) and the bot gets an update.

        A blocked user's message is still delivered and the user stays blocked: it models a
        message sent just before blocking (or from another device) reaching the bot after the
        block, so replies to it get 403. Unblock explicitly to restart the bot.
        """
        chat = self._chat_of(user_id)
        if not isinstance(text, str) or not text.strip():
            raise SandboxError(400, "The message is empty; type something to send.")
        if chat.reply_keyboard and chat.reply_keyboard.get("one_time_keyboard"):
            chat.reply_keyboard = None
        return self._post_user_message(chat, text, None)

    def send_user_photo(
        self,
        user_id: int,
        data: bytes,
        caption: str | None = None,
        filename: str | None = None,
        forwarded_from: str | None = None,
    ) -> dict[str, Any]:
        """The user sends a photo (PNG, JPEG, GIF or WebP, within the photo size limit) with an
        optional caption; the bot gets a message update whose ``photo`` it can fetch with
        getFile. ``filename`` is accepted for symmetry and dropped, as Telegram drops it.
        With ``forwarded_from`` (the original sender's name) the photo is forwarded: the
        message carries a ``forward_origin`` of type ``hidden_user``."""
        chat = self._chat_of(user_id)
        data = _user_bytes(data, "photo")
        if len(data) > self.file_limits.photo:
            raise SandboxError(
                413,
                f"The photo is too large: a photo may have at most "
                f"{_size(self.file_limits.photo)}. Send a smaller one, or send it as a file.",
            )
        image = sniff_image(data)
        if image is None:
            raise SandboxError(
                400,
                "This file is not a picture that can be sent as a photo (a PNG, JPEG, GIF or "
                "WebP image); send it as a file instead.",
            )
        new = NewFile("photo", data, image.mime_type, width=image.width, height=image.height)
        stored = self._files.add(new)
        return self._post_user_message(
            chat, caption, {"photo": [stored.photo_size()]}, stored, forwarded_from
        )

    def send_user_document(
        self,
        user_id: int,
        data: bytes,
        filename: str,
        mime_type: str | None = None,
        caption: str | None = None,
        forwarded_from: str | None = None,
    ) -> dict[str, Any]:
        """The user sends a file as a document; its MIME type is guessed from ``filename`` when
        not given. Users may send files bigger than the bot's download limit, as in Telegram
        (getFile then answers "file is too big"), up to the sandbox's upload limit.
        ``forwarded_from``: as for photos."""
        chat = self._chat_of(user_id)
        data = _user_bytes(data, "document")
        if len(data) > self.file_limits.document:
            raise SandboxError(
                413,
                f"The file is too large: a file may have at most "
                f"{_size(self.file_limits.document)}.",
            )
        name = _file_name(filename) or "file"
        mime = mime_type.strip().lower() if mime_type else guess_mime_type(name, None, data)
        if not is_mime_type(mime):
            raise SandboxError(
                400, "The file's type (mime_type) must look like type/subtype, e.g. text/plain."
            )
        stored = self._files.add(NewFile("document", data, mime, file_name=name))
        return self._post_user_message(
            chat, caption, {"document": stored.document()}, stored, forwarded_from
        )

    def send_user_location(
        self,
        user_id: int,
        latitude: float,
        longitude: float,
        forwarded_from: str | None = None,
    ) -> dict[str, Any]:
        """The user shares a location (a point, not a live location); ``forwarded_from``: a
        location forwarded from that sender, as for photos."""
        chat = self._chat_of(user_id)
        for name, value, bound in (("latitude", latitude, 90.0), ("longitude", longitude, 180.0)):
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or abs(value) > bound
            ):
                raise SandboxError(
                    400, f"The {name} must be a number from -{bound:g} to {bound:g}."
                )
        location = {"latitude": float(latitude), "longitude": float(longitude)}
        return self._post_user_message(chat, None, {"location": location}, None, forwarded_from)

    def _post_user_message(
        self,
        chat: _Chat,
        text: str | None,
        media: dict[str, Any] | None,
        stored: StoredFile | None = None,
        forwarded_from: str | None = None,
    ) -> dict[str, Any]:
        """Add a user message to the chat and queue its update for the bot."""
        if text is not None and not isinstance(text, str):
            raise SandboxError(400, "caption must be a string")
        origin = None
        if forwarded_from is not None:
            if not isinstance(forwarded_from, str) or not forwarded_from.strip():
                raise SandboxError(400, "forwarded_from must be a non-empty string")
            # The original's date is unknown to the sandbox; "now" stands in for it.
            origin = {
                "type": "hidden_user",
                "sender_user_name": forwarded_from.strip(),
                "date": int(time.time()),
            }
        body = text if text and text.strip() else ""
        now = int(time.time())
        msg = _Message(
            message_id=chat.next_message_id,
            from_bot=False,
            date=now,
            text=body,
            entities=user_entities(body) if body else [],
            media=media,
            forward_origin=origin,
        )
        chat.next_message_id += 1
        chat.messages[msg.message_id] = msg
        event = self._add_event(
            chat, {"kind": "message", "date": now, "message": self._message_view(msg)}
        )
        api_message = self._message_api(chat, msg)
        update_id = self._enqueue("message", api_message)
        result = {"update_id": update_id, "message": api_message, "seq": event["seq"]}
        if stored is not None:
            result["file_id"] = stored.file_id
        return result

    def file_content(self, file_id: str) -> StoredFile:
        """A stored file (sent by the bot or by a user) by its file_id."""
        stored = self._files.get(file_id)
        if stored is None:
            raise SandboxError(404, f"The sandbox has no file {file_id!r}.")
        return stored

    def tap(
        self,
        user_id: int,
        message_id: int | None = None,
        button_text: str | None = None,
        data: str | None = None,
        forge: bool = False,
    ) -> dict[str, Any]:
        """The user taps an inline button, and the bot gets a ``callback_query`` update.

        The button is named by its text or its callback data, on ``message_id`` or, without
        one, on the latest bot message that has it. Older messages that still show buttons can
        be tapped, as in Telegram. With ``forge`` the ``data`` is sent as is for ``message_id``,
        whatever the buttons say, as a modified client could.
        """
        chat = self._chat_of(user_id)
        # A blocked user's tap is delivered too (see send_user_message); answers still work,
        # edits get 403.
        if forge:
            if message_id is None or data is None:
                raise SandboxError(400, "a forged tap needs message_id and data")
            msg = chat.messages.get(message_id)
            if msg is None or not msg.from_bot:
                raise SandboxError(400, f"no bot message {message_id} in chat {user_id}")
            return self._make_tap(chat, msg, data, button_text, forged=True)
        if button_text is None and data is None:
            raise SandboxError(400, "name the button by button_text or data")
        if message_id is not None:
            msg = chat.messages.get(message_id)
            if msg is None or not msg.from_bot:
                raise SandboxError(
                    400,
                    f"There is no bot message {message_id} in this chat (it may have been "
                    "deleted), so its buttons cannot be tapped.",
                )
            button = _find_button(msg, button_text, data)
            if button is None:
                raise SandboxError(
                    400,
                    f"The button {_describe(button_text, data)} is no longer on that message "
                    f"(the bot may have changed it); its buttons now: {_button_list(msg)}.",
                )
        else:
            msg, button = None, None
            for candidate_id in reversed(chat.keyboard_ids):
                candidate = chat.messages.get(candidate_id)
                if candidate is None:
                    continue
                button = _find_button(candidate, button_text, data)
                if button is not None:
                    msg = candidate
                    break
            if msg is None or button is None:
                raise SandboxError(
                    400,
                    f"No bot message in this chat has a button {_describe(button_text, data)}.",
                )
        callback_data = button.get("callback_data")
        if callback_data is None:
            raise SandboxError(
                400, f"The button {button['text']!r} opens a link and sends nothing to the bot."
            )
        return self._make_tap(chat, msg, callback_data, button["text"], forged=False)

    def _make_tap(
        self, chat: _Chat, msg: _Message, data: str, button_text: str | None, forged: bool
    ) -> dict[str, Any]:
        query_id = str(4_000_000_000_000_000_000 + self._next_query)
        self._next_query += 1
        event = self._add_event(
            chat,
            {
                "kind": "tap",
                "date": int(time.time()),
                "callback_query_id": query_id,
                "message_id": msg.message_id,
                "data": data,
                "button_text": button_text,
                "forged": forged,
            },
        )
        self._queries[query_id] = _Query(query_id, chat.user.id, msg.message_id, data, event["seq"])
        if self._store is not None:
            self._dirty_queries.add(query_id)
        body = {
            "id": query_id,
            "from": chat.user.api_from,
            "message": self._message_api(chat, msg),
            "chat_instance": chat.chat_instance,
            "data": data,
        }
        update_id = self._enqueue("callback_query", body)
        return {
            "update_id": update_id,
            "callback_query_id": query_id,
            "message_id": msg.message_id,
            "data": data,
            "seq": event["seq"],
        }

    def block(self, user_id: int) -> dict[str, Any]:
        """The user blocks the bot: sends and edits to them get 403 from now on."""
        return self._set_blocked(user_id, True)

    def unblock(self, user_id: int) -> dict[str, Any]:
        """The user unblocks (restarts) the bot."""
        return self._set_blocked(user_id, False)

    def _set_blocked(self, user_id: int, blocked: bool) -> dict[str, Any]:
        chat = self._chat_of(user_id)
        user = chat.user
        if user.blocked == blocked:
            return {"update_id": None, "seq": chat.last_seq, "blocked": blocked}
        user.blocked = blocked
        now = int(time.time())
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        new_member: dict[str, Any] = {"status": new, "user": self._bot_from}
        old_member: dict[str, Any] = {"status": old, "user": self._bot_from}
        # A ban in a private chat is permanent: Telegram reports until_date 0.
        for member in (old_member, new_member):
            if member["status"] == "kicked":
                member["until_date"] = 0
        update_id = self._enqueue(
            "my_chat_member",
            {
                "chat": user.api_chat,
                "from": user.api_from,
                "date": now,
                "old_chat_member": old_member,
                "new_chat_member": new_member,
            },
        )
        event = self._add_event(chat, {"kind": "blocked" if blocked else "unblocked", "date": now})
        return {"update_id": update_id, "seq": event["seq"], "blocked": blocked}

    def redeliver(self, update_id: int) -> dict[str, Any]:
        """Deliver an update again with the same update_id, as Telegram does when it retries."""
        update = self._history.get(update_id)
        if update is None:
            raise SandboxError(404, f"no update {update_id} (or it is too old)")
        self._redeliveries.append(update)
        self._counters["redeliveries"] += 1
        if self._update_waiters:
            _wake(self._update_waiters)
        return {"update_id": update_id}

    def chat(self, user_id: int, after_seq: int = 0, limit: int | None = None) -> dict[str, Any]:
        """The user's chat: events after ``after_seq`` in order, and the chat's state."""
        chat = self._chat_of(user_id)
        events = chat.events_after(after_seq, limit)
        # With a limit the poller resumes after the last event returned; with nothing new it
        # keeps its cursor (seq is global, so it may be past this chat's last event).
        last = events[-1]["seq"] if events else max(after_seq, 0)
        return {
            "user": chat.user.view(),
            "blocked": chat.user.blocked,
            "reply_keyboard": chat.reply_keyboard,
            "last_seq": last,
            "events": events,
        }

    async def wait(
        self, user_id: int | None = None, after_seq: int = 0, max_wait: float = 10.0
    ) -> dict[str, Any]:
        """Like :meth:`chat` (or all chats' events without ``user_id``), but wait up to
        ``max_wait`` seconds for something after ``after_seq``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, min(max_wait, 120.0))
        while True:
            if user_id is not None:
                chat = self._chat_of(user_id)
                if chat.last_seq > after_seq or self._closing:
                    return self.chat(user_id, after_seq)
                waiters = chat.waiters
            else:
                if self._seq > after_seq or self._closing:
                    start = bisect.bisect_right(self._all_seqs, after_seq)
                    events = self._all_events[start:]
                    return {"last_seq": max(self._seq, after_seq), "events": events}
                waiters = self._any_waiters
            remaining = deadline - loop.time()
            if remaining <= 0:
                if user_id is not None:
                    return self.chat(user_id, after_seq)
                return {"last_seq": max(self._seq, after_seq), "events": []}
            await self._wait(waiters, remaining)

    def stats(self) -> dict[str, Any]:
        """Counters since the start or the last :meth:`reset_stats`."""
        counters = self._counters
        return {
            "since": self._stats_since,
            "elapsed_s": round(time.time() - self._stats_since, 3),
            "calls": dict(self._calls),
            "calls_total": sum(self._calls.values()),
            "responses_429": counters["responses_429"],
            "responses_403": counters["responses_403"],
            "messages_sent": counters["messages_sent"],
            "messages_edited": counters["messages_edited"],
            "callback_answers": counters["callback_answers"],
            "updates_created": counters["updates_created"],
            "updates_delivered": counters["updates_delivered"],
            "redeliveries": counters["redeliveries"],
            "webhook_deliveries": counters["webhook_deliveries"],
            "webhook_failures": counters["webhook_failures"],
            "files_stored": len(self._files),
            "file_bytes": self._files.total_bytes,
            "file_downloads": counters["file_downloads"],
            "pending_updates": len(self._pending) + len(self._redeliveries) + len(self._inflight),
            "users": len(self._users),
            "blocked_users": sum(1 for u in self._users.values() if u.blocked),
            "webhook": self._webhook.url if self._webhook else None,
        }

    def reset_stats(self) -> None:
        """Zero the counters (users, chats and updates are kept)."""
        self._calls.clear()
        self._counters.clear()
        self._stats_since = time.time()

    def commands_for(self, chat_id: int | None, language_code: str | None) -> list[Any]:
        """The menu a private chat's user sees, resolved as Telegram does: the chat's own scope,
        then all private chats, then the default; in each, the user's language, then none."""
        scopes: list[dict[str, Any]] = [{"type": "all_private_chats"}, {"type": "default"}]
        if chat_id is not None:
            scopes.insert(0, {"type": "chat", "chat_id": chat_id})
        code = (language_code or "").lower()
        languages = list(dict.fromkeys([code, code.split("-")[0], ""]))
        for scope in scopes:
            for lang in languages:
                found = self._commands.get((json.dumps(scope, sort_keys=True), lang))
                if found is not None:
                    return found
        return []

    def info(self, language_code: str | None = None,
             chat_id: int | None = None) -> dict[str, Any]:
        """The bot's identity, limits and command menu (as ``chat_id`` sees it), for the chat
        page."""
        commands = self.commands_for(chat_id, language_code)
        return {
            "bot": {"id": self.bot_id, "username": self.bot_username, "first_name": self.bot_name},
            "global_limit": _limit_view(self.global_limit),
            "chat_limit": _limit_view(self.chat_limit),
            "webhook": self._webhook.url if self._webhook else None,
            "commands": commands,
            "last_seq": self._seq,
        }

    # --- client API over HTTP -----------------------------------------------------------------

    async def _h_info(self, request: web.Request) -> web.Response:
        chat = request.query.get("chat_id", "")
        chat_id = int(chat) if chat.lstrip("-").isdigit() else None
        return _json_response(self.info(request.query.get("language_code"), chat_id))

    async def _h_users(self, request: web.Request) -> web.Response:
        return _json_response({"users": self.users()})

    async def _h_add_user(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        return _client_call(
            lambda: self.add_user(
                _int_field(body, "id"),
                first_name=str(body.get("first_name") or "Resident"),
                last_name=_opt_str(body, "last_name"),
                username=_opt_str(body, "username"),
                language_code=_opt_str(body, "language_code"),
            )
        )

    async def _h_send(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        text = body.get("text")
        if not isinstance(text, str):
            return _client_error(SandboxError(400, "The message is empty; type something to send."))
        return _client_call(lambda: self.send_user_message(_path_int(request, "user_id"), text))

    async def _h_send_photo(self, request: web.Request) -> web.Response:
        """Multipart: a ``photo`` file part, optional ``caption`` and ``forwarded_from`` fields."""
        try:
            form = await self._client_form(request)
            upload = _form_upload(form, "photo")
            caption = _form_text(form, "caption")
            result = self.send_user_photo(
                _path_int(request, "user_id"),
                upload.data,
                caption,
                upload.filename,
                _form_text(form, "forwarded_from"),
            )
        except SandboxError as error:
            return _client_error(error)
        return _json_response(result)

    async def _h_send_document(self, request: web.Request) -> web.Response:
        """Multipart: a ``document`` file part, optional ``caption``, ``mime_type`` and
        ``forwarded_from`` fields (without ``mime_type``, the type is guessed from the file
        name, then the part's type)."""
        try:
            form = await self._client_form(request)
            upload = _form_upload(form, "document")
            name = _file_name(upload.filename) or "file"
            mime = _form_text(form, "mime_type") or guess_mime_type(
                name, upload.content_type, upload.data
            )
            result = self.send_user_document(
                _path_int(request, "user_id"),
                upload.data,
                name,
                mime,
                _form_text(form, "caption"),
                _form_text(form, "forwarded_from"),
            )
        except SandboxError as error:
            return _client_error(error)
        return _json_response(result)

    async def _h_send_location(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        # Any: the method checks that both are numbers in range.
        latitude: Any = body.get("latitude")
        longitude: Any = body.get("longitude")
        # Any: the method checks it is a non-empty string when given.
        forwarded_from: Any = body.get("forwarded_from")
        return _client_call(
            lambda: self.send_user_location(
                _path_int(request, "user_id"), latitude, longitude, forwarded_from
            )
        )

    async def _h_file(self, request: web.Request) -> web.StreamResponse:
        """A stored file's bytes for the chat page and tests: images inline, others as
        attachments so that a document the bot sent never runs as a page of the sandbox."""
        try:
            stored = self.file_content(request.match_info["file_id"])
        except SandboxError as error:
            return _client_error(error)
        return _file_response(stored, inline=stored.kind == "photo")

    async def _client_form(self, request: web.Request) -> dict[str, str | Upload]:
        if request.content_type != "multipart/form-data":
            raise SandboxError(400, "send the file as multipart/form-data")
        try:
            return await self._read_multipart(request)
        except ApiError as error:
            if error.code == 413:
                raise SandboxError(
                    413,
                    f"The file is too large for the sandbox: at most {_size(self._max_body)} "
                    "in one upload.",
                ) from None
            raise SandboxError(
                error.code, "The upload could not be read; try sending the file again."
            ) from None

    async def _h_tap(self, request: web.Request) -> web.Response:
        body = await _json_body(request)

        def call() -> dict[str, Any]:
            message_id = body.get("message_id")
            data = body.get("data")
            text = body.get("button_text")
            return self.tap(
                _path_int(request, "user_id"),
                message_id=_int_field(body, "message_id") if message_id is not None else None,
                button_text=str(text) if text is not None else None,
                data=str(data) if data is not None else None,
                forge=bool(body.get("forge", False)),
            )

        return _client_call(call)

    async def _h_block(self, request: web.Request) -> web.Response:
        return _client_call(lambda: self.block(_path_int(request, "user_id")))

    async def _h_unblock(self, request: web.Request) -> web.Response:
        return _client_call(lambda: self.unblock(_path_int(request, "user_id")))

    async def _h_chat(self, request: web.Request) -> web.Response:
        return _client_call(
            lambda: self.chat(
                _path_int(request, "user_id"),
                _query_int(request, "after_seq", 0) or 0,
                _query_int(request, "limit", None),
            )
        )

    async def _h_redeliver(self, request: web.Request) -> web.Response:
        return _client_call(lambda: self.redeliver(_path_int(request, "update_id")))

    async def _h_stats(self, request: web.Request) -> web.Response:
        return _json_response(self.stats())

    async def _h_reset_stats(self, request: web.Request) -> web.Response:
        self.reset_stats()
        return _json_response({"ok": True})

    async def _h_wait(self, request: web.Request) -> web.Response:
        try:
            user_id = _query_int(request, "user_id", None)
            after_seq = _query_int(request, "after_seq", 0) or 0
            timeout = float(request.query.get("timeout", "10"))
            result = await self.wait(user_id, after_seq, timeout)
        except (SandboxError, ValueError) as error:
            return _client_error(error)
        return _json_response(result)


# --- small helpers -----------------------------------------------------------------------------


def _fresh_update_id() -> int:
    """Where update ids start in a new state directory.

    The bot remembers the update ids it handled for days, and an empty state directory may
    follow a run whose ids it still remembers: starting from the seconds since late 2023 puts
    the first id past every id of an earlier run, unless that one handed out more than one
    update a second on average since it started.
    """
    return max(1000, int(time.time()) - 1_700_000_000)


def _wake(waiters: list[asyncio.Future[None]]) -> None:
    for future in waiters:
        if not future.done():
            future.set_result(None)
    waiters.clear()


def _limit_view(limit: RateLimit | None) -> dict[str, float] | None:
    return None if limit is None else {"rate": limit.rate, "burst": limit.burst}


def _find_button(msg: _Message, button_text: str | None, data: str | None) -> dict[str, Any] | None:
    for row in _buttons(msg.reply_markup):
        for button in row:
            if button_text is not None and button.get("text") != button_text:
                continue
            if data is not None and button.get("callback_data") != data:
                continue
            return button
    return None


def _describe(button_text: str | None, data: str | None) -> str:
    if button_text is not None:
        return repr(button_text)
    return f"sending {data!r}"


def _button_list(msg: _Message) -> str:
    texts = [str(b.get("text")) for row in _buttons(msg.reply_markup) for b in row]
    return ", ".join(repr(t) for t in texts) if texts else "none"


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


def _user_bytes(data: Any, kind: str) -> bytes:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise SandboxError(400, f"the {kind} must be bytes")
    if not data:
        raise SandboxError(400, f"The {kind} is empty (0 bytes); choose another file.")
    return bytes(data)


def _file_name(filename: str | None) -> str | None:
    """The last component of an uploaded file's name, as Telegram keeps it (None if empty)."""
    if not filename:
        return None
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:255] or None


def _file_url(api_file: Mapping[str, Any]) -> str:
    return "/sandbox/files/" + quote(str(api_file["file_id"]), safe="")


def _file_response(stored: StoredFile, inline: bool) -> web.Response:
    response = web.Response(body=stored.data, content_type=stored.mime_type)
    # The type is the sandbox's to say: never let a browser guess its way to HTML.
    response.headers["X-Content-Type-Options"] = "nosniff"
    if not inline:
        name = stored.file_name or stored.file_path.rsplit("/", 1)[-1]
        response.headers[hdrs.CONTENT_DISPOSITION] = (
            f"attachment; filename*=UTF-8''{quote(name, safe='')}"
        )
    return response


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


def _client_error(error: Exception) -> web.Response:
    status = error.status if isinstance(error, SandboxError) else 400
    body: dict[str, Any] = {"ok": False, "error": str(error)}
    if isinstance(error, SandboxError) and error.code is not None:
        body["code"] = error.code
    return _json_response(body, status)


def _size(limit: int) -> str:
    """A size limit as people read it: "10 MB" for whole megabytes, bytes otherwise."""
    mb = 1024 * 1024
    return f"{limit // mb} MB" if limit % mb == 0 else f"{limit} bytes"


def _client_call(call: Callable[[], dict[str, Any]]) -> web.Response:
    try:
        return _json_response(call())
    except SandboxError as error:
        return _client_error(error)
