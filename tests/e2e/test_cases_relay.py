"""The case relay through the real Application and the sandbox: who is told what, with which
buttons, and what happens when Telegram says 403 or 429 or the bot restarts; and what a
reader of the case tables can learn (nothing that names the resident).

Cases and their timeline entries are made directly with the repository and
``surveys.cases.timeline.record``, as the resident's and staff's use cases leave them.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from bot.app import background_of
from bot.settings import BotSection
from sandbox import BotApiSandbox, SandboxClient, SandboxUser
from sandbox.protocol import ApiError, Params
from storage.models import AuditEvent, Base, CaseOutcome, CaseStatus
from storage.uow import Database
from surveys.cases import sealing, supervision, timeline
from surveys.cases.rules import HANDLER, RESIDENT
from surveys.respondents.anonymity import coarse, respondent_key, session_key
from tests.cases.test_relaying import make_admin
from tests.cases.test_supervision import add_entry, open_case
from tests.conftest import SECRET, seed_campaign
from tests.e2e.conftest import Bot, Clock
from tests.e2e.fieldwork import make_cadre
from tests.e2e.reader import dump as read_all
from tests.e2e.test_telegram_limits import eventually

pytestmark = pytest.mark.e2e

# Telegram ids no other column could hold by chance.
RESIDENT_ID = 7_310_000_001
OTHER_RESIDENT_ID = 7_310_000_002
CADRE_ID = 7_320_000_001
OTHER_CADRE_ID = 7_320_000_002
ADMIN_ID = 7_330_000_001
FAR_ADMIN_ID = 7_330_000_002
CASE_CASES = ("cases", "case_messages", "case_photos", "case_seals", "case_drafts")


@pytest.fixture
async def bot(sandbox: BotApiSandbox, db: Database, clock: Clock) -> AsyncIterator[Bot]:
    """The usual harness, but Telegram's 429 reaches the bot's own code at once (PTB's
    limiter would otherwise wait it out and retry by itself)."""
    await seed_campaign(db)
    harness = Bot(sandbox, db, clock)
    harness.settings = harness.settings.model_copy(update={
        "bot": BotSection(concurrent_updates=16, retries_after_429=0)})
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


class Staff:
    def __init__(self, cadre: SandboxUser, cadre_id: int, other: SandboxUser,
                 admin: SandboxUser, far_admin: SandboxUser) -> None:
        self.cadre, self.cadre_id, self.other = cadre, cadre_id, other
        self.admin, self.far_admin = admin, far_admin


@pytest.fixture
async def staff(bot: Bot, client: SandboxClient, db: Database) -> Staff:
    """Willow Village's road cadre, its water cadre, the township's admin (who covers the
    village) and Pine Village's admin (who does not)."""
    cadre_id = await make_cadre(db, CADRE_ID, "V1", "Cadre Wang", ["Road repair"])
    await make_cadre(db, OTHER_CADRE_ID, "V1", "Cadre Zhao", ["Water supply"])
    await make_admin(db, ADMIN_ID, "T1", "Admin Sun")
    await make_admin(db, FAR_ADMIN_ID, "V2", "Admin Qian")
    return Staff(await client.user(CADRE_ID, "Wang"), cadre_id,
                 await client.user(OTHER_CADRE_ID, "Zhao"),
                 await client.user(ADMIN_ID, "Sun"), await client.user(FAR_ADMIN_ID, "Qian"))


def wake(bot: Bot) -> None:
    """What a handler does after its commit: the relay looks now, not at its next poll."""
    assert bot.application is not None
    background_of(bot.application).relay.wake()


async def undelivered(db: Database) -> list[str]:
    async with db.reading() as uow:
        return [e.kind for e in await uow.cases.undelivered()]


