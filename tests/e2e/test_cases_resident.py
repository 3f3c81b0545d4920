"""The resident's side of the case loop through the real Application, the sandbox and a real
database: /report with a photo and a location, a report from a poll's offer or its comment,
one started by a captioned photo alone (and when a photo starts none), the place a resident
follows set from the start, the refusals (too long, too many open cases, stale and forged
buttons), /cancel, a restart in the middle, replies to a staff message and the "Was this
solved?" answers. And privacy: no case row names the resident, the seal does not open
without the secret, and a resident's photo is kept without its metadata.

Staff messages and resolutions are recorded straight in the timeline, as the staff side
does; the real relay (``bot/case_relay.py``, running in the bot) hands them to the resident
once woken (:func:`wake`), as a staff handler wakes it after its commit."""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from bot.app import background_of
from bot.settings import CasesSection, EvidenceSection
from sandbox import BotApiSandbox, SandboxClient, SandboxUser
from sandbox.client import Message
from sandbox.media import png_bytes
from storage.models import (
    Answer,
    Case,
    CaseDraft,
    CaseMessage,
    CaseOutcome,
    CasePhoto,
    CaseSeal,
    CaseStatus,
)
from storage.uow import Database
from surveys.cases import sealing, timeline
from surveys.cases.rules import HANDLER
from tests.conftest import SECRET, seed_campaign
from tests.e2e.conftest import Bot, Clock, redeliver
from tests.e2e.fieldwork import set_unit_centre
from tests.e2e.test_resident_journey import begin, tap_and_wait
from tests.storage.test_evidence_store import GPS_IFD, TAKEN_AT, phone_jpeg, phone_mpo

pytestmark = pytest.mark.e2e

RESIDENT = 5_550_314_159
OTHER = 5_550_271_828
LIMIT = 80
NEAR = (30.003, 120.0)
TEXT = "The street light by the school gate has been dark for a month"
SEND, SILENT, SENT = "🔔 Send, tell me", "🔕 Just send", "Sent: case"
PRIVACY = "Staff see the text, photos and place, never who sent it"
SOLVED = "Was the problem solved?"


@pytest.fixture
async def bot(sandbox: BotApiSandbox, db: Database, clock: Clock,
              tmp_path: Path) -> AsyncIterator[Bot]:
    """The usual harness, with evidence under the test's own var/, a short text limit and
    two open cases per person."""
    await seed_campaign(db)
    harness = Bot(sandbox, db, clock)
    harness.settings = harness.settings.model_copy(update={
        "var_dir": tmp_path / "var",
        "evidence": EvidenceSection(max_photos=2),
        "cases": CasesSection(max_text_length=LIMIT, max_open_per_person=2),
    })
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def card(user: SandboxUser, contains: str) -> Message:
    """The newest message with buttons that says ``contains`` (skipping an older one whose
    buttons were just taken off)."""
    while True:
        message = await user.wait_for_message(contains)
        if message.buttons:
            return message


async def retired(user: SandboxUser, message_id: int) -> None:
    """Wait until the message's buttons are gone (the prompt after it has been recorded)."""
    for _ in range(100):
        if not next(m for m in await user.bot_messages() if m.message_id == message_id).buttons:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"message {message_id} kept its buttons")


async def to_willow(user: SandboxUser) -> Message:
    """Pick Willow Village in the unit picker (the county is open at first)."""
    await user.tap("›")
    while not (await user.wait_for_message("Where is it?")).has_button("Willow Village"):
        pass
    await user.tap("Willow Village")
    return await card(user, PRIVACY)


def number_in(message: Message) -> str:
    found = re.search(r"C-[0-9A-Z]{6}", message.text)
    assert found is not None
    return found.group(0)


async def report(user: SandboxUser, text: str = TEXT, tell: bool = True) -> str:
    """A report by /report, sent; returns its case number."""
    await user.send("/report")
    await card(user, "What is wrong?")
    await user.send(text)
    await card(user, "Where is it?")
    await to_willow(user)
    await user.tap(SEND if tell else SILENT)
    return number_in(await user.wait_for_message(SENT))


