"""A local stand-in for the Telegram Bot API, served by aiohttp: the parts wired together.

The bot talks to it exactly as to ``api.telegram.org`` (PTB's ``base_url``): long polling or a
webhook, the same parameter encodings, the same answer shapes and the same error texts for the
rules that matter to CivicPulse. The parts, each in its own module:

- :mod:`sandbox.messages` and :mod:`sandbox.profile`: the Bot API methods (the bot acting in a
  chat; the bot's identity, commands and menus);
- :mod:`sandbox.updates`: update delivery (getUpdates long polling, webhooks, redelivery);
- :mod:`sandbox.files`: uploads, getFile and file downloads;
- :mod:`sandbox.users` and :mod:`sandbox.client_api`: simulated users, in Python and over the
  JSON API under ``/sandbox/`` that the chat page, the end-to-end tests and the benchmarks share;
- :mod:`sandbox.chats`: what every chat holds; :mod:`sandbox.state` and
  :mod:`sandbox.persistence`: keeping it in a ``state_dir`` across restarts.

Everything happens on the event loop without awaiting in the middle of a state change, so every
request sees and leaves a consistent state without locks.
"""

from __future__ import annotations

import functools
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from aiohttp import web

from sandbox.chats import Chats
from sandbox.client_api import ClientApi
from sandbox.files import Files
from sandbox.media import FileLimits
from sandbox.messages import BotMessages
from sandbox.persistence import collect_changes, restore
from sandbox.profile import BotProfile
from sandbox.protocol import ApiError, Described, Handler, Params, json_response, read_params
from sandbox.ratelimit import Clock, FloodControl, RateLimit
from sandbox.state import Changes, StateWriter, discard_state, load_state, lock_state_dir
from sandbox.updates import UpdateQueue, fresh_update_id
from sandbox.users import SimulatedUsers

__all__ = ["BotApiSandbox"]

STATIC_DIR = Path(__file__).with_name("static")


class _Memory(NamedTuple):
    """The parts that hold what the sandbox remembers (and a state directory keeps)."""

    chats: Chats
    updates: UpdateQueue
    files: Files