async def test_a_new_case_reaches_the_routed_cadre_and_the_units_admin(
    bot: Bot, client: SandboxClient, db: Database, staff: Staff,
) -> None:
    case = await open_case(db, chat_id=RESIDENT_ID, text="The lamp on Mill Road is dark")
    wake(bot)
    for user in (staff.cadre, staff.admin):
        notice = await user.wait_for_message(case.number)
        assert "New case" in notice.text and "Willow Village" in notice.text
        assert "The lamp on Mill Road is dark" in notice.text
        assert notice.buttons == [[("📂 Open case", f"cs:o:{case.number.removeprefix('C-')}")]]
    # Not the cadre whose key tasks are about water, nor an admin of another village.
    await staff.other.expect_no_message()
    await staff.far_admin.expect_no_message()
    await eventually(lambda: undelivered(db), until=lambda kinds: kinds == [])
    assert await undelivered(db) == []


async def test_a_staff_message_reaches_the_resident_with_only_the_case_number(
    bot: Bot, client: SandboxClient, db: Database, staff: Staff,
) -> None:
    resident = await client.user(RESIDENT_ID, "Li")
    case = await open_case(db, chat_id=RESIDENT_ID, status=CaseStatus.TAKEN,
                           handler_id=staff.cadre_id)
    entry = await add_entry(db, case.number, timeline.MESSAGE, timeline.TO_RESIDENT,
                            author=HANDLER, person_id=staff.cadre_id, text="Which lamp post?")
    wake(bot)
    message = await resident.wait_for_message("Which lamp post?")
    assert case.number in message.text
    assert "Wang" not in message.text and "Willow" not in message.text
    assert "never who you are" in message.text
    assert message.buttons == [[("↩️ Reply", f"cq:{case.number}:{entry.id}")]]
    # The resident's reply goes to the handler, shown as "Resident".
    await add_entry(db, case.number, timeline.MESSAGE, timeline.TO_HANDLER, author=RESIDENT,
                    text="The one by the school gate", at=coarse(datetime.now(UTC)))
    wake(bot)
    reply = await staff.cadre.wait_for_message("The one by the school gate")
    assert case.number in reply.text
    assert "Resident" in reply.text and "Li" not in reply.text
    await staff.admin.wait_for_message("New case")
    await staff.admin.expect_no_message()  # the reply is for the handler alone


async def test_a_resolution_asks_the_resident_whether_it_was_solved(
    bot: Bot, client: SandboxClient, db: Database, staff: Staff,
) -> None:
    resident = await client.user(RESIDENT_ID, "Li", language_code="zh")
    case = await open_case(db, chat_id=RESIDENT_ID, language="zh", status=CaseStatus.TAKEN,
                           handler_id=staff.cadre_id)
    await add_entry(db, case.number, timeline.RESOLUTION, timeline.TO_RESIDENT,
                    author=HANDLER, person_id=staff.cadre_id, text="The bulb was replaced",
                    status=CaseStatus.RESOLVED, resolution="The bulb was replaced",
                    resolved_at=datetime.now(UTC), version=3,
                    answer_due_at=datetime.now(UTC) + timedelta(days=7))
    wake(bot)
    message = await resident.wait_for_message("The bulb was replaced")
    assert case.number in message.text and "问题解决了吗" in message.text, "in their language"
    assert message.buttons == [[("✅ 解决了", f"ca:{case.number}:3:y"),
                                ("➖ 部分解决", f"ca:{case.number}:3:p"),
                                ("❌ 没有解决", f"ca:{case.number}:3:n")]]


async def test_a_resident_who_blocked_the_bot_is_reported_unreachable_to_the_handler(
    bot: Bot, client: SandboxClient, sandbox: BotApiSandbox, db: Database, staff: Staff,
) -> None:
    resident = await client.user(RESIDENT_ID, "Li")
    case = await open_case(db, chat_id=RESIDENT_ID, status=CaseStatus.TAKEN,
                           handler_id=staff.cadre_id)
    await resident.block()
    await add_entry(db, case.number, timeline.MESSAGE, timeline.TO_RESIDENT, author=HANDLER,
                    person_id=staff.cadre_id, text="Which lamp post?")
    wake(bot)
    told = await staff.cadre.wait_for_message("can no longer be reached")
    assert case.number in told.text
    assert told.buttons == [[("📂 Open case", f"cs:o:{case.number.removeprefix('C-')}")]]
    assert sandbox.stats()["responses_403"] == 1
    async with db.reading() as uow:
        sealed = await uow.cases.seal_of(case.id)
        assert sealed is not None
        reporter = sealing.unseal(SECRET, case.id, sealed)
        assert reporter is not None and reporter.chat_id is None, "the chat is forgotten"
        assert reporter.quota_key == sealing.quota_key(SECRET, RESIDENT_ID), "still counted"
    # Later messages for the resident are settled without trying; the handler is told once.
    await resident.unblock()
    await add_entry(db, case.number, timeline.MESSAGE, timeline.TO_RESIDENT, author=HANDLER,
                    person_id=staff.cadre_id, text="Is it still dark?")
    wake(bot)
    await eventually(lambda: undelivered(db), until=lambda kinds: kinds == [])
    assert await undelivered(db) == []
    assert "Is it still dark?" not in [m.text for m in await resident.bot_messages()]
    await staff.cadre.expect_no_message()
    assert sandbox.stats()["responses_403"] == 1


