"""The staff side of the case loop through the real Application, the sandbox and a real
database: /cases and /case, take, ask the resident, resolve with photo evidence (with and
without the resident asking to be told), a transfer asked for and approved, a rejection with
its reason, merging two reports of one problem, resolving a case nobody took (which takes
it), and the bad input: blank resolutions, a cadre
of another unit, stale and forged buttons, a restart in the middle of a resolution.

Cases are made as the resident flow leaves them (``tests.cases.staff_factory``); what the
relay then delivers is its own test's business: these assert what the use cases record (the
entries and whom they must reach) and what the staff member sees.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.settings import EvidenceSection, NotesSection
from sandbox import BotApiSandbox, SandboxClient, SandboxUser
from sandbox.client import Message
from sandbox.media import png_bytes
from storage.evidence import EvidenceStore
from storage.models import AdminDialogue, CaseOutcome, CasePhoto, CaseStatus, Role
from storage.uow import Database
from surveys.cases import timeline
from tests.cases.staff_factory import (
    case_row,
    days_ago,
    entries,
    make_staff,
    open_case,
    seal_of,
)
from tests.conftest import seed_campaign
from tests.e2e.conftest import Bot, Clock
from tests.storage.test_evidence_store import phone_jpeg

pytestmark = pytest.mark.e2e

CADRE, PINE_CADRE, ADMIN, RESIDENT = 9601, 9602, 9603, 9604
PHOTO_LIMIT = 64 * 1024
MAX_PHOTOS = 2
MAX_LENGTH = 80


@pytest.fixture
async def bot(sandbox: BotApiSandbox, db: Database, clock: Clock,
              tmp_path: Path) -> AsyncIterator[Bot]:
    """The usual harness, with evidence under the test's own var/, small limits, a cadre of
    Willow Village (V1), one of Pine Village (V2) and North Township's admin (both)."""
    await seed_campaign(db)
    await make_staff(db, CADRE, Role.CADRE, "V1", "Wang Fang")
    await make_staff(db, PINE_CADRE, Role.CADRE, "V2", "Li Ming")
    await make_staff(db, ADMIN, Role.ADMIN, "T1", "Admin Liu")
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


async def user(client: SandboxClient, user_id: int = CADRE) -> SandboxUser:
    names = {CADRE: "Wang Fang", PINE_CADRE: "Li Ming", ADMIN: "Admin Liu"}
    return await client.user(user_id, names.get(user_id, "Resident"))


async def prompt(person: SandboxUser, contains: str) -> Message:
    """The newest message containing ``contains`` that has buttons (skipping one losing its
    buttons)."""
    while True:
        message = await person.wait_for_message(contains)
        if message.buttons:
            return message


async def opened(person: SandboxUser, number: str) -> Message:
    """``/case <number>``: the case with its buttons."""
    await person.send(f"/case {number}")
    return await prompt(person, f"Case {number}")


async def tap_for(person: SandboxUser, button: str, message_id: int | None = None) -> str:
    """Tap and return the toast (or pop-up) the tap was answered with."""
    await person.tap(button, message_id)
    return (await person.wait_for_answer()).text


async def dialogue_of(db: Database, telegram_id: int) -> AdminDialogue | None:
    async with db.reading() as uow:
        person = await uow.people.by_user(telegram_id)
        assert person is not None
        return await uow.session.get(AdminDialogue, person.id)


# --- the list and one case ------------------------------------------------------------------


