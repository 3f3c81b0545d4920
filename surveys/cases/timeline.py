"""A case's timeline: every message and event, whom it must reach, and its audit entry.

Use cases record what happened here and return; the relay (``bot/case_relay.py``) hands each
entry to whom it must reach after the commit, and again after a crash, so nothing is lost
between the commit and the message. Staff entries are audited at once, under the person's
name; a resident's are audited later in a shuffled batch with a coarse time
(:mod:`surveys.cases.supervision`), so neither the log's order nor its times pair a resident's
report with their poll answer. A resident's entries also reach staff only when their window
is released (``held_until``, :mod:`surveys.cases.holding`), so neither do staff's reactions.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from storage.models import Case, CaseMessage
from surveys.cases.rules import RESIDENT

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

# Kinds of entry.
OPENED, MESSAGE, RESOLUTION, ANSWER = "opened", "message", "resolution", "answer"
TAKEN, RELEASED, REMINDER, OVERDUE = "taken", "released", "reminder", "overdue"
REOPENED, ESCALATED, REQUEST, TRANSFERRED = "reopened", "escalated", "request", "transferred"
REJECTED, MERGED, CLOSED, UNREACHABLE = "rejected", "merged", "closed", "unreachable"
NOTE = "note"  # staff's own note on a case: never sent, never counted

# Whom an entry must reach.
TO_RESIDENT, TO_HANDLER, TO_UNIT, TO_ADMINS, TO_NONE = (
    "resident", "handler", "unit", "admins", "none")


async def record(
    uow: UnitOfWork, case: Case, kind: str, notify: str, *, author: str, at: datetime,
    text: str = "", params: Mapping[str, Any] | None = None, person_id: int | None = None,
    actor: str | None = None, audit_later: bool = False, held_until: datetime | None = None,
) -> CaseMessage:
    """Add an entry to ``case``'s timeline. ``actor`` is the audit log's name for a staff
    author (``person:<id>``, ``cli:<user>``, ``system``); a resident's entry has none.
    ``audit_later``: audit it with the residents' entries (an event a resident's answer
    caused, which an audit entry at once would time). ``held_until``: staff are told of it,
    and see it, only from then on (a resident's entry: :mod:`surveys.cases.holding`)."""
    resident = author == RESIDENT or audit_later
    entry = await uow.cases.add_message(CaseMessage(
        case_id=case.id, seq=await uow.cases.next_seq(case.id), author=author,
        person_id=person_id, kind=kind, notify=notify,
        text=text, params=dict(params) if params else None, at=at,
        delivered=notify == TO_NONE, audited=not resident, held_until=held_until,
    ))
    if not resident:
        await uow.audit.record(actor or author, f"case.{kind}", "case", case.number, after={
            "status": str(case.status), "unit_id": case.unit_id, "category": case.category,
            **({"text": text} if text else {}), **(dict(params) if params else {}),
        })
    return entry