async def follow(db: Database, user_id: int, code: str = "V1") -> None:
    """The person follows one place, as choosing it with /units leaves it."""
    async with db.transaction() as uow:
        contact = await uow.contacts.get_or_create(user_id, user_id)
        unit = await uow.units.by_code(code)
        assert unit is not None
        await uow.subscriptions.add(contact.id, unit.id)


async def cases(db: Database) -> list[Case]:
    async with db.reading() as uow:
        return list((await uow.session.scalars(select(Case).order_by(Case.number))).all())


async def case_of(db: Database, number: str) -> Case:
    async with db.reading() as uow:
        case = await uow.cases.by_number(number)
        assert case is not None
        return case


async def resident_entries(db: Database, number: str) -> list[CaseMessage]:
    async with db.reading() as uow:
        case = await uow.cases.by_number(number)
        assert case is not None
        return [e for e in await uow.cases.messages(case.id) if e.author != HANDLER]


async def staff_message(db: Database, number: str, text: str) -> None:
    async with db.transaction() as uow:
        case = await uow.cases.by_number(number)
        assert case is not None
        await timeline.record(uow, case, timeline.MESSAGE, timeline.TO_RESIDENT,
                              author=HANDLER, at=datetime.now(UTC), text=text, actor="person:1")


async def resolve(db: Database, number: str, text: str = "Bulb replaced") -> None:
    async with db.transaction() as uow:
        case = await uow.cases.by_number(number)
        assert case is not None
        now = datetime.now(UTC)
        case.status, case.resolution, case.resolved_at = CaseStatus.RESOLVED, text, now
        case.resolved_on_time, case.answer_due_at = True, now + timedelta(days=7)
        case.version += 1
        await timeline.record(uow, case, timeline.RESOLUTION, timeline.TO_RESIDENT,
                              author=HANDLER, at=now, text=text, actor="person:1")


def wake(bot: Bot) -> None:
    """What a staff handler does after its commit: the relay looks now, not at its next
    poll."""
    assert bot.application is not None
    background_of(bot.application).relay.wake()


# --- raising a case -------------------------------------------------------------------------


async def test_report_with_a_photo_and_a_location(
    bot: Bot, client: SandboxClient, db: Database, tmp_path: Path,
) -> None:
    await set_unit_centre(db, "V1", 30.0, 120.0, radius_km=2.0)
    user = await client.user(RESIDENT, "Li")
    await user.send("/report")
    first = await card(user, "What is wrong?")
    assert "A photo's caption counts" in first.text and first.button_texts == ["✖ Cancel"]
    await user.send_photo(png_bytes(40, 30))
    with_photo = await card(user, "📷 1")
    assert "What is wrong?" in with_photo.text, "still asked: the photo had no caption"
    await user.send(TEXT)
    picking = await card(user, "Where is it?")
    assert picking.button_texts == ["📍 Riverside County", "North Township", "›", "✖ Cancel"]
    await user.send_location(*NEAR)
    await card(user, "📌 received")
    confirm = await to_willow(user)
    assert "📍 Willow Village" in confirm.text and TEXT in confirm.text
    assert "0.3 km from the centre of Willow Village" in confirm.text
    assert "Not linked to your poll answers" in confirm.text
    assert "sealed handle only it can open, until the case closes" in confirm.text
    assert confirm.button_texts[:3] == [SEND, SILENT, "🏷 Roads and lighting?"]
    await user.tap(SEND)
    sent = await user.wait_for_message(SENT)
    assert sent.message_id == confirm.message_id and not sent.buttons
    assert re.search(r"due \d{4}-\d\d-\d\d\.$", sent.text)

    [case] = await cases(db)
    assert case.number in sent.text
    assert (case.status, case.origin, case.category, case.text) == (
        CaseStatus.OPEN, "report", "roads", TEXT)
    assert case.far_from_unit is False and case.wants_reply
    async with db.reading() as uow:
        [photo] = await uow.cases.photos(case.id)
        [entry] = await uow.cases.messages(case.id)
        sealed = await uow.cases.seal_of(case.id)
    assert (entry.kind, entry.notify, entry.audited) == ("opened", "unit", False)
    kept = tmp_path / "var" / "evidence" / photo.path
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == photo.sha256
    with Image.open(kept) as image:
        assert image.size == (40, 30)
    assert kept.stat().st_mtime == 0, "the disk does not time a resident's photo"
    assert sealed is not None
    assert sealing.unseal(b"not-the-secret-key-0123456789ab", case.id, sealed) is None
    reporter = sealing.unseal(SECRET, case.id, sealed)
    assert reporter is not None and reporter.chat_id == RESIDENT
    await no_case_row_names(db, RESIDENT)
    async with db.reading() as uow:
        # Reporting writes no contact: the one table that names people points at nothing here.
        assert await uow.contacts.by_user(RESIDENT) is None


