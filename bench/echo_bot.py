"""A bare echo bot: the ceiling the real bot is measured against in bench/ingest.py.

It does the Telegram side of a poll step and nothing else: a text gets a reply with five
buttons, a tap gets answerCallbackQuery and an edit. No database, no rules.

    python bench/echo_bot.py API_URL TOKEN CONCURRENCY
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections import defaultdict
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

KEYBOARD = InlineKeyboardMarkup(
    [[InlineKeyboardButton(str(n), callback_data=f"e:{n}") for n in range(1, 6)]]
)


def build(api_url: str, token: str, concurrency: int) -> Application[Any, Any, Any, Any, Any, Any]:
    taps: dict[int, int] = defaultdict(int)

    async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None and update.effective_message is not None
        await update.effective_chat.send_message(
            f"echo: {update.effective_message.text}", reply_markup=KEYBOARD
        )

    async def on_tap(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and update.effective_chat is not None
        taps[update.effective_chat.id] += 1
        await query.answer()
        await query.edit_message_text(
            f"tap {query.data} #{taps[update.effective_chat.id]}", reply_markup=KEYBOARD
        )

    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{api_url}/bot")
        .concurrent_updates(concurrency)
        .connection_pool_size(max(8, min(concurrency, 32)))
        .pool_timeout(30)
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, on_text))
    application.add_handler(CallbackQueryHandler(on_tap))
    return application


async def main(api_url: str, token: str, concurrency: int) -> None:
    application = build(api_url, token, concurrency)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(timeout=10)
        await stop.wait()
        await application.updater.stop()
        await application.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
