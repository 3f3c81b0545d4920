"""What a new user meets first: a plain first message, /cancel, the command menu.

The real Application polls the sandbox over HTTP against a real database.
"""

from __future__ import annotations

import pytest

from sandbox import SandboxClient, SandboxUser
from sandbox.client import Message
from storage.uow import Database
from tests.e2e.conftest import Bot
from tests.e2e.test_resident_journey import answers_of, begin, tap_and_wait

pytestmark = pytest.mark.e2e


# --- a first plain message ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "hello", "welcome", "places", "again"),
    [
        ("en", "hello", "Hello! I collect short, anonymous opinion polls",
         "Which places do you want to hear from?", "You are not answering a poll right now"),
        ("zh-hans", "你好", "您好！我负责收集关于本地公共服务的简短匿名问卷",
         "您希望接收哪些地方的问卷邀请？", "您当前没有正在回答的问卷"),
    ],
)
async def test_a_first_hello_gets_the_welcome_and_the_place_picker(
    bot: Bot, client: SandboxClient, db: Database, language: str, hello: str, welcome: str,
    places: str, again: str,
) -> None:
    user = await client.user(7001, "New", language_code=language)
    await user.send(hello)
    greeting = await user.wait_for_message(welcome)
    assert greeting.buttons == []
    picker = await user.wait_for_message(places)
    assert picker.button_texts[0] == "Riverside County" and "›" in picker.button_texts
    # Choosing a place from it works like the one /start shows.
    await user.tap("Riverside County")
    ticked = await user.wait_for_message(places)
    assert "✓ Riverside County" in ticked.button_texts
    async with db.reading() as uow:
        contact = await uow.contacts.by_user(7001)
        assert contact is not None and contact.units_chosen
        assert contact.language == language[:2]

    await user.send(hello)
    later = await user.wait_for_message(again)
    assert later.buttons == [], "only the first message brings the picker"
    pickers = [m for m in await user.bot_messages() if places in m.text]
    assert len(pickers) == 1


async def test_a_first_message_while_a_poll_link_is_pending_is_still_a_welcome(
    bot: Bot, client: SandboxClient
) -> None:
    """After the welcome, the poll link works as usual: nothing of the first message sticks."""
    user = await client.user(7002, "Next", language_code="en")
    await user.send("hi, is this the survey?")
    await user.wait_for_message("Which places do you want to hear from?")
    await user.send("/start willow")
    await user.wait_for_message("anonymous")
    first = await user.wait_for_message("1/5")
    assert "Overall, how satisfied" in first.text


# --- /cancel asks first ----------------------------------------------------------------------


async def new_message(user: SandboxUser, contains: str, besides: int) -> Message:
    """The next bot message containing ``contains`` that is not message ``besides`` (whose
    buttons are being retired, an edit that also contains the text)."""
    while True:
        message = await user.wait_for_message(contains)
        if message.message_id != besides:
            return message


async def test_cancel_asks_before_withdrawing_then_withdraws(
    bot: Bot, client: SandboxClient, db: Database
) -> None:
    user = await client.user(7101, "Ada", language_code="en")
    prompt = await begin(user)
    await tap_and_wait(user, "4", "2/5")
    await tap_and_wait(user, "Yes", "3/5")
    await user.send("/cancel")
    ask = await user.wait_for_message("Withdraw your answers")
    assert "How was your service today?" in ask.text and "Willow Village" in ask.text
    assert "The 2 answer(s) you have given so far will be deleted" in ask.text
    assert ask.button_texts == ["Withdraw my answers", "Keep going"]
    assert set(await answers_of(db)) == {"overall", "resolved"}, "nothing deleted yet"

    done = await tap_and_wait(user, "Withdraw my answers", "Poll cancelled")
    assert done.message_id == ask.message_id and done.buttons == []
    assert await answers_of(db) == {}
    retired = next(m for m in await user.bot_messages() if m.message_id == prompt.message_id)
    assert retired.buttons == [], "the withdrawn poll's question has no live buttons"
    # The same button again (a double tap, or the message scrolled back to) changes nothing.
    await user.tap_data(ask.message_id, ask.callback_data("Withdraw my answers") or "")
    assert "no longer active" in (await user.wait_for_answer()).text
    fresh = await begin(user)
    assert "✓" not in " ".join(fresh.button_texts), "a fresh start, without the old answers"


