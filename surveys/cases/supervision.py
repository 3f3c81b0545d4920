"""Daily supervision of cases, run every minute by the bot that leads (bot/case_relay.py):

- a reminder to the handler (or, untaken, to the staff it is routed to) ``rules.remind_before``
  the deadline, once;
- an escalation to the unit's admins when the deadline passes unresolved, once;
- the resident's "Was this solved?" timing out: the case closes as not confirmed;
- the batch audit of residents' entries: logged in a shuffled order with their coarse time,
  once their privacy window has closed, and (PostgreSQL) their case rows written anew so that
  no transaction stamp dates the report;
- seals let go: a closed case's seal goes once nothing is left to tell its resident (and a
  day after closing in any case).

Every step keeps its state in the database (``reminded_at``, ``overdue_at``, ``audited``,
the status), so running it twice, or after a restart, does nothing twice.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from storage.models import CaseOutcome, CaseStatus
from surveys.cases import timeline
from surveys.cases.closing import close
from surveys.cases.rules import OVERDUE, CaseRules
from surveys.respondents.anonymity import coarse

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

# The author and audit actor of what supervision itself records.
SYSTEM = "system"
# Worked on and not resolved: reminded before the deadline, escalated after it.
UNRESOLVED = (CaseStatus.OPEN, CaseStatus.TAKEN)
# A closed case's seal is dropped at the latest this long after it closed, even if the relay
# could not tell the resident what was left to tell.
SEAL_KEPT_AFTER_CLOSE = timedelta(days=1)
BATCH = 500


async def remind(uow: UnitOfWork, rules: CaseRules, now: datetime) -> int:
    """Tell the handler (or the routed staff, if nobody took it) that an unresolved case is
    due within ``rules.remind_before``; once per case. Returns how many were reminded."""
    cases = await uow.cases.to_remind(UNRESOLVED, now, now + rules.remind_before, BATCH)
    for case in cases:
        # Supervision's own marks do not bump the version: no button of the case is stale.
        case.reminded_at = now
        await timeline.record(uow, case, timeline.REMINDER, timeline.TO_HANDLER,
                              author=SYSTEM, actor=SYSTEM, at=now)
    return len(cases)


async def escalate_overdue(uow: UnitOfWork, now: datetime) -> int:
    """Tell the unit's admins of every unresolved case past its deadline; once per case
    (``overdue_at``), whether or not a "not solved" came before or after (``escalation``
    names the latest escalation only)."""
    cases = await uow.cases.overdue(UNRESOLVED, now, BATCH)
    for case in cases:
        case.overdue_at = now
        case.escalated_at, case.escalation = now, OVERDUE
        await timeline.record(uow, case, timeline.OVERDUE, timeline.TO_ADMINS, author=SYSTEM,
                              actor=SYSTEM, at=now, params={"escalation": OVERDUE})
    return len(cases)


async def time_out_answers(uow: UnitOfWork, now: datetime) -> int:
    """Close resolved cases whose resident did not answer in time: "not confirmed" (which
    counts as neither confirmed nor refuted). The handler is told."""
    cases = await uow.cases.unanswered(now, BATCH)
    for case in cases:
        # Its version moves on: the resident's Yes/Partly/No buttons are stale now.
        await close(uow, case, CaseOutcome.NOT_CONFIRMED, at=now, kind=timeline.CLOSED,
                    notify=timeline.TO_HANDLER, author=SYSTEM, actor=SYSTEM,
                    params={"outcome": str(CaseOutcome.NOT_CONFIRMED)})
    return len(cases)


async def audit_residents(uow: UnitOfWork, now: datetime, resolution: timedelta,
                          shuffle: random.Random | None = None) -> int:
    """Write residents' entries whose privacy window has closed to the audit log, in a
    random order and with their coarse time, and mark them audited; on PostgreSQL, write
    their cases' rows, photos and seals anew in the same transaction.

    A resident's report, reply or answer is logged neither when it happened (the log's
    times and its order would date it among the contacts' and responses' changes) nor in the
    order the window's entries came in. Returns how many entries were logged."""
    entries = list(await uow.cases.unaudited(coarse(now, resolution), BATCH))
    if not entries:
        return 0
    # Locked (in id order) before the log is written: a staff member's change to a case
    # meanwhile (a transfer moves its unit) waits for the batch, and the batch logs and
    # rewrites each case as it stands, not as an unlocked read left it. The entries
    # themselves are locked already; nothing about their release (a function of the time and
    # their stored ``held_until``) is written, so the hold needs no lock of its own.
    cases = await uow.cases.by_ids({entry.case_id for entry in entries}, lock=True)
    (shuffle or random.SystemRandom()).shuffle(entries)
    for entry in entries:
        case = cases[entry.case_id]
        await uow.audit.record(entry.author, f"case.{entry.kind}", "case", case.number, after={
            "unit_id": case.unit_id, "category": case.category,
            **({"text": entry.text} if entry.text else {}), **(entry.params or {}),
        }, at=coarse(entry.at, resolution))
    await uow.cases.mark_audited([entry.id for entry in entries])
    await uow.cases.rewrite(list(cases))
    return len(entries)


async def release_seals(uow: UnitOfWork, case_ids: Collection[int] | None = None) -> int:
    """Drop the seals nobody needs any more: of closed cases (or of cases merged into one
    that closed) with nothing left to deliver to their resident. ``case_ids``: only these
    cases and those merged into them; None: every case. Returns how many were dropped."""
    candidates = await uow.cases.sealed((CaseStatus.CLOSED, CaseStatus.MERGED))
    if case_ids is not None:
        wanted = set(case_ids)
        candidates = [c for c in candidates if c.id in wanted or c.merged_into_id in wanted]
    spent = []
    for case in candidates:
        root = await uow.cases.handled_as(case)
        if root.status == CaseStatus.CLOSED:
            spent.append((case, root))
    pending = await uow.cases.with_undelivered(
        {c.id for pair in spent for c in pair}, timeline.TO_RESIDENT)
    dropped = 0
    for case, root in spent:
        if case.id not in pending and root.id not in pending:
            await uow.cases.drop_seal(case.id)
            dropped += 1
    return dropped


async def drop_stale_seals(uow: UnitOfWork, now: datetime) -> int:
    """The backstop: seals of cases closed (or merged into one closed) more than
    :data:`SEAL_KEPT_AFTER_CLOSE` ago go, whatever is still undelivered."""
    dropped = 0
    for case in await uow.cases.sealed((CaseStatus.CLOSED, CaseStatus.MERGED)):
        root = await uow.cases.handled_as(case)
        closed_at = root.closed_at or case.closed_at
        if (root.status == CaseStatus.CLOSED and closed_at is not None
                and closed_at <= now - SEAL_KEPT_AFTER_CLOSE):
            await uow.cases.drop_seal(case.id)
            dropped += 1
    return dropped