async def no_case_row_names(db: Database, user_id: int) -> None:
    """No case table holds the Telegram id or the chat id (equal in a private chat)."""
    async with db.reading() as uow:
        for model in (Case, CaseMessage, CasePhoto, CaseSeal, CaseDraft):
            for row in (await uow.session.scalars(select(model))).all():
                for column in model.__table__.columns:
                    value = str(getattr(row, column.key))
                    assert str(user_id) not in value, f"{model.__tablename__}.{column.key}"


async def low_rated_poll(user: SandboxUser, comment: str | None) -> Message:
    """Answer the poll with a low overall rating; return the thanks."""
    await begin(user)
    await tap_and_wait(user, "1", "main problem")
    await tap_and_wait(user, "Waited too long", "2/5")
    await tap_and_wait(user, "No", "3/5")
    await tap_and_wait(user, "2", "4/5")
    await tap_and_wait(user, "3", "5/5")
    if comment is None:
        await tap_and_wait(user, "Skip ▶", "Your answers")
    else:
        await user.send(comment)
        await user.wait_for_message("Your answers")
    return await tap_and_wait(user, "✅ Submit", "Thank you")


async def test_report_from_a_poll_offer(bot: Bot, client: SandboxClient, db: Database) -> None:
    user = await client.user(RESIDENT, "Li")
    thanks = await low_rated_poll(user, comment=None)
    assert "Report it" in thanks.text
    assert thanks.button_texts == ["📣 Report a problem"]
    async with db.reading() as uow:
        village = await uow.units.by_code("V1")
        assert village is not None
    # The offer names the unit (and a category), never the response or the campaign.
    assert thanks.callback_data("📣 Report a problem") == f"co:r:{village.id}:"
    await user.tap("📣 Report a problem")
    draft = await card(user, "What is wrong?")
    assert "📍 Willow Village" in draft.text
    await user.send("Window 3 was closed all morning and nobody said why")
    confirm = await card(user, PRIVACY)
    await user.tap(SILENT, message_id=confirm.message_id)
    sent = await user.wait_for_message(SENT)
    assert "Keep the number" in sent.text
    [case] = await cases(db)
    assert (case.origin, case.unit_id, case.wants_reply) == ("poll", village.id, False)
    async with db.reading() as uow:
        sealed = await uow.cases.seal_of(case.id)
    assert sealed is not None
    reporter = sealing.unseal(SECRET, case.id, sealed)
    assert reporter is not None and reporter.chat_id is None, "no chat: not to be told"
    await no_case_row_names(db, RESIDENT)


