"""The scheduler's sync against a real database: due steps run once, failures stay local,
only the leader acts, future steps sit in the job store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.scheduler import CampaignScheduler
from storage.models import CampaignStatus
from storage.uow import Database
from surveys.campaigns import operations
from surveys.campaigns.operations import Burden
from tests.conftest import SECRET, seed_campaign


class FakeJob:
    def __init__(self, when: datetime, name: str, job_kwargs: dict[str, Any]) -> None:
        self.when, self.name, self.removed = when, name, False
        self.job_kwargs = job_kwargs

    def schedule_removal(self) -> None:
        self.removed = True


class FakeJobQueue:
    """Records what the scheduler asks APScheduler for."""

    def __init__(self) -> None:
        self.once: list[FakeJob] = []

    def run_once(self, callback: Any, when: datetime, name: str,
                 job_kwargs: dict[str, Any] | None = None) -> FakeJob:
        job = FakeJob(when, name, job_kwargs or {})
        self.once.append(job)
        return job

    def run_repeating(self, *args: Any, **kwargs: Any) -> None:
        pass

    def get_jobs_by_name(self, name: str) -> list[FakeJob]:
        return []


def scheduler(db: Database, queue: FakeJobQueue) -> CampaignScheduler:
    return CampaignScheduler(db, queue, secret=SECRET, burden=Burden(),  # type: ignore[arg-type]
                             clock=lambda: datetime.now(UTC), on_queued=lambda: None)


async def test_sync_runs_due_steps_once_and_schedules_the_rest(db: Database) -> None:
    await seed_campaign(db, closes_in=timedelta(days=3))
    queue = FakeJobQueue()
    runner = scheduler(db, queue)
    assert await runner.sync() == 0, "a process that does not lead does nothing"
    runner.start(30)
    assert await runner.sync() == 1  # the invitation step
    assert await runner.sync() == 0
    assert [j.name for j in queue.once if not j.removed] == ["campaign:1:close"]
    # A wake-up the loop comes to late still runs rather than being skipped as missed.
    assert all(j.job_kwargs == {"misfire_grace_time": None} for j in queue.once)


async def test_a_failing_step_does_not_stop_the_other_campaigns(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_campaign(db, code="first")
    async with db.transaction() as uow:
        first = await uow.campaigns.by_code("first")
        assert first is not None
    real = operations.run_step

    async def flaky(uow: Any, campaign_id: int, job: str, *args: Any, **kwargs: Any) -> Any:
        if campaign_id == first.id:
            raise RuntimeError("a bug in one campaign's step")
        return await real(uow, campaign_id, job, *args, **kwargs)

    monkeypatch.setattr(operations, "run_step", flaky)
    from surveys.campaigns.admin import create_campaign
    from surveys.questionnaire.loader import load_template

    at = datetime.now(UTC)
    async with db.transaction() as uow:
        await create_campaign(uow, survey=load_template("resident_satisfaction"),
                              unit_code="V2", code="second", opens_at=at, closes_at=at +
                              timedelta(days=2), now=at, actor="test")
    runner = scheduler(db, FakeJobQueue())
    runner.start(30)
    assert await runner.sync() == 1
    async with db.reading() as uow:
        second = await uow.campaigns.by_code("second")
        assert second is not None and second.status == CampaignStatus.OPEN
        assert (await uow.runs.outcomes(second.id))["invite"] == {"queued": 0, "skipped": {}}
        assert (await uow.runs.outcomes(first.id))["invite"] == {
            "skipped": "failed; see the bot's log"}
