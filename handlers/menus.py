"""The command menu (Telegram's "/" list): what each person sees depends on their roles.

Residents get the default menu; someone with a role gets their own, set on their chat with
``BotCommandScopeChat``: their roles' commands first, then the resident ones. Each menu exists
in English (no language code: everyone else) and Chinese (``language_code="zh"``), so Telegram
shows the one matching the app's language. Descriptions live in the text catalog.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from handlers.texts import t
from storage.models import Role

log = logging.getLogger(__name__)

RESIDENT_COMMANDS = ("help", "report", "units", "language", "cancel", "stop")
ROLE_COMMANDS: dict[Role, tuple[str, ...]] = {
    Role.ADMIN: ("campaigns", "campaign", "newcampaign", "close", "remind", "entry", "invite",
                 "cadres", "results", "appeals", "answer", "cases", "dashboard"),
    Role.AUDITOR: ("campaigns", "campaign", "cadres", "results", "appeals", "answer", "cases",
                   "approve", "dashboard"),
    Role.INSPECTOR: ("inspect", "inspections", "dashboard"),
    Role.CADRE: ("note", "notes", "myscore", "appeal", "cases", "dashboard"),
}
# Telegram matches a menu's language_code against the app's language; English is the fallback.
# Chinese first: while only the fallback is set, a Chinese app would show it in English.
MENU_LANGUAGES: dict[str, str | None] = {"zh": "zh", "en": None}


def menu(roles: Iterable[Role], lang: str) -> list[BotCommand]:
    """The commands for someone holding ``roles`` (none: a resident), described in ``lang``."""
    held = set(roles)
    names: list[str] = []
    for role in Role:  # a fixed order, whatever order the roles were granted in
        if role in held:
            names.extend(n for n in ROLE_COMMANDS[role] if n not in names)
    names.extend(n for n in RESIDENT_COMMANDS if n not in names)
    return [BotCommand(name, t(f"menu.{name}", lang)) for name in names]


async def set_default_menus(bot: Bot) -> None:
    """The residents' menu, for everyone without a menu of their own; best effort."""
    try:
        for lang, code in MENU_LANGUAGES.items():
            await bot.set_my_commands(menu((), lang), language_code=code)
    except TelegramError as exc:
        log.warning("could not set the command menu: %s", exc)


async def set_chat_menu(bot: Bot, chat_id: int, roles: Iterable[Role]) -> bool:
    """Give one person's chat the menu of their roles, or drop it (back to the residents'
    menu) when they have none left. False if Telegram refused (tried again later)."""
    held = frozenset(roles)
    scope = BotCommandScopeChat(chat_id)
    try:
        for lang, code in MENU_LANGUAGES.items():
            if held:
                await bot.set_my_commands(menu(held, lang), scope=scope, language_code=code)
            else:
                await bot.delete_my_commands(scope=scope, language_code=code)
    except TelegramError as exc:
        log.warning("could not set the command menu of a chat: %s", exc)
        return False
    return True
