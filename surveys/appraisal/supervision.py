"""Supervision as the dashboard's auditors' pages do it: a period's anomaly flags in the
auditor's scope, dismissed or restored (each with a reason), and the audit log searched by
record with the chain's verification.

The rules are the command line's (``civicpulse anomalies``, ``civicpulse audit verify``):
dismissing and restoring go through :func:`surveys.appraisal.run.dismiss_in` and
:func:`~surveys.appraisal.run.restore_in`, and the chain is checked against every head a
publication recorded (:func:`chain_check`), here as there.

Scopes: an auditor for a township sees and acts on the flags of responses to campaigns of
that township's units only; a flag outside the scope is refused as ``flag_unknown``, the
same as one that does not exist (the dashboard answers 404). The audit log spans every unit,
so it is for auditors for all units (``audit_everywhere`` otherwise). Refusals are
:class:`~surveys.people.caller.Refused` with a text key (``supervision.<key>``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from storage.appraisal import FlagLine
from storage.audit import Anchor, ChainCheck, KeptCheck
from storage.ids import parse_id, shown_id
from storage.models import AnomalyFlag, Role
from surveys.appraisal.periods import PeriodError, parse_period, period_of
from surveys.appraisal.publication import holds_everywhere, names
from surveys.appraisal.published_rows import PublishedRows
from surveys.appraisal.run import (
    MAX_DISMISS_REASON,
    AppraisalError,
    dismiss_in,
    dismiss_reason,
    restore_in,
)
from surveys.kept import UntilAudit
from surveys.paging import PAGE_SIZE, Paging
from surveys.people.access import Actor, UnitTree
from surveys.people.caller import Caller, Refused, acting_as

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

AUDITOR_ROLES = (Role.AUDITOR,)
NOT_AUDITOR = "not_auditor"
FLAGS_PAGE = PAGE_SIZE
EVENTS_PAGE = PAGE_SIZE
MAX_SEARCH = 100
# Keys of an event's states never shown in a page: no Telegram id leaves the server.
_HIDDEN_KEYS = ("telegram", "chat_id", "user_id")


# --- anomaly flags --------------------------------------------------------------------------


def still_excluding(flags: Iterable[AnomalyFlag]) -> dict[int, list[str]]:
    """Response id -> the kinds of its flags that still exclude it (not dismissed): what a
    dismissed flag's response is still kept out of the scores by."""
    active: dict[int, list[str]] = {}
    for flag in flags:
        if flag.dismissed_at is None:
            active.setdefault(flag.response_id, []).append(flag.kind)
    return active


@dataclass(frozen=True)
class FlagRow:
    """One flag as an auditor is shown it."""

    id: int
    response: str  # the response's id, as the command line shows it
    unit: str  # the unit's path from the top, in the reader's language
    entry: str | None  # the entry point (a poster, a window), if any
    kind: str
    reason: str
    detected_at: datetime
    dismissed_at: datetime | None
    dismissed_by: str | None  # a name
    dismiss_reason: str | None
    still_excluded_by: tuple[str, ...]  # a dismissed flag's response's other active flags
    period: str  # the list to go back to: the one it was listed in, or its response's quarter


@dataclass(frozen=True)
class FlagList:
    lang: str
    period: str
    items: tuple[FlagRow, ...]  # the page's
    dismissed: int  # of all the period's flags in scope
    paging: Paging  # its total: every flag of the period in scope


async def _auditor(uow: UnitOfWork, caller: Caller, published: PublishedRows | None = None
                   ) -> tuple[Actor, str, UnitTree]:
    actor, lang = await acting_as(uow, caller, AUDITOR_ROLES, NOT_AUDITOR)
    tree = await published.tree(uow) if published is not None else await UnitTree.load(uow)
    return actor, lang, tree


def _visible(actor: Actor, tree: UnitTree) -> set[int] | None:
    """The units whose flags the auditor sees; None: all."""
    if None in actor.scopes(AUDITOR_ROLES):
        return None
    return actor.visible_units(tree, AUDITOR_ROLES)


