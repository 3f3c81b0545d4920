"""On-the-spot inspections through the real Application, the sandbox and a real database:
/inspect with photo and location evidence, the unit as a whole, far locations, /inspections,
and every bad input: over-long remarks, bad files, people who are not inspectors, units
outside the scope or the inspector's own, stale and forged buttons, a restart midway."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import string
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from bot.settings import EvidenceSection, InspectionsSection
from handlers.texts import catalogs
from sandbox import BotApiSandbox, SandboxClient, SandboxUser
from sandbox.client import Message
from sandbox.media import png_bytes
from storage.models import (
    AdminDialogue,
    AuditEvent,
    Base,
    Evidence,
    Inspection,
    Role,
    Verdict,
)
from storage.uow import Database
from surveys.fieldwork.inspections import choice_data, parse_choice
from surveys.people.roles import grant_role
from tests.conftest import seed_campaign
from tests.e2e.conftest import Bot, Clock
from tests.e2e.fieldwork import make_cadre, make_inspector, set_unit_centre

pytestmark = pytest.mark.e2e

INSPECTOR = 9301
PHOTO_LIMIT = 64 * 1024
MAX_PHOTOS = 3
REMARK_LIMIT = 80
# Willow Village (V1): a centre with a 1.5 km area; a point 0.3 km away and one about 33 km.
WILLOW = (30.072, 120.025)
NEAR = (30.075, 120.025)
FAR = (30.27, 120.15)
NOT_AN_INSPECTOR = "Sorry, /inspect and /inspections are for inspectors."


@pytest.fixture
async def bot(sandbox: BotApiSandbox, db: Database, clock: Clock,
              tmp_path: Path) -> AsyncIterator[Bot]:
    """The usual harness, with evidence kept under the test's own var/ and small limits, and
    Willow Village's centre, two of its cadres with key tasks."""
    await seed_campaign(db)
    await set_unit_centre(db, "V1", *WILLOW, radius_km=1.5)
    await make_cadre(db, 9201, "V1", "Wang Fang", ["Road repair", "River bank"])
    await make_cadre(db, 9202, "V1", "Li Ming", ["Office hours"])
    harness = Bot(sandbox, db, clock)
    harness.settings = harness.settings.model_copy(update={
        "var_dir": tmp_path / "var",
        "evidence": EvidenceSection(max_photo_bytes=PHOTO_LIMIT, max_photos=MAX_PHOTOS),
        "inspections": InspectionsSection(remark_max_length=REMARK_LIMIT),
    })
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def inspector(client: SandboxClient, db: Database, user_id: int = INSPECTOR,
                    unit: str | None = "C1", name: str = "Inspector Zhou",
                    ) -> tuple[SandboxUser, int]:
    person_id = await make_inspector(db, user_id, unit, name)
    return await client.user(user_id, name), person_id


async def prompt(user: SandboxUser, contains: str = "Inspection") -> Message:
    """The dialogue's newest prompt (skipping an older one losing its buttons)."""
    while True:
        message = await user.wait_for_message(contains)
        if message.buttons:
            return message


def noise_png(side: int) -> bytes:
    """A real PNG that does not compress: about 3 bytes a pixel."""
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


async def inspections_of(db: Database, person_id: int) -> list[Inspection]:
    async with db.reading() as uow:
        rows = await uow.session.scalars(
            select(Inspection).where(Inspection.inspector_id == person_id)
            .order_by(Inspection.id))
        return list(rows.all())


async def audit(db: Database, action: str) -> list[AuditEvent]:
    async with db.reading() as uow:
        rows = await uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        return list(rows.all())


async def count(db: Database, model: type[Base]) -> int:
    async with db.reading() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(model)) or 0)


async def dialogue_of(db: Database, person_id: int) -> AdminDialogue | None:
    async with db.reading() as uow:
        return await uow.session.get(AdminDialogue, person_id)


async def recorded(db: Database, person_id: int, message_id: int) -> AdminDialogue:
    """The dialogue once it has noted ``message_id`` as its prompt."""
    for _ in range(200):
        dialogue = await dialogue_of(db, person_id)
        if dialogue is not None and dialogue.data.get("msg") == message_id:
            return dialogue
        await asyncio.sleep(0.05)
    raise AssertionError(f"the prompt {message_id} was never noted")


async def unit_id(db: Database, code: str) -> int:
    async with db.reading() as uow:
        unit = await uow.units.by_code(code)
        assert unit is not None
        return unit.id


