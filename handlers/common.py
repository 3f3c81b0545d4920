"""Telegram chores shared by the handlers of every audience."""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from handlers.deps import Deps, DuplicateUpdate
from handlers.texts import t
from storage.db import DatabaseUnavailable
from storage.uow import UnitOfWork
from surveys.people.caller import resolve_language

log = logging.getLogger(__name__)

T = TypeVar("T")

# Telegram answers this when an edit would change nothing; it is not a failure for us.
_NOT_MODIFIED = "message is not modified"


def lang_guess(deps: Deps, update: Update) -> str:
    """The language to answer in when the database cannot be asked: the client's own."""
    user = update.effective_user
    return resolve_language(None, user.language_code if user else None, deps.default_language)


async def peek(deps: Deps, update: Update,
               read: Callable[[UnitOfWork, int], Awaitable[T | None]]) -> T | None:
    """The cheap read that decides whether an update belongs to an audience's dialogue. It
    claims nothing, and an outage reads as "no": the next handlers meet the same outage and
    say so."""
    user = update.effective_user
    if user is None:
        return None
    try:
        async with deps.db.reading() as uow:
            return await read(uow, user.id)
    except DatabaseUnavailable:
        return None


async def answer(query: CallbackQuery, text: str | None, alert: bool = False) -> None:
    """Answer a button tap, with an optional pop-up."""
    if text is not None:
        # A pop-up is plain text of at most 200 characters, not HTML like messages.
        text = html.unescape(text)
        text = text if len(text) <= 200 else text[:199] + "…"
    try:
        await query.answer(text, show_alert=alert)
    except BadRequest as exc:
        # The query expired (the tap is older than Telegram keeps it); nothing to stop.
        log.info("callback answer failed: %s", exc)


async def edit(query: CallbackQuery, text: str, keyboard: InlineKeyboardMarkup | None) -> None:
    """Turn the tapped message into ``text``; an edit that changes nothing is fine."""
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=keyboard)
    except BadRequest as exc:
        if _NOT_MODIFIED not in str(exc).lower():
            raise


async def notice(update: Update, text: str) -> None:
    """Best-effort short answer: an alert for a button, a message otherwise."""
    try:
        if update.callback_query is not None:
            await answer(update.callback_query, text, alert=True)
        elif update.effective_chat is not None:
            await update.effective_chat.send_message(text, parse_mode=ParseMode.HTML)
    except TelegramError as exc:
        log.warning("could not deliver a notice: %s", exc)


Context = ContextTypes.DEFAULT_TYPE
Handler = Callable[[Update, Context], Coroutine[Any, Any, None]]
# Returns whether the update was this audience's (True stops it before the later groups).
AudienceHandler = Callable[[Deps, Update, Context], Awaitable[bool]]


def stopping(
    deps: Deps, handler: AudienceHandler, who: str,
    refused: tuple[type[Exception], ...] = (),
    on_refused: Callable[[Update, Exception], Awaitable[None]] | None = None,
) -> Handler:
    """Run an admin's, cadre's or inspector's handler in its group before the resident journey.

    A refusal (one of ``refused``, told by ``on_refused``) and an infrastructure failure become
    a clear message; whatever the handler took on, even by failing, stops there
    (``ApplicationHandlerStop``) and never reaches the later groups.
    """

    async def run(update: Update, context: Context) -> None:
        try:
            handled = await handler(deps, update, context)
        except refused as refusal:
            assert on_refused is not None
            await on_refused(update, refusal)
            handled = True
        except DuplicateUpdate:
            log.info("ignoring redelivered update %s", update.update_id)
            handled = True
        except Forbidden:
            log.info("update %s: the %s has blocked the bot", update.update_id, who)
            handled = True
        except DatabaseUnavailable as exc:
            log.warning("database unavailable for update %s: %s", update.update_id, exc)
            await notice(update, t("db_unavailable", lang_guess(deps, update)))
            handled = True
        except ApplicationHandlerStop:
            raise
        except Exception:
            # PTB would hand the update on to the next group (the resident journey would say
            # "unknown command"); log it here and stop instead.
            log.exception("%s handler failed for update %s", who, update.update_id)
            await notice(update, t("error", lang_guess(deps, update)))
            handled = True
        if handled:
            raise ApplicationHandlerStop

    return run
