"""Small Telegram chores shared by the resident and admin handlers."""

from __future__ import annotations

import html
import logging

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from handlers.deps import Deps
from surveys.responding import resolve_language

log = logging.getLogger(__name__)

# Telegram answers this when an edit would change nothing; it is not a failure for us.
_NOT_MODIFIED = "message is not modified"


def lang_guess(deps: Deps, update: Update) -> str:
    """The language to answer in when the database cannot be asked: the client's own."""
    user = update.effective_user
    return resolve_language(None, user.language_code if user else None, deps.default_language)


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
