"""Admin commands in chat through the real Application, the sandbox and a real database:
/newcampaign, /campaigns, /campaign, /close, /remind, /entry, QR codes, roles and scopes."""

from __future__ import annotations

import inspect
import io
import re
import string
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from handlers.texts import catalogs
from sandbox import SandboxClient, SandboxUser
from sandbox.client import Message
from storage.models import (
    AdminDialogue,
    AuditEvent,
    Campaign,
    CampaignStatus,
    OutboxMessage,
    Response,
    ResponseStatus,
    Role,
)
from storage.uow import Database
from surveys.campaigns import commands, dialogue
from surveys.campaigns.admin import create_campaign
from surveys.fieldwork import invites
from surveys.people.roles import grant_role
from surveys.questionnaire.loader import load_template
from tests.e2e.conftest import Bot
from tests.e2e.test_resident_journey import answer_all, begin, tap_and_wait

pytestmark = pytest.mark.e2e

ADMIN = 7001
REFUSAL = "Sorry, this command is for admins only."
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


async def staff(
    client: SandboxClient, db: Database, user_id: int = ADMIN, unit: str | None = None,
    role: Role = Role.ADMIN, name: str = "Admin Liu",
) -> tuple[SandboxUser, int]:
    """A sandbox user holding ``role`` (scoped to ``unit``); returns the user and person id."""
    async with db.transaction() as uow:
        person, _ = await grant_role(uow, telegram_user_id=user_id, role=role, unit_code=unit,
                                     name=name, actor="test")
    return await client.user(user_id, name), person.id


async def add_campaign(db: Database, code: str, unit: str) -> None:
    at = datetime.now(UTC)
    async with db.transaction() as uow:
        await create_campaign(
            uow, survey=load_template("resident_satisfaction"), unit_code=unit, code=code,
            opens_at=at - timedelta(minutes=1), closes_at=at + timedelta(days=10), now=at,
            actor="test",
        )


async def subscribe(db: Database, user_id: int, unit: str, *, opted_out: bool = False,
                    unreachable: bool = False) -> None:
    async with db.transaction() as uow:
        contact = await uow.contacts.get_or_create(user_id, user_id)
        found = await uow.units.by_code(unit)
        assert found is not None
        await uow.subscriptions.add(contact.id, found.id)
        contact.opted_out, contact.unreachable = opted_out, unreachable


async def campaign(db: Database, code: str) -> Campaign | None:
    async with db.reading() as uow:
        return await uow.campaigns.by_code(code)


async def audit(db: Database, action: str) -> list[AuditEvent]:
    async with db.reading() as uow:
        rows = await uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
        return list(rows.all())


async def dialogue_step(db: Database, person_id: int) -> str | None:
    async with db.reading() as uow:
        row = await uow.session.get(AdminDialogue, person_id)
        return row.step if row is not None else None


async def step(user: SandboxUser, n: int) -> Message:
    """The dialogue's prompt at step ``n``, skipping an earlier prompt losing its buttons
    (that edit may come after the next action)."""
    while True:
        message = await user.wait_for_message(f"step {n} of 8")
        if message.buttons:
            return message


async def photo(user: SandboxUser, caption: str) -> bytes:
    """The next photo the bot sends whose caption contains ``caption``; its bytes."""
    message = await user.wait_for_message(caption)
    assert message.photo, f"expected a photo, got {message}"
    assert caption in (message.caption or "")
    return await user.download(message)


def assert_printable_qr(data: bytes) -> None:
    assert data.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.width == image.height >= 200


