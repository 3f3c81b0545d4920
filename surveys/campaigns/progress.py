"""A campaign's progress as its page shows it: responses started and completed, completed
ones over time and per entry point, and the invitations' and reminders' deliveries.

Counted in the database, two grouped statements over indexes (never a response read into
Python). A closed campaign takes no more answers and sends no more messages, so what was
counted stays true: :class:`KeptProgress` keeps it for every reader, until the audit log
moves (the one change a closed campaign's responses can still see, a cadre's own answers
withheld by an appraisal run, is audited in the run's transaction).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from storage.models import Campaign, CampaignStatus, ResponseStatus

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


class KeptProgress:
    """Closed campaigns' progress, the newest ``keep`` read, each under the audit log's
    newest event when it was read (another mark: read again)."""

    def __init__(self, keep: int = 512) -> None:
        self.keep = keep
        self._kept: OrderedDict[int, tuple[str | None, Progress]] = OrderedDict()

    async def of(self, uow: UnitOfWork, campaign: Campaign, mark: str | None) -> Progress:
        if campaign.status != CampaignStatus.CLOSED or not self.keep:
            return await read_progress(uow, campaign.id)
        found = self._kept.get(campaign.id)
        if found is not None and found[0] == mark:
            self._kept.move_to_end(campaign.id)
            return found[1]
        progress = await read_progress(uow, campaign.id)
        self._kept[campaign.id] = (mark, progress)
        self._kept.move_to_end(campaign.id)
        while len(self._kept) > self.keep:
            self._kept.popitem(last=False)
        return progress
