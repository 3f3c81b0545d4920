"""Cadres' progress notes through the real Application, the sandbox and a real database:
/note with photos, a location and the key task; /notes; corrections and withdrawals within
the window; and every bad input the issue names, each refused without changing anything."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select
from telegram import Update

from bot.settings import EvidenceSection, NotesSection
from sandbox import BotApiSandbox, SandboxClient, SandboxUser
from sandbox.client import Message
from sandbox.media import png_bytes
from storage.models import (
    AdminDialogue,
    Answer,
    AuditEvent,
    Evidence,
    Note,
    NoteStatus,
    Role,
)
from storage.uow import Database
from surveys.campaigns.admin import create_campaign
from surveys.people.roles import grant_role
from surveys.questionnaire.loader import load_template
from tests.conftest import seed_campaign
from tests.e2e.conftest import Bot, Clock
from tests.e2e.fieldwork import make_cadre, make_inspector, set_unit_centre
from tests.e2e.test_campaign_operations import leading, sync
from tests.e2e.test_resident_journey import tap_and_wait

pytestmark = pytest.mark.e2e

CADRE = 9101
OTHER_CADRE = 9102
TASKS = ["Road repair", "Water supply"]
PHOTO_LIMIT = 64 * 1024
MAX_PHOTOS = 3
MAX_LENGTH = 120
# Willow Village's centre, and points 0.3 km and about 33 km from it.
CENTRE = (30.0, 120.0)
NEAR = (30.003, 120.0)
FAR = (30.3, 120.0)
NOT_A_CADRE = "This is for cadres"


@pytest.fixture
async def bot(sandbox: BotApiSandbox, db: Database, clock: Clock,
              tmp_path: Path) -> AsyncIterator[Bot]:
    """The usual harness, with evidence kept under the test's own var/ and small limits so
    oversized photos and too many photos are quick to send."""
    await seed_campaign(db)
    harness = Bot(sandbox, db, clock)
    harness.settings = harness.settings.model_copy(update={
        "var_dir": tmp_path / "var",
        "evidence": EvidenceSection(max_photo_bytes=PHOTO_LIMIT, max_photos=MAX_PHOTOS),
        "notes": NotesSection(max_length=MAX_LENGTH),
    })
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def cadre_user(client: SandboxClient, db: Database, user_id: int = CADRE,
                     name: str = "Cadre Wang", unit: str = "V1") -> tuple[SandboxUser, int]:
    person_id = await make_cadre(db, user_id, unit, name, TASKS)
    return await client.user(user_id, name), person_id


def noise_png(side: int) -> bytes:
    """A real PNG that does not compress: about 3 bytes a pixel."""
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


async def notes_of(db: Database, person_id: int) -> list[Note]:
    async with db.reading() as uow:
        rows = await uow.session.scalars(
            select(Note).where(Note.person_id == person_id).order_by(Note.id))
        return list(rows.all())


async def evidence_of(db: Database, person_id: int) -> list[Evidence]:
    async with db.reading() as uow:
        rows = await uow.session.scalars(
            select(Evidence).where(Evidence.person_id == person_id).order_by(Evidence.id))
        return list(rows.all())


async def audit(db: Database, action: str) -> list[AuditEvent]:
    async with db.reading() as uow:
        rows = await uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        return list(rows.all())


async def draft_of(db: Database, person_id: int) -> AdminDialogue | None:
    async with db.reading() as uow:
        return await uow.session.get(AdminDialogue, person_id)


async def prompt(user: SandboxUser, contains: str = "Progress note") -> Message:
    """The draft's newest prompt (skipping an older one losing its buttons)."""
    while True:
        message = await user.wait_for_message(contains)
        if message.buttons:
            return message


async def settled(user: SandboxUser) -> list[Message]:
    """The bot's messages that show buttons, once only one does (or as they are after 5 s)."""
    for _ in range(100):
        with_buttons = [m for m in await user.bot_messages() if m.buttons]
        if len(with_buttons) == 1:
            return with_buttons
        await asyncio.sleep(0.05)
    return with_buttons


# --- saving notes ---------------------------------------------------------------------------