async def test_a_satisfied_resident_is_offered_nothing(
    bot: Bot, client: SandboxClient,
) -> None:
    user = await client.user(RESIDENT, "Li")
    await begin(user)
    for button, expect in [("4", "2/5"), ("Yes", "3/5"), ("5", "4/5"), ("4", "5/5"),
                           ("Skip ▶", "Your answers")]:
        await tap_and_wait(user, button, expect)
    thanks = await tap_and_wait(user, "✅ Submit", "Thank you")
    assert thanks.buttons == [] and "Report it" not in thanks.text


async def test_report_from_a_comment(bot: Bot, client: SandboxClient, db: Database) -> None:
    user = await client.user(RESIDENT, "Li")
    comment = "The toilet in the hall has been broken for weeks"
    thanks = await low_rated_poll(user, comment=comment)
    assert thanks.button_texts == ["📣 Report a problem", "📝 Turn my comment into a report"]
    await user.tap("📝 Turn my comment into a report")
    confirm = await card(user, PRIVACY)
    assert "Your poll comment is the text, and staff will see it" in confirm.text
    assert "it moves out of your poll answers into this report" in confirm.text
    assert comment in confirm.text
    assert "🏷 Public facilities?" in confirm.button_texts
    await user.tap("☐ OK to quote my words")
    while "☑ OK to quote my words" not in (await card(user, PRIVACY)).button_texts:
        pass
    await user.tap(SEND)
    await user.wait_for_message(SENT)
    [case] = await cases(db)
    # "poll", as any report from the end-of-poll offer (docs/privacy.md).
    assert (case.origin, case.text, case.category, case.quotable) == (
        "poll", comment, "facilities", True)
    # The supervision sweep moves the comment out of the poll: it shows skipped there.
    assert bot.application is not None
    await background_of(bot.application).relay.sweep()
    async with db.reading() as uow:
        [answer] = (await uow.session.scalars(
            select(Answer).where(Answer.question_id == "comment"))).all()
    assert (answer.skipped, answer.value_text) == (True, None)


async def test_a_multi_picture_photo_from_a_phone_is_taken_as_its_first_picture(
    bot: Bot, client: SandboxClient, db: Database, tmp_path: Path,
) -> None:
    """A portrait shot sent as a file is an MPO (a JPEG with more pictures appended, each
    with its EXIF): accepted, and kept as a plain JPEG of the photo alone, without metadata."""
    await follow(db, RESIDENT)
    user = await client.user(RESIDENT, "Li")
    await user.send_document(phone_mpo(), "IMG_0413.jpg", "image/jpeg",
                             caption="The bus shelter has lost its roof")
    confirm = await card(user, PRIVACY)
    assert "📷 1" in confirm.text
    await user.tap(SEND)
    case = await case_of(db, number_in(await user.wait_for_message(SENT)))
    async with db.reading() as uow:
        [photo] = await uow.cases.photos(case.id)
    assert photo.media_type == "image/jpeg"
    kept = (tmp_path / "var" / "evidence" / photo.path).read_bytes()
    with Image.open(io.BytesIO(kept)) as image:
        assert (image.format, getattr(image, "n_frames", 1)) == ("JPEG", 1)
        assert not image.getexif() and "mp" not in image.info
    assert b"2026:12:06" not in kept


