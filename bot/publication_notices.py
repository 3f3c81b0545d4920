"""Tells auditors in chat that a publication awaits their approval (four eyes).

A publication is usually asked for from the command line, in another process, so the
database decides: every ``interval_s`` (or when poked) the requests nobody was told of yet
are read, each auditor who may approve one gets a short message with a button to review it,
and the request is marked as told. Telegram calls are made outside any transaction; a crash
between the sending and the marking tells them again (at least once). An auditor who cannot
be reached (blocked the bot, never wrote to it) is skipped: /approve lists it all the same.
"""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.loops import WakeableLoop
from handlers.approval import announcement
from storage.clock import Clock
from storage.uow import Database
from surveys.appraisal.publication import announced, unannounced

log = logging.getLogger(__name__)


class PublicationNotices(WakeableLoop):
    def __init__(self, bot: Bot, db: Database, interval_s: float, clock: Clock,
                 default_language: str) -> None:
        super().__init__()
        self.bot = bot
        self.db = db
        self.interval_s = interval_s
        self.clock = clock
        self.default_language = default_language

    def start(self) -> None:
        self._begin("publication-notices")

    async def _loop(self) -> None:
        # A notice is a convenience (/approve lists everything): try at the next round.
        await self._rounds(self.announce, self.interval_s,
                           "tell auditors of publications awaiting approval")

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
