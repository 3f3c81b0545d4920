"""What a new user meets first: a plain first message, /cancel, the command menu.

The real Application polls the sandbox over HTTP against a real database.
"""

from __future__ import annotations

import pytest

from sandbox import SandboxClient
from storage.uow import Database
from tests.e2e.conftest import Bot

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
    await user.expect_no_message()


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
