""""You said, we did": what residents raised in some units over a period, and what was done.

Per period (cases opened in it): how many cases, by category, how many were solved on time,
how many residents confirmed it, and a few short public summaries of what was done, written
by the handler when resolving (``Case.summary``). The resident's own words appear next to a
summary only when they agreed to be quoted (``Case.quotable``). The figures are counted as
the appraisal counts them (:mod:`analysis.cases`): merged reports once, rejected ones not,
a case still within its deadline not yet.

Small cells (``privacy.min_cell_size``, 5 by default), so nobody can be picked out:

- By category only when the units had at least that many cases; a category with fewer is
  not named but merged into "other" (which is also where cases no topic fits go). The count
  of "other" is the total minus the named ones, so it tells nothing the total does not.
- How many residents confirmed only when at least that many answered; fewer are "too few to
  show". (On time is the handler's work, not an answer, and is always shown.)
- A summary is the handler's text, written for the public; it is shown only for a case
  closed as solved (never one its resident said was not solved).

:class:`YouSaidWeDid` is a plain dataclass: ``/results`` shows it, and a public page can.
Pure use case: no Telegram.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from analysis.cases import is_case, tally
from analysis.facts import CaseGroup
from analysis.packing import clip
from storage.models import Case, Unit
from surveys.appraisal.periods import Period
from surveys.cases.rules import OTHER
from surveys.people.names import Names

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

# Summaries shown by default, and how much of each text: short, as a notice board's lines.
SUMMARIES = 5
SUMMARY_LENGTH = 300
QUOTE_LENGTH = 200


@dataclass(frozen=True)
class CategoryCount:
    category: str  # a theme topic, or "other" (no topic fits, or too few to name)
    count: int


@dataclass(frozen=True)
class PublicSummary:
    """One case's "you said, we did"."""

    number: str
    unit_code: str
    unit: Names
    category: str
    said: str | None  # the resident's own words, only when they agreed to be quoted
    did: str  # the handler's public summary
    outcome: str  # confirmed, partly, not_confirmed (no answer) or unconfirmable
    on_time: bool
    reports: int  # residents who reported it (merged reports included)


@dataclass(frozen=True)
class YouSaidWeDid:
    period: str
    raised: int  # cases opened in the period (merged reports once, rejected ones not)
    cases: int  # of those, closed or past their deadline: the ones counted
    on_time: int  # of the counted, solved by the deadline
    pending: int  # still within their deadline
    answered: int | None  # residents who said whether it was solved; None: too few to show
    confirmed: float | None  # of those, "yes" (a "partly" counts as half); None as above
    categories: tuple[CategoryCount, ...]  # () when too few cases to break down
    summaries: tuple[PublicSummary, ...]
    min_cell: int

    @property
    def on_time_share(self) -> float | None:
        return self.on_time / self.cases if self.cases else None

    @property
    def confirmed_share(self) -> float | None:
        if self.answered is None or self.confirmed is None or not self.answered:
            return None
        return self.confirmed / self.answered


def public_categories(counts: Mapping[str, int], min_cell: int) -> tuple[CategoryCount, ...]:
    """Categories by count (most first) with at least ``min_cell`` cases each; the rest, and
    "other", as "other" (last). Nothing when the total is under ``min_cell``."""
    total = sum(counts.values())
    if total < min_cell:
        return ()
    named = sorted(((category, n) for category, n in counts.items()
                    if category != OTHER and n >= min_cell), key=lambda cn: (-cn[1], cn[0]))
    rest = total - sum(n for _, n in named)
    return (*(CategoryCount(c, n) for c, n in named),
            *((CategoryCount(OTHER, rest),) if rest else ()))


def _clip(text: str, size: int) -> str:
    text = " ".join(text.split())
    return clip(text, size)


def _summary(case: Case, unit: Unit | None) -> PublicSummary:
    return PublicSummary(
        number=case.number, unit_code=unit.code if unit else "?",
        unit=Names.of(unit) if unit else Names("?"), category=case.category,
        said=_clip(case.text, QUOTE_LENGTH) if case.quotable and case.text.strip() else None,
        did=_clip(case.summary or "", SUMMARY_LENGTH), outcome=str(case.outcome),
        on_time=bool(case.resolved_on_time) and not case.reopened, reports=case.reports)


def summarize(period: str, groups: Iterable[CaseGroup], summaries: Sequence[PublicSummary],
              min_cell: int) -> YouSaidWeDid:
    """The figures of ``groups`` (the units' cases of the period) with the small cells
    hidden, and the summaries as given."""
    found = list(groups)
    counted = tally(found)
    by_category: Counter[str] = Counter()
    for group in found:
        if is_case(group):
            by_category[group.category] += group.count
    shown = counted.answered >= min_cell
    return YouSaidWeDid(
        period=period, raised=counted.raised, cases=counted.cases, on_time=counted.on_time,
        pending=counted.pending,
        answered=counted.answered if shown else None,
        confirmed=counted.confirmed_value if shown else None,
        categories=public_categories(by_category, min_cell), summaries=tuple(summaries),
        min_cell=min_cell)


async def you_said_we_did(uow: UnitOfWork, unit_ids: Collection[int], period: Period, *,
                          min_cell: int, limit: int = SUMMARIES,
                          now: datetime | None = None) -> YouSaidWeDid:
    """"You said, we did" for the cases opened in ``period`` in the units ``unit_ids`` (the
    caller decides: one unit, or a unit and those below it), as they stand ``now``."""
    first, end = period.start.date(), period.end.date()
    # Not the reports still held: a count that moved when one came in would time it.
    groups = await uow.cases.period_groups(first, end, now or uow.clock(), unit_ids,
                                           shown_only=True)
    cases = await uow.cases.public_summaries(first, end, unit_ids, limit)
    units = {unit_id: await uow.session.get(Unit, unit_id)
             for unit_id in {case.unit_id for case in cases}}
    return summarize(period.label, groups,
                     [_summary(case, units.get(case.unit_id)) for case in cases], min_cell)
