"""Simulated users: what a person can do in a private chat with the bot, as Python calls.

Each action is logged in the user's chat and, where Telegram would tell the bot, queued as an
update. The client API over HTTP (:mod:`sandbox.client_api`) calls these, and tests may call them
directly on the sandbox. A refused action raises :class:`~sandbox.protocol.SandboxError`, worded
for the person at the chat page.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from sandbox.chats import Chat, Chats, Message, Query, buttons, message_view
from sandbox.files import Files
from sandbox.formatting import user_entities
from sandbox.media import StoredFile
from sandbox.protocol import SandboxError
from sandbox.updates import UpdateQueue
from sandbox.webapp import init_data, launch_url

__all__ = ["SimulatedUsers"]


class SimulatedUsers:
    """The users' side of the sandbox: create users, send, tap, block, read and wait."""

    token: str  # the bot's (set by the server): Mini Apps' initData is signed with it

    def __init__(self, bot_id: int, chats: Chats, updates: UpdateQueue, files: Files) -> None:
        self.bot_id = bot_id
        self._chats = chats
        self._updates = updates
        self._files = files

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
        chat = self._chats.add_user(user_id, first_name, last_name, username, language_code)
        return {**chat.user.view(), "last_seq": chat.last_seq}

    def users(self) -> list[dict[str, Any]]:
        """All simulated users, in creation order."""
        by_id = self._chats.by_id
        return [{**u.view(), "last_seq": by_id[u.id].last_seq} for u in self._chats.users.values()]

    def _chat_of(self, user_id: int) -> Chat:
        chat = self._chats.by_id.get(user_id)
        if chat is None:
            raise SandboxError(
                404,
                f"The sandbox has no user with id {user_id}; it may have been started with "
                "no saved users. Create the user again to go on chatting.",
                code="unknown_user",
            )
        return chat

    # --- sending ------------------------------------------------------------------------------

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
        stored = self._files.add_user_photo(data)
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
        stored = self._files.add_user_document(data, filename, mime_type)
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
        chat: Chat,
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
        msg = Message(
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
        event = self._chats.add_event(
            chat, {"kind": "message", "date": now, "message": message_view(msg)}
        )
        api_message = self._chats.message_api(chat, msg)
        update_id = self._updates.enqueue("message", api_message)
        result = {"update_id": update_id, "message": api_message, "seq": event["seq"]}
        if stored is not None:
            result["file_id"] = stored.file_id
        return result

    # --- tapping ------------------------------------------------------------------------------

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
            msg, button = _button_on(chat, message_id, button_text, data)
        else:
            msg, button = _latest_button(chat, button_text, data)
        callback_data = button.get("callback_data")
        if callback_data is None:
            raise SandboxError(
                400, f"The button {button['text']!r} opens a link and sends nothing to the bot."
            )
        return self._make_tap(chat, msg, callback_data, button["text"], forged=False)

    def open_web_app(self, user_id: int, button_text: str, message_id: int | None = None,
                     auth_date: int | None = None) -> dict[str, Any]:
        """The user taps a ``web_app`` button: the address Telegram's app would open, with
        initData signed for this user (``auth_date``: when it was signed, now by default).
        The bot is told nothing, as in Telegram."""
        chat = self._chat_of(user_id)
        if message_id is not None:
            _msg, button = _button_on(chat, message_id, button_text, None)
        else:
            _msg, button = _latest_button(chat, button_text, None)
        web_app = button.get("web_app")
        url = web_app.get("url") if isinstance(web_app, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise SandboxError(400, f"The button {button['text']!r} does not open a Mini App.")
        data = init_data(chat.user.api_from, self.token, auth_date)
        return {"url": launch_url(url, data)}

    def _make_tap(
        self, chat: Chat, msg: Message, data: str, button_text: str | None, forged: bool
    ) -> dict[str, Any]:
        query_id = self._chats.next_query_id()
        event = self._chats.add_event(
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
        self._chats.add_query(Query(query_id, chat.user.id, msg.message_id, data, event["seq"]))
        body = {
            "id": query_id,
            "from": chat.user.api_from,
            "message": self._chats.message_api(chat, msg),
            "chat_instance": chat.chat_instance,
            "data": data,
        }
        update_id = self._updates.enqueue("callback_query", body)
        return {
            "update_id": update_id,
            "callback_query_id": query_id,
            "message_id": msg.message_id,
            "data": data,
            "seq": event["seq"],
        }

    # --- blocking -----------------------------------------------------------------------------

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
        bot = self._chats.bot_from
        new_member: dict[str, Any] = {"status": new, "user": bot}
        old_member: dict[str, Any] = {"status": old, "user": bot}
        # A ban in a private chat is permanent: Telegram reports until_date 0.
        for member in (old_member, new_member):
            if member["status"] == "kicked":
                member["until_date"] = 0
        update_id = self._updates.enqueue(
            "my_chat_member",
            {
                "chat": user.api_chat,
                "from": user.api_from,
                "date": now,
                "old_chat_member": old_member,
                "new_chat_member": new_member,
            },
        )
        kind = "blocked" if blocked else "unblocked"
        event = self._chats.add_event(chat, {"kind": kind, "date": now})
        return {"update_id": update_id, "seq": event["seq"], "blocked": blocked}

    # --- reading ------------------------------------------------------------------------------

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
        chats = self._chats
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, min(max_wait, 120.0))
        while True:
            if user_id is not None:
                chat = self._chat_of(user_id)
                if chat.last_seq > after_seq or chats.closing:
                    return self.chat(user_id, after_seq)
                waiters = chat.waiters
            else:
                if chats.seq > after_seq or chats.closing:
                    events = chats.events_after(after_seq)
                    return {"last_seq": max(chats.seq, after_seq), "events": events}
                waiters = chats.any_waiters
            remaining = deadline - loop.time()
            if remaining <= 0:
                if user_id is not None:
                    return self.chat(user_id, after_seq)
                return {"last_seq": max(chats.seq, after_seq), "events": []}
            await waiters.wait(remaining)


def _button_on(
    chat: Chat, message_id: int, button_text: str | None, data: str | None
) -> tuple[Message, dict[str, Any]]:
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
    return msg, button


def _latest_button(
    chat: Chat, button_text: str | None, data: str | None
) -> tuple[Message, dict[str, Any]]:
    for candidate_id in reversed(chat.keyboard_ids):
        candidate = chat.messages.get(candidate_id)
        if candidate is None:
            continue
        button = _find_button(candidate, button_text, data)
        if button is not None:
            return candidate, button
    raise SandboxError(
        400, f"No bot message in this chat has a button {_describe(button_text, data)}."
    )


def _find_button(msg: Message, button_text: str | None, data: str | None) -> dict[str, Any] | None:
    for row in buttons(msg.reply_markup):
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


def _button_list(msg: Message) -> str:
    texts = [str(b.get("text")) for row in buttons(msg.reply_markup) for b in row]
    return ", ".join(repr(t) for t in texts) if texts else "none"
