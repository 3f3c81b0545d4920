"""Staff handling a case: take it, ask the resident, resolve it, ask an admin to transfer or
reject it (or, as the admin, decide), and merge reports of the same problem.

Every use case here runs in one transaction: it checks who is asking and what they may do
with the case as it stands, under the case's lock (:func:`surveys.cases.views.allowed`;
a cadre of another unit, an admin outside the scope, an auditor are refused, nothing
changes), checks the version the tapped button carries (a stale or forged tap is refused),
changes the case, bumps its version and adds a timeline entry saying whom it must reach
(:func:`surveys.cases.timeline.record`, which audits staff entries at once). Nothing is sent
here: the chat layer calls ``deps.cases_changed()`` after the commit and the relay
(``bot/case_relay.py``) delivers the entries.

What the relay must know of the entries written here (kind, notify, params):

- ``taken`` (TO_NONE): ``{"from": <person id>}`` when an admin took it over from a handler.
- ``message`` (TO_RESIDENT), author handler: the question, in ``text``.
- ``resolution``: what was done in ``text``; params ``summary`` (or absent), ``photos`` (the
  SHA-256 of this resolution's ``case_photos`` of part ``resolution``, in the order sent: the
  relay sends them before the text), ``answer_due_at`` (ISO) when the resident is asked.
  TO_RESIDENT when anyone asked to be told (the case itself or a case merged into it): send
  it with Yes / Partly / No, to the residents of the merged cases too. Otherwise TO_NONE and
  the case is closed at once (``unconfirmable``).
- ``request`` (TO_ADMINS): a handler asks for ``params.request`` = ``transfer`` (to
  ``params.unit``, a unit code) or ``reject``, the reason in ``text``. An admin's answer is a
  ``request`` entry too, TO_HANDLER, with ``params.decision`` = ``approved`` or ``denied``
  and ``params.handler_id``: the person who asked, to whom it goes (not the case's handler,
  who is gone after a transfer).
- ``transferred`` (TO_UNIT): ``params.from``/``params.to`` unit codes, the reason in
  ``text``; the case's unit is already the new one, so TO_UNIT reaches the new unit's staff
  (the cases merged into it move with it).
- ``rejected`` (TO_RESIDENT when the resident asked to be told, else TO_NONE): the reason in
  ``text``; the case is closed (``rejected``). Residents of cases merged into it are told
  too.
- ``merged``: on the case merged away, TO_RESIDENT when its resident asked to be told
  (``params.into``: the number it joined); on the case that stays, TO_NONE
  (``params.from``: the merged number, ``params.reports``: the new count).

Closing (a rejection, a resolution nobody asked to hear of) goes through
:func:`surveys.cases.closing.close`, which keeps the seals until the residents have been told.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import update

from storage.models import Case, CaseOutcome, CaseStatus
from storage.units import UnitLike
from surveys.cases import timeline
from surveys.cases.closing import anyone_to_tell, close
from surveys.cases.rules import ADMIN, HANDLER, CaseRules, normalise_number, on_time
from surveys.cases.rules import TRANSFER as TRANSFER_REQUEST
from surveys.cases.views import (
    APPROVE,
    DENY,
    MERGE,
    TAKE,
    CaseView,
    Staff,
    allowed,
    case_of,
    primary_of,
    similar,
    staff,
    unit_label,
    view_of,
    why_not,
)
from surveys.people.access import ADMIN_ROLES
from surveys.people.caller import Caller, Refused

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

# The short public summary of what was done ("You said, we did").
SUMMARY_MAX = 280


@dataclass(frozen=True)
class Acted:
    """An action done: the case as it stands now, and what to tell the person who acted."""

    lang: str
    view: CaseView
    done: str  # text key (``cstaff.done.<done>``)
    params: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class KeptPhoto:
    """A photo already kept under its SHA-256 (``deps.evidence``), to record with a case."""

    sha256: str
    path: str
    size_bytes: int
    media_type: str

    def as_data(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "path": self.path, "size": self.size_bytes,
                "type": self.media_type}

    @classmethod
    def of_data(cls, data: Mapping[str, Any]) -> KeptPhoto:
        return cls(str(data["sha256"]), str(data["path"]), int(data["size"]), str(data["type"]))


async def acting_on(ctx: Staff, number: str, action: str, version: int | None = None) -> Case:
    """The case, locked, if the caller may do ``action`` with it now (and it is at ``version``).

    Raises:
        Refused: as :func:`surveys.cases.views.case_of`, or why the action is not allowed.
    """
    case = await case_of(ctx, number, lock=True)
    if action not in allowed(ctx.actor, ctx.tree, case):
        raise Refused(why_not(ctx.actor, ctx.tree, case, action), ctx.lang,
                      {"number": case.number, "status": str(case.status),
                       "unit": unit_label(ctx.tree, case.unit_id, ctx.lang)})
    if version is not None and case.version != version:
        raise Refused("stale", ctx.lang)
    return case


def _changed(case: Case) -> None:
    case.version += 1


async def _entry(ctx: Staff, case: Case, kind: str, notify: str, *, author: str = HANDLER,
                 text: str = "", params: Mapping[str, Any] | None = None,
                 at: datetime | None = None) -> None:
    await timeline.record(ctx.uow, case, kind, notify, author=author, at=at or ctx.now,
                          text=text, params=params, person_id=ctx.actor.person_id,
                          actor=ctx.actor.label)


async def _acted(ctx: Staff, case: Case, rules: CaseRules, done: str,
                 **params: object) -> Acted:
    return Acted(ctx.lang, await view_of(ctx, case, rules), done,
                 {"number": case.number, **params})


# --- taking ---------------------------------------------------------------------------------


async def take(uow: UnitOfWork, caller: Caller, number: str, version: int, *,
               rules: CaseRules) -> Acted:
    """Take the case: the caller handles it from now (an admin may take it over).

    Raises:
        Refused: see :func:`acting_on`.
    """
    ctx = await staff(uow, caller)
    case = await acting_on(ctx, number, TAKE, version)
    _changed(case)
    await _handled_by_caller(ctx, case)
    return await _acted(ctx, case, rules, "taken")


async def _handled_by_caller(ctx: Staff, case: Case) -> None:
    previous = case.handler_id
    case.status, case.handler_id, case.taken_at = CaseStatus.TAKEN, ctx.actor.person_id, ctx.now
    await _entry(ctx, case, timeline.TAKEN, timeline.TO_NONE,
                 params={"from": previous} if previous is not None else None)


# --- the handler's work: a question, the resolution, a request ------------------------------


async def ask_resident(ctx: Staff, case: Case, text: str) -> None:
    """Record a question to the resident (the relay sends it with the case number only)."""
    await _entry(ctx, case, timeline.MESSAGE, timeline.TO_RESIDENT, text=text)


async def resolve(ctx: Staff, case: Case, *, resolution: str, summary: str | None,
                  photos: list[KeptPhoto], rules: CaseRules) -> None:
    """Resolve the case with what was done (required), an optional public summary and photos.

    Who resolves a case handles it: a case nobody took is taken by the resolver first, and
    an admin resolving another handler's case takes it over (a ``taken`` entry either way).
    If anyone asked to be told, the case waits for their "solved?" answer until
    ``rules.answer_within`` from now; otherwise it closes at once as unconfirmable.
    """
    if not resolution.strip():
        raise ValueError("a case is not resolved without a resolution text")
    if case.handler_id != ctx.actor.person_id:
        # An admin resolving a case someone else took takes it over first: the resolution,
        # its credit or blame in appraisal and the resident's answer are the resolver's.
        await _handled_by_caller(ctx, case)
    now = ctx.now
    case.resolution, case.summary = resolution, summary or None
    case.resolved_at, case.resolved_on_time = now, on_time(now, case.due_at)
    kept = {p.sha256 for p in await ctx.uow.cases.photos(case.id) if p.part == "resolution"}
    shown: list[str] = []  # this resolution's, once each (a reopened case has had another)
    for photo in photos:
        if photo.sha256 not in kept:
            kept.add(photo.sha256)
            await ctx.uow.cases.add_photo(case.id, "resolution", sha256=photo.sha256,
                                          path=photo.path, size_bytes=photo.size_bytes,
                                          media_type=photo.media_type)
        if photo.sha256 not in shown:
            shown.append(photo.sha256)
    params: dict[str, Any] = {"photos": shown}
    if case.summary:
        params["summary"] = case.summary
    if not await anyone_to_tell(ctx.uow, case):
        await close(ctx.uow, case, CaseOutcome.UNCONFIRMABLE, at=now, kind=timeline.RESOLUTION,
                    notify=timeline.TO_NONE, author=HANDLER, text=resolution, params=params,
                    person_id=ctx.actor.person_id, actor=ctx.actor.label)
        return
    case.status = CaseStatus.RESOLVED
    case.answer_due_at = now + rules.answer_within
    case.request = case.request_reason = None
    case.request_unit_id = None
    _changed(case)
    params["answer_due_at"] = case.answer_due_at.isoformat()
    await _entry(ctx, case, timeline.RESOLUTION, timeline.TO_RESIDENT, text=resolution,
                 params=params)


async def request(ctx: Staff, case: Case, what: str, reason: str,
                  unit: UnitLike | None = None) -> None:
    """Ask the unit's admins to transfer (to ``unit``) or reject the case; they decide."""
    case.request, case.request_reason = what, reason
    case.request_unit_id = unit.id if unit is not None else None
    _changed(case)
    params: dict[str, Any] = {"request": what}
    if unit is not None:
        params["unit"] = unit.code
    await _entry(ctx, case, timeline.REQUEST, timeline.TO_ADMINS, text=reason, params=params)


