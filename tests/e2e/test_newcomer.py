"""What a new user meets first: a plain first message, /cancel, the command menu.

The real Application polls the sandbox over HTTP against a real database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from telegram import BotCommandScopeChat

from bot.settings import BotSection, BroadcastSection, Settings
from sandbox import BotApiSandbox, SandboxClient, SandboxUser
from sandbox.client import Message
from storage.models import Role
from storage.uow import Database
from surveys.people.roles import grant_role, revoke_role
from tests.conftest import seed_campaign
from tests.e2e.conftest import Bot, Clock
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
    # The intro and the first question come as one message.
    first = await user.wait_for_message("1/5")
    assert "anonymous" in first.text
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
                   "c:y:1", f"c:y:{2**63}:0", "c:n:" + "9" * 50 + ":1", "c:y:-5:0"):
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
    prompt = await user.wait_for_message("1/5")
    assert "匿名" in prompt.text
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


# --- the command menu, per role and per language -------------------------------------------

ADMIN_MENU = ["campaigns", "campaign", "newcampaign", "close", "remind", "entry", "invite",
              "cadres", "results", "appeals", "answer", "cases", "dashboard"]
RESIDENT_MENU = ["help", "report", "units", "language", "cancel", "stop"]


@pytest.fixture
async def quick_bot(sandbox: BotApiSandbox, db: Database, clock: Clock) -> AsyncIterator[Bot]:
    """The bot, re-reading roles every second (as if `civicpulse admin add` ran meanwhile)."""
    await seed_campaign(db)
    async with db.transaction() as uow:
        await grant_role(uow, telegram_user_id=7201, role=Role.ADMIN, unit_code=None,
                         name="Zhang Wei", actor="test")
        await grant_role(uow, telegram_user_id=7202, role=Role.INSPECTOR, unit_code="T1",
                         name="Li Na", actor="test")
        await grant_role(uow, telegram_user_id=7202, role=Role.AUDITOR, unit_code="T1",
                         name="Li Na", actor="test")
    harness = Bot(sandbox, db, clock)
    harness.settings = Settings(bot=BotSection(concurrent_updates=16),
                                broadcast=BroadcastSection(resync_interval_s=1))
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def menu_of(user: SandboxUser, expect: str | None = None,
                  timeout: float = 5.0) -> list[tuple[str, str]]:  # noqa: ASYNC109
    """The user's menu, once it contains the command ``expect`` (or lacks it: ``-name``)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        menu = await user.command_menu()
        names = [name for name, _ in menu]
        if expect is None or (expect.startswith("-") and expect[1:] not in names) or (
                not expect.startswith("-") and expect in names):
            return menu
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"menu of {user.id} never met {expect!r}: {names}")
        await asyncio.sleep(0.1)


async def test_each_role_sees_its_own_menu_in_its_own_language(
    quick_bot: Bot, client: SandboxClient
) -> None:
    resident = await client.user(7200, "Res", language_code="en")
    resident_zh = await client.user(7210, "居民", language_code="zh-hans")
    admin = await client.user(7201, "Zhang", language_code="en")
    admin_zh = await client.user(7201, "Zhang", language_code="zh")  # the same chat, app in 中文
    both = await client.user(7202, "Li", language_code="en")

    menu = await menu_of(admin, "campaigns")
    assert [name for name, _ in menu] == ADMIN_MENU + RESIDENT_MENU
    assert ("newcampaign", "Create a campaign, step by step") in menu
    zh = await menu_of(admin_zh, "campaigns")
    assert [name for name, _ in zh] == ADMIN_MENU + RESIDENT_MENU
    assert ("newcampaign", "分步创建问卷活动") in zh and ("help", "帮助") in zh

    mixed = [name for name, _ in await menu_of(both, "inspect")]
    assert mixed == ["campaigns", "campaign", "cadres", "results", "appeals", "answer",
                     "cases", "approve", "dashboard", "inspect", "inspections", *RESIDENT_MENU], (
        "auditor, then inspector, /dashboard once")
    assert "newcampaign" not in mixed, "an auditor cannot create campaigns"

    assert [name for name, _ in await resident.command_menu()] == RESIDENT_MENU
    assert ("cancel", "Withdraw the poll you are answering (asks first)") in (
        await resident.command_menu())
    zh_resident = await resident_zh.command_menu()
    assert [name for name, _ in zh_resident] == RESIDENT_MENU
    assert ("units", "选择接收问卷邀请的地区") in zh_resident

    # The Bot API itself holds what the sandbox showed: chat scope, English and Chinese.
    assert quick_bot.application is not None
    telegram = quick_bot.application.bot
    own = await telegram.get_my_commands(scope=BotCommandScopeChat(7201))
    assert [c.command for c in own] == ADMIN_MENU + RESIDENT_MENU
    own_zh = await telegram.get_my_commands(scope=BotCommandScopeChat(7201), language_code="zh")
    assert own_zh[0].description == "所辖单位的问卷活动"
    default = await telegram.get_my_commands()
    assert [c.command for c in default] == RESIDENT_MENU


