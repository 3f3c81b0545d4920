"""A resident's report, use case by use case, on SQLite and PostgreSQL: the draft, its
refusals, sending it, the per-person limit and the end-of-poll offer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from storage.evidence import StoredFile
from storage.models import Case, CaseDraft, CaseMessage, CasePhoto, CaseSeal, CaseStatus, Unit
from storage.uow import Database
from surveys.cases import drafts, reporting, sealing
from surveys.cases.drafts import Reporting
from surveys.cases.offer import poll_offer
from surveys.cases.rules import CaseRules
from surveys.people.caller import Caller, Refused
from surveys.people.units import UnitRow, import_units
from surveys.questionnaire.catalog import SurveyCatalog
from surveys.questionnaire.loader import load_template, parse_survey
from surveys.respondents import responding
from surveys.respondents.journey import Respondent
from tests.conftest import SECRET, now, seed_campaign

RESIDENT = 5_550_777_001
OTHER = 5_550_777_002
# Friday 4 December 2026, 09:17 UTC: a report due in 5 working days is due Friday 11th.
NOW = datetime(2026, 12, 4, 9, 17, 42, tzinfo=UTC)
RULES = CaseRules(max_text_length=60, max_open_per_person=2,
                  categories=("waiting", "facilities", "roads", "sanitation"))
DESK = Reporting(SECRET, RULES, timedelta(minutes=10), max_photos=2)


def caller(user: int = RESIDENT) -> Caller:
    return Caller(telegram_user_id=user, now=NOW)


def photo(name: str) -> StoredFile:
    return StoredFile(name * 64, f"{name * 2}/{name * 64}.png", 1234, "image/png")


async def unit_id(db: Database, code: str = "V1") -> int:
    async with db.reading() as uow:
        unit = await uow.session.scalar(select(Unit).where(Unit.code == code))
        assert unit is not None
        return unit.id


async def draft(db: Database, user: int = RESIDENT) -> CaseDraft | None:
    async with db.reading() as uow:
        return await uow.cases.draft(sealing.draft_key(SECRET, user))


async def run(db: Database, use_case: object, *args: object, **kwargs: object) -> object:
    async with db.transaction() as uow:
        return await use_case(uow, *args, **kwargs)  # type: ignore[operator]


async def written(db: Database, user: int = RESIDENT, text: str = "The street light by the "
                  "school is dark", unit: str = "V1") -> reporting.Card:
    """A report with its text and unit, ready to send."""
    outcome = await run(db, reporting.start_report, caller(user), text, desk=DESK)
    assert isinstance(outcome, reporting.DraftOutcome)
    card = outcome.card
    tap = await run(db, reporting.draft_tap, caller(user), user, card.nonce, card.version,
                    f"u{await unit_id(db, unit)}", desk=DESK)
    assert isinstance(tap, reporting.TapOutcome) and tap.card is not None
    return tap.card


async def send(db: Database, card: reporting.Card, user: int = RESIDENT,
               tell: bool = True) -> reporting.Opened:
    tap = await run(db, reporting.draft_tap, caller(user), user, card.nonce, card.version,
                    "y" if tell else "n", desk=DESK)
    assert isinstance(tap, reporting.TapOutcome) and tap.opened is not None
    return tap.opened


async def test_a_report_with_a_photo_and_a_location_opens_a_sealed_case(db: Database) -> None:
    await seed_campaign(db)
    async with db.transaction() as uow:
        village = await uow.units.by_code("V1")
        assert village is not None
        village.latitude, village.longitude, village.radius_km = 30.0, 120.0, 2.0
    started = await run(db, reporting.start_report, caller(), desk=DESK)
    assert isinstance(started, reporting.DraftOutcome)
    assert started.card.step == reporting.TEXT and started.replaced is None
    await run(db, reporting.draft_photo, caller(), photo("a"), None, desk=DESK)
    await run(db, reporting.draft_photo, caller(), photo("a"), None, desk=DESK)  # kept once
    texted = await run(db, reporting.draft_text, caller(), "The street light by the school is dark",
                       desk=DESK)
    assert isinstance(texted, reporting.DraftOutcome)
    assert texted.card.step == reporting.UNIT and texted.card.photos == 1
    assert (texted.card.category, texted.card.suggested) == ("roads", True)
    located = await run(db, reporting.draft_location, caller(), 30.003, 120.0, desk=DESK)
    assert isinstance(located, reporting.DraftOutcome)
    picker = located.card.picker
    assert picker is not None and picker.node_name == "Riverside County"
    card = located.card
    opened_township = await run(db, reporting.draft_tap, caller(), RESIDENT, card.nonce,
                                card.version, f"o{picker.units[0].id}", desk=DESK)
    assert isinstance(opened_township, reporting.TapOutcome)
    assert opened_township.card is not None and opened_township.card.picker is not None
    assert [u.name for u in opened_township.card.picker.units] == ["Pine Village",
                                                                  "Willow Village"]
    card = opened_township.card
    chosen = await run(db, reporting.draft_tap, caller(), RESIDENT, card.nonce, card.version,
                       f"u{await unit_id(db)}", desk=DESK)
    assert isinstance(chosen, reporting.TapOutcome) and chosen.card is not None
    assert chosen.card.step == reporting.CONFIRM
    assert chosen.card.unit == "Willow Village"
    assert chosen.card.place is not None and chosen.card.place.far is False
    opened = await send(db, chosen.card)
    assert opened.due_on.isoformat() == "2026-12-11"  # five working days after Friday 4th

    async with db.reading() as uow:
        case = await uow.cases.by_number(opened.number)
        assert case is not None
        assert (case.status, case.category, case.origin, case.quotable, case.wants_reply) == (
            CaseStatus.OPEN, "roads", "report", False, True)
        assert case.opened_on.isoformat() == "2026-12-04"
        assert case.far_from_unit is False and case.distance_km == pytest.approx(0.33, abs=0.01)
        [entry] = await uow.cases.messages(case.id)
        assert (entry.kind, entry.author, entry.notify, entry.audited) == (
            "opened", "resident", "unit", False)
        assert entry.at.replace(tzinfo=UTC) == datetime(2026, 12, 4, 9, 10, tzinfo=UTC)
        [kept] = await uow.cases.photos(case.id)
        assert (kept.part, kept.sha256) == ("report", "a" * 64)
        sealed = await uow.cases.seal_of(case.id)
        assert sealed is not None
    reporter = sealing.unseal(SECRET, case.id, sealed)
    assert reporter is not None and reporter.chat_id == RESIDENT
    assert reporter.quota_key == sealing.quota_key(SECRET, RESIDENT)
    assert sealing.unseal(b"another-secret-0123456789abcdef", case.id, sealed) is None
    assert await draft(db) is None, "the draft goes once sent"


async def test_a_text_over_the_limit_is_refused_whole(db: Database) -> None:
    await seed_campaign(db)
    card = await written(db, text="Bins full")
    outcome = await run(db, reporting.draft_text, caller(), "x" * 61, desk=DESK)
    assert isinstance(outcome, reporting.DraftOutcome)
    assert outcome.too_long is not None
    assert (outcome.too_long.length, outcome.too_long.limit) == (61, 60)
    assert outcome.card.text == "Bins full" and outcome.card.version == card.version
    kept = await draft(db)
    assert kept is not None and kept.data["text"] == "Bins full"
    blank = await run(db, reporting.draft_text, caller(), "\u200b \u200b", desk=DESK)
    assert isinstance(blank, reporting.DraftOutcome) and blank.blank


async def test_the_category_is_suggested_then_chosen(db: Database) -> None:
    await seed_campaign(db)
    card = await written(db, text="Rubbish piles up behind the market")
    assert (card.category, card.suggested) == ("sanitation", True)
    assert card.categories[-1] == "other"
    changing = await run(db, reporting.draft_tap, caller(), RESIDENT, card.nonce, card.version,
                         "c", desk=DESK)
    assert isinstance(changing, reporting.TapOutcome) and changing.card is not None
    assert changing.card.step == reporting.CATEGORY
    card = changing.card
    chosen = await run(db, reporting.draft_tap, caller(), RESIDENT, card.nonce, card.version,
                       f"k{card.categories.index('facilities')}", desk=DESK)
    assert isinstance(chosen, reporting.TapOutcome) and chosen.card is not None
    assert (chosen.card.category, chosen.card.suggested) == ("facilities", False)
    quoted = await run(db, reporting.draft_tap, caller(), RESIDENT, chosen.card.nonce,
                       chosen.card.version, "q", desk=DESK)
    assert isinstance(quoted, reporting.TapOutcome) and quoted.card is not None
    opened = await send(db, quoted.card, tell=False)
    async with db.reading() as uow:
        case = await uow.cases.by_number(opened.number)
        assert case is not None
        assert (case.category, case.quotable, case.wants_reply) == ("facilities", True, False)
        sealed = await uow.cases.seal_of(case.id)
    assert sealed is not None
    reporter = sealing.unseal(SECRET, case.id, sealed)
    assert reporter is not None and reporter.chat_id is None, "no chat: they asked not to be told"


async def test_nothing_fits_is_other(db: Database) -> None:
    assert reporting.suggest("Something odd happened", DESK) == "other"
    assert reporting.suggest("路灯不亮，垃圾也没人清运", DESK) == "roads"


async def test_stale_and_forged_taps_change_nothing(db: Database) -> None:
    await seed_campaign(db)
    card = await written(db)
    for nonce, version, choice, key in [
        (card.nonce, card.version - 1, "y", "stale"),
        ("000000", card.version, "y", "stale"),
        (card.nonce, card.version, "z", "forged"),
        (card.nonce, card.version, "u99999999", "forged"),
        (card.nonce, card.version, "k99", "forged"),
    ]:
        with pytest.raises(Refused) as refused:
            await run(db, reporting.draft_tap, caller(), RESIDENT, nonce, version, choice,
                      desk=DESK)
        assert refused.value.key == key, choice
    # Another person's tap on this prompt reaches their own (absent) draft, not this one.
    with pytest.raises(Refused) as refused:
        await run(db, reporting.draft_tap, caller(4242), 4242, card.nonce, card.version, "y",
                  desk=DESK)
    assert refused.value.key == "stale"
    kept = await draft(db)
    assert kept is not None and kept.version == card.version
    async with db.reading() as uow:
        assert await uow.cases.active() == []


async def test_cancel_drops_the_draft(db: Database) -> None:
    await seed_campaign(db)
    await written(db)
    outcome = await run(db, reporting.cancel, caller(), desk=DESK)
    assert isinstance(outcome, reporting.CancelOutcome) and outcome.cancelled == "report"
    assert await draft(db) is None
    again = await run(db, reporting.cancel, caller(), desk=DESK)
    assert isinstance(again, reporting.CancelOutcome) and again.cancelled is None


async def test_a_new_report_replaces_an_unsent_one(db: Database) -> None:
    await seed_campaign(db)
    await written(db, text="First")
    outcome = await run(db, reporting.start_report, caller(), "Second", desk=DESK)
    assert isinstance(outcome, reporting.DraftOutcome)
    assert outcome.replaced == "report" and outcome.card.text == "Second"
    assert outcome.card.unit is None, "a new report starts afresh"


async def test_the_limit_of_open_cases(db: Database) -> None:
    await seed_campaign(db)
    for n in range(2):
        await send(db, await written(db, text=f"Problem {n}"))
    with pytest.raises(Refused) as refused:
        await run(db, reporting.start_report, caller(), desk=DESK)
    assert (refused.value.key, refused.value.params) == ("limit", {"limit": 2})
    # Someone else is not counted against it.
    await send(db, await written(db, user=777, text="Mine"), user=777)
    # A case closed frees a place (its seal goes with it).
    async with db.transaction() as uow:
        for case_id, sealed in await uow.cases.active_seals():
            reporter = sealing.unseal(SECRET, case_id, sealed)
            if reporter is not None and reporter.chat_id == RESIDENT:
                case = await uow.cases.get(case_id)
                assert case is not None
                case.status = CaseStatus.CLOSED
                await uow.cases.drop_seal(case_id)
                break
    await written(db, text="Third")


async def test_the_limit_is_checked_again_on_sending(db: Database) -> None:
    await seed_campaign(db)
    await send(db, await written(db, text="One"))
    card = await written(db, text="Two")
    # The limit was lowered (the configuration changed) while the report was being written.
    stricter = Reporting(SECRET, CaseRules(max_open_per_person=1), timedelta(minutes=10))
    with pytest.raises(Refused) as refused:
        await run(db, reporting.draft_tap, caller(), RESIDENT, card.nonce, card.version, "y",
                  desk=stricter)
    assert refused.value.key == "limit"
    assert await draft(db) is not None, "nothing of the refused send is lost"


async def test_no_case_row_holds_the_telegram_or_chat_id(db: Database) -> None:
    await seed_campaign(db)
    user = 5_550_123_987
    await send(db, await written(db, user=user, text="Drain blocked"), user=user)
    async with db.reading() as uow:
        for model in (Case, CaseMessage, CasePhoto, CaseSeal, CaseDraft):
            for row in (await uow.session.scalars(select(model))).all():
                for column in model.__table__.columns:
                    value = str(getattr(row, column.key))
                    assert str(user) not in value, f"{model.__tablename__}.{column.key}"


async def test_an_offer_starts_a_report_of_the_unit(db: Database) -> None:
    await seed_campaign(db)
    village = await unit_id(db)
    outcome = await run(db, reporting.start_from_offer, caller(), village, "facilities", False,
                        desk=DESK)
    assert isinstance(outcome, reporting.DraftOutcome)
    assert outcome.card.unit == "Willow Village"
    assert (outcome.card.category, outcome.card.suggested) == ("facilities", False)
    assert outcome.card.origin == "poll" and outcome.card.step == reporting.TEXT
    unknown = await run(db, reporting.start_from_offer, caller(), village, "no_such", False,
                        desk=DESK)
    assert isinstance(unknown, reporting.DraftOutcome) and unknown.card.suggested
    with pytest.raises(Refused) as refused:
        await run(db, reporting.start_from_offer, caller(), 99_999_999, None, False, desk=DESK)
    assert refused.value.key == "forged"


async def test_remembering_the_prompt_keeps_the_version(db: Database) -> None:
    await seed_campaign(db)
    card = await written(db)
    assert await run(db, drafts.remember_prompt, caller(), SECRET, card.nonce, card.version,
                     41) is None
    assert await run(db, drafts.remember_prompt, caller(), SECRET, card.nonce, card.version,
                     42) == 41
    assert await run(db, drafts.remember_prompt, caller(), SECRET, card.nonce,
                     card.version - 1, 43) == 43, "an older prompt loses its buttons"
    kept = await draft(db)
    assert kept is not None and kept.version == card.version and kept.data["msg"] == 42


# --- the place followed, a photo that starts a report --------------------------------------


async def follow(db: Database, user: int, *codes: str) -> None:
    """The person follows these places (as /units leaves it)."""
    async with db.transaction() as uow:
        contact = await uow.contacts.get_or_create(user, user)
        for code in codes:
            await uow.subscriptions.add(contact.id, await unit_id(db, code))


async def test_the_one_place_followed_is_set_from_the_start(db: Database) -> None:
    await seed_campaign(db)
    await follow(db, RESIDENT, "V1")
    started = await run(db, reporting.start_report, caller(), desk=DESK)
    assert isinstance(started, reporting.DraftOutcome)
    assert (started.card.unit, started.card.step) == ("Willow Village", reporting.TEXT)
    texted = await run(db, reporting.draft_text, caller(), "The bins are full", desk=DESK)
    assert isinstance(texted, reporting.DraftOutcome)
    assert texted.card.step == reporting.CONFIRM, "no picker: one tap sends it"
    # One tap changes it: the picker opens where the place is.
    card = texted.card
    changing = await run(db, reporting.draft_tap, caller(), RESIDENT, card.nonce, card.version,
                         "l", desk=DESK)
    assert isinstance(changing, reporting.TapOutcome) and changing.card is not None
    assert changing.card.picker is not None
    assert changing.card.picker.node_name == "North Township"
    # Following two places says nothing of where a problem is: the resident picks.
    await follow(db, OTHER, "V1", "V2")
    other = await run(db, reporting.start_report, caller(OTHER), desk=DESK)
    assert isinstance(other, reporting.DraftOutcome) and other.card.unit is None


async def test_a_place_sharing_its_name_is_told_by_its_parent(db: Database) -> None:
    await seed_campaign(db)
    async with db.transaction() as uow:
        await import_units(uow, [UnitRow("T2", "South Township", "C1", "township", 9_000, 5),
                                 UnitRow("V3", "Willow Village", "T2", "village", 700, 6)],
                           actor="test")
    card = await written(db, unit="V3")
    assert card.unit == "Willow Village, South Township"
    assert (await written(db, user=OTHER, unit="V2")).unit == "Pine Village"


async def test_a_captioned_photo_starts_a_report(db: Database) -> None:
    await seed_campaign(db)
    await follow(db, RESIDENT, "V1")
    gate = await run(db, reporting.photo_gate, caller(), SECRET)
    assert isinstance(gate, reporting.PhotoGate) and gate.why is None
    outcome = await run(db, reporting.start_from_photo, caller(), photo("b"),
                        "The bus shelter has lost its roof", desk=DESK)
    assert isinstance(outcome, reporting.DraftOutcome)
    card = outcome.card
    assert (card.text, card.photos, card.unit, card.from_photo, card.step) == (
        "The bus shelter has lost its roof", 1, "Willow Village", True, reporting.CONFIRM)
    opened = await send(db, card)
    async with db.reading() as uow:
        case = await uow.cases.by_number(opened.number)
        assert case is not None and case.origin == "report"
        assert [p.sha256 for p in await uow.cases.photos(case.id)] == ["b" * 64]
    # Now a report of theirs is open: a photo may be meant for its staff, so none starts.
    gate = await run(db, reporting.photo_gate, caller(), SECRET)
    assert isinstance(gate, reporting.PhotoGate) and gate.why == reporting.HAS_CASE
    other = await run(db, reporting.photo_gate, caller(OTHER), SECRET)
    assert isinstance(other, reporting.PhotoGate) and other.why is None
    # A caption over the limit keeps the photo and asks for the text.
    long = await run(db, reporting.start_from_photo, caller(OTHER), photo("c"), "x" * 61,
                     desk=DESK)
    assert isinstance(long, reporting.DraftOutcome) and long.too_long is not None
    assert (long.card.text, long.card.photos, long.card.step) == ("", 1, reporting.TEXT)


async def test_a_photo_during_a_poll_starts_nothing(db: Database) -> None:
    await seed_campaign(db)
    who = Respondent(telegram_user_id=RESIDENT, chat_id=RESIDENT, client_language="en",
                     secret=SECRET, catalog=SurveyCatalog(), now=now())
    async with db.transaction() as uow:
        opened = await responding.open_campaign(uow, who, "willow")
    assert opened.screen is not None, "the poll is being answered"
    gate = await run(db, reporting.photo_gate, caller(), SECRET)
    assert isinstance(gate, reporting.PhotoGate) and gate.why == reporting.IN_POLL


# --- the end-of-poll offer (pure) -----------------------------------------------------------


def test_a_low_rating_on_a_marked_question_offers_a_report() -> None:
    survey = load_template("public_facilities")
    answers = {"roads": 4, "lighting": 2, "cleanliness": 1, "facilities": 5, "comment": None}
    offer = poll_offer(survey, answers, 7, 2)
    assert offer is not None
    assert (offer.unit_id, offer.category, offer.comment) == (7, "sanitation", False)
    assert poll_offer(survey, {**answers, "comment": "By the well"}, 7, 2) is not None
    with_comment = poll_offer(survey, {**answers, "comment": "By the well"}, 7, 2)
    assert with_comment is not None and with_comment.comment
    assert poll_offer(survey, {**answers, "lighting": 3, "cleanliness": 3}, 7, 2) is None
    assert poll_offer(survey, answers, 7, None) is None, "offers off"
    resident = load_template("resident_satisfaction")
    overall = poll_offer(resident, {"overall": 1, "comment": "  "}, 3, 2)
    assert overall is not None and (overall.category, overall.comment) == (None, False)


SURVEY = """
id: lamps
title: {en: Lamps, zh: 路灯}
intro: {en: Two questions, zh: 两个问题}
audience: residents
questions:
  - id: lit
    type: %s
    text: {en: Is it lit, zh: 亮吗}
    %s