# --- an admin's decisions -------------------------------------------------------------------


def outside_scope(ctx: Staff, unit: UnitLike) -> Refused | None:
    """A transfer must stay inside the deciding admin's scope."""
    if ctx.actor.covers(ctx.tree, unit.id, ADMIN_ROLES):
        return None
    return Refused("outside_scope", ctx.lang, {"unit": unit_label(ctx.tree, unit.id, ctx.lang)})


async def transfer(ctx: Staff, case: Case, unit: UnitLike, reason: str) -> None:
    """Move the case to ``unit`` (inside the admin's scope): open again, for the new unit's
    staff, with its deadline kept."""
    refusal = outside_scope(ctx, unit)
    if refusal is not None:
        raise refusal
    if unit.id == case.unit_id:
        raise Refused("same_unit", ctx.lang, {"unit": unit_label(ctx.tree, unit.id, ctx.lang)})
    old = ctx.tree.by_id[case.unit_id]
    case.unit_id, case.status = unit.id, CaseStatus.OPEN
    case.handler_id = case.taken_at = None
    case.request = case.request_reason = None
    case.request_unit_id = None
    # The new unit's staff have not been reminded of the deadline yet, nor its admins told
    # that it is overdue.
    case.reminded_at = case.overdue_at = None
    case.escalation = case.escalated_at = None
    _changed(case)
    # Reports merged into it are the same problem: they belong where it goes.
    await ctx.uow.session.execute(update(Case).where(Case.merged_into_id == case.id)
                                  .values(unit_id=unit.id))
    await _entry(ctx, case, timeline.TRANSFERRED, timeline.TO_UNIT, author=ADMIN, text=reason,
                 params={"from": old.code, "to": unit.code})


