"""Keeps each person's command menu in step with their roles.

Roles change in this process (a cadre opens their invite link) and in others (`civicpulse
admin add` / `admin remove`), so the database decides: at start every chat with (or that had)
a role gets its menu, and then every ``interval_s`` or when poked only the chats whose roles
changed are updated. Telegram calls are made outside any transaction (after the commits).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from telegram import Bot

from handlers.menus import set_chat_menu
from storage.db import DatabaseUnavailable
from storage.models import Role
from storage.uow import Database
from surveys.people.roles import chat_roles

log = logging.getLogger(__name__)

RETRY_FAILED_S = 600.0


class MenuSync:
    def __init__(self, bot: Bot, db: Database, interval_s: float) -> None:
        self.bot = bot
        self.db = db
        self.interval_s = interval_s
        # What this process last gave each chat; empty after a start, so all are set again.
        self.applied: dict[int, frozenset[Role]] = {}
        self._retry_at: dict[int, float] = {}  # chats Telegram refused, and when to try again
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="command-menus")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def poke(self) -> None:
        """Roles changed (committed): update the menus now rather than at the next interval."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.sync()
            except DatabaseUnavailable as exc:
                log.warning("could not read roles for the command menus: %s", exc)
            except Exception:
                # Menus are a convenience: whatever went wrong, try again at the next round.
                log.exception("could not update the command menus")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_s)

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
