"""Playing the database reader: someone who can read every table (on PostgreSQL, the system
columns too) but does not have the secret key, and who knows the order in which the people
started and finished their polls. Nothing they can read pairs a person with a response
better than chance (docs/privacy.md).

Residents answer one after another through the real Application; some leave a poll
unfinished. Then the reader tries every ordering the database offers: ids, physical row
order, times, the transaction stamps, answers', scores' and sessions' rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from sandbox import SandboxClient
from storage.models import Base
from storage.uow import Database
from surveys.appraisal.textscoring import score_pending
from surveys.respondents.anonymity import coarse, respondent_key, session_key
from tests.conftest import SECRET
from tests.e2e.conftest import Bot, Clock
from tests.e2e.fieldwork import make_cadre
from tests.e2e.test_resident_journey import answer_all, begin, tap_and_wait

pytestmark = pytest.mark.e2e


class FrozenClock(Clock):
    """The whole test inside one privacy window: times then tell the reader nothing by
    construction, so only what else the database keeps is being tested."""

    def __init__(self) -> None:
        super().__init__()
        # The end of the current window: after the campaign the fixture opens a minute ago.
        self.at = coarse(datetime.now(UTC)) + timedelta(minutes=9, seconds=59)

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return FrozenClock()

FINISHED = 24
UNFINISHED = 24
# Chance alone pairs one person in a random permutation on average; the database before
# this design paired all of them. A reader's every ordering must stay near chance: at most a
# third of the people (a random permutation of 24 does better about once in 100,000 tries),
# and no strong rank correlation (0.85 is over four standard deviations of chance).
MAX_CORRELATION = 0.85


async def test_a_reader_without_the_key_cannot_pair_people_with_their_answers(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    # Known to the reader: who started and finished, and in which order.
    finished = [await client.user(61_000 + i, f"Resident {i}") for i in range(FINISHED)]
    for i, user in enumerate(finished):
        await answer_all(user, comment=f"Remark number {i} about the service")
        await tap_and_wait(user, "✅ Submit", "Thank you")
    unfinished = [await client.user(62_000 + i, f"Walk-in {i}") for i in range(UNFINISHED)]
    for user in unfinished:
        await begin(user)
        await tap_and_wait(user, "4", "2/5")
    # The bot's maintenance, once the privacy window has closed and the unfinished polls are
    # a day old: scores written, rows reshuffled (see bot.app._schedule_maintenance).
    later = datetime.now(UTC) + timedelta(days=2)
    await score_pending(db)
    async with db.transaction() as uow:
        await uow.responses.reshuffle(later, later)
        campaign = await uow.campaigns.by_code("willow")
        assert campaign is not None

    dump = await _dump(db)
    # Nothing outside the contacts' side holds a Telegram id.
    users = {u.id for u in [*finished, *unfinished]}
    for table, rows in dump.items():
        if table == "contacts":
            continue
        for row in rows:
            assert not users & {v for v in row.values() if isinstance(v, int)}, table
    # No pointer from a person to a poll: the contacts hold no campaign, and the session
    # rows (which poll someone is answering) exist only for unfinished polls, under keys
    # that only the secret can compute.
    assert all(set(row) <= {"id", "telegram_user_id", "chat_id", "language", "opted_out",
                            "unreachable", "units_chosen", "ctid", "xmin"}
               for row in dump["contacts"])
    assert len(dump["respondent_sessions"]) == UNFINISHED
    # Times on the response side are only to the privacy resolution.
    for table, column in (("responses", "started_at"), ("responses", "completed_at"),
                          ("text_scores", "scored_at")):
        for row in dump[table]:
            if row[column] is not None:
                moment = _as_datetime(row[column])
                assert (moment.minute % 10, moment.second, moment.microsecond) == (0, 0, 0)

    # Every ordering of the responses the reader can make, held against the known orders.
    # (The test, unlike the reader, has the key: it knows whose each response is.)
    for status, people in (("completed", finished), ("in_progress", unfinished)):
        rows = [r for r in dump["responses"] if r["status"] == status]
        person_of = {respondent_key(SECRET, campaign.id, u.id): i
                     for i, u in enumerate(people)}
        assert sorted(person_of[r["respondent_key"]] for r in rows) == list(range(len(people)))
        orderings = _orderings(dump, rows)
        assert len(orderings) >= (11 if db.dialect == "postgresql" else 7)
        for name, key in orderings.items():
            paired, rho = _expected_pairs(rows, key, person_of)
            assert paired <= len(people) / 3, f"{status}, {name}: {paired:.1f} paired"
            assert abs(rho) <= MAX_CORRELATION, f"{status}, {name}: correlation {rho:.2f}"


def _as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


async def _dump(db: Database) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, in the order the database hands them out, with PostgreSQL's
    row address and transaction stamp."""
    extra = "ctid::text AS ctid, xmin::text::bigint AS xmin, " if db.dialect == "postgresql" \
        else ""
    dump: dict[str, list[dict[str, Any]]] = {}
    async with db.reading() as uow:
        for table in Base.metadata.sorted_tables:
            result = await uow.session.execute(text(f"SELECT {extra}* FROM {table.name}"))
            dump[table.name] = [dict(row._mapping) for row in result]
    return dump


