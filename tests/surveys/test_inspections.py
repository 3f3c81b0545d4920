"""The /inspect use cases against a real database: the steps, who may inspect what (roles,
scope, conflicts of interest), bad input, stale and forged taps, and what Save records."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select

from storage.evidence import StoredFile
from storage.models import (
    AdminDialogue,
    AuditEvent,
    Evidence,
    Inspection,
    PersonRole,
    Role,
    Verdict,
)
from storage.uow import Database
from surveys.fieldwork import inspections
from surveys.fieldwork.inspection_views import Screen
from surveys.fieldwork.inspections import Outcome, choice_data, parse_choice
from surveys.fieldwork.rules import FieldRules
from surveys.people.access import Actor, UnitTree
from surveys.people.caller import Caller, Refused
from surveys.people.roles import grant_role
from surveys.people.units import import_units
from tests.conftest import TEST_UNITS
from tests.e2e.fieldwork import make_cadre, make_inspector, set_unit_centre

T = TypeVar("T")
INSPECTOR = 5001
RULES = FieldRules(remark_max_length=40, max_photos=2, default_radius_km=10.0)
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
# Willow Village (V1) sits at 30.072 N, 120.025 E with a 1.5 km radius.
WILLOW = (30.072, 120.025)


def caller(user_id: int = INSPECTOR) -> Caller:
    return Caller(telegram_user_id=user_id, now=NOW)


async def run(db: Database, use_case: Callable[..., Awaitable[T]], **kwargs: Any) -> T:
    async with db.transaction() as uow:
        return await use_case(uow, **kwargs)


async def tap(db: Database, screen: Screen | None, choice: str,
              user_id: int = INSPECTOR) -> Outcome:
    assert screen is not None
    return await run(db, inspections.dialogue_tap, caller=caller(user_id), nonce=screen.nonce,
                     version=screen.version, choice=choice, rules=RULES)


async def typed(db: Database, text: str, user_id: int = INSPECTOR) -> Outcome:
    return await run(db, inspections.dialogue_text, caller=caller(user_id), typed=text, rules=RULES)


def photo(n: int) -> StoredFile:
    digest = f"{n:02x}" * 32
    return StoredFile(digest, f"{digest[:2]}/{digest}.png", 100 + n, "image/png")


def choice(screen: Screen | None, label: str) -> str:
    assert screen is not None
    found = [o.choice for o in screen.options if label in o.label]
    assert found, f"no option {label!r} in {[o.label for o in screen.options]}"
    return found[0]


async def count(db: Database, model: Any) -> int:
    async with db.reading() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(model)) or 0)


async def audits(db: Database, action: str) -> list[AuditEvent]:
    async with db.reading() as uow:
        return list((await uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )).all())


@pytest.fixture
async def field(db: Database) -> dict[str, int]:
    """Units with centres, two cadres of Willow Village with key tasks, and an inspector."""
    async with db.transaction() as uow:
        await import_units(uow, TEST_UNITS, actor="test")
    await set_unit_centre(db, "C1", 30.0, 120.0, 30.0)
    await set_unit_centre(db, "T1", 30.06, 120.01, 6.0)
    await set_unit_centre(db, "V1", *WILLOW, 1.5)
    wang = await make_cadre(db, 6001, "V1", "Wang Fang", ["Repair the road", "Clear the bank"])
    li = await make_cadre(db, 6002, "V1", "Li Ming", ["Office hours"])
    inspector = await make_inspector(db, INSPECTOR, "C1", "Inspector Zhou")
    return {"wang": wang, "li": li, "inspector": inspector}


# --- button data ----------------------------------------------------------------------------


def test_button_data_round_trips_and_forgeries_are_rejected() -> None:
    data = choice_data("a1b2c3", 7, "t123")
    assert parse_choice(data) == ("a1b2c3", 7, "t123")
    assert parse_choice(choice_data("a1b2c3", 7, "va")) == ("a1b2c3", 7, "va")
    assert len(choice_data("ffffff", 999_999_999, "u999999999999").encode()) <= 64
    for forged in (None, "", "k:a1b2c3:7:", "k:A1B2C3:7:t1", "k:a1b2c3:x:t1",
                   "k:a1b2c3:7:vz", "k:a1b2c3:7:t1;drop", "d:a1b2c3:7:t1",
                   "k:a1b2c3:7:u٣", "k:a1b2c3:7:u-1", "k:a1b2c3:7:u1_0"):
        assert parse_choice(forged) is None, forged
    # A unit id no unit has is read, and refused as "no such unit" by the step.
    assert parse_choice("k:a1b2c3:7:u1234567890123") == ("a1b2c3", 7, "u1234567890123")


def test_conflict_covers_the_cadres_unit_and_everything_inside_it() -> None:
    from storage.models import Unit

    units = [Unit(id=1, code="C1", name="County", type="county", parent_id=None),
             Unit(id=2, code="T1", name="Town", type="township", parent_id=1),
             Unit(id=3, code="V1", name="Village", type="village", parent_id=2)]
    tree = UnitTree(units)
    actor = Actor(9, "Zhou", ((Role.INSPECTOR, None), (Role.CADRE, 2)))
    assert inspections.conflict_unit(actor, tree, 2) == 2
    assert inspections.conflict_unit(actor, tree, 3) == 2
    assert inspections.conflict_unit(actor, tree, 1) is None, "the county above is not theirs"
    plain = Actor(9, "Zhou", ((Role.INSPECTOR, None),))
    assert inspections.conflict_unit(plain, tree, 3) is None


# --- a whole inspection ---------------------------------------------------------------------


async def test_an_inspection_of_a_cadres_task_is_recorded_with_its_evidence(
    db: Database, field: dict[str, int],
) -> None:
    started = await run(db, inspections.start, caller=caller(), code="v1", rules=RULES)
    screen = started.screen
    assert screen is not None and screen.step == "subject"
    assert screen.recap.unit == "Willow Village" and screen.can_go_back
    assert [o.label for o in screen.options] == ["Li Ming", "Wang Fang"]
    screen = (await tap(db, screen, f"c{field['wang']}")).screen
    assert screen is not None and screen.step == "task"
    assert [o.label for o in screen.options] == ["Repair the road", "Clear the bank"]
    screen = (await tap(db, screen, choice(screen, "Repair"))).screen
    assert screen is not None and screen.step == "verdict"
    screen = (await tap(db, screen, "vp")).screen
    assert screen is not None and screen.step == "remark"
    screen = (await typed(db, "  Half the road is paved.  ")).screen
    assert screen is not None and screen.step == "evidence"
    assert screen.recap.remark == "Half the road is paved."
    located = await run(db, inspections.add_location, caller=caller(),
                        latitude=WILLOW[0] + 0.005, longitude=WILLOW[1], rules=RULES)
    assert located.screen is not None and located.screen.info == "inspect.info.location_near"
    first = await run(db, inspections.add_photo, caller=caller(), stored=photo(1),
                      file_unique_id="u1", rules=RULES)
    again = await run(db, inspections.add_photo, caller=caller(), stored=photo(1),
                      file_unique_id="u1", rules=RULES)
    assert again.screen is not None and again.screen.info == "inspect.info.photo_again"
    assert again.screen.recap.photos == 1, "the same photo twice is kept once"
    assert first.screen is not None
    saved = await tap(db, again.screen, "s")

    assert saved.done is not None
    async with db.reading() as uow:
        inspection = await uow.session.get(Inspection, saved.done.inspection_id)
        assert inspection is not None
        assert (inspection.inspector_id, inspection.cadre_id) == (field["inspector"],
                                                                  field["wang"])
        assert inspection.verdict == Verdict.PARTLY
        assert inspection.remark == "Half the road is paved."
        assert inspection.far_from_unit is False
        assert inspection.distance_km is not None and 0.5 < inspection.distance_km < 0.6
        task = await uow.cadres.task(inspection.task_id or 0)
        assert task is not None and task.title == "Repair the road"
        [evidence] = (await uow.evidence.of_inspections([inspection.id]))[inspection.id]
        assert evidence.sha256 == photo(1).sha256
        assert await uow.session.get(AdminDialogue, field["inspector"]) is None
    [event] = await audits(db, "inspection.record")
    assert event.actor == f"person:{field['inspector']}"
    assert event.entity_id == str(saved.done.inspection_id)
    after = event.after or {}
    assert after["verdict"] == "partly" and after["remark"] == "Half the road is paved."
    assert after["cadre"] == "Wang Fang" and after["task"] == "Repair the road"
    assert [e["sha256"] for e in after["evidence"]] == [photo(1).sha256]
    assert after["far_from_unit"] is False and after["radius_km"] == 1.5
    assert after["latitude"] == WILLOW[0] + 0.005

    listing = await run(db, inspections.recent, caller=caller())
    [record] = listing.records
    assert (record.cadre, record.task, record.photos) == ("Wang Fang", "Repair the road", 1)


async def test_whole_unit_inspection_lists_all_its_cadres_tasks(
    db: Database, field: dict[str, int],
) -> None:
    screen = (await run(db, inspections.start, caller=caller(), code="V1", rules=RULES)).screen
    screen = (await tap(db, screen, "w")).screen
    assert screen is not None and screen.step == "task"
    assert {o.label for o in screen.options} == {
        "Repair the road · Wang Fang", "Clear the bank · Wang Fang", "Office hours · Li Ming"}
    screen = (await tap(db, screen, "g")).screen
    screen = (await tap(db, screen, "va")).screen
    screen = (await typed(db, "All fine.")).screen
    saved = await tap(db, screen, "s")
    assert saved.done is not None and saved.done.recap.whole_unit
    assert saved.done.recap.general_task
    async with db.reading() as uow:
        inspection = await uow.session.get(Inspection, saved.done.inspection_id)
        assert inspection is not None
        assert (inspection.cadre_id, inspection.task_id) == (None, None)
        assert inspection.latitude is None and inspection.far_from_unit is None


async def test_steps_with_nothing_to_choose_are_passed_over_and_back_returns(
    db: Database, field: dict[str, int],
) -> None:
    # Pine Village (V2) has no cadres: the unit as a whole, no specific task, straight on.
    screen = (await run(db, inspections.start, caller=caller(), code="V2", rules=RULES)).screen
    assert screen is not None and screen.step == "verdict"
    assert screen.recap.whole_unit and screen.recap.general_task
    screen = (await tap(db, screen, "b")).screen
    assert screen is not None and screen.step == "unit", "Back skips what was passed over"


async def test_browsing_units_from_the_top_of_the_scope(
    db: Database, field: dict[str, int],
) -> None:
    screen = (await run(db, inspections.start, caller=caller(), rules=RULES)).screen
    assert screen is not None and screen.step == "unit" and not screen.can_go_back
    assert screen.this_unit is not None and screen.this_unit.label == "Riverside County"
    [township] = screen.options
    assert township.label == "North Township" and township.drill is not None
    screen = (await tap(db, screen, township.drill)).screen
    assert screen is not None and screen.this_unit is not None
    assert [o.label for o in screen.options] == ["Pine Village", "Willow Village"]
    assert screen.up is not None
    screen = (await tap(db, screen, choice(screen, "Willow"))).screen
    assert screen is not None and screen.step == "subject"
    assert screen.recap.unit == "Willow Village"
    # A unit code typed at the unit step works too.
    screen = (await tap(db, screen, "b")).screen
    screen = (await typed(db, "t1")).screen
    assert screen is not None and screen.recap.unit == "North Township"


async def test_a_remark_keeps_its_place_when_going_back_to_change_the_verdict(
    db: Database, field: dict[str, int],
) -> None:
    screen = (await run(db, inspections.start, caller=caller(), code="V2", rules=RULES)).screen
    screen = (await tap(db, screen, "vn")).screen
    screen = (await typed(db, "Drains blocked.")).screen
    screen = (await tap(db, screen, "b")).screen
    assert screen is not None and screen.step == "remark"
    screen = (await tap(db, screen, "b")).screen
    screen = (await tap(db, screen, "vp")).screen
    assert screen is not None and screen.step == "evidence"
    assert screen.recap.remark == "Drains blocked." and screen.recap.verdict == Verdict.PARTLY
    # At the evidence step a new message replaces the remark.
    screen = (await typed(db, "Drains half cleared.")).screen
    assert screen is not None and screen.recap.remark == "Drains half cleared."


# --- bad input ------------------------------------------------------------------------------


async def test_an_over_long_remark_is_refused_whole_and_sent_back(
    db: Database, field: dict[str, int],
) -> None:
    screen = (await run(db, inspections.start, caller=caller(), code="V2", rules=RULES)).screen
    screen = (await tap(db, screen, "va")).screen
    long = "The road " + "x" * 40
    outcome = await typed(db, long)
    assert outcome.screen is not None and outcome.screen.step == "remark"
    assert outcome.screen.error == "inspect.err.remark_too_long"
    assert outcome.screen.params == {"length": len(long), "max_length": 40}
    assert outcome.echo == long, "the text comes back whole, for editing"
    assert outcome.screen.recap.remark is None, "nothing was cut and kept"
    blank = await typed(db, "   ")
    assert blank.screen is not None and blank.screen.error == "inspect.err.remark_empty"
    exact = await typed(db, "y" * 40)
    assert exact.screen is not None and exact.screen.step == "evidence"


async def test_a_far_location_is_kept_but_flagged(db: Database, field: dict[str, int]) -> None:
    screen = (await run(db, inspections.start, caller=caller(), code="V1", rules=RULES)).screen
    far = await run(db, inspections.add_location, caller=caller(), latitude=30.27,
                    longitude=120.15, rules=RULES)
    assert far.screen is not None and far.screen.info == "inspect.info.location_far"
    assert far.screen.info_params["radius"] == "1.5"
    assert 20 < float(str(far.screen.info_params["distance"])) < 30
    screen = (await tap(db, far.screen, "w")).screen
    screen = (await tap(db, screen, "g")).screen
    screen = (await tap(db, screen, "vn")).screen
    screen = (await typed(db, "Nobody there.")).screen
    saved = await tap(db, screen, "s")
    assert saved.done is not None
    async with db.reading() as uow:
        inspection = await uow.session.get(Inspection, saved.done.inspection_id)
        assert inspection is not None and inspection.far_from_unit is True
        assert inspection.distance_km is not None and inspection.distance_km > 20
    [event] = await audits(db, "inspection.record")
    assert (event.after or {})["far_from_unit"] is True


async def test_an_invalid_location_and_a_location_before_the_unit(
    db: Database, field: dict[str, int],
) -> None:
    screen = (await run(db, inspections.start, caller=caller(), rules=RULES)).screen
    bad = await run(db, inspections.add_location, caller=caller(), latitude=91.0,
                    longitude=0.0, rules=RULES)
    assert bad.screen is not None and bad.screen.error == "inspect.err.bad_location"
    early = await run(db, inspections.add_location, caller=caller(), latitude=WILLOW[0],
                      longitude=WILLOW[1], rules=RULES)
    assert early.screen is not None and early.screen.info == "inspect.info.location_kept"
    screen = (await typed(db, "V1")).screen
    assert screen is not None and screen.recap.location is not None
    assert screen.recap.location.far is False, "checked once the unit is known"


async def test_photos_over_the_limit_and_refused_files_change_nothing(
    db: Database, field: dict[str, int],
) -> None:
    await run(db, inspections.start, caller=caller(), code="V1", rules=RULES)
    await run(db, inspections.add_photo, caller=caller(), stored=photo(1), file_unique_id="a",
              rules=RULES)
    await run(db, inspections.add_photo, caller=caller(), stored=photo(2), file_unique_id="b",
              rules=RULES)
    third = await run(db, inspections.add_photo, caller=caller(), stored=photo(3),
                      file_unique_id="c", rules=RULES)
    assert third.screen is not None and third.screen.error == "inspect.err.too_many_photos"
    assert third.screen.recap.photos == 2
    refused = await run(db, inspections.evidence_refused, caller=caller(),
                        key="evidence.not_image", params={}, rules=RULES)
    assert refused.screen is not None and refused.screen.error == "evidence.not_image"
    assert refused.screen.recap.photos == 2
    assert await count(db, Evidence) == 2


async def test_a_caption_is_taken_as_the_remark(db: Database, field: dict[str, int]) -> None:
    screen = (await run(db, inspections.start, caller=caller(), code="V2", rules=RULES)).screen
    screen = (await tap(db, screen, "va")).screen
    outcome = await run(db, inspections.add_photo, caller=caller(), stored=photo(1),
                        file_unique_id="a", caption="New lights work.", rules=RULES)
    assert outcome.screen is not None and outcome.screen.step == "evidence"
    assert outcome.screen.recap.remark == "New lights work." and outcome.screen.recap.photos == 1
    long = await run(db, inspections.add_photo, caller=caller(), stored=photo(2),
                     file_unique_id="b", caption="z" * 41, rules=RULES)
    assert long.screen is not None and long.screen.error == "inspect.err.remark_too_long"
    assert long.echo == "z" * 41 and long.screen.recap.remark == "New lights work."
    assert long.screen.recap.photos == 2, "the photo is kept even if its caption is not"


# --- who may inspect what -------------------------------------------------------------------


async def test_only_inspectors_may_inspect(db: Database, field: dict[str, int]) -> None:
    async with db.transaction() as uow:
        await uow.contacts.get_or_create(7100, 7100)  # a resident
        await grant_role(uow, telegram_user_id=7200, role=Role.ADMIN, unit_code=None,
                         name="Admin", actor="test")
    for user_id in (7100, 7200, 7300, 6001):  # resident, admin, stranger, cadre
        for use_case, kwargs in ((inspections.start, {"code": None, "rules": RULES}),
                                 (inspections.start, {"code": "V1", "rules": RULES}),
                                 (inspections.recent, {})):
            with pytest.raises(Refused) as refused:
                await run(db, use_case, caller=caller(user_id), **kwargs)
            assert refused.value.key == "inspect.not_inspector"
        async with db.reading() as uow:
            assert await inspections.in_dialogue(uow, user_id) is None
    assert await count(db, AdminDialogue) == 0


async def test_a_cadre_cannot_inspect_their_own_unit_or_any_unit_inside_it(
    db: Database, field: dict[str, int],
) -> None:
    # Wang Fang, a cadre of Willow Village, and Chen, a cadre of North Township, both also
    # hold the inspector role for the whole county.
    await make_inspector(db, 6001, "C1", "Wang Fang")
    await make_cadre(db, 6003, "T1", "Chen Jing", ["Township roads"])
    await make_inspector(db, 6003, None, "Chen Jing")
    for user_id, code, own in ((6001, "V1", "Willow Village"),
                               (6003, "T1", "North Township"),
                               (6003, "V2", "North Township")):
        with pytest.raises(Refused) as refused:
            await run(db, inspections.start, caller=caller(user_id), code=code, rules=RULES)
        assert refused.value.key == "inspect.err.conflict"
        assert refused.value.params["own"] == own
    # Through the unit list, or typed: refused at the unit step, nothing moves on.
    screen = (await run(db, inspections.start, caller=caller(6003), rules=RULES)).screen
    assert screen is not None and screen.this_unit is not None
    county_choice = screen.this_unit.choice
    township = screen.options[0]
    outcome = await tap(db, screen, township.choice, user_id=6003)
    assert outcome.screen is not None and outcome.screen.step == "unit"
    assert outcome.screen.error == "inspect.err.conflict"
    outcome = await typed(db, "V1", user_id=6003)
    assert outcome.screen is not None and outcome.screen.error == "inspect.err.conflict"
    # The county above their township is not theirs.
    county = await tap(db, outcome.screen, county_choice, user_id=6003)
    assert county.screen is not None and county.screen.step != "unit"
    assert await count(db, Inspection) == 0


async def test_becoming_a_cadre_of_the_unit_mid_dialogue_is_caught_at_save(
    db: Database, field: dict[str, int],
) -> None:
    screen = (await run(db, inspections.start, caller=caller(), code="V2", rules=RULES)).screen
    screen = (await tap(db, screen, "va")).screen
    screen = (await typed(db, "Fine.")).screen
    async with db.transaction() as uow:
        township = await uow.units.by_code("T1")
        assert township is not None
        uow.session.add(PersonRole(person_id=field["inspector"], role=Role.CADRE,
                                   unit_id=township.id))
    outcome = await tap(db, screen, "s")
    assert outcome.done is None and outcome.screen is not None
    assert outcome.screen.error == "inspect.err.conflict"
    assert await count(db, Inspection) == 0 and not await audits(db, "inspection.record")


async def test_a_cadre_removed_mid_dialogue_is_not_recorded(
    db: Database, field: dict[str, int],
) -> None:
    screen = (await run(db, inspections.start, caller=caller(), code="V1", rules=RULES)).screen
    screen = (await tap(db, screen, f"c{field['li']}")).screen
    assert screen is not None and screen.step == "task"
    screen = (await tap(db, screen, choice(screen, "Office"))).screen
    screen = (await tap(db, screen, "va")).screen
    screen = (await typed(db, "Held.")).screen
    async with db.transaction() as uow:
        role = await uow.session.scalar(select(PersonRole).where(
            PersonRole.person_id == field["li"], PersonRole.role == Role.CADRE))
        await uow.session.delete(role)
    outcome = await tap(db, screen, "s")
    assert outcome.screen is not None and outcome.screen.error == "inspect.err.not_a_cadre"
    assert await count(db, Inspection) == 0


async def test_a_scoped_inspector_stays_inside_their_scope(
    db: Database, field: dict[str, int],
) -> None:
    await make_inspector(db, 5002, "V1", "Inspector Sun")
    with pytest.raises(Refused) as refused:
        await run(db, inspections.start, caller=caller(5002), code="V2", rules=RULES)
    assert refused.value.key == "inspect.err.out_of_scope"
    screen = (await run(db, inspections.start, caller=caller(5002), rules=RULES)).screen
    assert screen is not None and screen.this_unit is not None
    assert screen.this_unit.label == "Willow Village" and not screen.options
    async with db.reading() as uow:
        tree = await UnitTree.load(uow)
    for forged in (f"u{tree.by_code['V2'].id}", f"n{tree.by_code['C1'].id}"):
        outcome = await tap(db, screen, forged, user_id=5002)
        assert outcome.screen is not None and outcome.screen.error == "inspect.err.out_of_scope"
        screen = outcome.screen
    # A forged cadre or task of another unit is refused as well.
    outcome = await tap(db, screen, "u999999", user_id=5002)
    assert outcome.screen is not None and outcome.screen.error == "inspect.err.unknown_unit"
    assert await count(db, Inspection) == 0


async def test_forged_choices_for_the_step_are_refused(
    db: Database, field: dict[str, int],
) -> None:
    await make_cadre(db, 6009, "V2", "Other Cadre", ["Other task"])
    async with db.reading() as uow:
        other = await uow.people.by_user(6009)
        assert other is not None
        [other_task] = (await uow.cadres.tasks([other.id]))[other.id]
    screen = (await run(db, inspections.start, caller=caller(), code="V1", rules=RULES)).screen
    for forged in (f"c{other.id}", f"c{field['inspector']}", "t1", "va", "s", "zz"):
        outcome = await tap(db, screen, forged)
        assert outcome.screen is not None and outcome.screen.step == "subject", forged
        assert outcome.screen.error == "inspect.err.use_buttons", forged
        screen = outcome.screen
    screen = (await tap(db, screen, f"c{field['wang']}")).screen
    outcome = await tap(db, screen, f"t{other_task.id}")
    assert outcome.screen is not None and outcome.screen.error == "inspect.err.use_buttons"


async def test_stale_taps_change_nothing(db: Database, field: dict[str, int]) -> None:
    first = (await run(db, inspections.start, caller=caller(), code="V1", rules=RULES)).screen
    assert first is not None
    second = (await tap(db, first, "w")).screen
    assert second is not None
    again = await tap(db, first, f"c{field['wang']}")
    assert again.stale
    other_nonce = await tap(db, replace(second, nonce="000000"), "g")
    assert other_nonce.stale
    async with db.reading() as uow:
        row = await uow.session.get(AdminDialogue, field["inspector"])
        assert row is not None and row.step == "task" and row.version == second.version
    # After cancelling, every button of the dialogue is stale.
    cancelled = await tap(db, second, "x")
    assert cancelled.notice == "cancelled"
    assert (await tap(db, second, "g")).stale
    assert (await typed(db, "hello")).notice == "no_dialogue"


async def test_a_new_inspect_starts_afresh(db: Database, field: dict[str, int]) -> None:
    first = (await run(db, inspections.start, caller=caller(), code="V2", rules=RULES)).screen
    await run(db, inspections.add_photo, caller=caller(), stored=photo(1), file_unique_id="a",
              rules=RULES)
    second = (await run(db, inspections.start, caller=caller(), code="V1", rules=RULES)).screen
    assert first is not None and second is not None and second.nonce != first.nonce
    assert second.recap.photos == 0
    assert (await tap(db, first, "va")).stale


async def test_in_dialogue_is_only_for_the_inspect_kind(
    db: Database, field: dict[str, int],
) -> None:
    async with db.transaction() as uow:
        await uow.dialogues.start(field["inspector"], "note", "text", {}, NOW)
    async with db.reading() as uow:
        assert await inspections.in_dialogue(uow, INSPECTOR) is None
    await run(db, inspections.start, caller=caller(), code="V2", rules=RULES)
    async with db.reading() as uow:
        draft = await inspections.in_dialogue(uow, INSPECTOR)
    assert draft is not None and draft.step == "verdict" and draft.photos == 0


async def test_only_the_newest_prompt_is_remembered(db: Database, field: dict[str, int]) -> None:
    first = (await run(db, inspections.start, caller=caller(), code="V1", rules=RULES)).screen
    assert first is not None
    assert await run(db, inspections.remember_prompt, caller=caller(), nonce=first.nonce,
                     version=first.version, message_id=10) is None
    second = (await tap(db, first, "w")).screen
    assert second is not None
    # Answered out of order: the older prompt arrives after the newer one was remembered.
    assert await run(db, inspections.remember_prompt, caller=caller(), nonce=second.nonce,
                     version=second.version, message_id=12) == 10
    assert await run(db, inspections.remember_prompt, caller=caller(), nonce=first.nonce,
                     version=first.version, message_id=11) == 11, "retire the outdated one"
    assert await run(db, inspections.remember_prompt, caller=caller(), nonce="000000",
                     version=second.version, message_id=13) == 13
    async with db.reading() as uow:
        row = await uow.session.get(AdminDialogue, field["inspector"])
        assert row is not None and row.data["msg"] == 12 and row.version == second.version
