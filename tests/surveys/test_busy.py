"""One dialogue row per person: /note, a note's correction, /inspect and /newcampaign never
throw one another's work away, and the use cases that start them lock rows in one order
(the person first), on a real database (no Telegram)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from sqlalchemy import delete, event
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import ORMExecuteState, Session

from storage.evidence import StoredFile
from storage.models import AdminDialogue, PersonRole, Role
from storage.uow import Database, UnitOfWork
from surveys.appraisal import appeals
from surveys.campaigns import dialogue
from surveys.campaigns.operations import Burden
from surveys.cases import steps as case_steps
from surveys.fieldwork import inspections, notes, sent_notes
from surveys.fieldwork.rules import FieldRules
from surveys.people import busy
from surveys.people.caller import Caller, Refused
from surveys.people.roles import grant_role
from surveys.people.units import import_units
from tests.conftest import TEST_UNITS
from tests.e2e.fieldwork import make_cadre, make_inspector

T = TypeVar("T")
USER = 701
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RULES = FieldRules(note_max_length=80, max_photos=2)


def note_caller() -> Caller:
    return Caller(telegram_user_id=USER, now=NOW, client_language="en")


def inspector_caller() -> Caller:
    return Caller(telegram_user_id=USER, now=NOW)


def admin_caller() -> Caller:
    return Caller(telegram_user_id=USER, now=NOW)


def photo(n: int) -> StoredFile:
    digest = f"{n:064x}"
    return StoredFile(digest, f"{digest[:2]}/{digest}.png", 100 + n, "image/png")


async def run(db: Database, use_case: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    async with db.transaction() as uow:
        return await use_case(uow)


async def refusal(db: Database, use_case: Callable[[UnitOfWork], Awaitable[object]],
                  ) -> tuple[str, dict[str, object]]:
    """The key and parameters a use case refuses with (any of the three modules' kinds)."""
    with pytest.raises(Refused) as caught:
        await run(db, use_case)
    error: Any = caught.value
    return error.key, error.params


async def row(db: Database, person_id: int) -> AdminDialogue | None:
    async with db.reading() as uow:
        return await uow.session.get(AdminDialogue, person_id)


@pytest.fixture
async def person(db: Database) -> int:
    """A cadre of Willow Village who is also an inspector of Pine Village and an admin."""
    async with db.transaction() as uow:
        await import_units(uow, TEST_UNITS, actor="test")
    person_id = await make_cadre(db, USER, "V1", "Wang Fang", ["Road repair"])
    await make_inspector(db, USER, "V2", "Wang Fang")
    async with db.transaction() as uow:
        await grant_role(uow, telegram_user_id=USER, role=Role.ADMIN, unit_code=None,
                         name="Wang Fang", actor="test")
    return person_id


def test_the_kinds_are_the_modules_own() -> None:
    assert (notes.KIND, notes.FIX_KIND, inspections.KIND, dialogue.KIND) == (
        busy.NOTE, busy.NOTE_FIX, busy.INSPECT, busy.NEW_CAMPAIGN)
    assert (appeals.REASON_KIND, appeals.ANSWER_KIND) == (busy.APPEAL, busy.APPEAL_ANSWER)
    assert set(case_steps.KINDS) == {busy.CASE_ASK, busy.CASE_RESOLVE, busy.CASE_REASON}
    assert set(busy.ROLES_OF_KIND) == {busy.NOTE, busy.NOTE_FIX, busy.INSPECT,
                                       busy.NEW_CAMPAIGN, busy.APPEAL, busy.APPEAL_ANSWER,
                                       *case_steps.KINDS}


async def test_a_note_draft_is_kept_when_inspect_or_newcampaign_is_sent(
    db: Database, person: int,
) -> None:
    await run(db, lambda uow: notes.draft_photo(uow, note_caller(), photo(1), "u1",
                                                "Drain cleared", rules=RULES))
    before = await row(db, person)
    assert before is not None
    assert await refusal(db, lambda uow: inspections.start(uow, inspector_caller(),
                                                           rules=RULES)) == (
        "busy.note", {"command": "/inspect"})
    assert await refusal(db, lambda uow: inspections.start(uow, inspector_caller(),
                                                           code="V2", rules=RULES)) == (
        "busy.note", {"command": "/inspect"})
    assert await refusal(db, lambda uow: dialogue.start_dialogue(uow, admin_caller(),
                                                                 burden=Burden())) == (
        "busy.note", {"command": "/newcampaign"})
    after = await row(db, person)
    assert after is not None and after.kind == notes.KIND
    assert (after.version, after.data) == (before.version, before.data), "not touched"
    # The same kind again keeps its behaviour: /note resumes the draft.
    resumed = await run(db, lambda uow: notes.start_note(uow, note_caller(), rules=RULES))
    assert resumed.added == "resumed" and resumed.draft.text == "Drain cleared"
    assert resumed.draft.photos == 1


async def test_an_inspection_is_kept_when_note_newcampaign_or_a_photo_comes(
    db: Database, person: int,
) -> None:
    started = await run(db, lambda uow: inspections.start(uow, inspector_caller(), code="V2",
                                                          rules=RULES))
    assert started.screen is not None
    for use_case in (
        lambda uow: notes.start_note(uow, note_caller(), "Typed with the command", rules=RULES),
        lambda uow: notes.draft_photo(uow, note_caller(), photo(2), "u2", "caption", rules=RULES),
        lambda uow: notes.draft_location(uow, note_caller(), 30.0, 120.0, rules=RULES),
    ):
        assert await refusal(db, use_case) == ("busy.inspect", {"command": "/note"})
    assert await refusal(db, lambda uow: dialogue.start_dialogue(uow, admin_caller(),
                                                                 burden=Burden())) == (
        "busy.inspect", {"command": "/newcampaign"})
    kept = await row(db, person)
    assert kept is not None and kept.kind == inspections.KIND
    assert kept.data["nonce"] == started.screen.nonce and kept.step == "verdict"
    # /inspect again still starts afresh (the same kind).
    again = await run(db, lambda uow: inspections.start(uow, inspector_caller(), rules=RULES))
    assert again.screen is not None and again.screen.nonce != started.screen.nonce


async def test_a_new_campaign_and_a_correction_are_kept_too(db: Database, person: int) -> None:
    await run(db, lambda uow: dialogue.start_dialogue(uow, admin_caller(), burden=Burden()))
    assert await refusal(db, lambda uow: notes.start_note(uow, note_caller(), rules=RULES)) == (
        "busy.newcampaign", {"command": "/note"})
    assert await refusal(db, lambda uow: inspections.start(uow, inspector_caller(),
                                                           rules=RULES)) == (
        "busy.newcampaign", {"command": "/inspect"})
    await run(db, lambda uow: dialogue.cancel_dialogue(uow, admin_caller()))

    draft = (await run(db, lambda uow: notes.start_note(uow, note_caller(), "Earlier",
                                                        rules=RULES))).draft
    saved = await run(db, lambda uow: notes.draft_tap(uow, note_caller(), draft.nonce,
                                                      draft.version, "t0", rules=RULES))
    assert saved.saved is not None
    note_id = saved.saved.id
    # Correct is refused during an inspection (it would replace the row) ...
    await run(db, lambda uow: inspections.start(uow, inspector_caller(), rules=RULES))
    assert await refusal(db, lambda uow: sent_notes.ask_correction(uow, note_caller(), note_id,
                                                              1, rules=RULES)) == (
        "busy.inspect", {"command": "/notes"})
    await run(db, lambda uow: inspections.cancel(uow, inspector_caller()))
    # ... and a correction waiting for its text is not dropped by another command.
    await run(db, lambda uow: sent_notes.ask_correction(uow, note_caller(), note_id, 1,
                                                        rules=RULES))
    for use_case, command in (
        (lambda uow: notes.start_note(uow, note_caller(), rules=RULES), "/note"),
        (lambda uow: inspections.start(uow, inspector_caller(), rules=RULES), "/inspect"),
        (lambda uow: dialogue.start_dialogue(uow, admin_caller(), burden=Burden()), "/newcampaign"),
    ):
        assert await refusal(db, use_case) == ("busy.note_fix",
                                               {"command": command, "id": note_id})
    waiting = await row(db, person)
    assert waiting is not None and waiting.kind == notes.FIX_KIND
    corrected = await run(db, lambda uow: sent_notes.correct_text(uow, note_caller(), "Later",
                                                                  rules=RULES))
    assert corrected.corrected is not None and corrected.corrected.version == 2


async def test_a_dialogue_of_a_role_taken_away_gives_way(db: Database, person: int) -> None:
    """Nothing could finish or cancel it any more, so it must not block the others."""
    await run(db, lambda uow: dialogue.start_dialogue(uow, admin_caller(), burden=Burden()))
    async with db.transaction() as uow:
        removed = await uow.session.execute(delete(PersonRole).where(
            PersonRole.person_id == person, PersonRole.role == Role.ADMIN))
        assert removed.rowcount == 1  # type: ignore[attr-defined]
    async with db.reading() as uow:
        found = await notes.presence(uow, USER)
    assert found.kind is None, "an abandoned dialogue is no dialogue for the chat layer"
    started = await run(db, lambda uow: notes.start_note(uow, note_caller(), "Now a note",
                                                         rules=RULES))
    assert started.added == "started"
    replaced = await row(db, person)
    assert replaced is not None and replaced.kind == notes.KIND


# --- lock order -----------------------------------------------------------------------------


@contextmanager
def row_locks() -> Iterator[list[str]]:
    """The tables whose rows are read FOR UPDATE, in order, while the block runs."""
    locked: list[str] = []
    dialect = postgresql.dialect()

    def seen(state: ORMExecuteState) -> None:
        statement: Any = state.statement
        if state.is_select and "FOR UPDATE" in str(statement.compile(dialect=dialect)):
            locked.extend(mapper.class_.__tablename__ for mapper in state.all_mappers)

    event.listen(Session, "do_orm_execute", seen)
    try:
        yield locked
    finally:
        event.remove(Session, "do_orm_execute", seen)


def first_of_each(locked: list[str]) -> list[str]:
    return list(dict.fromkeys(locked))


async def test_a_correction_locks_the_person_before_the_note(
    db: Database, person: int,
) -> None:
    """``correct_text`` locks the person, then the note; ``ask_correction`` must too, or the
    two could deadlock on PostgreSQL."""
    draft = (await run(db, lambda uow: notes.start_note(uow, note_caller(), "Text",
                                                        rules=RULES))).draft
    saved = await run(db, lambda uow: notes.draft_tap(uow, note_caller(), draft.nonce,
                                                      draft.version, "t0", rules=RULES))
    assert saved.saved is not None
    note_id = saved.saved.id
    with row_locks() as asking:
        await run(db, lambda uow: sent_notes.ask_correction(uow, note_caller(), note_id, 1,
                                                            rules=RULES))
    with row_locks() as correcting:
        await run(db, lambda uow: sent_notes.correct_text(uow, note_caller(), "New text",
                                                          rules=RULES))
    assert first_of_each(asking)[:2] == ["people", "admin_dialogues"]
    assert first_of_each(asking) == first_of_each(correcting) == [
        "people", "admin_dialogues", "notes"]


async def test_starting_an_inspection_or_a_campaign_locks_the_person_first(
    db: Database, person: int,
) -> None:
    """So two first /inspect (or /newcampaign) at once do not both insert the row."""
    with row_locks() as locked:
        await run(db, lambda uow: inspections.start(uow, inspector_caller(), rules=RULES))
    assert first_of_each(locked)[:2] == ["people", "admin_dialogues"]
    await run(db, lambda uow: inspections.cancel(uow, inspector_caller()))
    with row_locks() as locked:
        await run(db, lambda uow: dialogue.start_dialogue(uow, admin_caller(), burden=Burden()))
    assert first_of_each(locked)[:2] == ["people", "admin_dialogues"]


# --- routing --------------------------------------------------------------------------------


async def test_a_message_is_routed_by_one_read_of_the_row(db: Database, person: int) -> None:
    """``open_dialogue`` names the dialogue a message belongs to, as the chat layer's router
    reads it: none for a resident, the kind while one is open, none once it is abandoned."""
    async with db.reading() as uow:
        assert await busy.open_dialogue(uow, USER + 1) is None  # a resident: no person
        idle = await busy.open_dialogue(uow, USER)
    assert idle is not None and idle.kind is None and idle.actor.person_id == person
    await run(db, lambda uow: inspections.start(uow, inspector_caller(), rules=RULES))
    async with db.reading() as uow:
        inspecting = await busy.open_dialogue(uow, USER)
    assert inspecting is not None and inspecting.kind == busy.INSPECT
    async with db.transaction() as uow:
        await uow.session.execute(delete(PersonRole).where(
            PersonRole.person_id == person, PersonRole.role == Role.INSPECTOR))
    async with db.reading() as uow:
        abandoned = await busy.open_dialogue(uow, USER)
    assert abandoned is not None and abandoned.kind is None
    assert await row(db, person) is not None, "read only: the row is left for a use case"
