"""Bot API methods about the bot itself: who it is, its command menus, descriptions and menu
buttons, kept per scope and language as Telegram keeps them."""

from __future__ import annotations

import json
import re
from typing import Any

from sandbox.protocol import Handler, Params, bad

__all__ = ["BotProfile"]

_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")


class BotProfile:
    """The bot's identity (``bot_from`` is the User object its messages carry) and settings."""

    def __init__(self, bot_from: dict[str, Any]) -> None:
        self.bot_from = bot_from
        self._commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self._descriptions: dict[tuple[str, str], str] = {}
        self._menu_buttons: dict[int | None, dict[str, Any]] = {}

    def methods(self) -> dict[str, Handler]:
        return {
            "getMe": self._get_me,
            "logOut": self._log_out,
            "close": self._log_out,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": self._set_description("description"),
            "getMyDescription": self._get_description("description"),
            "setMyShortDescription": self._set_description("short_description"),
            "getMyShortDescription": self._get_description("short_description"),
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
        }

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
                found = self._commands.get((_scope_text(scope), lang))
                if found is not None:
                    return found
        return []

    async def _get_me(self, p: Params) -> Any:
        return {
            **self.bot_from,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _log_out(self, p: Params) -> Any:
        return True

    async def _set_my_commands(self, p: Params) -> Any:
        commands = p.get_json("commands")
        if not isinstance(commands, list):
            raise bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad("too many commands")
        clean: list[dict[str, str]] = []
        for item in commands:
            if not isinstance(item, dict):
                raise bad("can't parse BotCommand")
            name = str(item.get("command", ""))
            description = str(item.get("description", ""))
            if not _COMMAND_NAME.match(name):
                raise bad("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise bad("BOT_COMMAND_DESCRIPTION_INVALID")
            clean.append({"command": name, "description": description})
        self._commands[_scope_key(p)] = clean
        return True

    async def _get_my_commands(self, p: Params) -> Any:
        return self._commands.get(_scope_key(p), [])

    async def _delete_my_commands(self, p: Params) -> Any:
        self._commands.pop(_scope_key(p), None)
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


def _scope_key(p: Params) -> tuple[str, str]:
    scope = p.get_json("scope")
    if not isinstance(scope, dict):
        scope = {"type": "default"}
    return _scope_text(scope), p.get_str("language_code") or ""


def _scope_text(scope: dict[str, Any]) -> str:
    # Scopes arrive as JSON objects in any key order; one text per scope keys the menus.
    return json.dumps(scope, sort_keys=True)
