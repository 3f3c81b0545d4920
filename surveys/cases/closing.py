"""How a case ends, whoever ends it: staff (a rejection, a resolution nobody asked to hear
of), the resident's answer (yes, partly, a second no) or supervision (no answer in time).

Seals and closing (the rule the relay follows): a case is closed only through :func:`close`,
which records the closing entry first. If the case (or a case merged into it) then has no
undelivered TO_RESIDENT entry, its seal and the merged cases' seals are dropped at once;
otherwise they stay, and the relay drops the seals of a CLOSED case, and of the MERGED cases
pointing to it, once it has marked the last of their TO_RESIDENT entries delivered
(:func:`surveys.cases.supervision.release_seals`). So a rejection's reason, or a resolution
a merged report's resident has not had yet, still reaches them, and a closed case names
nobody soon after.

Every resident who reported the problem learns what became of it, and gets the staff's
questions about it: entries of the kinds in :data:`FOR_EVERY_REPORTER` reach the residents of
the cases merged into the case too, each through their own seal (:func:`reporters`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from storage.models import Case, CaseMessage, CaseOutcome, CaseStatus
from surveys.cases import timeline
from surveys.cases.rules import may_move

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

# What became of the problem, and staff's questions about it: told to the residents of every
# report merged into the case (those who asked to be told), each under their own number; any
# of them may reply (surveys.cases.answers).
FOR_EVERY_REPORTER = frozenset({timeline.RESOLUTION, timeline.REJECTED, timeline.MESSAGE})


async def reporters(uow: UnitOfWork, case: Case) -> list[Case]:
    """The case and the cases merged into it: one report each, each with its own resident
    and seal."""
    return [case, *await uow.cases.merged_into(case.id)]


async def anyone_to_tell(uow: UnitOfWork, case: Case) -> bool:
    """Whether the case's resident, or a resident of a case merged into it, asked to be told."""
    return any(each.wants_reply for each in await reporters(uow, case))


async def close(uow: UnitOfWork, case: Case, outcome: CaseOutcome, *, at: datetime, kind: str,
                notify: str, author: str, text: str = "",
                params: Mapping[str, Any] | None = None, person_id: int | None = None,
                actor: str | None = None, held_until: datetime | None = None) -> CaseMessage:
    """Close ``case`` with ``outcome``, recording ``kind`` (the closing entry) first, then
    drop its seal and those of the cases merged into it unless an entry for a resident is
    still to be delivered (see the module's docstring). Returns the closing entry.

    Raises:
        ValueError: the case cannot close from its status (closed or merged already).
    """
    if not may_move(case.status, CaseStatus.CLOSED):
        raise ValueError(f"case {case.number} cannot close from {case.status}")
    case.status, case.outcome, case.closed_at = CaseStatus.CLOSED, outcome, at
    case.request = case.request_reason = None
    case.request_unit_id = None
    case.answer_due_at = None
    case.version += 1
    entry = await timeline.record(uow, case, kind, notify, author=author, at=at, text=text,
                                  params=params, person_id=person_id, actor=actor,
                                  held_until=held_until)
    ids = [each.id for each in await reporters(uow, case)]
    if not await uow.cases.with_undelivered(ids, timeline.TO_RESIDENT):
        for case_id in ids:
            await uow.cases.drop_seal(case_id)
    return entry
