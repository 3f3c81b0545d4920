"""Storage on a real database: SQLite always, PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import DateTime, inspect, select, text, update
from sqlalchemy.exc import IntegrityError

from analysis.statistics import margin_of_error
from storage.models import (
    ANSWER_SLOTS,
    AuditEvent,
    Base,
    Campaign,
    CampaignStatus,
    ProcessedUpdate,
    Response,
    ResponseStatus,
)
from storage.responses import AnswerRow, Completion
from storage.uow import Database
from surveys.campaigns.admin import campaign_reports
from surveys.people.units import UnitFileError, UnitRow, import_units
from tests.conftest import TEST_UNITS, now, seed_campaign


async def test_migrations_match_the_models(db: Database) -> None:
    def diff(sync_conn: object) -> list[object]:
        context = MigrationContext.configure(sync_conn)  # type: ignore[arg-type]
        return list(compare_metadata(context, Base.metadata))

    async with db.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


async def test_no_telegram_ids_next_to_answers(db: Database) -> None:
    def columns(sync_conn: object) -> dict[str, list[dict[str, Any]]]:
        inspector = inspect(sync_conn)
        return {
            table: inspector.get_columns(table) for table in ("responses", "answers", "contacts")
        }

    async with db.engine.connect() as conn:
        tables = await conn.run_sync(columns)
    for table in ("responses", "answers"):
        for column in tables[table]:
            name = column["name"]
            assert "telegram" not in name and "chat" not in name and "user" not in name, (
                f"{table}.{name} could identify a person"
            )
    # A contact timestamp written with an answer would link the two: contacts have none.
    assert not [c["name"] for c in tables["contacts"] if isinstance(c["type"], DateTime)]


async def test_units_reimport_updates_in_place(db: Database) -> None:
    async with db.transaction() as uow:
        first = await import_units(uow, TEST_UNITS, actor="test")
    assert (first.created, first.updated, first.unchanged) == (4, 0, 0)
    changed = [*TEST_UNITS[:3], UnitRow("V2", "Pine Village (new)", "T1", "village", 900, 4)]
    async with db.transaction() as uow:
        second = await import_units(uow, changed, actor="test")
        pine = await uow.units.by_code("V2")
        assert pine is not None and pine.name == "Pine Village (new)" and pine.population == 900
        assert len(await uow.units.all()) == 4
    assert (second.created, second.updated, second.unchanged) == (0, 1, 3)


async def test_a_broken_tree_is_rejected_whole(db: Database) -> None:
    async with db.transaction() as uow:
        await import_units(uow, TEST_UNITS, actor="test")
    broken = [
        UnitRow("V3", "New Village", "T1", "village", 10, 2),
        UnitRow("X1", "Loop A", "X2", "village", 10, 3),
        UnitRow("X2", "Loop B", "X1", "village", 10, 4),
    ]
    with pytest.raises(UnitFileError) as info:
        async with db.transaction() as uow:
            await import_units(uow, broken, actor="test")
    assert any("line 3" in issue or "line 4" in issue for issue in info.value.issues)
    async with db.transaction() as uow:
        assert await uow.units.by_code("V3") is None


async def test_updates_are_claimed_once(db: Database) -> None:
    when = datetime.now(UTC)
    async with db.transaction() as uow:
        assert await uow.updates.claim(42, "a", when) is True
    async with db.transaction() as uow:
        assert await uow.updates.claim(42, "a", when) is False
        assert await uow.updates.claim(43, "a", when) is True
        # The same id with other content: a new update after ids restarted.
        assert await uow.updates.claim(42, "b", when) is True


async def start_response(db: Database, key: str) -> int:
    """Seed the campaign and start one response in it, as a first tap would."""
    await seed_campaign(db)
    async with db.transaction() as uow:
        campaign = await uow.campaigns.by_code("willow")
        assert campaign is not None
        response = await uow.responses.create(campaign.id, campaign.survey_id, key * 64, "en",
                                              "overall", started_at=now())
        assert response is not None
        return response.id


async def test_compare_and_set_refuses_a_stale_step(db: Database) -> None:
    response_id = await start_response(db, "k")
    async with db.transaction() as uow:
        first = await uow.responses.get(response_id)
        assert first is not None
        # Someone else moves the response on meanwhile.
        await uow.session.execute(
            update(type(first)).where(type(first).id == response_id).values(step=5)
            .execution_options(synchronize_session=False)
        )
        assert await uow.responses.advance(first, current_question="x", draft=None) is False
    async with db.transaction() as uow:
        fresh = await uow.responses.get(response_id)
        assert fresh is not None and fresh.step == 5 and fresh.current_question == "overall"
        assert fresh.status == ResponseStatus.IN_PROGRESS


async def test_one_response_per_respondent_and_campaign(db: Database) -> None:
    await seed_campaign(db)
    async with db.transaction() as uow:
        campaign = await uow.campaigns.by_code("willow")
        assert campaign is not None
        first = await uow.responses.create(campaign.id, campaign.survey_id, "a" * 64, "en", None,
                                           started_at=now())
        again = await uow.responses.create(campaign.id, campaign.survey_id, "a" * 64, "zh", None,
                                           started_at=now())
        assert first is not None and again is None
        rows = (await uow.session.scalars(select(Response))).all()
        assert [(r.id, r.language) for r in rows] == [(first.id, "en")]
    with pytest.raises(IntegrityError):  # the constraint itself still holds underneath
        async with db.transaction() as uow:
            uow.session.add(Response(campaign_id=first.campaign_id, survey_id=first.survey_id,
                                     respondent_key="a" * 64, status=ResponseStatus.IN_PROGRESS,
                                     step=0, language="en", started_at=now()))


async def test_timestamps_come_back_in_utc(db: Database) -> None:
    await seed_campaign(db)
    async with db.transaction() as uow:
        campaign = await uow.campaigns.by_code("willow")
        assert campaign is not None
        assert campaign.status == CampaignStatus.OPEN
    async with db.transaction() as uow:
        again = await uow.session.scalar(select(Campaign).where(Campaign.code == "willow"))
        assert again is not None
        assert again.opens_at.tzinfo is not None and again.created_at.tzinfo is not None
        assert abs((again.opens_at - datetime.now(UTC)).total_seconds()) < 600


async def test_audit_chain_detects_tampering(db: Database) -> None:
    await seed_campaign(db)
    async with db.transaction() as uow:
        assert await uow.audit.verify() is None
        events = await uow.audit.recent()
        assert {e.action for e in events} >= {"unit.create", "campaign.create"}
    target = events[-2].id
    async with db.transaction() as uow:
        await uow.session.execute(
            update(AuditEvent).where(AuditEvent.id == target).values(actor="someone-else")
        )
    async with db.transaction() as uow:
        assert await uow.audit.verify() == target


async def test_the_audit_trail_reads_the_databases_clock(db: Database) -> None:
    """One clock: a database given a clock the test controls stamps its audit events with it."""
    fixed = datetime(2031, 5, 4, 3, 2, 1, tzinfo=UTC)
    moved = Database(db.engine, clock=lambda: fixed)
    async with moved.transaction() as uow:
        assert uow.clock() == fixed
        await uow.audit.record("test", "clock.check", "clock")
    async with db.transaction() as uow:
        [event] = await uow.audit.of("clock")
        assert event.at == fixed
        assert await uow.audit.verify() is None


async def test_sqlite_uses_wal_and_a_busy_timeout(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path}/wal.db", busy_timeout_ms=1234)
    try:
        async with db.engine.connect() as conn:
            mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar()
            timeout = (await conn.execute(text("PRAGMA busy_timeout"))).scalar()
            foreign_keys = (await conn.execute(text("PRAGMA foreign_keys"))).scalar()
    finally:
        await db.dispose()
    assert (mode, timeout, foreign_keys) == ("wal", 1234, 1)


async def test_old_update_ids_are_pruned(db: Database) -> None:
    async with db.transaction() as uow:
        for update_id in (1, 2, 3):
            await uow.updates.claim(update_id, "d", datetime.now(UTC))
        await uow.session.execute(
            update(ProcessedUpdate)
            .where(ProcessedUpdate.update_id.in_([1, 2]))
            .values(processed_at=datetime.now(UTC) - timedelta(days=3))
        )
    async with db.transaction() as uow:
        assert await uow.updates.prune(datetime.now(UTC) - timedelta(days=2)) == 2
        left = await uow.session.scalars(select(ProcessedUpdate.update_id))
        assert left.all() == [3]


async def test_campaign_report_counts_in_the_database(db: Database) -> None:
    await seed_campaign(db)
    async with db.transaction() as uow:
        campaign = await uow.campaigns.by_code("willow")
        assert campaign is not None
        for n, done in enumerate((True, True, False)):
            response = await uow.responses.create(campaign.id, campaign.survey_id, f"{n:064d}",
                                                  "en", None, started_at=now())
            assert response is not None
            if done:
                await uow.responses.advance(response, current_question=None, draft=None,
                                            completed=Completion(now(), 30))
    async with db.transaction() as uow:
        [report] = await campaign_reports(uow, datetime.now(UTC), "willow")
    assert (report.started, report.completed) == (3, 2)
    assert report.completion_rate == pytest.approx(2 / 3)
    # Willow Village has 1,200 residents: the finite-population correction applies.
    assert report.margin_of_error == pytest.approx(margin_of_error(2, population=1200))
    assert report.time_left is not None and report.time_left.days == 29


async def test_cancelling_cannot_delete_a_response_that_moved_on(db: Database) -> None:
    response_id = await start_response(db, "c")
    async with db.transaction() as uow:
        stale = await uow.responses.get(response_id)
        assert stale is not None
        # A Submit commits between reading and deleting.
        await uow.session.execute(
            update(Response).where(Response.id == response_id)
            .values(step=Response.step + 1, status=ResponseStatus.COMPLETED)
            .execution_options(synchronize_session=False)
        )
        assert await uow.responses.delete_in_progress(stale) is False
    async with db.transaction() as uow:
        kept = await uow.responses.get(response_id)
        assert kept is not None and kept.status == ResponseStatus.COMPLETED


async def test_a_long_read_never_holds_up_writers(db: Database) -> None:
    await seed_campaign(db)
    async with db.reading() as reader:
        assert await reader.campaigns.by_code("willow") is not None
        # While the export-like read is still open, an answer can be written.
        async with asyncio.timeout(5), db.transaction() as writer:
            await writer.updates.claim(99, "d", datetime.now(UTC))
    async with db.transaction() as uow:
        assert await uow.updates.prune(datetime.now(UTC) + timedelta(days=1)) == 1


async def test_a_responses_answers_take_ids_next_to_its_own(db: Database) -> None:
    # Random like the response's id, yet together in id order (and so on disk): the
    # appraisal's scans over a million responses read each response's answers at once.
    response_id = await start_response(db, "k")
    async with db.transaction() as uow:
        response = await uow.responses.get(response_id)
        assert response is not None
        for question in ("a", "b", "c"):
            await uow.responses.save_answer(response, AnswerRow(
                question_id=question, question_type="rating", indicator=None, skipped=False,
                value_number=4.0, value_text=None, value_choices=None))
        await uow.responses.drop_answers(response, {"b"})
        await uow.responses.save_answer(response, AnswerRow(
            question_id="d", question_type="rating", indicator=None, skipped=False,
            value_number=2.0, value_text=None, value_choices=None))
    async with db.reading() as uow:
        response = await uow.responses.get(response_id)
        assert response is not None
        ids = {a.question_id: a.id - response_id * ANSWER_SLOTS for a in response.answers}
    assert ids == {"a": 0, "c": 2, "d": 1}
