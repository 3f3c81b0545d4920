"""Typed text reaching the database (SQLite, and PostgreSQL with TEST_DATABASE_URL, which
refuses NUL in text columns and made such a note impossible to save): each use case cleans
what a person typed by the one rule (surveys.text) before a repository sees it, and refuses
text with nothing visible, changing nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from storage.evidence import StoredFile
from storage.models import (
    Answer,
    Appeal,
    AppraisalRun,
    AppraisalStatus,
    AuditEvent,
    Inspection,
    Note,
    Role,
)
from storage.uow import Database
from surveys.appraisal import appeals
from surveys.fieldwork import inspections, notes, sent_notes
from surveys.fieldwork.rules import FieldRules
from surveys.people.caller import Caller, Refused
from surveys.people.roles import grant_role
from surveys.questionnaire.catalog import SurveyCatalog
from surveys.respondents import responding
from surveys.respondents.journey import Respondent
from tests.conftest import SECRET, seed_campaign
from tests.e2e.fieldwork import make_cadre, make_inspector

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
CADRE, INSPECTOR, AUDITOR, RESIDENT = 701, 702, 703, 704


def now() -> datetime:
    return datetime.now(UTC)


def photo(n: int) -> StoredFile:
    digest = f"{n:064x}"
    return StoredFile(digest, f"{digest[:2]}/{digest}.png", 100 + n, "image/png")


async def audit_text(db: Database) -> str:
    """Every audit event's before and after, as one text."""
    async with db.reading() as uow:
        events = (await uow.session.scalars(select(AuditEvent))).all()
    return " ".join(f"{e.before} {e.after}" for e in events)


async def test_a_resident_comment_of_zero_width_characters_is_refused_then_one_with_nul_kept(
    db: Database,
) -> None:
    await seed_campaign(db)
    who = Respondent(telegram_user_id=RESIDENT, chat_id=RESIDENT, client_language="en",
                     secret=SECRET, catalog=SurveyCatalog(), now=now())
    async with db.transaction() as uow:
        opened = await responding.open_campaign(uow, who, "willow")
    assert opened.screen is not None
    for typed in ("4", "yes", "4", "4"):
        async with db.transaction() as uow:
            reply = await responding.typed(uow, who, typed)
        assert reply.notice is None, (typed, reply.notice)
    async with db.transaction() as uow:
        refused = await responding.typed(uow, who, ZERO_WIDTH)
    assert refused.notice == "invalid.invisible"
    async with db.reading() as uow:
        stored = {a.question_id for a in (await uow.session.scalars(select(Answer))).all()}
    assert "comment" not in stored and len(stored) == 4
    async with db.transaction() as uow:
        kept = await responding.typed(uow, who, "Cafe\u0301\x00 was\x1b open")
    assert kept.notice is None
    async with db.reading() as uow:
        comment = await uow.session.scalar(select(Answer).where(Answer.question_id == "comment"))
    assert comment is not None and comment.value_text == "Café was open"


async def test_a_nul_in_a_note_caption_is_removed_before_the_note_is_stored(
    db: Database,
) -> None:
    await seed_campaign(db)
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang", ["Road repair"])
    caller = Caller(telegram_user_id=CADRE, now=now(), client_language="en")
    async with db.transaction() as uow:
        blank = await notes.draft_photo(uow, caller, photo(1), "u1", ZERO_WIDTH, rules=FieldRules())
    assert blank.blank and blank.draft.text == "" and blank.draft.photos == 1
    async with db.transaction() as uow:
        added = await notes.draft_photo(uow, caller, photo(2), "u2", "Culvert\x00 cleared\x00",
                                        rules=FieldRules())
    assert not added.blank and added.draft.text == "Culvert cleared"
    async with db.transaction() as uow:
        tapped = await notes.draft_tap(uow, caller, added.draft.nonce, added.draft.version,
                                       f"t{notes.OTHER_TASK}", rules=FieldRules())
    assert tapped.saved is not None
    async with db.reading() as uow:
        [note] = (await uow.session.scalars(select(Note))).all()
    assert note.person_id == person_id and note.text == "Culvert cleared"
    assert "\x00" not in await audit_text(db)


