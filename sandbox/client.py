"""Act as Telegram users against a running sandbox, over its HTTP client API.

Tests and benchmarks (possibly in another process) use this::

    async with SandboxClient(sandbox.base_url) as client:
        alice = await client.user(1001, "Alice")
        await alice.send("/start")
        reply = await alice.wait_for_message("Welcome")
        await alice.tap("Yes")
        toast = await alice.wait_for_answer()
        await alice.send_photo(png_bytes(64, 64), caption="evidence")
        qr = await alice.wait_for_message("QR")      # matches texts and captions
        png = await alice.download(qr)                # the bytes the bot uploaded

Each user keeps a cursor: the ``seq`` of their last action. ``wait_for_message`` returns the first
bot message (new or edited) after the cursor and moves the cursor to it, so consecutive calls
walk through the bot's replies in order and nothing sent before the action is mistaken for a
reply to it.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp

from sandbox.protocol import SandboxError

__all__ = [
    "CallbackAnswer",
    "ChatEvent",
    "Document",
    "Location",
    "Message",
    "PhotoSize",
    "SandboxClient",
    "SandboxTimeout",
    "SandboxUser",
    "Sent",
    "Tap",
]

Buttons = list[list[tuple[str, str | None]]]


class SandboxTimeout(AssertionError, TimeoutError):
    """An expected message or answer did not come in time; the text shows what did come.

    An AssertionError, so a test failure reads as one, and a TimeoutError for callers that
    want to catch timeouts.
    """


@dataclass(frozen=True, slots=True)
class PhotoSize:
    """One size of a photo (the sandbox keeps one: the image as uploaded)."""

    file_id: str
    file_unique_id: str
    width: int
    height: int
    file_size: int

    @classmethod
    def from_view(cls, view: dict[str, Any]) -> PhotoSize:
        return cls(
            file_id=str(view["file_id"]),
            file_unique_id=str(view["file_unique_id"]),
            width=int(view.get("width", 0)),
            height=int(view.get("height", 0)),
            file_size=int(view.get("file_size", 0)),
        )


@dataclass(frozen=True, slots=True)
class Document:
    """A file sent as a document."""

    file_id: str
    file_unique_id: str
    file_name: str | None
    mime_type: str | None
    file_size: int

    @classmethod
    def from_view(cls, view: dict[str, Any]) -> Document:
        return cls(
            file_id=str(view["file_id"]),
            file_unique_id=str(view["file_unique_id"]),
            file_name=view.get("file_name"),
            mime_type=view.get("mime_type"),
            file_size=int(view.get("file_size", 0)),
        )


@dataclass(frozen=True, slots=True)
class Location:
    """A shared point."""

    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class Message:
    """A message in a chat as it was at ``seq`` (a new message or an edit).

    A media message has an empty ``text``; its caption (None if it has none) is in ``caption``
    and its content in ``photo`` (sizes, smallest first, as in Telegram), ``document`` or
    ``location``.
    """

    message_id: int
    text: str
    buttons: Buttons
    """Inline keyboard rows of (text, callback_data); URL buttons have None as data."""
    edit_count: int
    from_bot: bool
    seq: int
    date: int
    entities: list[dict[str, Any]] = field(default_factory=list)
    raw_buttons: list[list[dict[str, Any]]] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[dict[str, Any]] = field(default_factory=list)
    photo: list[PhotoSize] = field(default_factory=list)
    document: Document | None = None
    location: Location | None = None
    forwarded_from: str | None = None
    """A user's message forwarded from someone: the original sender's name."""

    @property
    def edited(self) -> bool:
        """Whether the bot has edited this message."""
        return self.edit_count > 0

    @property
    def body(self) -> str:
        """The text, or the caption of a media message ("" if none): what a reader sees."""
        return self.text or self.caption or ""

    @property
    def file_id(self) -> str | None:
        """The file to download: the largest photo size, or the document; None otherwise."""
        if self.photo:
            return self.photo[-1].file_id
        if self.document is not None:
            return self.document.file_id
        return None

    @property
    def button_texts(self) -> list[str]:
        """All button texts, row by row."""
        return [text for row in self.buttons for text, _ in row]

    def has_button(self, text: str) -> bool:
        """Whether a button shows ``text``."""
        return any(t == text for row in self.buttons for t, _ in row)

    def callback_data(self, text: str) -> str | None:
        """The callback data of the button showing ``text`` (None if absent or a URL button)."""
        for row in self.buttons:
            for t, data in row:
                if t == text:
                    return data
        return None

    @classmethod
    def from_view(cls, view: dict[str, Any], seq: int) -> Message:
        """Build from the client API's message view."""
        raw = view.get("buttons") or []
        document = view.get("document")
        location = view.get("location")
        return cls(
            message_id=int(view["message_id"]),
            text=str(view.get("text") or ""),
            buttons=[[(str(b["text"]), b.get("callback_data")) for b in row] for row in raw],
            edit_count=int(view.get("edit_count", 0)),
            from_bot=view.get("from") == "bot",
            seq=seq,
            date=int(view.get("date", 0)),
            entities=list(view.get("entities") or []),
            raw_buttons=raw,
            caption=view.get("caption"),
            caption_entities=list(view.get("caption_entities") or []),
            photo=[PhotoSize.from_view(size) for size in view.get("photo") or []],
            document=Document.from_view(document) if isinstance(document, dict) else None,
            location=(
                Location(float(location["latitude"]), float(location["longitude"]))
                if isinstance(location, dict)
                else None
            ),
            forwarded_from=view.get("forwarded_from"),
        )