def flood_once(box: BotApiSandbox, chat_id: int) -> list[int]:
    """The first message to ``chat_id`` meets Telegram's flood control (429, retry after a
    second); returns the list the refusals are counted in."""
    deliver = box.method("sendMessage")
    refused: list[int] = []

    async def send_message(p: Params) -> Any:
        if p.get_int("chat_id") == chat_id and not refused:
            refused.append(chat_id)
            raise ApiError(429, "Too Many Requests: retry after 1", {"retry_after": 1})
        return await deliver(p)

    box.add_method("sendMessage", send_message)
    return refused


async def test_flood_control_delays_a_message_and_loses_nothing(
    bot: Bot, client: SandboxClient, sandbox: BotApiSandbox, db: Database, staff: Staff,
) -> None:
    resident = await client.user(RESIDENT_ID, "Li")
    case = await open_case(db, chat_id=RESIDENT_ID, status=CaseStatus.TAKEN,
                           handler_id=staff.cadre_id)
    refused = flood_once(sandbox, RESIDENT_ID)
    for question in ("Which lamp post?", "Since when?"):
        await add_entry(db, case.number, timeline.MESSAGE, timeline.TO_RESIDENT,
                        author=HANDLER, person_id=staff.cadre_id, text=question)
    wake(bot)
    first = await resident.wait_for_message("Which lamp post?", timeout=10)
    second = await resident.wait_for_message("Since when?", timeout=10)
    assert refused == [RESIDENT_ID] and first.message_id < second.message_id
    await eventually(lambda: undelivered(db), until=lambda kinds: kinds == [])
    assert await undelivered(db) == []
    texts = [m.text for m in await resident.bot_messages()]
    assert sum("Which lamp post?" in t for t in texts) == 1, "sent once, after the wait"
    async with db.reading() as uow:
        assert all(m.attempts == 0 for m in await uow.cases.messages(case.id)), (
            "flood control is no failed attempt")


async def test_entries_left_undelivered_at_a_restart_are_delivered_after_it(
    bot: Bot, client: SandboxClient, db: Database, staff: Staff,
) -> None:
    resident = await client.user(RESIDENT_ID, "Li")
    case = await open_case(db, chat_id=RESIDENT_ID, status=CaseStatus.TAKEN,
                           handler_id=staff.cadre_id)
    wake(bot)
    await staff.cadre.wait_for_message(case.number)  # the new-case notice
    await bot.stop()
    # Written while no bot runs (as by the command line, or just before a crash).
    await add_entry(db, case.number, timeline.MESSAGE, timeline.TO_RESIDENT, author=HANDLER,
                    person_id=staff.cadre_id, text="Which lamp post?")
    await add_entry(db, case.number, timeline.ANSWER, timeline.TO_HANDLER, author=RESIDENT,
                    text="Fixed, thanks", params={"answer": "yes"},
                    at=coarse(datetime.now(UTC)))
    await bot.start()
    await resident.wait_for_message("Which lamp post?", timeout=10)
    answered = await staff.cadre.wait_for_message("Fixed, thanks", timeout=10)
    assert "the resident answered “solved”" in answered.text
    await eventually(lambda: undelivered(db), until=lambda kinds: kinds == [])
    assert await undelivered(db) == []


