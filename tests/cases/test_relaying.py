"""Whom the relay hands a timeline entry to (surveys.cases.relaying), what it records after
sending, and the message each recipient gets (handlers.relay_render)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from handlers.relay_render import relay_message
from storage.ids import RANDOM_ID_MAX
from storage.models import Case, CaseMessage, CaseStatus, Role
from storage.uow import Database
from surveys.cases import handling, relaying, sealing, timeline, views
from surveys.cases.relaying import Parcel, Recipient, Settled
from surveys.cases.rules import ADMIN, HANDLER, NOT_SOLVED, OVERDUE, RESIDENT, CaseRules
from surveys.people.caller import Caller
from surveys.people.names import Names
from tests.cases.test_supervision import add_entry, entries, open_case
from tests.conftest import SECRET, seed_campaign
from tests.e2e.fieldwork import make_cadre, make_inspector

ROAD_CADRE, WATER_CADRE, ADMIN_T1, ADMIN_V2, INSPECTOR = 11, 12, 13, 14, 15


async def make_admin(db: Database, telegram_user_id: int, unit_code: str, name: str) -> int:
    """An admin scoped to ``unit_code``'s subtree, linked to the Telegram account."""
    async with db.transaction() as uow:
        unit = await uow.units.by_code(unit_code)
        contact = await uow.contacts.get_or_create(telegram_user_id, telegram_user_id)
        person = await uow.people.create(name, contact)
        await uow.people.grant(person, Role.ADMIN, unit)
        return person.id


async def staff(db: Database) -> dict[int, int]:
    """Willow Village's road and water cadres and inspector, the township's admin and Pine
    Village's admin: person ids by Telegram id."""
    await seed_campaign(db)
    return {
        ROAD_CADRE: await make_cadre(db, ROAD_CADRE, "V1", "Cadre Wang", ["Road repair"]),
        WATER_CADRE: await make_cadre(db, WATER_CADRE, "V1", "Cadre Zhao", ["Water supply"]),
        ADMIN_T1: await make_admin(db, ADMIN_T1, "T1", "Admin Sun"),
        ADMIN_V2: await make_admin(db, ADMIN_V2, "V2", "Admin Qian"),
        INSPECTOR: await make_inspector(db, INSPECTOR, "V1", "Inspector Li"),
    }


async def planned(db: Database) -> dict[tuple[str, str], Parcel]:
    """Every undelivered entry's parcel, by (case number, kind)."""
    async with db.transaction() as uow:
        parcels = await relaying.plan(uow, SECRET, await uow.cases.undelivered(1000),
                                       max_attempts=3)
    return {(p.case.number, p.entry.kind): p for p in parcels}


def chats(parcel: Parcel) -> set[int]:
    return {r.chat_id for r in parcel.recipients}


async def test_each_entry_reaches_whom_it_names_and_never_its_author(db: Database) -> None:
    people = await staff(db)
    case = await open_case(db, chat_id=901)
    quiet = await open_case(db, chat_id=None)
    await add_entry(db, case.number, timeline.MESSAGE, timeline.TO_HANDLER, author=RESIDENT,
                    text="It flickers at night")
    parcels = await planned(db)
    # New: the cadre whose key tasks are about roads, and the admin covering the village.
    assert chats(parcels[case.number, timeline.OPENED]) == {ROAD_CADRE, ADMIN_T1}
    # Nobody took it yet: "the handler" is whoever it is routed to.
    assert chats(parcels[case.number, timeline.MESSAGE]) == {ROAD_CADRE, ADMIN_T1}
    async with db.transaction() as uow:
        await uow.cases.mark_delivered([p.entry.id for p in parcels.values()])

    await add_entry(db, case.number, timeline.TAKEN, timeline.TO_UNIT, author=HANDLER,
                    person_id=people[ROAD_CADRE], status=CaseStatus.TAKEN,
                    handler_id=people[ROAD_CADRE])
    await add_entry(db, case.number, timeline.ESCALATED, timeline.TO_ADMINS, author=RESIDENT,
                    params={"escalation": NOT_SOLVED})
    await add_entry(db, case.number, timeline.OVERDUE, timeline.TO_ADMINS, author="system",
                    params={"escalation": OVERDUE})
    await add_entry(db, case.number, timeline.MESSAGE, timeline.TO_RESIDENT, author=HANDLER,
                    person_id=people[ROAD_CADRE], text="Which post?")
    await add_entry(db, case.number, timeline.ANSWER, timeline.TO_HANDLER, author=RESIDENT)
    await add_entry(db, quiet.number, timeline.MESSAGE, timeline.TO_RESIDENT, author=ADMIN,
                    person_id=people[ADMIN_T1], text="Which post?")
    parcels = await planned(db)
    assert chats(parcels[case.number, timeline.TAKEN]) == {ADMIN_T1}, "not back to its author"
    assert chats(parcels[case.number, timeline.ESCALATED]) == {ADMIN_T1, INSPECTOR}
    assert chats(parcels[case.number, timeline.OVERDUE]) == {ADMIN_T1}
    assert chats(parcels[case.number, timeline.ANSWER]) == {ROAD_CADRE}, "the handler alone"
    [resident] = parcels[case.number, timeline.MESSAGE].recipients
    assert (resident.chat_id, resident.sealed_case, resident.number, resident.resident) == (
        901, case.id, case.number, True)
    assert parcels[quiet.number, timeline.MESSAGE].recipients == (), (
        "a resident who did not ask to be told is told nothing")


