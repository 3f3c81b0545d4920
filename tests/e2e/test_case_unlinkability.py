"""Playing the database reader for cases (docs/privacy.md, "Cases"): someone who can read
every table (on PostgreSQL the system columns too) but has not the secret key, and who knows
in which order people answered the poll and raised their problem. Nothing they can read pairs
a person with a case, or a case with that person's poll answers, better than chance; nothing
in a case names anyone; the reply handle opens only with the secret.

Residents answer a poll through the real Application one after another, each then raising a
case: from the end-of-poll offer, from their poll comment, or by /report; some with a photo,
some asking to be told what was done. A cadre then takes some cases in an order of their own,
asks through the relay, the residents reply, the cadre resolves and they answer "Was this
solved?". All with the hold as shipped: what residents write reaches the cadre when its window
is released (the test moves the clock there), and the relay has handed out everything. Then
the bot's maintenance runs as in production once the privacy window has closed (texts scored,
responses reshuffled, the cases' supervision sweep with its batch audit and rewrite), and the
reader dumps every table. The supervision runs there only, not also every minute of real
time: with the clock frozen, that minute would fall at any step of the story.

What the design leaves a reader, documented there, is measured here too: the photo files'
change times order their cases. Staff who take each case the moment they are told of it do
not order the cases with the hold on; with it off they do (all of them), which is measured
too. A case made from a poll's comment is not joined to that poll by its text: the comment
has moved out of the response (which shows it skipped).
"""

from __future__ import annotations

import base64
import json
import random
import re
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from bot.app import background_of
from sandbox import BotApiSandbox, SandboxClient, SandboxUser
from sandbox.media import png_bytes
from storage.models import Base, CaseMessage
from storage.uow import Database
from surveys.cases import sealing
from surveys.cases.rules import RESIDENT
from surveys.respondents.anonymity import respondent_key, session_key
from tests.cases.test_relaying import make_admin
from tests.conftest import SECRET, seed_campaign
from tests.e2e.conftest import HOLD, Bot, Clock
from tests.e2e.fieldwork import make_cadre
from tests.e2e.reader import (
    PEOPLE,
    FrozenClock,
    Key,
    Row,
    ctid,
    dump,
    is_coarse,
    near_chance,
    response_orderings,
)
from tests.e2e.test_cases_hold import release
from tests.e2e.test_cases_resident import (
    PRIVACY,
    SEND,
    SENT,
    SILENT,
    card,
    low_rated_poll,
    report,
    to_willow,
)
from tests.e2e.test_cases_staff import opened, tap_for
from tests.e2e.test_resident_journey import answer_all, tap_and_wait
from tests.e2e.test_telegram_limits import eventually

pytestmark = pytest.mark.e2e

# Telegram ids no other column could hold by chance.
FIRST_RESIDENT = 7_410_000_100
CADRE_ID = 7_420_000_001
ADMIN_ID = 7_430_000_001
CASE_TABLES = ("cases", "case_messages", "case_photos", "case_seals", "case_drafts",
               "case_comment_moves")
# How the residents raise their case, in turn: /report after a poll they were happy with,
# the end-of-poll offer after a low rating (writing the problem anew), or the offer's
# "Turn my comment into a report".
WAYS = ("report", "offer", "comment")
ANSWERS = (("✅ Yes", "closed as solved"), ("➖ Partly", "closed as partly solved"),
           ("❌ No", "reopened"))
# How long to wait for the relay at most (a loaded machine is slow, and the waits end as
# soon as what they wait for is there).
WAIT_S = 60.0


@pytest.fixture
def clock() -> Clock:
    return FrozenClock()


@pytest.fixture
def hold() -> bool:
    """The hold as shipped; a test of the limit it closes turns it off."""
    return True


@pytest.fixture
async def bot(sandbox: BotApiSandbox, db: Database, clock: Clock, tmp_path: Path,
              hold: bool) -> AsyncIterator[Bot]:
    """The usual harness, with evidence under the test's own var/ and the hold (on unless
    the test turns it off)."""
    await seed_campaign(db)
    harness = Bot(sandbox, db, clock)
    harness.settings = harness.settings.model_copy(update={
        "var_dir": tmp_path / "var",
        "privacy": HOLD.model_copy(update={"hold_residents_entries": hold})})
    # The cases' supervision runs where the story puts it (``maintain``), not every minute of
    # real time: on a loaded machine that minute fell amid the cadre's work, its batch audit
    # logged the reports then, and the two cases the cadre resolved afterwards kept the stamp
    # of the resolution (a staff member's, which dates only them) instead of the batch's.
    harness.relay_sweeps = False
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