async def test_supervision_reminds_escalates_and_times_out_through_the_bot(
    bot: Bot, client: SandboxClient, db: Database, staff: Staff,
) -> None:
    now = datetime.now(UTC)
    soon = await open_case(db, status=CaseStatus.TAKEN, handler_id=staff.cadre_id,
                           due_in=timedelta(hours=5))
    late = await open_case(db, status=CaseStatus.TAKEN, handler_id=staff.cadre_id,
                           due_in=timedelta(hours=-30))
    unanswered = await open_case(db, chat_id=RESIDENT_ID, status=CaseStatus.RESOLVED,
                                 handler_id=staff.cadre_id, resolution="Bulb replaced",
                                 resolved_at=now - timedelta(days=8),
                                 answer_due_at=now - timedelta(hours=1))
    assert bot.application is not None
    await background_of(bot.application).relay.sweep()  # as every minute
    await staff.admin.wait_for_message(f"{late.number} (Willow Village) is overdue")
    # Once each, however often supervision runs.
    await background_of(bot.application).relay.sweep()
    await eventually(lambda: undelivered(db), until=lambda kinds: kinds == [])
    cadre = [m.text for m in await staff.cadre.bot_messages()]
    admin = [m.text for m in await staff.admin.bot_messages()]
    assert [t for t in cadre if "is due" in t] == [
        f"⏰ {soon.number} (Willow Village) is due {soon_day(soon.due_at)} and is not "
        "resolved yet."]
    assert [t for t in admin if "overdue" in t] == [
        f"⚠️ {late.number} (Willow Village) is overdue: it was due {soon_day(late.due_at)}. "
        "Handler: Cadre Wang."]
    assert [t for t in cadre if "is closed" in t] == [
        f"🏁 {unanswered.number} (Willow Village) is closed: resolved, but the resident did "
        "not answer in time."]
    assert not [t for t in admin if "is due" in t or "is closed" in t], "for the handler"
    await eventually(lambda: _seals_of(db, unanswered.id), until=lambda n: n == 0)
    assert await _seals_of(db, unanswered.id) == 0, "closed and nothing left to tell"


def soon_day(due_at: datetime) -> str:
    """A deadline as the bot shows it: its last day (the tests' cases use UTC)."""
    return (due_at - timedelta(microseconds=1)).date().isoformat()


async def _seals_of(db: Database, case_id: int) -> int:
    async with db.reading() as uow:
        return int(await uow.cases.seal_of(case_id) is not None)


