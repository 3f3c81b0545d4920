"""The database reader of docs/privacy.md, for the tests that play it: someone who can read
every table (on PostgreSQL the system columns ``ctid``, ``xmin`` and ``xmax`` too) but has not the
secret key, and who knows in which order people did things. They sort the rows every way
the database offers and pair the k-th row with the k-th person; these helpers dump the
database, list the orderings of the responses and measure how many pairs an ordering gets
right against a known order, and how strongly it correlates with it.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from storage.models import Base
from storage.uow import Database
from surveys.respondents.anonymity import coarse
from tests.e2e.conftest import Clock

Row = dict[str, Any]
Key = Callable[[Row], Any]

# The readers' tests follow this many people: the bounds below are worked out for it.
PEOPLE = 24
# Chance alone pairs one person in a random permutation on average; the database before
# this design paired all of them. A reader's every ordering must stay near chance: at most a
# third of the people (a random permutation of 24 does better about once in 100,000 tries),
# and no strong rank correlation (0.85 is over four standard deviations of chance).
MAX_CORRELATION = 0.85
# Nor a long run of people in their order (or its reverse) among the rest, which a leak
# confined to some rows shows: of 24, a random order keeps 7 to 9 in such a run and more
# than 14 about once in 1.5 million (simulated, 6 million permutations).
MAX_RUN = 14


class FrozenClock(Clock):
    """The whole test inside one privacy window: times then tell the reader nothing by
    construction, so only what else the database keeps is being tested. ``at`` can be moved
    on, as the bot's maintenance sees the time once the window has closed."""

    def __init__(self) -> None:
        super().__init__()
        # The end of the current window: after the campaign the fixture opens a minute ago.
        self.at = coarse(datetime.now(UTC)) + timedelta(minutes=9, seconds=59)

    def __call__(self) -> datetime:
        return self.at


async def dump(db: Database) -> dict[str, list[Row]]:
    """Every row of every table, in the order the database hands them out, with PostgreSQL's
    row address and transaction stamps (of the transaction that wrote the row, and of one
    that locked or deleted it)."""
    extra = ("ctid::text AS ctid, xmin::text::bigint AS xmin, xmax::text::bigint AS xmax, "
             if db.dialect == "postgresql" else "")
    found: dict[str, list[Row]] = {}
    async with db.reading() as uow:
        for table in Base.metadata.sorted_tables:
            result = await uow.session.execute(text(f"SELECT {extra}* FROM {table.name}"))
            found[table.name] = [dict(row._mapping) for row in result]
    return found


def as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def is_coarse(value: Any, minutes: int = 10) -> bool:
    """Whether a time is on the privacy resolution's grid."""
    moment = as_datetime(value)
    return (moment.minute % minutes, moment.second, moment.microsecond) == (0, 0, 0)


def ctid(value: str) -> tuple[int, int]:
    page, item = value.strip("()").split(",")
    return int(page), int(item)


def response_orderings(found: dict[str, list[Row]], rows: list[Row]) -> dict[str, Key]:
    """Sort keys a reader could put the responses ``rows`` in order by."""
    physical = {row["id"]: i for i, row in enumerate(found["responses"])}
    answers: dict[int, list[Row]] = defaultdict(list)
    first_seen: dict[int, int] = {}
    for i, row in enumerate(found["answers"]):
        answers[row["response_id"]].append(row)
        first_seen.setdefault(row["response_id"], i)
    comment_of = {row["id"]: row["response_id"] for row in found["answers"]}
    scores: dict[int, Row] = {}
    for i, row in enumerate(found["text_scores"]):
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
    if any(r["id"] in scores for r in rows):
        # A response without a scored comment (skipped, or moved into a case) sorts last.
        keys["score id"] = lambda r: scores[r["id"]]["id"] if r["id"] in scores else None
        keys["score row order"] = (
            lambda r: scores[r["id"]]["position"] if r["id"] in scores else None)
    if "xmin" in found["responses"][0]:
        keys["response xmin"] = lambda r: r["xmin"]
        keys["response xmax"] = lambda r: r["xmax"]
        keys["response ctid"] = lambda r: ctid(r["ctid"])
        keys["answers' highest xmin"] = lambda r: max(a["xmin"] for a in answers[r["id"]])
        keys["answers' ctid"] = lambda r: min(ctid(a["ctid"]) for a in answers[r["id"]])
    return keys


