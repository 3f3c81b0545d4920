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