async def test_menus_follow_roles_granted_and_removed_while_running(
    quick_bot: Bot, client: SandboxClient, db: Database
) -> None:
    newcomer = await client.user(7203, "Wu", language_code="en")
    assert [name for name, _ in await newcomer.command_menu()] == RESIDENT_MENU
    async with db.transaction() as uow:  # what `civicpulse admin add` does in its own process
        await grant_role(uow, telegram_user_id=7203, role=Role.ADMIN, unit_code="V1",
                         name="Wu Lei", actor="cli")
    granted = [name for name, _ in await menu_of(newcomer, "newcampaign")]
    assert granted == ADMIN_MENU + RESIDENT_MENU

    async with db.transaction() as uow:  # `civicpulse admin remove`
        await revoke_role(uow, telegram_user_id=7203, role=Role.ADMIN, unit_code="V1",
                          actor="cli")
    removed = [name for name, _ in await menu_of(newcomer, "-newcampaign")]
    assert removed == RESIDENT_MENU, "back to the residents' menu"
    assert quick_bot.application is not None
    assert await quick_bot.application.bot.get_my_commands(
        scope=BotCommandScopeChat(7203)) == (), "the chat's own menu is gone"


async def test_menus_are_set_at_start_for_everyone_with_a_role(
    sandbox: BotApiSandbox, db: Database, clock: Clock, client: SandboxClient
) -> None:
    await seed_campaign(db)
    async with db.transaction() as uow:
        await grant_role(uow, telegram_user_id=7204, role=Role.ADMIN, unit_code=None,
                         name="Qian", actor="cli")
    harness = Bot(sandbox, db, clock)  # the default 30 s re-read: only the start-up counts
    await harness.start()
    try:
        admin = await client.user(7204, "Qian", language_code="zh-hans")
        menu = await menu_of(admin, "campaigns")
        assert menu[0] == ("campaigns", "所辖单位的问卷活动")
    finally:
        await harness.stop()


async def test_a_cadre_gets_the_cadre_menu_as_soon_as_the_link_is_used(
    sandbox: BotApiSandbox, db: Database, clock: Clock, client: SandboxClient
) -> None:
    from surveys.fieldwork import cadres

    await seed_campaign(db)
    async with db.transaction() as uow:
        draft = cadres.check_profile("Zhou Min", "Village head", ["V1"], ["road repairs"])
        issued = await cadres.create_profile(uow, draft, actor="test", now=clock(),
                                             valid_for=timedelta(days=7))
    harness = Bot(sandbox, db, clock)  # 30 s between re-reads: the link must not wait for one
    await harness.start()
    try:
        cadre = await client.user(7205, "Zhou", language_code="zh-hans")
        assert [name for name, _ in await cadre.command_menu()] == RESIDENT_MENU
        await cadre.send(f"/start {cadres.invite_payload(issued.token)}")
        await cadre.wait_for_message("Zhou Min")
        menu = await cadre.command_menu()  # set before the greeting went out
        assert [name for name, _ in menu] == ["note", "notes", "myscore", "appeal",
                                              "cases", "dashboard", *RESIDENT_MENU]
        assert menu[0] == ("note", "发送工作进展")
    finally:
        await harness.stop()
