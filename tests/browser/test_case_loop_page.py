"""The case loop in the sandbox's chat page, as two people in one page: a resident reports a
problem with /report, a cadre of the unit takes it and asks a question through the relay, the
resident replies, the cadre resolves it, and the resident confirms it is solved. Each side is
a simulated user of the page; the test switches between their chats as a person would, by
clicking them in the sidebar.

The bot's background work (the case relay) runs as under `make run`; the cadre's role is
given as a used invite leaves it (tests.e2e.fieldwork.make_cadre). The README's pictures of
the loop (docs/case-resident.png, docs/case-staff.png) come from the English test under
``make screenshots``; the Chinese one checks the resident's side in Chinese and that it is
drawn with a CJK font.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from playwright.async_api import Locator, expect

from sandbox import BotApiSandbox
from storage.uow import Database
from tests.browser.conftest import ChatPage, Shot, assert_not_blank, fonts_rendering
from tests.e2e.conftest import Bot, Clock
from tests.e2e.fieldwork import make_cadre

# Telegram ids too long to turn up in a text by chance (a case number has six characters).
RESIDENT_ID = 7_410_000_001
CADRE_ID = 7_420_000_001
CADRE = "Zhou Min"
NUMBER = re.compile(r"C-[0-9A-Z]{6}")
DAY = re.compile(r"\d{4}-\d\d-\d\d")


@dataclass(frozen=True)
class Words:
    """One run of the loop: what the resident and the cadre write, and what the resident's
    side of the bot says, in the resident's language (the cadre's side is in English)."""

    name: str
    language: str  # as the new-user form lists it
    problem: str
    question: str
    reply: str
    done: str
    summary: str
    write: str
    where: str
    send_it: str
    unseen: str
    category: str
    tell: str
    sent: str
    asked: str
    anonymous: str
    reply_button: str
    write_reply: str
    passed: str
    dealt: str
    solved: str
    answers: tuple[str, str, str]
    closed: str


ENGLISH = Words(
    name="Li Wei", language="English (en)",
    problem="The street lamp by the school gate on Mill Road has been dark for a month",
    question="Which lamp post?", reply="The one by the school gate",
    done="Replaced the bulb and the fuse", summary="Street lamp at the school gate repaired",
    write="What is wrong?", where="Where is it?",
    send_it="Not linked to your poll answers", unseen="never who sent it",
    category="🏷 Roads and lighting?", tell="🔔 Send, tell me",
    sent="Sent: case", asked="a question about your report", anonymous="never who you are",
    reply_button="↩️ Reply", write_reply="Your reply on case",
    passed="Passed on to the handler of case", dealt="your report has been dealt with",
    solved="Was the problem solved?", answers=("✅ Yes", "➖ Partly", "❌ No"),
    closed="is closed as solved",
)
CHINESE = Words(
    name="李伟", language="中文 (zh)",
    problem="学校门口的路灯已经一个月不亮了", question="是哪一根路灯？",
    reply="就是学校门口那一根", done="换了灯泡和保险丝", summary="学校门口的路灯已修好",
    write="什么问题？", where="问题在哪里？", send_it="与您的问卷回答无关联",
    unseen="不知道是谁反映的", category="🏷 道路和照明？", tell="🔔 发送，告诉我结果",
    sent="已发送：", asked="关于您反映的问题，有一个提问", anonymous="不会知道您是谁",
    reply_button="↩️ 回复", write_reply="请回复", passed="已转达给",
    dealt="您反映的问题已处理", solved="问题解决了吗？",
    answers=("✅ 解决了", "➖ 部分解决", "❌ 没有解决"), closed="已按“已解决”办结",
)
STAFF_BUTTONS = ["💬 Ask the resident", "🔁 Ask to transfer", "🚫 Ask to reject"]


@pytest.fixture
async def bot(sandbox: BotApiSandbox, db: Database, clock: Clock) -> AsyncIterator[Bot]:
    """The running bot over the demo's units alone, as `make run` has them (the e2e harness
    would add its test tree: a second "Riverside County" in the place picker)."""
    harness = Bot(sandbox, db, clock)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def test_a_case_from_report_to_confirmation(
    chat: ChatPage, shot: Shot, db: Database,
) -> None:
    await the_loop(chat, db, ENGLISH, shot)


@pytest.mark.parametrize("locale", ["zh-CN"])
async def test_a_chinese_resident_goes_through_the_loop_in_chinese(
    chat: ChatPage, db: Database,
) -> None:
    await the_loop(chat, db, CHINESE)
    await chat.switch_to(CHINESE.name)
    closed = await chat.shows(CHINESE.closed)
    # Chinese is drawn with a CJK font with Simplified forms, not as empty boxes.
    fonts = await fonts_rendering(closed.locator(".bubble"))
    assert "Noto Sans CJK SC" in fonts, f"Chinese drawn without a Simplified CJK font: {fonts}"
    assert_not_blank(await closed.screenshot(), "the last message")


async def the_loop(chat: ChatPage, db: Database, words: Words, shot: Shot | None = None) -> None:
    """The whole loop, asserting what each side sees; with ``shot``, the README's pictures."""
    await make_cadre(db, CADRE_ID, "RIVER-N-WILLOW", CADRE, ["Road repair and street lighting"])
    await chat.new_user(CADRE_ID, CADRE)
    await chat.new_user(RESIDENT_ID, words.name, language=words.language)
    number, due = await report(chat, words)

    await chat.switch_to(CADRE)
    await take_and_ask(chat, words, number, due)

    await chat.switch_to(words.name)
    await reply(chat, words, number)

    await chat.switch_to(CADRE)
    told = await chat.shows(f"{number} · Resident:", words.reply)
    await expect(told.get_by_role("button")).to_have_text(["📂 Open case"])
    if shot is not None:
        await picture(chat, shot, "docs/case-staff.png")
    await resolve(chat, words, number, told)

    await chat.switch_to(words.name)
    resolution = await chat.shows(words.solved)
    await expect(resolution).to_contain_text(number)
    await expect(resolution).to_contain_text(words.dealt)
    await expect(resolution).to_contain_text(words.done)
    await expect(resolution.get_by_role("button")).to_have_text(list(words.answers))
    if shot is not None:
        await picture(chat, shot, "docs/case-resident.png")
    await tap_in(resolution, words.answers[0])
    closed = await chat.shows(words.closed)
    await expect(closed).to_contain_text(number)
    await expect(resolution.get_by_role("button")).to_have_count(0)
    await never_shown(chat, CADRE, "Zhou", str(CADRE_ID))

    await chat.switch_to(CADRE)
    await chat.shows(f"{number}: the resident answered “solved”")
    await never_shown(chat, words.name, str(RESIDENT_ID))