@dataclass
class Resident:
    index: int
    user: SandboxUser
    way: str
    tell: bool  # asked to be told what was done
    photo: bool
    number: str = ""

    @property
    def comment(self) -> str:
        return f"Remark {self.index}: the queue at window {self.index % 5 + 1} was slow"

    @property
    def problem(self) -> str:
        return f"Problem {self.index}: lamp post {100 + self.index} on Mill Road is dark"


async def raise_case(resident: Resident, db: Database) -> Row:
    """The poll, then the case, as the reader saw the person do (one after another);
    returns the person's contact row as the poll left it."""
    user = resident.user
    if resident.way == "report":
        await answer_all(user, comment=resident.comment)
        await tap_and_wait(user, "✅ Submit", "Thank you")
        contact = await contact_of(db, user.id)
        await user.send("/report")
        await card(user, "What is wrong?")
    else:
        await low_rated_poll(user, comment=resident.comment)
        contact = await contact_of(db, user.id)
        await user.tap("📝 Turn my comment into a report" if resident.way == "comment"
                       else "📣 Report a problem")
        confirm = await card(user, PRIVACY if resident.way == "comment" else "What is wrong?")
    if resident.photo:
        await user.send_photo(png_bytes(16 + resident.index, 16, (resident.index * 9, 90, 200)))
        confirm = await card(user, "📷 1")
    if resident.way != "comment":
        await user.send(resident.problem)
        if resident.way == "report":
            await card(user, "Where is it?")
            confirm = await to_willow(user)
        else:
            confirm = await card(user, PRIVACY)
    await user.tap(SEND if resident.tell else SILENT, message_id=confirm.message_id)
    sent = await user.wait_for_message(SENT)
    found = re.search(r"C-[0-9A-Z]{6}", sent.text)
    assert found is not None
    resident.number = found.group(0)
    return contact


async def contact_of(db: Database, user_id: int) -> Row:
    """The person's contact row (on PostgreSQL with the stamp of the transaction that last
    wrote it)."""
    stamp = "xmin::text::bigint AS xmin, " if db.dialect == "postgresql" else ""
    async with db.reading() as uow:
        row = (await uow.session.execute(
            text(f"SELECT {stamp}* FROM contacts WHERE telegram_user_id = :u"),
            {"u": user_id})).one()
    return dict(row._mapping)


# --- the staff and the residents after the report -----------------------------------------


async def take_and_ask(cadre: SandboxUser, resident: Resident) -> str:
    await opened(cadre, resident.number)
    assert await tap_for(cadre, "✋ Take") == f"You took case {resident.number}."
    taken = await card(cadre, "taken by Cadre Wang")
    await cadre.tap("💬 Ask the resident", message_id=taken.message_id)
    await card(cadre, "Question to the resident")
    question = f"Which lamp post exactly, for {resident.number}?"
    await cadre.send(question)
    await cadre.wait_for_message("is on its way to the resident")
    await resident.user.wait_for_message(question)
    await resident.user.tap("↩️ Reply")
    await resident.user.wait_for_message(f"Your reply on case {resident.number}")
    return question


def reply_words(resident: Resident) -> str:
    return f"The one by the school gate ({resident.index})"


async def reply(resident: Resident) -> None:
    """The resident replies (held for the cadre until the window is released)."""
    words = reply_words(resident)
    if resident.index % 2:
        await resident.user.send(words)
    else:
        await resident.user.send_photo(png_bytes(40 + resident.index, 8, (1, 2, 3)),
                                       caption=words)
    await resident.user.wait_for_message("Passed on to the handler")


async def told_all(person: SandboxUser, texts: list[str]) -> None:
    """Wait until the person has been told each of ``texts``, in whatever order."""
    async def said() -> str:
        return "\n".join(m.body for m in await person.bot_messages())

    await eventually(said, until=lambda chat: all(t in chat for t in texts), within=WAIT_S)
    chat = await said()
    assert [t for t in texts if t not in chat] == []


