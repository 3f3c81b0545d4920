"""The command menus: every listed command exists, is described in both languages, and fits
Telegram's limits."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, cast

import pytest
from telegram import Bot
from telegram.error import BadRequest
from telegram.ext import CommandHandler

from bot.app import build_application
from bot.settings import Settings
from handlers.menus import RESIDENT_COMMANDS, ROLE_COMMANDS, menu
from handlers.texts import catalogs
from storage.models import Role
from storage.uow import Database

ALL = {*RESIDENT_COMMANDS, *(c for names in ROLE_COMMANDS.values() for c in names)}


@pytest.mark.parametrize("name", sorted(ALL))
def test_each_command_is_described_in_english_and_chinese(name: str) -> None:
    entry = {lang: texts[f"menu.{name}"] for lang, texts in catalogs().items()}
    assert set(entry) == {"en", "zh"}
    assert all(1 <= len(text) <= 256 for text in entry.values())
    assert re.fullmatch(r"[a-z0-9_]{1,32}", name)


async def test_every_command_in_a_menu_has_a_handler(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        application = build_application(Settings(), db, token="1:x", api_url="http://127.0.0.1:9",
                                        secret=b"s" * 32)
        handled = {command for handlers in application.handlers.values() for h in handlers
                   if isinstance(h, CommandHandler) for command in h.commands}
    finally:
        await db.dispose()
    assert handled >= ALL, sorted(ALL - handled)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_role_commands_come_first_then_the_residents_once_each(lang: str) -> None:
    names = [c.command for c in menu([Role.CADRE, Role.ADMIN], lang)]
    assert names[:len(ROLE_COMMANDS[Role.ADMIN])] == list(ROLE_COMMANDS[Role.ADMIN])
    assert names[-len(RESIDENT_COMMANDS):] == list(RESIDENT_COMMANDS)
    assert len(names) == len(set(names)) <= 100
    assert [c.command for c in menu([], lang)] == list(RESIDENT_COMMANDS)
    auditor_and_admin = [c.command for c in menu([Role.AUDITOR, Role.ADMIN], lang)]
    assert auditor_and_admin.count("campaigns") == 1


class FakeBot:
    """Records menu calls; refuses chats in ``unknown`` as Telegram does ("chat not found")."""

    def __init__(self, unknown: set[int]) -> None:
        self.unknown = unknown
        self.calls: list[tuple[str, int | None, str | None]] = []

    async def set_my_commands(self, commands: Any, scope: Any = None,
                              language_code: str | None = None) -> bool:
        chat = getattr(scope, "chat_id", None)
        if chat in self.unknown:
            raise BadRequest("Chat not found")
        self.calls.append(("set", chat, language_code))
        return True

    async def delete_my_commands(self, scope: Any = None,
                                 language_code: str | None = None) -> bool:
        self.calls.append(("delete", getattr(scope, "chat_id", None), language_code))
        return True


async def test_menu_sync_sets_changes_only_and_does_not_hammer_unknown_chats(
    db: Database,
) -> None:
    from bot.menus import MenuSync
    from surveys.people.roles import grant_role, revoke_role

    async with db.transaction() as uow:
        for user in (501, 502):
            await grant_role(uow, telegram_user_id=user, role=Role.ADMIN, unit_code=None,
                             name=None, actor="test")
    fake = FakeBot(unknown={502})
    sync = MenuSync(cast(Bot, fake), db, interval_s=60)
    assert await sync.sync() == 1
    assert fake.calls == [("set", 501, "zh"), ("set", 501, None)]
    assert await sync.sync() == 0, "nothing changed, nothing sent"
    assert len(fake.calls) == 2, "the chat Telegram refused is not retried at once"
    # A restart (a new MenuSync) does not set the unchanged menu again: it is recorded.
    restarted = MenuSync(cast(Bot, fake), db, interval_s=60)
    assert await restarted.sync() == 0
    assert [call for call in fake.calls[2:] if call[1] == 501] == []
    del fake.calls[2:]  # its one new try of the refused chat
    async with db.transaction() as uow:
        await revoke_role(uow, telegram_user_id=501, role=Role.ADMIN, unit_code=None,
                          actor="test")
    assert await sync.sync() == 1
    assert fake.calls[2:] == [("delete", 501, "zh"), ("delete", 501, None)]