def forge(message: Message, choice: str) -> str:
    """Button data for ``choice`` on the prompt's own nonce and version: what a modified
    client could send."""
    data = next(d for row in message.buttons for _, d in row if d and d.startswith("k:"))
    parsed = parse_choice(data)
    assert parsed is not None
    return choice_data(parsed[0], parsed[1], choice)


# --- recording ------------------------------------------------------------------------------


async def test_inspecting_a_cadres_task_with_a_photo_and_a_location(
    bot: Bot, client: SandboxClient, db: Database, tmp_path: Path,
) -> None:
    user, person_id = await inspector(client, db)
    image = png_bytes(64, 48)
    await user.send("/inspect V1")
    who = await prompt(user, "Inspection · who")
    assert "Unit: Willow Village" in who.text
    assert who.button_texts == ["Li Ming", "Wang Fang", "🏢 The unit as a whole", "◀ Back",
                                "✖ Cancel"]
    await user.tap("Wang Fang")
    task = await prompt(user, "Inspection · key task")
    assert task.message_id == who.message_id, "a tap turns the prompt into the next step"
    assert task.button_texts[:3] == ["Road repair", "River bank", "General / no specific task"]
    await user.tap("Road repair")
    await prompt(user, "Inspection · verdict")
    await user.tap("🟡 Partly")
    remark = await prompt(user, "Inspection · remark")
    assert f"up to {REMARK_LIMIT} characters" in remark.text
    await user.send("East half paved; the west half is still gravel.")
    evidence = await prompt(user, "evidence and save")
    assert "Remark: East half paved" in evidence.text
    await user.send_photo(image)
    with_photo = await prompt(user, "Photo kept (1 of at most 3)")
    assert "Photos: 1" in with_photo.text
    await user.send_location(*NEAR)
    located = await prompt(user, "Location kept: 0.3 km from the centre of Willow Village")
    assert "inside its 1.5 km ✓" in located.text
    await user.tap("💾 Save")
    saved = await user.wait_for_message("saved at")
    assert saved.message_id == located.message_id and not saved.buttons
    assert "Cadre: Wang Fang" in saved.text and "Key task: Road repair" in saved.text
    assert "Verdict: 🟡 Partly" in saved.text

    [inspection] = await inspections_of(db, person_id)
    assert inspection.unit_id == await unit_id(db, "V1")
    assert inspection.verdict == Verdict.PARTLY
    assert inspection.remark == "East half paved; the west half is still gravel."
    assert inspection.far_from_unit is False
    assert inspection.distance_km == pytest.approx(0.334, abs=0.01)
    async with db.reading() as uow:
        [kept] = (await uow.evidence.of_inspections([inspection.id]))[inspection.id]
    digest = hashlib.sha256(image).hexdigest()
    assert kept.sha256 == digest and kept.person_id == person_id
    stored = tmp_path / "var" / "evidence" / kept.path
    assert stored.read_bytes() == image and stored.name.startswith(digest)
    [event] = await audit(db, "inspection.record")
    assert event.actor == f"person:{person_id}" and event.entity_id == str(inspection.id)
    after = event.after or {}
    assert [e["sha256"] for e in after["evidence"]] == [digest]
    assert after["verdict"] == "partly" and after["cadre"] == "Wang Fang"
    assert after["task"] == "Road repair" and after["far_from_unit"] is False
    assert (after["latitude"], after["longitude"]) == NEAR
    assert await dialogue_of(db, person_id) is None

    await user.send("/inspections")
    listing = await user.wait_for_message("Your latest inspections")
    assert f"#{inspection.id}" in listing.text and "Willow Village" in listing.text
    assert "Wang Fang · Road repair" in listing.text and "1 photo(s)" in listing.text