async def resolve(cadre: SandboxUser, number: str, take: bool = False) -> None:
    view = await opened(cadre, number)
    if take:
        await tap_for(cadre, "✋ Take")
        view = await card(cadre, "taken by Cadre Wang")
    await cadre.tap("✅ Resolve", message_id=view.message_id)
    await card(cadre, "What was done?")
    await cadre.send(f"Replaced the bulb of {number}")
    await card(cadre, "Tap Resolve")
    await cadre.tap(f"✅ Resolve {number}")
    await cadre.wait_for_message("is resolved")


async def answer(resident: Resident, turn: int) -> None:
    """"Was this solved?": Yes, Partly or No in turn; then a comment, "No comment", or
    nothing (the comment draft stays)."""
    label, said = ANSWERS[turn % 3]
    question = await card(resident.user, "Was the problem solved?")
    assert resident.number in question.text
    await resident.user.tap(label, message_id=question.message_id)
    await resident.user.wait_for_message(said)
    if turn % 4 == 0:
        await resident.user.send(f"Thanks, {resident.index}")
        await resident.user.wait_for_message("comment was passed on")
    elif turn % 4 == 1:
        await resident.user.tap("No comment")
        await resident.user.wait_for_answer()


async def handle(cadre: SandboxUser, residents: list[Resident],
                 release: Callable[[], Awaitable[None]]) -> None:
    """The cadre works on some cases in an order of their own (the list's, which is the
    first thing they see, is by deadline and number: random within a day): six who asked to
    be told get a question, reply, are resolved and answer; two who did not are resolved
    (which closes their case); one starts a reply and never sends it. The replies and the
    answers reach the cadre when their window is released."""
    draw = random.Random(14)
    told = [r for r in residents if r.tell]
    untold = [r for r in residents if not r.tell]
    asked = draw.sample(told, 7)
    talk, silent = asked[:6], asked[6]
    for resident in talk:
        await take_and_ask(cadre, resident)
    for resident in draw.sample(talk, len(talk)):
        await reply(resident)
    await release()
    await told_all(cadre, [reply_words(resident) for resident in talk])
    await take_and_ask(cadre, silent)
    for turn, resident in enumerate(draw.sample(talk, len(talk))):
        await resolve(cadre, resident.number)
        await answer(resident, turn)
    for resident in draw.sample(untold, 2):
        await resolve(cadre, resident.number, take=True)
    await release()


# --- the bot's maintenance ------------------------------------------------------------------


async def maintain(bot: Bot, clock: FrozenClock, db: Database) -> None:
    """What the bot does by itself once the window has closed (bot.app's maintenance jobs
    and the relay's supervision sweep), run now rather than waited for. The sweep runs every
    minute, long before the window closes: it has moved the poll comments made reports
    before the texts are scored and the responses reshuffled. Then whatever the sweeps
    recorded is delivered (waited for: the relay's record must come before the dump)."""
    clock.at += timedelta(minutes=1)
    application = bot.application
    assert application is not None and application.job_queue is not None
    await background_of(application).relay.sweep()
    for name in ("score_texts", "reshuffle"):
        [job] = application.job_queue.get_jobs_by_name(name)
        await job.run(application)
    await background_of(application).relay.sweep()
    await all_delivered(db)


async def all_delivered(db: Database) -> None:
    """Wait until the relay has handed out every timeline entry and recorded it (on a loaded
    machine that can take longer than a few seconds: waited for, then asserted)."""
    await eventually(lambda: undelivered(db), until=lambda count: count == 0, within=WAIT_S)
    assert await undelivered(db) == 0, "the relay is still delivering"


async def undelivered(db: Database) -> int:
    """Entries not yet recorded as delivered. A plain read: the relay's own query locks what
    it claims and skips what is locked, so it would not count the entries of the round in
    flight, whose record (and its stamps) would then come after the test went on."""
    async with db.reading() as uow:
        return (await uow.session.execute(
            select(func.count()).select_from(CaseMessage)
            .where(CaseMessage.delivered.is_(False)))).scalar_one()


# --- the reader's orderings -----------------------------------------------------------------


