"""The simulated Telegram's memory: users, their private chats with the bot, and what each shows.

Every change to a chat goes through its event log (:meth:`Chats.add_event`), which the chat page
and the tests read and wait on, and which the state directory saves. A message has two faces:
the Bot API object the bot receives (:meth:`Chats.message_api`) and the flat view the client API
shows (:func:`message_view`). Lookups are by dictionary (chat by id, message by id within its
chat) so the cost of a request does not grow with the history.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from sandbox.state import Changes
from sandbox.waiting import Waiters

__all__ = [
    "ALL_EVENTS_KEPT",
    "Chat",
    "Chats",
    "Message",
    "Query",
    "User",
    "buttons",
    "message_view",
]

ALL_EVENTS_KEPT = 10_000


@dataclass(slots=True)
class User:
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
class Message:
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
class Query:
    """A callback query sent to the bot, awaiting answerCallbackQuery."""

    id: str
    chat_id: int
    message_id: int
    data: str
    tap_seq: int


class Chat:
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

    def __init__(self, user: User, chat_instance: str) -> None:
        self.user = user
        self.chat_instance = chat_instance
        self.next_message_id = 1
        self.messages: dict[int, Message] = {}
        self.events: list[dict[str, Any]] = []
        self.seqs: list[int] = []  # parallel to events, for bisect on after_seq
        # Ids of bot messages that were sent or edited with an inline keyboard, ascending, so
        # "the latest message with this button" is found from the end without a full scan.
        self.keyboard_ids: list[int] = []
        self.reply_keyboard: dict[str, Any] | None = None
        self.waiters = Waiters()

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


class Chats:
    """Every simulated user with their private chat, and the callback queries awaiting answers.

    ``seq`` numbers the events of all chats together, so one cursor serves a chat page that
    follows every chat. ``closing`` makes waiting requests answer at once (the server stops).
    """

    def __init__(self, bot_from: dict[str, Any], changes: Changes) -> None:
        self.bot_from = bot_from
        self.users: dict[int, User] = {}  # creation order
        self.by_id: dict[int, Chat] = {}  # a private chat's id is its user's id
        self.queries: dict[str, Query] = {}
        self.next_query = 1
        self.seq = 0
        # Every event of every chat, for waiters on "anything new" (the browser's user list).
        self.all_events: list[dict[str, Any]] = []
        self.all_seqs: list[int] = []
        self.any_waiters = Waiters()
        self.closing = False
        self._changes = changes

    def add_user(
        self,
        user_id: int,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
    ) -> Chat:
        """Create the user and their private chat, or update the names of an existing one."""
        user = self.users.get(user_id)
        if user is None:
            user = User(user_id, first_name, last_name, username, language_code)
            self.users[user_id] = user
            chat_instance = str((user_id * 2654435761 + self.bot_from["id"]) % 10**18 + 10**17)
            self.by_id[user_id] = Chat(user, chat_instance)
        else:
            user.first_name = first_name
            user.last_name = last_name
            user.username = username
            user.language_code = language_code
        user.refresh()
        self._changes.user(user_id)
        return self.by_id[user_id]

    def add_event(self, chat: Chat, event: dict[str, Any]) -> dict[str, Any]:
        """Log ``event`` in ``chat`` with the next ``seq`` and wake whoever waits for it."""
        self.seq += 1
        event["seq"] = self.seq
        event["chat_id"] = chat.user.id
        chat.events.append(event)
        chat.seqs.append(self.seq)
        self.all_events.append(event)
        self.all_seqs.append(self.seq)
        if len(self.all_events) > 2 * ALL_EVENTS_KEPT:
            # Only "anything new?" waiters read this log, and only its tail; trimming in halves
            # keeps the cost amortised O(1) and memory bounded in long benchmarks.
            del self.all_events[:-ALL_EVENTS_KEPT]
            del self.all_seqs[:-ALL_EVENTS_KEPT]
        chat.waiters.wake()
        self.any_waiters.wake()
        self._changes.event(chat.user.id, event)
        return event

    def events_after(self, after_seq: int) -> list[dict[str, Any]]:
        """Every chat's events after ``after_seq`` (as far back as the shared log keeps)."""
        return self.all_events[bisect.bisect_right(self.all_seqs, after_seq) :]

    def next_query_id(self) -> str:
        query_id = str(4_000_000_000_000_000_000 + self.next_query)
        self.next_query += 1
        return query_id

    def add_query(self, query: Query) -> None:
        self.queries[query.id] = query
        self._changes.query(query.id)

    def take_query(self, query_id: str) -> Query | None:
        """The query, forgotten: an answered query can never be answered again, so a second
        answer fails like Telegram's, and the map stays small."""
        query = self.queries.pop(query_id, None)
        if query is not None:
            self._changes.query(query_id)
        return query

    def message_api(self, chat: Chat, msg: Message, nested: bool = True) -> dict[str, Any]:
        """The Bot API Message the bot receives."""
        out: dict[str, Any] = {
            "message_id": msg.message_id,
            "from": self.bot_from if msg.from_bot else chat.user.api_from,
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
                out["reply_to_message"] = self.message_api(chat, target, nested=False)
        return out

    def wake_all(self) -> None:
        self.any_waiters.wake()
        for chat in self.by_id.values():
            chat.waiters.wake()


def message_view(msg: Message) -> dict[str, Any]:
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
        "buttons": buttons(msg.reply_markup),
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


def buttons(markup: dict[str, Any] | None) -> list[list[dict[str, Any]]]:
    """An inline keyboard's rows (none for no markup or a reply keyboard)."""
    if not markup:
        return []
    rows: list[list[dict[str, Any]]] = markup.get("inline_keyboard") or []
    return rows


def _file_url(api_file: Mapping[str, Any]) -> str:
    return "/sandbox/files/" + quote(str(api_file["file_id"]), safe="")
