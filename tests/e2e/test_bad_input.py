"""Bad input is normal input: each case gets a clear message and loses nothing."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from sandbox import SandboxClient
from storage.models import Answer, Response
from storage.uow import Database
from tests.e2e.conftest import Bot, redeliver
from tests.e2e.test_resident_journey import answers_of, begin, tap_and_wait

pytestmark = pytest.mark.e2e


async def test_text_when_a_button_is_expected(bot: Bot, client: SandboxClient,
                                              db: Database) -> None:
    user = await client.user(2001, "Ma")
    await begin(user)
    await user.send("it was fine I guess")
    hint = await user.wait_for_message("tap one of the buttons")
    assert hint.buttons == []
    await user.send("7")
    await user.wait_for_message("from 1 to 5")
    assert await answers_of(db) == {}
    await user.send("４")  # a full-width digit from a Chinese keyboard
    await user.wait_for_message("2/5")
    assert (await answers_of(db))["overall"].value_number == 4


async def test_a_button_when_text_is_expected(bot: Bot, client: SandboxClient,
                                              db: Database) -> None:
    user = await client.user(2002, "Hu")
    first = await begin(user)
    old_data = first.callback_data("3")
    assert old_data is not None
    await tap_and_wait(user, "4", "2/5")
    await tap_and_wait(user, "Yes", "3/5")
    await tap_and_wait(user, "4", "4/5")
    await tap_and_wait(user, "4", "5/5")
    await user.tap_data(first.message_id, old_data)
    toast = await user.wait_for_answer()
    assert "no longer active" in toast.text
    assert (await answers_of(db))["overall"].value_number == 4


async def test_an_overlong_comment_is_refused_with_the_limit(
    bot: Bot, client: SandboxClient, db: Database
) -> None:
    user = await client.user(2003, "Guo")
    await begin(user)
    for button, expect in (("4", "2/5"), ("Yes", "3/5"), ("4", "4/5"), ("4", "5/5")):
        await tap_and_wait(user, button, expect)
    await user.send("很" * 5000)
    refusal = await user.wait_for_message("limit is 500")
    assert "5000 characters" in refusal.text
    assert "comment" not in await answers_of(db)
    odd = "Ok 👍🏽 but queue 太长了 — مرحبا\u200d ✔"
    await user.send(odd)
    await user.wait_for_message("Your answers")
    assert (await answers_of(db))["comment"].value_text == odd


async def test_forged_buttons_are_refused_and_change_nothing(
    bot: Bot, client: SandboxClient, db: Database
) -> None:
    victim = await client.user(2004, "Victim")
    first = await begin(victim)
    data = first.callback_data("5")
    assert data is not None
    attacker = await client.user(2005, "Attacker")
    own = await begin(attacker)
    # The attacker replays the victim's button data on their own message.
    await attacker.tap_data(own.message_id, data)
    assert "not valid" in (await attacker.wait_for_answer()).text
    for forged in ("p:1:0:v9", "p:99999:0:v5", "zzz", "p:1:0:x1", "l:fr"):
        await attacker.tap_data(own.message_id, forged)
        answer = await attacker.wait_for_answer()
        assert "not valid" in answer.text or "no longer active" in answer.text, forged
    assert await answers_of(db) == {}


async def test_a_replayed_update_changes_nothing(
    bot: Bot, client: SandboxClient, db: Database
) -> None:
    user = await client.user(2006, "Lin")
    await begin(user)
    tap = await user.tap("4")
    await user.wait_for_message("2/5")
    await redeliver(bot, client, tap.update_id)
    # Answered again as things stand (the message already shows it, so it stays as it is).
    await user.expect_no_message(within=0.5)
    await tap_and_wait(user, "Yes", "3/5")
    typed = await user.send("5")
    await user.wait_for_message("4/5")
    await redeliver(bot, client, typed.update_id)
    # The reply to a typed answer may have been lost: the current question comes again.
    await user.wait_for_message("4/5")
    stored = await answers_of(db)
    assert {k: v.value_number for k, v in stored.items()} == {
        "overall": 4, "resolved": 1, "timeliness": 5,
    }


async def test_fast_repeated_taps_record_one_answer(
    bot: Bot, client: SandboxClient, db: Database
) -> None:
    user = await client.user(2007, "He")
    first = await begin(user)
    taps = [first.callback_data(label) for label in ("1", "5", "5", "3")]
    await asyncio.gather(*(user.tap_data(first.message_id, d, forge=False)
                           for d in taps if d is not None))
    # The next question, or the follow-up a "1" brings (still 1/5): either way one moved on.
    await user.wait_for_message("/5")
    await asyncio.sleep(0.3)
    stored = await answers_of(db)
    assert list(stored) == ["overall"]
    async with db.transaction() as uow:
        response = (await uow.session.scalars(select(Response))).one()
        assert response.step == 1, "exactly one of the four taps moved the poll on"
    toasts = [a.text for a in await user.callback_answers()]
    assert sum("no longer active" in text for text in toasts) == 3


async def test_unsupported_messages_and_commands(bot: Bot, client: SandboxClient) -> None:
    user = await client.user(2008, "Xu")
    await user.send("/frobnicate")
    await user.wait_for_message("do not know that command")
    await user.send("hello?")
    await user.wait_for_message("Which places do you want to hear from?")  # a first message
    await user.send("hello?")
    await user.wait_for_message("not answering a poll")
    await user.send("/start")
    await user.wait_for_message("open its link")


async def test_no_answer_rows_for_a_fresh_start(bot: Bot, client: SandboxClient,
                                                db: Database) -> None:
    user = await client.user(2009, "Yu")
    await begin(user)
    async with db.transaction() as uow:
        assert (await uow.session.scalars(select(Answer))).all() == []
        assert len((await uow.session.scalars(select(Response))).all()) == 1


async def test_two_starts_at_once_make_one_response(
    bot: Bot, client: SandboxClient, db: Database
) -> None:
    user = await client.user(2010, "Deng")
    await asyncio.gather(user.send("/start willow"), user.send("/start willow"))
    await user.wait_for_message("1/5")
    await user.wait_for_message("1/5")  # both got the poll (one fresh, one resumed)
    async with db.transaction() as uow:
        assert len((await uow.session.scalars(select(Response))).all()) == 1
    texts = " ".join(m.text for m in await user.bot_messages())
    assert "went wrong" not in texts