"""


@pytest.mark.parametrize(("kind", "extra", "problem"), [
    ("yesno", "opens_case: true", "opens_case: only allowed on rating questions"),
    ("rating", "case_category: roads", "case_category: only allowed with opens_case: true"),
])
def test_the_schema_keeps_opens_case_to_ratings(kind: str, extra: str, problem: str) -> None:
    from surveys.questionnaire.loader import SurveyError

    with pytest.raises(SurveyError) as error:
        parse_survey(SURVEY % (kind, extra))
    assert problem in str(error.value)


def test_surveys_without_the_new_keys_keep_their_checksum() -> None:
    from surveys.questionnaire.loader import canonical_json

    plain = parse_survey(SURVEY % ("rating", ""))
    assert "opens_case" not in canonical_json(plain)
    marked = parse_survey(SURVEY % ("rating", "opens_case: true\n    case_category: roads"))
    assert '"opens_case":true' in canonical_json(marked)
    assert '"case_category":"roads"' in canonical_json(marked)


async def test_a_send_handled_before_answers_with_the_receipt_again(db: Database) -> None:
    """Review S12: a Send delivered again after a crash (its receipt died with the process)
    answers with the case's number, found through the seal; someone else's tap, or another
    draft's, is only stale."""
    await seed_campaign(db)
    card = await written(db)
    opened = await send(db, card, tell=False)
    again = await run(db, reporting.show_tap, caller(), desk=DESK, draft_nonce=card.nonce)
    assert isinstance(again, reporting.TapOutcome) and again.opened == opened
    for user, nonce in ((RESIDENT, "ffffff"), (4_000_002, card.nonce), (RESIDENT, None)):
        with pytest.raises(Refused) as refused:
            await run(db, reporting.show_tap, caller(user), desk=DESK, draft_nonce=nonce)
        assert refused.value.key == "stale"