async def test_a_captioned_photo_alone_starts_a_report_without_its_metadata(
    bot: Bot, client: SandboxClient, db: Database, tmp_path: Path,
) -> None:
    """A resident who follows one place sends a phone photo as a file (so Telegram keeps its
    EXIF: when and where it was taken), captioned with what is wrong: that is the report,
    its place set; one tap sends it. The photo is kept without its metadata."""
    await follow(db, RESIDENT)
    user = await client.user(RESIDENT, "Li")
    original = phone_jpeg()
    await user.send_document(original, "IMG_0412.jpg", "image/jpeg",
                             caption="The bus shelter has lost its roof")
    confirm = await card(user, PRIVACY)
    assert "📍 Willow Village" in confirm.text and "Your photo starts a report" in confirm.text
    assert "The bus shelter has lost its roof" in confirm.text and "📷 1" in confirm.text
    await user.tap(SEND)
    number = number_in(await user.wait_for_message(SENT))
    case = await case_of(db, number)
    assert (case.text, case.origin) == ("The bus shelter has lost its roof", "report")
    async with db.reading() as uow:
        [photo] = await uow.cases.photos(case.id)
    kept = (tmp_path / "var" / "evidence" / photo.path).read_bytes()
    assert hashlib.sha256(kept).hexdigest() == photo.sha256, "the stripped bytes are hashed"
    assert kept != original
    with Image.open(io.BytesIO(kept)) as image:
        exif = image.getexif()
        assert (image.format, image.size) == ("JPEG", (40, 30))
        assert not exif.get_ifd(GPS_IFD) and TAKEN_AT not in exif and "comment" not in image.info
    assert b"2026:12:06" not in kept

    # With a report open, a photo may be what its staff asked for: none starts.
    await user.send_photo(png_bytes(20, 20), caption="And the bench is broken")
    await user.wait_for_message("Is this photo for a report you made?")
    assert len(await cases(db)) == 1
    # Without a caption there is no text: the resident is told how to report.
    other = await client.user(OTHER, "Wang")
    await other.send_photo(png_bytes(20, 20))
    await other.wait_for_message("send the photo with a caption saying what is wrong")
    # While a poll is being answered, a photo is the poll's business (which takes none).
    await begin(other)
    await other.send_photo(png_bytes(20, 20), caption="My answer")
    await other.wait_for_message("I can only read text messages")
    async with db.reading() as uow:
        assert await uow.cases.draft(sealing.draft_key(SECRET, OTHER)) is None
    assert len(await cases(db)) == 1