async def test_the_unit_as_a_whole_chosen_from_the_unit_list(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    user, person_id = await inspector(client, db)
    await user.send("/inspect")
    units = await prompt(user, "Inspection · unit")
    assert "Inside Riverside County" in units.text
    assert units.buttons[0][0][0] == "✓ Riverside County itself"
    assert [text for text, _ in units.buttons[1]] == ["North Township", "›"]
    await user.tap("›")
    inside = await prompt(user, "Inside North Township")
    assert {"Willow Village", "Pine Village", "▲ Up"} <= set(inside.button_texts)
    await user.tap("Pine Village")
    # Pine Village has no cadres: the unit as a whole, no specific task, on to the verdict.
    verdict = await prompt(user, "Inspection · verdict")
    assert "Subject: the unit as a whole" in verdict.text
    assert "Key task: general, no specific task" in verdict.text
    await user.tap("✅ Achieved")
    await prompt(user, "Inspection · remark")
    await user.send("Street lights all working.")
    await prompt(user, "evidence and save")
    await user.tap("💾 Save")
    await user.wait_for_message("saved at")
    [inspection] = await inspections_of(db, person_id)
    assert inspection.unit_id == await unit_id(db, "V2")
    assert (inspection.cadre_id, inspection.task_id) == (None, None)
    assert inspection.latitude is None and inspection.far_from_unit is None


async def test_a_whole_unit_inspection_of_one_of_its_cadres_tasks(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    user, person_id = await inspector(client, db)
    await user.send("/inspect v1")
    await prompt(user, "Inspection · who")
    await user.tap("🏢 The unit as a whole")
    tasks = await prompt(user, "Inspection · key task")
    assert {"Road repair · Wang Fang", "River bank · Wang Fang",
            "Office hours · Li Ming"} <= set(tasks.button_texts)
    await user.tap("Office hours · Li Ming")
    await prompt(user, "Inspection · verdict")
    await user.tap("❌ Not achieved")
    await prompt(user, "Inspection · remark")
    await user.send("Office closed at the posted hours.")
    await prompt(user, "evidence and save")
    await user.tap("💾 Save")
    await user.wait_for_message("saved at")
    [inspection] = await inspections_of(db, person_id)
    assert inspection.cadre_id is None and inspection.task_id is not None
    assert inspection.verdict == Verdict.NOT_ACHIEVED


async def test_a_location_far_from_the_unit_is_accepted_flagged_and_told(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    user, person_id = await inspector(client, db)
    await user.send("/inspect V1")
    await prompt(user, "Inspection · who")
    await user.send_location(*FAR)
    far = await prompt(user, "Location kept, but it is")
    assert "km from the centre of Willow Village, outside its area (1.5 km)" in far.text
    assert "flagged" in far.text
    await user.tap("🏢 The unit as a whole")
    await prompt(user, "Inspection · key task")
    await user.tap("General / no specific task")
    await prompt(user, "Inspection · verdict")
    await user.tap("❌ Not achieved")
    await prompt(user, "Inspection · remark")
    await user.send("Could not reach the site.")
    summary = await prompt(user, "evidence and save")
    assert "outside its 1.5 km (flagged)" in summary.text
    await user.tap("💾 Save")
    await user.wait_for_message("saved at")
    [inspection] = await inspections_of(db, person_id)
    assert inspection.far_from_unit is True
    assert inspection.distance_km is not None and 25 < inspection.distance_km < 35
    [event] = await audit(db, "inspection.record")
    assert (event.after or {})["far_from_unit"] is True
    await user.send("/inspections")
    listing = await user.wait_for_message("Your latest inspections")
    assert "⚠️" in listing.text and "km from the unit" in listing.text


# --- bad input ------------------------------------------------------------------------------


async def test_an_over_long_remark_is_refused_and_sent_back_whole(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    user, person_id = await inspector(client, db)
    await user.send("/inspect V2")
    await prompt(user, "Inspection · verdict")
    await user.tap("✅ Achieved")
    await prompt(user, "Inspection · remark")
    long = "Checked every lamp on the main road; " * 3
    await user.send(long)
    refused = await prompt(user, "the limit is 80")
    assert f"That remark is {len(long.strip())} characters" in refused.text
    assert "Inspection · remark" in refused.text, "still at the remark step"
    echo = await user.wait_for_message()
    assert echo.text == long.strip(), "the text comes back whole, for editing"
    draft = await dialogue_of(db, person_id)
    assert draft is not None and "remark" not in draft.data
    await user.send("Checked every lamp on the main road: all work.")
    await prompt(user, "evidence and save")
    await user.tap("💾 Save")
    await user.wait_for_message("saved at")
    [inspection] = await inspections_of(db, person_id)
    assert inspection.remark == "Checked every lamp on the main road: all work."


async def test_non_image_and_oversized_files_are_refused(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    user, person_id = await inspector(client, db)
    await user.send("/inspect V1")
    await prompt(user, "Inspection · who")
    await user.send_document(b"%PDF-1.4 not a photo", "report.pdf")
    refused = await prompt(user, "not a photo I can read")
    assert "Inspection · who" in refused.text, "the step is unchanged"
    await user.send_document(b"\x89PNG\r\n\x1a\n but not really", "fake.png", "image/png")
    await prompt(user, "not a photo I can read")
    big = noise_png(200)
    assert len(big) > PHOTO_LIMIT
    await user.send_photo(big)
    await prompt(user, "That file is too large: photos up to 0.0625 MB")
    assert await count(db, Evidence) == 0
    for n in range(MAX_PHOTOS):
        await user.send_photo(png_bytes(8 + n, 8))
        await prompt(user, f"Photo kept ({n + 1} of at most {MAX_PHOTOS})")
    await user.send_photo(png_bytes(20, 20))
    await prompt(user, f"An inspection keeps at most {MAX_PHOTOS} photos")
    assert await count(db, Evidence) == MAX_PHOTOS
    assert not await inspections_of(db, person_id)


async def test_residents_strangers_cadres_and_admins_are_told_it_is_for_inspectors(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    resident = await client.user(9401, "Resident")
    await resident.send("/start willow")
    await resident.wait_for_message()
    stranger = await client.user(9402, "Stranger")
    cadre = await client.user(9201, "Wang Fang")
    async with db.transaction() as uow:
        await grant_role(uow, telegram_user_id=9403, role=Role.ADMIN, unit_code=None,
                         name="Admin Liu", actor="test")
    admin = await client.user(9403, "Admin Liu")
    for user in (resident, stranger, cadre, admin):
        for command in ("/inspect", "/inspect V1", "/inspections"):
            await user.send(command)
            reply = await user.wait_for_message()
            assert reply.text.startswith(NOT_AN_INSPECTOR), (user, command, reply.text)
            assert not reply.buttons
    assert await count(db, Inspection) == 0 and await count(db, AdminDialogue) == 0


async def test_a_scoped_inspector_cannot_reach_outside_their_scope(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    user, person_id = await inspector(client, db, unit="V1", name="Inspector Sun")
    await user.send("/inspect V2")
    refused = await user.wait_for_message("outside the area you inspect")
    assert "Pine Village" in refused.text and not refused.buttons
    assert await dialogue_of(db, person_id) is None
    await user.send("/inspect")
    units = await prompt(user, "Inspection · unit")
    assert units.button_texts == ["✓ Willow Village itself", "✖ Cancel"]
    await user.tap_data(units.message_id, forge(units, f"u{await unit_id(db, 'V2')}"))
    forged = await prompt(user, "outside the area you inspect")
    assert "Pine Village" in forged.text
    await user.tap_data(forged.message_id, forge(forged, f"n{await unit_id(db, 'C1')}"))
    await prompt(user, "outside the area you inspect")
    draft = await dialogue_of(db, person_id)
    assert draft is not None and draft.step == "unit" and "unit_id" not in draft.data
    assert await count(db, Inspection) == 0


async def test_a_cadre_who_is_also_an_inspector_cannot_inspect_their_own_unit(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    # Wang Fang is a cadre of Willow Village and an inspector for the whole county.
    person_id = await make_inspector(db, 9201, "C1", "Wang Fang")
    user = await client.user(9201, "Wang Fang")
    await user.send("/inspect V1")
    refused = await user.wait_for_message("You are a cadre of Willow Village")
    assert "nobody verifies their own unit" in refused.text and not refused.buttons
    assert await dialogue_of(db, person_id) is None
    await user.send("/inspect")
    units = await prompt(user, "Inspection · unit")
    await user.tap("›")
    await prompt(user, "Inside North Township")
    await user.tap("Willow Village")
    again = await prompt(user, "You are a cadre of Willow Village")
    assert "Inspection · unit" in again.text, "nothing moved on"
    assert units.message_id == again.message_id
    assert await count(db, Inspection) == 0 and not await audit(db, "inspection.record")
    # The township above their village is not theirs to answer for.
    await user.tap("✓ North Township itself")
    await prompt(user, "Inspection · verdict")


async def test_stale_and_forged_buttons_change_nothing(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    user, person_id = await inspector(client, db)
    await user.send("/inspect V1")
    who = await prompt(user, "Inspection · who")
    wang = who.callback_data("Wang Fang")
    assert wang is not None
    await user.tap("🏢 The unit as a whole")
    task = await prompt(user, "Inspection · key task")
    # The prompt's message id is recorded just after it is sent: compare from there.
    before = await recorded(db, person_id, task.message_id)
    await user.tap_data(who.message_id, wang)
    assert "no longer active" in (await user.wait_for_answer()).text
    for garbage in ("k:zzzzzz:1:w", "k:" + "a" * 70, "k:abcdef:1:c1;x"):
        await user.tap_data(who.message_id, garbage)
        assert (await user.wait_for_answer()).text == "This button is not valid."
    after = await dialogue_of(db, person_id)
    assert before is not None and after is not None
    assert (after.step, after.version, after.data) == (before.step, before.version, before.data)
    await user.send("/cancel")
    await user.wait_for_message("Inspection cancelled. Nothing was recorded.")
    await user.tap_data(who.message_id, wang)
    assert "no longer active" in (await user.wait_for_answer()).text
    assert await dialogue_of(db, person_id) is None and await count(db, Inspection) == 0


async def test_a_restart_mid_dialogue_loses_nothing(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    user, person_id = await inspector(client, db)
    await user.send("/inspect V1")
    await prompt(user, "Inspection · who")
    await user.tap("Li Ming")
    await prompt(user, "Inspection · key task")
    await user.tap("Office hours")
    await prompt(user, "Inspection · verdict")
    await user.send_photo(png_bytes(16, 16))
    verdict = await prompt(user, "Photo kept (1 of at most 3)")
    await bot.restart()
    await user.tap("✅ Achieved", verdict.message_id)
    await prompt(user, "Inspection · remark")
    await bot.restart()
    await user.send("Office open, visitors' book kept.")
    await prompt(user, "evidence and save")
    await user.tap("◀ Back")
    back = await prompt(user, "Inspection · remark")
    assert back.has_button("Keep this remark")
    await user.tap("Keep this remark")
    await prompt(user, "evidence and save")
    await user.tap("💾 Save")
    saved = await user.wait_for_message("saved at")
    assert "Cadre: Li Ming" in saved.text and "Photos: 1" in saved.text
    [inspection] = await inspections_of(db, person_id)
    assert inspection.remark == "Office open, visitors' book kept."
    assert await count(db, Evidence) == 1


async def test_text_outside_the_dialogue_is_left_to_the_other_handlers(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    user, _ = await inspector(client, db)
    await user.send("/inspect V1")
    await prompt(user, "Inspection · who")
    await user.tap("✖ Cancel")
    await user.wait_for_message("Inspection cancelled")
    await user.send("hello")
    reply = await user.wait_for_message()
    assert "Inspection" not in reply.text, "plain text is not taken as a remark"
    assert await count(db, Inspection) == 0


async def test_redelivered_updates_are_handled_once(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    user, person_id = await inspector(client, db)
    await user.send("/inspect V2")
    await prompt(user, "Inspection · verdict")
    sent = await user.send_photo(png_bytes(12, 12))
    await prompt(user, "Photo kept (1 of at most 3)")
    await client.redeliver(sent.update_id)
    await user.tap("✅ Achieved")
    await prompt(user, "Inspection · remark")
    await user.send("All good.")
    await prompt(user, "evidence and save")
    save = await user.tap("💾 Save")
    await user.wait_for_message("saved at")
    await client.redeliver(save.update_id)
    await user.expect_no_message(0.5)
    [inspection] = await inspections_of(db, person_id)
    assert await count(db, Evidence) == 1
    assert len(await audit(db, "inspection.record")) == 1
    async with db.reading() as uow:
        assert len((await uow.evidence.of_inspections([inspection.id]))[inspection.id]) == 1


async def test_chinese_speakers_get_chinese(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    stranger = await client.user(9501, "陌生人", language_code="zh")
    await stranger.send("/inspect")
    assert (await stranger.wait_for_message()).text.startswith("抱歉，/inspect 和 /inspections")
    await make_inspector(db, 9502, "C1", "周督查")
    user = await client.user(9502, "周督查", language_code="zh")
    await user.send("/inspect V1")
    who = await prompt(user, "实地核查")
    assert "核查对象是哪位干部，还是整个单位？" in who.text
    assert "🏢 整个单位" in who.button_texts


def test_every_inspector_text_has_both_languages_with_the_same_parameters() -> None:
    fields = string.Formatter()
    english, chinese = catalogs()["en"], catalogs()["zh"]
    for key in (key for key in english if key.startswith("inspect.")):
        entry = {"en": english[key], "zh": chinese[key]}
        names = [{name for _, name, _, _ in fields.parse(entry[lang]) if name}
                 for lang in ("en", "zh")]
        assert names[0] == names[1], key


async def test_an_album_of_photos_at_once_is_kept_whole(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    user, person_id = await inspector(client, db)
    await user.send("/inspect V2")
    await prompt(user, "Inspection · verdict")
    await asyncio.gather(*(user.send_photo(png_bytes(10 + n, 10)) for n in range(MAX_PHOTOS)))
    await prompt(user, f"Photo kept ({MAX_PHOTOS} of at most {MAX_PHOTOS})")

    async def settled() -> list[Message]:
        # Wait until the prompts' buttons are tidied: one prompt keeps them.
        for _ in range(50):
            with_buttons = [m for m in await user.bot_messages() if m.buttons]
            if len(with_buttons) == 1:
                return with_buttons
            await asyncio.sleep(0.05)
        return with_buttons

    [latest] = await settled()
    assert f"Photos: {MAX_PHOTOS}" in latest.text
    draft = await dialogue_of(db, person_id)
    assert draft is not None and len(draft.data["photos"]) == MAX_PHOTOS
    assert draft.data["msg"] == latest.message_id
    await user.tap("✅ Achieved", latest.message_id)
    await prompt(user, "Inspection · remark")


async def test_the_receipt_of_a_long_remark_fits_in_one_message(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    """With ``remark_max_length`` at its 3,500 maximum and long names and titles, the whole
    remark and the recap do not fit in Telegram's 4,096 characters: the receipt shows the
    remark cut and says so, instead of failing after the record was saved."""
    bot.settings = bot.settings.model_copy(update={
        "inspections": InspectionsSection(remark_max_length=3500)})
    await bot.restart()
    name = "Ouyang " + "Xiaoming-" * 21  # 196 characters
    cadre_id = await make_cadre(db, 9203, "V2", name, ["Repair " + "the road " * 12])
    async with db.transaction() as uow:
        cadre = await uow.cadres.get(cadre_id)
        assert cadre is not None
        cadre.position = "Deputy head " + "of the village committee " * 7  # 187 characters
    user, person_id = await inspector(client, db)
    await user.send("/inspect V2")
    who = await prompt(user, "Inspection · who")
    await user.tap(next(text for text in who.button_texts if text.startswith("Ouyang")))
    task = await prompt(user, "Inspection · key task")
    await user.tap(next(text for text in task.button_texts if text.startswith("Repair")))
    await prompt(user, "Inspection · verdict")
    await user.tap("✅ Achieved")
    await prompt(user, "up to 3500 characters")
    remark = ("Checked the culverts & drains <east> side; " * 90)[:3499].strip() + "."
    assert len(remark) == 3500
    await user.send(remark)
    await prompt(user, "evidence and save")
    await user.tap("💾 Save")
    saved = await user.wait_for_message("saved at")
    assert len(saved.text) <= 4096 and not saved.buttons
    assert "(The remark is shortened here to fit in one message; all 3500 characters are " \
        "saved with the record.)" in saved.text
    assert f"Cadre: {name} · Deputy head" in saved.text
    assert "Remark: Checked the culverts & drains <east> side;" in saved.text
    assert "…" in saved.text
    [inspection] = await inspections_of(db, person_id)
    assert inspection.remark == remark, "the record keeps the remark whole"
    await user.expect_no_message(within=0.3)  # and no "error" after it


async def test_forwarded_photos_and_locations_are_not_evidence(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    user, person_id = await inspector(client, db)
    await user.send("/inspect V1")
    await prompt(user, "Inspection · who")
    forwarded = "Forwarded photos and locations are not accepted as evidence: send your own, " \
        "taken on site."
    await user.send_photo(png_bytes(20, 20), caption="Taken last year", forwarded_from="Li")
    refused = await prompt(user, "Forwarded photos")
    assert forwarded in refused.text and "Inspection · who" in refused.text
    await user.send_location(*NEAR, forwarded_from="Li")
    await prompt(user, "Forwarded photos")
    draft = await dialogue_of(db, person_id)
    assert draft is not None and draft.data["photos"] == []
    assert "location" not in draft.data and "remark" not in draft.data
    assert await count(db, Evidence) == 0
    # The inspector's own are taken as ever.
    await user.send_photo(png_bytes(20, 20))
    await prompt(user, "Photo kept (1 of at most")
    await user.send_location(*NEAR)
    await prompt(user, "Location kept")
