"""Keeps each person's command menu in step with their roles.

Roles change in this process (a cadre opens their invite link) and in others (`civicpulse
admin add` / `admin remove`), so the database decides: every ``interval_s``, or when poked,
the chats whose roles differ from the menu last set there (``contacts.menu``, kept across
restarts: a start does not set thousands of unchanged menus again) are updated. Telegram calls
are made outside any transaction (after the commits), and what was set is recorded after them.
"""

from __future__ import annotations

import logging
import time

from telegram import Bot

from bot.loops import WakeableLoop
from handlers.menus import set_chat_menu
from storage.models import Role
from storage.uow import Database
from surveys.people.roles import chat_roles, menus_set

log = logging.getLogger(__name__)

RETRY_FAILED_S = 600.0


class MenuSync(WakeableLoop):
    def __init__(self, bot: Bot, db: Database, interval_s: float) -> None:
        super().__init__()
        self.bot = bot
        self.db = db
        self.interval_s = interval_s
        self._retry_at: dict[int, float] = {}  # chats Telegram refused, and when to try again

    def start(self) -> None:
        self._begin("command-menus")

    async def _loop(self) -> None:
        # Menus are a convenience: whatever went wrong, try again at the next round.
        await self._rounds(self.sync, self.interval_s, "update the command menus")

    async def sync(self) -> int:
        """Set the menus of the chats whose roles differ from what was last set; how many."""
        async with self.db.reading() as uow:
            chats = await chat_roles(uow)
        now = time.monotonic()
        done: dict[int, frozenset[Role]] = {}
        for chat_id, (roles, applied) in chats.items():
            if applied == roles or self._retry_at.get(chat_id, 0) > now:
                continue
            if await set_chat_menu(self.bot, chat_id, roles):
                done[chat_id] = roles
                self._retry_at.pop(chat_id, None)
            else:
                # E.g. an admin added by id who has not written to the bot yet ("chat not
                # found"): not again at every round.
                self._retry_at[chat_id] = now + RETRY_FAILED_S
        if done:
            # Unrecorded (the database went away), they are simply set again next round.
            async with self.db.transaction() as uow:
                await menus_set(uow, done)
            log.info("command menus updated for %d chat(s)", len(done))
        return len(done)