async def test_the_list_pages_and_opens_a_case_with_its_photos(
    bot: Bot, client: SandboxClient, db: Database, tmp_path: Path,
) -> None:
    number = await open_case(db, text="The street lamp on Mill Road is dark",
                             opened_on=days_ago(10), location=(30.07, 120.02))
    image = png_bytes(24, 24, (10, 200, 10))
    stored = EvidenceStore(tmp_path / "var" / "evidence").put(image, "image/png", "png")
    async with db.transaction() as uow:
        case = await uow.cases.by_number(number)
        assert case is not None
        await uow.cases.add_photo(case.id, "report", sha256=stored.sha256, path=stored.path,
                                  size_bytes=stored.size_bytes, media_type="image/png")
    for _ in range(8):
        await open_case(db, category="waiting")
    await open_case(db, unit="V2")
    wang = await user(client)
    await wang.send("/cases")
    listing = await prompt(wang, "Active cases")
    assert "Active cases: 9, 1 overdue · nearest deadline first · Page 1 of 2" in listing.text
    lines = listing.text.split("\n")
    assert len(lines) <= 12, "a summary: the case's button opens it in full"
    first = lines[2]
    assert number in first, "the nearest deadline first"
    assert "Willow Village · Roads and lighting · new · ⚠️ overdue by" in first
    assert "(V1)" not in listing.text, "the unit's name, not its code"
    assert "left" in lines[3], "the others are due later"
    assert "Pine Village" not in listing.text
    await wang.tap("Next ›")
    second = await wang.wait_for_message("Page 2 of 2")
    assert second.message_id == listing.message_id and second.has_button("‹ Previous")
    await wang.tap("‹ Previous")
    await wang.wait_for_message("Page 1 of 2")
    await wang.tap(number)
    photo = await wang.wait_for_message(f"{number} · report photo 1/1")
    assert await wang.download(photo) == image
    view = await prompt(wang, f"Case {number}")
    assert "The street lamp on Mill Road is dark" in view.text
    assert "Place: 30.07000, 120.02000" in view.text
    assert "Report (sent with /report):" in view.text
    assert "The resident asked to be told" in view.text
    assert "Resident reported it" in view.text
    assert view.button_texts == ["✋ Take", "✅ Resolve", "💬 Ask the resident",
                                 "🔁 Ask to transfer", "🚫 Ask to reject"]


async def test_take_then_ask_the_resident(bot: Bot, client: SandboxClient, db: Database) -> None:
    number = await open_case(db)
    wang = await user(client)
    view = await opened(wang, number)
    assert await tap_for(wang, "✋ Take") == f"You took case {number}."
    taken = await wang.wait_for_message("taken by Wang Fang")
    assert taken.message_id == view.message_id, "the case is shown again in place"
    assert "Taken by Wang Fang" in taken.text
    assert taken.button_texts[:2] == ["✅ Resolve", "💬 Ask the resident"]
    await wang.tap("💬 Ask the resident")
    await prompt(wang, "Question to the resident")
    await wang.send("Which lamp post: the one by the school gate?")
    await wang.wait_for_message("is on its way to the resident")
    after = await prompt(wang, f"Case {number}")
    assert "Wang Fang: Which lamp post" in after.text
    question = (await entries(db, number))[-1]
    assert (question.kind, question.notify, question.author) == (
        timeline.MESSAGE, timeline.TO_RESIDENT, "handler")
    assert question.text == "Which lamp post: the one by the school gate?"
    assert await dialogue_of(db, CADRE) is None


# --- resolving ------------------------------------------------------------------------------


async def resolve_with_photo(wang: SandboxUser, number: str, image: bytes) -> Message:
    """Take the case, then Resolve: a captioned photo, a public summary; the confirmation."""
    await opened(wang, number)
    await tap_for(wang, "✋ Take")
    await wang.tap("✅ Resolve")
    await prompt(wang, "What was done?")
    await wang.send_photo(image, caption="Replaced the bulb and the fuse")
    photos = await prompt(wang, "Photo added (1 of 2)")
    assert "Done: Replaced the bulb and the fuse" in photos.text
    assert photos.button_texts == [f"✅ Resolve {number}", "📝 Add a public summary",
                                   "✖ Cancel"]
    await wang.tap("📝 Add a public summary")
    await prompt(wang, "public summary")
    await wang.send("Mill Road lamp repaired")
    return await prompt(wang, "Check, then tap Resolve")


async def test_resolve_with_a_photo_when_the_resident_asked_to_be_told(
    bot: Bot, client: SandboxClient, db: Database, tmp_path: Path,
) -> None:
    number = await open_case(db)
    wang = await user(client)
    image = phone_jpeg()  # its EXIF (when and where it was taken) is part of the evidence
    confirm = await resolve_with_photo(wang, number, image)
    assert "the resident is asked whether it is solved" in confirm.text
    assert "Public summary: Mill Road lamp repaired" in confirm.text
    await wang.tap(f"✅ Resolve {number}")
    done = await wang.wait_for_message("is resolved; the resident has until")
    assert done.message_id == confirm.message_id and not done.buttons
    view = await prompt(wang, f"Case {number}")
    assert "resolved, waiting for the resident's answer" in view.text
    assert "Wang Fang resolved it: Replaced the bulb" in view.text
    case = await case_row(db, number)
    assert case.status == CaseStatus.RESOLVED and case.resolved_on_time
    assert case.answer_due_at is not None
    assert (case.resolution, case.summary) == ("Replaced the bulb and the fuse",
                                               "Mill Road lamp repaired")
    resolution = (await entries(db, number))[-1]
    assert (resolution.kind, resolution.notify) == (timeline.RESOLUTION, timeline.TO_RESIDENT)
    async with db.reading() as uow:
        [photo] = (await uow.session.scalars(select(CasePhoto))).all()
    assert photo.part == "resolution" and photo.sha256 == hashlib.sha256(image).hexdigest()
    assert (tmp_path / "var" / "evidence" / photo.path).read_bytes() == image, (
        "staff evidence is kept byte for byte, metadata and all")
    assert await seal_of(db, number) is not None


