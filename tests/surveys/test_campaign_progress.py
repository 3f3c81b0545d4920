"""A campaign's page counts its responses in the database, and keeps a closed campaign's
figures (it takes no more answers) until the audit log moves; an open campaign's are read
afresh every time. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event

from storage.models import Response, ResponseStatus, Role
from storage.uow import Database
from surveys.appraisal.published_rows import PublishedRows
from surveys.campaigns.admin import close_campaign
from surveys.campaigns.dashboard import campaign_page
from surveys.campaigns.progress import KeptCampaigns
from surveys.people.caller import Caller
from surveys.people.roles import grant_role
from surveys.questionnaire.catalog import SurveyCatalog
from tests.conftest import now, seed_campaign

ADMIN = 7201


@contextmanager
def counting(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)


async def _answer(db: Database, code: str, n: int, first: int, at: datetime,
                  entry: str | None = None) -> None:
    async with db.transaction() as uow:
        campaign = await uow.campaigns.by_code(code)
        assert campaign is not None
        for i in range(first, first + n):
            uow.session.add(Response(
                campaign_id=campaign.id, survey_id=campaign.survey_id,
                respondent_key=f"{i:064d}", status=ResponseStatus.COMPLETED, language="en",
                started_at=at, completed_at=at, entry_point=entry))


async def test_a_closed_campaigns_figures_are_kept_until_the_audit_log_moves(
        db: Database) -> None:
    await seed_campaign(db)
    opened = now()
    await _answer(db, "willow", 3, 0, opened, "window2")
    await _answer(db, "willow", 2, 3, opened + timedelta(days=1))
    async with db.transaction() as uow:
        await grant_role(uow, telegram_user_id=ADMIN, role=Role.ADMIN, unit_code="T1",
                         name="Admin", actor="test")
        await close_campaign(uow, "willow", opened + timedelta(days=2), "test")
    kept = KeptCampaigns(PublishedRows(), SurveyCatalog())
    caller = Caller(telegram_user_id=ADMIN, now=opened + timedelta(days=3))

    async def page() -> tuple[int, int, dict[str | None, int], list[int]]:
        async with db.reading() as uow:
            with counting(db) as statements:
                shown = await campaign_page(uow, caller, "willow", kept=kept)
        report = shown.view.report
        return (len(statements), report.completed, report.entry_points,
                [b.count for b in shown.series])

    first, completed, entries, series = await page()
    assert completed == 5 and entries == {"window2": 3, None: 2} and series[-2:] == [2, 0]
    assert sum(series) == 5
    # An answer no closed campaign can take, written behind the page's back: not read again.
    await _answer(db, "willow", 1, 10, opened)
    again, completed, _, _ = await page()
    assert completed == 5 and again < first, "kept: not counted again"
    async with db.transaction() as uow:
        await uow.audit.record("test", "test.event", "campaign", "willow")
    _, completed, entries, _ = await page()
    assert completed == 6 and entries == {"window2": 3, None: 3}, "the log moved: counted"


async def test_an_open_campaigns_figures_are_read_every_time(db: Database) -> None:
    await seed_campaign(db)
    async with db.transaction() as uow:
        await grant_role(uow, telegram_user_id=ADMIN, role=Role.AUDITOR, unit_code=None,
                         name="Auditor", actor="test")
    kept = KeptCampaigns(PublishedRows(), SurveyCatalog())
    caller = Caller(telegram_user_id=ADMIN, now=now())
    completed = []
    for n in (2, 1):
        await _answer(db, "willow", n, len(completed) * 10, now())
        async with db.reading() as uow:
            shown = await campaign_page(uow, caller, "willow", kept=kept)
        completed.append(shown.view.report.completed)
        assert not shown.view.can_manage, "an auditor reads only"
    assert completed == [2, 3]
