"""Survey versions, campaigns, the scheduled steps that have run, and their entry points."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, union_all, update
from sqlalchemy.orm import joinedload
from sqlalchemy.sql import Select

from storage.db import Repository, insert_new
from storage.models import (
    LIVE_STATUSES,
    Campaign,
    CampaignRun,
    CampaignStatus,
    EntryPoint,
    SurveyVersion,
)
from storage.units import in_subtrees


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


@dataclass(frozen=True)
class Slice:
    """Campaigns of one status, newest opening first: ``limit`` of them after ``offset``."""

    status: CampaignStatus
    offset: int
    limit: int


class CampaignsRepository(Repository):
    async def by_code(self, code: str) -> Campaign | None:
        return await self.session.scalar(_with_unit().where(Campaign.code == code))

    async def get(self, campaign_id: int) -> Campaign | None:
        return await self.session.scalar(_with_unit().where(Campaign.id == campaign_id))

    def add(self, campaign: Campaign) -> None:
        self.session.add(campaign)

    async def all(self) -> Sequence[Campaign]:
        return (await self.session.scalars(_with_unit().order_by(Campaign.id))).all()

    async def count_by_status(self, roots: Collection[int] | None) -> dict[CampaignStatus, int]:
        """How many campaigns of each status the units of ``roots`` and those below them have
        (None: every unit), counted in the database."""
        query = select(Campaign.status, func.count()).group_by(Campaign.status)
        if roots is not None:
            query = query.where(in_subtrees(Campaign.unit_id, roots))
        return {status: int(n) for status, n in await self.session.execute(query)}

    async def slices(self, roots: Collection[int] | None,
                     slices: Sequence[Slice]) -> list[Campaign]:
        """The campaigns of each slice (of the units of ``roots`` and those below them; None:
        every unit), with their units, in the slices' order: one statement whose parts each
        read an index (status, opening time) in order and stop at the slice's end."""
        if not slices:
            return []
        scope = in_subtrees(Campaign.unit_id, roots) if roots is not None else None
        parts = []
        for part in slices:
            query = (select(Campaign.id).where(Campaign.status == part.status)
                     .order_by(Campaign.opens_at.desc(), Campaign.code)
                     .offset(part.offset).limit(part.limit))
            if scope is not None:
                query = query.where(scope)
            # A subquery each: SQLite allows no LIMIT on the parts of a UNION themselves.
            parts.append(select(query.subquery().c.id))
        ids = parts[0] if len(parts) == 1 else union_all(*parts)
        found = (await self.session.scalars(_with_unit().where(Campaign.id.in_(ids)))).all()
        rank = {part.status: i for i, part in enumerate(slices)}
        return sorted(found, key=lambda c: (rank[c.status], -c.opens_at.timestamp(), c.code))

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
