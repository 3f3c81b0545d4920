"""Use cases of cadres' progress notes on a real database (no Telegram): the draft, saving
with its audit event, corrections and withdrawals in the window, and every refusal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TypeVar

import pytest
from sqlalchemy import select

from storage.evidence import StoredFile
from storage.models import AdminDialogue, AuditEvent, Evidence, Note, NoteStatus, Role
from storage.uow import Database, UnitOfWork
from surveys.fieldwork import notes, sent_notes
from surveys.fieldwork.rules import FieldRules
from surveys.people.access import UnitTree
from surveys.people.caller import Caller, Refused
from surveys.people.roles import grant_role
from surveys.people.units import import_units
from tests.conftest import TEST_UNITS
from tests.e2e.fieldwork import make_cadre, set_unit_centre

T = TypeVar("T")
CADRE = 501
OTHER = 502
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RULES = FieldRules(note_max_length=40, max_photos=2, default_radius_km=10.0)


def caller(at: datetime = T0, user: int = CADRE) -> Caller:
    return Caller(telegram_user_id=user, now=at, client_language="en")


def photo(n: int) -> StoredFile:
    digest = f"{n:064x}"
    return StoredFile(digest, f"{digest[:2]}/{digest}.png", 100 + n, "image/png")


async def run(db: Database, use_case: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """One transaction, as the chat layer runs a use case (a refusal rolls it back)."""
    async with db.transaction() as uow:
        return await use_case(uow)


async def refused(db: Database, use_case: Callable[[UnitOfWork], Awaitable[object]]) -> str:
    with pytest.raises(Refused) as caught:
        await run(db, use_case)
    return caught.value.key


@pytest.fixture
async def cadre(db: Database) -> int:
    async with db.transaction() as uow:
        await import_units(uow, TEST_UNITS, actor="test")
    return await make_cadre(db, CADRE, "V1", "Cadre Wang", ["Road repair", "Water supply"])


async def tasks_of(db: Database, person_id: int) -> list[int]:
    async with db.reading() as uow:
        return [task.id for task in (await uow.cadres.tasks([person_id]))[person_id]]


async def dialogue(db: Database, person_id: int) -> AdminDialogue | None:
    async with db.reading() as uow:
        return await uow.session.get(AdminDialogue, person_id)


async def rows(db: Database, model: type[T]) -> list[T]:
    async with db.reading() as uow:
        return list((await uow.session.scalars(select(model))).all())


async def audit(db: Database, action: str) -> list[AuditEvent]:
    async with db.reading() as uow:
        return list((await uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )).all())


async def save(db: Database, text: str, task: int, at: datetime = T0,
               user: int = CADRE) -> notes.SavedNote:
    draft = (await run(db, lambda uow: notes.start_note(uow, caller(at, user), text,
                                                        rules=RULES))).draft
    tapped = await run(db, lambda uow: notes.draft_tap(uow, caller(at, user), draft.nonce,
                                                       draft.version, f"t{task}", rules=RULES))
    assert tapped.saved is not None
    return tapped.saved


# --- who may write notes --------------------------------------------------------------------


async def test_strangers_residents_and_admins_are_not_cadres(db: Database, cadre: int) -> None:
    async with db.transaction() as uow:
        await uow.contacts.get_or_create(601, 601)  # a resident: a contact, no person
        await grant_role(uow, telegram_user_id=602, role=Role.ADMIN, unit_code=None,
                         name="Admin", actor="test")
    for user in (600, 601, 602):
        who = caller(user=user)
        assert await refused(db, partial(notes.start_note, caller=who, rules=RULES)) == "not_cadre"
        assert await refused(db, partial(sent_notes.recent_notes, caller=who,
                                         rules=RULES)) == "not_cadre"
        assert await refused(db, partial(notes.draft_photo, caller=who, stored=photo(1),
                                         file_unique_id="u1", caption=None,
                                             rules=RULES)) == "not_cadre"
    assert await rows(db, AdminDialogue) == [] and await rows(db, Evidence) == []


async def test_presence_is_a_cheap_read(db: Database, cadre: int) -> None:
    async with db.reading() as uow:
        assert await notes.presence(uow, 999) == notes.Presence(False, None, 0, "en")
        assert await notes.presence(uow, CADRE) == notes.Presence(True, None, 0, "en")
    await run(db, lambda uow: notes.draft_photo(uow, caller(), photo(1), "u1", None, rules=RULES))
    async with db.reading() as uow:
        assert await notes.presence(uow, CADRE, "zh") == notes.Presence(True, "note", 1, "zh")


# --- the draft ------------------------------------------------------------------------------


async def test_a_note_with_a_photo_location_and_task_is_saved_and_audited(
    db: Database, cadre: int,
) -> None:
    await set_unit_centre(db, "V1", 30.0, 120.0, 2.0)
    started = await run(db, lambda uow: notes.start_note(uow, caller(), rules=RULES))
    assert started.added == "started" and not started.draft.ready
    added = await run(db, lambda uow: notes.draft_photo(uow, caller(), photo(1), "u1",
                                                        "Culvert cleared", rules=RULES))
    assert added.draft.text == "Culvert cleared" and added.draft.photos == 1
    assert added.draft.version > started.draft.version
    located = await run(db, lambda uow: notes.draft_location(uow, caller(), 30.003, 120.0,
                                                             rules=RULES))
    place = located.draft.place
    assert place is not None and place.far is False and place.centre == "Willow Village"
    road, _water = await tasks_of(db, cadre)
    tapped = await run(db, lambda uow: notes.draft_tap(
        uow, caller(), located.draft.nonce, located.draft.version, f"t{road}", rules=RULES))
    saved = tapped.saved
    assert saved is not None and saved.task == "Road repair" and saved.photos == 1
    assert saved.unit == "Willow Village"
    [note] = await rows(db, Note)
    assert (note.text, note.task_id, note.version) == ("Culvert cleared", road, 1)
    assert note.status == NoteStatus.SUBMITTED and note.far_from_unit is False
    [evidence] = await rows(db, Evidence)
    assert evidence.note_id == note.id
    [event] = await audit(db, "note.create")
    assert event.actor == f"person:{cadre}"
    assert event.after == {
        "text": "Culvert cleared", "version": 1, "status": "submitted", "unit": "V1",
        "task_id": road, "task": "Road repair",
        "evidence": [{"sha256": photo(1).sha256, "size_bytes": 101, "media_type": "image/png"}],
        "latitude": 30.003, "longitude": 120.0, "distance_km": note.distance_km,
        "far_from_unit": False,
    }
    assert await dialogue(db, cadre) is None


async def test_other_or_none_saves_a_note_without_a_task(db: Database, cadre: int) -> None:
    saved = await save(db, "Met the contractor", notes.OTHER_TASK)
    assert saved.task is None and saved.photos == 0 and saved.place is None
    [note] = await rows(db, Note)
    assert note.task_id is None and note.unit_id is not None


async def test_text_over_the_limit_is_refused_and_the_draft_keeps_its_text(
    db: Database, cadre: int,
) -> None:
    first = await run(db, lambda uow: notes.start_note(uow, caller(), "Short", rules=RULES))
    long_text = "  " + "x" * 41 + "  "
    outcome = await run(db, lambda uow: notes.draft_text(uow, caller(), long_text, rules=RULES))
    assert outcome.too_long == notes.TooLong("x" * 41, 41, 40)
    assert outcome.draft.text == "Short"
    assert outcome.draft.version == first.draft.version, "unchanged: old buttons still work"
    # Exactly at the limit is fine.
    at_limit = await run(db, lambda uow: notes.draft_text(uow, caller(), "y" * 40, rules=RULES))
    assert at_limit.too_long is None and at_limit.draft.text == "y" * 40


async def test_over_long_text_in_the_command_or_a_caption_is_refused_not_cut(
    db: Database, cadre: int,
) -> None:
    started = await run(db, lambda uow: notes.start_note(uow, caller(), "z" * 50, rules=RULES))
    assert started.too_long is not None and started.too_long.length == 50
    assert started.draft.text == ""
    with_photo = await run(db, lambda uow: notes.draft_photo(uow, caller(), photo(1), "u1",
                                                             "c" * 45, rules=RULES))
    assert with_photo.too_long is not None and with_photo.too_long.text == "c" * 45
    assert with_photo.draft.photos == 1 and with_photo.draft.text == "", "photo kept"


async def test_typing_note_again_resumes_the_draft(db: Database, cadre: int) -> None:
    await run(db, lambda uow: notes.draft_photo(uow, caller(), photo(1), "u1", "Kept", rules=RULES))
    again = await run(db, lambda uow: notes.start_note(uow, caller(), rules=RULES))
    assert again.added == "resumed" and again.draft.photos == 1 and again.draft.text == "Kept"
    replaced = await run(db, lambda uow: notes.start_note(uow, caller(), "New words", rules=RULES))
    assert replaced.draft.text == "New words" and replaced.draft.photos == 1


async def test_photos_beyond_the_limit_are_refused_and_a_repeat_is_kept_once(
    db: Database, cadre: int,
) -> None:
    await run(db, lambda uow: notes.draft_photo(uow, caller(), photo(1), "u1", None, rules=RULES))
    repeat = await run(db, lambda uow: notes.draft_photo(uow, caller(), photo(1), "u1", None,
                                                         rules=RULES))
    assert repeat.added == "same_photo" and repeat.draft.photos == 1
    await run(db, lambda uow: notes.draft_photo(uow, caller(), photo(2), "u2", None, rules=RULES))
    assert await refused(db, lambda uow: notes.draft_photo(uow, caller(), photo(3), "u3",
                                                           "caption",
                                                               rules=RULES)) == "too_many_photos"
    assert len(await rows(db, Evidence)) == 2
    row = await dialogue(db, cadre)
    assert row is not None and row.data["text"] == "", "the refused photo's caption not taken"


async def test_locations_far_unchecked_and_invalid(db: Database, cadre: int) -> None:
    unchecked = await run(db, lambda uow: notes.draft_location(uow, caller(), 31.0, 121.0,
                                                               rules=RULES))
    place = unchecked.draft.place
    assert place is not None and place.distance_km is None and place.far is None
    # A village without a centre is checked against its township's.
    await set_unit_centre(db, "T1", 30.0, 120.0, None)
    far = await run(db, lambda uow: notes.draft_location(uow, caller(), 30.5, 120.0, rules=RULES))
    place = far.draft.place
    assert place is not None and place.far is True and place.radius_km == 10.0
    assert place.centre == "North Township" and place.distance_km == pytest.approx(55.6, 0.01)
    for lat, lon in ((91.0, 0.0), (0.0, 181.0), (float("nan"), 0.0)):
        assert await refused(db, partial(notes.draft_location, caller=caller(), latitude=lat,
                                         longitude=lon, rules=RULES)) == "bad_location"
    saved_place = far.draft.place
    await run(db, lambda uow: notes.draft_text(uow, caller(), "Far away", rules=RULES))
    saved = await save_current(db, cadre, notes.OTHER_TASK)
    assert saved.place == saved_place
    [note] = await rows(db, Note)
    assert note.far_from_unit is True and note.latitude == 30.5


async def save_current(db: Database, person_id: int, task: int) -> notes.SavedNote:
    """Save the draft in progress, as a tap on its latest prompt."""
    row = await dialogue(db, person_id)
    assert row is not None
    tapped = await run(db, lambda uow: notes.draft_tap(uow, caller(), row.data["nonce"],
                                                       row.version, f"t{task}", rules=RULES))
    assert tapped.saved is not None
    return tapped.saved


def test_locate_prefers_the_unit_whose_area_holds_the_point() -> None:
    from storage.models import Unit

    units = [Unit(id=1, code="T1", name="North Township", type="township", parent_id=None),
             Unit(id=2, code="V1", name="Willow Village", type="village", parent_id=1,
                  latitude=30.0, longitude=120.0, radius_km=1.0),
             Unit(id=3, code="V2", name="Pine Village", type="village", parent_id=1,
                  latitude=30.1, longitude=120.0, radius_km=5.0)]
    tree = UnitTree(units)
    # 8.9 km from Willow (outside its 1 km), 2.2 km from Pine (inside its 5 km).
    place = notes.locate(tree, [2, 3], 30.08, 120.0, 10.0)
    assert place.unit_id == 3 and place.far is False and place.centre == "Pine Village"
    # Outside both: the nearer one.
    place = notes.locate(tree, [2, 3], 29.9, 120.0, 10.0)
    assert place.unit_id == 2 and place.far is True


async def test_taps_that_are_stale_forged_or_premature_change_nothing(
    db: Database, cadre: int,
) -> None:
    other = await make_cadre(db, OTHER, "V2", "Cadre Zhao", ["Other's task"])
    [others_task] = await tasks_of(db, other)
    road, _ = await tasks_of(db, cadre)
    empty = (await run(db, lambda uow: notes.start_note(uow, caller(), rules=RULES))).draft
    assert await refused(db, lambda uow: notes.draft_tap(
        uow, caller(), empty.nonce, empty.version, f"t{road}", rules=RULES)) == "no_text"
    draft = (await run(db, lambda uow: notes.draft_text(uow, caller(), "Words", rules=RULES))).draft
    assert await refused(db, lambda uow: notes.draft_tap(
        uow, caller(), empty.nonce, empty.version, f"t{road}", rules=RULES)) == "stale"
    assert await refused(db, lambda uow: notes.draft_tap(
        uow, caller(), "ffffff", draft.version, f"t{road}", rules=RULES)) == "stale"
    for choice in (f"t{others_task}", "t999999", "zz"):
        assert await refused(db, partial(notes.draft_tap, caller=caller(), nonce=draft.nonce,
                                         version=draft.version, choice=choice,
                                             rules=RULES)) == "forged"
    # Another cadre tapping this cadre's button meets their own (absent) draft.
    assert await refused(db, lambda uow: notes.draft_tap(
        uow, caller(user=OTHER), draft.nonce, draft.version, f"t{road}", rules=RULES)) == "stale"
    assert await rows(db, Note) == []
    # An inactive task cannot be chosen either.
    async with db.transaction() as uow:
        task = await uow.cadres.task(road)
        assert task is not None
        task.active = False
    assert await refused(db, lambda uow: notes.draft_tap(
        uow, caller(), draft.nonce, draft.version, f"t{road}", rules=RULES)) == "forged"


async def test_cancel_by_command_or_button(db: Database, cadre: int) -> None:
    assert not (await run(db, lambda uow: notes.cancel(uow, caller()))).cancelled
    await run(db, lambda uow: notes.draft_photo(uow, caller(), photo(1), "u1", "x", rules=RULES))
    assert (await run(db, lambda uow: notes.cancel(uow, caller()))).cancelled
    assert await dialogue(db, cadre) is None
    [evidence] = await rows(db, Evidence)
    assert evidence.note_id is None, "received, tied to no note"
    draft = (await run(db, lambda uow: notes.start_note(uow, caller(), "y", rules=RULES))).draft
    tapped = await run(db, lambda uow: notes.draft_tap(uow, caller(), draft.nonce,
                                                       draft.version, "x", rules=RULES))
    assert tapped.cancelled == notes.KIND and tapped.saved is None
    assert await rows(db, Note) == []


async def test_remember_prompt_retires_the_one_replaced_or_itself_if_outdated(
    db: Database, cadre: int,
) -> None:
    first = (await run(db, lambda uow: notes.start_note(uow, caller(), "a", rules=RULES))).draft
    assert await run(db, lambda uow: notes.remember_prompt(
        uow, CADRE, first.nonce, first.version, 10)) is None
    second = (await run(db, lambda uow: notes.draft_text(uow, caller(), "b", rules=RULES))).draft
    third = (await run(db, lambda uow: notes.draft_text(uow, caller(), "c", rules=RULES))).draft
    assert await run(db, lambda uow: notes.remember_prompt(
        uow, CADRE, third.nonce, third.version, 12)) == 10
    # The second prompt arrives late: it is the outdated one.
    assert await run(db, lambda uow: notes.remember_prompt(
        uow, CADRE, second.nonce, second.version, 11)) == 11
    row = await dialogue(db, cadre)
    assert row is not None and row.data["msg"] == 12 and row.version == third.version


# --- /notes, corrections, withdrawals -------------------------------------------------------


async def test_recent_notes_newest_first_with_what_can_still_change(
    db: Database, cadre: int,
) -> None:
    road, water = await tasks_of(db, cadre)
    old = await save(db, "Old note", road, T0 - timedelta(hours=30))
    await run(db, lambda uow: notes.draft_photo(uow, caller(), photo(1), "u1", "With photo",
                                                rules=RULES))
    with_photo = await save_current(db, cadre, water)
    gone = await save(db, "To withdraw", notes.OTHER_TASK)
    await run(db, lambda uow: sent_notes.withdraw(uow, caller(), gone.id, 1, rules=RULES))
    listed = await run(db, lambda uow: sent_notes.recent_notes(uow, caller(), rules=RULES))
    assert [n.id for n in listed.notes] == [gone.id, with_photo.id, old.id]
    by_id = {n.id: n for n in listed.notes}
    assert by_id[with_photo.id].photos == 1 and by_id[with_photo.id].task == "Water supply"
    assert by_id[with_photo.id].changeable_until == T0 + timedelta(hours=24)
    assert by_id[old.id].changeable_until is None, "outside the window"
    assert by_id[gone.id].withdrawn and by_id[gone.id].changeable_until is None
    assert listed.window == timedelta(hours=24)


async def test_correct_within_the_window_keeps_every_version(db: Database, cadre: int) -> None:
    road, _ = await tasks_of(db, cadre)
    saved = await save(db, "Fixed 3 lights", road)
    later = T0 + timedelta(hours=23)
    prompt = await run(db, lambda uow: sent_notes.ask_correction(uow, caller(later), saved.id, 1,
                                                                 rules=RULES))
    assert prompt.note.text == "Fixed 3 lights"
    too_long = await run(db, lambda uow: sent_notes.correct_text(uow, caller(later), "w" * 41,
                                                                 rules=RULES))
    assert too_long.too_long is not None and too_long.corrected is None
    row = await dialogue(db, cadre)
    assert row is not None and row.kind == notes.FIX_KIND, "still waiting for the text"
    done = await run(db, lambda uow: sent_notes.correct_text(uow, caller(later), "Fixed 4 lights",
                                                             rules=RULES))
    assert done.corrected == sent_notes.NoteChange(saved.id, 2)
    await run(db, lambda uow: sent_notes.ask_correction(uow, caller(later), saved.id, 2,
                                                        rules=RULES))
    await run(db, lambda uow: sent_notes.correct_text(uow, caller(later), "Fixed 5 lights",
                                                      rules=RULES))
    [note] = await rows(db, Note)
    assert note.text == "Fixed 5 lights" and note.version == 3 and note.updated_at == later
    events = await audit(db, "note.correct")
    assert [(e.before, e.after) for e in events] == [
        ({"text": "Fixed 3 lights", "version": 1}, {"text": "Fixed 4 lights", "version": 2}),
        ({"text": "Fixed 4 lights", "version": 2}, {"text": "Fixed 5 lights", "version": 3}),
    ]
    # The same text again is no new version.
    await run(db, lambda uow: sent_notes.ask_correction(uow, caller(later), saved.id, 3,
                                                        rules=RULES))
    same = await run(db, lambda uow: sent_notes.correct_text(uow, caller(later), "Fixed 5 lights",
                                                             rules=RULES))
    assert same.corrected == sent_notes.NoteChange(saved.id, 3, changed=False)
    assert len(await audit(db, "note.correct")) == 2


async def test_corrections_and_withdrawals_after_the_window_are_refused(
    db: Database, cadre: int,
) -> None:
    saved = await save(db, "Planted trees", notes.OTHER_TASK)
    late = caller(T0 + timedelta(hours=24, seconds=1))
    with pytest.raises(Refused) as caught:
        await run(db, lambda uow: sent_notes.ask_correction(uow, late, saved.id, 1, rules=RULES))
    assert caught.value.key == "window_closed"
    assert caught.value.params == {"id": saved.id, "hours": "24", "sent_at": T0}
    assert await refused(db, lambda uow: sent_notes.check_withdraw(uow, late, saved.id, 1,
                                                                   rules=RULES)) \
        == "window_closed"
    assert await refused(db, lambda uow: sent_notes.withdraw(uow, late, saved.id, 1, rules=RULES)) \
        == "window_closed"
    # Exactly at the end of the window it still can.
    edge = caller(T0 + timedelta(hours=24))
    await run(db, lambda uow: sent_notes.check_withdraw(uow, edge, saved.id, 1, rules=RULES))
    # A correction asked in time but typed too late ends with the reason.
    await run(db, lambda uow: sent_notes.ask_correction(uow, edge, saved.id, 1, rules=RULES))
    outcome = await run(db, lambda uow: sent_notes.correct_text(uow, late, "Planted more trees",
                                                                rules=RULES))
    assert outcome.refused is not None and outcome.refused.key == "window_closed"
    assert await dialogue(db, cadre) is None
    [note] = await rows(db, Note)
    assert note.text == "Planted trees" and note.status == NoteStatus.SUBMITTED
    assert await audit(db, "note.correct") == [] and await audit(db, "note.withdraw") == []


async def test_a_shorter_window_from_settings_applies(db: Database, cadre: int) -> None:
    saved = await save(db, "Quick one", notes.OTHER_TASK)
    rules = FieldRules(note_max_length=40, correction_window=timedelta(hours=2))
    assert await refused(db, lambda uow: sent_notes.withdraw(
        uow, caller(T0 + timedelta(hours=3)), saved.id, 1, rules=rules)) == "window_closed"


async def test_only_the_author_may_change_a_note(db: Database, cadre: int) -> None:
    await make_cadre(db, OTHER, "V2", "Cadre Zhao", [])
    saved = await save(db, "Mine", notes.OTHER_TASK)
    for use_case in (sent_notes.ask_correction, sent_notes.check_withdraw, sent_notes.withdraw):
        assert await refused(db, partial(use_case, caller=caller(user=OTHER),
                                         note_id=saved.id, version=1, rules=RULES)) == "no_note"
    assert await refused(db, lambda uow: sent_notes.withdraw(uow, caller(), 99999, 1,
                                                             rules=RULES)) == "no_note"
    [note] = await rows(db, Note)
    assert note.status == NoteStatus.SUBMITTED


async def test_withdraw_is_audited_and_final(db: Database, cadre: int) -> None:
    saved = await save(db, "Withdraw me", notes.OTHER_TASK)
    assert await refused(db, lambda uow: sent_notes.withdraw(uow, caller(), saved.id, 2,
                                                             rules=RULES)) == "stale"
    question = await run(db, lambda uow: sent_notes.check_withdraw(uow, caller(), saved.id, 1,
                                                                   rules=RULES))
    assert question.note.text == "Withdraw me" and question.lang == "en"
    done = await run(db, lambda uow: sent_notes.withdraw(uow, caller(), saved.id, 1, rules=RULES))
    assert done.withdrawn == sent_notes.NoteChange(saved.id, 1)
    [note] = await rows(db, Note)
    assert note.status == NoteStatus.WITHDRAWN and note.withdrawn_at == T0
    [event] = await audit(db, "note.withdraw")
    assert event.before == {"status": "submitted", "version": 1, "text": "Withdraw me"}
    assert event.after == {"status": "withdrawn", "version": 1}
    for use_case in (sent_notes.ask_correction, sent_notes.withdraw):
        assert await refused(db, partial(use_case, caller=caller(), note_id=saved.id,
                                         version=1, rules=RULES)) == "withdrawn"


async def test_a_correction_does_not_throw_away_a_draft_in_progress(
    db: Database, cadre: int,
) -> None:
    saved = await save(db, "Earlier", notes.OTHER_TASK)
    await run(db, lambda uow: notes.draft_photo(uow, caller(), photo(1), "u1", None, rules=RULES))
    assert await refused(db, lambda uow: sent_notes.ask_correction(uow, caller(), saved.id, 1,
                                                                   rules=RULES)) \
        == "draft_open"
    row = await dialogue(db, cadre)
    assert row is not None and row.kind == notes.KIND and len(row.data["evidence"]) == 1
    # An empty draft gives way.
    await run(db, lambda uow: notes.cancel(uow, caller()))
    await run(db, lambda uow: notes.start_note(uow, caller(), rules=RULES))
    await run(db, lambda uow: sent_notes.ask_correction(uow, caller(), saved.id, 1, rules=RULES))
    assert await refused(db, lambda uow: sent_notes.correct_text(uow, caller(), "   ",
                                                                 rules=RULES)) \
        == "empty_text"
    # A correction's Cancel button ends it.
    row = await dialogue(db, cadre)
    assert row is not None
    tapped = await run(db, lambda uow: notes.draft_tap(uow, caller(), row.data["nonce"],
                                                       row.version, "x", rules=RULES))
    assert tapped.cancelled == notes.FIX_KIND
    assert await refused(db, lambda uow: sent_notes.correct_text(uow, caller(), "late",
                                                                 rules=RULES)) \
        == "no_dialogue"
