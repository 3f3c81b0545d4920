"""Playing the database reader: someone who can read every table (on PostgreSQL, the system
columns too) but does not have the secret key, and who knows the order in which the people
started and finished their polls. Nothing they can read pairs a person with a response
better than chance (docs/privacy.md).

Residents answer one after another through the real Application; some leave a poll
unfinished. Then the reader tries every ordering the database offers: ids, physical row
order, times, the transaction stamps, answers', scores' and sessions' rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sandbox import SandboxClient
from storage.uow import Database
from surveys.appraisal.textscoring import score_pending
from surveys.respondents.anonymity import respondent_key, session_key
from tests.conftest import SECRET
from tests.e2e.conftest import Bot, Clock
from tests.e2e.fieldwork import make_cadre
from tests.e2e.reader import (
    PEOPLE,
    FrozenClock,
    dump,
    is_coarse,
    near_chance,
    response_orderings,
)
from tests.e2e.test_resident_journey import answer_all, begin, tap_and_wait

pytestmark = pytest.mark.e2e


@pytest.fixture
def clock() -> Clock:
    return FrozenClock()


FINISHED = UNFINISHED = PEOPLE


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

    found = await dump(db)
    # Nothing outside the contacts' side holds a Telegram id.
    users = {u.id for u in [*finished, *unfinished]}
    for table, rows in found.items():
        if table == "contacts":
            continue
        for row in rows:
            assert not users & {v for v in row.values() if isinstance(v, int)}, table
    # No pointer from a person to a poll: the contacts hold no campaign (their menu is the
    # roles whose commands a staff member's chat shows), and the session rows (which poll
    # someone is answering) exist only for unfinished polls, under keys that only the
    # secret can compute.
    assert all(set(row) <= {"id", "telegram_user_id", "chat_id", "language", "opted_out",
                            "unreachable", "units_chosen", "menu", "ctid", "xmin", "xmax"}
               for row in found["contacts"])
    assert len(found["respondent_sessions"]) == UNFINISHED
    # Times on the response side are only to the privacy resolution.
    for table, column in (("responses", "started_at"), ("responses", "completed_at"),
                          ("text_scores", "scored_at")):
        for row in found[table]:
            assert row[column] is None or is_coarse(row[column]), (table, column)

    # Every ordering of the responses the reader can make, held against the known orders.
    # (The test, unlike the reader, has the key: it knows whose each response is.)
    for status, people in (("completed", finished), ("in_progress", unfinished)):
        person_of = {respondent_key(SECRET, campaign.id, u.id): i
                     for i, u in enumerate(people)}
        rows = [{**r, "person": person_of[r["respondent_key"]]}
                for r in found["responses"] if r["status"] == status]
        assert sorted(r["person"] for r in rows) == list(range(len(people)))
        orderings = response_orderings(found, rows)
        assert len(orderings) >= (12 if db.dialect == "postgresql" else 7)
        for name, key in orderings.items():
            ok, figures = near_chance(rows, key, lambda r: r["person"])
            assert ok, f"{status}, {name}: {figures}"


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
