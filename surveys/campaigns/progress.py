"""A campaign's progress as its page shows it: responses started and completed, completed
ones over time and per entry point, and the invitations' and reminders' deliveries.

Counted in the database, two grouped statements over indexes (never a response read into
Python). A closed campaign takes no more answers and sends no more messages, so what was
counted stays true: :class:`KeptCampaigns` keeps it for every reader, until the audit log
moves (the one change a closed campaign's responses can still see, a cadre's own answers
withheld by an appraisal run, is audited in the run's transaction).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from storage.models import Campaign, CampaignStatus, EntryPoint, ResponseStatus
from surveys.appraisal.published_rows import PublishedRows
from surveys.kept import UntilAudit
from surveys.questionnaire.catalog import SurveyCatalog

if TYPE_CHECKING:
    from storage.uow import UnitOfWork


@dataclass(frozen=True)
class Progress:
    started: int
    completed: int
    # Completed responses per coarse completion time (one per privacy interval at most).
    completed_at: tuple[tuple[datetime, int], ...] = ()
    # Completed responses per entry point (None: the main link).
    entry_points: dict[str | None, int] = field(default_factory=dict)
    # "invitations"/"reminders" → message status → count.
    deliveries: dict[str, dict[str, int]] = field(default_factory=dict)


async def read_progress(uow: UnitOfWork, campaign_id: int) -> Progress:
    """Everything a campaign's page shows of its progress: the responses counted by status,
    completion time and entry point in one statement, the messages by kind and status in
    another."""
    started = completed = 0
    over_time: dict[datetime, int] = {}
    entries: dict[str | None, int] = {}
    for row in await uow.responses.tally(campaign_id):
        started += row.count
        if row.status != ResponseStatus.COMPLETED:
            continue
        completed += row.count
        entries[row.entry_point] = entries.get(row.entry_point, 0) + row.count
        if row.completed_at is not None:
            over_time[row.completed_at] = over_time.get(row.completed_at, 0) + row.count
    deliveries: dict[str, dict[str, int]] = {}
    for (kind, status), n in (await uow.outbox.progress(campaign_id)).items():
        group = deliveries.setdefault("invitations" if kind == "invite" else "reminders", {})
        group[status.value] = group.get(status.value, 0) + n
    return Progress(started, completed, tuple(sorted(over_time.items())), entries, deliveries)


async def read_counts(uow: UnitOfWork, campaign_ids: Iterable[int]) -> dict[int, Progress]:
    """The responses started and completed of each campaign (no more), one grouped statement
    for all of them."""
    counts = await uow.responses.counts(campaign_ids)
    found = {}
    for campaign_id, by_status in counts.items():
        completed = by_status.get(ResponseStatus.COMPLETED, 0)
        found[campaign_id] = Progress(completed + by_status.get(ResponseStatus.IN_PROGRESS, 0),
                                      completed)
    return found


class KeptCampaigns:
    """What the campaign pages keep between requests while the audit log stands still
    (:mod:`surveys.kept`): campaigns by code with their entry points, pages of the list, and
    closed campaigns' progress (an open campaign's responses are always counted afresh);
    with the unit tree (``published``) and the survey versions (``catalog``) kept elsewhere."""

    def __init__(self, published: PublishedRows, catalog: SurveyCatalog, keep: int = 512,
                 keep_counts: int = 50_000) -> None:
        self.published = published
        self.catalog = catalog
        self.by_code: UntilAudit[str, tuple[Campaign | None, tuple[EntryPoint, ...]]] = (
            UntilAudit(keep))
        self.pages: UntilAudit[Hashable, tuple[dict[CampaignStatus, int], list[Campaign]]] = (
            UntilAudit(keep))
        self._progress: UntilAudit[int, Progress] = UntilAudit(keep)
        self._counts: UntilAudit[int, Progress] = UntilAudit(keep_counts if keep else 0)

    @classmethod
    def nothing(cls) -> KeptCampaigns:
        """Keeping nothing: everything is read afresh (for callers that keep nothing)."""
        return cls(PublishedRows(keep=0), SurveyCatalog(), keep=0)

    async def progress(self, uow: UnitOfWork, campaign: Campaign, mark: str | None
                       ) -> Progress:
        if campaign.status != CampaignStatus.CLOSED:
            return await read_progress(uow, campaign.id)
        return await self._progress.get(campaign.id, mark,
                                        lambda: read_progress(uow, campaign.id))

    async def counts(self, uow: UnitOfWork, campaigns: Sequence[Campaign],
                     mark: str | None) -> dict[int, Progress]:
        """The responses started and completed of each of ``campaigns``: a closed one's as
        kept, the others' (and those not kept) counted in one grouped statement."""
        found: dict[int, Progress] = {}
        for campaign in campaigns:
            if campaign.status == CampaignStatus.CLOSED:
                kept = self._counts.peek(campaign.id, mark)
                if kept is not None:
                    found[campaign.id] = kept
        missing = [c for c in campaigns if c.id not in found]
        if missing:
            counted = await read_counts(uow, (c.id for c in missing))
            found.update(counted)
            for campaign in missing:
                if campaign.status == CampaignStatus.CLOSED:
                    self._counts.put(campaign.id, mark, counted[campaign.id])
        return found
