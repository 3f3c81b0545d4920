"""Tells auditors in chat that a publication awaits their approval (four eyes).

A publication is usually asked for from the command line, in another process, so the
database decides: every ``interval_s`` (or when poked) the requests nobody was told of yet
are read, each auditor who may approve one gets a short message with a button to review it,
and the request is marked as told. Telegram calls are made outside any transaction; a crash
between the sending and the marking tells them again (at least once). An auditor who cannot
be reached (blocked the bot, never wrote to it) is skipped: /approve lists it all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import TelegramError

from handlers.approval import announcement
from storage.clock import Clock
from storage.db import DatabaseUnavailable
from storage.uow import Database
from surveys.appraisal.publication import announced, unannounced

log = logging.getLogger(__name__)


class PublicationNotices:
    def __init__(self, bot: Bot, db: Database, interval_s: float, clock: Clock,
                 default_language: str) -> None:
        self.bot = bot
        self.db = db
        self.interval_s = interval_s
        self.clock = clock
        self.default_language = default_language
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="publication-notices")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def poke(self) -> None:
        """A request was made (committed): tell its auditors now."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.announce()
            except DatabaseUnavailable as exc:
                log.warning("could not read the publications awaiting approval: %s", exc)
            except Exception:
                # A notice is a convenience (/approve lists everything): try at the next round.
                log.exception("could not tell auditors of a publication awaiting approval")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_s)

    async def announce(self) -> int:
        """Tell the auditors of every request not told yet; how many messages went out."""
        async with self.db.reading() as uow:
            waiting = await unannounced(uow)
        sent = 0
        for request in waiting:
            for chat_id, language in request.auditors:
                text, keyboard = announcement(request, language or self.default_language)
                try:
                    await self.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML,
                                                reply_markup=keyboard)
                    sent += 1
                except TelegramError as exc:
                    log.info("could not tell an auditor of request %s: %s",
                             request.request_id, exc)
        if waiting:
            async with self.db.transaction() as uow:
                await announced(uow, [r.request_id for r in waiting], self.clock())
            log.info("told auditors of %d publication(s) awaiting approval", len(waiting))
        return sent
