"""Text that is not text, through the real Application, the sandbox and a real database (SQLite,
and PostgreSQL with TEST_DATABASE_URL, which refuses NUL in text columns): a NUL byte in a
note's caption, an inspection remark, an appeal and its answer is removed and the record
saves; text of only invisible characters is refused with the reason, and the person stays
where they were in the dialogue and can send again."""

from __future__ import annotations

import string
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from handlers.texts import catalogs
from sandbox import BotApiSandbox, SandboxClient
from sandbox.media import png_bytes
from storage.models import AppealStatus, AppraisalStatus, AuditEvent, Inspection, Role
from storage.uow import Database
from tests.conftest import seed_campaign
from tests.e2e.conftest import Bot, Clock
from tests.e2e.fieldwork import make_cadre, make_inspector
from tests.e2e.test_cadre_notes import cadre_user, draft_of, notes_of
from tests.e2e.test_cadre_notes import prompt as note_prompt
from tests.e2e.test_inspections import dialogue_of as inspection_dialogue_of
from tests.e2e.test_inspections import prompt as inspection_prompt
from tests.e2e.test_resident_journey import answers_of, begin, tap_and_wait
from tests.e2e.test_results_chat import AUDITOR, CADRE, REASON, appeals, cadre_result, staff

pytestmark = pytest.mark.e2e

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
INSPECTOR = 9401


@pytest.fixture
async def bot(sandbox: BotApiSandbox, db: Database, clock: Clock,
              tmp_path: Path) -> AsyncIterator[Bot]:
    """The usual harness, with photo evidence kept under the test's own var/."""
    await seed_campaign(db)
    harness = Bot(sandbox, db, clock)
    harness.settings = harness.settings.model_copy(update={"var_dir": tmp_path / "var"})
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def audit(db: Database, action: str) -> list[AuditEvent]:
    async with db.reading() as uow:
        rows = await uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        return list(rows.all())


# --- a resident's comment -------------------------------------------------------------------