async def test_a_resolution_reaches_the_residents_of_merged_reports_too(db: Database) -> None:
    await staff(db)
    primary = await open_case(db, chat_id=901, language="zh")
    merged = await open_case(db, chat_id=902, status=CaseStatus.MERGED,
                             merged_into_id=primary.id)
    silent = await open_case(db, status=CaseStatus.MERGED, merged_into_id=primary.id)
    await add_entry(db, primary.number, timeline.RESOLUTION, timeline.TO_RESIDENT,
                    author=HANDLER, text="Bulb replaced", status=CaseStatus.RESOLVED,
                    resolution="Bulb replaced", version=4)
    parcel = (await planned(db))[primary.number, timeline.RESOLUTION]
    assert {(r.chat_id, r.number, r.language) for r in parcel.recipients} == {
        (901, primary.number, "zh"), (902, merged.number, "en")}
    assert silent.number not in {r.number for r in parcel.recipients}
    theirs = relay_message(parcel, next(r for r in parcel.recipients if r.chat_id == 902),
                           CaseRules())
    assert merged.number in theirs.text and primary.number in theirs.text
    assert theirs.keyboard is not None
    assert [b.callback_data for b in theirs.keyboard.inline_keyboard[0]] == [
        f"ca:{merged.number}:4:{a}" for a in "ypn"]


async def test_a_rejection_reaches_the_residents_of_merged_reports_too(db: Database) -> None:
    """Review M3: handling.reject tells the residents of reports merged into the case why it
    was rejected (its entry goes TO_RESIDENT because one of them asked), so the relay must
    hand it to them, as it does a resolution."""
    await staff(db)
    primary = await open_case(db, chat_id=None)
    merged = await open_case(db, chat_id=902, status=CaseStatus.MERGED,
                             merged_into_id=primary.id)
    async with db.transaction() as uow:
        ctx = await views.staff(uow, Caller(telegram_user_id=ADMIN_T1, now=datetime.now(UTC)))
        case = await uow.cases.by_number(primary.number, lock=True)
        assert case is not None
        await handling.reject(ctx, case, "A private road")
    parcel = (await planned(db))[primary.number, timeline.REJECTED]
    assert parcel.entry.notify == timeline.TO_RESIDENT
    assert {(r.chat_id, r.number) for r in parcel.recipients} == {(902, merged.number)}
    theirs = relay_message(parcel, parcel.recipients[0], CaseRules())
    assert merged.number in theirs.text and "A private road" in theirs.text
    async with db.transaction() as uow:
        await relaying.record(uow, SECRET, [Settled(parcel, True)], datetime.now(UTC),
                              max_attempts=3)
    async with db.reading() as uow:
        assert await uow.cases.seal_of(merged.id) is None, "told: the seal goes"


async def test_a_blocked_resident_loses_the_chat_and_the_handler_is_told_once(
    db: Database,
) -> None:
    people = await staff(db)
    case = await open_case(db, chat_id=901, status=CaseStatus.TAKEN,
                           handler_id=people[ROAD_CADRE])
    await add_entry(db, case.number, timeline.MESSAGE, timeline.TO_RESIDENT, author=HANDLER,
                    person_id=people[ROAD_CADRE], text="Which post?")
    parcel = (await planned(db))[case.number, timeline.MESSAGE]
    [resident] = parcel.recipients
    now = datetime.now(UTC)
    for _ in range(2):  # told twice (a second round, a crash): recorded once
        async with db.transaction() as uow:
            await relaying.record(uow, SECRET, [Settled(parcel, True, blocked=(resident,))],
                                  now, max_attempts=3)
    told = [e for e in await entries(db, case.number) if e.kind == timeline.UNREACHABLE]
    assert [(e.notify, e.params, e.author) for e in told] == [
        (timeline.TO_HANDLER, None, "system")]
    async with db.reading() as uow:
        sealed = await uow.cases.seal_of(case.id)
        assert sealed is not None
        reporter = sealing.unseal(SECRET, case.id, sealed)
        assert reporter is not None and reporter.chat_id is None
        assert [m.delivered for m in await uow.cases.messages(case.id)
                if m.kind == timeline.MESSAGE] == [True]


