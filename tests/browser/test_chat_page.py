"""A resident answers the demo poll in the sandbox's chat page, in English and in Chinese."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.conftest import ChatPage, Shot, assert_not_blank, fonts_rendering


async def test_a_resident_answers_the_demo_poll_in_the_page(chat: ChatPage, shot: Shot) -> None:
    # As the README's "Trying it without Telegram" says: pick a user, send /start demo.
    await chat.new_user(7002, "王芳", language="中文 (zh)")
    await chat.new_user(7001, "Li Wei")
    users = chat.page.get_by_role("list", name="Simulated users")
    await expect(users).to_contain_text("id 7001 · en")
    await expect(users).to_contain_text("id 7002 · zh")

    await chat.send("/start demo")
    # One message: the intro above the first question.
    prompt = await chat.shows("1/5", "Your answers are anonymous")
    await expect(prompt).to_contain_text("How was your service today?")
    await expect(prompt).to_contain_text("Willow Village")
    await expect(chat.messages).not_to_contain_text("No messages yet")
    await expect(prompt).to_contain_text("Overall, how satisfied")
    await expect(prompt.get_by_role("button")).to_have_text(["1", "2", "3", "4", "5"])
    # The bot's emoji (the intro's 🔒) are drawn with an emoji font, not as empty boxes.
    fonts = await fonts_rendering(prompt.locator(".bubble"))
    assert any("Emoji" in family for family in fonts), (
        f"no emoji font drew the intro's 🔒 ({fonts}): install fonts-noto-color-emoji")

    await chat.tap("4")
    await expect(prompt).to_contain_text("2/5")   # a tap turns the same message into the next
    await expect(prompt).to_contain_text("Was the matter you came for resolved?")
    await chat.tap("Yes")
    await expect(prompt).to_contain_text("3/5")
    await chat.tap("5")
    await expect(prompt).to_contain_text("How would you rate the staff's attitude?")
    await expect(prompt.get_by_role("button")).to_have_text(
        ["1", "2", "3", "4", "5", "◀ Back"])
    await shot(chat.page, "docs/sandbox-chat.png")

    await chat.tap("4")
    await expect(prompt).to_contain_text("Anything you would like to add?")
    await chat.send("Quick and friendly service, thank you")
    summary = await chat.shows("Please check them, then tap Submit")
    await expect(summary).to_contain_text("Quick and friendly service")
    await expect(summary.get_by_role("button")).to_have_text(
        ["✏️ Change an answer", "✅ Submit"])
    await expect(prompt.get_by_role("button")).to_have_count(0)   # the old prompt is retired

    await chat.tap("✅ Submit")
    await expect(summary).to_contain_text("Submitted. Thank you!")
    await expect(summary.get_by_role("button")).to_have_count(0)
    await chat.shows("Would you like to be invited to future polls about Willow Village?")
    await chat.tap("Yes, invite me")
    await chat.shows("You will be invited to polls about Willow Village")


@pytest.mark.parametrize("locale", ["zh-CN"])
async def test_a_chinese_resident_answers_in_chinese(chat: ChatPage, shot: Shot) -> None:
    await chat.new_user(7002, "王芳", language="中文 (zh)")
    await chat.send("/start demo")
    prompt = await chat.shows("1/5", "您的回答是匿名的")
    await expect(prompt).to_contain_text("今天的办事体验怎么样？")
    await expect(prompt).to_contain_text("总的来说，您对这次办事服务满意吗？")

    await chat.tap("4")
    await expect(prompt).to_contain_text("您这次要办的事情办成了吗？")
    await chat.tap("是")
    await expect(prompt).to_contain_text("3/5")
    await chat.tap("5")
    await expect(prompt).to_contain_text("4/5")
    await chat.tap("4")
    await expect(prompt).to_contain_text("还有什么想说的吗？")
    await chat.send("窗口服务很好，谢谢")

    summary = await chat.shows("请核对后点击")
    await expect(summary).to_contain_text("窗口服务很好")
    await expect(summary.get_by_role("button")).to_have_text(["✏️ 修改回答", "✅ 提交"])
    await chat.tap("✅ 提交")
    await expect(summary).to_contain_text("已提交，谢谢！")
    await chat.shows("您是否愿意接收关于Willow Village的后续问卷邀请？")
    await chat.tap("好的，邀请我")
    following = await chat.shows("谢谢。您将收到关于Willow Village的问卷邀请")

    # Chinese is drawn with a CJK font, not as empty boxes: the fonts chromium used for the
    # text, and dark pixels where the text is.
    fonts = await fonts_rendering(summary.locator(".bubble"))
    assert any("CJK" in family for family in fonts), (
        f"no CJK font drew the Chinese text ({fonts}): install fonts-noto-cjk")
    assert "Noto Sans CJK SC" in fonts, f"Chinese drawn without Simplified Chinese forms: {fonts}"
    assert_not_blank(await following.screenshot(), "the last message")
    await shot(chat.page)