async def test_keep_going_shows_the_current_question_again(
    bot: Bot, client: SandboxClient, db: Database
) -> None:
    user = await client.user(7102, "Bea", language_code="en")
    prompt = await begin(user)
    await tap_and_wait(user, "2", "main problem")
    await tap_and_wait(user, "Waited too long", "resolved")
    await user.send("/cancel")
    ask = await user.wait_for_message("Withdraw your answers")
    await user.tap("Keep going")
    kept = await user.wait_for_message("Nothing was withdrawn")
    assert kept.message_id == ask.message_id and kept.buttons == []
    again = await new_message(user, "Was the matter you came for resolved?", prompt.message_id)
    assert "2/5" in again.text
    assert {"Yes", "No", "◀ Back"} <= set(again.button_texts)
    old = next(m for m in await user.bot_messages() if m.message_id == prompt.message_id)
    assert old.buttons == [], "only the newest question has buttons"
    assert set(await answers_of(db)) == {"overall", "what_went_wrong"}
    await user.tap("Yes", message_id=again.message_id)
    nxt = await user.wait_for_message("How quickly")
    assert "3/5" in nxt.text
    assert set(await answers_of(db)) == {"overall", "what_went_wrong", "resolved"}


async def test_a_stale_or_forged_confirmation_changes_nothing(
    bot: Bot, client: SandboxClient, db: Database
) -> None:
    user = await client.user(7103, "Cai", language_code="en")
    prompt = await begin(user)
    await user.send("/cancel")
    ask = await user.wait_for_message("Withdraw your answers")
    withdraw = ask.callback_data("Withdraw my answers")
    assert withdraw is not None
    # The resident answered on instead: the confirmation is about an earlier step now.
    await user.tap("5", message_id=prompt.message_id)
    await user.wait_for_message("2/5")
    await user.tap("Withdraw my answers", message_id=ask.message_id)
    assert "no longer active" in (await user.wait_for_answer()).text
    assert set(await answers_of(db)) == {"overall"}, "the stale confirmation deleted nothing"

    # Someone else replays the button data (or makes some up) on their own message.
    other = await client.user(7104, "Dai", language_code="en")
    own = await begin(other)
    await other.send("/cancel")
    mine = await other.wait_for_message("Withdraw your answers")
    for forged in (withdraw, withdraw.replace(":y:", ":n:"), "c:y:99999999:0", "c:x:1:1",
                   "c:y:1"):
        await other.tap_data(mine.message_id, forged)
        toast = (await other.wait_for_answer()).text
        assert "not valid" in toast or "no longer active" in toast, forged
    assert set(await answers_of(db)) == {"overall"}, "nothing of either person was deleted"
    await user.tap("Yes", message_id=prompt.message_id)
    await user.wait_for_message("3/5")
    await other.tap("4", message_id=own.message_id)
    await other.wait_for_message("2/5")


async def test_cancel_asks_in_chinese(bot: Bot, client: SandboxClient, db: Database) -> None:
    user = await client.user(7105, "Fang", language_code="zh-hans")
    await user.send("/start willow")
    await user.wait_for_message("匿名")
    prompt = await user.wait_for_message("1/5")
    await tap_and_wait(user, "4", "2/5")
    await user.send("/cancel")
    ask = await user.wait_for_message("要撤回您对关于")
    assert "1 个回答将被删除" in ask.text
    assert ask.button_texts == ["撤回我的回答", "继续作答"]
    await user.tap("继续作答")
    await user.wait_for_message("没有撤回，您的回答都已保留")
    again = await new_message(user, "2/5", prompt.message_id)
    assert again.button_texts[:2] == ["是", "否"]
    await user.send("/cancel")
    await user.wait_for_message("要撤回")
    await tap_and_wait(user, "撤回我的回答", "问卷已取消")
    assert await answers_of(db) == {}