async def test_a_correction_with_nothing_visible_is_refused_and_changes_nothing(
    db: Database,
) -> None:
    await seed_campaign(db)
    await make_cadre(db, CADRE, "V1", "Cadre Wang")
    caller = Caller(telegram_user_id=CADRE, now=now(), client_language="zh")
    async with db.transaction() as uow:
        draft = (await notes.start_note(uow, caller, "Fence mended", rules=FieldRules())).draft
    async with db.transaction() as uow:
        saved = (await notes.draft_tap(uow, caller, draft.nonce, draft.version,
                                       f"t{notes.OTHER_TASK}", rules=FieldRules())).saved
    assert saved is not None
    async with db.transaction() as uow:
        await sent_notes.ask_correction(uow, caller, saved.id, 1, rules=FieldRules())
    with pytest.raises(Refused) as caught:
        async with db.transaction() as uow:
            await sent_notes.correct_text(uow, caller, "\x00" + ZERO_WIDTH, rules=FieldRules())
    assert caught.value.key == "invisible_text"
    async with db.transaction() as uow:
        corrected = await sent_notes.correct_text(uow, caller, "Fence\x00 mended twice",
                                                  rules=FieldRules())
    assert corrected.corrected is not None and corrected.corrected.version == 2
    async with db.reading() as uow:
        [note] = (await uow.session.scalars(select(Note))).all()
    assert note.text == "Fence mended twice"


async def test_a_nul_in_an_inspection_remark_is_removed_and_an_invisible_one_refused(
    db: Database,
) -> None:
    await seed_campaign(db)
    await make_inspector(db, INSPECTOR, "C1", "Inspector Zhou")
    caller = Caller(telegram_user_id=INSPECTOR, now=now())
    async with db.transaction() as uow:
        screen = (await inspections.start(uow, caller, code="V2", rules=FieldRules())).screen
    assert screen is not None and screen.step == "verdict"
    async with db.transaction() as uow:
        screen = (await inspections.dialogue_tap(uow, caller, screen.nonce, screen.version,
                                                 "va", rules=FieldRules())).screen
    assert screen is not None and screen.step == "remark"
    async with db.transaction() as uow:
        refused = (await inspections.dialogue_text(uow, caller, ZERO_WIDTH,
                                                   rules=FieldRules())).screen
    assert refused is not None and refused.step == "remark"
    assert refused.error == "inspect.err.remark_invisible" and refused.recap.remark is None
    async with db.transaction() as uow:
        screen = (await inspections.dialogue_text(uow, caller, "Lamps\x00 all work.",
                                                  rules=FieldRules())).screen
    assert screen is not None and screen.step == "evidence"
    assert screen.recap.remark == "Lamps all work."
    async with db.transaction() as uow:
        saved = await inspections.dialogue_tap(uow, caller, screen.nonce, screen.version, "s",
                                               rules=FieldRules())
    assert saved.done is not None
    async with db.reading() as uow:
        [inspection] = (await uow.session.scalars(select(Inspection))).all()
    assert inspection.remark == "Lamps all work."
    assert "\x00" not in await audit_text(db)


async def test_a_nul_in_an_appeal_and_its_answer_is_removed_and_invisible_ones_refused(
    db: Database,
) -> None:
    await seed_campaign(db)
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    async with db.transaction() as uow:
        await grant_role(uow, telegram_user_id=AUDITOR, role=Role.AUDITOR, unit_code=None,
                         name="Auditor Zhao", actor="test")
        unit = await uow.units.by_code("V1")
        assert unit is not None
        run = await uow.appraisal.add_run(AppraisalRun(
            period="2026-Q3", version=1, status=AppraisalStatus.PUBLISHED, computed_at=now(),
            computed_by="t", published_at=now(), published_by="t", config_hash="c",
            results_hash="r", summary={}))
        await uow.appraisal.add_results([{
            "run_id": run.id, "kind": "cadre", "unit_id": unit.id, "person_id": person_id,
            "status": "graded", "score": 60.0, "grade": "fair", "rank": 1, "responses": 20,
            "recognition": False, "exaggeration": False, "detail": {"name": "Cadre Wang"}}])
    cadre = Caller(telegram_user_id=CADRE, now=now(), client_language="en")
    auditor = Caller(telegram_user_id=AUDITOR, now=now(), client_language="en")

    with pytest.raises(Refused) as caught:
        async with db.transaction() as uow:
            await appeals.file_appeal(uow, cadre, ZERO_WIDTH * 4)
    assert caught.value.key == "appeal_invisible"
    async with db.transaction() as uow:
        filed = await appeals.file_appeal(uow, cadre, "The\x00 road was inspected too early")
    assert filed.reason == "The road was inspected too early"
    with pytest.raises(Refused) as caught:
        async with db.transaction() as uow:
            await appeals.answer_appeal(uow, auditor, filed.appeal_id, appeals.UPHOLD,
                                        "\u2060\x00\u200b")
    assert caught.value.key == "answer_invisible"
    async with db.transaction() as uow:
        await appeals.answer_appeal(uow, auditor, filed.appeal_id, appeals.UPHOLD,
                                    "Agreed\x00, redone.")
    async with db.reading() as uow:
        [appeal] = (await uow.session.scalars(select(Appeal))).all()
    assert appeal.reason == "The road was inspected too early"
    assert appeal.answer == "Agreed, redone."
    assert "\x00" not in await audit_text(db)
