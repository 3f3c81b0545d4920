"""When each step of a campaign runs, and what to do about steps missed during downtime.

Pure: the scheduler in ``bot/`` turns these into APScheduler jobs and runs them through
:mod:`surveys.campaigns.operations`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.models import LIVE_STATUSES, Campaign, CampaignStatus

OPEN, INVITE, RECUR, CLOSE = "open", "invite", "recur", "close"
REMIND_PREFIX = "remind:"
# Steps due at the same moment run in this order (a reminder at the closing time would be
# pointless, so closing comes last).
_ORDER = {OPEN: 0, INVITE: 1, RECUR: 2, CLOSE: 9}


def remind_job(seconds_before_close: int) -> str:
    return f"{REMIND_PREFIX}{seconds_before_close}"


def is_reminder(job: str) -> bool:
    return job.startswith(REMIND_PREFIX)


@dataclass(frozen=True, order=True)
class Job:
    at: datetime
    rank: int
    campaign_id: int
    name: str

    @property
    def key(self) -> str:
        """A name unique across campaigns, for the job store."""
        return f"campaign:{self.campaign_id}:{self.name}"


def _job(campaign: Campaign, name: str, at: datetime) -> Job:
    rank = _ORDER.get(name, 5)
    return Job(at=at, rank=rank, campaign_id=campaign.id, name=name)


def campaign_jobs(campaign: Campaign) -> list[Job]:
    """Every scheduled step of a campaign, run or not, in the order they happen."""
    if campaign.status not in LIVE_STATUSES:
        return []
    jobs = [_job(campaign, INVITE, campaign.opens_at)]
    if campaign.status == CampaignStatus.SCHEDULED:
        jobs.append(_job(campaign, OPEN, campaign.opens_at))
    if campaign.recurrence:
        jobs.append(_job(campaign, RECUR, campaign.opens_at))
    if campaign.closes_at is not None:
        for seconds in campaign.reminders:
            jobs.append(_job(campaign, remind_job(seconds),
                             campaign.closes_at - timedelta(seconds=seconds)))
        jobs.append(_job(campaign, CLOSE, campaign.closes_at))
    return sorted(jobs)


@dataclass(frozen=True)
class Plan:
    """What to do with a campaign's steps now."""

    run_now: list[Job]
    # Missed steps that no longer make sense (a reminder superseded by a later one, or
    # anything but closing once the closing time has passed), with the reason.
    skip: list[tuple[Job, str]]
    later: list[Job]


def plan(jobs: Iterable[Job], done: set[str], now: datetime) -> Plan:
    """Split a campaign's steps that have not run into due, obsolete and future ones.

    After downtime each missed step runs once, except that a campaign whose closing time has
    passed is only closed (inviting people to a closed poll would waste their time), and of
    several missed reminders only the latest is sent.
    """
    pending = sorted(j for j in jobs if j.name not in done)
    due = [j for j in pending if j.at <= now]
    later = [j for j in pending if j.at > now]
    skip: list[tuple[Job, str]] = []
    if any(j.name == CLOSE for j in due):
        keep = [j for j in due if j.name in (CLOSE, OPEN, RECUR)]
        skip = [(j, "the campaign had closed before this could run") for j in due
                if j not in keep]
        return Plan(run_now=keep, skip=skip, later=later)
    reminders = [j for j in due if is_reminder(j.name)]
    if any(j.name == INVITE for j in due):
        # The invitation goes out now; a reminder right behind it would be a second prompt.
        skip = [(j, "missed; the invitation goes out now instead") for j in reminders]
        return Plan(run_now=[j for j in due if not is_reminder(j.name)], skip=skip,
                    later=later)
    for old in reminders[:-1]:
        skip.append((old, "missed; a later reminder replaces it"))
    run_now = [j for j in due if not is_reminder(j.name) or j is (reminders[-1])]
    return Plan(run_now=run_now, skip=skip, later=later)


def month_bounds(at: datetime) -> tuple[datetime, datetime]:
    """The calendar month (in ``at``'s zone, UTC here) that the burden budget counts."""
    start = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(
        month=start.month + 1
    )
    return start, end
