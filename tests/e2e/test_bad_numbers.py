"""Ids that no record can have, typed after a command or forged into a button, get the same
plain reply as an id that does not exist (or, when they are no number at all, the usual
refusal of a malformed button or command): never "something went wrong", never an error in
the log, never a change. PostgreSQL refuses a query with a number past its column's range
(int32 for a serial id), so these ids must not reach the database at all."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from sandbox import SandboxClient, SandboxUser
from storage.ids import shown_id
from storage.models import AdminDialogue, Base, CampaignRun, ProcessedUpdate, Role
from storage.uow import Database
from surveys.campaigns import dialogue
from surveys.fieldwork import inspections
from surveys.people.roles import grant_role
from surveys.respondents.anonymity import session_key
from tests.conftest import SECRET
from tests.e2e.conftest import Bot
from tests.e2e.fieldwork import make_cadre, make_inspector
from tests.e2e.test_admin_chat import staff, step
from tests.e2e.test_cadre_notes import prompt
from tests.e2e.test_resident_journey import begin

pytestmark = pytest.mark.e2e

# Numbers no id can be: past int32 (PostgreSQL's serial ids), past 2**53 (random response
# ids), past int64 (SQLite and BigInteger), far past it, and zero.
NUMBERS = [str(2**31), str(2**53), str(2**63), str(10**20), "0", "9" * 40]
# No number at all: a sign, letters, other scripts' digits (int() reads "٣" as 3 and refuses
# "²" after str.isdigit() said yes), Python's digit separator.
NOT_NUMBERS = ["-1", "12abc", "٣", "²", "1_0"]

STALE = "This button is no longer active"
FORGED = "This button is not valid."


@dataclass(frozen=True)
class Case:
    """One command or button prefix: how to send a value, and what the person should see."""

    send: str  # a command ("/invite {}") or button data ("p:{}:0:v5") with the value
    setup: Callable[[SandboxClient, Database], Awaitable[tuple[SandboxUser, str]]]
    missing: str  # the reply to an id that cannot exist ({} is the id as sent)
    malformed: str  # the reply to a value that is no number
    numbers: tuple[str, ...] = tuple(NUMBERS)
    # A dialogue's step answers a button in place: the prompt shows the refusal, no toast;
    # the button is forged on the prompt's current nonce and version (with this decoder).
    on_screen: Callable[[str | None], tuple[str, int, str] | None] | None = None

    @property
    def button(self) -> bool:
        return not self.send.startswith("/")


async def _resident(client: SandboxClient, db: Database) -> tuple[SandboxUser, str]:
    user = await client.user(6101, "Resident Ma")
    first = await begin(user)
    # The question's message id is noted just after it is sent: wait for it, so the
    # snapshot taken next is the state the refusals must leave alone.
    for _ in range(200):
        async with db.reading() as uow:
            session = await uow.sessions.get(session_key(SECRET, 6101))
        if session is not None and session.prompt_message_id == first.message_id:
            break
        await asyncio.sleep(0.05)
    return user, str(first.message_id)


async def _admin(client: SandboxClient, db: Database) -> tuple[SandboxUser, str]:
    user, _ = await staff(client, db, 6102)
    await user.send("/help")
    shown = await user.wait_for_message()
    return user, str(shown.message_id)


async def _auditor(client: SandboxClient, db: Database) -> tuple[SandboxUser, str]:
    user, _ = await staff(client, db, 6103, role=Role.AUDITOR, name="Auditor Sun")
    await user.send("/help")
    shown = await user.wait_for_message()
    return user, str(shown.message_id)


async def _cadre(client: SandboxClient, db: Database) -> tuple[SandboxUser, str]:
    await make_cadre(db, 6104, "V1", "Cadre Wang", ["Road repair"])
    user = await client.user(6104, "Cadre Wang")
    await user.send("/notes")
    listed = await user.wait_for_message("not sent any notes")
    return user, str(listed.message_id)


async def _cadre_draft(client: SandboxClient, db: Database) -> tuple[SandboxUser, str]:
    """A cadre with a draft note waiting for its key task: the task button's data is real
    (the draft's nonce and version) but for the task id."""
    await make_cadre(db, 6105, "V1", "Cadre Zhao", ["Road repair"])
    user = await client.user(6105, "Cadre Zhao")
    await user.send("/note Cleared the drain")
    draft = await prompt(user)
    data = draft.callback_data("Road repair")
    assert data is not None
    return user, f"{draft.message_id}|{data.rsplit(':', 1)[0]}"


async def _inspecting(client: SandboxClient, db: Database) -> tuple[SandboxUser, str]:
    """An inspector at the unit step of /inspect: real nonce and version, forged unit."""
    await make_inspector(db, 6106, "C1", "Inspector Zhou")
    user = await client.user(6106, "Inspector Zhou")
    await user.send("/inspect")
    units = await prompt(user, "Inspection · unit")
    return user, f"{units.message_id}|"


async def _new_campaign(client: SandboxClient, db: Database) -> tuple[SandboxUser, str]:
    """An admin at the unit step of /newcampaign: real nonce and version, forged unit."""
    user, _ = await staff(client, db, 6107)
    await user.send("/newcampaign")
    await step(user, 1)
    await user.tap("How was your service today? · residents")
    units = await step(user, 2)
    return user, f"{units.message_id}|"


CASES = {
    "/invite": Case("/invite {}", _admin, "There is no profile {}.",
                    "Usage: /invite UNIT Name; Position", (*NUMBERS, "9" * 4000)),
    "/answer": Case("/answer {} uphold The survey closed after the repair", _auditor,
                    "There is no appeal #{} that you can answer.", "Usage: /answer ID",
                    (*NUMBERS, "9" * 4000)),
    "ap:": Case("ap:u:{}", _auditor, "There is no appeal #{} that you can answer.", FORGED),
    "p:": Case("p:{}:0:v5", _resident, STALE, FORGED),
    "i:": Case("i:{}", _resident, STALE, FORGED),
    "u:": Case("u:t:{}:0:0", _resident, STALE, FORGED),
    "f:": Case("f:{}:1", _resident, STALE, FORGED),
    "n:f": Case("n:f:{}:1", _cadre, "Note #{} is not one of your notes.", FORGED),
    "n:w": Case("n:w:{}:1", _cadre, "Note #{} is not one of your notes.", FORGED),
    "n:y": Case("n:y:{}:1", _cadre, "Note #{} is not one of your notes.", FORGED),
    # t0 is the draft's real "Other / none" button.
    "n:d": Case("{}:t{}", _cadre_draft, FORGED, FORGED,
                tuple(n for n in NUMBERS if n != "0")),
    "k:": Case("k:{}:{}:u{}", _inspecting, "There is no unit with the code “?”.", FORGED,
               on_screen=inspections.parse_choice),
    "d:": Case("d:{}:{}:u{}", _new_campaign, "There is no unit with the code “?”.", FORGED,
               on_screen=dialogue.parse_choice),
}


async def _everything(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, but the ids of the updates handled (each message adds one)
    and the scheduler's record of the campaign's jobs (it runs in the background)."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    async with db.reading() as uow:
        for table in Base.metadata.sorted_tables:
            if table.name in (ProcessedUpdate.__tablename__, CampaignRun.__tablename__):
                continue
            found = [tuple(r) for r in (await uow.session.execute(select(table))).all()]
            if table.name == AdminDialogue.__tablename__:
                # A refused tap shows the prompt again under a new version (which stale
                # buttons are told by); what the dialogue holds must not change.
                found = [(r[0], r[1], r[2], {k: v for k, v in r[4].items() if k != "msg"})
                         for r in found]
            rows[table.name] = sorted(found, key=repr)
    return rows


async def _current(user: SandboxUser, message_id: int,
                   decode: Callable[[str | None], tuple[str, int, str] | None]
                   ) -> tuple[str, int]:
    """The nonce and version on the prompt's buttons now."""
    [shown] = [m for m in await user.bot_messages() if m.message_id == message_id]
    found = [decode(d) for row in shown.buttons for _, d in row]
    nonce, version, _ = next(f for f in found if f is not None)
    return nonce, version


async def _screen(user: SandboxUser, message_id: int, expected: str) -> str:
    """The prompt's text once it shows ``expected`` (an edit follows the toast), or as it is
    after two seconds."""
    for _ in range(20):
        [shown] = [m for m in await user.bot_messages() if m.message_id == message_id]
        if expected in shown.text:
            break
        await asyncio.sleep(0.1)
    return shown.text


async def _reply(user: SandboxUser, case: Case, where: str, value: str) -> str:
    if case.button:
        message_id, _, prefix = where.partition("|")
        if case.on_screen is not None:
            data = case.send.format(*await _current(user, int(message_id), case.on_screen),
                                    value)
        else:
            data = case.send.format(prefix, value) if prefix else case.send.format(value)
        await user.tap_data(int(message_id), data)
        toast = (await user.wait_for_answer()).text
        if case.on_screen is None:
            return toast
        return f"{toast}\n{await _screen(user, int(message_id), case.missing)}"
    await user.send(case.send.format(value))
    return (await user.wait_for_message()).text


@pytest.mark.parametrize("name", list(CASES))
async def test_an_impossible_id_is_refused_like_a_missing_one(
    name: str, bot: Bot, client: SandboxClient, db: Database, caplog: pytest.LogCaptureFixture,
) -> None:
    case = CASES[name]
    user, where = await case.setup(client, db)
    before = await _everything(db)
    caplog.clear()
    # The reply to an id that could exist but does not: what every impossible one must get.
    control = await _reply(user, case, where, "999999")
    assert case.missing.format("999999") in control, (name, control)
    for value in case.numbers:
        reply = await _reply(user, case, where, value)
        # An id longer than any is echoed clipped: 4,000 digits would not fit a reply.
        assert reply == control.replace("999999", shown_id(int(value))), (name, value, reply)
    for value in NOT_NUMBERS:
        reply = await _reply(user, case, where, value)
        assert case.malformed in reply, (name, value, reply)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    assert await _everything(db) == before, "a refused id changes nothing"


async def test_times_and_durations_past_the_calendar_are_refused_in_the_dialogue(
    bot: Bot, client: SandboxClient, db: Database, caplog: pytest.LogCaptureFixture,
) -> None:
    """/newcampaign's dates and reminders: a duration of 10**20 days or the end of the year
    9999 cannot be a time (Python's dates stop there); the step asks again."""
    admin, _ = await staff(client, db, 6108)
    await admin.send("/newcampaign")
    await step(admin, 1)
    await admin.send("resident_satisfaction")
    await step(admin, 2)
    await admin.send("V2")
    await step(admin, 3)
    await admin.send("residents")
    await step(admin, 4)
    before = await _everything(db)
    caplog.clear()
    for typed in ("99999999999999d", f"{10**20}h", "now 3661d", "9999-12-31",
                  "0001-01-01 2026-12-31 Asia/Shanghai"):
        await admin.send(typed)
        again = await step(admin, 4)
        assert "I cannot read the time" in again.text, (typed, again.text)
    await admin.send("now 7d")
    await step(admin, 5)
    for typed in ("99999999999999d", f"2d,{10**20}h"):
        await admin.send(typed)
        again = await step(admin, 5)
        assert f"I cannot read the reminders “{typed}”" in again.text, (typed, again.text)
    await admin.send("1d")
    await step(admin, 6)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    after = await _everything(db)
    assert {k: v for k, v in after.items() if k != AdminDialogue.__tablename__} == {
        k: v for k, v in before.items() if k != AdminDialogue.__tablename__}


async def test_the_refusal_is_in_the_persons_language(
    bot: Bot, client: SandboxClient, db: Database, caplog: pytest.LogCaptureFixture,
) -> None:
    resident = await client.user(6109, "居民", language_code="zh")
    await resident.send("/start willow")
    first = await resident.wait_for_message("1/5")
    await resident.tap_data(first.message_id, f"p:{2**31}:0:v5")
    assert (await resident.wait_for_answer()).text == "此按钮已失效，请使用最新的消息。"
    async with db.transaction() as uow:
        await grant_role(uow, telegram_user_id=6110, role=Role.ADMIN, unit_code=None,
                         name="管理员", actor="test")
    admin = await client.user(6110, "管理员", language_code="zh")
    await admin.send(f"/invite {2**63}")
    refusal = await admin.wait_for_message()
    assert refusal.text.startswith(f"没有编号为 {2**63} 的档案。"), refusal.text
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