@dataclass(frozen=True, slots=True)
class CallbackAnswer:
    """The bot's answerCallbackQuery for a tap: the toast (or alert) the user saw."""

    callback_query_id: str
    message_id: int
    data: str
    text: str
    show_alert: bool
    url: str | None
    seq: int

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> CallbackAnswer:
        """Build from a ``callback_answer`` event."""
        return cls(
            callback_query_id=str(event["callback_query_id"]),
            message_id=int(event["message_id"]),
            data=str(event.get("data", "")),
            text=str(event.get("text") or ""),
            show_alert=bool(event.get("show_alert")),
            url=event.get("url"),
            seq=int(event["seq"]),
        )


@dataclass(frozen=True, slots=True)
class ChatEvent:
    """One entry of a chat's log.

    ``kind`` is one of ``message``, ``edit``, ``delete``, ``tap``, ``callback_answer``,
    ``chat_action``, ``blocked``, ``unblocked``; ``raw`` is the event as the server sent it.
    """

    seq: int
    kind: str
    message: Message | None
    answer: CallbackAnswer | None
    raw: dict[str, Any]

    @property
    def is_bot_message(self) -> bool:
        """A new or edited bot message."""
        return self.message is not None and self.message.from_bot

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> ChatEvent:
        """Build from the server's event."""
        seq = int(raw["seq"])
        kind = str(raw["kind"])
        view = raw.get("message")
        return cls(
            seq=seq,
            kind=kind,
            message=Message.from_view(view, seq) if isinstance(view, dict) else None,
            answer=CallbackAnswer.from_event(raw) if kind == "callback_answer" else None,
            raw=raw,
        )

    def describe(self) -> str:
        """One line for failure messages."""
        message = self.message
        if message is not None:
            who = "bot" if message.from_bot else "user"
            label = "edited" if self.kind == "edit" else "said"
            buttons = f" {message.button_texts}" if message.buttons else ""
            if message.photo:
                size = message.photo[-1]
                media = f"[photo {size.width}x{size.height}, {size.file_size} B] "
            elif message.document is not None:
                media = (
                    f"[document {message.document.file_name!r}, {message.document.file_size} B] "
                )
            elif message.location is not None:
                media = f"[location {message.location.latitude}, {message.location.longitude}] "
            else:
                media = ""
            return (
                f"#{self.seq} {who} {label} [{message.message_id}]: "
                f"{media}{message.body!r}{buttons}"
            )
        if self.answer is not None:
            alert = " (alert)" if self.answer.show_alert else ""
            return f"#{self.seq} toast{alert}: {self.answer.text!r}"
        extra = {k: v for k, v in self.raw.items() if k not in ("seq", "kind", "date", "chat_id")}
        return f"#{self.seq} {self.kind} {extra}"


@dataclass(frozen=True, slots=True)
class Sent:
    """What sending a message produced (``file_id``: the photo or document sent, if any)."""

    update_id: int
    message_id: int
    seq: int
    file_id: str | None = None


@dataclass(frozen=True, slots=True)
class Tap:
    """What tapping a button produced."""

    update_id: int
    callback_query_id: str
    message_id: int
    data: str
    seq: int


def _stream(data: bytes) -> io.BytesIO:
    # aiohttp sends a stream as is but warns (ResourceWarning) about bytes bodies over 1 MB.
    return io.BytesIO(data)


def _error(status: int, payload: Any) -> SandboxError:
    message = payload.get("error") if isinstance(payload, dict) else None
    return SandboxError(status, str(message or payload))