def _places(rows: list[Row], key: Key) -> list[tuple[int, int]]:
    """Each row's place in ``key`` order: the first place of its group of equal values and
    the group's size (the reader breaks a tie at random). No value sorts last."""

    def sort_key(i: int) -> tuple[bool, Any]:
        value = key(rows[i])
        return value is None, value if value is not None else 0

    order = sorted(range(len(rows)), key=sort_key)
    places = [(0, 0)] * len(rows)
    start = 0
    for end in range(1, len(order) + 1):
        if end == len(order) or sort_key(order[end]) != sort_key(order[start]):
            for i in order[start:end]:
                places[i] = (start, end - start)
            start = end
    return places


def expected_pairs(rows: list[Row], plain: Key, truth: Key) -> tuple[float, float]:
    """The reader pairs the k-th row in ``plain`` order with the k-th in ``truth`` order
    (the known order of the people, or another ordering of what they left), breaking ties
    at random on both sides: the expected number of right pairs, and the rank correlation."""
    reader, known = _places(rows, plain), _places(rows, truth)
    expected = 0.0
    for (a, size_a), (b, size_b) in zip(reader, known, strict=True):
        overlap = min(a + size_a, b + size_b) - max(a, b)
        expected += max(overlap, 0) / (size_a * size_b)
    return expected, _spearman([a + (n - 1) / 2 for a, n in reader],
                               [b + (n - 1) / 2 for b, n in known])


def longest_run(rows: list[Row], plain: Key, truth: Key) -> int:
    """The most rows in ``plain`` order that are also in ``truth`` order, or in its reverse
    (strictly: of rows equal in either, at most one counts)."""
    pairs = [(a, b) for (a, _), (b, _) in zip(_places(rows, plain), _places(rows, truth),
                                              strict=True)]
    rising = [b for _, b in sorted(pairs, key=lambda p: (p[0], -p[1]))]
    falling = [-b for _, b in sorted(pairs)]
    return max(_increasing(rising), _increasing(falling))


def _increasing(values: list[int]) -> int:
    """The length of the longest strictly increasing subsequence."""
    tails: list[int] = []
    for value in values:
        at = bisect.bisect_left(tails, value)
        tails[at:at + 1] = [value]
    return len(tails)


def _spearman(a: list[float], b: list[float]) -> float:
    n = len(a)
    mean_a, mean_b = sum(a) / n, sum(b) / n
    cov = sum((x - mean_a) * (y - mean_b) for x, y in zip(a, b, strict=True))
    var_a = sum((x - mean_a) ** 2 for x in a)
    var_b = sum((y - mean_b) ** 2 for y in b)
    return 0.0 if var_a == 0 or var_b == 0 else cov / (var_a * var_b) ** 0.5


def near_chance(rows: list[Row], plain: Key, truth: Key) -> tuple[bool, str]:
    """Whether ``plain`` pairs ``rows`` with ``truth`` no better than chance plausibly would
    (at most a third right, correlation at most :data:`MAX_CORRELATION`, no run longer than
    :data:`MAX_RUN`), and the figures."""
    assert len(rows) == PEOPLE, "the bounds are worked out for this many people"
    paired, rho = expected_pairs(rows, plain, truth)
    run = longest_run(rows, plain, truth)
    ok = paired <= len(rows) / 3 and abs(rho) <= MAX_CORRELATION and run <= MAX_RUN
    return ok, f"{paired:.1f} of {len(rows)} paired, correlation {rho:.2f}, a run of {run}"