async def report(chat: ChatPage, words: Words) -> tuple[str, str]:
    """/report, what is wrong, the place, "tell me"; returns the case number and deadline."""
    await chat.send("/report")
    await chat.shows(words.write)
    await chat.send(words.problem)
    await chat.shows(words.where)
    await open_place(chat, "North Township")
    await chat.tap("Willow Village")
    confirm = await chat.shows(words.send_it)
    await expect(confirm).to_contain_text(words.unseen)
    # The category suggested from the text, on the button that changes it.
    await expect(confirm.get_by_role("button", name=words.category, exact=True)).to_have_count(1)
    await chat.tap(words.tell)
    await expect(confirm).to_contain_text(words.sent)   # the card becomes the receipt
    await expect(confirm.get_by_role("button")).to_have_count(0)
    receipt = await confirm.inner_text()
    number, due = NUMBER.search(receipt), DAY.search(receipt)
    assert number is not None and due is not None, f"no number or deadline in {receipt!r}"
    return number.group(0), due.group(0)


async def take_and_ask(chat: ChatPage, words: Words, number: str, due: str) -> None:
    """The cadre opens the new case from its notice, takes it and asks the resident."""
    notice = await chat.shows(f"New case {number}")
    await expect(notice).to_contain_text(f"Willow Village · Roads and lighting · due {due}")
    await tap_in(notice, "📂 Open case")
    view = await chat.shows("Timeline", "Resident reported it")
    await expect(view).to_contain_text(f"Case {number}")
    await expect(view).to_contain_text(f"Report (sent with /report): {words.problem}")
    await expect(view).to_contain_text("The resident asked to be told")
    await expect(view.get_by_role("button")).to_have_text(["✋ Take", "✅ Resolve",
                                                          *STAFF_BUTTONS])
    await tap_in(view, "✋ Take")
    await expect(chat.page.locator("#toast")).to_contain_text(f"You took case {number}.")
    await expect(view).to_contain_text(f"Status: taken by {CADRE}")   # the case, in place
    await expect(view.get_by_role("button")).to_have_text(["✅ Resolve", *STAFF_BUTTONS])
    await tap_in(view, "💬 Ask the resident")
    await chat.shows(f"Question to the resident of case {number}")
    await chat.send(words.question)
    await chat.shows(f"Your question on case {number} is on its way to the resident")
    asked = await chat.shows("Timeline", f"{CADRE}: {words.question}")
    await expect(asked.get_by_role("button")).to_have_text(["✅ Resolve", *STAFF_BUTTONS])


