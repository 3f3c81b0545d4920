"""One chat's updates take turns, other chats' run alongside (polling and webhook alike); each
is counted and timed, and its id is in the log records written while it is handled."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.metrics import Metrics, update_kind
from handlers.common import IN_ANSWER, InAnswer

# The update being handled in this task: its id for the logs, and whether it failed.
_CURRENT: contextvars.ContextVar[_Handling | None] = contextvars.ContextVar(
    "civicpulse_update", default=None)


class _Handling:
    __slots__ = ("failed", "update_id")

    def __init__(self, update_id: int) -> None:
        self.update_id = update_id
        self.failed = False


def handling_update() -> bool:
    """Whether this task is handling an update (what it sends is a reply to someone)."""
    return _CURRENT.get() is not None


def mark_failed() -> None:
    """The error handler's note that the update being handled failed (counted as ``error``)."""
    handling = _CURRENT.get()
    if handling is not None:
        handling.failed = True


class UpdateIdFilter(logging.Filter):
    """Adds ``update`` to every log record: " [update <id>]" while an update is handled in
    the task that logs, else "" (for the format's ``%(update)s``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        handling = _CURRENT.get()
        record.update = f" [update {handling.update_id}]" if handling is not None else ""
        return True


class _Turn:
    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.waiting = 0


class ChatTurns:
    """Hands updates to the application, one at a time per chat, in the order given."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any],
                 metrics: Metrics | None = None) -> None:
        self.application = application
        self.metrics = metrics
        self._chats: dict[int, _Turn] = {}  # chats with updates in flight

    @contextlib.asynccontextmanager
    async def _turn_of(self, update: Update) -> AsyncIterator[None]:
        chat = update.effective_chat or update.effective_user
        if chat is None:
            yield
            return
        turn = self._chats.setdefault(chat.id, _Turn())
        turn.waiting += 1
        try:
            async with turn.lock:
                yield
        finally:
            turn.waiting -= 1
            if not turn.waiting:
                del self._chats[chat.id]

    async def process(self, update: Update, in_answer: InAnswer | None = None) -> None:
        """Process ``update`` after the same chat's earlier ones; handler errors go to the
        application's error handler, PTB's own errors are raised. ``in_answer``: the slot for
        a Bot API call the answer to the webhook's post carries."""
        handling = _Handling(update.update_id)
        token = _CURRENT.set(handling)
        slot = IN_ANSWER.set(in_answer)
        started = time.perf_counter()
        application = self.application
        try:
            # After a restart the updates delivered again come first, and an answer given
            # again must not overwrite the answer to a newer tap of the same person.
            async with self._turn_of(update):
                # The application's limiter (concurrent_updates) applies, as with its Updater.
                await application.update_processor.process_update(
                    update, application.process_update(update))
        except Exception:
            handling.failed = True
            raise
        finally:
            _CURRENT.reset(token)
            IN_ANSWER.reset(slot)
            if self.metrics is not None:
                kind = update_kind(update)
                self.metrics.handler_seconds.labels(kind).observe(
                    time.perf_counter() - started)
                self.metrics.updates.labels(kind, "error" if handling.failed else "handled"
                                            ).inc()
