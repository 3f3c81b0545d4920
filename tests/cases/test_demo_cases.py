"""`make run`'s demo cases (bot/demo.py) on a real database: every state of the loop is
there to try, once, and last quarter's closed ones reach the published appraisal and
"You said, we did"."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.app import cases_of
from bot.demo import DEMO_CASES, seed_demo, seed_demo_appraisal, seed_demo_cases
from bot.settings import Settings
from storage.models import Case, CaseMessage, CaseOutcome, CaseSeal, CaseStatus
from storage.uow import Database
from surveys.appraisal.periods import parse_period
from surveys.appraisal.run import AppraisalOptions
from surveys.cases import timeline
from surveys.cases.summary import you_said_we_did
from tests.conftest import SECRET


@pytest.mark.parametrize(("now", "mid_quarter"), [
    (datetime(2026, 11, 25, 12, tzinfo=UTC), True),  # a Wednesday
    (datetime(2026, 11, 28, 20, tzinfo=UTC), True),  # a Saturday evening
    # The first hour of a quarter: this quarter's cases were raised in the last one.
    (datetime(2026, 10, 1, 1, tzinfo=UTC), False),
])
async def test_the_demo_seeds_every_kind_of_case_once(db: Database, now: datetime,
                                                      mid_quarter: bool) -> None:
    db.clock = lambda: now
    settings = Settings()
    rules = cases_of(settings)
    await seed_demo(db, now)
    assert await seed_demo_cases(db, now, rules) == len(DEMO_CASES)
    assert await seed_demo_cases(db, now, rules) == 0, "a restart adds nothing"
    period = await seed_demo_appraisal(db, now, AppraisalOptions(settings.appraisal_config(),
                                                                  SECRET))
    async with db.reading() as uow:
        cases = list((await uow.session.scalars(select(Case))).all())
        entries = list((await uow.session.scalars(select(CaseMessage))).all())
        seals = list((await uow.session.scalars(select(CaseSeal))).all())
        willow = await uow.units.by_code("RIVER-N-WILLOW")
        assert willow is not None
        said = await you_said_we_did(uow, [willow.id], parse_period(period), min_cell=5,
                                     now=now)
        [run] = await uow.appraisal.runs(period)
        results = {r.detail["name"]: r.detail for r in await uow.appraisal.results(run.id)}

    statuses = Counter(c.status for c in cases)
    outcomes = Counter(c.outcome for c in cases)
    assert statuses[CaseStatus.OPEN] == 3 and statuses[CaseStatus.TAKEN] == 1
    assert statuses[CaseStatus.RESOLVED] == 1 and statuses[CaseStatus.MERGED] == 1
    for outcome in (CaseOutcome.CONFIRMED, CaseOutcome.PARTLY, CaseOutcome.NOT_CONFIRMED,
                    CaseOutcome.NOT_SOLVED, CaseOutcome.UNCONFIRMABLE, CaseOutcome.REJECTED):
        assert outcomes[outcome] >= 1, outcome
    active = [c for c in cases if c.status in (CaseStatus.OPEN, CaseStatus.TAKEN)]
    overdue = [c for c in active if c.due_at < now]
    due_soon = [c for c in active if now < c.due_at <= now + rules.remind_before * 3]
    assert len(overdue) == 2 and len(due_soon) >= 1
    [taken] = [c for c in cases if c.status == CaseStatus.TAKEN]
    relay = sorted((e for e in entries if e.case_id == taken.id and e.kind == timeline.MESSAGE),
                   key=lambda e: e.at)
    assert [e.author for e in relay] == ["handler", "resident"]
    assert taken.handler_id is not None and taken.due_at > now
    merged = next(c for c in cases if c.status == CaseStatus.MERGED)
    primary = next(c for c in cases if c.id == merged.merged_into_id)
    assert primary.reports == 2
    assert all(c.resolution for c in cases if c.outcome not in (None, CaseOutcome.REJECTED))
    assert all(e.delivered for e in entries), "history: nobody is sent anything at start"
    assert seals == [], "no resident is behind a demo case"

    # Last quarter's closed cases are in the published appraisal and in "You said, we did".
    assert said.cases == results["Willow Village"]["cases"]["cases"]
    assert said.summaries[0].outcome == "confirmed"
    if not mid_quarter:
        assert said.cases == 10 and said.pending == 2, "+1 overdue, 2 within the deadline"
        return
    assert said.cases == 9
    assert results["Wang Fang"]["cases"]["cases"] >= 5
    assert said.raised == 9 and said.answered == 6 and said.confirmed == 4.5
    assert [(c.category, c.count) for c in said.categories] == [("roads", 5), ("other", 4)]
    assert len(said.summaries) == 5