Key = Callable[[dict[str, Any]], Any]


def _orderings(dump: dict[str, list[dict[str, Any]]], rows: list[dict[str, Any]]
               ) -> dict[str, Key]:
    """Sort keys a reader could put the responses in order by."""
    physical = {row["id"]: i for i, row in enumerate(dump["responses"])}
    answers: dict[int, list[dict[str, Any]]] = defaultdict(list)
    first_seen: dict[int, int] = {}
    for i, row in enumerate(dump["answers"]):
        answers[row["response_id"]].append(row)
        first_seen.setdefault(row["response_id"], i)
    comment_of = {row["id"]: row["response_id"] for row in dump["answers"]}
    scores: dict[int, dict[str, Any]] = {}
    for i, row in enumerate(dump["text_scores"]):
        if row["source"] == "answer" and row["source_id"] in comment_of:
            scores[comment_of[row["source_id"]]] = {**row, "position": i}
    keys: dict[str, Key] = {
        "response id": lambda r: r["id"],
        "response row order": lambda r: physical[r["id"]],
        "started at": lambda r: r["started_at"],
        "completed at": lambda r: r["completed_at"],
        "lowest answer id": lambda r: min(a["id"] for a in answers[r["id"]]),
        "highest answer id": lambda r: max(a["id"] for a in answers[r["id"]]),
        "answer row order": lambda r: first_seen.get(r["id"], -1),
    }
    if all(r["id"] in scores for r in rows):
        keys["score id"] = lambda r: scores[r["id"]]["id"]
        keys["score row order"] = lambda r: scores[r["id"]]["position"]
    if "xmin" in dump["responses"][0]:
        keys["response xmin"] = lambda r: r["xmin"]
        keys["response ctid"] = lambda r: _ctid(r["ctid"])
        keys["answers' highest xmin"] = lambda r: max(a["xmin"] for a in answers[r["id"]])
        keys["answers' ctid"] = lambda r: min(_ctid(a["ctid"]) for a in answers[r["id"]])
    return keys


def _ctid(value: str) -> tuple[int, int]:
    page, item = value.strip("()").split(",")
    return int(page), int(item)


def _expected_pairs(rows: list[dict[str, Any]], plain: Key, person_of: dict[str, int]
                    ) -> tuple[float, float]:
    """The reader pairs the k-th person with the k-th response in ``plain`` order, breaking
    ties at random: the expected number of right pairs, and the rank correlation."""

    def key(row: dict[str, Any]) -> tuple[bool, Any]:
        value = plain(row)  # no value (an unfinished poll's completion) sorts last
        return value is None, value if value is not None else 0

    ranked = sorted(rows, key=key)
    groups: list[list[dict[str, Any]]] = []
    for row in ranked:
        if groups and key(groups[-1][0]) == key(row):
            groups[-1].append(row)
        else:
            groups.append([row])
    expected, position = 0.0, 0
    reader_rank: dict[int, float] = {}
    for group in groups:
        slots = range(position, position + len(group))
        for row in group:
            person = person_of[row["respondent_key"]]
            expected += sum(1 for s in slots if person == s) / len(group)
            reader_rank[row["id"]] = position + (len(group) - 1) / 2
        position += len(group)
    return expected, _spearman([reader_rank[r["id"]] for r in rows],
                               [float(person_of[r["respondent_key"]]) for r in rows])


def _spearman(a: list[float], b: list[float]) -> float:
    n = len(a)
    mean_a, mean_b = sum(a) / n, sum(b) / n
    cov = sum((x - mean_a) * (y - mean_b) for x, y in zip(a, b, strict=True))
    var_a = sum((x - mean_a) ** 2 for x in a)
    var_b = sum((y - mean_b) ** 2 for y in b)
    return 0.0 if var_a == 0 or var_b == 0 else cov / (var_a * var_b) ** 0.5


async def test_a_cadre_cannot_answer_their_own_units_residents_poll(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    await make_cadre(db, 63_001, "V1", "Wang Fang")
    await make_cadre(db, 63_002, "V2", "Li Ming")
    own = await client.user(63_001, "Wang", language_code="zh")
    await own.send("/start willow")
    await own.wait_for_message("这份居民问卷不由您填写")
    # Nothing was begun: no response, no session row to point at one.
    async with db.reading() as uow:
        campaign = await uow.campaigns.by_code("willow")
        assert campaign is not None
        assert await uow.responses.counts([campaign.id]) == {campaign.id: {}}
        assert await uow.sessions.get(session_key(SECRET, 63_001)) is None
    # A cadre of another village is a resident of this one like anybody else.
    other = await client.user(63_002, "Li")
    await begin(other)
