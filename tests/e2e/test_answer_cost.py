"""What an answer costs the database, through the real Application, the sandbox and a real
database (SQLite, and PostgreSQL with TEST_DATABASE_URL): a tapped answer is one transaction
of at most four statements with one UPDATE of the response; a typed comment is one read
(whose dialogue or case draft it is, asked once for the router and the drafts together) and
then its step's one transaction; a newcomer's /start and a Submit are one transaction each
that reads and writes each row once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from sandbox import SandboxClient, SandboxUser
from storage.uow import Database
from tests.e2e.conftest import Bot
from tests.e2e.test_resident_journey import begin, tap_and_wait

pytestmark = pytest.mark.e2e


@contextmanager
def units(db: Database) -> Iterator[list[list[str]]]:
    """The statements run while the block runs, one list per unit of work on a connection
    (from its begin to its commit or rollback), BEGIN itself left out.

    The listeners stay on the test's engine afterwards, only stop recording: removing one
    while the bot's SQLite connection is between its begin listeners (which await) would
    change the list being walked."""
    done: list[list[str]] = []
    open_: dict[int, list[str]] = {}
    recording = True

    def begin(conn: Any) -> None:
        if recording:
            open_[id(conn)] = []

    def statement(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        text = " ".join(sql.split())
        if recording and id(conn) in open_ and not text.startswith("BEGIN"):
            open_[id(conn)].append(text)

    def end(conn: Any) -> None:
        if recording and id(conn) in open_:
            done.append(open_.pop(id(conn)))

    engine = db.engine.sync_engine
    for name, fn in (("begin", begin), ("before_cursor_execute", statement), ("commit", end),
                     ("rollback", end)):
        event.listen(engine, name, fn)
    try:
        yield done
    finally:
        recording = False


async def comment_recorded(user: SandboxUser, db: Database) -> list[list[str]]:
    """Begin the poll, tap through to the comment; the units of work of typing it."""
    await begin(user)
    for button, expect in (("4", "2/5"), ("Yes", "3/5"), ("5", "4/5"), ("4", "5/5")):
        await tap_and_wait(user, button, expect)
    with units(db) as found:
        await user.send("Friendly staff, thanks")
        await user.wait_for_message("Your answers")
    return found


def touching(found: list[list[str]], fragment: str) -> list[list[str]]:
    return [unit for unit in found if any(fragment in sql for sql in unit)]


async def test_a_tap_is_one_transaction_of_at_most_four_statements(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    user = await client.user(2301, "Lin")
    await begin(user)
    await tap_and_wait(user, "4", "2/5")  # the first question's prompt is recorded by now
    with units(db) as found:
        await tap_and_wait(user, "Yes", "3/5")
    [step] = touching(found, "INSERT INTO processed_updates")
    assert len(step) <= 4, step
    assert sum(sql.startswith("UPDATE responses") for sql in step) == 1
    assert any(sql.startswith("INSERT INTO answers") for sql in step)
    # Nothing else wrote the response or its answers, nor re-recorded the prompt (edited in
    # place, its message id is the same).
    assert touching(found, "UPDATE responses") == [step]
    assert touching(found, "INSERT INTO answers") == [step]
    assert touching(found, "UPDATE respondent_sessions") == []


async def test_a_typed_comment_is_read_once_before_its_step(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    user = await client.user(2302, "Wu")
    found = await comment_recorded(user, db)
    # One read asks both questions: the router's (a role dialogue?) and the case drafts'
    # (the bot's background work may read drafts too, on its own).
    [read] = [unit for unit in touching(found, "FROM case_drafts")
              if any("FROM people" in sql for sql in unit)]
    assert not any(sql.startswith(("INSERT", "UPDATE", "DELETE")) for sql in read)
    [step] = touching(found, "INSERT INTO processed_updates")
    assert touching(found, "INSERT INTO answers") == [step]
    assert touching(found, "UPDATE responses") == [step]


async def test_a_newcomers_start_writes_each_row_once(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    await begin(await client.user(2305, "Sun"))  # the survey's version is cached from now on
    user = await client.user(2303, "Zhao")
    with units(db) as found:
        await begin(user)
    [step] = touching(found, "INSERT INTO processed_updates")
    assert len(step) <= 7, "\n".join(step)
    # The new contact, its session and its response are each inserted and returned in one
    # statement: not read back, and the contact's language not set by a second write.
    for table in ("contacts", "respondent_sessions", "responses"):
        assert sum(f"INTO {table} " in sql for sql in step) == 1, (table, step)
    assert not any(sql.startswith(("UPDATE contacts", "SELECT people")) for sql in step), step
    assert not any(" FROM responses" in sql for sql in step), step  # none to find yet
    # A first /start must not leave a user without a language (they are answered in theirs).
    async with db.reading() as uow:
        contact = await uow.contacts.by_user(2303)
    assert contact is not None and contact.language == "en"


async def test_a_typed_answer_and_a_submit_read_no_more_than_they_need(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    user = await client.user(2304, "Qian")
    found = await comment_recorded(user, db)
    [typed] = touching(found, "INSERT INTO processed_updates")
    # The campaign comes joined with the response; the old prompt is not cleared before the
    # new one is recorded (after the send, on its own).
    assert not any(sql.startswith("SELECT campaigns") for sql in typed), typed
    assert not any("respondent_sessions" in sql and sql.startswith("UPDATE") for sql in typed)
    assert len(typed) <= 8, typed
    with units(db) as found:
        await tap_and_wait(user, "✅ Submit", "Thank you")
    [submit] = touching(found, "INSERT INTO processed_updates")
    # The offer to follow the unit never loads the whole tree of units (a province has
    # hundreds of thousands), and the session goes in one statement.
    assert not any("FROM units" in sql for sql in submit), submit
    assert not any("FROM respondent_sessions" in sql and sql.startswith("SELECT")
                   for sql in submit), submit
    assert len(submit) <= 7, submit
