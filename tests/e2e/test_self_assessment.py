"""Cadres' self-assessments through the real Application, the sandbox and a real database:
the invitation from the outbox, answers tied to the cadre (not anonymous) and audited, and
residents or cadres of other units kept out."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from sandbox import SandboxClient, SandboxUser
from storage.models import Response, ResponseStatus
from storage.uow import Database
from surveys.appraisal.periods import parse_period, period_of
from surveys.campaigns.admin import create_campaign
from surveys.fieldwork import cadres
from surveys.questionnaire.loader import load_template
from tests.e2e.conftest import Bot
from tests.e2e.test_admin_chat import audit
from tests.e2e.test_campaign_operations import leading, sync
from tests.e2e.test_resident_journey import tap_and_wait

pytestmark = pytest.mark.e2e

CADRES_ONLY = "This questionnaire is for the cadres of North Township"


async def linked_cadre(db: Database, client: SandboxClient, user_id: int, units: str,
                       name: str) -> tuple[SandboxUser, int]:
    """A cadre profile made as an admin would, linked by opening its invite link in chat."""
    async with db.transaction() as uow:
        issued = await cadres.create_profile(
            uow, cadres.parse_invite_request(f"{units} {name}; Village head; road repairs"),
            actor="test", now=datetime.now(UTC), valid_for=timedelta(days=7))
    user = await client.user(user_id, name.split()[0], language_code="en")
    await user.send(f"/start {issued.payload}")
    await user.wait_for_message(f"Welcome, {name}!")
    return user, issued.profile.person_id


async def self_assessment(db: Database, code: str = "self-t1", unit: str = "T1") -> None:
    at = datetime.now(UTC)
    async with db.transaction() as uow:
        await create_campaign(
            uow, survey=load_template("cadre_self_assessment"), unit_code=unit, code=code,
            opens_at=at - timedelta(minutes=1), closes_at=at + timedelta(days=10), now=at,
            actor="test",
        )


async def responses(db: Database) -> list[Response]:
    async with db.reading() as uow:
        return list((await uow.session.scalars(select(Response).order_by(Response.id))).all())


async def answer_self_assessment(user: SandboxUser) -> None:
    """From the first question to the thanks, as a cadre would tap and type."""
    await tap_and_wait(user, "4", "How many tasks")
    await user.send("12")
    await user.wait_for_message("What held your work back")
    await tap_and_wait(user, "Too many reports, forms and meetings", "Would training help")
    await tap_and_wait(user, "Yes", "Which topics")
    ticked = await tap_and_wait(user, "☐ Digital tools", "Which topics")
    assert "☑ Digital tools" in ticked.button_texts
    await tap_and_wait(user, "Done ✓", "Anything else")
    await tap_and_wait(user, "Skip ▶", "Your answers")


async def test_a_cadre_answers_from_the_invitation_and_the_answers_are_theirs(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    cadre, person_id = await linked_cadre(db, client, 9201, "V1", "Zhang Li")
    await leading(bot)
    await self_assessment(db)
    await sync(bot)  # or the background pass got there first: the invitation tells
    invitation = await cadre.wait_for_message("Self-assessment for this period")
    assert "North Township" in invitation.text and invitation.button_texts == ["▶ Start"]
    await cadre.tap("▶ Start")
    # One message: the intro above the first question.
    first = await cadre.wait_for_message("progress on your key tasks")
    assert "Not anonymous" in first.text and "kept under your name" in first.text
    assert "are anonymous" not in first.text and "🔒" not in first.text
    assert first.button_texts[:5] == ["1", "2", "3", "4", "5"]
    await answer_self_assessment(cadre)
    await cadre.tap("✅ Submit")
    async with db.reading() as uow:
        opened = await uow.campaigns.by_code("self-t1")
        assert opened is not None
        period = period_of(opened.opens_at).label  # the period the campaign opened in
    thanks = await cadre.wait_for_message("Submitted")
    assert f"Your self-assessment for {period} is in your appraisal record" in thanks.text
    await cadre.expect_no_message(within=0.5)  # no offer to follow the unit: that is residents'

    seen = [m.text for m in await cadre.bot_messages()]
    assert not [text for text in seen if "anonymous" in text.replace("Not anonymous", "")], (
        "nothing a cadre sees calls the self-assessment anonymous")
    [response] = await responses(db)
    assert response.status == ResponseStatus.COMPLETED and response.person_id == person_id
    assert response.entry_point == "invite"
    [event] = await audit(db, "self_assessment.submit")
    assert event.actor == f"person:{person_id}" and event.entity_id == str(response.id)
    assert event.after == {"person": person_id, "campaign": "self-t1", "period": period}

    async with db.reading() as uow:
        out = io.StringIO()
        assert await cadres.export_self_assessments(uow, parse_period(period), out) == 1
    rows = [line.split(",") for line in out.getvalue().splitlines()[1:]]
    assert {row[4]: row[6] for row in rows}["training_topics"] == "digital"
    assert all(row[:4] == [str(person_id), "Zhang Li", "V1", "self-t1"] for row in rows)


async def test_a_resident_cannot_answer_a_cadres_questionnaire(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    await self_assessment(db)
    resident = await client.user(9211, "Resident")
    await resident.send("/start self-t1")
    refused = await resident.wait_for_message(CADRES_ONLY)
    assert "open your invite link first" in refused.text
    await resident.expect_no_message(within=0.3)
    assert await responses(db) == []


async def test_only_cadres_of_the_campaigns_units_may_answer(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    await self_assessment(db, code="self-v1", unit="V1")
    elsewhere, _ = await linked_cadre(db, client, 9221, "V2", "Wang Fang")
    await elsewhere.send("/start self-v1")
    await elsewhere.wait_for_message("This questionnaire is for the cadres of Willow Village")
    # A cadre of the township is not a cadre of one of its villages either.
    above, _ = await linked_cadre(db, client, 9222, "T1", "Liu Yang")
    await above.send("/start self-v1")
    await above.wait_for_message("This questionnaire is for the cadres of Willow Village")
    assert await responses(db) == []

    # By code rather than the invitation's button: still theirs, still tied to them.
    cadre, person_id = await linked_cadre(db, client, 9223, "V1", "Zhang Li")
    await cadre.send("/start self-v1")
    first = await cadre.wait_for_message("progress on your key tasks")
    assert "Not anonymous" in first.text
    await answer_self_assessment(cadre)
    await tap_and_wait(cadre, "✅ Submit", "Your self-assessment for")
    [response] = await responses(db)
    assert response.person_id == person_id and response.entry_point is None


async def test_the_invitation_button_is_refused_to_a_resident_who_forges_it(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    await self_assessment(db)
    async with db.reading() as uow:
        campaign = await uow.campaigns.by_code("self-t1")
        assert campaign is not None
    resident = await client.user(9231, "Resident")
    await resident.send("/help")
    help_message = await resident.wait_for_message("/help")
    await resident.tap_data(help_message.message_id, f"i:{campaign.id}")
    answer = await resident.wait_for_answer()
    assert answer.text == "This button is not valid."
    async with db.reading() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Response)) == 0


async def test_residents_still_answer_anonymously(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    resident = await client.user(9241, "Li")
    await resident.send("/start willow")
    first = await resident.wait_for_message("1/5")
    assert "🔒 Your answers are anonymous" in first.text
    [response] = await responses(db)
    assert response.person_id is None


async def test_an_anonymous_cadre_survey_is_not_tied_to_the_cadre(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    survey = load_template("cadre_self_assessment").model_copy(update={"anonymous": True})
    at = datetime.now(UTC)
    async with db.transaction() as uow:
        await create_campaign(uow, survey=survey, unit_code="V1", code="pulse-v1",
                              opens_at=at - timedelta(minutes=1),
                              closes_at=at + timedelta(days=5), now=at, actor="test")
    cadre, _ = await linked_cadre(db, client, 9251, "V1", "Zhang Li")
    await cadre.send("/start pulse-v1")
    first = await cadre.wait_for_message("progress on your key tasks")
    assert "🔒 Your answers are anonymous" in first.text, "what it promises, it keeps"
    await answer_self_assessment(cadre)
    thanks = await tap_and_wait(cadre, "✅ Submit", "Submitted")
    assert "appraisal record" not in thanks.text
    await cadre.expect_no_message(within=0.5)  # no offer to follow: cadres' surveys
    [response] = await responses(db)
    assert response.status == ResponseStatus.COMPLETED and response.person_id is None
    assert await audit(db, "self_assessment.submit") == []


async def test_a_cadre_on_a_new_phone_continues_the_same_self_assessment(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    await self_assessment(db, code="self-v1", unit="V1")
    old_phone, person_id = await linked_cadre(db, client, 9241, "V1", "Zhang Li")
    await old_phone.send("/start self-v1")
    await old_phone.wait_for_message("progress on your key tasks")
    await tap_and_wait(old_phone, "4", "How many tasks")

    # The cadre gets a new phone; the admin hands over a fresh link for the profile.
    async with db.transaction() as uow:
        issued = await cadres.issue_invite(uow, person_id, actor="test", now=datetime.now(UTC),
                                           valid_for=timedelta(days=7))
    new_phone = await client.user(9242, "Zhang", language_code="en")
    await new_phone.send(f"/start {issued.payload}")
    await new_phone.wait_for_message("Welcome, Zhang Li!")

    # The old phone can no longer answer in the cadre's name, by button or by typing.
    await old_phone.send("7")
    await old_phone.tap("◀ Back")
    assert (await old_phone.wait_for_answer()).text, "refused with a pop-up"
    [response] = await responses(db)
    assert response.current_question == "tasks_completed", "nothing the old phone sent counted"

    # The new phone carries on where the cadre left off: the same response, not a second one.
    await new_phone.send("/start self-v1")
    await new_phone.wait_for_message("How many tasks")
    await new_phone.send("12")
    await new_phone.wait_for_message("What held your work back")
    await tap_and_wait(new_phone, "Too many reports, forms and meetings", "Would training help")
    await tap_and_wait(new_phone, "No", "Anything else")
    await tap_and_wait(new_phone, "Skip ▶", "Your answers")
    await tap_and_wait(new_phone, "✅ Submit", "Your self-assessment for")
    [response] = await responses(db)
    assert response.person_id == person_id and response.status == ResponseStatus.COMPLETED
    await new_phone.send("/start self-v1")
    await new_phone.wait_for_message("already")
