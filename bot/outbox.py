"""The broadcast sender: delivers the outbox's invitations and reminders at Telegram's pace.

Each round claims up to ``in_flight`` due messages (marking them ``sending``), sends them
concurrently through the bot, whose rate limiter keeps all of the bot's messages under the
overall limit and waits out a 429's retry_after, and then records the outcomes in one
transaction. A chat gets at most one message per ``per_chat_interval_s``.

Delivery guarantee: a message is marked ``sent`` only after Telegram accepted it. If the
process dies between handing messages to Telegram and recording them, the rows still marked
``sending`` are sent again at the next start, so a recipient can get a message twice only if
it was among the at most ``in_flight`` messages of the interrupted round (or if a send timed out
after reaching Telegram: such a message is retried, since it may not have arrived). A normal
stop lets the round finish first.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.loops import WakeableLoop
from bot.settings import BroadcastSection
from handlers.render import prompt_message
from storage.clock import Clock
from storage.db import DatabaseUnavailable
from storage.uow import Database
from surveys.campaigns import delivery
from surveys.campaigns.delivery import Outcome, Outgoing, Result
from surveys.questionnaire.catalog import SurveyCatalog

log = logging.getLogger(__name__)

# How long the sender sleeps when nothing is due and nobody woke it.
IDLE_POLL_S = 1.0


@dataclass(eq=False)
class OutboxSender(WakeableLoop):
    db: Database
    bot: Bot
    _: KW_ONLY
    settings: BroadcastSection
    secret: bytes
    catalog: SurveyCatalog
    clock: Clock
    default_language: str = "en"
    sent: int = field(default=0, init=False)
    _last_sent: dict[int, float] = field(default_factory=dict, init=False)
    _pause_until: float = field(default=0.0, init=False)

    async def start(self) -> None:
        requeued = await self._retrying(self._requeue)
        if requeued:
            log.warning("%d message(s) were being sent when the bot stopped; sending them "
                        "again (their recipients may get them twice)", requeued)
        self._begin("outbox-sender")

    async def _requeue(self) -> int:
        async with self.db.transaction() as uow:
            return await uow.outbox.requeue_in_flight()

    async def _retrying(self, work: Callable[[], Any]) -> Any:
        """Run a database step until the database answers (it may be restarting)."""
        delay = 0.5
        while True:
            try:
                return await work()
            except DatabaseUnavailable as exc:
                log.warning("outbox: database unavailable, retrying in %.0fs: %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                pause = self._pause_until - time.monotonic()
                if pause > 0:
                    # Telegram asked the whole bot to wait: sending anything now would only
                    # extend the ban.
                    await asyncio.sleep(pause)
                batch = await self._retrying(self._claim)
                if not batch:
                    await self._idle(IDLE_POLL_S)
                    continue
                results = list(await asyncio.gather(*(self._send(o) for o in batch)))
                flood = [r.retry_after for r in results if r.outcome == Outcome.FLOOD]
                if flood:
                    self._pause_until = time.monotonic() + max(flood).total_seconds()
                await self._retrying(partial(self._record, results))
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not stop all broadcasts; log and go on
                log.exception("outbox round failed")
                await asyncio.sleep(1)

    def _busy_chats(self) -> set[int]:
        now = time.monotonic()
        interval = self.settings.per_chat_interval_s
        recent = {chat for chat, at in self._last_sent.items() if now - at < interval}
        if len(self._last_sent) > 10_000:
            self._last_sent = {c: at for c, at in self._last_sent.items() if c in recent}
        return recent

    async def _claim(self) -> list[Outgoing]:
        async with self.db.transaction() as uow:
            return await delivery.claim(
                uow, self.clock(), limit=self.settings.in_flight, busy_chats=self._busy_chats(),
                secret=self.secret, catalog=self.catalog,
                default_language=self.default_language,
            )

    async def _send(self, outgoing: Outgoing) -> Result:
        message = prompt_message(outgoing)
        chat_id = outgoing.delivery.chat_id
        try:
            await self.bot.send_message(chat_id, message.text, parse_mode=ParseMode.HTML,
                                        reply_markup=message.keyboard)
        except Forbidden as exc:
            return Result(outgoing, Outcome.BLOCKED, str(exc))
        except RetryAfter as exc:
            wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            return Result(outgoing, Outcome.FLOOD, f"429: retry after {seconds:.0f}s",
                          timedelta(seconds=seconds))
        except BadRequest as exc:
            return Result(outgoing, Outcome.REFUSED, str(exc))
        except (NetworkError, TelegramError) as exc:
            # Timed out or cut off: it may have arrived, so a retry may duplicate it.
            return Result(outgoing, Outcome.NETWORK, str(exc) or type(exc).__name__)
        except Exception as exc:  # a bug in this message must not lose the round's results
            log.exception("outbox: cannot send message %s", outgoing.delivery.id)
            return Result(outgoing, Outcome.REFUSED, f"internal error: {type(exc).__name__}")
        finally:
            self._last_sent[chat_id] = time.monotonic()
        self.sent += 1
        return Result(outgoing, Outcome.SENT)

    async def _record(self, results: list[Result]) -> None:
        async with self.db.transaction() as uow:
            await delivery.record(uow, results, self.clock(),
                                  max_attempts=self.settings.max_attempts)
