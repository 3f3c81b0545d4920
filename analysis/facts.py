"""The rows the database hands to the analysis, built by ``storage.appraisal``'s queries.

Plain tuples and dataclasses with no dependencies, so storage can build them without loading
the analysers (or numpy) and the analysis reads them without a copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple


class ResponseRow(NamedTuple):
    """One completed response, as much of it as the anomaly detectors need, aggregated in
    SQL (a named tuple: a run makes a million of them, and a tuple is made several times
    faster than a frozen dataclass)."""

    response_id: int
    campaign_id: int
    unit_id: int
    entry_point: str | None
    respondent_key: str
    # How long the person took (None when unknown), and when they finished: to the privacy
    # resolution only, so bursts are counted in windows of at least that width.
    duration_s: int | None
    completed_at: datetime
    answers: int
    # Of the rating questions answered: how many, and the lowest and highest value (all
    # that straight-lining needs, and what SQL aggregates cheaply).
    rating_count: int
    rating_min: float | None
    rating_max: float | None
    comment: str | None


@dataclass(frozen=True)
class Distribution:
    """How many valid answers had each value, for one unit (or cadre) and survey indicator."""

    owner_id: int  # unit id for residents' answers, person id for self-assessments
    indicator: str | None
    question_id: str
    question_type: str
    value: float
    count: int


@dataclass(frozen=True)
class CaseGroup:
    """Cases opened in a period that fare alike, counted in SQL: one unit, handler, category,
    status and outcome. ``past_due``: the deadline had passed when they were read;
    ``reopened``: the resident answered "not solved" at least once. Statuses and outcomes are
    their stored strings (``storage.models.CaseStatus`` / ``CaseOutcome``)."""

    unit_id: int
    handler_id: int | None
    category: str
    status: str
    outcome: str | None
    resolved_on_time: bool | None
    reopened: bool
    past_due: bool
    count: int