class BotApiSandbox(SimulatedUsers):
    """A Telegram Bot API server for one bot, with simulated users in private chats.

    The simulated users' actions (:class:`~sandbox.users.SimulatedUsers`) are its methods too.

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
        self.bot_username = bot_username
        self.bot_name = bot_name
        self.global_limit = global_limit
        self.chat_limit = chat_limit
        self.file_limits = file_limits
        self._calls: Counter[str] = Counter()
        self._counters: Counter[str] = Counter()
        self._stats_since = time.time()
        bot_from = {
            "id": int(prefix),
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
        }
        self._profile = BotProfile(bot_from)
        self._changes = Changes()
        make_memory = functools.partial(
            self._new_memory, bot_from, history_limit, webhook_retry_delay, webhook_max_retry_delay
        )
        if state_dir is None:
            memory = make_memory()
        else:
            memory = self._open_state_dir(Path(state_dir), state_interval, make_memory)
        super().__init__(int(prefix), memory.chats, memory.updates, memory.files)
        flood = FloodControl(global_limit, chat_limit, clock)
        self._messages = BotMessages(memory.chats, memory.files, flood, self._counters)
        self._methods: dict[str, tuple[str, Handler]] = {}
        for part in (self._profile, self._updates, self._messages, self._files):
            for name, handler in part.methods().items():
                self.add_method(name, handler)
        memory.updates.on_answer_call = self._answer_call
        self._client_api = ClientApi(
            self, memory.updates, memory.files.max_body, self.info, self.stats, self.reset_stats
        )
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._app = self._build_app()

    def _new_memory(
        self, bot_from: dict[str, Any], history_limit: int, retry: float, max_retry: float
    ) -> _Memory:
        return _Memory(
            Chats(bot_from, self._changes),
            UpdateQueue(self._changes, self._counters, history_limit, retry, max_retry),
            Files(self.token, self.file_limits, self._counters),
        )

    def _open_state_dir(
        self,
        state_dir: Path,
        interval: float,
        make_memory: Callable[[], _Memory],
    ) -> _Memory:
        """Carry on from what the state directory holds, and keep saving there from now on."""
        memory = make_memory()
        lock = lock_state_dir(state_dir)
        try:
            saved = load_state(state_dir)
        except BaseException:
            if lock is not None:
                lock.close()
            raise
        if saved is not None:
            try:
                self._changes.saved_updates = restore(
                    saved, memory.chats, memory.updates, memory.files.store
                )
            except (KeyError, TypeError, ValueError) as exc:
                memory = make_memory()  # back to empty: the saved state does not make sense
                discard_state(state_dir, f"{type(exc).__name__}: {exc}")
                saved = None
        if saved is None or "update_id" not in saved.counters:
            memory.updates.next_update_id = fresh_update_id()
        collect = functools.partial(
            collect_changes, self._changes, memory.chats, memory.updates, memory.files.store
        )
        self._changes.writer = StateWriter(state_dir, collect, interval, lock)
        memory.files.store.on_add = self._changes.file
        return memory

    # --- public surface -----------------------------------------------------------------------

    def add_method(self, name: str, handler: Handler) -> None:
        """Register (or replace) a Bot API method; names match case-insensitively."""
        self._methods[name.lower()] = (name, handler)

    def method(self, name: str) -> Handler:
        """The handler of a Bot API method (for a test to wrap it, with :meth:`add_method`)."""
        return self._methods[name.lower()][1]

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
        if self._changes.writer is not None:
            await self._changes.writer.close()

    async def save(self) -> None:
        """Write what changed to the state directory now (a no-op without one)."""
        if self._changes.writer is not None:
            await self._changes.writer.flush()

    async def __aenter__(self) -> BotApiSandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def stats(self) -> dict[str, Any]:
        """Counters since the start or the last :meth:`reset_stats`."""
        counters = self._counters
        users = self._chats.users.values()
        return {
            "since": self._stats_since,
            "elapsed_s": round(time.time() - self._stats_since, 3),
            "calls": dict(self._calls),
            "calls_total": sum(self._calls.values()),
            **{name: counters[name] for name in _COUNTED},
            "files_stored": len(self._files.store),
            "file_bytes": self._files.store.total_bytes,
            "file_downloads": counters["file_downloads"],
            "pending_updates": self._updates.pending_count(),
            "users": len(users),
            "blocked_users": sum(1 for u in users if u.blocked),
            "webhook": self._updates.webhook_url,
        }

    def reset_stats(self) -> None:
        """Zero the counters (users, chats and updates are kept)."""
        self._calls.clear()
        self._counters.clear()
        self._stats_since = time.time()

    def info(self, language_code: str | None = None, chat_id: int | None = None) -> dict[str, Any]:
        """The bot's identity, limits and command menu (as ``chat_id`` sees it), for the chat
        page."""
        return {
            "bot": {"id": self.bot_id, "username": self.bot_username, "first_name": self.bot_name},
            "global_limit": _limit_view(self.global_limit),
            "chat_limit": _limit_view(self.chat_limit),
            "webhook": self._updates.webhook_url,
            "commands": self._profile.commands_for(chat_id, language_code),
            "last_seq": self._chats.seq,
        }

    # --- app wiring ---------------------------------------------------------------------------

    def _build_app(self) -> web.Application:
        app = web.Application(client_max_size=self._files.max_body)
        r = app.router
        r.add_route("*", "/bot{token}/{method}", self._handle_api)
        r.add_get("/file/bot{token}/{file_path:.+}", self._files.handle_bot_download)
        r.add_get("/", self._handle_index)
        r.add_static("/static", STATIC_DIR, show_index=False)
        c, files = self._client_api, self._files
        for method, path, handler in (
            ("GET", "/sandbox/info", c.info),
            ("GET", "/sandbox/users", c.users),
            ("POST", "/sandbox/users", c.add_user),
            ("POST", "/sandbox/users/{user_id}/messages", c.send),
            ("POST", "/sandbox/users/{user_id}/photos", c.send_photo),
            ("POST", "/sandbox/users/{user_id}/documents", c.send_document),
            ("POST", "/sandbox/users/{user_id}/locations", c.send_location),
            ("GET", "/sandbox/files/{file_id}", files.handle_client_download),
            ("POST", "/sandbox/users/{user_id}/taps", c.tap),
            ("POST", "/sandbox/users/{user_id}/web_app", c.web_app),
            ("POST", "/sandbox/users/{user_id}/block", c.block),
            ("POST", "/sandbox/users/{user_id}/unblock", c.unblock),
            ("GET", "/sandbox/users/{user_id}/chat", c.chat),
            ("POST", "/sandbox/updates/{update_id}/redeliver", c.redeliver),
            ("GET", "/sandbox/stats", c.stats),
            ("POST", "/sandbox/reset-stats", c.reset_stats),
            ("GET", "/sandbox/wait", c.wait),
        ):
            r.add_route(method, path, handler)
        app.on_startup.append(self._on_startup)
        app.on_shutdown.append(self._on_shutdown)
        app.on_cleanup.append(self._on_cleanup)
        return app

    def _set_closing(self, closing: bool) -> None:
        self._chats.closing = closing
        self._updates.closing = closing

    def _wake_everyone(self) -> None:
        self._updates.waiters.wake()
        self._chats.wake_all()

    async def _on_startup(self, app: web.Application) -> None:
        self._set_closing(False)

    async def _on_shutdown(self, app: web.Application) -> None:
        # Runs before aiohttp waits for open requests: let long polls answer now.
        self._set_closing(True)
        self._wake_everyone()

    async def _on_cleanup(self, app: web.Application) -> None:
        self._set_closing(True)
        self._wake_everyone()
        await self._updates.close()

    async def _handle_index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC_DIR / "chat.html")

    async def _handle_api(self, request: web.Request) -> web.Response:
        info = request.match_info
        if info["token"] != self.token:
            return json_response(ApiError(401, "Unauthorized").payload(), 401)
        entry = self._methods.get(info["method"].lower())
        if entry is None:
            return json_response(ApiError(404, "Not Found: method not found").payload(), 404)
        name, handler = entry
        self._calls[name] += 1
        try:
            params = await read_params(request, self._files.max_body)
            result = await handler(params)
        except ApiError as error:
            if error.code == 429:
                self._counters["responses_429"] += 1
            elif error.code == 403:
                self._counters["responses_403"] += 1
            return json_response(error.payload(), error.code)
        if isinstance(result, Described):
            return json_response(
                {"ok": True, "result": result.result, "description": result.description}
            )
        return json_response({"ok": True, "result": result})

    async def _answer_call(self, call: dict[str, Any]) -> None:
        """Make the Bot API call a webhook's answer carried (``method`` and its parameters).
        Telegram tells the bot nothing of it, so an error goes no further than the counters."""
        entry = self._methods.get(str(call["method"]).lower())
        if entry is None or entry[0] in ("getUpdates", "setWebhook", "deleteWebhook"):
            self._counters["webhook_answer_refused"] += 1
            return
        name, handler = entry
        self._calls[name] += 1
        params = {key: value for key, value in call.items() if key != "method"}
        try:
            await handler(Params(params))
        except Exception:  # noqa: BLE001  # a wrong call is dropped, whatever it raised
            self._counters["webhook_answer_refused"] += 1


# The counters stats() reports by name, zero when nothing was counted yet.
_COUNTED = (
    "responses_429", "responses_403", "messages_sent", "messages_edited", "callback_answers",
    "updates_created", "updates_delivered", "redeliveries", "webhook_deliveries",
    "webhook_failures", "webhook_answer_calls", "webhook_answer_refused",
)  # fmt: skip


def _limit_view(limit: RateLimit | None) -> dict[str, float] | None:
    return None if limit is None else {"rate": limit.rate, "burst": limit.burst}
