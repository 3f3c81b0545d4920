"""Keeps each person's command menu in step with their roles.

Roles change in this process (a cadre opens their invite link) and in others (`civicpulse
admin add` / `admin remove`), so the database decides: at start every chat with (or that had)
a role gets its menu, and then every ``interval_s`` or when poked only the chats whose roles
changed are updated. Telegram calls are made outside any transaction (after the commits).
"""

from __future__ import annotations

import logging
import time

from telegram import Bot

from bot.loops import WakeableLoop
from handlers.menus import set_chat_menu
from storage.models import Role
from storage.uow import Database
from surveys.people.roles import chat_roles

log = logging.getLogger(__name__)

RETRY_FAILED_S = 600.0


class MenuSync(WakeableLoop):
    def __init__(self, bot: Bot, db: Database, interval_s: float) -> None:
        super().__init__()
        self.bot = bot
        self.db = db
        self.interval_s = interval_s
        # What this process last gave each chat; empty after a start, so all are set again.
        self.applied: dict[int, frozenset[Role]] = {}
        self._retry_at: dict[int, float] = {}  # chats Telegram refused, and when to try again

    def start(self) -> None:
        self._begin("command-menus")

    async def _loop(self) -> None:
        # Menus are a convenience: whatever went wrong, try again at the next round.
        await self._rounds(self.sync, self.interval_s, "update the command menus")

    async def sync(self) -> int:
        """Set the menus of the chats whose roles differ from what was last set; how many."""
        async with self.db.reading() as uow:
            wanted = await chat_roles(uow)
        now = time.monotonic()
        changed = 0
        for chat_id, roles in wanted.items():
            if self.applied.get(chat_id) == roles or self._retry_at.get(chat_id, 0) > now:
                continue
            if await set_chat_menu(self.bot, chat_id, roles):
                self.applied[chat_id] = roles
                self._retry_at.pop(chat_id, None)
                changed += 1
            else:
                # E.g. an admin added by id who has not written to the bot yet ("chat not
                # found"): not again at every round.
                self._retry_at[chat_id] = now + RETRY_FAILED_S
        if changed:
            log.info("command menus updated for %d chat(s)", changed)
        return changed