def _by_case(rows: list[Row], column: str) -> dict[Any, list[Row]]:
    """Rows of a case table per case, each with its place in the table's order."""
    grouped: dict[Any, list[Row]] = defaultdict(list)
    for position, row in enumerate(rows):
        grouped[row[column]].append({**row, "position": position})
    return grouped


def _first(rows: list[Row], column: str) -> Any:
    values = [row[column] for row in rows]
    return min(values) if values else None


def _last(rows: list[Row], column: str) -> Any:
    values = [row[column] for row in rows]
    return max(values) if values else None


def case_orderings(found: dict[str, list[Row]]) -> dict[str, Key]:
    """Every order a reader can put the cases in, from the cases' own rows and the rows that
    belong to them: timeline entries, photos, seals, drafts that name them, audit events.
    A case without such a row sorts last."""
    entries = _by_case(found["case_messages"], "case_id")
    opened_entry = {case: [e for e in rows if e["kind"] == "opened"]
                    for case, rows in entries.items()}
    resident = {case: [e for e in rows if e["author"] == RESIDENT]
                for case, rows in entries.items()}
    staff = {case: [e for e in rows if e["author"] != RESIDENT]
             for case, rows in entries.items()}
    photos = _by_case(found["case_photos"], "case_id")
    seals = _by_case(found["case_seals"], "case_id")
    drafts = _by_case([{**d, "number": _json(d["data"]).get("case")}
                       for d in found["case_drafts"]], "number")
    audit = _by_case([e for e in found["audit_events"] if e["entity"] == "case"], "entity_id")
    resident_audit = {n: [e for e in rows if e["actor"] == RESIDENT]
                      for n, rows in audit.items()}
    physical = {row["id"]: i for i, row in enumerate(found["cases"])}

    def of(table: dict[Any, list[Row]], by_number: bool = False) -> Callable[[Row], list[Row]]:
        return lambda case: table.get(case["number"] if by_number else case["id"], [])

    groups: dict[str, Callable[[Row], list[Row]]] = {
        "entries": of(entries), "opened entry": of(opened_entry),
        "resident entries": of(resident), "staff entries": of(staff), "photos": of(photos),
        "seal": of(seals), "drafts": of(drafts, by_number=True),
        "audit events": of(audit, by_number=True),
        "resident audit events": of(resident_audit, by_number=True),
    }
    keys: dict[str, Key] = {
        "case id": lambda c: c["id"], "case number": lambda c: c["number"],
        "case row order": lambda c: physical[c["id"]], "opened on": lambda c: c["opened_on"],
        "due at": lambda c: c["due_at"],
        "held until": lambda c: str(c["held_until"] or ""),
    }
    pg = "xmin" in found["cases"][0]
    if pg:
        keys["case xmin"] = lambda c: c["xmin"]
        keys["case xmax"] = lambda c: c["xmax"]
        keys["case ctid"] = lambda c: ctid(c["ctid"])
    columns = [("id", "id"), ("key", "key"), ("row order", "position"), ("time", "at"),
               ("release", "held_until")]
    if pg:
        columns += [("ctid", "ctid"), ("xmin", "xmin"), ("xmax", "xmax")]
    for name, rows_of in groups.items():
        sample = next((r for case in found["cases"] for r in rows_of(case)), None)
        for label, column in columns:
            if sample is None or column not in sample:
                continue
            keys[f"{name}: lowest {label}"] = _keyed(rows_of, column, _first)
            keys[f"{name}: highest {label}"] = _keyed(rows_of, column, _last)
    return keys


def _json(value: Any) -> dict[str, Any]:
    """A JSON column as a raw SELECT gives it back: parsed on one driver, text on another."""
    parsed = json.loads(value) if isinstance(value, str) else value
    return dict(parsed or {})


def _keyed(rows_of: Callable[[Row], list[Row]], column: str,
           pick: Callable[[list[Row], str], Any]) -> Key:
    if column == "ctid":
        return lambda case: pick([{"ctid": ctid(r["ctid"])} for r in rows_of(case)], "ctid")
    if column == "held_until":  # None (never held) sorts first
        return lambda case: pick([{column: str(r[column] or "")} for r in rows_of(case)],
                                 column)
    return lambda case: pick(rows_of(case), column)


def _on(part: str, key: Key) -> Key:
    return lambda row: key(row[part])