async def reject(ctx: Staff, case: Case, reason: str) -> None:
    """Close the case as not a case, with the reason the resident is told."""
    case.reject_reason = reason
    tell = await anyone_to_tell(ctx.uow, case)
    await close(ctx.uow, case, CaseOutcome.REJECTED, at=ctx.now, kind=timeline.REJECTED,
                notify=timeline.TO_RESIDENT if tell else timeline.TO_NONE, author=ADMIN,
                text=reason, person_id=ctx.actor.person_id, actor=ctx.actor.label)


async def _requester(uow: UnitOfWork, case: Case) -> int | None:
    """Who asked for the request waiting on the case (the latest request entry's author)."""
    asked = [e for e in await uow.cases.messages(case.id)
             if e.kind == timeline.REQUEST and not (e.params or {}).get("decision")]
    return asked[-1].person_id if asked else None


async def _answer_requester(ctx: Staff, case: Case, what: str, decision: str,
                            requester: int | None) -> None:
    params: dict[str, Any] = {"request": what, "decision": decision}
    if requester is not None:
        params["handler_id"] = requester
    # Entries sort by time (their ids are random): the decision a moment before what it does.
    await _entry(ctx, case, timeline.REQUEST, timeline.TO_HANDLER, author=ADMIN, params=params,
                 at=ctx.now - timedelta(microseconds=1))