async def test_note_with_a_captioned_photo_and_a_task_tap(
    bot: Bot, client: SandboxClient, db: Database, tmp_path: Path,
) -> None:
    cadre, person_id = await cadre_user(client, db)
    await set_unit_centre(db, "V1", *CENTRE, radius_km=2.0)
    image = png_bytes(64, 48)

    await cadre.send("/note")
    first = await prompt(cadre)
    assert "Text: none yet" in first.text
    assert first.button_texts == ["✖ Cancel"], "nothing to save yet: no task buttons"
    await cadre.send_photo(image, caption="Culvert on the east road cleared")
    draft = await prompt(cadre, "Photo added")
    assert "Culvert on the east road cleared" in draft.text
    assert "Photos: 1" in draft.text
    assert draft.button_texts == [*TASKS, "Other / none", "✖ Cancel"]
    await cadre.send_location(*NEAR)
    located = await prompt(cadre, "Location added")
    assert "0.3 km from Willow Village" in located.text
    await cadre.tap("Road repair")
    saved = await cadre.wait_for_message("Saved note #")
    assert saved.message_id == located.message_id, "the tapped prompt becomes the receipt"
    assert ("Saved note #1 about “Road repair”: 1 photo, location 0.3 km from Willow Village"
            in saved.text)
    assert not saved.buttons

    [note] = await notes_of(db, person_id)
    assert note.text == "Culvert on the east road cleared"
    assert note.far_from_unit is False and note.distance_km == pytest.approx(0.334, abs=0.01)
    [evidence] = await evidence_of(db, person_id)
    digest = hashlib.sha256(image).hexdigest()
    assert evidence.note_id == note.id and evidence.sha256 == digest
    kept = tmp_path / "var" / "evidence" / evidence.path
    assert kept.read_bytes() == image, "the photo as sent, under var/evidence"
    assert kept.name.startswith(digest)
    [event] = await audit(db, "note.create")
    assert event.actor == f"person:{person_id}" and event.entity_id == str(note.id)
    assert event.after is not None
    assert event.after["text"] == "Culvert on the east road cleared"
    assert event.after["task"] == "Road repair"
    assert [e["sha256"] for e in event.after["evidence"]] == [digest]
    assert event.after["far_from_unit"] is False
    assert await draft_of(db, person_id) is None, "the draft is gone once saved"


