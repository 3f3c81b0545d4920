"""Migration 0008 on a database with data in it: ids renumbered at random with every row that
points at them following, exact times gone, nothing else lost; and back down and up again.

Runs on SQLite, and on PostgreSQL (in a database of its own: tests/storage/conftest.py)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from storage.migrate import downgrade, upgrade

T0 = datetime(2026, 11, 3, 9, 17, 41, 250_000, tzinfo=UTC)


def _run(url: str, statements: list[tuple[str, dict[str, Any] | list[dict[str, Any]]]]
         ) -> None:
    async def go() -> None:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                for statement, params in statements:
                    await conn.execute(text(statement), params)
        finally:
            await engine.dispose()
    asyncio.run(go())


def _rows(url: str, query: str) -> list[tuple[Any, ...]]:
    async def go() -> list[tuple[Any, ...]]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return [tuple(row) for row in await conn.execute(text(query))]
        finally:
            await engine.dispose()
    return asyncio.run(go())


def _at(url: str, seconds: float) -> Any:
    from datetime import timedelta

    moment = T0 + timedelta(seconds=seconds)
    # SQLite keeps naive UTC text, as storage.models.UTCDateTime writes it.
    return moment.replace(tzinfo=None).isoformat(sep=" ") if url.startswith("sqlite") else moment


def _seed_at_0007(url: str) -> None:
    upgrade(url, "0007")
    responses = []
    answers = []
    for n in range(1, 4):  # three residents, one cadre's self-assessment (n = 4)
        responses.append({
            "id": n, "key": f"{n:064d}", "started": _at(url, 100 * n),
            "updated": _at(url, 100 * n + 50), "completed": _at(url, 100 * n + 47.6),
            "person": 1 if n == 4 else None})
        answers.append({"id": 10 * n, "rid": n, "q": "overall", "t": "rating", "num": float(n),
                        "text": None, "at": _at(url, 100 * n + 20)})
        answers.append({"id": 10 * n + 1, "rid": n, "q": "comment", "t": "text", "num": None,
                        "text": f"comment of resident {n}", "at": _at(url, 100 * n + 40)})
    responses.append({"id": 4, "key": "4" * 64, "started": _at(url, 900),
                      "updated": _at(url, 950), "completed": _at(url, 950), "person": 1})
    answers.append({"id": 40, "rid": 4, "q": "task", "t": "rating", "num": 5.0, "text": None,
                    "at": _at(url, 940)})
    _run(url, [
        ("INSERT INTO units (id, code, name, type) VALUES (1, 'V1', 'Willow', 'village')", {}),
        ("INSERT INTO surveys (id, slug, version, checksum, definition) "
         "VALUES (1, 's', 1, :c, '{}')", {"c": "0" * 64}),
        ("INSERT INTO campaigns (id, code, survey_id, unit_id, status, opens_at, audience, "
         "timezone, reminders) VALUES (1, 'willow', 1, 1, 'open', :at, 'residents', 'UTC', "
         "'[]')", {"at": _at(url, 0)}),
        ("INSERT INTO contacts (id, telegram_user_id, chat_id, opted_out, unreachable, "
         "units_chosen, active_campaign_id, prompt_message_id) VALUES "
         "(:id, :user, :chat, false, false, false, 1, 77)",
         [{"id": n, "user": n, "chat": n} for n in (1, 2, 3)]),
        ("INSERT INTO subscriptions (contact_id, unit_id) VALUES (:id, 1)",
         [{"id": n} for n in (1, 2, 3)]),
        ("INSERT INTO outbox (id, campaign_id, contact_id, kind, status, due_at) VALUES "
         "(:id, 1, :contact, 'invite', 'sent', :at)",
         [{"id": n, "contact": n, "at": _at(url, 0)} for n in (1, 2)]),
        ("INSERT INTO people (id, name, contact_id) VALUES (1, 'Wang Fang', 3)", {}),
        ("INSERT INTO responses (id, campaign_id, survey_id, respondent_key, status, step, "
         "language, started_at, updated_at, completed_at, person_id) VALUES "
         "(:id, 1, 1, :key, 'completed', 3, 'en', :started, :updated, :completed, :person)",
         responses),
        ("INSERT INTO answers (id, response_id, question_id, question_type, skipped, "
         "value_number, value_text, answered_at) VALUES "
         "(:id, :rid, :q, :t, false, :num, :text, :at)", answers),
        ("INSERT INTO anomaly_flags (response_id, kind, reason, detected_at) VALUES "
         "(2, 'too_fast', 'fast', :at)", {"at": _at(url, 1000)}),
        ("INSERT INTO text_scores (source, source_id, analyser, language, polarity, label, "
         "contradicts, scored_at) VALUES ('answer', :id, 'a1', 'en', 0.5, 'positive', false, "
         ":at)", [{"id": 10 * n + 1, "at": _at(url, 1000)} for n in (1, 2, 3)]),
    ])


def test_0008_renumbers_coarsens_and_keeps_every_link(empty_url: str) -> None:
    url = empty_url
    _seed_at_0007(url)
    upgrade(url)

    # Residents' responses got random ids; the named self-assessment kept its own.
    rows = _rows(url, "SELECT id, respondent_key, person_id, started_at, completed_at, "
                      "duration_s, sealed_start FROM responses")
    by_key = {row[1]: row for row in rows}
    assert len(rows) == 4
    resident_ids = [by_key[f"{n:064d}"][0] for n in (1, 2, 3)]
    assert not set(resident_ids) & {1, 2, 3, 4}
    assert all(0 < rid < 2**53 for rid in resident_ids)
    assert len(set(resident_ids)) == 3
    assert by_key["4" * 64][0] == 4
    for n in (1, 2, 3):
        _rid, _key, _person, started, completed, duration, sealed = by_key[f"{n:064d}"]
        for moment in (started, completed):
            moment = moment if isinstance(moment, datetime) else datetime.fromisoformat(moment)
            assert moment.minute % 10 == 0 and moment.second == 0 and moment.microsecond == 0
        assert duration == 48 and sealed is None  # 47.6 s, from the exact times

    # Every answer, flag and score still points at the same response and answer.
    answers = _rows(url, "SELECT r.respondent_key, a.question_id, a.value_number, "
                         "a.value_text, a.id FROM answers a JOIN responses r "
                         "ON r.id = a.response_id")
    assert len(answers) == 7
    for key, question, number, words, _aid in answers:
        if key != "4" * 64 and question == "overall":
            assert number == float(int(key))
        if question == "comment":
            assert words == f"comment of resident {int(key)}"
    assert not {aid for *_, aid in answers} & {10, 11, 20, 21, 30, 31, 40}
    flagged = _rows(url, "SELECT r.respondent_key FROM anomaly_flags f JOIN responses r "
                         "ON r.id = f.response_id")
    assert flagged == [(f"{2:064d}",)]
    scored = _rows(url, "SELECT a.value_text FROM text_scores s JOIN answers a "
                        "ON a.id = s.source_id AND s.source = 'answer'")
    assert sorted(scored) == [(f"comment of resident {n}",) for n in (1, 2, 3)]

    # Nothing on the contacts' side was lost (a table copy must not cascade), and the
    # pointer to the poll being answered is gone.
    assert _rows(url, "SELECT count(*) FROM subscriptions") == [(3,)]
    assert _rows(url, "SELECT count(*) FROM outbox") == [(2,)]
    assert _rows(url, "SELECT contact_id FROM people") == [(3,)]
    columns = _columns(url, "contacts")
    assert "active_campaign_id" not in columns and "prompt_message_id" not in columns
    assert "updated_at" not in _columns(url, "responses")
    assert "answered_at" not in _columns(url, "answers")
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1]
        with sqlite3.connect(path) as con:
            assert con.execute("PRAGMA foreign_key_check").fetchall() == []

    # Down and up again: the schema round-trips and the data stays.
    downgrade(url, "0007")
    assert "active_campaign_id" in _columns(url, "contacts")
    upgrade(url)
    assert _rows(url, "SELECT count(*) FROM answers") == [(7,)]
    assert _rows(url, "SELECT count(*) FROM subscriptions") == [(3,)]


def _columns(url: str, table: str) -> set[str]:
    if url.startswith("sqlite"):
        return {row[1] for row in _rows(url, f"PRAGMA table_info({table})")}
    return {row[0] for row in _rows(
        url, f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}'")}