async def test_resolve_when_the_resident_did_not_ask_closes_the_case(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    number = await open_case(db, wants_reply=False)
    wang = await user(client)
    confirm = await resolve_with_photo(wang, number, png_bytes(20, 20))
    assert "did not ask to be told, so the case closes" in confirm.text
    await wang.tap(f"✅ Resolve {number}")
    await wang.wait_for_message("is resolved and closed")
    view = await wang.wait_for_message(f"Case {number}")
    assert "closed: resolved, the resident did not ask to be told" in view.text
    assert not view.buttons
    case = await case_row(db, number)
    assert (case.status, case.outcome) == (CaseStatus.CLOSED, CaseOutcome.UNCONFIRMABLE)
    assert (await entries(db, number))[-1].notify == timeline.TO_NONE
    assert await seal_of(db, number) is None


async def test_resolve_on_a_case_nobody_took_takes_it_in_three_taps(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    """Resolve, a captioned photo, Resolve: the case is taken and resolved at once, with no
    summary step when none is wanted."""
    number = await open_case(db)
    wang = await user(client)
    await opened(wang, number)
    await wang.tap("✅ Resolve")
    await prompt(wang, "What was done?")
    await wang.send_photo(png_bytes(22, 22, (9, 9, 9)), caption="Unblocked the drain")
    ready = await prompt(wang, "Photo added (1 of 2)")
    assert "Tap Resolve, and the resident is asked" in ready.text
    assert (await case_row(db, number)).status == CaseStatus.OPEN, "taken only on resolving"
    await wang.tap(f"✅ Resolve {number}", ready.message_id)
    await wang.wait_for_message("is resolved")
    view = await prompt(wang, f"Case {number}")
    assert "Taken by Wang Fang" in view.text and "Wang Fang resolved it" in view.text
    case = await case_row(db, number)
    assert (case.status, case.resolution) == (CaseStatus.RESOLVED, "Unblocked the drain")
    assert [e.kind for e in await entries(db, number)] == [
        timeline.OPENED, timeline.TAKEN, timeline.RESOLUTION]


async def test_a_resolution_without_text_is_refused(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    number = await open_case(db)
    wang = await user(client)
    await opened(wang, number)
    await tap_for(wang, "✋ Take")
    await wang.tap("✅ Resolve")
    asked = await prompt(wang, "What was done?")
    assert asked.button_texts == ["✖ Cancel"], "nothing to go on with before the text"
    await wang.send("\u200b \u200b")  # only invisible characters
    await prompt(wang, "Nothing to record")
    await wang.send_photo(png_bytes(16, 16))
    still = await prompt(wang, "Photo added (1 of 2)")
    assert "What was done?" in still.text and still.button_texts == ["✖ Cancel"]
    await wang.send("y" * (MAX_LENGTH + 1))
    await prompt(wang, f"That is {MAX_LENGTH + 1} characters; the limit is {MAX_LENGTH}")
    assert (await wang.wait_for_message("y" * (MAX_LENGTH + 1))).text == "y" * (MAX_LENGTH + 1)
    await wang.send_document(b"not an image", "notes.txt", "text/plain")
    await prompt(wang, "not a photo I can read")
    assert (await case_row(db, number)).status == CaseStatus.TAKEN
    await wang.send("/cancel")
    await wang.wait_for_message(f"Dropped: nothing was recorded on case {number}.")
    assert await dialogue_of(db, CADRE) is None
    assert (await case_row(db, number)).resolution is None


async def test_a_restart_in_the_middle_of_a_resolution_loses_nothing(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    number = await open_case(db)
    wang = await user(client)
    await opened(wang, number)
    await tap_for(wang, "✋ Take")
    await wang.tap("✅ Resolve")
    await prompt(wang, "What was done?")
    await bot.restart()
    await wang.send("Cleared the blocked drain")
    await prompt(wang, "Tap Resolve, and the resident is asked")
    await bot.restart()
    await wang.send_photo(png_bytes(18, 18, (1, 2, 3)))
    photos = await prompt(wang, "Photo added (1 of 2)")
    await bot.restart()
    await wang.tap("📝 Add a public summary", photos.message_id)
    await prompt(wang, "public summary")
    await bot.restart()
    await wang.tap("◀ No summary")
    ready = await prompt(wang, "Tap Resolve, and the resident is asked")
    assert "Done: Cleared the blocked drain" in ready.text and "Photos: 1" in ready.text
    await bot.restart()
    await wang.tap(f"✅ Resolve {number}")
    await wang.wait_for_message("is resolved")
    case = await case_row(db, number)
    assert case.status == CaseStatus.RESOLVED and case.resolution == "Cleared the blocked drain"
    assert case.summary is None


# --- requests and decisions -----------------------------------------------------------------


async def test_a_transfer_asked_for_and_approved_by_the_admin(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    number = await open_case(db)
    wang, admin, li = await user(client), await user(client, ADMIN), await user(client,
                                                                                PINE_CADRE)
    await opened(wang, number)
    await wang.tap("🔁 Ask to transfer")
    await prompt(wang, "to which unit?")
    await wang.send("V9")
    await prompt(wang, "There is no unit with the code “V9”")
    await wang.send("v2")
    await prompt(wang, "Why should it go to Pine Village?")
    await wang.send("The lamp is on Pine Village's side of the road")
    await wang.wait_for_message("request to transfer case")
    pending = await prompt(wang, f"Case {number}")
    assert "Transfer to Pine Village requested" in pending.text
    assert "🔁 Ask to transfer" not in pending.button_texts, "one request at a time"
    asked = (await entries(db, number))[-1]
    assert (asked.kind, asked.notify, asked.params) == (
        timeline.REQUEST, timeline.TO_ADMINS, {"request": "transfer", "unit": "V2"})
    # The admins are told by the case relay, in the background: waited for here, or it may
    # arrive after the case is opened and be taken for the case's new view below.
    notice = await admin.wait_for_message("asks an admin to transfer")
    assert f"transfer {number} from Willow Village to Pine Village" in notice.text
    view = await opened(admin, number)
    assert {"👍 Approve the request", "👎 Deny the request", "🔁 Transfer",
            "🚫 Reject"} <= set(view.button_texts)
    assert await tap_for(admin, "👍 Approve the request") == (
        f"Case {number} is transferred to Pine Village.")
    moved = await admin.wait_for_message("Pine Village")
    assert "open, not taken" in moved.text
    assert "Admin Liu transferred it from Willow Village to Pine Village" in moved.text
    case = await case_row(db, number)
    assert (case.status, case.handler_id, case.request) == (CaseStatus.OPEN, None, None)
    await li.send("/cases")
    assert number in (await li.wait_for_message("Active cases")).text
    await wang.send(f"/case {number}")
    refusal = await wang.wait_for_message("outside your units")
    assert "belongs to Pine Village" in refusal.text


async def test_the_admin_rejects_with_a_reason(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    number = await open_case(db)
    admin = await user(client, ADMIN)
    await opened(admin, number)
    await admin.tap("🚫 Reject")
    await prompt(admin, "Reject it: why is it not a case?")
    await admin.send("This lamp is on private land; the owner was told")
    await admin.wait_for_message("is rejected and closed")
    view = await admin.wait_for_message(f"Case {number}")
    assert "closed: rejected" in view.text and not view.buttons
    assert "Rejected: This lamp is on private land" in view.text
    case = await case_row(db, number)
    assert (case.status, case.outcome) == (CaseStatus.CLOSED, CaseOutcome.REJECTED)
    rejected = (await entries(db, number))[-1]
    assert (rejected.kind, rejected.notify) == (timeline.REJECTED, timeline.TO_RESIDENT)
    # The reason is for the resident, so the rejection keeps the seal; the relay, running in
    # the background here, drops it once it has dealt with the reason, and may already have.
    seal = await seal_of(db, number)
    delivered = (await entries(db, number))[-1].delivered
    assert seal is not None or delivered, "the seal went before the reason was sent"


async def test_two_reports_of_one_problem_are_merged(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    first = await open_case(db, opened_on=days_ago(2), location=(30.0, 120.0))
    second = await open_case(db, location=(30.002, 120.0))
    wang = await user(client)
    await wang.send("/cases")
    listing = await wang.wait_for_message("Active cases")
    [line] = [line for line in listing.text.split("\n") if line.startswith(second)]
    assert line.endswith("🔗") and "🔗 possibly the same problem as another case" in listing.text
    view = await opened(wang, second)
    assert f"Possibly the same problem as {first}" in view.text
    assert await tap_for(wang, f"🔗 Merge with {first}") == (
        f"Case {second} is merged into {first}, which now counts 2 reports.")
    merged = await wang.wait_for_message(f"merged into {first}")
    assert not merged.buttons
    assert (await case_row(db, first)).reports == 2
    assert (await case_row(db, second)).status == CaseStatus.MERGED
    await wang.send("/cases")
    listing = await wang.wait_for_message("Active cases")
    assert second not in listing.text and "👥2" in listing.text


# --- bad input ------------------------------------------------------------------------------


async def test_a_cadre_of_another_unit_and_a_resident_are_refused(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    number = await open_case(db)
    li = await user(client, PINE_CADRE)
    await li.send(f"/case {number}")
    refusal = await li.wait_for_message("outside your units")
    assert "belongs to Willow Village" in refusal.text
    await li.tap_data(refusal.message_id, f"cs:t:{number[2:]}:1")
    answer = await li.wait_for_answer()
    assert "outside your units" in answer.text and answer.show_alert
    resident = await user(client, RESIDENT)
    await resident.send("/cases")
    await resident.wait_for_message("for cadres, admins and auditors")
    await resident.send(f"/case {number}")
    await resident.wait_for_message("for cadres, admins and auditors")
    case = await case_row(db, number)
    assert (case.status, case.version) == (CaseStatus.OPEN, 1)


async def test_stale_and_forged_buttons_change_nothing(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    number = await open_case(db)
    wang = await user(client)
    old = await opened(wang, number)
    take = old.callback_data("✋ Take")
    ask = old.callback_data("💬 Ask the resident")
    assert take is not None and ask is not None
    await opened(wang, number)
    await tap_for(wang, "✋ Take")
    await wang.wait_for_message("taken by Wang Fang")
    await wang.tap_data(old.message_id, ask)
    assert "out of date" in (await wang.wait_for_answer()).text
    for garbage in ("cs:t:ZZZZZZ:1", f"cs:t:{number[2:]}:x", "cs:" + "a" * 70, "cs:q:IIIIII:1"):
        await wang.tap_data(old.message_id, garbage)
        text = (await wang.wait_for_answer()).text
        assert text in ("There is no case C-ZZZZZZ.", "This button is not valid."), garbage
    await wang.tap_data(old.message_id, "cs:d:abcdef:1:y")  # no such dialogue
    assert "no longer active" in (await wang.wait_for_answer()).text
    case = await case_row(db, number)
    assert (case.status, case.version) == (CaseStatus.TAKEN, 2)
    assert [e.kind for e in await entries(db, number)] == [timeline.OPENED, timeline.TAKEN]


async def test_one_dialogue_at_a_time_with_notes(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    number = await open_case(db)
    wang = await user(client)
    await opened(wang, number)
    await tap_for(wang, "✋ Take")
    await wang.tap("✅ Resolve")
    await prompt(wang, "What was done?")
    await wang.send("/note")
    busy = await wang.wait_for_message(f"You are resolving case {number}")
    assert "then /note again" in busy.text
    await wang.send("Fixed the lamp")
    await prompt(wang, "Tap Resolve")
    await wang.send("/cancel")
    await wang.wait_for_message("Dropped: nothing was recorded")
    await wang.send("/note")
    await prompt(wang, "Progress note")
    view = await opened(wang, number)
    await wang.tap("✅ Resolve", view.message_id)
    answer = await wang.wait_for_answer()
    assert "progress note in progress" in answer.text and answer.show_alert
    dialogue = await dialogue_of(db, CADRE)
    assert dialogue is not None and dialogue.kind == "note"
