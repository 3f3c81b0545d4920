"""Photos in the case relay, through the real Application, the sandbox and a real database.

A resolution's photos reach the resident before the text that asks "Was this solved?" (the
buttons stay on the text); a resident's photo reply reaches the handler the same way. A photo
that cannot be sent (gone from the evidence store, refused by Telegram, or still failing on
the network in the entry's last attempt) never holds up the text, and flood control on a
photo or on the text after it loses nothing and sends the photo once.

The first two go through the product as people use it: the resident's /report, the cadre's
Open case, Take, Resolve (or Ask the resident), the resident's Reply. The failures are set up
straight in the timeline, as the staff side leaves it.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import background_of
from bot.settings import BotSection, BroadcastSection
from sandbox import BotApiSandbox, SandboxClient, SandboxUser
from sandbox.client import Message
from sandbox.media import png_bytes
from sandbox.protocol import ApiError, Params
from storage.evidence import EvidenceStore, without_metadata
from storage.models import CaseStatus
from storage.uow import Database
from surveys.cases import timeline
from surveys.cases.rules import HANDLER
from tests.cases.test_supervision import add_entry, open_case
from tests.conftest import seed_campaign
from tests.e2e.conftest import Bot, Clock
from tests.e2e.fieldwork import make_cadre
from tests.e2e.test_cases_resident import report
from tests.e2e.test_telegram_limits import eventually

pytestmark = pytest.mark.e2e

RESIDENT, CADRE = 7_410_000_001, 7_420_000_001
SOLVED = ["✅ Yes", "➖ Partly", "❌ No"]


@pytest.fixture
async def bot(sandbox: BotApiSandbox, db: Database, clock: Clock,
              tmp_path: Path) -> AsyncIterator[Bot]:
    """The usual harness with evidence under the test's own var/; Telegram's 429 reaches the
    relay at once (PTB's limiter would wait it out by itself), and an entry gets two
    attempts, so the last one comes quickly."""
    await seed_campaign(db)
    harness = Bot(sandbox, db, clock)
    harness.settings = harness.settings.model_copy(update={
        "var_dir": tmp_path / "var",
        "bot": BotSection(concurrent_updates=16, retries_after_429=0),
        "broadcast": BroadcastSection(max_attempts=2),
    })
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


@pytest.fixture
async def cadre(bot: Bot, client: SandboxClient, db: Database) -> tuple[SandboxUser, int]:
    """Willow Village's cadre: the user and the person id."""
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang", ["Road repair"])
    return await client.user(CADRE, "Wang"), person_id


async def prompt(person: SandboxUser, contains: str) -> Message:
    """The newest message containing ``contains`` that has buttons."""
    while True:
        message = await person.wait_for_message(contains)
        if message.buttons:
            return message


async def take(wang: SandboxUser, number: str) -> None:
    """From the relay's new-case notice: Open case, then Take."""
    await prompt(wang, f"New case {number}")
    await wang.tap("📂 Open case")
    await prompt(wang, f"Case {number}")
    await wang.tap("✋ Take")
    await prompt(wang, "Taken by")


def photos_then_text(messages: list[Message], text: Message) -> list[Message]:
    """The photos sent right before ``text`` (the messages between it and the one before)."""
    before = [m for m in messages if m.message_id < text.message_id]
    found: list[Message] = []
    for message in reversed(before):
        if not message.photo:
            break
        found.insert(0, message)
    return found


async def test_a_resolution_with_a_photo_reaches_the_resident_with_the_photo_and_the_buttons(
    bot: Bot, client: SandboxClient, cadre: tuple[SandboxUser, int],
) -> None:
    resident = await client.user(RESIDENT, "Li")
    number = await report(resident)
    wang, _ = cadre
    await take(wang, number)
    await wang.tap("✅ Resolve")
    await prompt(wang, "What was done?")
    image = png_bytes(48, 32, (200, 120, 10))
    await wang.send_photo(image, caption="Replaced the bulb and the fuse")
    await prompt(wang, "Photo added")
    await wang.tap(f"✅ Resolve {number}")
    await wang.wait_for_message("is resolved")

    text = await resident.wait_for_message("Replaced the bulb and the fuse")
    assert f"{number}: your report has been dealt with" in text.text
    assert text.button_texts == SOLVED, "the buttons stay on the text"
    [photo] = photos_then_text(await resident.bot_messages(), text)
    assert photo.caption == f"📷 {number} · photo 1/1"
    assert not photo.buttons
    assert await resident.download(photo) == image
    assert "Wang" not in (photo.caption or "") + text.text, "only the case number"
    await resident.tap("✅ Yes", message_id=text.message_id)
    await resident.wait_for_message("closed as solved")


async def test_a_residents_photo_reply_reaches_the_handler(
    bot: Bot, client: SandboxClient, cadre: tuple[SandboxUser, int],
) -> None:
    resident = await client.user(RESIDENT, "Li")
    number = await report(resident)
    wang, _ = cadre
    await take(wang, number)
    await wang.tap("💬 Ask the resident")
    await prompt(wang, "Question to the resident")
    await wang.send("Which lamp post?")
    await wang.wait_for_message("is on its way to the resident")
    asked = await prompt(resident, "Which lamp post?")
    await resident.tap("↩️ Reply", message_id=asked.message_id)
    await resident.wait_for_message(f"Your reply on case {number}")
    image = png_bytes(30, 40, (10, 90, 200))
    await resident.send_photo(image, caption="This one, by the school gate")
    await resident.wait_for_message(f"Passed on to the handler of case {number}")

    text = await wang.wait_for_message("This one, by the school gate")
    assert number in text.text and "Resident" in text.text and "Li" not in text.text
    assert text.button_texts == ["📂 Open case"]
    [photo] = photos_then_text(await wang.bot_messages(), text)
    assert photo.caption == f"📷 {number} · photo 1/1"
    # What the bot kept of a resident's photo: the same picture without its metadata.
    assert await wang.download(photo) == without_metadata(image)


# --- what goes wrong with a photo -----------------------------------------------------------


def wake(bot: Bot) -> None:
    assert bot.application is not None
    background_of(bot.application).relay.wake()


async def resolved_with_photo(db: Database, tmp_path: Path, handler_id: int,
                              image: bytes) -> str:
    """A case resolved with one photo (kept in the bot's evidence store), its resolution for
    the resident not yet delivered; returns the case number."""
    case = await open_case(db, chat_id=RESIDENT, status=CaseStatus.TAKEN, handler_id=handler_id)
    stored = EvidenceStore(tmp_path / "var" / "evidence").put(image, "image/png", "png")
    async with db.transaction() as uow:
        await uow.cases.add_photo(case.id, "resolution", sha256=stored.sha256, path=stored.path,
                                  size_bytes=stored.size_bytes, media_type=stored.media_type)
    now = datetime.now(UTC)
    await add_entry(db, case.number, timeline.RESOLUTION, timeline.TO_RESIDENT, author=HANDLER,
                    person_id=handler_id, text="The bulb was replaced",
                    params={"photos": [stored.sha256]}, status=CaseStatus.RESOLVED,
                    resolution="The bulb was replaced", resolved_at=now,
                    answer_due_at=now + timedelta(days=7), version=3)
    return case.number


async def undelivered(db: Database) -> list[str]:
    async with db.reading() as uow:
        return [e.kind for e in await uow.cases.undelivered()]


def failing(box: BotApiSandbox, method: str, error: ApiError, times: int | None) -> list[int]:
    """``method`` to the resident answers ``error`` (the first ``times`` calls; None: every
    call); returns the list the failures are counted in."""
    deliver = box.method(method)
    failed: list[int] = []

    async def call(p: Params) -> Any:
        if p.get_int("chat_id") == RESIDENT and (times is None or len(failed) < times):
            failed.append(RESIDENT)
            raise error
        return await deliver(p)

    box.add_method(method, call)
    return failed


@pytest.mark.parametrize("trouble", ["missing", "refused", "network"])
async def test_a_photo_that_cannot_be_sent_does_not_hold_up_the_text(
    bot: Bot, client: SandboxClient, sandbox: BotApiSandbox, db: Database,
    cadre: tuple[SandboxUser, int], tmp_path: Path, trouble: str,
) -> None:
    resident = await client.user(RESIDENT, "Li")
    image = png_bytes(20, 20, (1, 2, 3))
    number = await resolved_with_photo(db, tmp_path, cadre[1], image)
    failed: list[int] = []
    if trouble == "missing":  # gone from the store (a disk restored without it)
        kept = tmp_path / "var" / "evidence" / hashlib.sha256(image).hexdigest()[:2]
        for file in kept.iterdir():
            file.chmod(0o644)
            file.unlink()
    elif trouble == "refused":
        failed = failing(sandbox, "sendPhoto", ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED"),
                         None)
    else:  # the network fails every time: in the entry's second (last) attempt, text alone
        failed = failing(sandbox, "sendPhoto", ApiError(502, "Bad Gateway"), None)
    wake(bot)
    text = await resident.wait_for_message("The bulb was replaced", timeout=15)
    assert number in text.text and text.button_texts == SOLVED
    assert not [m for m in await resident.bot_messages() if m.photo]
    assert len(failed) == {"missing": 0, "refused": 1, "network": 2}[trouble]
    await eventually(lambda: undelivered(db), until=lambda kinds: kinds == [])
    assert await undelivered(db) == []


@pytest.mark.parametrize("method", ["sendPhoto", "sendMessage"])
async def test_flood_control_on_a_photo_or_its_text_loses_nothing_and_sends_it_once(
    bot: Bot, client: SandboxClient, sandbox: BotApiSandbox, db: Database,
    cadre: tuple[SandboxUser, int], tmp_path: Path, method: str,
) -> None:
    resident = await client.user(RESIDENT, "Li")
    image = png_bytes(22, 22, (4, 5, 6))
    number = await resolved_with_photo(db, tmp_path, cadre[1], image)
    refused = failing(sandbox, method, ApiError(429, "Too Many Requests: retry after 1",
                                                {"retry_after": 1}), 1)
    wake(bot)
    text = await resident.wait_for_message("The bulb was replaced", timeout=10)
    assert refused == [RESIDENT]
    messages = await resident.bot_messages()
    assert [m.message_id for m in messages if m.photo] == [
        p.message_id for p in photos_then_text(messages, text)], "once, right before the text"
    [photo] = photos_then_text(messages, text)
    assert photo.caption == f"📷 {number} · photo 1/1"
    assert await resident.download(photo) == image
    assert sum("The bulb was replaced" in m.text for m in messages) == 1
    await eventually(lambda: undelivered(db), until=lambda kinds: kinds == [])
    async with db.reading() as uow:
        case = await uow.cases.by_number(number)
        assert case is not None
        assert all(m.attempts == 0 for m in await uow.cases.messages(case.id)), (
            "flood control is no failed attempt")