def _transcript(events: list[ChatEvent], limit: int = 15) -> str:
    if not events:
        return "  (nothing)"
    shown = events[-limit:]
    lines = [f"  {e.describe()}" for e in shown]
    if len(events) > limit:
        lines.insert(0, f"  ... {len(events) - limit} earlier events")
    return "\n".join(lines)


class SandboxClient:
    """The client API of a sandbox at ``base_url`` (``http://host:port``).

    Pass a ``session`` to share one; otherwise the client opens its own and closes it on
    :meth:`close` (or when used as an async context manager).
    """

    def __init__(self, base_url: str, session: aiohttp.ClientSession | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._owns_session = session is None

    async def __aenter__(self) -> SandboxClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session if this client opened it."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        # Created on first use: aiohttp wants its session made inside the running loop.
        if self._session is None:
            # No connection cap: every simulated user may hold a long poll at once, and
            # aiohttp's default of 100 would make users queue inside the client.
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        data: aiohttp.FormData | None = None,
    ) -> Any:
        """Call the client API (a JSON body, or ``data`` for a multipart upload); raises
        :class:`SandboxError` for an error answer."""
        async with self._http().request(
            method, self.base_url + path, json=json, params=params, data=data
        ) as response:
            payload = await response.json(content_type=None)
            if response.status >= 400:
                raise _error(response.status, payload)
            return payload

    async def download(self, file_id: str) -> bytes:
        """The bytes of a stored file (a photo or document the bot or a user sent)."""
        path = "/sandbox/files/" + quote(file_id, safe="")
        async with self._http().get(self.base_url + path) as response:
            if response.status >= 400:
                raise _error(response.status, await response.json(content_type=None))
            return await response.read()

    async def user(
        self,
        user_id: int,
        first_name: str = "Resident",
        language_code: str | None = "en",
        last_name: str | None = None,
        username: str | None = None,
    ) -> SandboxUser:
        """Create (or fetch) a simulated user; their cursor starts after the chat's history."""
        body: dict[str, Any] = {
            "id": user_id,
            "first_name": first_name,
            "language_code": language_code,
            "last_name": last_name,
            "username": username,
        }
        data = await self.request("POST", "/sandbox/users", json=body)
        return SandboxUser(self, user_id, first_name, language_code, int(data["last_seq"]))

    async def users(self) -> list[dict[str, Any]]:
        """All simulated users."""
        data = await self.request("GET", "/sandbox/users")
        return list(data["users"])

    async def redeliver(self, update_id: int) -> None:
        """Have the sandbox deliver an update again with the same update_id."""
        await self.request("POST", f"/sandbox/updates/{update_id}/redeliver")

    async def stats(self) -> dict[str, Any]:
        """The sandbox's counters (calls per method, 429s, 403s, messages sent, ...)."""
        data: dict[str, Any] = await self.request("GET", "/sandbox/stats")
        return data

    async def reset_stats(self) -> None:
        """Zero the sandbox's counters."""
        await self.request("POST", "/sandbox/reset-stats")

    async def info(self) -> dict[str, Any]:
        """The bot's identity, the flood limits and the command menu."""
        data: dict[str, Any] = await self.request("GET", "/sandbox/info")
        return data


