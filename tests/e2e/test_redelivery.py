"""Updates delivered again (the bot died after the commit, before Telegram was told): nothing
is done twice, and the person is answered again with how things stand now, since the first
reply may have died with the process."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sandbox import BotApiSandbox, SandboxClient
from sandbox.protocol import Params
from storage.uow import Database
from tests.e2e.conftest import Bot, redeliver
from tests.e2e.test_cases_resident import SENT, SILENT, TEXT, card, cases, to_willow
from tests.e2e.test_resident_journey import answers_of, begin, completed

pytestmark = pytest.mark.e2e


async def redelivered_settled(bot: Bot) -> None:
    """Wait until the bot has finished with every update it took (its replies then lost)."""
    assert bot.polling is not None
    async with asyncio.timeout(10):
        await bot.polling.settled()


def lose_replies(box: BotApiSandbox, methods: tuple[str, ...]) -> list[str]:
    """Until the returned list is cleared, the bot's sends and edits are accepted but never
    reach the chat: as when the bot dies between its commit and its reply."""
    losing = ["on"]
    for method in methods:
        original = box.method(method)

        def make(original: Any) -> Any:
            async def swallowed(p: Params) -> Any:
                if losing:
                    return True
                return await original(p)
            return swallowed

        box.add_method(method, make(original))
    return losing


async def test_a_redelivered_start_shows_the_poll_where_it_stands(
    bot: Bot, client: SandboxClient, sandbox: BotApiSandbox, db: Database,
) -> None:
    user = await client.user(3101, "Wu")
    sent = await user.send("/start willow")
    first = await user.wait_for_message("1/5")
    await redeliver(bot, client, sent.update_id)
    # The earlier question loses its buttons, and the question comes again below it.
    retired = await user.wait_for_message("1/5")
    assert (retired.message_id, retired.buttons) == (first.message_id, [])
    again = await user.wait_for_message("1/5")
    assert again.message_id > first.message_id and again.button_texts[:5] == [
        "1", "2", "3", "4", "5"]
    assert await answers_of(db) == {}


async def test_a_redelivered_tap_whose_reply_was_lost_shows_the_current_question(
    bot: Bot, client: SandboxClient, sandbox: BotApiSandbox, db: Database,
) -> None:
    user = await client.user(3102, "Zhou")
    question = await begin(user)
    losing = lose_replies(sandbox, ("editMessageText", "answerCallbackQuery"))
    tap = await user.tap("4")
    # Stored, though the reply never came (waited for: a loaded machine may take a while).
    for _ in range(200):
        if await answers_of(db):
            break
        await asyncio.sleep(0.05)
    await redelivered_settled(bot)
    await user.expect_no_message(within=0.5)
    assert {k: v.value_number for k, v in (await answers_of(db)).items()} == {"overall": 4}
    losing.clear()
    # The resident is left on question 1; the redelivered tap changes nothing and moves
    # the message on to where the poll stands.
    await redeliver(bot, client, tap.update_id)
    shown = await user.wait_for_message("2/5")
    assert shown.message_id == question.message_id
    assert {k: v.value_number for k, v in (await answers_of(db)).items()} == {"overall": 4}
    await user.tap("Yes")
    await user.wait_for_message("3/5")


async def test_a_redelivered_submit_whose_reply_was_lost_says_thank_you(
    bot: Bot, client: SandboxClient, sandbox: BotApiSandbox, db: Database,
) -> None:
    user = await client.user(3103, "Qian")
    await begin(user)
    for button, expect in (("4", "2/5"), ("Yes", "3/5"), ("5", "4/5"), ("4", "5/5")):
        await user.tap(button)
        await user.wait_for_message(expect)
    typed = await user.send("Kind staff")
    summary = await user.wait_for_message("Your answers")
    losing = lose_replies(sandbox, ("editMessageText", "answerCallbackQuery", "sendMessage"))
    submit = await user.tap("✅ Submit")
    for _ in range(200):
        if await completed(db):
            break
        await asyncio.sleep(0.05)
    await redelivered_settled(bot)
    await user.expect_no_message(within=0.5)
    losing.clear()
    await redeliver(bot, client, submit.update_id)
    thanks = await user.wait_for_message("Thank you")
    assert thanks.message_id == summary.message_id
    # A typed answer delivered again once the poll is submitted: nothing more to say.
    await redeliver(bot, client, typed.update_id)
    await user.expect_no_message(within=0.5)
    assert len(await answers_of(db)) == 5


async def test_a_redelivered_forged_tap_with_an_impossible_id_is_refused_again(
    bot: Bot, client: SandboxClient, sandbox: BotApiSandbox, db: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    user = await client.user(3104, "Sun")
    question = await begin(user)
    for forged in (f"p:{2**63}:0:v5", f"p:{10**20}:0:v5"):
        tap = await user.tap_data(question.message_id, forged)
        assert "no longer active" in (await user.wait_for_answer()).text
        # Delivered again: the same plain refusal, not a database error on PostgreSQL.
        await redeliver(bot, client, tap.update_id)
        assert "no longer active" in (await user.wait_for_answer()).text
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    assert await answers_of(db) == {}


async def test_a_redelivered_send_of_a_report_answers_with_its_case_number(
    bot: Bot, client: SandboxClient, sandbox: BotApiSandbox, db: Database,
) -> None:
    """Review S12: the bot died after opening the case and before the receipt went out. A
    resident who chose "Don't tell me" would never learn the number: the Send delivered again
    answers with it (found through the case's seal), and opens nothing more."""
    user = await client.user(3105, "Zhao")
    await user.send("/report")
    await card(user, "What is wrong?")
    await user.send(TEXT)
    await card(user, "Where is it?")
    await to_willow(user)
    losing = lose_replies(sandbox, ("editMessageText", "answerCallbackQuery"))
    send = await user.tap(SILENT)
    for _ in range(200):
        if await cases(db):
            break
        await asyncio.sleep(0.05)
    await redelivered_settled(bot)
    await user.expect_no_message(within=0.5)
    losing.clear()
    await redeliver(bot, client, send.update_id)
    receipt = await user.wait_for_message(SENT)
    [case] = await cases(db)
    assert case.number in receipt.text and not case.wants_reply