# --- the test -------------------------------------------------------------------------------


async def test_a_reader_without_the_key_cannot_pair_people_with_their_cases(
    bot: Bot, client: SandboxClient, db: Database, clock: FrozenClock,
) -> None:
    await make_cadre(db, CADRE_ID, "V1", "Cadre Wang")
    await make_admin(db, ADMIN_ID, "T1", "Admin Sun")
    cadre = await client.user(CADRE_ID, "Wang")
    await client.user(ADMIN_ID, "Sun")  # told of every case, and of the "not solved" ones
    # Known to the reader: who answered and reported, and in which order.
    residents = [Resident(i, await client.user(FIRST_RESIDENT + i, f"Resident {i}"),
                          WAYS[i % 3], tell=i % 4 < 2, photo=i % 2 == 0)
                 for i in range(PEOPLE)]
    contacts = [await raise_case(resident, db) for resident in residents]
    await release(bot, clock)
    await all_delivered(db)
    await handle(cadre, residents, lambda: release(bot, clock))
    await all_delivered(db)
    # Raising a case, replying and answering never wrote the person's contact (so on
    # PostgreSQL no contact row carries the stamp of a transaction that wrote case rows).
    assert [await contact_of(db, r.user.id) for r in residents] == contacts
    before = await dump(db)
    await maintain(bot, clock, db)
    found = await dump(db)

    await nothing_names_anyone(db, found, residents)
    seals_open_only_with_the_secret(found, residents)
    times_are_coarse(found)
    everything_is_audited(found)
    if db.dialect == "postgresql":
        stamps_date_no_resident(before, found)
    await orderings_pair_no_better_than_chance(db, found, residents)
    no_case_shares_a_text_with_a_response(found, residents)
    photo_files_are_timed_on_disk(bot.settings.evidence_dir, found, residents)


async def test_staff_who_take_each_case_as_they_are_told_pair_no_better_than_chance(
    bot: Bot, client: SandboxClient, db: Database, clock: FrozenClock,
) -> None:
    """With the hold (as shipped: docs/privacy.md), a cadre who takes every case the moment
    they are told of it learns nothing of the order the residents sent them: the reports
    written in one window reach staff together when it is released, in random order, and
    nothing is in /cases before. So the audit log's order of the takes (and on PostgreSQL
    the stamps and places of the entries they write) pairs no better than chance, as does
    every other ordering."""
    await make_cadre(db, CADRE_ID, "V1", "Cadre Wang")
    cadre = await client.user(CADRE_ID, "Wang")
    users = [await client.user(FIRST_RESIDENT + i, f"Resident {i}") for i in range(PEOPLE)]
    numbers = [await report(user, f"Problem {i}: the drain by house {i} is blocked",
                            tell=False) for i, user in enumerate(users)]
    await cadre.send("/cases")
    assert "No active cases" in (await cadre.wait_for_message("cases")).text, "all held"
    await release(bot, clock)
    # The cadre takes each case in the order they were told of them.
    told = [await cadre.wait_for_message("New case") for _ in numbers]
    for message in told:
        number = re.search(r"C-[0-9A-Z]{6}", message.text)
        assert number is not None
        await cadre.tap("📂 Open case", message_id=message.message_id)
        await card(cadre, f"Case {number.group(0)}")
        assert await tap_for(cadre, "✋ Take") == f"You took case {number.group(0)}."
    await maintain(bot, clock, db)
    found = await dump(db)
    failures = {name: figures for name, figures in _pairings(found, numbers).items()}
    assert failures == {}, failures