async def test_a_captioned_photo_alone_starts_a_note_one_tap_saves_it(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    cadre, person_id = await cadre_user(client, db)
    await cadre.send_photo(png_bytes(32, 32), caption="Water point repaired at the school")
    await prompt(cadre, "Photo added")
    await cadre.tap("Water supply")
    await cadre.wait_for_message("Saved note #")
    [note] = await notes_of(db, person_id)
    assert note.text == "Water point repaired at the school"
    # Time is measured by bench/cadre_effort.py, not asserted here.


async def test_text_only_note(bot: Bot, client: SandboxClient, db: Database) -> None:
    cadre, person_id = await cadre_user(client, db)
    await cadre.send("/note Met the pump contractor;\nwork starts Monday")
    draft = await prompt(cadre)
    assert "Met the pump contractor" in draft.text
    await cadre.tap("Other / none")
    saved = await cadre.wait_for_message("Saved note #")
    assert "(no key task): no photo, no location" in saved.text
    [note] = await notes_of(db, person_id)
    assert note.text == "Met the pump contractor;\nwork starts Monday", "line breaks kept"
    assert note.task_id is None and note.latitude is None


async def test_typed_text_then_a_task(bot: Bot, client: SandboxClient, db: Database) -> None:
    cadre, person_id = await cadre_user(client, db)
    await cadre.send("/note")
    await prompt(cadre)
    await cadre.send("Cleared the drain by the market")
    await prompt(cadre, "Text saved")
    await cadre.tap("Road repair")
    await cadre.wait_for_message("Saved note #1 about “Road repair”")
    [note] = await notes_of(db, person_id)
    assert note.text == "Cleared the drain by the market"


async def test_a_location_far_outside_the_unit_is_accepted_flagged_and_told(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    cadre, person_id = await cadre_user(client, db)
    await set_unit_centre(db, "V1", *CENTRE, radius_km=2.0)
    await cadre.send_location(*FAR)
    located = await prompt(cadre, "Location added")
    assert "33.4 km from Willow Village, outside its 2 km area" in located.text
    assert "marked as far from your unit" in located.text
    await cadre.send("Inspected the county road works")
    await prompt(cadre, "Text saved")
    await cadre.tap("Road repair")
    saved = await cadre.wait_for_message("Saved note #")
    assert "⚠️ outside its 2 km area (flagged)" in saved.text
    [note] = await notes_of(db, person_id)
    assert note.far_from_unit is True and note.latitude == FAR[0]
    [event] = await audit(db, "note.create")
    assert event.after is not None and event.after["far_from_unit"] is True
    await cadre.send("/notes")
    listed = await cadre.wait_for_message("Your latest notes")
    assert "⚠️ far from unit" in listed.text


async def test_restart_in_the_middle_of_a_draft_loses_nothing(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    cadre, person_id = await cadre_user(client, db)
    image = png_bytes(20, 20, (200, 10, 10))
    await cadre.send("/note")
    await prompt(cadre)
    await cadre.send_photo(image, caption="Fence mended")
    await prompt(cadre, "Photo added")
    await bot.restart()
    await cadre.tap("Road repair")
    saved = await cadre.wait_for_message("Saved note #")
    assert "1 photo" in saved.text
    [note] = await notes_of(db, person_id)
    [evidence] = await evidence_of(db, person_id)
    assert note.text == "Fence mended" and evidence.note_id == note.id
    assert evidence.sha256 == hashlib.sha256(image).hexdigest()


async def test_cancel_discards_the_draft(bot: Bot, client: SandboxClient, db: Database) -> None:
    cadre, person_id = await cadre_user(client, db)
    await cadre.send("/note Something to forget")
    await prompt(cadre)
    await cadre.send("/cancel")
    await cadre.wait_for_message("Note draft discarded")
    assert await draft_of(db, person_id) is None
    assert await notes_of(db, person_id) == []
    # With no draft, /cancel and text are the resident journey's again.
    await cadre.send("hello")
    reply = await cadre.wait_for_message()
    assert "Text saved" not in reply.text


# --- bad input ------------------------------------------------------------------------------


async def test_over_long_text_is_refused_with_the_limit_and_sent_back(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    cadre, person_id = await cadre_user(client, db)
    await cadre.send("/note Short first version")
    await prompt(cadre)
    long_text = "Repaired the bridge railing; " * 6  # 174 characters
    await cadre.send(long_text)
    refusal = await cadre.wait_for_message("characters long")
    assert f"{len(long_text.strip())} characters long" in refusal.text
    assert f"at most {MAX_LENGTH}" in refusal.text and "nothing was cut" in refusal.text
    echo = await cadre.wait_for_message()
    assert echo.text == long_text.strip(), "the whole text, to shorten and send again"
    draft = await draft_of(db, person_id)
    assert draft is not None and draft.data["text"] == "Short first version"
    await cadre.tap("Road repair")
    await cadre.wait_for_message("Saved note #")
    [note] = await notes_of(db, person_id)
    assert note.text == "Short first version", "the earlier text, not a cut-off long one"


async def test_over_long_caption_keeps_the_photo_and_sends_the_caption_back(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    cadre, person_id = await cadre_user(client, db)
    caption = "x" * (MAX_LENGTH + 1)
    await cadre.send_photo(png_bytes(8, 8), caption=caption)
    await cadre.wait_for_message(f"{MAX_LENGTH + 1} characters long")
    echo = await cadre.wait_for_message()
    assert echo.text == caption
    draft = await prompt(cadre, "Photo added")
    assert "Text: none yet" in draft.text
    assert await notes_of(db, person_id) == []


async def test_an_oversized_photo_is_refused_with_the_limit(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    cadre, person_id = await cadre_user(client, db)
    await cadre.send("/note Photo to follow")
    await prompt(cadre)
    big = noise_png(200)
    assert len(big) > PHOTO_LIMIT
    await cadre.send_photo(big, caption="too big")
    refusal = await cadre.wait_for_message("too large")
    assert "photos up to 0.0625 MB" in refusal.text
    draft = await draft_of(db, person_id)
    assert draft is not None and draft.data["evidence"] == [], "draft unchanged"
    assert draft.data["text"] == "Photo to follow", "the caption of a refused photo is not taken"
    assert await evidence_of(db, person_id) == []


async def test_a_non_image_document_is_refused(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    cadre, person_id = await cadre_user(client, db)
    await cadre.send("/note Report attached")
    await prompt(cadre)
    await cadre.send_document(b"%PDF-1.4 not a photo", "report.pdf")
    await cadre.wait_for_message("not a photo I can read")
    # Claiming to be an image does not help: the content is decoded.
    await cadre.send_document(b"\x89PNG\r\n\x1a\n garbage", "fake.png", mime_type="image/png")
    await cadre.wait_for_message("not a photo I can read")
    draft = await draft_of(db, person_id)
    assert draft is not None and draft.data["evidence"] == []
    assert await evidence_of(db, person_id) == []


async def test_more_photos_than_allowed_are_refused(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    cadre, person_id = await cadre_user(client, db)
    await cadre.send("/note Four photos")
    await prompt(cadre)
    for shade in range(MAX_PHOTOS):
        await cadre.send_photo(png_bytes(8, 8, (shade, 0, 0)))
        await prompt(cadre, f"Photos: {shade + 1}")
    await cadre.send_photo(png_bytes(8, 8, (99, 0, 0)))
    refusal = await cadre.wait_for_message("at most")
    assert f"at most {MAX_PHOTOS} photos" in refusal.text
    assert len(await evidence_of(db, person_id)) == MAX_PHOTOS
    await cadre.tap("Road repair")
    saved = await cadre.wait_for_message("Saved note #")
    assert f"{MAX_PHOTOS} photos" in saved.text


async def test_residents_strangers_and_admins_are_told_notes_are_for_cadres(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    stranger = await client.user(9201, "Stranger")
    for command in ("/note", "/notes", "/note I fixed it"):
        await stranger.send(command)
        reply = await stranger.wait_for_message()
        assert NOT_A_CADRE in reply.text and "invite link" in reply.text
    resident = await client.user(9202, "Resident")
    await resident.send("/start willow")
    await resident.wait_for_message("anonymous")
    await resident.send("/note")
    assert NOT_A_CADRE in (await resident.wait_for_message(NOT_A_CADRE)).text
    async with db.transaction() as uow:
        await grant_role(uow, telegram_user_id=9203, role=Role.ADMIN, unit_code=None,
                         name="Admin Liu", actor="test")
    admin = await client.user(9203, "Admin Liu")
    await admin.send("/notes")
    await admin.wait_for_message(NOT_A_CADRE)
    # A resident's photo is not taken as a note: it reaches the resident journey.
    await resident.send_photo(png_bytes(8, 8))
    reply = await resident.wait_for_message()
    assert "Photo added" not in reply.text and NOT_A_CADRE not in reply.text
    async with db.reading() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Note)) == 0
        assert await uow.session.scalar(select(func.count()).select_from(Evidence)) == 0


# --- /notes, corrections and withdrawals ----------------------------------------------------


async def save_note(cadre: SandboxUser, text: str, task: str = "Road repair") -> int:
    await cadre.send(f"/note {text}")
    await prompt(cadre)
    await cadre.tap(task)
    saved = await cadre.wait_for_message("Saved note #")
    return int(saved.text.split("#", 1)[1].split()[0])


async def test_notes_lists_the_latest_with_correct_and_withdraw(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    cadre, _ = await cadre_user(client, db)
    await cadre.send_photo(png_bytes(8, 8), caption="Potholes filled on Main Street")
    await prompt(cadre, "Photo added")
    await cadre.tap("Road repair")
    await cadre.wait_for_message("Saved note #1")
    second = await save_note(cadre, "Checked the water tower " + "level " * 12, "Water supply")
    await cadre.send("/notes")
    listed = await cadre.wait_for_message("Your latest notes")
    text = listed.text
    assert text.index(f"#{second}") < text.index("#1 "), "newest first"
    assert "Road repair · 1 photo" in text and "Water supply · no photo" in text
    assert "“Potholes filled on Main Street”" in text
    assert "…”" in text, "a long text is shown as an excerpt"
    assert "never count toward any score" in text
    assert listed.button_texts == [f"✏️ Correct #{second}", f"🗑 Withdraw #{second}",
                                   "✏️ Correct #1", "🗑 Withdraw #1"]


async def test_correct_and_withdraw_inside_the_window_keep_every_version(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    cadre, person_id = await cadre_user(client, db)
    note_id = await save_note(cadre, "Repaired 3 street lights")
    await cadre.send("/notes")
    await cadre.wait_for_message("Your latest notes")
    await cadre.tap(f"✏️ Correct #{note_id}")
    ask = await cadre.wait_for_message(f"Correcting note #{note_id}")
    assert "Repaired 3 street lights" in ask.text
    too_long = "y" * (MAX_LENGTH + 5)
    await cadre.send(too_long)
    await cadre.wait_for_message("characters long")
    assert (await cadre.wait_for_message()).text == too_long
    await cadre.send("Repaired 4 street lights")
    await cadre.wait_for_message(f"Note #{note_id} corrected: this is now version 2")
    [note] = await notes_of(db, person_id)
    assert note.text == "Repaired 4 street lights" and note.version == 2
    [corrected] = await audit(db, "note.correct")
    assert corrected.before == {"text": "Repaired 3 street lights", "version": 1}
    assert corrected.after == {"text": "Repaired 4 street lights", "version": 2}

    await cadre.send("/notes")
    listed = await cadre.wait_for_message("Your latest notes")
    assert "corrected (v2)" in listed.text
    await cadre.tap(f"🗑 Withdraw #{note_id}")
    confirm = await cadre.wait_for_message(f"Withdraw note #{note_id}")
    assert (await notes_of(db, person_id))[0].status == NoteStatus.SUBMITTED, "asks first"
    await cadre.tap(f"Yes, withdraw #{note_id}", confirm.message_id)
    done = await cadre.wait_for_message(f"Note #{note_id} withdrawn")
    assert done.message_id == confirm.message_id and not done.buttons
    [note] = await notes_of(db, person_id)
    assert note.status == NoteStatus.WITHDRAWN and note.withdrawn_at is not None
    [withdrawn] = await audit(db, "note.withdraw")
    assert withdrawn.before is not None and withdrawn.after is not None
    assert withdrawn.before["text"] == "Repaired 4 street lights"
    assert withdrawn.after["status"] == "withdrawn"
    await cadre.send("/notes")
    listed = await cadre.wait_for_message("Your latest notes")
    assert "withdrawn" in listed.text and not listed.buttons


async def test_keep_on_the_withdraw_question_changes_nothing(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    cadre, person_id = await cadre_user(client, db)
    note_id = await save_note(cadre, "Visited the elderly care home")
    await cadre.send("/notes")
    await cadre.wait_for_message("Your latest notes")
    await cadre.tap(f"🗑 Withdraw #{note_id}")
    await cadre.wait_for_message(f"Withdraw note #{note_id}")
    await cadre.tap("Keep it")
    await cadre.wait_for_message(f"Note #{note_id} kept")
    assert (await notes_of(db, person_id))[0].status == NoteStatus.SUBMITTED
    assert await audit(db, "note.withdraw") == []


async def test_correcting_or_withdrawing_after_the_window_is_refused(
    bot: Bot, client: SandboxClient, db: Database, clock: Clock,
) -> None:
    cadre, person_id = await cadre_user(client, db)
    note_id = await save_note(cadre, "Cleaned the river bank")
    await cadre.send("/notes")
    listed = await cadre.wait_for_message("Your latest notes")
    clock.offset_s = timedelta(hours=24, minutes=1).total_seconds()
    await cadre.tap(f"✏️ Correct #{note_id}", listed.message_id)
    refusal = await cadre.wait_for_answer()
    assert refusal.show_alert
    assert "only within 24 hours of sending" in refusal.text
    await cadre.tap(f"🗑 Withdraw #{note_id}", listed.message_id)
    assert "only within 24 hours" in (await cadre.wait_for_answer()).text
    # The confirmation itself, forged or kept from earlier, is refused too.
    await cadre.tap_data(listed.message_id, f"n:y:{note_id}:1")
    assert "only within 24 hours" in (await cadre.wait_for_answer()).text
    [note] = await notes_of(db, person_id)
    assert note.status == NoteStatus.SUBMITTED and note.version == 1
    assert await audit(db, "note.correct") == [] and await audit(db, "note.withdraw") == []
    await cadre.send("/notes")
    relisted = await cadre.wait_for_message("Your latest notes")
    assert not relisted.buttons, "no Correct / Withdraw once the window has passed"


async def test_correction_typed_after_the_window_closed_is_refused(
    bot: Bot, client: SandboxClient, db: Database, clock: Clock,
) -> None:
    cadre, person_id = await cadre_user(client, db)
    note_id = await save_note(cadre, "Planted 40 trees")
    await cadre.send("/notes")
    await cadre.wait_for_message("Your latest notes")
    await cadre.tap(f"✏️ Correct #{note_id}")
    await cadre.wait_for_message("Correcting note")
    clock.offset_s = timedelta(hours=25).total_seconds()
    await cadre.send("Planted 400 trees")
    await cadre.wait_for_message("can no longer be changed")
    [note] = await notes_of(db, person_id)
    assert note.text == "Planted 40 trees" and note.version == 1
    assert await draft_of(db, person_id) is None, "the correction ended"


async def test_someone_elses_note_in_a_forged_button_is_refused(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    owner, owner_id = await cadre_user(client, db)
    note_id = await save_note(owner, "Owner's note")
    other, _ = await cadre_user(client, db, OTHER_CADRE, "Cadre Zhao", "V2")
    await other.send("/notes")
    listed = await other.wait_for_message("not sent any notes")
    for data in (f"n:f:{note_id}:1", f"n:w:{note_id}:1", f"n:y:{note_id}:1"):
        await other.tap_data(listed.message_id, data)
        answer = await other.wait_for_answer()
        assert f"Note #{note_id} is not one of your notes" in answer.text
    # Nonsense data is refused as well, and a forged task of another cadre's cannot save.
    await other.tap_data(listed.message_id, "n:zz")
    assert "not valid" in (await other.wait_for_answer()).text
    await other.send("/note Mine")
    draft = await prompt(other)
    owner_task = draft.callback_data("Road repair")
    assert owner_task is not None
    async with db.reading() as uow:
        owner_tasks = (await uow.cadres.tasks([owner_id]))[owner_id]
    forged = owner_task.rsplit(":", 1)[0] + f":t{owner_tasks[0].id}"
    await other.tap_data(draft.message_id, forged)
    assert "not valid" in (await other.wait_for_answer()).text
    [note] = await notes_of(db, owner_id)
    assert note.text == "Owner's note" and note.status == NoteStatus.SUBMITTED
    assert await audit(db, "note.correct") == [] and await audit(db, "note.withdraw") == []
    assert len(await audit(db, "note.create")) == 1


async def test_stale_buttons_change_nothing(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    cadre, person_id = await cadre_user(client, db)
    await cadre.send("/note First words")
    old = await prompt(cadre)
    old_data = old.callback_data("Road repair")
    assert old_data is not None
    await cadre.send("Better words")
    await prompt(cadre, "Text saved")
    await cadre.tap_data(old.message_id, old_data)
    assert "no longer active" in (await cadre.wait_for_answer()).text
    assert await notes_of(db, person_id) == []
    await cadre.tap("Road repair")
    await cadre.wait_for_message("Saved note #")
    # The same button again (a double tap): the draft is gone.
    await cadre.tap_data(old.message_id, old_data)
    assert "no longer active" in (await cadre.wait_for_answer()).text
    assert len(await notes_of(db, person_id)) == 1
    # A /notes button from before a correction is stale afterwards.
    [note] = await notes_of(db, person_id)
    await cadre.send("/notes")
    listed = await cadre.wait_for_message("Your latest notes")
    await cadre.tap(f"✏️ Correct #{note.id}")
    await cadre.wait_for_message("Correcting note")
    await cadre.send("Best words")
    await cadre.wait_for_message("version 2")
    await cadre.tap(f"🗑 Withdraw #{note.id}", listed.message_id)
    assert "no longer active" in (await cadre.wait_for_answer()).text
    [note] = await notes_of(db, person_id)
    assert note.status == NoteStatus.SUBMITTED and note.text == "Best words"


async def test_a_chinese_speaking_cadre_is_answered_in_chinese(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    await make_cadre(db, CADRE, "V1", "王干部", TASKS)
    cadre = await client.user(CADRE, "王干部", language_code="zh")
    await cadre.send("/note 修好了村口的路灯")
    draft = await prompt(cadre, "工作进展")
    assert "属于哪项重点任务" in draft.text
    await cadre.tap("其他 / 无")
    saved = await cadre.wait_for_message("已保存第 1 号进展")
    assert "无照片" in saved.text
    stranger = await client.user(9301, "路人", language_code="zh")
    await stranger.send("/note")
    assert "邀请链接" in (await stranger.wait_for_message()).text


async def test_an_album_of_photos_at_once_is_kept_whole(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    """Several photos arriving together (as an album does) each land in the one draft."""
    cadre, person_id = await cadre_user(client, db)
    await cadre.send("/note Album")
    await prompt(cadre)
    images = [png_bytes(8, 8, (0, shade, 0)) for shade in range(MAX_PHOTOS)]
    await asyncio.gather(*(cadre.send_photo(image) for image in images))
    # One reply per photo; an earlier reply edited (its buttons taken off) is not a new one.
    replies: set[int] = set()
    while len(replies) < MAX_PHOTOS:
        replies.add((await cadre.wait_for_message("Photo added")).message_id)
    draft = await draft_of(db, person_id)
    assert draft is not None and len(draft.data["evidence"]) == MAX_PHOTOS
    # Whatever order the prompts were answered in, exactly the latest keeps its buttons
    # (once the older prompts' buttons have been taken off: wait for that, for up to 5 s).
    with_buttons = await settled(cadre)
    assert len(with_buttons) == 1
    await cadre.tap("Road repair", with_buttons[0].message_id)
    saved = await cadre.wait_for_message("Saved note #")
    assert f"{MAX_PHOTOS} photos" in saved.text
    assert {e.sha256 for e in await evidence_of(db, person_id)} == {
        hashlib.sha256(image).hexdigest() for image in images}


# --- one dialogue at a time, polls, edits and forwards --------------------------------------

BUSY_NOTE = ("You have a progress note in progress: save it, or send /cancel to drop it, "
             "then {command} again.")


async def test_another_command_does_not_throw_the_draft_away(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    """One person, three roles, one dialogue row: /inspect or /newcampaign during a note's
    draft (and the other ways round) starts nothing and says what is in progress."""
    cadre, person_id = await cadre_user(client, db)
    await make_inspector(db, CADRE, "C1", "Cadre Wang")
    async with db.transaction() as uow:
        await grant_role(uow, telegram_user_id=CADRE, role=Role.ADMIN, unit_code=None,
                         name="Cadre Wang", actor="test")
    await cadre.send_photo(png_bytes(16, 16), caption="Drain cleared by the school")
    await prompt(cadre, "Photo added")
    for command in ("/inspect", "/newcampaign"):
        await cadre.send(command)
        refusal = await cadre.wait_for_message("progress note in progress")
        assert refusal.text == BUSY_NOTE.format(command=command)
    draft = await draft_of(db, person_id)
    assert draft is not None and draft.kind == "note"
    assert draft.data["text"] == "Drain cleared by the school"
    assert len(draft.data["evidence"]) == 1, "the photo is still in the draft"
    await cadre.send("/note")
    resumed = await prompt(cadre)
    assert "Drain cleared by the school" in resumed.text and "Photos: 1" in resumed.text

    await cadre.send("/cancel")
    await cadre.wait_for_message("Note draft discarded")
    await cadre.send("/inspect")
    await prompt(cadre, "Inspection · unit")
    for command in ("/note", "/newcampaign"):
        await cadre.send(command)
        refusal = await cadre.wait_for_message("inspection in progress")
        assert "send /cancel to drop it, then " + command + " again" in refusal.text
    await cadre.send_photo(png_bytes(12, 12))
    await prompt(cadre, "Photo kept (1 of at most")  # still the inspection's
    await cadre.send("/cancel")
    await cadre.wait_for_message("Inspection cancelled")

    await cadre.send("/newcampaign")
    await cadre.wait_for_message("step 1 of 8")
    for command in ("/note", "/inspect"):
        await cadre.send(command)
        refusal = await cadre.wait_for_message("new campaign in progress")
        assert "send /cancel to drop it, then " + command + " again" in refusal.text
    draft = await draft_of(db, person_id)
    assert draft is not None and draft.kind == "newcampaign"
    await cadre.send("/cancel")
    await cadre.wait_for_message("New campaign cancelled")
    await cadre.send("/note Back to notes")
    await prompt(cadre)


async def test_an_answer_to_a_self_assessment_reaches_the_poll_not_the_draft(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    """A draft begun by a photo, then Start on a self-assessment: the most recent activity
    wins, so a typed answer goes to the poll; a photo afterwards makes the note the latest."""
    cadre, person_id = await cadre_user(client, db)
    await cadre.send_photo(png_bytes(16, 16, (10, 200, 10)))
    await prompt(cadre, "Photo added")
    await leading(bot)
    at = datetime.now(UTC)
    async with db.transaction() as uow:
        await create_campaign(
            uow, survey=load_template("cadre_self_assessment"), unit_code="V1", code="self-v1",
            opens_at=at - timedelta(minutes=1), closes_at=at + timedelta(days=10), now=at,
            actor="test")
    # The invitation, through the outbox (the scheduler may have run the step already).
    await sync(bot)
    await cadre.wait_for_message("Self-assessment for this period")
    await cadre.tap("▶ Start")
    await cadre.wait_for_message("progress on your key tasks")
    await tap_and_wait(cadre, "4", "How many tasks")
    await cadre.send("12")
    await cadre.wait_for_message("What held your work back")
    draft = await draft_of(db, person_id)
    assert draft is not None and draft.data["text"] == "", "the answer is not the note's text"
    assert len(draft.data["evidence"]) == 1
    async with db.reading() as uow:
        answers = (await uow.session.scalars(select(Answer))).all()
    assert {a.question_id: a.value_number for a in answers} == {
        "task_progress": 4, "tasks_completed": 12}, "the rating, then the typed number"

    # Now the note is the latest thing the cadre touched: text is the note's again.
    await cadre.send_photo(png_bytes(17, 17, (10, 200, 10)))
    await prompt(cadre, "Photos: 2")
    await cadre.send("Pump house repainted")
    await prompt(cadre, "Text saved")
    draft = await draft_of(db, person_id)
    assert draft is not None and draft.data["text"] == "Pump house repainted"


async def test_an_edited_command_or_text_is_not_taken_again(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    """Editing an old /note (or a text) gives the bot an edited_message: not a new command."""
    cadre, person_id = await cadre_user(client, db)
    old = await cadre.send("/note Old words")
    await prompt(cadre)
    await cadre.send("/cancel")
    await cadre.wait_for_message("Note draft discarded")
    await edited(bot, 900_000_001, old.message_id, "/note Edited words")
    assert await draft_of(db, person_id) is None, "an edited /note starts no draft"

    await cadre.send("/note Kept words")
    await prompt(cadre)
    typed = await cadre.send("Typed words")
    await prompt(cadre, "Text saved")
    await edited(bot, 900_000_002, typed.message_id, "Edited typed words")
    draft = await draft_of(db, person_id)
    assert draft is not None and draft.data["text"] == "Typed words"


async def edited(bot: Bot, update_id: int, message_id: int, text: str) -> None:
    """Hand the bot an ``edited_message`` update (the sandbox has no message editing for
    users) and wait until every handler has run."""
    assert bot.application is not None
    now = int(time.time())
    user = {"id": CADRE, "is_bot": False, "first_name": "Cadre Wang"}
    message: dict[str, object] = {
        "message_id": message_id, "date": now - 60, "edit_date": now, "text": text,
        "chat": {"id": CADRE, "type": "private", "first_name": "Cadre Wang"}, "from": user,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0,
                                "length": len(text.split()[0])}]
    update = Update.de_json({"update_id": update_id, "edited_message": message},
                            bot.application.bot)
    await bot.application.process_update(update)


FORWARDED = "Forwarded photos and locations are not accepted as evidence"


async def test_forwarded_photos_and_locations_are_not_evidence(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    cadre, person_id = await cadre_user(client, db)
    await cadre.send_photo(png_bytes(8, 8), caption="Someone else's work",
                           forwarded_from="Old Chen")
    refusal = await cadre.wait_for_message(FORWARDED)
    assert "send your own, taken on site" in refusal.text
    assert await draft_of(db, person_id) is None, "no draft, and not its caption either"
    await cadre.send("/note Cleared the ditch")
    await prompt(cadre)
    await cadre.send_photo(png_bytes(9, 9), caption="Replaced text", forwarded_from="Old Chen")
    await cadre.wait_for_message(FORWARDED)
    await cadre.send_document(png_bytes(10, 10), "site.png", forwarded_from="Old Chen")
    await cadre.wait_for_message(FORWARDED)
    await cadre.send_location(*NEAR, forwarded_from="Old Chen")
    await cadre.wait_for_message(FORWARDED)
    draft = await draft_of(db, person_id)
    assert draft is not None and draft.data["text"] == "Cleared the ditch"
    assert draft.data["evidence"] == [] and draft.data["place"] is None
    assert await evidence_of(db, person_id) == []
    # The cadre's own photo and location are taken as ever.
    await cadre.send_photo(png_bytes(9, 9))
    await prompt(cadre, "Photo added")
    await cadre.send_location(*NEAR)
    await prompt(cadre, "Location added")
    chinese = await client.user(OTHER_CADRE, "赵干部", language_code="zh")
    await make_cadre(db, OTHER_CADRE, "V2", "赵干部", TASKS)
    await chinese.send_location(*NEAR, forwarded_from="老陈")
    assert "转发的照片和位置不能作为佐证" in (await chinese.wait_for_message("转发")).text
