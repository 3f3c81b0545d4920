"""Survey versions, campaigns, the scheduled steps that have run, and their entry points."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.sql import Select

from storage.db import Repository, insert_new
from storage.models import (
    LIVE_STATUSES,
    Campaign,
    CampaignRun,
    EntryPoint,
    Response,
    ResponseStatus,
    SurveyVersion,
)


class SurveysRepository(Repository):
    async def get(self, survey_id: int) -> SurveyVersion | None:
        return await self.session.get(SurveyVersion, survey_id)

    async def store(self, slug: str, checksum: str, definition: dict[str, Any]) -> SurveyVersion:
        """Return the stored version with this content, or store it as the next version."""
        existing = await self.session.scalar(
            select(SurveyVersion).where(
                SurveyVersion.slug == slug, SurveyVersion.checksum == checksum
            )
        )
        if existing is not None:
            return existing
        latest = await self.session.scalar(
            select(func.max(SurveyVersion.version)).where(SurveyVersion.slug == slug)
        )
        version = SurveyVersion(
            slug=slug, checksum=checksum, definition=definition, version=(latest or 0) + 1
        )
        self.session.add(version)
        await self.session.flush()
        return version


def _with_unit() -> Select[Campaign]:
    # Every campaign is read with its unit: replies and schedules name it.
    return select(Campaign).options(joinedload(Campaign.unit))


class CampaignsRepository(Repository):
    async def by_code(self, code: str) -> Campaign | None:
        return await self.session.scalar(_with_unit().where(Campaign.code == code))

    async def get(self, campaign_id: int) -> Campaign | None:
        return await self.session.scalar(_with_unit().where(Campaign.id == campaign_id))

    def add(self, campaign: Campaign) -> None:
        self.session.add(campaign)

    async def all(self) -> Sequence[Campaign]:
        return (await self.session.scalars(_with_unit().order_by(Campaign.id))).all()

    async def live(self) -> Sequence[Campaign]:
        """Campaigns the scheduler still has work for: scheduled or open."""
        return (await self.session.scalars(
            _with_unit().where(Campaign.status.in_(LIVE_STATUSES)).order_by(Campaign.id)
        )).all()

    async def lock(self, campaign_id: int) -> Campaign | None:
        """The campaign, locked against concurrent changes until the transaction ends."""
        return await self.session.scalar(
            _with_unit()
            .where(Campaign.id == campaign_id)
            .with_for_update(of=Campaign)
            .execution_options(populate_existing=True)
        )


class RunsRepository(Repository):
    """Which scheduled steps of a campaign have run."""

    async def done(self, campaign_ids: Iterable[int]) -> dict[int, set[str]]:
        ids = list(campaign_ids)
        done: dict[int, set[str]] = {i: set() for i in ids}
        if ids:
            rows = await self.session.execute(
                select(CampaignRun.campaign_id, CampaignRun.job)
                .where(CampaignRun.campaign_id.in_(ids))
            )
            for campaign_id, job in rows:
                done[campaign_id].add(job)
        return done

    async def claim(self, campaign_id: int, job: str, at: datetime) -> bool:
        """Record that the step runs now; False if it already ran (or is running elsewhere)."""
        return await insert_new(
            self.session, CampaignRun, {"campaign_id": campaign_id, "job": job, "ran_at": at},
            ["campaign_id", "job"],
        )

    async def set_outcome(self, campaign_id: int, job: str, outcome: dict[str, Any]) -> None:
        await self.session.execute(
            update(CampaignRun)
            .where(CampaignRun.campaign_id == campaign_id, CampaignRun.job == job)
            .values(outcome=outcome)
        )

    async def outcomes(self, campaign_id: int) -> dict[str, dict[str, Any] | None]:
        rows = await self.session.execute(
            select(CampaignRun.job, CampaignRun.outcome)
            .where(CampaignRun.campaign_id == campaign_id)
            .order_by(CampaignRun.ran_at)
        )
        return {job: outcome for job, outcome in rows}


class EntryPointsRepository(Repository):
    async def of(self, campaign_id: int) -> Sequence[EntryPoint]:
        return (await self.session.scalars(
            select(EntryPoint).where(EntryPoint.campaign_id == campaign_id)
            .order_by(EntryPoint.name)
        )).all()

    async def exists(self, campaign_id: int, name: str) -> bool:
        return await self.session.scalar(
            select(func.count()).select_from(EntryPoint)
            .where(EntryPoint.campaign_id == campaign_id, EntryPoint.name == name)
        ) == 1

    async def add(self, campaign_id: int, name: str, label: str | None) -> bool:
        return await insert_new(self.session, EntryPoint,
                                 {"campaign_id": campaign_id, "name": name, "label": label},
                                 ["campaign_id", "name"])

    async def response_counts(self, campaign_id: int) -> dict[str | None, int]:
        rows = await self.session.execute(
            select(Response.entry_point, func.count())
            .where(Response.campaign_id == campaign_id,
                   Response.status == ResponseStatus.COMPLETED)
            .group_by(Response.entry_point)
        )
        return {entry: int(n) for entry, n in rows}