async def approve(uow: UnitOfWork, caller: Caller, number: str, version: int, *,
                  rules: CaseRules) -> Acted:
    """Grant the handler's request: transfer the case to the unit asked for (if it is inside
    the admin's scope) or reject it with the handler's reason.

    Raises:
        Refused: see :func:`acting_on`; ``outside_scope``, ``unit_gone``.
    """
    ctx = await staff(uow, caller)
    case = await acting_on(ctx, number, APPROVE, version)
    what, reason = str(case.request), case.request_reason or ""
    requester = await _requester(uow, case)
    await _answer_requester(ctx, case, what, "approved", requester)
    if what == TRANSFER_REQUEST:
        unit = ctx.tree.by_id.get(case.request_unit_id or 0)
        if unit is None:
            raise Refused("unit_gone", ctx.lang)
        await transfer(ctx, case, unit, reason)
        return await _acted(ctx, case, rules, "transferred",
                            unit=unit_label(ctx.tree, unit.id, ctx.lang))
    await reject(ctx, case, reason)
    return await _acted(ctx, case, rules, "rejected")


async def deny(uow: UnitOfWork, caller: Caller, number: str, version: int, *,
               rules: CaseRules) -> Acted:
    """Refuse the handler's request: the case stays as it is, and the handler is told.

    Raises:
        Refused: see :func:`acting_on`.
    """
    ctx = await staff(uow, caller)
    case = await acting_on(ctx, number, DENY, version)
    what = str(case.request)
    requester = await _requester(uow, case)
    case.request = case.request_reason = None
    case.request_unit_id = None
    _changed(case)
    await _answer_requester(ctx, case, what, "denied", requester)
    return await _acted(ctx, case, rules, "denied")


# --- merging --------------------------------------------------------------------------------


async def merge(uow: UnitOfWork, caller: Caller, number: str, version: int, other: str,
                other_version: int, *, rules: CaseRules) -> Acted:
    """Merge two reports of the same problem: the later one becomes MERGED into the first,
    which counts its reports. The caller must be allowed to handle both.

    Raises:
        Refused: see :func:`acting_on`; ``not_similar``.
    """
    ctx = await staff(uow, caller)
    # Locked in one order whoever merges, so two merges of the same pair cannot deadlock.
    pair = sorted([(normalise_number(number) or number, version),
                   (normalise_number(other) or other, other_version)])
    first = await acting_on(ctx, pair[0][0], MERGE, pair[0][1])
    second = await acting_on(ctx, pair[1][0], MERGE, pair[1][1])
    if not similar(first, second, rules):
        raise Refused("not_similar", ctx.lang, {"number": first.number, "other": second.number})
    primary, merged = primary_of(first, second)
    merged.status, merged.merged_into_id = CaseStatus.MERGED, primary.id
    merged.request = merged.request_reason = None
    merged.request_unit_id = None
    primary.reports += merged.reports
    _changed(merged)
    _changed(primary)
    # Cases merged into the one merged away now belong to the one that stays.
    await uow.session.execute(update(Case).where(Case.merged_into_id == merged.id)
                              .values(merged_into_id=primary.id))
    await _entry(ctx, merged, timeline.MERGED,
                 timeline.TO_RESIDENT if merged.wants_reply else timeline.TO_NONE,
                 params={"into": primary.number})
    await _entry(ctx, primary, timeline.MERGED, timeline.TO_NONE,
                 params={"from": merged.number, "reports": primary.reports})
    shown = primary if primary.number == normalise_number(number) else merged
    return await _acted(ctx, shown, rules, "merged", into=primary.number, other=merged.number,
                        reports=primary.reports)