def _row(flag: AnomalyFlag | FlagLine, unit_id: int | None, entry: str | None, period: str,
         tree: UnitTree, lang: str, shown: Mapping[str, str],
         active: Mapping[int, list[str]]) -> FlagRow:
    unit = tree.path(unit_id, lang) if unit_id is not None and unit_id in tree.by_id else "?"
    others = tuple(k for k in active.get(flag.response_id, []) if k != flag.kind)
    return FlagRow(flag.id, shown_id(flag.response_id), unit, entry, flag.kind, flag.reason,
                   flag.detected_at, flag.dismissed_at,
                   shown.get(flag.dismissed_by or "", flag.dismissed_by),
                   flag.dismiss_reason, others if flag.dismissed_at is not None else (),
                   period)


@dataclass(frozen=True)
class PeriodFlags:
    """Every flag of a period as the list shows them, in its order (unit code, kind,
    response), with where each unit's are among them (together: the order starts with the
    unit) and how many of each unit's were dismissed."""

    lines: tuple[FlagLine, ...]
    at: dict[int, range]
    dismissed: dict[int, int]

    @classmethod
    def of(cls, lines: Sequence[FlagLine]) -> PeriodFlags:
        at: dict[int, range] = {}
        dismissed: dict[int, int] = {}
        start = 0
        for i, line in enumerate(lines):
            if i + 1 == len(lines) or lines[i + 1].unit_id != line.unit_id:
                at[line.unit_id] = range(start, i + 1)
                start = i + 1
            if line.dismissed_at is not None:
                dismissed[line.unit_id] = dismissed.get(line.unit_id, 0) + 1
        return cls(tuple(lines), at, dismissed)

    def page(self, units: Collection[int] | None, page: int
             ) -> tuple[list[FlagLine], Paging, int]:
        """Page ``page`` of the flags of these units (None: all), the paging, and how many of
        all of theirs were dismissed: only the units with flags are looked at."""
        if units is None:
            places = [range(len(self.lines))]
            dismissed = sum(self.dismissed.values())
        else:
            places = sorted((self.at[u] for u in self.at if u in units),
                            key=lambda r: r.start)
            dismissed = sum(self.dismissed.get(u, 0) for u in self.at if u in units)
        paging = Paging.of(page, FLAGS_PAGE, sum(len(r) for r in places))
        wanted = range(paging.offset, paging.offset + paging.size)
        shown: list[FlagLine] = []
        before = 0
        for place in places:
            for i in place[max(0, wanted.start - before):max(0, wanted.stop - before)]:
                shown.append(self.lines[i])
            before += len(place)
            if before >= wanted.stop:
                break
        return shown, paging, dismissed


# The audit events about what the flags of a period are: an appraisal run replaces them, an
# auditor dismisses or restores one; both in the transaction that changes them.
FLAG_EVENTS = ("anomaly_flag", "appraisal_run")


class KeptFlags(UntilAudit[str, PeriodFlags]):
    """The flags of the periods last asked for, read again only after a flag changed (a
    county's period has thousands; reading them joins each to its response)."""

    def __init__(self, keep: int = 8) -> None:
        super().__init__(keep)