@pytest.mark.parametrize("hold", [False])
async def test_without_the_hold_staff_who_take_each_case_as_it_comes_time_the_reports(
    bot: Bot, client: SandboxClient, db: Database, clock: FrozenClock, hold: bool,
) -> None:
    """The limit the hold closes, measured with it off (privacy.hold_residents_entries:
    false): the relay tells the unit's staff of a new case at once, and a cadre's actions are
    logged at once, under their name, in order. A cadre who takes every case the moment they
    are told of it takes them in the order the residents sent them, and the audit log's
    order of those takes (and on PostgreSQL the stamps and places of the timeline entries
    they write) pairs every case with its resident. What the residents' own transactions left
    stays near chance."""
    await make_cadre(db, CADRE_ID, "V1", "Cadre Wang")
    cadre = await client.user(CADRE_ID, "Wang")
    users = [await client.user(FIRST_RESIDENT + i, f"Resident {i}") for i in range(PEOPLE)]
    numbers = []
    for i, user in enumerate(users):
        number = await report(user, f"Problem {i}: the drain by house {i} is blocked",
                              tell=False)
        told = await cadre.wait_for_message(number)
        await cadre.tap("📂 Open case", message_id=told.message_id)
        await card(cadre, f"Case {number}")
        assert await tap_for(cadre, "✋ Take") == f"You took case {number}."
        numbers.append(number)
    await maintain(bot, clock, db)
    paired_by = _pairings(await dump(db), numbers)
    staff_made = ("audit events", "staff entries", "entries")
    assert paired_by["audit events: lowest id"].startswith("24.0 of 24 paired")
    assert [name for name in paired_by if not name.startswith(staff_made)] == [], paired_by


def _pairings(found: dict[str, list[Row]], numbers: list[str]) -> dict[str, str]:
    """The orderings of the cases that pair them with the people who sent ``numbers`` (in
    that order) better than chance, with the figures."""
    cases = {c["number"]: c for c in found["cases"]}
    people = [{"person": i, "case": cases[n]} for i, n in enumerate(numbers)]
    paired_by = {}
    for name, key in case_orderings(found).items():
        ok, figures = near_chance(people, _on("case", key), lambda p: p["person"])
        if not ok:
            paired_by[name] = figures
    return paired_by


async def _keys(db: Database, residents: list[Resident]) -> dict[str, set[str]]:
    async with db.reading() as uow:
        campaign = await uow.campaigns.by_code("willow")
        assert campaign is not None
    users = [r.user.id for r in residents] + [CADRE_ID, ADMIN_ID]
    return {
        "respondent": {respondent_key(SECRET, campaign.id, u) for u in users},
        "session": {session_key(SECRET, u) for u in users},
        "quota": {sealing.quota_key(SECRET, u) for u in users},
        "draft": {sealing.draft_key(SECRET, u) for u in users},
    }


async def nothing_names_anyone(db: Database, found: dict[str, list[Row]],
                               residents: list[Resident]) -> None:
    """No Telegram id (a private chat's id is the same), contact id, respondent, session,
    counting or draft key in a case table or an audit event about a case; no column of a
    case table points at the people's or the answers' side."""
    users = {r.user.id for r in residents} | {CADRE_ID, ADMIN_ID}
    keys = await _keys(db, residents)
    for table in CASE_TABLES:
        columns = Base.metadata.tables[table].columns
        assert not [c.name for c in columns if any(
            word in c.name for word in ("chat", "contact", "telegram", "respondent", "session",
                                        "user", "response", "campaign"))], table
        assert {fk.column.table.name for c in columns for fk in c.foreign_keys} <= {
            "cases", "units", "people"}, table
    about_cases = [e for e in found["audit_events"] if e["entity"] == "case"]
    rows = [(t, r) for t in CASE_TABLES for r in found[t]] + [("audit", e) for e in about_cases]
    for table, row in rows:
        values = [v for k, v in row.items() if k not in ("ctid", "xmin", "xmax")]
        assert not users & {v for v in values if isinstance(v, int)}, table
        flat = " ".join(str(v) for v in values)
        assert not any(str(u) in flat for u in users), table
        for kind, known in keys.items():
            if kind == "draft" and table == "case_drafts":
                continue  # a draft's own key: an HMAC only the bot can compute
            assert not any(key in flat for key in known), (table, kind)
    numbers = {c["number"] for c in found["cases"]}
    for draft in found["case_drafts"]:
        assert not any(number in str(draft["data"]) for number in numbers), "sealed"
    for event in about_cases:
        assert event["actor"] in (RESIDENT, "system") or event["actor"].startswith("person:")
        assert not {"contact", "contact_id", "chat_id", "user"} & set(_json(event["after"]))


