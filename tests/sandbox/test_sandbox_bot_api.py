"""The Bot API surface: PTB's real HTTP calls and raw requests in each encoding."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, InvalidToken

from sandbox import BotApiSandbox, SandboxClient


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


async def raw_call(
    http: aiohttp.ClientSession, url: str, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    method = kwargs.pop("method", "POST")
    async with http.request(method, url, **kwargs) as response:
        return response.status, await response.json()


async def test_get_me_through_ptb(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot
    assert me.id == 123456
    assert me.username == "civicpulse_bot"
    assert me.first_name == "CivicPulse"


async def test_get_me_raw_get_and_case_insensitive(
    sandbox: BotApiSandbox, http: aiohttp.ClientSession
) -> None:
    status, body = await raw_call(http, f"{sandbox.api_url}{sandbox.token}/GETME", method="GET")
    assert status == 200
    assert body["ok"] is True
    assert body["result"]["id"] == 123456
    assert body["result"]["is_bot"] is True


async def test_wrong_token_is_401(sandbox: BotApiSandbox, http: aiohttp.ClientSession) -> None:
    status, body = await raw_call(http, f"{sandbox.api_url}123456:wrong/getMe")
    assert status == 401
    assert body == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    with pytest.raises(InvalidToken):
        async with Bot("123456:wrong", base_url=sandbox.api_url):
            pass


async def test_unknown_method_is_404(sandbox: BotApiSandbox, http: aiohttp.ClientSession) -> None:
    status, body = await raw_call(http, f"{sandbox.api_url}{sandbox.token}/sendTelepathy")
    assert status == 404
    assert body == {
        "ok": False,
        "error_code": 404,
        "description": "Not Found: method not found",
    }


async def test_send_message_is_seen_by_the_user(bot: Bot, client: SandboxClient) -> None:
    alice = await client.user(1001, "Alice")
    sent = await bot.send_message(
        1001,
        "<b>Welcome</b> to &lt;CivicPulse&gt;",
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard([("Yes", "q1:y"), ("No", "q1:n")]),
        disable_notification=True,
        protect_content=True,  # unknown optional parameters are accepted and ignored
    )
    assert sent.text == "Welcome to <CivicPulse>"
    assert sent.chat.id == 1001
    assert sent.chat.type == "private"
    assert sent.from_user is not None and sent.from_user.is_bot
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [("bold", 0, 7)]

    message = await alice.wait_for_message("Welcome")
    assert message.message_id == sent.message_id
    assert message.buttons == [[("Yes", "q1:y"), ("No", "q1:n")]]
    assert not message.edited
    last = await alice.last_bot_message()
    assert last == message


async def test_message_ids_are_shared_by_user_and_bot(bot: Bot, client: SandboxClient) -> None:
    alice = await client.user(1001)
    first = await alice.send("hello")
    reply = await bot.send_message(1001, "hi")
    second = await alice.send("again")
    assert (first.message_id, reply.message_id, second.message_id) == (1, 2, 3)


async def test_text_length_limits(bot: Bot, client: SandboxClient) -> None:
    await client.user(1001)
    await bot.send_message(1001, "x" * 4096)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(1001, "x" * 4097)
    # Length counts the text after entity parsing: tags and escapes do not count.
    await bot.send_message(1001, "<b>" + "&amp;" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(1001, "   \n ")
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(1001, "<b></b>", parse_mode=ParseMode.HTML)


async def test_bad_html_is_refused_like_telegram(bot: Bot, client: SandboxClient) -> None:
    await client.user(1001)
    with pytest.raises(BadRequest, match=r'(?i)unsupported start tag "" at byte offset 2'):
        await bot.send_message(1001, "a < b", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)can't find end tag corresponding to start tag"):
        await bot.send_message(1001, "<b>open", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="is reserved and must be escaped"):
        await bot.send_message(1001, "Thanks.", parse_mode=ParseMode.MARKDOWN_V2)
    ok = await bot.send_message(1001, "Thanks\\. *bold*", parse_mode=ParseMode.MARKDOWN_V2)
    assert ok.text == "Thanks. bold"


async def test_callback_data_limit(bot: Bot, client: SandboxClient) -> None:
    await client.user(1001)
    await bot.send_message(1001, "ok", reply_markup=keyboard([("A", "x" * 64)]))
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(1001, "too long", reply_markup=keyboard([("A", "x" * 65)]))
    # Bytes, not characters: 22 Chinese characters are 66 bytes in UTF-8.
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(1001, "zh", reply_markup=keyboard([("A", "满" * 22)]))


async def test_edits_and_not_modified(bot: Bot, client: SandboxClient) -> None:
    alice = await client.user(1001)
    markup = keyboard([("Yes", "y")])
    sent = await bot.send_message(1001, "Question?", reply_markup=markup)
    await alice.wait_for_message("Question?")

    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("Question?", 1001, sent.message_id, reply_markup=markup)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(1001, sent.message_id, reply_markup=markup)

    edited = await bot.edit_message_text("Answered", 1001, sent.message_id, reply_markup=markup)
    assert isinstance(edited, object) and edited is not True
    seen = await alice.wait_for_message()
    assert (seen.message_id, seen.text, seen.edit_count) == (sent.message_id, "Answered", 1)
    assert seen.edited

    # As in Telegram, an edit without reply_markup removes the inline keyboard.
    await bot.edit_message_text("Closed", 1001, sent.message_id)
    closed = await alice.wait_for_message()
    assert closed.buttons == [] and closed.edit_count == 2
    await bot.edit_message_reply_markup(1001, sent.message_id, reply_markup=markup)
    reopened = await alice.wait_for_message()
    assert reopened.buttons == [[("Yes", "y")]] and reopened.text == "Closed"
    assert [m.text for m in await alice.bot_messages()] == ["Closed"]


async def test_edit_and_chat_errors(bot: Bot, client: SandboxClient) -> None:
    alice = await client.user(1001)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", 1001, 99)
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(777, "x")
    sent = await alice.send("mine")
    with pytest.raises(BadRequest, match="Message can't be edited"):
        await bot.edit_message_text("x", 1001, sent.message_id)


async def test_delete_chat_action_get_chat(bot: Bot, client: SandboxClient) -> None:
    alice = await client.user(1001, "Alice")
    sent = await bot.send_message(1001, "to delete")
    assert await bot.send_chat_action(1001, "typing")
    assert await bot.delete_message(1001, sent.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(1001, sent.message_id)
    assert await alice.bot_messages() == []
    kinds = [e.kind for e in await alice.chat()]
    assert kinds == ["message", "chat_action", "delete"]
    chat = await bot.get_chat(1001)
    assert (chat.id, chat.type, chat.first_name) == (1001, "private", "Alice")


async def test_reply_keyboard_is_chat_state(
    bot: Bot, client: SandboxClient, sandbox: BotApiSandbox
) -> None:
    await client.user(1001)
    await bot.send_message(
        1001,
        "Pick",
        reply_markup=ReplyKeyboardMarkup([["English", "中文"]], one_time_keyboard=True),
    )
    assert sandbox.chat(1001)["reply_keyboard"]["keyboard"] == [
        [{"text": "English"}, {"text": "中文"}]
    ]
    sandbox.send_user_message(1001, "English")
    assert sandbox.chat(1001)["reply_keyboard"] is None  # one-time keyboards hide after use


async def test_answer_callback_query_rules(bot: Bot, client: SandboxClient) -> None:
    alice = await client.user(1001)
    await bot.send_message(1001, "Q", reply_markup=keyboard([("Yes", "y")]))
    tap = await alice.tap("Yes")
    with pytest.raises(BadRequest, match="Message_too_long"):
        await bot.answer_callback_query(tap.callback_query_id, "x" * 201)
    assert await bot.answer_callback_query(tap.callback_query_id, "Saved", show_alert=True)
    answer = await alice.wait_for_answer()
    assert (answer.text, answer.show_alert, answer.data) == ("Saved", True, "y")
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(tap.callback_query_id, "again")
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query("12345")
    assert [a.text for a in await alice.callback_answers()] == ["Saved"]


async def test_commands(bot: Bot) -> None:
    assert await bot.get_my_commands() == ()
    await bot.set_my_commands([("start", "Start"), ("stop", "Stop invitations")])
    await bot.set_my_commands([("start", "开始")], language_code="zh")
    assert [c.command for c in await bot.get_my_commands()] == ["start", "stop"]
    assert [c.description for c in await bot.get_my_commands(language_code="zh")] == ["开始"]
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([("Bad-Command", "x")])
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()


async def test_a_chat_sees_its_own_menu_as_on_telegram(bot: Bot, client: SandboxClient) -> None:
    """Chat scope before all private chats before the default; the user's language (or its
    first part, zh-hans → zh) before none."""
    alice = await client.user(1001, language_code="zh-hans")
    bob = await client.user(1002, language_code="en")
    await bot.set_my_commands([("help", "Help")])
    await bot.set_my_commands([("help", "帮助")], language_code="zh")
    assert await alice.command_menu() == [("help", "帮助")]
    assert await bob.command_menu() == [("help", "Help")]
    await bot.set_my_commands([("units", "Places")], scope=BotCommandScopeAllPrivateChats())
    assert await alice.command_menu() == [("units", "Places")]
    await bot.set_my_commands([("note", "Note")], scope=BotCommandScopeChat(1001))
    await bot.set_my_commands([("note", "进展")], scope=BotCommandScopeChat(1001),
                              language_code="zh")
    assert await alice.command_menu() == [("note", "进展")]
    assert await bob.command_menu() == [("units", "Places")], "another chat is not affected"
    await bot.delete_my_commands(scope=BotCommandScopeChat(1001), language_code="zh")
    assert await alice.command_menu() == [("note", "Note")]
    await bot.delete_my_commands(scope=BotCommandScopeChat(1001))
    await bot.delete_my_commands(scope=BotCommandScopeAllPrivateChats())
    assert await alice.command_menu() == [("help", "帮助")]
    assert (await client.info())["commands"] == [{"command": "help", "description": "Help"}]


@pytest.mark.parametrize("encoding", ["json", "form", "multipart", "query"])
async def test_parameter_encodings(
    encoding: str,
    sandbox: BotApiSandbox,
    client: SandboxClient,
    http: aiohttp.ClientSession,
) -> None:
    alice = await client.user(1001)
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    url = f"{sandbox.api_url}{sandbox.token}/sendMessage"
    text = "123"  # must stay a string although it looks like a number
    if encoding == "json":
        kwargs: dict[str, Any] = {
            "json": {"chat_id": 1001, "text": text, "reply_markup": markup},
        }
    elif encoding == "form":
        # What PTB sends: every value a string, objects JSON-encoded inside the field.
        kwargs = {"data": {"chat_id": "1001", "text": text, "reply_markup": json.dumps(markup)}}
    elif encoding == "multipart":
        form = aiohttp.FormData()
        form.add_field("chat_id", "1001")
        form.add_field("text", text)
        form.add_field("reply_markup", json.dumps(markup))
        form.add_field("document", b"file bytes", filename="a.txt")  # forces multipart
        kwargs = {"data": form}
    else:
        kwargs = {
            "params": {"chat_id": "1001", "text": text, "reply_markup": json.dumps(markup)},
            "method": "GET",
        }
    status, body = await raw_call(http, url, **kwargs)
    assert status == 200, body
    assert body["result"]["text"] == "123"
    assert body["result"]["reply_markup"] == markup
    message = await alice.wait_for_message()
    assert message.buttons == [[("Go", "go")]]


async def test_error_shape_is_telegrams(
    sandbox: BotApiSandbox, client: SandboxClient, http: aiohttp.ClientSession
) -> None:
    await client.user(1001)
    status, body = await raw_call(
        http, f"{sandbox.api_url}{sandbox.token}/sendMessage", json={"chat_id": 1001, "text": ""}
    )
    assert status == 400
    assert body == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: message text is empty",
    }