async def test_the_place_followed_is_set_and_one_tap_changes_it(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    await follow(db, RESIDENT, "V2")
    user = await client.user(RESIDENT, "Li")
    await user.send("/report")
    first = await card(user, "What is wrong?")
    assert "📍 Pine Village" in first.text
    await user.send(TEXT)
    confirm = await card(user, PRIVACY)
    assert "📍 Pine Village" in confirm.text, "no picker: the place is the one followed"
    await user.tap("📍 Place")
    await card(user, "Where is it?")
    await user.tap("Willow Village")
    moved = await card(user, PRIVACY)
    assert "📍 Willow Village" in moved.text
    await user.tap(SEND)
    number = number_in(await user.wait_for_message(SENT))
    async with db.reading() as uow:
        willow = await uow.units.by_code("V1")
    assert willow is not None and (await case_of(db, number)).unit_id == willow.id


async def test_a_text_over_the_limit_is_refused_whole(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    user = await client.user(RESIDENT, "Li")
    long = "A" * (LIMIT + 1)
    await user.send(f"/report {long}")
    refused = await user.wait_for_message("the limit is")
    assert f"Too long: {LIMIT + 1} characters, the limit is {LIMIT}" in refused.text
    echoed = await user.wait_for_message(long)
    assert echoed.text == long, "sent back as it was, to shorten"
    draft = await card(user, "Report a problem")
    assert "What is wrong?" in draft.text, "nothing of it was kept"
    await user.send("Short")
    await card(user, "Where is it?")
    await user.send(long + "B")
    await user.wait_for_message("the limit is")
    async with db.reading() as uow:
        kept = await uow.cases.draft(sealing.draft_key(SECRET, RESIDENT))
    assert kept is not None and kept.data["text"] == "Short"


async def test_the_limit_of_open_cases(bot: Bot, client: SandboxClient, db: Database) -> None:
    user = await client.user(RESIDENT, "Li")
    for n in range(2):
        await report(user, f"Problem number {n} at the market")
    await user.send("/report")
    refused = await user.wait_for_message("You already have 2 reports open")
    assert not refused.buttons
    other = await client.user(OTHER, "Wang")
    await report(other, "Someone else's problem at the market")
    assert len(await cases(db)) == 3


# --- bad buttons, /cancel, a restart --------------------------------------------------------


async def test_stale_and_forged_buttons(bot: Bot, client: SandboxClient, db: Database) -> None:
    user = await client.user(RESIDENT, "Li")
    await user.send("/report")
    first = await card(user, "What is wrong?")
    await user.send(TEXT)
    await card(user, "Where is it?")
    data = first.callback_data("✖ Cancel")
    assert data is not None
    await user.tap_data(first.message_id, data)
    assert "no longer active" in (await user.wait_for_answer()).text
    for forged in ["cr:zzzzzz:1:y", "cq:C-ZZZZZZ:1", "ca:C-ZZZZZZ:1:y",
                   f"co:r:{2**40}:", "co:x:1:", "ca:C-ZZZZZZ:1:q"]:
        await user.tap_data(first.message_id, forged)
        assert "not valid" in (await user.wait_for_answer()).text, forged
    async with db.reading() as uow:
        kept = await uow.cases.draft(sealing.draft_key(SECRET, RESIDENT))
    assert kept is not None and kept.data["text"] == TEXT, "nothing changed"


async def test_cancel_drops_the_draft(bot: Bot, client: SandboxClient, db: Database) -> None:
    user = await client.user(RESIDENT, "Li")
    await user.send("/report")
    first = await card(user, "What is wrong?")
    await user.send(TEXT)
    shown = await card(user, "Where is it?")
    await retired(user, first.message_id)
    await user.send("/cancel")
    await user.wait_for_message("Report dropped: nothing was sent.")
    await retired(user, shown.message_id)  # the prompt's buttons go
    async with db.reading() as uow:
        assert await uow.cases.draft(sealing.draft_key(SECRET, RESIDENT)) is None
    # With no draft, /cancel is the poll's again.
    await user.send("/cancel")
    await user.wait_for_message("There is nothing to cancel.")
    assert await cases(db) == []


async def test_a_restart_in_the_middle_loses_nothing(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    user = await client.user(RESIDENT, "Li")
    await user.send("/report")
    await card(user, "What is wrong?")
    await user.send(TEXT)
    await card(user, "Where is it?")
    await bot.restart()
    await to_willow(user)
    await bot.restart()
    await user.tap(SEND)
    await user.wait_for_message(SENT)
    [case] = await cases(db)
    assert case.text == TEXT


async def test_a_redelivered_message_shows_the_report_again(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    """A crash between the commit and the reply: Telegram delivers the message again; it
    changes nothing, and the report's prompt is shown again."""
    user = await client.user(RESIDENT, "Li")
    await user.send("/report")
    await card(user, "What is wrong?")
    sent = await user.send(TEXT)
    shown = await card(user, "Where is it?")
    async with db.reading() as uow:
        before = await uow.cases.draft(sealing.draft_key(SECRET, RESIDENT))
    assert before is not None
    await redeliver(bot, client, sent.update_id)
    again = await card(user, "Where is it?")
    assert again.message_id != shown.message_id
    async with db.reading() as uow:
        after = await uow.cases.draft(sealing.draft_key(SECRET, RESIDENT))
    assert after is not None and after.version == before.version
    await to_willow(user)


# --- after sending: replies and "Was this solved?" ------------------------------------------


async def test_reply_to_a_relayed_message(bot: Bot, client: SandboxClient, db: Database) -> None:
    user = await client.user(RESIDENT, "Li")
    number = await report(user)
    await staff_message(db, number, "Which lamp post?")
    wake(bot)
    asked = await user.wait_for_message("Which lamp post?")
    assert f"{number}: a question about your report" in asked.text
    assert asked.button_texts == ["↩️ Reply"]
    data = asked.callback_data("↩️ Reply")
    assert data is not None and data.startswith(f"cq:{number}:")
    # Someone else tapping the same button (a forged copy) gets nowhere.
    stranger = await client.user(OTHER, "Wang")
    await stranger.send("/help")
    own = await stranger.wait_for_message("/report")
    await stranger.tap_data(own.message_id, data)
    assert "not valid" in (await stranger.wait_for_answer()).text
    await user.tap("↩️ Reply")
    await user.wait_for_message(f"Your reply on case {number}")
    await user.send("The one by the school gate")
    await user.wait_for_message(f"Passed on to the handler of case {number}")
    [reply] = [e for e in await resident_entries(db, number) if e.kind == "message"]
    assert (reply.kind, reply.author, reply.notify, reply.text, reply.audited) == (
        "message", "resident", "handler", "The one by the school gate", False)
    assert reply.at.minute % 10 == 0 and reply.at.second == 0, "a coarse time"


@pytest.mark.parametrize(("taps", "outcome", "said"), [
    (["✅ Yes"], CaseOutcome.CONFIRMED, "closed as solved"),
    (["➖ Partly"], CaseOutcome.PARTLY, "closed as partly solved"),
    (["❌ No"], None, "reopened"),
    (["❌ No", "❌ No"], CaseOutcome.NOT_SOLVED, "closed as not solved"),
])
async def test_was_this_solved(bot: Bot, client: SandboxClient, db: Database,
                               taps: list[str], outcome: CaseOutcome | None,
                               said: str) -> None:
    user = await client.user(RESIDENT, "Li")
    number = await report(user)
    for n, tap in enumerate(taps):
        if n:  # the answer before has been taken (reopened) before it is resolved again
            await user.wait_for_message("reopened")
        await resolve(db, number)
        wake(bot)
        question = await card(user, SOLVED)
        assert f"{number}: your report has been dealt with" in question.text
        assert question.button_texts == ["✅ Yes", "➖ Partly", "❌ No"]
        await user.tap(tap, message_id=question.message_id)
    answered = await user.wait_for_message(said)
    assert "Add a comment for the handler" in answered.text
    case = await case_of(db, number)
    assert case.outcome == outcome
    assert case.status == (CaseStatus.TAKEN if outcome is None else CaseStatus.CLOSED)
    if outcome is None:
        assert (case.reopened, case.escalation) == (1, "not_solved")
    # A second tap on the answered question says where the case is.
    data = question.callback_data(taps[-1])
    assert data is not None
    await user.tap_data(question.message_id, data)
    assert ("was reopened since" if outcome is None else "is closed already") in (
        await user.wait_for_answer()).text
    await user.send("Thanks for the quick work")
    await user.wait_for_message("Your comment was passed on")
    comments = [e for e in await resident_entries(db, number)
                if e.kind == "answer" and e.text == "Thanks for the quick work"]
    assert len(comments) == 1 and comments[0].notify == "handler"


async def test_no_comment_and_a_reply_to_a_closed_case(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    user = await client.user(RESIDENT, "Li")
    number = await report(user)
    await staff_message(db, number, "Which lamp post?")
    wake(bot)
    asked = await user.wait_for_message("Which lamp post?")
    await resolve(db, number)
    wake(bot)
    await card(user, SOLVED)
    await user.tap("✅ Yes")
    done = await user.wait_for_message("closed as solved")
    await user.tap("No comment")
    assert (await user.wait_for_answer()).text == "OK, no comment."
    await retired(user, done.message_id)
    kept = next(m for m in await user.bot_messages() if m.message_id == done.message_id)
    assert "closed as solved" in kept.text, "the thanks for the answer stays"
    async with db.reading() as uow:
        assert await uow.cases.seal_of((await case_of(db, number)).id) is None
    await user.tap("↩️ Reply", message_id=asked.message_id)
    closed = await user.wait_for_answer()
    assert f"Case {number} is closed" in closed.text
    # Text now belongs to no draft: it goes on to the resident journey (a first "hello").
    await user.send("Hello again")
    await user.wait_for_message("I collect short, anonymous opinion polls")