async def test_newcampaign_dialogue_creates_an_audited_campaign(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    for user_id in (8101, 8102, 8103):
        await client.user(user_id, f"Resident {user_id}")
    await subscribe(db, 8101, "V2")
    await subscribe(db, 8102, "V2", opted_out=True)
    await subscribe(db, 8103, "T1", unreachable=True)
    admin, person_id = await staff(client, db)

    await admin.send("/newcampaign")
    first = await step(admin, 1)
    assert "How was your service today? · residents" in first.button_texts
    assert "Self-assessment for this period · cadres" in first.button_texts
    await admin.tap("How was your service today? · residents")
    units = await step(admin, 2)
    assert units.message_id == first.message_id, "a tap turns the prompt into the next step"
    assert "Survey: How was your service today?" in units.text
    assert "Inside Riverside County" in units.text, "one unit at the top: open it straight away"
    assert units.buttons[0] == [("✓ Riverside County (all of it)",
                                 units.buttons[0][0][1])]
    assert [text for text, _ in units.buttons[1]] == ["North Township", "›"]
    await admin.tap("›")
    inside = await admin.wait_for_message("Inside North Township")
    assert {"Willow Village", "Pine Village", "▲ Up"} <= set(inside.button_texts)
    await admin.tap("Pine Village")
    audience = await step(admin, 3)
    assert "Unit: Pine Village" in audience.text
    await admin.tap("✓ Residents")
    await step(admin, 4)
    await admin.tap("Now, 14 days")
    await step(admin, 5)
    await admin.send("2d, 2h")  # typed rather than tapped
    recurrence = await step(admin, 6)
    assert "Reminders: 2d,2h before closing" in recurrence.text
    await admin.tap("Monthly")
    code = await step(admin, 7)
    suggested = f"v2-{datetime.now(UTC):%Y%m%d}"
    assert f"Use {suggested}" in code.button_texts
    await admin.send("pine-dec")
    confirm = await step(admin, 8)
    for line in ("Survey: How was your service today?", "Unit: Pine Village",
                 "Audience: residents", "Repeats: monthly", "Code: pine-dec"):
        assert line in confirm.text
    # Burden preview: who would be invited, who skipped and why, before confirming.
    assert ("Invitations when it opens: 1; 2 skipped: 1 opted out, 1 cannot be reached."
            in confirm.text)
    assert "0 recipients" not in confirm.text
    assert await campaign(db, "pine-dec") is None, "nothing is created before confirming"

    await admin.tap("✅ Create")
    created = await admin.wait_for_message("Campaign pine-dec created")
    assert "Campaign pine-dec created for Pine Village (open)" in created.text
    assert "?start=pine-dec" in created.text and created.button_texts == ["🔳 QR code"]

    stored = await campaign(db, "pine-dec")
    assert stored is not None
    assert stored.unit.code == "V2" and stored.status == CampaignStatus.OPEN
    assert stored.audience == "residents" and stored.timezone == "UTC"
    assert stored.reminders == [2 * 86400, 2 * 3600] and stored.recurrence == "monthly"
    assert stored.closes_at is not None
    assert stored.closes_at - stored.opens_at == timedelta(days=14)
    [event] = [e for e in await audit(db, "campaign.create") if e.entity_id == "pine-dec"]
    assert event.actor == f"person:{person_id}"
    assert event.after is not None and event.after["unit"] == "V2"
    assert await dialogue_step(db, person_id) is None, "the dialogue ends with the campaign"

    await admin.tap("🔳 QR code")
    assert_printable_qr(await photo(admin, "?start=pine-dec"))


async def test_cadres_skipped_by_the_budget_are_named_before_confirming(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    await staff(client, db, 8201, unit="V1", role=Role.CADRE, name="Zhang Li")
    await staff(client, db, 8202, unit="V1", role=Role.CADRE, name="Wang Fang")
    async with db.transaction() as uow:
        contact = await uow.contacts.by_user(8201)
        assert contact is not None
        contact.opted_out = True
    admin, _ = await staff(client, db)
    await admin.send("/newcampaign")
    await step(admin, 1)
    await admin.send("cadre_self_assessment")
    await step(admin, 2)
    await admin.send("V1")
    audience = await step(admin, 3)
    assert "written for cadres" in audience.text and "✓ Cadres" in audience.button_texts
    await admin.tap("Residents")
    mismatch = await step(admin, 3)
    assert "is written for cadres; it cannot go to anyone else" in mismatch.text
    await admin.tap("✓ Cadres")
    await step(admin, 4)
    await admin.send("now 7d")
    await step(admin, 5)
    await admin.tap("None")
    await step(admin, 6)
    await admin.tap("No, just once")
    await step(admin, 7)
    await admin.send("cadres-v1")
    confirm = await step(admin, 8)
    assert "Invitations when it opens: 1; 1 skipped: 1 opted out (Zhang Li)." in confirm.text
    assert "Wang Fang" not in confirm.text


async def test_a_broadcast_to_nobody_is_flagged_but_may_be_created(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    admin, _ = await staff(client, db)
    await admin.send("/newcampaign")
    await step(admin, 1)
    await admin.send("resident_satisfaction")
    await step(admin, 2)
    await admin.send("V2")
    await step(admin, 3)
    await admin.send("residents")
    await step(admin, 4)
    await admin.tap("Now, 7 days")
    await step(admin, 5)
    await admin.tap("1d")
    await step(admin, 6)
    await admin.send("none")
    await step(admin, 7)
    await admin.tap(f"Use v2-{datetime.now(UTC):%Y%m%d}")
    confirm = await step(admin, 8)
    assert "Invitations when it opens: 0; nobody is skipped." in confirm.text
    assert "broadcast to 0 recipients" in confirm.text and "link or QR code" in confirm.text
    await admin.tap("✅ Create")
    created = await admin.wait_for_message("✅ Campaign")
    assert "Nobody will be invited (0 recipients)" in created.text
    assert await campaign(db, f"v2-{datetime.now(UTC):%Y%m%d}") is not None


async def test_bad_input_keeps_the_dialogue_at_its_step(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    admin, person_id = await staff(client, db)
    await admin.send("/newcampaign")
    await step(admin, 1)
    await admin.send("satisfaction please")
    assert "There is no survey “satisfaction please”" in (await step(admin, 1)).text
    await admin.send("resident_satisfaction")
    await step(admin, 2)

    await admin.send("ZZ9")
    unknown = await step(admin, 2)
    assert "There is no unit with the code “ZZ9”" in unknown.text
    assert await dialogue_step(db, person_id) == "unit"
    await admin.send("v1")  # codes are matched without regard to case
    await step(admin, 3)
    await admin.tap("✓ Residents")
    await step(admin, 4)

    await admin.send("2020-01-01 2020-01-15")
    past = await step(admin, 4)
    assert "The opening time 2020-01-01 00:00 UTC is in the past" in past.text
    today = datetime.now(UTC).date()
    later, sooner = today + timedelta(days=20), today + timedelta(days=10)
    await admin.send(f"{later} {sooner}")
    misordered = await step(admin, 4)
    assert "is not after the opening time" in misordered.text
    await admin.send("now 3d Mars/Olympus")
    assert "I do not know the time zone “Mars/Olympus”" in (await step(admin, 4)).text
    assert await dialogue_step(db, person_id) == "dates"
    await admin.send("Asia/Shanghai")
    zoned = await step(admin, 4)
    assert "Times are in Asia/Shanghai" in zoned.text
    await admin.send("now 3d")
    await step(admin, 5)
    await admin.send("5d")
    outside = await step(admin, 5)
    assert "would come before the campaign opens" in outside.text
    await admin.tap("None")
    await step(admin, 6)

    await admin.send("61 25 * * *")
    cron = await step(admin, 6)
    assert "“61 25 * * *” is not a cron expression I can read" in cron.text
    assert await dialogue_step(db, person_id) == "recurrence"
    await admin.send("0 9 1 * *")
    await step(admin, 7)

    await admin.send("willow")
    assert "The code “willow” is already taken" in (await step(admin, 7)).text
    await admin.send("a")
    assert "The code “a” cannot be used" in (await step(admin, 7)).text
    await admin.send("willow-two")
    confirm = await step(admin, 8)
    assert "Repeats: cron 0 9 1 * *" in confirm.text
    assert "Asia/Shanghai" in confirm.text
    await admin.send("yes")
    assert "Please tap one of the buttons" in (await step(admin, 8)).text

    await admin.send("/cancel")
    await admin.wait_for_message("New campaign cancelled; nothing was created.")
    assert await dialogue_step(db, person_id) is None
    assert await campaign(db, "willow-two") is None
    # With the dialogue gone, text and /cancel are the resident journey's again.
    await admin.send("hello")
    await admin.wait_for_message("You are not answering a poll right now")
    await admin.send("/cancel")
    await admin.wait_for_message("There is nothing to cancel")


async def test_a_stale_dialogue_button_is_refused(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    admin, person_id = await staff(client, db)
    await admin.send("/newcampaign")
    first = await step(admin, 1)
    old_survey = first.callback_data("How was your service today? · residents")
    assert old_survey is not None
    await admin.tap("How was your service today? · residents")
    units = await step(admin, 2)
    await admin.tap_data(units.message_id, old_survey)
    toast = await admin.wait_for_answer()
    assert "no longer active" in toast.text
    assert await dialogue_step(db, person_id) == "unit", "the stale tap changed nothing"

    # A button of an earlier dialogue is refused too, even at the same step and version.
    await admin.send("/newcampaign")
    again = await step(admin, 1)
    assert again.callback_data("How was your service today? · residents") != old_survey
    await admin.tap_data(again.message_id, old_survey)
    assert "no longer active" in (await admin.wait_for_answer()).text
    assert await dialogue_step(db, person_id) == "survey"
    retired = next(m for m in await admin.bot_messages() if m.message_id == units.message_id)
    assert retired.buttons == [], "the earlier dialogue's prompt loses its buttons"
    for forged in ("d:zz:1:s0", "d:abcdef:0:s99"):
        await admin.tap_data(again.message_id, forged)
        await admin.wait_for_answer()
    assert await dialogue_step(db, person_id) == "survey"


async def test_the_dialogue_survives_a_restart(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    admin, person_id = await staff(client, db)
    await admin.send("/newcampaign")
    await step(admin, 1)
    await admin.tap("How was your service today? · residents")
    await step(admin, 2)
    await bot.restart()
    await admin.tap("›")
    await admin.wait_for_message("Inside North Township")
    await admin.tap("Willow Village")
    await step(admin, 3)
    await bot.restart()
    await admin.send("residents")
    await step(admin, 4)
    assert await dialogue_step(db, person_id) == "dates"


async def test_campaigns_and_campaign_for_an_admin(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    await add_campaign(db, "county", "C1")
    resident = await client.user(8301, "Chen")
    await answer_all(resident)
    await tap_and_wait(resident, "✅ Submit", "Thank you")
    admin, _ = await staff(client, db)

    await admin.send("/campaigns")
    listing = await admin.wait_for_message("Campaigns")
    assert "(2)" in listing.text
    assert "willow · open · Willow Village · 1/1 · closes" in listing.text
    assert "county · open · Riverside County · 0/0" in listing.text

    await admin.send("/campaign willow")
    report = await admin.wait_for_message("Responses")
    assert "Riverside County › North Township › Willow Village" in report.text
    assert "Responses: 1 completed of 1 started (completion rate 100%)" in report.text
    # 1.96 · sqrt(0.25 / 1), corrected for a population of 1,200: ±98.0 points.
    assert "Margin of error at 95%: ±98.0 percentage points" in report.text
    assert "Time left: 29 d 23 h" in report.text
    assert "Invitations: none queued yet" in report.text
    assert "Completed by entry point: main link: 1" in report.text
    assert "?start=willow" in report.text
    assert report.button_texts == ["🔳 QR code", "🔔 Remind", "⏹ Close"]
    await admin.tap("🔳 QR code")
    assert_printable_qr(await photo(admin, "?start=willow"))

    await admin.send("/campaign nosuch")
    await admin.wait_for_message("I found no campaign “nosuch”")
    await admin.send("/campaign")
    await admin.wait_for_message("Usage: /campaign CODE")


async def test_a_scoped_admin_sees_and_acts_only_within_their_units(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    await add_campaign(db, "county", "C1")
    admin, _ = await staff(client, db, unit="T1", name="Township admin")

    await admin.send("/campaigns")
    listing = await admin.wait_for_message("Campaigns")
    assert "willow" in listing.text and "county" not in listing.text
    for command in ("/campaign county", "/close county", "/remind county",
                    "/entry county w1"):
        await admin.send(command)
        refusal = await admin.wait_for_message("I found no campaign “county”")
        assert refusal.buttons == []
    # Out of scope reads exactly like unknown: no hint that the code exists elsewhere.
    await admin.send("/campaign elsewhere")
    unknown = await admin.wait_for_message("I found no campaign")
    assert unknown.text == refusal.text.replace("county", "elsewhere")
    await admin.tap_data(listing.message_id, "a:C:county")
    assert "I found no campaign" in (await admin.wait_for_answer()).text
    county = await campaign(db, "county")
    assert county is not None and county.status == CampaignStatus.OPEN

    await admin.send("/newcampaign")
    await step(admin, 1)
    await admin.tap("How was your service today? · residents")
    units = await step(admin, 2)
    assert "Inside North Township" in units.text and "Riverside County" not in units.text
    await admin.send("C1")
    outside = await step(admin, 2)
    assert "Riverside County is outside the units you administer" in outside.text
    await admin.send("V2")
    await step(admin, 3)


async def test_residents_and_auditors_are_refused_plainly(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    resident = await client.user(8401, "Sun")
    for command in ("/campaigns", "/campaign willow", "/campaign nosuch", "/campaign",
                    "/newcampaign", "/close willow", "/close", "/remind willow",
                    "/entry willow w1", "/entry"):
        await resident.send(command)
        reply = await resident.wait_for_message()
        assert reply.text == REFUSAL, command
    for forged in ("a:q:willow", "a:C:willow", "a:R:willow", "a:x:willow",
                   "d:abcdef:0:s0"):
        await resident.tap_data(reply.message_id, forged)
        toast = await resident.wait_for_answer()
        assert toast.text == REFUSAL and toast.show_alert, forged
    await resident.expect_no_message()
    willow = await campaign(db, "willow")
    assert willow is not None and willow.status == CampaignStatus.OPEN
    assert await audit(db, "campaign.close") == []
    # Their ordinary messages still reach the resident journey.
    await begin(resident)

    auditor, _ = await staff(client, db, 8402, role=Role.AUDITOR, name="Auditor Hu")
    await auditor.send("/campaigns")
    await auditor.wait_for_message("willow")
    await auditor.send("/campaign willow")
    report = await auditor.wait_for_message("Responses")
    assert report.button_texts == ["🔳 QR code"], "an auditor reads, and cannot act"
    for command in ("/close willow", "/remind willow", "/newcampaign"):
        await auditor.send(command)
        assert (await auditor.wait_for_message()).text == REFUSAL


async def test_close_asks_to_confirm_and_is_audited(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    admin, person_id = await staff(client, db)
    await admin.send("/close willow")
    ask = await admin.wait_for_message("Close willow (Willow Village) now?")
    assert ask.button_texts == ["⏹ Close it now", "✖ Keep it open"]
    await admin.tap("✖ Keep it open")
    await admin.wait_for_message("Nothing changed")
    willow = await campaign(db, "willow")
    assert willow is not None and willow.status == CampaignStatus.OPEN

    await admin.send("/campaign willow")
    await admin.wait_for_message("Responses")
    await admin.tap("⏹ Close")
    await admin.wait_for_message("Close willow (Willow Village) now?")
    await admin.tap("⏹ Close it now")
    done = await admin.wait_for_message("is closed")
    assert done.buttons == []
    willow = await campaign(db, "willow")
    assert willow is not None and willow.status == CampaignStatus.CLOSED
    [event] = await audit(db, "campaign.close")
    assert event.actor == f"person:{person_id}" and event.entity_id == "willow"
    assert event.before == {"status": "open"} and event.after is not None
    assert event.after["status"] == "closed"

    await admin.send("/close willow")
    await admin.wait_for_message("Campaign willow is already closed.")
    await admin.send("/campaign willow")
    closed = await admin.wait_for_message("Responses")
    assert "Closed " in closed.text and closed.button_texts == ["🔳 QR code"]


async def test_remind_refuses_a_broadcast_to_nobody_and_queues_otherwise(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    admin, person_id = await staff(client, db)
    await admin.send("/remind willow")
    nobody = await admin.wait_for_message("Nobody to remind for willow")
    assert "broadcast to 0 recipients" in nobody.text and nobody.buttons == []

    resident = await client.user(8501, "Lin")
    await begin(resident)  # started, not finished: a reminder is due
    await admin.send("/remind willow")
    ask = await admin.wait_for_message("reminders to send: 1")
    assert "nobody is skipped" in ask.text
    await admin.tap("🔔 Send reminders")
    await admin.wait_for_message("Reminders queued: 1")
    async with db.reading() as uow:
        kinds = list(await uow.session.scalars(select(OutboxMessage.kind)))
    assert kinds == ["remind:now1"]
    [event] = await audit(db, "campaign.remind")
    assert event.actor == f"person:{person_id}"
    await admin.send("/remind willow")
    await admin.wait_for_message("reminders to send: 1")
    await admin.tap("🔔 Send reminders")
    assert "the next can go after" in (await admin.wait_for_answer()).text


async def test_entry_points_have_their_own_link_and_qr_code(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    admin, person_id = await staff(client, db)
    await admin.send("/entry willow window3 Service window 3")
    added = await admin.wait_for_message("Entry point")
    assert "window3 (Service window 3)" in added.text
    assert "?start=willow--window3" in added.text
    assert_printable_qr(await photo(admin, "?start=willow--window3"))
    [event] = await audit(db, "entry_point.create")
    assert event.actor == f"person:{person_id}"

    await admin.send("/entry willow window3")
    await admin.wait_for_message("already has an entry point “window3”")
    await admin.send("/entry willow no-dashes!")
    await admin.wait_for_message("cannot be used")

    resident = await client.user(8601, "Qian")
    await resident.send("/start willow--window3")
    await resident.wait_for_message("1/5")
    for button, expect in (("5", "2/5"), ("Yes", "3/5"), ("5", "4/5"), ("5", "5/5")):
        await tap_and_wait(resident, button, expect)
    await tap_and_wait(resident, "Skip ▶", "Your answers")
    await tap_and_wait(resident, "✅ Submit", "Thank you")
    async with db.reading() as uow:
        [response] = (await uow.session.scalars(select(Response))).all()
    assert response.entry_point == "window3" and response.status == ResponseStatus.COMPLETED

    await admin.send("/campaign willow")
    report = await admin.wait_for_message("Responses")
    assert "Completed by entry point: window3: 1" in report.text
    assert "• window3 (Service window 3): https://" in report.text


def test_every_admin_text_is_in_both_languages_with_the_same_parameters() -> None:
    english, chinese = catalogs()["en"], catalogs()["zh"]
    for key in (key for key in english if key.startswith("admin.")):
        entry = {"en": english[key], "zh": chinese[key]}
        fields = [{name for _, name, _, _ in string.Formatter().parse(entry[lang]) if name}
                  for lang in ("en", "zh")]
        assert fields[0] == fields[1], key
    source = "".join(inspect.getsource(module) for module in (dialogue, commands, invites))
    errors = set(re.findall(r'InputError\("([a-z_]+)"', source))
    refusals = set(re.findall(r'Refused\("([a-z_]+)"', source))
    assert errors and refusals
    for key in errors:
        assert f"admin.err.{key}" in english, key
    for key in refusals:
        assert f"admin.{key}" in english, key
