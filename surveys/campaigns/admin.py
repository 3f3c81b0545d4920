"""Campaigns as the CLI, the demo data and the admin chat make them: create, report, close.

The admin chat adds who may do this where (:mod:`surveys.campaigns.commands`,
:mod:`surveys.campaigns.dialogue`); units and roles are :mod:`surveys.people`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from analysis.statistics import margin_of_error
from storage.ids import INTEGER_MAX
from storage.models import Campaign, CampaignStatus
from surveys.campaigns import operations
from surveys.campaigns.progress import Progress, read_counts, read_progress
from surveys.campaigns.rules import (
    AUDIENCES,
    CampaignRuleError,
    Recurrence,
    Window,
    check_code,
    check_plan,
    check_timezone,
    initial_status,
)
from surveys.questionnaire.loader import survey_checksum
from surveys.questionnaire.schema import Survey

if TYPE_CHECKING:
    from storage.uow import UnitOfWork


async def create_campaign(
    uow: UnitOfWork,
    *,
    survey: Survey,
    unit_code: str,
    code: str,
    opens_at: datetime,
    closes_at: datetime | None,
    now: datetime,
    actor: str,
    audience: str | None = None,
    timezone: str = "UTC",
    reminders: Sequence[timedelta] = (),
    recurrence: Recurrence | None = None,
    target: int | None = None,
) -> Campaign:
    """Store the survey version and create a campaign that is open from ``opens_at``.

    ``audience`` defaults to the survey's own. ``reminders`` are durations before closing.

    Raises:
        CampaignRuleError: unknown unit, taken or malformed code, times in the wrong order,
            reminders outside the window, an audience the survey is not written for, an
            unknown time zone or a target outside 1 to 2**31 - 1 (the column).
    """
    check_code(code)
    check_timezone(timezone)
    if closes_at is not None and closes_at <= now:
        raise CampaignRuleError(f"the closing time {closes_at:%Y-%m-%d %H:%M} UTC is in the past")
    window = Window(opens_at, closes_at)
    window.check()
    check_plan(window, list(reminders))
    audience = audience or survey.audience
    if audience not in AUDIENCES:
        raise CampaignRuleError(f"audience must be one of {', '.join(AUDIENCES)}")
    if audience != survey.audience:
        raise CampaignRuleError(
            f"the survey {survey.id!r} is written for {survey.audience}, not {audience}"
        )
    if target is not None and not 1 <= target <= INTEGER_MAX:
        raise CampaignRuleError("the target number of responses must be at least 1 and at "
                                f"most {INTEGER_MAX}")
    unit = await uow.units.by_code(unit_code)
    if unit is None:
        raise CampaignRuleError(f"unknown unit {unit_code!r}; import it with `units import`")
    if await uow.campaigns.by_code(code) is not None:
        raise CampaignRuleError(f"campaign code {code!r} is already taken")
    definition = survey.model_dump(mode="json", by_alias=True, exclude_none=True)
    version = await uow.surveys.store(survey.id, survey_checksum(survey), definition)
    status = initial_status(opens_at, now)
    campaign = Campaign(
        code=code, survey=version, unit=unit, status=status, opens_at=opens_at,
        closes_at=closes_at, audience=audience, timezone=timezone,
        reminders=[int(r.total_seconds()) for r in reminders],
        recurrence=str(recurrence) if recurrence else None, target_responses=target,
    )
    uow.campaigns.add(campaign)
    await uow.session.flush()
    await uow.audit.record(
        actor, "campaign.create", "campaign", code,
        after={
            "code": code, "survey": survey.id, "survey_version": version.version,
            "unit": unit_code, "status": status.value, "opens_at": opens_at.isoformat(),
            "closes_at": closes_at.isoformat() if closes_at else None,
            "audience": audience, "timezone": timezone, "reminders": campaign.reminders,
            "recurrence": campaign.recurrence, "target": target,
        },
    )
    return campaign


@dataclass(frozen=True)
class CampaignReport:
    """What an admin sees of a campaign: progress and how much the result can be trusted."""

    campaign: Campaign
    started: int
    completed: int
    margin_of_error: float | None  # at 95%, worst case p = 0.5, corrected for the population
    time_left: timedelta | None
    # Invitations and reminders: "invitations"/"reminders" → status → count.
    deliveries: dict[str, dict[str, int]] = field(default_factory=dict)
    entry_points: dict[str | None, int] = field(default_factory=dict)
    # Completed responses per coarse completion time (one campaign's report only).
    completed_at: tuple[tuple[datetime, int], ...] = ()

    def delivery_line(self, group: str) -> str | None:
        """E.g. "120 sent, 30 queued, 2 unreachable" for "invitations"."""
        counts = self.deliveries.get(group)
        if not counts:
            return None
        order = (("sent", "sent"), ("pending", "queued"), ("sending", "sending"),
                 ("failed", "failed"), ("skipped", "dropped"))
        return ", ".join(f"{counts[key]} {word}" for key, word in order if counts.get(key))

    @property
    def completion_rate(self) -> float | None:
        return self.completed / self.started if self.started else None


def campaign_report(campaign: Campaign, now: datetime, progress: Progress) -> CampaignReport:
    """The report of a campaign whose responses (and, for one campaign's report, messages)
    were counted as ``progress``."""
    left = None
    if campaign.status != CampaignStatus.CLOSED and campaign.closes_at is not None:
        left = max(campaign.closes_at - now, timedelta(0))
    return CampaignReport(
        campaign=campaign, started=progress.started, completed=progress.completed,
        margin_of_error=margin_of_error(progress.completed, population=campaign.unit.population),
        time_left=left, deliveries=progress.deliveries, entry_points=progress.entry_points,
        completed_at=progress.completed_at)


async def campaign_reports(
    uow: UnitOfWork, now: datetime, code: str | None = None
) -> list[CampaignReport]:
    """Reports for one campaign (by code, with its messages, entry points and completions
    over time) or for all of them.

    Raises:
        CampaignRuleError: an unknown code.
    """
    if code is None:
        campaigns = await uow.campaigns.all()
        counts = await read_counts(uow, (c.id for c in campaigns))
        return [campaign_report(c, now, counts[c.id]) for c in campaigns]
    one = await uow.campaigns.by_code(code)
    if one is None:
        raise CampaignRuleError(f"unknown campaign {code!r}")
    return [campaign_report(one, now, await read_progress(uow, one.id))]


async def close_campaign(uow: UnitOfWork, code: str, now: datetime, actor: str) -> Campaign:
    """Close a campaign now: it stops taking answers; what was answered is kept.

    Raises:
        CampaignRuleError: unknown, or already closed.
    """
    found = await uow.campaigns.by_code(code)
    if found is None:
        raise CampaignRuleError(f"unknown campaign {code!r}")
    campaign = await uow.campaigns.lock(found.id)
    assert campaign is not None
    if campaign.status == CampaignStatus.CLOSED:
        raise CampaignRuleError(f"campaign {code!r} is already closed")
    await operations.close(uow, campaign, now, actor)
    return campaign