async def flags_of_period(uow: UnitOfWork, caller: Caller, period_label: str, page: int = 1,
                          published: PublishedRows | None = None,
                          kept: KeptFlags | None = None) -> FlagList:
    """A page of the period's flags of responses to campaigns in the auditor's scope, by
    unit, with how many there are in all and how many were dismissed. ``published`` keeps
    the unit tree between calls, ``kept`` the period's flags (the dashboard's).

    Raises:
        Refused: ``not_auditor``; ``period`` for a label that is no period.
    """
    actor, lang, tree = await _auditor(uow, caller, published)
    try:
        period = parse_period(period_label)
    except PeriodError as exc:
        raise Refused("period", lang, {"period": period_label}) from exc

    async def read() -> PeriodFlags:
        return PeriodFlags.of(await uow.anomalies.of_period(period.start, period.end))

    if kept is not None:
        # The mark first: a change committed while the flags are read is read again later.
        mark = await uow.audit.newest_about(FLAG_EVENTS)
        flags = await kept.get(period.label, str(mark), read)
    else:
        flags = await read()
    lines, paging, dismissed = flags.page(_visible(actor, tree), page)
    # What else still keeps a dismissed flag's response out: asked only of those shown.
    gone = [line for line in lines if line.dismissed_at is not None]
    active = await uow.anomalies.active_kinds(line.response_id for line in gone) if gone else {}
    shown = await names(uow, [line.dismissed_by for line in gone])
    items = tuple(_row(line, line.unit_id, line.entry_point, period.label, tree, lang, shown,
                       active) for line in lines)
    return FlagList(lang, period.label, items, dismissed, paging)


async def _flag(uow: UnitOfWork, actor: Actor, tree: UnitTree, lang: str,
                flag_id: int) -> tuple[AnomalyFlag, int, datetime]:
    """The flag, if it is in the auditor's scope.

    Raises:
        Refused: ``flag_unknown``, for no such flag or one outside the scope alike.
    """
    known = parse_id(flag_id)
    found = await uow.anomalies.with_unit(known) if known is not None else None
    if found is None or not actor.covers(tree, found[1], AUDITOR_ROLES):
        raise Refused("flag_unknown", lang)
    return found


@dataclass(frozen=True)
class FlagView:
    lang: str
    flag: FlagRow
    max_reason: int = MAX_DISMISS_REASON


async def flag_view(uow: UnitOfWork, caller: Caller, flag_id: int) -> FlagView:
    """One flag, to dismiss or restore it.

    Raises:
        Refused: ``not_auditor``, ``flag_unknown``.
    """
    actor, lang, tree = await _auditor(uow, caller)
    flag, unit_id, completed = await _flag(uow, actor, tree, lang, flag_id)
    active = await uow.anomalies.active_kinds([flag.response_id])
    response = await uow.responses.get(flag.response_id)
    entry = response.entry_point if response is not None else None
    shown = await names(uow, [flag.dismissed_by])
    return FlagView(lang, _row(flag, unit_id, entry, period_of(completed, "quarter").label,
                               tree, lang, shown, active))


def _reason(text: str, lang: str) -> str:
    try:
        return dismiss_reason(text)
    except AppraisalError as exc:
        key = "reason_missing" if not text.strip() else "reason_long"
        raise Refused(key, lang, {"max": MAX_DISMISS_REASON}) from exc


async def dismiss(uow: UnitOfWork, caller: Caller, flag_id: int, reason: str) -> FlagView:
    """The auditor judged the flagged response genuine: it counts again from the next
    appraisal run (published results do not change). Audit-logged with the reason.

    Raises:
        Refused: ``not_auditor``, ``flag_unknown``, ``reason_missing``, ``reason_long``,
            ``flag_dismissed`` (already).
    """
    actor, lang, tree = await _auditor(uow, caller)
    flag, _unit, _at = await _flag(uow, actor, tree, lang, flag_id)
    why = _reason(reason, lang)
    if flag.dismissed_at is not None:
        raise Refused("flag_dismissed", lang)
    await dismiss_in(uow, [flag.response_id], flag.kind, why, actor.label, caller.now)
    return await flag_view(uow, caller, flag_id)


async def restore(uow: UnitOfWork, caller: Caller, flag_id: int, reason: str) -> FlagView:
    """Undo a dismissal, saying why: the response is excluded again from the next run.

    Raises:
        Refused: ``not_auditor``, ``flag_unknown``, ``reason_missing``, ``reason_long``,
            ``flag_active`` (not dismissed).
    """
    actor, lang, tree = await _auditor(uow, caller)
    flag, _unit, _at = await _flag(uow, actor, tree, lang, flag_id)
    why = _reason(reason, lang)
    if flag.dismissed_at is None:
        raise Refused("flag_active", lang)
    await restore_in(uow, [flag.response_id], flag.kind, actor.label, why)
    return await flag_view(uow, caller, flag_id)