async def reply(chat: ChatPage, words: Words, number: str) -> None:
    """The resident gets the question under the case number alone, and replies to it."""
    question = await chat.shows(words.question, number)
    await expect(question).to_contain_text(words.asked)
    await expect(question).to_contain_text(words.anonymous)
    await expect(question).not_to_contain_text("Willow")   # nothing but the number
    await expect(question.get_by_role("button")).to_have_text([words.reply_button])
    await tap_in(question, words.reply_button)
    await chat.shows(words.write_reply, number)
    await chat.send(words.reply)
    await chat.shows(words.passed, number)


async def resolve(chat: ChatPage, words: Words, number: str, told: Locator) -> None:
    """The cadre opens the case from the reply and resolves it, without photos but with a
    public summary (asked for beside Resolve)."""
    await tap_in(told, "📂 Open case")
    view = await chat.shows("Timeline", f"Resident: {words.reply}")
    await expect(view).to_contain_text(f"{CADRE}: {words.question}")
    await tap_in(view, "✅ Resolve")
    await chat.shows("What was done?")
    await chat.send(words.done)
    ready = await chat.shows("Tap Resolve, and the resident is asked")
    await expect(ready.get_by_role("button")).to_have_text([
        f"✅ Resolve {number}", "📝 Add a public summary", "✖ Cancel"])
    await tap_in(ready, "📝 Add a public summary")
    await chat.shows("public summary")
    await chat.send(words.summary)
    check = await chat.shows("Check, then tap Resolve")
    await expect(check).to_contain_text(f"Done: {words.done}")
    await expect(check).to_contain_text(f"Public summary: {words.summary}")
    await expect(check).to_contain_text("the resident is asked whether it is solved")
    await tap_in(check, f"✅ Resolve {number}")
    await expect(check).to_contain_text(f"Case {number} is resolved; the resident has until")
    resolved = await chat.shows("Timeline", f"{CADRE} resolved it: {words.done}")
    await expect(resolved).to_contain_text("Status: resolved, waiting for the resident's answer")


async def tap_in(message: Locator, button: str) -> None:
    """Click one of this message's buttons."""
    await message.get_by_role("button", name=button, exact=True).click()


async def open_place(chat: ChatPage, name: str) -> None:
    """In the place picker, open the places within ``name`` (the › beside it)."""
    row = chat.messages.locator(".keyboard").last.locator(".kb-row").filter(
        has=chat.page.get_by_role("button", name=name, exact=True))
    await row.get_by_role("button", name="›", exact=True).click()


async def never_shown(chat: ChatPage, *texts: str) -> None:
    """None of ``texts`` is anywhere in the open chat (loaded: the caller waited for it)."""
    for text in texts:
        await expect(chat.messages).not_to_contain_text(text)


async def picture(chat: ChatPage, shot: Shot, path: str) -> None:
    """A README picture of the open chat, once no toast covers it."""
    await expect(chat.page.locator("#toast")).to_be_hidden()
    await shot(chat.page, path)