async def test_a_database_reader_cannot_tell_who_raised_a_case(
    bot: Bot, client: SandboxClient, db: Database, staff: Staff,
) -> None:
    resident = await client.user(RESIDENT_ID, "Li")
    other = await client.user(OTHER_RESIDENT_ID, "Zhou")
    # The resident answered a poll too (the dump must not join it to the case).
    await other.send("/start willow")
    await other.wait_for_message("1/5")
    window = coarse(datetime.now(UTC))
    case = await open_case(db, chat_id=RESIDENT_ID, photo=True, now=window)
    wake(bot)
    await staff.cadre.wait_for_message(case.number)
    await add_entry(db, case.number, timeline.TAKEN, timeline.TO_UNIT, author=HANDLER,
                    person_id=staff.cadre_id, status=CaseStatus.TAKEN,
                    handler_id=staff.cadre_id, taken_at=datetime.now(UTC))
    await add_entry(db, case.number, timeline.MESSAGE, timeline.TO_RESIDENT, author=HANDLER,
                    person_id=staff.cadre_id, text="Which lamp post?")
    wake(bot)
    await resident.wait_for_message("Which lamp post?")
    await add_entry(db, case.number, timeline.MESSAGE, timeline.TO_HANDLER, author=RESIDENT,
                    text="The one by the school gate", at=window)
    await add_entry(db, case.number, timeline.RESOLUTION, timeline.TO_RESIDENT,
                    author=HANDLER, person_id=staff.cadre_id, text="The bulb was replaced",
                    status=CaseStatus.RESOLVED, resolution="The bulb was replaced",
                    resolved_at=datetime.now(UTC),
                    answer_due_at=datetime.now(UTC) + timedelta(days=7))
    wake(bot)
    await resident.wait_for_message("The bulb was replaced")
    await eventually(lambda: undelivered(db), until=lambda kinds: kinds == [])
    # The window closes; the sweep logs the resident's entries and rewrites their rows.
    async with db.transaction() as uow:
        await supervision.audit_residents(uow, window + timedelta(minutes=10),
                                          timedelta(minutes=10))
    # Both of the resident's entries are logged: by this sweep, or some by the bot's own when
    # the clock passed the window's end while the test ran.
    async with db.reading() as uow:
        logged = await uow.session.scalar(
            select(func.count()).select_from(AuditEvent)
            .where(AuditEvent.actor == RESIDENT, AuditEvent.entity == "case"))
    assert logged == 2

    dump = await read_all(db)
    people = {RESIDENT_ID, OTHER_RESIDENT_ID, CADRE_ID, OTHER_CADRE_ID, ADMIN_ID, FAR_ADMIN_ID}
    async with db.reading() as uow:
        campaign = await uow.campaigns.by_code("willow")
        assert campaign is not None
    keys = {k(SECRET, u) for u in people
            for k in (session_key, sealing.draft_key, sealing.quota_key)}
    keys |= {respondent_key(SECRET, campaign.id, u) for u in people}
    for table in CASE_CASES:
        columns = Base.metadata.tables[table].columns
        assert not [c.name for c in columns if any(
            word in c.name for word in ("chat", "contact", "telegram", "respondent", "session",
                                        "user", "response"))], table
        assert not [fk.column.table.name for c in columns for fk in c.foreign_keys
                    if fk.column.table.name not in ("cases", "units", "people")], table
        for row in dump[table]:
            values = [v for k, v in row.items() if k not in ("ctid", "xmin", "xmax")]
            assert not people & {v for v in values if isinstance(v, int)}, table
            assert not any(str(u) in str(v) for v in values for u in people), table
            assert not any(key in str(v) for v in values for key in keys), table
    for row in dump["case_messages"]:
        if row["author"] == RESIDENT:
            assert row["person_id"] is None
            moment = row["at"] if isinstance(row["at"], datetime) else \
                datetime.fromisoformat(str(row["at"]))
            assert (moment.minute % 10, moment.second, moment.microsecond) == (0, 0, 0)
    [seal] = dump["case_seals"]
    # Without the secret the seal is noise; with another secret it does not open either.
    raw = base64.b64decode(seal["sealed"])
    assert str(RESIDENT_ID).encode() not in raw and RESIDENT_ID.to_bytes(8, "big") not in raw
    assert sealing.unseal(b"another-secret-0123456789abcdef!", case.id, seal["sealed"]) is None
    reporter = sealing.unseal(SECRET, case.id, seal["sealed"])
    assert reporter is not None and reporter.chat_id == RESIDENT_ID, "the bot can reply"
    if db.dialect == "postgresql":
        # Every row the resident's transactions wrote now carries the batch's stamp.
        batch = {r["xmin"] for r in dump["audit_events"] if r["actor"] == RESIDENT}
        assert len(batch) == 1
        resident_rows = [*dump["cases"], *dump["case_photos"], *dump["case_seals"],
                         *(r for r in dump["case_messages"] if r["author"] == RESIDENT)]
        assert {r["xmin"] for r in resident_rows} == batch
    # Closed and told everything: the seal goes, and the case names nobody even to the key.
    await add_entry(db, case.number, timeline.CLOSED, timeline.TO_HANDLER, author=RESIDENT,
                    at=window, status=CaseStatus.CLOSED, outcome=CaseOutcome.CONFIRMED,
                    closed_at=datetime.now(UTC))
    wake(bot)
    await eventually(lambda: _seals(db), until=lambda count: count == 0)
    assert await _seals(db) == 0


async def _seals(db: Database) -> int:
    async with db.reading() as uow:
        return len((await uow.session.execute(text("SELECT case_id FROM case_seals"))).all())