# --- the audit log --------------------------------------------------------------------------


async def chain_check(uow: UnitOfWork, kept: KeptCheck | None = None
                      ) -> tuple[ChainCheck, list[Anchor]]:
    """The chain from its start, and every head a publication recorded: the chain alone
    cannot tell that its newest events (or all of them) were deleted; the heads can.
    ``kept``: go on from where this process's last check got to (the dashboard's page)."""
    anchors = [Anchor(f"appraisal {run.period} version {run.version}",
                      run.audit_head_hash or "", run.audit_head_events or 0)
               for run in await uow.appraisal.anchored()]
    if kept is not None:
        return await kept.check(uow.audit, anchors), anchors
    return await uow.audit.check(anchors), anchors


@dataclass(frozen=True)
class EventRow:
    id: int
    at: datetime
    actor: str  # a name, or the label the command line was given
    action: str
    entity: str
    entity_id: str | None
    before: str | None  # the state, as "key: value" lines
    after: str | None


@dataclass(frozen=True)
class AuditLog:
    lang: str
    needle: str
    events: tuple[EventRow, ...]
    check: ChainCheck
    anchors: tuple[Anchor, ...]
    before: int | None  # the page shows the events older than this one (None: the newest)
    older: int | None  # the next page's ``before``: there are older events


def _hidden(key: str) -> bool:
    return any(part in key.lower() for part in _HIDDEN_KEYS)


def state_text(state: Mapping[str, Any] | None) -> str | None:
    """An event's state as lines to read, without any key that could hold a Telegram id."""
    if state is None:
        return None
    lines = []
    for key in sorted(state):
        if _hidden(key):
            continue
        value = state[key]
        if isinstance(value, Mapping):
            value = ", ".join(f"{k}={v}" for k, v in sorted(value.items()) if not _hidden(k))
        elif isinstance(value, list | tuple):
            value = ", ".join(map(str, value))
        lines.append(f"{key}: {value}")
    return "\n".join(lines)


async def audit_log(uow: UnitOfWork, caller: Caller, needle: str, before: int | None = None,
                    kept: KeptCheck | None = None) -> AuditLog:
    """The newest events about a record (``needle``: a case number, a period, a campaign
    code, a person's name, a record's id), or the newest of all, a page at a time (older
    than the event ``before``); with the chain's check (``kept``: going on from this
    process's last one).

    Raises:
        Refused: ``not_auditor``; ``audit_everywhere`` for an auditor of some units only.
    """
    actor, lang = await acting_as(uow, caller, AUDITOR_ROLES, NOT_AUDITOR)
    if not holds_everywhere(actor, Role.AUDITOR):
        raise Refused("audit_everywhere", lang)
    needle = " ".join(needle.split())[:MAX_SEARCH]
    if needle:
        # A person's name finds what they did (the log names them ``person:<id>``).
        labels = [f"person:{p.id}" for p in await uow.people.named(needle)]
        found = await uow.audit.search(needle, labels, limit=EVENTS_PAGE + 1, before=before)
    else:
        found = await uow.audit.recent(EVENTS_PAGE + 1, before=before)
    older = found[EVENTS_PAGE - 1].id if len(found) > EVENTS_PAGE else None
    found = found[:EVENTS_PAGE]
    shown = await names(uow, [e.actor for e in found])
    events = tuple(EventRow(e.id, e.at, shown.get(e.actor, e.actor), e.action, e.entity,
                            e.entity_id, state_text(e.before), state_text(e.after))
                   for e in found)
    check, anchors = await chain_check(uow, kept)
    return AuditLog(lang, needle, events, check, tuple(anchors), before, older)