def seals_open_only_with_the_secret(found: dict[str, list[Row]],
                                    residents: list[Resident]) -> None:
    """A seal is noise without the secret, opens with it to the resident who raised the case
    (with their chat only if they asked to be told), and is gone once the case is closed."""
    cases = {c["number"]: c for c in found["cases"]}
    seals = {s["case_id"]: s["sealed"] for s in found["case_seals"]}
    closed = [c for c in found["cases"] if c["status"] == "closed"]
    assert len(closed) >= 6, "resolved untold, and answered Yes or Partly"
    assert not [c["number"] for c in closed if c["id"] in seals], "closed cases keep no seal"
    for resident in residents:
        case = cases[resident.number]
        if case["status"] == "closed":
            continue
        sealed = seals[case["id"]]
        raw = base64.b64decode(sealed)
        assert str(resident.user.id).encode() not in raw
        assert resident.user.id.to_bytes(8, "big") not in raw
        assert sealing.unseal(b"another-secret-0123456789abcdef!", case["id"], sealed) is None
        other = next(c for c in found["cases"] if c["id"] != case["id"])
        assert sealing.unseal(SECRET, other["id"], sealed) is None, "bound to its case"
        reporter = sealing.unseal(SECRET, case["id"], sealed)
        assert reporter is not None
        assert reporter.quota_key == sealing.quota_key(SECRET, resident.user.id)
        assert reporter.chat_id == (resident.user.id if resident.tell else None)


def times_are_coarse(found: dict[str, list[Row]]) -> None:
    """The resident's side is timed to the privacy resolution at most: the day a case was
    opened, the window of each of their entries and audit events, and of what their answer
    did to the case."""
    for case in found["cases"]:
        opened_on = case["opened_on"]
        assert isinstance(opened_on, date) or re.fullmatch(r"\d{4}-\d\d-\d\d", opened_on)
        if case["outcome"] in ("confirmed", "partly", "not_solved"):
            assert is_coarse(case["closed_at"]), case["number"]
        if case["escalation"] == "not_solved":
            assert is_coarse(case["escalated_at"]), case["number"]
    for entry in found["case_messages"]:
        if entry["author"] == RESIDENT:
            assert entry["person_id"] is None and is_coarse(entry["at"]), entry["kind"]
    for event in found["audit_events"]:
        if event["actor"] == RESIDENT:
            assert is_coarse(event["at"]), event["action"]


def everything_is_audited(found: dict[str, list[Row]]) -> None:
    """Every timeline entry is in the audit log once its window has closed: staff ones at
    once, the residents' (and what their answer caused) in the batch."""
    assert [(e["kind"], e["author"]) for e in found["case_messages"] if not e["audited"]] == []
    logged: dict[str, int] = defaultdict(int)
    for event in found["audit_events"]:
        if event["entity"] == "case":
            logged[event["entity_id"]] += 1
    number_of = {c["id"]: c["number"] for c in found["cases"]}
    entries: dict[str, int] = defaultdict(int)
    for entry in found["case_messages"]:
        entries[number_of[entry["case_id"]]] += 1
    assert logged == entries


def stamps_date_no_resident(before: dict[str, list[Row]], found: dict[str, list[Row]]) -> None:
    """PostgreSQL's transaction stamps. Before the maintenance: no contact row was written in
    a transaction that wrote a case row. After it: no row of a case table carries the stamp
    of a resident's transaction (one that claimed an update and was not a staff member's,
    whose actions are logged at once), and every row a resident's transaction wrote carries
    the batch audit's stamp. The last holds as the batch here comes after everything else
    was written: a case a staff member changed after an earlier batch would keep their
    stamp (which dates them, as the log does), and an entry released after it the stamp of
    the relay's round that delivered it (which dates the release, as ``held_until`` does)."""
    contacts = {row["xmin"] for row in before["contacts"]}
    for table in CASE_TABLES:
        assert not contacts & {row["xmin"] for row in before[table]}, table
    updates = {row["xmin"] for row in found["processed_updates"]}
    staff = {e["xmin"] for e in found["audit_events"] if e["actor"].startswith("person:")}
    batch = {e["xmin"] for e in found["audit_events"] if e["actor"] == RESIDENT}
    assert batch and not batch & (updates | staff)
    for table in CASE_TABLES:
        for row in found[table]:
            assert row["xmin"] not in updates - staff, (table, row.get("kind"))
    residents_wrote = [("cases", row) for row in found["cases"]] + [
        (table, row) for table in ("case_photos", "case_seals") for row in found[table]] + [
        ("case_messages", e) for e in found["case_messages"] if _residents(e)]
    assert [(table, row.get("kind"), row["xmin"]) for table, row in residents_wrote
            if row["xmin"] not in batch] == [], f"the batch's stamps: {sorted(batch)}"


