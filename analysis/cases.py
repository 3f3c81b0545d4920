"""Cases in appraisal and in public: which of a period's cases count, and how.

A period's cases are those opened in it (their ``opened_on`` date). Of these:

- A case merged into another (MERGED) is that other case's, which counts once however many
  reports it gathered; a rejected case (an admin judged it no case) counts for nothing.
- A case is *settled* when it is closed, its deadline has passed by the time of reading, or
  its resident answered "not solved" (it was reopened). Settled cases are the ones counted;
  one still within its deadline counts as neither solved on time nor late.
- Solved on time (100, else 0): closed as solved (confirmed, partly, not confirmed or
  unconfirmable) with its resolution by the deadline, or resolved by the deadline and still
  waiting for the resident's answer once the deadline is over. A case the resident answered
  "not solved" to was not solved on time, whatever came after (a "resolved" the resident
  answers "No" counts as not resolved); one open or taken past its deadline neither.
- Confirmed by residents (only where the resident answered): "Yes" 100, "Partly" 50 (it counts
  as half), "No" (closed not solved) 0. No answer in time (not confirmed) and a resident who
  did not ask to be told (unconfirmable) count as neither.
- As one appraisal component, each settled case scores the mean of its marks (on time, and
  confirmed where answered), so n is the number of settled cases.

Case notes and relay messages never count: only the cases' own columns are read. Pure: the
caller reads the groups (:class:`~analysis.facts.CaseGroup`) from the database.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from analysis.facts import CaseGroup
from analysis.scoring import Observation

MERGED, CLOSED, RESOLVED = "merged", "closed", "resolved"
REJECTED, NOT_SOLVED = "rejected", "not_solved"
# The resident's last answer, as a mark out of 100.
ANSWER_MARKS: dict[str, float] = {"confirmed": 100.0, "partly": 50.0, NOT_SOLVED: 0.0}


def marks(group: CaseGroup) -> tuple[float | None, float | None]:
    """(solved on time, confirmed) for each case of ``group``, out of 100; None where the
    case counts as neither (see the module docstring)."""
    if group.status == MERGED or group.outcome == REJECTED:
        return None, None
    confirmed = ANSWER_MARKS.get(group.outcome or "") if group.status == CLOSED else None
    if group.reopened or group.outcome == NOT_SOLVED:
        return 0.0, confirmed
    if group.status == CLOSED or (group.status == RESOLVED and group.past_due):
        return (100.0 if group.resolved_on_time else 0.0), confirmed
    if group.past_due:
        return 0.0, None
    return None, None


def is_case(group: CaseGroup) -> bool:
    """Whether the group's cases are cases of the period at all (not merged, not rejected)."""
    return group.status != MERGED and group.outcome != REJECTED


@dataclass(frozen=True)
class CaseTally:
    """A subject's cases of one period: how many, how many solved on time, how residents
    answered, and the component's observation (each settled case's mean mark)."""

    raised: int = 0  # opened in the period, neither merged into another nor rejected
    cases: int = 0  # of those, settled: the ones counted
    on_time: int = 0
    confirmed: int = 0  # the resident answered "Yes"
    partly: int = 0
    not_solved: int = 0
    observation: Observation | None = None

    @property
    def answered(self) -> int:
        return self.confirmed + self.partly + self.not_solved

    @property
    def confirmed_value(self) -> float:
        """Confirmations, a "Partly" counting as half."""
        return self.confirmed + self.partly / 2

    @property
    def pending(self) -> int:
        """Cases still within their deadline: not counted yet."""
        return self.raised - self.cases

    def as_dict(self) -> dict[str, int | float]:
        """The figures kept with a result (and exported), without the observation."""
        return {"raised": self.raised, "cases": self.cases, "on_time": self.on_time,
                "answered": self.answered, "confirmed": self.confirmed, "partly": self.partly,
                "not_solved": self.not_solved, "confirmed_value": self.confirmed_value}


def tally(groups: Iterable[CaseGroup]) -> CaseTally:
    """Add up the cases of ``groups`` (one subject's)."""
    raised = cases = on_time = confirmed = partly = not_solved = 0
    scored: list[tuple[float, int]] = []
    for group in groups:
        if not is_case(group):
            continue
        raised += group.count
        timely, answer = marks(group)
        if timely is None:
            continue
        cases += group.count
        on_time += group.count if timely else 0
        if answer is not None:
            confirmed += group.count if group.outcome == "confirmed" else 0
            partly += group.count if group.outcome == "partly" else 0
            not_solved += group.count if answer == 0.0 else 0
        score = timely if answer is None else (timely + answer) / 2
        scored.append((score, group.count))
    observation = None
    if cases:
        # fsum: the same sums whatever order the database returned the groups in.
        observation = Observation(cases, math.fsum(s * n for s, n in scored),
                                  math.fsum(s * s * n for s, n in scored))
    return CaseTally(raised, cases, on_time, confirmed, partly, not_solved, observation)


def figures(found: CaseTally) -> str:
    """The tally in the explanation's words, e.g. "12 cases: 9 solved on time, 7 of 10
    confirmed (6 yes, 2 partly counting as half, 2 no)"."""
    if not found.cases:
        return (f"no case settled yet; {found.pending} still within the deadline"
                if found.pending else "no cases")
    text = (f"{found.cases} {'case' if found.cases == 1 else 'cases'}: {found.on_time} solved"
            " on time")
    if found.answered:
        text += (f", {found.confirmed_value:g} of {found.answered} confirmed by residents"
                 f" ({found.confirmed} yes, {found.partly} partly counting as half,"
                 f" {found.not_solved} no)")
    else:
        text += ", none answered by residents"
    if found.pending:
        text += (f"; {found.pending} more still within the deadline"
                 f" {'is' if found.pending == 1 else 'are'} not counted yet")
    return text
