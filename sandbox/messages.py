"""Bot API methods by which the bot acts in a chat: send, edit and delete messages, answer
button taps, show "typing…", look a chat up.

Every method checks its parameters as Telegram does and answers with its error texts for the
rules that matter to CivicPulse (text and caption length, ``callback_data`` size, flood control,
blocked users, stale callback queries, unmodified edits). A refused call changes nothing: the
blocked and flood checks come after the parameter checks and before any change.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from typing import Any

from sandbox.chats import Chat, Chats, Message, message_view
from sandbox.files import Files
from sandbox.formatting import EntityParseError, parse_text, strip_text
from sandbox.protocol import ApiError, Handler, Params, bad
from sandbox.ratelimit import FloodControl

__all__ = ["BLOCKED", "BotMessages"]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200

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

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
BLOCKED = "Forbidden: bot was blocked by the user"


class BotMessages:
    """The bot's messages in the users' chats, under Telegram's rules and flood limits."""

    def __init__(
        self, chats: Chats, files: Files, flood: FloodControl, counters: Counter[str]
    ) -> None:
        self._chats = chats
        self._files = files
        self._flood = flood
        self._counters = counters

    def methods(self) -> dict[str, Handler]:
        return {
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "getChat": self._get_chat,
        }

    # --- sending ------------------------------------------------------------------------------

    async def _send_message(self, p: Params) -> Any:
        chat = self._chat_param(p)
        text, entities = self._text_param(p)
        markup = self._markup_param(p)
        reply_to = self._reply_to_param(p, chat)
        preview = p.get_json("link_preview_options")
        self._check_can_send(chat)
        msg = self._new_message(chat, text, entities, reply_to)
        msg.link_preview_options = preview if isinstance(preview, dict) else None
        return self._post(chat, msg, markup)

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
        source = self._files.from_param(p, kind)
        # Blocked and flood checks come last, as for texts; the file is stored only once the
        # message is certain, so a refused call leaves nothing behind.
        self._check_can_send(chat)
        stored = self._files.keep(source)
        msg = self._new_message(chat, caption, entities, reply_to)
        msg.media = (
            {"photo": [stored.photo_size()]} if kind == "photo" else {"document": stored.document()}
        )
        msg.caption_above = caption_above
        return self._post(chat, msg, markup)

    @staticmethod
    def _new_message(
        chat: Chat, text: str, entities: list[dict[str, Any]], reply_to: int | None
    ) -> Message:
        return Message(
            message_id=chat.next_message_id,
            from_bot=True,
            date=int(time.time()),
            text=text,
            entities=entities,
            reply_to=reply_to,
        )

    def _post(self, chat: Chat, msg: Message, markup: dict[str, Any] | None) -> dict[str, Any]:
        """Add a checked bot message to the chat and its log; the Bot API Message."""
        inline = markup if markup and "inline_keyboard" in markup else None
        msg.reply_markup = inline
        chat.next_message_id += 1
        chat.messages[msg.message_id] = msg
        if inline:
            chat.remember_keyboard(msg.message_id)
        event: dict[str, Any] = {"kind": "message", "date": msg.date, "message": message_view(msg)}
        if markup is not None and inline is None:
            # A reply keyboard belongs to the chat, not to the message: it stays until replaced.
            chat.reply_keyboard = None if markup.get("remove_keyboard") else markup
            event["reply_keyboard"] = chat.reply_keyboard
        self._chats.add_event(chat, event)
        self._counters["messages_sent"] += 1
        return self._chats.message_api(chat, msg)

    def _check_can_send(self, chat: Chat) -> None:
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

    # --- editing and deleting -----------------------------------------------------------------

    async def _edit_message_text(self, p: Params) -> Any:
        chat = self._chat_param(p)
        msg = self._bot_message_param(p, chat, "edit")
        if msg.media is not None:
            raise bad("there is no text in the message to edit")
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
            raise bad("there is no caption in the message to edit")
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

    def _apply_edit(
        self,
        chat: Chat,
        msg: Message,
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
        self._chats.add_event(chat, {"kind": "edit", "date": now, "message": message_view(msg)})
        self._counters["messages_edited"] += 1
        return self._chats.message_api(chat, msg)

    async def _delete_message(self, p: Params) -> Any:
        chat = self._chat_param(p)
        message_id = p.get_int("message_id")
        if message_id is None:
            raise bad("message identifier is not specified")
        if chat.messages.pop(message_id, None) is None:
            raise bad("message to delete not found")
        self._log_delete(chat, message_id, int(time.time()))
        return True

    async def _delete_messages(self, p: Params) -> Any:
        chat = self._chat_param(p)
        ids = p.get_json("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad("message_ids must be a non-empty array of at most 100 identifiers")
        now = int(time.time())
        for raw in ids:
            with contextlib.suppress(TypeError, ValueError):
                message_id = int(raw)
                if chat.messages.pop(message_id, None) is not None:
                    self._log_delete(chat, message_id, now)
        return True

    def _log_delete(self, chat: Chat, message_id: int, now: int) -> None:
        self._chats.add_event(chat, {"kind": "delete", "date": now, "message_id": message_id})

    # --- taps, chat actions, lookups ----------------------------------------------------------

    async def _answer_callback_query(self, p: Params) -> Any:
        query_id = p.get_str("callback_query_id") or ""
        if query_id not in self._chats.queries:
            raise ApiError(400, QUERY_INVALID)
        text = p.get_str("text") or ""
        if len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad("MESSAGE_TOO_LONG")
        query = self._chats.take_query(query_id)
        assert query is not None
        self._chats.add_event(
            self._chats.by_id[query.chat_id],
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
            raise bad("wrong parameter action in request")
        if chat.user.blocked:
            raise ApiError(403, BLOCKED)
        self._chats.add_event(
            chat, {"kind": "chat_action", "date": int(time.time()), "action": action}
        )
        return True

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

    # --- parameters ---------------------------------------------------------------------------

    def _chat_param(self, p: Params, name: str = "chat_id") -> Chat:
        raw = p.raw(name)
        if raw is None or raw == "":
            raise bad(f"{name} is empty")
        try:
            chat_id = int(raw) if not isinstance(raw, bool) else None
        except (TypeError, ValueError):
            chat_id = None
        chat = self._chats.by_id.get(chat_id) if chat_id is not None else None
        if chat is None:
            raise bad("chat not found")
        return chat

    @staticmethod
    def _bot_message_param(p: Params, chat: Chat, action: str) -> Message:
        if p.get_str("inline_message_id"):
            raise bad("inline messages are not supported by the sandbox")
        message_id = p.get_int("message_id")
        if message_id is None:
            raise bad("message identifier is not specified")
        msg = chat.messages.get(message_id)
        if msg is None:
            raise bad(f"message to {action} not found")
        if not msg.from_bot:
            raise bad(f"message can't be {action}ed")
        return msg

    @staticmethod
    def _reply_to_param(p: Params, chat: Chat) -> int | None:
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
            raise bad("message to be replied not found")
        return target

    @staticmethod
    def _text_param(p: Params) -> tuple[str, list[dict[str, Any]]]:
        plain, entities = _formatted_param(p, "text", "entities")
        if not plain:
            raise bad("message text is empty")
        if len(plain) > MAX_TEXT_LENGTH:
            raise bad("message is too long")
        return plain, entities

    @staticmethod
    def _caption_param(p: Params) -> tuple[str, list[dict[str, Any]]]:
        """A media caption: optional (empty after parsing means none), 1024 characters at most
        after entity parsing, with the same parse_mode rules as a text."""
        plain, entities = _formatted_param(p, "caption", "caption_entities")
        if len(plain) > MAX_CAPTION_LENGTH:
            raise bad("message caption is too long")
        return plain, entities

    @staticmethod
    def _markup_param(p: Params, inline_only: bool = False) -> dict[str, Any] | None:
        markup = p.get_json("reply_markup", "can't parse reply keyboard markup JSON object")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            return _check_inline_keyboard(markup)
        if inline_only:
            raise bad("inline keyboard expected")
        if "keyboard" in markup or "remove_keyboard" in markup or "force_reply" in markup:
            return markup
        raise bad("can't parse reply keyboard markup JSON object")


def _formatted_param(p: Params, name: str, entities_name: str) -> tuple[str, list[dict[str, Any]]]:
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
            entities = _entities_param(p.get_json(entities_name))
    except EntityParseError as error:
        raise ApiError(400, str(error)) from None
    return strip_text(plain, entities)


def _entities_param(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(
        isinstance(e, dict) and isinstance(e.get("offset"), int) for e in value
    ):
        raise bad("can't parse entities JSON object")
    return [dict(e) for e in value]


def _check_inline_keyboard(markup: dict[str, Any]) -> dict[str, Any]:
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad("can't parse inline keyboard button: Text must be a String")
            data = button.get("callback_data")
            if data is not None:
                size = len(data.encode()) if isinstance(data, str) else 0
                if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                    raise bad("BUTTON_DATA_INVALID")
            elif not any(button.get(key) is not None for key in _BUTTON_ACTIONS):
                raise bad("text buttons are unallowed in the inline keyboard")
    return {"inline_keyboard": rows}