def _residents(entry: Row) -> bool:
    """An entry a resident's transaction wrote: theirs, or the escalation their "No" made."""
    return entry["author"] == RESIDENT or (
        entry["kind"] == "escalated"
        and _json(entry["params"]).get("escalation") == "not_solved")


async def orderings_pair_no_better_than_chance(db: Database, found: dict[str, list[Row]],
                                               residents: list[Resident]) -> None:
    """Every ordering of the cases (and of what belongs to them) held against (a) the known
    order of the people and (b) every ordering of their poll responses. The test, unlike the
    reader, has the key: it knows whose each case and response is."""
    async with db.reading() as uow:
        campaign = await uow.campaigns.by_code("willow")
        assert campaign is not None
    cases = {c["number"]: c for c in found["cases"]}
    responses = {r["respondent_key"]: r for r in found["responses"]}
    people = [{"person": r.index, "case": cases[r.number],
               "response": responses[respondent_key(SECRET, campaign.id, r.user.id)]}
              for r in residents]
    by_case = case_orderings(found)
    by_response = response_orderings(found, [p["response"] for p in people])
    assert len(by_case) >= (60 if db.dialect == "postgresql" else 35)
    assert len(by_response) >= (13 if db.dialect == "postgresql" else 9)
    known: dict[str, Key] = {"the people's order": lambda p: p["person"]}
    known |= {f"responses by {name}": _on("response", key) for name, key in by_response.items()}
    failures = []
    for name, key in by_case.items():
        for against, truth in known.items():
            ok, figures = near_chance(people, _on("case", key), truth)
            if not ok:
                failures.append(f"cases by {name} against {against}: {figures}")
    for name, key in by_response.items():
        ok, figures = near_chance(people, _on("response", key), known["the people's order"])
        if not ok:
            failures.append(f"responses by {name} against the people's order: {figures}")
    assert not failures, "\n".join(failures)


def no_case_shares_a_text_with_a_response(found: dict[str, list[Row]],
                                          residents: list[Resident]) -> None:
    """Nothing to join by content: a case made from a poll's comment has that comment as its
    text, and the comment has left the response, which shows it skipped (as do those of the
    residents who wrote their problem anew: their comment stays). No case says it came from
    a comment."""
    texts = {row["value_text"] for row in found["answers"] if row["value_text"]}
    assert not [c["number"] for c in found["cases"] if c["text"] in texts]
    assert not [c for c in found["cases"] if c["origin"] == "comment"]
    commented = {r.comment for r in residents if r.way == "comment"}
    kept = {r.comment for r in residents if r.way != "comment"}
    assert not commented & texts and kept <= texts
    cases = {c["text"] for c in found["cases"]}
    assert commented <= cases
    skipped = [a for a in found["answers"] if a["question_id"] == "comment" and a["skipped"]]
    assert len(skipped) == len(commented)
    assert all(a["value_text"] is None for a in skipped)
    assert found["case_comment_moves"] == []


def photo_files_are_timed_on_disk(root: Path, found: dict[str, list[Row]],
                                  residents: list[Resident]) -> None:
    """What the disk (not the database) tells, measured so docs/privacy.md stays true: a
    resident's photo file has its modification time set to 1970, but its change time
    (ctime), which no program can set back, is when it arrived; its name is its SHA-256, as
    in ``case_photos``. So a reader of the disk orders the cases with report photos as the
    people sent them: all of them here. Should this order ever go, say so on that page."""
    case_of = {c["number"]: c["id"] for c in found["cases"]}
    photo_of = {p["case_id"]: p["path"] for p in found["case_photos"] if p["part"] == "report"}
    files = [(root / photo_of[case_of[r.number]]).stat() for r in residents if r.photo]
    assert {f.st_mtime for f in files} == {0}, "the time a program can set says nothing"
    changed = [f.st_ctime_ns for f in files]
    if len(set(changed)) == len(changed):  # a file system that keeps fine times
        assert changed == sorted(changed), "the change times order them as people sent them"
