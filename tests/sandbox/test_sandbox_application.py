"""A real PTB Application polling the sandbox: the path `make run` and the e2e tests use."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from sandbox import BotApiSandbox, SandboxClient


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    payload = context.args[0] if context.args else "none"
    await update.effective_message.reply_text(
        f"Welcome! Campaign: <b>{payload}</b>",
        parse_mode=ParseMode.HTML,
        reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("😀 5", callback_data="r:5")],
             [InlineKeyboardButton("😞 1", callback_data="r:1")]]
        ),
    )  # fmt: skip


async def rate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer(f"Recorded {query.data[2:]}")
    await query.edit_message_text(f"Thanks, you rated {query.data[2:]}")


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None and update.effective_message.text is not None
    await update.effective_message.reply_text(f"Got {len(update.effective_message.text)} chars")


@pytest.fixture
async def application(sandbox: BotApiSandbox) -> AsyncIterator[Application]:
    app = ApplicationBuilder().token(sandbox.token).base_url(sandbox.api_url).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(rate, pattern=r"^r:"))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=5)
        await app.start()
        yield app
        await app.updater.stop()
        await app.stop()


async def test_conversation_through_ptb_application(
    application: Application,
    client: SandboxClient,
) -> None:
    alice = await client.user(1001, "Alice")
    await alice.send("/start spring_survey")
    welcome = await alice.wait_for_message("Welcome")
    assert welcome.text == "Welcome! Campaign: spring_survey"
    assert welcome.button_texts == ["😀 5", "😞 1"]

    await alice.tap("😀 5")
    answer = await alice.wait_for_answer()
    assert answer.text == "Recorded 5"
    edited = await alice.wait_for_message("Thanks")
    assert edited.message_id == welcome.message_id and edited.edited and edited.buttons == []

    await alice.send("x" * 5000)
    assert (await alice.wait_for_message()).text == "Got 5000 chars"
    await alice.expect_no_message(within=0.2)

    stats = await client.stats()
    assert stats["calls"]["sendMessage"] == 2
    assert stats["calls"]["editMessageText"] == 1
    assert stats["calls"]["answerCallbackQuery"] == 1
    assert stats["calls"]["getUpdates"] >= 1
