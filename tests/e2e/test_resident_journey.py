"""The resident journey through the real Application, over HTTP, against a real database."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from sandbox import SandboxClient, SandboxUser
from sandbox.client import Message
from storage.models import Answer, Response, ResponseStatus
from storage.uow import Database
from surveys.appraisal.exports import export_responses
from surveys.campaigns.admin import create_campaign
from surveys.questionnaire.loader import load_template
from tests.e2e.conftest import Bot, Clock

pytestmark = pytest.mark.e2e


async def begin(user: SandboxUser, code: str = "willow") -> Message:
    """Open the campaign; return the first question after the intro."""
    await user.send(f"/start {code}")
    # The intro and the first question come as one message.
    question = await user.wait_for_message("1/5")
    assert "anonymous" in question.text
    return question


async def tap_and_wait(user: SandboxUser, button: str, expect: str) -> Message:
    await user.tap(button)
    return await user.wait_for_message(expect)


async def answer_all(user: SandboxUser, comment: str | None = "Friendly staff, thanks") -> Message:
    """Answer the five questions a satisfied resident sees; return the summary."""
    await begin(user)
    await tap_and_wait(user, "4", "2/5")
    await tap_and_wait(user, "Yes", "3/5")
    await tap_and_wait(user, "5", "4/5")
    await tap_and_wait(user, "4", "5/5")
    if comment is None:
        return await tap_and_wait(user, "Skip ▶", "Your answers")
    await user.send(comment)
    return await user.wait_for_message("Your answers")


async def completed(db: Database) -> list[Response]:
    async with db.transaction() as uow:
        rows = await uow.session.scalars(
            select(Response).where(Response.status == ResponseStatus.COMPLETED)
        )
        return list(rows.all())


async def answers_of(db: Database) -> dict[str, Answer]:
    async with db.transaction() as uow:
        return {a.question_id: a for a in (await uow.session.scalars(select(Answer))).all()}


async def test_a_resident_answers_the_poll_end_to_end(
    bot: Bot, client: SandboxClient, db: Database
) -> None:
    user = await client.user(987_654_321, "Li", language_code="en")
    await user.send("/start willow")
    # One message: the intro above the first question.
    first = await user.wait_for_message("1/5")
    assert "Willow Village" in first.text and "How was your service today?" in first.text
    assert "anonymous" in first.text
    assert "5 short questions" in first.text, "counted as the progress marker counts them"
    assert first.text.index("5 short questions") < first.text.index("Overall, how satisfied")
    await user.expect_no_message(within=0.3)
    assert first.button_texts == ["1", "2", "3", "4", "5"]

    second = await tap_and_wait(user, "4", "2/5")
    assert second.message_id == first.message_id, "a tap turns the same message into the next"
    assert "resolved" in second.text and {"Yes", "No", "◀ Back"} <= set(second.button_texts)
    await tap_and_wait(user, "Yes", "3/5")
    await tap_and_wait(user, "5", "4/5")
    comment_question = await tap_and_wait(user, "4", "5/5")
    assert "Skip ▶" in comment_question.button_texts and "(optional)" in comment_question.text

    await user.send("Quick and friendly 👍 服务很好")
    summary = await user.wait_for_message("Your answers")
    assert "4/5" in summary.text and "Yes" in summary.text and "服务很好" in summary.text
    assert set(summary.button_texts) == {"✏️ Change an answer", "✅ Submit"}
    retired = next(m for m in await user.bot_messages() if m.message_id == first.message_id)
    assert retired.buttons == [], "the previous prompt's buttons are retired"

    done = await tap_and_wait(user, "✅ Submit", "Thank you")
    assert done.buttons == []
    rows = await completed(db)
    assert len(rows) == 1
    stored = await answers_of(db)
    assert set(stored) == {"overall", "resolved", "timeliness", "courtesy", "comment"}
    assert stored["overall"].value_number == 4 and stored["resolved"].value_number == 1
    assert stored["comment"].value_text == "Quick and friendly 👍 服务很好"

    async with db.transaction() as uow:
        out = io.StringIO()
        assert await export_responses(uow, "willow", "csv", out) == 1
    header, row = out.getvalue().splitlines()
    assert header.endswith("overall,what_went_wrong,resolved,timeliness,courtesy,comment")
    assert row.endswith("4,,yes,5,4,Quick and friendly 👍 服务很好")


async def test_answers_are_stored_without_telegram_ids(
    bot: Bot, client: SandboxClient, db: Database
) -> None:
    user_id = 5_550_001_234
    user = await client.user(user_id, "Wang")
    await answer_all(user)
    await user.tap("✅ Submit")
    await user.wait_for_message("Thank you")
    async with db.transaction() as uow:
        for model in (Response, Answer):
            for row in (await uow.session.scalars(select(model))).all():
                for column in model.__table__.columns:
                    value = str(getattr(row, column.key))
                    assert str(user_id) not in value, f"{model.__tablename__}.{column.key}"
        response = (await uow.session.scalars(select(Response))).one()
        assert len(response.respondent_key) == 64


async def test_back_skip_and_conditional_question(bot: Bot, client: SandboxClient) -> None:
    user = await client.user(1001, "Zhao")
    await begin(user)
    low = await tap_and_wait(user, "2", "main problem")
    assert "1/5" in low.text, "a low rating asks what went wrong, as part of the first question"
    again = await tap_and_wait(user, "◀ Back", "Overall, how satisfied")
    assert "1/5" in again.text
    assert "✓ 2" in again.button_texts, "going back shows the earlier answer"
    nxt = await tap_and_wait(user, "5", "2/5")
    assert "resolved" in nxt.text, "the follow-up disappears after a better rating"
    await tap_and_wait(user, "No", "3/5")
    await tap_and_wait(user, "3", "4/5")
    await tap_and_wait(user, "3", "5/5")
    summary = await tap_and_wait(user, "Skip ▶", "Your answers")
    assert "skipped" in summary.text and "main problem" not in summary.text


async def test_the_progress_total_stays_put_when_a_follow_up_appears(
    bot: Bot, client: SandboxClient
) -> None:
    """A dissatisfied resident gets one more question, but never sees 1/5 turn into 2/6."""
    user = await client.user(1003, "Sun")
    first = await begin(user)
    shown = [first]
    for tap, expect in (("1", "main problem"), ("Waited too long", "resolved"),
                        ("No", "How quickly"), ("2", "staff's attitude"), ("3", "Anything")):
        shown.append(await tap_and_wait(user, tap, expect))
    markers = [re.search(r" · (\d+/\d+)", m.text).group(1) for m in shown]  # type: ignore[union-attr]
    assert markers == ["1/5", "1/5", "2/5", "3/5", "4/5", "5/5"]
    summary = await tap_and_wait(user, "Skip ▶", "Your answers")
    assert "Waited too long" in summary.text, "the follow-up's answer is in the summary"


async def test_change_an_answer_from_the_summary(
    bot: Bot, client: SandboxClient, db: Database
) -> None:
    user = await client.user(1002, "Chen")
    await answer_all(user, comment=None)
    picker = await tap_and_wait(user, "✏️ Change an answer", "Which answer")
    label = next(b for b in picker.button_texts if b.startswith("4."))
    question = await tap_and_wait(user, label, "4/5")
    assert "✓ 4" in question.button_texts
    summary = await tap_and_wait(user, "2", "Your answers")
    assert "2/5" in summary.text
    await tap_and_wait(user, "✅ Submit", "Thank you")
    assert (await answers_of(db))["courtesy"].value_number == 2


async def test_resume_after_restart_and_refuse_a_second_attempt(
    bot: Bot, client: SandboxClient
) -> None:
    user = await client.user(1003, "Sun")
    await begin(user)
    await tap_and_wait(user, "5", "2/5")
    await tap_and_wait(user, "Yes", "3/5")
    await bot.restart()

    await user.send("/start willow")
    resumed = await user.wait_for_message("Welcome back")
    assert "3/5" in resumed.text and "How quickly" in resumed.text
    await user.send("4")  # typed instead of tapped: still understood
    await user.wait_for_message("4/5")
    await bot.restart()
    await user.send("5")
    await user.wait_for_message("5/5")
    await user.send("Thanks")
    await user.wait_for_message("Your answers")
    await tap_and_wait(user, "✅ Submit", "Thank you")

    await user.send("/start willow")
    refusal = await user.wait_for_message("already answered")
    assert "once" in refusal.text and refusal.buttons == []


async def test_unknown_and_closed_codes(
    bot: Bot, client: SandboxClient, clock: Clock
) -> None:
    user = await client.user(1004, "Zhou")
    await user.send("/start nosuchpoll")
    reply = await user.wait_for_message("could not find")
    assert "nosuchpoll" in reply.text
    await user.send("/start " + "x" * 300)
    await user.wait_for_message("does not look right")
    await begin(user)
    clock.offset_s = timedelta(days=31).total_seconds()
    await user.tap("4")
    answer = await user.wait_for_answer()
    assert "closed" in answer.text and answer.show_alert
    await user.send("/start willow")
    await user.wait_for_message("closed")


async def test_chinese_from_the_client_and_switching_language(
    bot: Bot, client: SandboxClient
) -> None:
    user = await client.user(1005, "小明", language_code="zh-hans")
    await user.send("/start willow")
    first = await user.wait_for_message("1/5")
    assert "匿名" in first.text and "今天的办事体验怎么样" in first.text
    assert "满意" in first.text
    await user.send("/language")
    chooser = await user.wait_for_message("请选择语言")
    assert chooser.button_texts == ["English", "中文"]
    await tap_and_wait(user, "English", "Language set to English")
    again = await user.wait_for_message("Overall, how satisfied")
    assert "1/5" in again.text and again.button_texts[:5] == ["1", "2", "3", "4", "5"]
    await tap_and_wait(user, "4", "2/5")


async def test_cancel_withdraws_and_help_explains(
    bot: Bot, client: SandboxClient, db: Database
) -> None:
    user = await client.user(1006, "Wu")
    await user.send("/cancel")
    await user.wait_for_message("nothing to cancel")
    await begin(user)
    await tap_and_wait(user, "3", "2/5")
    await user.send("/cancel")
    await user.wait_for_message("Withdraw your answers")
    assert set(await answers_of(db)) == {"overall"}, "nothing is deleted before confirming"
    await tap_and_wait(user, "Withdraw my answers", "deleted")
    assert await answers_of(db) == {}
    await user.send("/help")
    helptext = await user.wait_for_message("/language")
    assert "anonymous" in helptext.text
    await begin(user)


async def test_a_scheduled_campaign_opens_on_time(
    bot: Bot, client: SandboxClient, db: Database, clock: Clock
) -> None:
    async with db.transaction() as uow:
        later = clock() + timedelta(hours=1)
        await create_campaign(
            uow, survey=load_template("resident_satisfaction"), unit_code="V2", code="pine",
            opens_at=later, closes_at=later + timedelta(days=7), now=clock(), actor="test",
        )
    user = await client.user(1007, "Tang")
    await user.send("/start pine")
    await user.wait_for_message("has not opened yet")
    clock.offset_s = timedelta(hours=2).total_seconds()
    await user.send("/start pine")
    intro = await user.wait_for_message("anonymous")
    assert "Pine Village" in intro.text


async def test_pop_ups_are_plain_text(
    bot: Bot, client: SandboxClient, db: Database, clock: Clock
) -> None:
    async with db.transaction() as uow:
        unit = await uow.units.by_code("V1")
        assert unit is not None
        unit.name = "Willow & <Pine>"
    user = await client.user(1008, "Song")
    await begin(user)
    clock.offset_s = timedelta(days=31).total_seconds()
    await user.tap("4")
    alert = await user.wait_for_answer()
    assert "Willow & <Pine>" in alert.text and "&amp;" not in alert.text