async def test_a_comment_of_only_zero_width_characters_is_refused_and_asked_again(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    user = await client.user(2101, "Tan")
    await begin(user)
    for button, expect in (("4", "2/5"), ("Yes", "3/5"), ("4", "4/5"), ("4", "5/5")):
        await tap_and_wait(user, button, expect)
    await user.send(ZERO_WIDTH)
    refusal = await user.wait_for_message("no visible text")
    assert "only invisible or control characters" in refusal.text
    assert "comment" not in await answers_of(db), "nothing stored"
    await user.send("\x00\u200b \x01")
    await user.wait_for_message("no visible text")
    assert "comment" not in await answers_of(db)
    # Still on the comment question: the next message is taken, NUL removed.
    await user.send("Queue\x00 was short")
    await user.wait_for_message("Your answers")
    assert (await answers_of(db))["comment"].value_text == "Queue was short"


async def test_a_chinese_speaker_is_told_in_chinese(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    user = await client.user(2102, "Lin", language_code="zh-hans")
    await user.send("/start willow")
    first = await user.wait_for_message("1/5")
    assert "匿名" in first.text
    for button, expect in (("4", "2/5"), ("是", "3/5"), ("4", "4/5"), ("4", "5/5")):
        await tap_and_wait(user, button, expect)
    await user.send(ZERO_WIDTH)
    await user.wait_for_message("没有可见的文字")
    assert "comment" not in await answers_of(db)


# --- a cadre's note -------------------------------------------------------------------------


async def test_a_nul_in_a_note_caption_is_removed_and_the_note_saves(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    cadre, person_id = await cadre_user(client, db)
    await cadre.send_photo(png_bytes(16, 16), caption="Culvert\x00 cleared\x00")
    draft = await note_prompt(cadre, "Photo added")
    assert "Culvert cleared" in draft.text
    await cadre.tap("Road repair")
    await cadre.wait_for_message("Saved note #")
    [note] = await notes_of(db, person_id)
    assert note.text == "Culvert cleared"
    [event] = await audit(db, "note.create")
    assert event.after is not None and event.after["text"] == "Culvert cleared"


async def test_an_invisible_caption_keeps_the_photo_but_not_the_caption(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    cadre, person_id = await cadre_user(client, db)
    await cadre.send_photo(png_bytes(16, 16), caption=ZERO_WIDTH + "\x00")
    told = await cadre.wait_for_message("no visible characters")
    assert "the draft keeps its text" in told.text
    draft = await note_prompt(cadre, "Photo added")
    assert "Text: none yet" in draft.text and "Photos: 1" in draft.text
    stored = await draft_of(db, person_id)
    assert stored is not None and stored.data["text"] == ""
    # Typed text with nothing visible: refused, the draft keeps its text and its prompt.
    await cadre.send("Drain\x00 cleared")
    typed = await note_prompt(cadre, "Text saved in the draft")
    assert "Drain cleared" in typed.text
    await cadre.send(ZERO_WIDTH)
    await cadre.wait_for_message("no visible characters")
    stored = await draft_of(db, person_id)
    assert stored is not None and stored.data["text"] == "Drain cleared"
    await cadre.tap("Water supply", message_id=typed.message_id)
    await cadre.wait_for_message("Saved note #")
    [note] = await notes_of(db, person_id)
    assert note.text == "Drain cleared"


async def test_a_correction_of_only_invisible_characters_is_refused_and_still_waits(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    cadre, person_id = await cadre_user(client, db)
    await cadre.send("/note Fence mended")
    await note_prompt(cadre)
    await cadre.tap("Road repair")
    await cadre.wait_for_message("Saved note #")
    [note] = await notes_of(db, person_id)
    await cadre.send("/notes")
    await cadre.wait_for_message("Your latest notes")
    await cadre.tap(f"✏️ Correct #{note.id}")
    await cadre.wait_for_message(f"Correcting note #{note.id}")
    await cadre.send("\u2060\u200b")
    await cadre.wait_for_message("no visible text")
    [note] = await notes_of(db, person_id)
    assert note.text == "Fence mended" and note.version == 1
    await cadre.send("Fence\x00 mended on both sides")
    await cadre.wait_for_message(f"Note #{note.id} corrected: this is now version 2")
    [note] = await notes_of(db, person_id)
    assert note.text == "Fence mended on both sides"


# --- an inspection remark -------------------------------------------------------------------


async def test_a_nul_in_an_inspection_remark_is_removed_and_invisible_ones_refused(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    person_id = await make_inspector(db, INSPECTOR, "C1", "Inspector Zhou")
    user = await client.user(INSPECTOR, "Zhou")
    await user.send("/inspect V2")
    await inspection_prompt(user, "Inspection · verdict")
    await user.tap("✅ Achieved")
    await inspection_prompt(user, "Inspection · remark")
    await user.send(ZERO_WIDTH)
    refused = await inspection_prompt(user, "no visible text")
    assert "Inspection · remark" in refused.text, "still at the remark step"
    dialogue = await inspection_dialogue_of(db, person_id)
    assert dialogue is not None and "remark" not in dialogue.data
    await user.send("Street\x00 lights all working.")
    summary = await inspection_prompt(user, "evidence and save")
    assert "Remark: Street lights all working." in summary.text
    await user.tap("💾 Save")
    await user.wait_for_message("saved at")
    async with db.reading() as uow:
        [inspection] = (await uow.session.scalars(
            select(Inspection).where(Inspection.inspector_id == person_id))).all()
    assert inspection.remark == "Street lights all working."
    [event] = await audit(db, "inspection.record")
    assert event.after is not None and "\x00" not in str(event.after)


# --- an appeal and its answer ---------------------------------------------------------------


async def test_a_nul_in_an_appeal_and_its_answer_is_removed_and_invisible_ones_refused(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    await cadre_result(db, "2026-Q3", AppraisalStatus.PUBLISHED, person_id, 64.0, "fair")
    auditor, auditor_id = await staff(client, db, AUDITOR, Role.AUDITOR, None, "Auditor Zhao")
    cadre = await client.user(CADRE, "Wang")

    await cadre.send("/appeal")
    await cadre.wait_for_message("Send your reason")
    await cadre.send(ZERO_WIDTH * 4)  # 20 characters, none of them visible
    await cadre.wait_for_message("That reason has no visible text")
    assert await appeals(db) == []
    broken = REASON.replace(" ", " \x00", 3)
    await cadre.send(broken)
    await cadre.wait_for_message("Appeal #")
    [appeal] = await appeals(db)
    assert appeal.reason == REASON
    [filed] = await audit(db, "appeal.file")
    assert filed.after is not None and filed.after["reason"] == REASON
    await auditor.wait_for_message("New appeal")

    await auditor.send(f"/answer {appeal.id} uphold {ZERO_WIDTH}")
    await auditor.wait_for_message("That answer has no visible text")
    [still] = await appeals(db)
    assert still.status == AppealStatus.OPEN
    await auditor.send(f"/answer {appeal.id} uphold Inspected\x00 too early, sorry.")
    await auditor.wait_for_message(f"Appeal #{appeal.id} upheld")
    [answered] = await appeals(db)
    assert answered.answer == "Inspected too early, sorry."
    assert answered.answered_by == auditor_id
    told = await cadre.wait_for_message("was upheld")
    assert "Inspected too early, sorry." in told.text


@pytest.mark.parametrize("key", [
    "invalid.invisible", "note.blank", "note.invisible_text", "inspect.err.remark_invisible",
    "results.appeal_invisible", "results.answer_invisible",
])
def test_each_refusal_is_in_english_and_chinese_with_the_same_parameters(key: str) -> None:
    entry = {lang: texts[key] for lang, texts in catalogs().items()}
    assert set(entry) == {"en", "zh"}
    fields = string.Formatter()
    names = [{name for _, name, _, _ in fields.parse(entry[lang]) if name}
             for lang in ("en", "zh")]
    assert names[0] == names[1]
    assert "invisible" in entry["en"] and "不可见" in entry["zh"]