class SandboxUser:
    """One simulated user in a private chat with the bot. Build with :meth:`SandboxClient.user`."""

    def __init__(
        self,
        client: SandboxClient,
        user_id: int,
        first_name: str,
        language_code: str | None,
        cursor: int = 0,
    ) -> None:
        self.client = client
        self.id = user_id
        self.first_name = first_name
        self.language_code = language_code
        self.cursor = cursor
        """Seq of the last action (or of the last message returned by a wait)."""
        self.last_tap: Tap | None = None
        self.last_update_id: int | None = None

    def __repr__(self) -> str:
        return f"SandboxUser(id={self.id}, first_name={self.first_name!r})"

    # --- actions ------------------------------------------------------------------------------

    async def send(self, text: str) -> Sent:
        """Send a text (commands too: ``/start PAYLOAD``); any length is accepted."""
        data = await self.client.request(
            "POST", f"/sandbox/users/{self.id}/messages", json={"text": text}
        )
        return self._sent(data)

    async def send_photo(
        self,
        data: bytes,
        caption: str | None = None,
        filename: str = "photo.jpg",
        forwarded_from: str | None = None,
    ) -> Sent:
        """Send a photo (PNG, JPEG, GIF or WebP bytes) with an optional caption; the bot gets
        it as ``message.photo`` and can fetch it with getFile. ``Sent.file_id`` names it.
        With ``forwarded_from`` (a sender's name) it arrives forwarded: the message has a
        ``forward_origin``."""
        form = aiohttp.FormData()
        form.add_field("photo", _stream(data), filename=filename)
        if caption is not None:
            form.add_field("caption", caption)
        if forwarded_from is not None:
            form.add_field("forwarded_from", forwarded_from)
        return self._sent(await self._upload("photos", form))

    async def send_document(
        self,
        data: bytes,
        filename: str,
        mime_type: str | None = None,
        caption: str | None = None,
        forwarded_from: str | None = None,
    ) -> Sent:
        """Send a file as a document; without ``mime_type`` it is guessed from ``filename``.
        ``forwarded_from``: as for :meth:`send_photo`."""
        form = aiohttp.FormData()
        form.add_field("document", _stream(data), filename=filename)
        if mime_type is not None:
            form.add_field("mime_type", mime_type)
        if caption is not None:
            form.add_field("caption", caption)
        if forwarded_from is not None:
            form.add_field("forwarded_from", forwarded_from)
        return self._sent(await self._upload("documents", form))

    async def send_location(
        self, latitude: float, longitude: float, forwarded_from: str | None = None
    ) -> Sent:
        """Share a location; the bot gets ``message.location``. ``forwarded_from``: as for
        :meth:`send_photo`."""
        body: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
        if forwarded_from is not None:
            body["forwarded_from"] = forwarded_from
        data = await self.client.request(
            "POST", f"/sandbox/users/{self.id}/locations", json=body
        )
        return self._sent(data)

    async def _upload(self, what: str, form: aiohttp.FormData) -> Any:
        return await self.client.request("POST", f"/sandbox/users/{self.id}/{what}", data=form)

    def _sent(self, data: dict[str, Any]) -> Sent:
        file_id = data.get("file_id")
        sent = Sent(
            int(data["update_id"]),
            int(data["message"]["message_id"]),
            int(data["seq"]),
            str(file_id) if file_id is not None else None,
        )
        self.cursor = sent.seq
        self.last_update_id = sent.update_id
        return sent

    async def download(self, file: str | Message) -> bytes:
        """The bytes of a file: a file_id, or a message's photo (largest size) or document."""
        if isinstance(file, Message):
            file_id = file.file_id
            if file_id is None:
                raise ValueError(f"message {file.message_id} has no photo or document")
        else:
            file_id = file
        return await self.client.download(file_id)

    async def tap(self, button_text: str, message_id: int | None = None) -> Tap:
        """Tap the button showing ``button_text`` on ``message_id`` or, by default, on the
        latest bot message that has such a button. Fails (400) if there is none."""
        body: dict[str, Any] = {"button_text": button_text}
        if message_id is not None:
            body["message_id"] = message_id
        return await self._tap(body)

    async def open_web_app(self, button_text: str, message_id: int | None = None,
                           auth_date: int | None = None) -> str:
        """Tap a ``web_app`` button: the address Telegram's app would open (the button's, with
        initData signed for this user after ``#tgWebAppData=``). ``auth_date`` (Unix time)
        signs it as of then, to try a stale one."""
        body: dict[str, Any] = {"button_text": button_text}
        if message_id is not None:
            body["message_id"] = message_id
        if auth_date is not None:
            body["auth_date"] = auth_date
        data = await self.client.request("POST", f"/sandbox/users/{self.id}/web_app", json=body)
        return str(data["url"])

    async def tap_data(self, message_id: int, data: str, forge: bool = True) -> Tap:
        """Send ``data`` as a tap on ``message_id``. With ``forge`` (default) the data need not
        be on any button, as from a modified client; without, a button must carry it."""
        return await self._tap({"message_id": message_id, "data": data, "forge": forge})

    async def _tap(self, body: dict[str, Any]) -> Tap:
        data = await self.client.request("POST", f"/sandbox/users/{self.id}/taps", json=body)
        tap = Tap(
            update_id=int(data["update_id"]),
            callback_query_id=str(data["callback_query_id"]),
            message_id=int(data["message_id"]),
            data=str(data["data"]),
            seq=int(data["seq"]),
        )
        self.cursor = tap.seq
        self.last_tap = tap
        self.last_update_id = tap.update_id
        return tap

    async def block(self) -> int | None:
        """Block the bot; returns the my_chat_member update's id (None if already blocked)."""
        return await self._block("block")

    async def unblock(self) -> int | None:
        """Unblock the bot; returns the my_chat_member update's id (None if not blocked)."""
        return await self._block("unblock")

    async def _block(self, action: str) -> int | None:
        data = await self.client.request("POST", f"/sandbox/users/{self.id}/{action}")
        self.cursor = max(self.cursor, int(data["seq"]))
        update_id = data.get("update_id")
        if update_id is not None:
            self.last_update_id = int(update_id)
        return None if update_id is None else int(update_id)

    # --- reading the chat ---------------------------------------------------------------------

    async def chat(self, after_seq: int = 0) -> list[ChatEvent]:
        """The chat's events after ``after_seq`` (all by default), in order."""
        data = await self.client.request(
            "GET", f"/sandbox/users/{self.id}/chat", params={"after_seq": str(after_seq)}
        )
        return [ChatEvent.from_raw(raw) for raw in data["events"]]

    async def bot_messages(self) -> list[Message]:
        """The bot's messages as they are now (after edits, without deleted ones)."""
        current: dict[int, Message] = {}
        for event in await self.chat():
            if event.message is not None and event.message.from_bot:
                current[event.message.message_id] = event.message
            elif event.kind == "delete":
                current.pop(int(event.raw["message_id"]), None)
        return [current[k] for k in sorted(current)]

    async def command_menu(self) -> list[tuple[str, str]]:
        """The "/" menu this user sees in the chat: (command, description) pairs."""
        params = {"chat_id": str(self.id), "language_code": self.language_code or ""}
        data = await self.client.request("GET", "/sandbox/info", params=params)
        return [(c["command"], c["description"]) for c in data["commands"]]

    async def last_bot_message(self) -> Message | None:
        """The bot's latest message as it is now, or None."""
        messages = await self.bot_messages()
        return messages[-1] if messages else None

    async def callback_answers(self) -> list[CallbackAnswer]:
        """Every callback answer (toast) the user got, in order."""
        return [e.answer for e in await self.chat() if e.answer is not None]

    # --- waiting ------------------------------------------------------------------------------

    async def _wait_for_event(
        self, matches: Callable[[ChatEvent], bool], limit_s: float, what: str, after: int
    ) -> ChatEvent:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit_s
        seen: list[ChatEvent] = []
        while True:
            remaining = max(0.0, deadline - loop.time())
            data = await self.client.request(
                "GET",
                "/sandbox/wait",
                params={
                    "user_id": str(self.id),
                    "after_seq": str(after),
                    "timeout": f"{remaining:.3f}",
                },
            )
            for raw in data["events"]:
                event = ChatEvent.from_raw(raw)
                seen.append(event)
                if matches(event):
                    return event
            after = max(after, int(data["last_seq"]))
            if remaining <= 0.0:
                raise SandboxTimeout(
                    f"user {self.id}: no {what} within {limit_s:g}s; "
                    f"the chat after seq {self.cursor} had:\n{_transcript(seen)}"
                )

    # The waits take a plain timeout (ASYNC109) because tests read better that way than wrapped
    # in asyncio.timeout, and the timeout is also sent to the server's long poll.
    async def wait_for_message(
        self,
        contains: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Message:
        """The next bot message, new or edited, after the last action (or the last message
        returned) whose text or caption contains ``contains``; raises :class:`SandboxTimeout`."""

        def matches(event: ChatEvent) -> bool:
            return event.is_bot_message and (
                contains is None or (event.message is not None and contains in event.message.body)
            )

        what = "bot message" + (f" containing {contains!r}" if contains is not None else "")
        event = await self._wait_for_event(matches, timeout, what, self.cursor)
        assert event.message is not None
        self.cursor = event.seq
        return event.message

    async def wait_for_answer(self, timeout: float = 5.0) -> CallbackAnswer:  # noqa: ASYNC109
        """The bot's answerCallbackQuery to the last tap; raises :class:`SandboxTimeout`."""
        tap = self.last_tap
        if tap is None:
            raise RuntimeError("wait_for_answer needs a tap first")

        def matches(event: ChatEvent) -> bool:
            return event.answer is not None and event.answer.callback_query_id == (
                tap.callback_query_id
            )

        event = await self._wait_for_event(
            matches, timeout, f"answer to the tap on message {tap.message_id}", tap.seq
        )
        assert event.answer is not None
        return event.answer

    async def expect_no_message(self, within: float = 0.5) -> None:
        """Assert that the bot sends or edits nothing after the cursor for ``within`` seconds."""
        try:
            event = await self._wait_for_event(
                lambda e: e.is_bot_message, within, "bot message", self.cursor
            )
        except SandboxTimeout:
            return
        raise AssertionError(f"user {self.id}: expected no bot message, got {event.describe()}")