async def test_network_failures_are_counted_and_given_up_after_the_limit(db: Database) -> None:
    await staff(db)
    case = await open_case(db, chat_id=901)
    parcel = (await planned(db))[case.number, timeline.OPENED]
    for attempt in range(1, 4):
        async with db.transaction() as uow:
            fresh = await uow.cases.messages(case.id)
            current = Parcel(fresh[0], parcel.case, parcel.unit, parcel.recipients)
            given_up = await relaying.record(uow, SECRET, [Settled(current, False, failed=True)],
                                             datetime.now(UTC), max_attempts=3)
        assert [p.entry.id for p in given_up] == ([parcel.entry.id] if attempt == 3 else [])
    async with db.reading() as uow:
        [entry] = await uow.cases.messages(case.id)
        assert (entry.attempts, entry.delivered) == (3, True)



async def test_entries_that_cannot_be_planned_are_given_up_after_the_limit(
    db: Database, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Review S10: an entry the relay cannot plan (a bug) counts a failed attempt each round
    and is given up after the limit, so a batch of them does not hold up every later entry
    for good."""
    await staff(db)
    now = datetime.now(UTC)
    broken = [await open_case(db, chat_id=910 + i, now=now - timedelta(hours=2))
              for i in range(2)]
    good = await open_case(db, chat_id=920, now=now)
    broken_ids = {c.id for c in broken}
    parcel_of = relaying._parcel

    async def failing(uow: Any, secret: bytes, tree: Any, topics: Any, language: str,
                      entry: CaseMessage, case: Case) -> Parcel:
        if case.id in broken_ids:
            raise KeyError("a bug")
        return await parcel_of(uow, secret, tree, topics, language, entry, case)

    monkeypatch.setattr(relaying, "_parcel", failing)
    claimed = []
    for _ in range(4):  # a batch only as large as the broken ones: they come first
        async with db.transaction() as uow:
            entries_ = await uow.cases.undelivered(len(broken))
            claimed.append({e.case_id for e in entries_})
            await relaying.plan(uow, SECRET, entries_, max_attempts=3)
    assert claimed == [broken_ids] * 3 + [{good.id}]
    async with db.reading() as uow:
        for case in broken:
            [entry] = await uow.cases.messages(case.id)
            assert (entry.attempts, entry.delivered) == (3, True)


async def test_an_entry_carries_the_photos_it_names_of_its_own_part(db: Database) -> None:
    """A resolution goes with the resolution photos it names (in its order), a resident's
    reply with its relay photo; never the report's photos, nor one named but not recorded."""
    people = await staff(db)
    case = await open_case(db, chat_id=901, photo=True, status=CaseStatus.TAKEN,
                           handler_id=people[ROAD_CADRE])
    async with db.transaction() as uow:
        for part, sha in (("resolution", "1" * 64), ("resolution", "2" * 64),
                          ("relay", "3" * 64)):
            await uow.cases.add_photo(case.id, part, sha256=sha, path=f"{sha[:2]}/{sha}.jpg",
                                      size_bytes=10, media_type="image/jpeg")
    await add_entry(db, case.number, timeline.MESSAGE, timeline.TO_HANDLER, author=RESIDENT,
                    text="", params={"photos": ["3" * 64]})
    await add_entry(db, case.number, timeline.RESOLUTION, timeline.TO_RESIDENT,
                    author=HANDLER, person_id=people[ROAD_CADRE], text="Bulb replaced",
                    params={"photos": ["2" * 64, "9" * 64, "1" * 64, "ab" * 32]},
                    status=CaseStatus.RESOLVED, resolution="Bulb replaced")
    found = await planned(db)
    assert [p.sha256 for p in found[case.number, timeline.RESOLUTION].photos] == [
        "2" * 64, "1" * 64]
    assert [(p.sha256, p.path) for p in found[case.number, timeline.MESSAGE].photos] == [
        ("3" * 64, f"33/{'3' * 64}.jpg")]
    assert found[case.number, timeline.OPENED].photos == (), "the report's stay in the case"

def test_button_data_fits_telegrams_64_bytes_with_the_largest_ids() -> None:
    case = Case(id=RANDOM_ID_MAX, number="C-ZZZZZZ", version=2**31 - 1, unit_id=1,
                category="roads", status=CaseStatus.RESOLVED, reports=1,
                due_at=datetime.now(UTC) + timedelta(days=1))
    for kind in (timeline.MESSAGE, timeline.RESOLUTION):
        entry = CaseMessage(id=RANDOM_ID_MAX, case_id=case.id, author=HANDLER, kind=kind,
                            notify=timeline.TO_RESIDENT, text="x" * 5000, params=None,
                            attempts=0)
        parcel = Parcel(entry, case, Names("Willow"), ())
        for who in (Recipient(1, "en", sealed_case=case.id, number=case.number),
                    Recipient(2, "zh", person_id=3)):
            message = relay_message(parcel, who, CaseRules())
            assert len(message.text) <= 4096
            assert message.keyboard is not None
            for row in message.keyboard.inline_keyboard:
                for button in row:
                    assert len(str(button.callback_data).encode()) <= 64
