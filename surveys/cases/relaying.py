"""Whom a case's timeline entry reaches, and what became of it: the use cases of the relay
(bot/case_relay.py), which does the sending in between.

- TO_RESIDENT: the chat in the case's seal, if the resident asked to be told (a resolution
  or a rejection also reaches the residents of the cases merged into this one, each through
  their own seal: :data:`surveys.cases.closing.FOR_EVERY_REPORTER`); nobody if the seal is
  gone or holds no chat.
- TO_HANDLER: the entry's ``handler_id`` (an answer to a request), else the case's
  handler; nobody took it yet: as TO_UNIT.
- TO_UNIT: the staff the case is routed to (:func:`surveys.cases.routing.routed_staff`).
- TO_ADMINS: the admins covering the unit, and its inspectors for a "not solved" escalation.

Staff never get their own entries back. A staff member's chat and language come from their
contact; a resident's only from the seal, which only the bot's secret opens.

An entry's photos go with it, before its text: a resolution's (``params.photos``, the SHA-256
of ``case_photos`` of part ``resolution``) and a relayed message's (part ``relay``: so far
only residents' replies carry any; staff questions are text only). A photo named but not
recorded is left out.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from analysis.themes import DEFAULT_TOPICS, Topics
from storage.models import Case, CaseMessage, Contact, Person
from surveys.cases import closing, routing, sealing, supervision, timeline
from surveys.cases.rules import NOT_SOLVED
from surveys.people.access import UnitTree
from surveys.people.caller import resolve_language
from surveys.people.names import Names

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipient:
    """One chat an entry goes to. A resident is known by ``sealed_case`` (whose seal named
    the chat) and ``number`` (the case number they know); staff by ``person_id``."""

    chat_id: int
    language: str
    sealed_case: int | None = None
    number: str = ""
    person_id: int | None = None

    @property
    def resident(self) -> bool:
        return self.sealed_case is not None


@dataclass(frozen=True)
class RelayPhoto:
    """A photo to send with an entry: where the evidence store keeps it."""

    sha256: str
    path: str


@dataclass(frozen=True)
class Parcel:
    """A timeline entry, the case as it stands now, what its text needs and whom it goes to.
    The rows are detached copies: the parcel outlives its transaction."""

    entry: CaseMessage
    case: Case
    unit: Names
    recipients: tuple[Recipient, ...]
    author: Names | None = None  # the staff member who wrote it
    handler: Names | None = None
    target: Names | None = None  # the unit a transfer is asked for
    into: str | None = None  # the number of the case it was merged into
    params: dict[str, Any] = field(default_factory=dict)
    photos: tuple[RelayPhoto, ...] = ()  # sent before the text


async def plan(uow: UnitOfWork, secret: bytes, entries: Sequence[CaseMessage], *,
               max_attempts: int, default_language: str = "en",
               topics: Topics = DEFAULT_TOPICS) -> list[Parcel]:
    """Each entry with its recipients. An entry that cannot be planned (a bug) is logged and
    left out, so it cannot hold up the others; that counts as a failed attempt, and after
    ``max_attempts`` of them it is given up (marked delivered), as one that cannot be sent
    is, so that a batch of broken entries does not come back every round ahead of the rest."""
    if not entries:
        return []
    tree = await UnitTree.load(uow)
    cases = await uow.cases.by_ids({entry.case_id for entry in entries})
    parcels, broken = [], []
    for entry in entries:
        try:
            parcels.append(await _parcel(uow, secret, tree, topics, default_language, entry,
                                         cases[entry.case_id]))
        except Exception:  # one broken entry must not stop every other
            log.exception("case relay: cannot plan timeline entry %s", entry.id)
            broken.append(entry)
    given_up = [entry for entry in broken if entry.attempts + 1 >= max_attempts]
    await uow.cases.count_attempt([entry.id for entry in broken])
    await uow.cases.mark_delivered([entry.id for entry in given_up])
    for entry in given_up:
        log.error("case relay: gave up timeline entry %s (%s), which could not be planned "
                  "%d times", entry.id, entry.kind, max_attempts)
    return parcels


async def _parcel(uow: UnitOfWork, secret: bytes, tree: UnitTree, topics: Topics,
                  default_language: str, entry: CaseMessage, case: Case) -> Parcel:
    people = await _people_of(uow, {i for i in (entry.person_id, case.handler_id) if i})
    into = await uow.cases.get(case.merged_into_id) if case.merged_into_id else None
    target = tree.by_id.get(case.request_unit_id) if case.request_unit_id else None
    if entry.notify == timeline.TO_RESIDENT:
        recipients = await _residents(uow, secret, entry, case)
    else:
        staff = await _staff(uow, tree, topics, entry, case)
        recipients = await _chats(uow, [p for p in staff if p.id != entry.person_id],
                                  default_language)
    author = people.get(entry.person_id) if entry.person_id else None
    handler = people.get(case.handler_id) if case.handler_id else None
    return Parcel(
        entry=entry, case=case, unit=Names.of(tree.by_id[case.unit_id]),
        recipients=tuple(recipients), author=Names.of(author) if author else None,
        handler=Names.of(handler) if handler else None,
        target=Names.of(target) if target else None, into=into.number if into else None,
        params=dict(entry.params or {}), photos=await _photos(uow, entry),
    )


# Which part of a case's photos an entry's ``params.photos`` names, by the entry's kind.
_PHOTO_PARTS = {timeline.RESOLUTION: "resolution", timeline.MESSAGE: "relay"}


async def _photos(uow: UnitOfWork, entry: CaseMessage) -> tuple[RelayPhoto, ...]:
    """The photos that go with the entry, in the order it names them."""
    part = _PHOTO_PARTS.get(entry.kind)
    named = (entry.params or {}).get("photos")
    if part is None or not isinstance(named, list) or not named:
        return ()
    kept = {p.sha256: p.path for p in await uow.cases.photos(entry.case_id) if p.part == part}
    return tuple(RelayPhoto(sha, kept[sha]) for sha in dict.fromkeys(named)
                 if isinstance(sha, str) and sha in kept)


async def _people_of(uow: UnitOfWork, ids: Collection[int]) -> dict[int, Person]:
    if not ids:
        return {}
    return {p.id: p for p in await uow.session.scalars(
        select(Person).where(Person.id.in_(list(ids))))}


async def _residents(uow: UnitOfWork, secret: bytes, entry: CaseMessage,
                     case: Case) -> list[Recipient]:
    """The case's resident, if they can be told; for what became of the problem (a
    resolution, a rejection) also the residents of the cases merged into it."""
    sealed = (await closing.reporters(uow, case) if entry.kind in closing.FOR_EVERY_REPORTER
              else [case])
    found = []
    for each in sealed:
        seal = await uow.cases.seal_of(each.id)
        reporter = sealing.unseal(secret, each.id, seal) if seal is not None else None
        if reporter is not None and reporter.chat_id is not None:
            found.append(Recipient(reporter.chat_id, reporter.language, sealed_case=each.id,
                                   number=each.number))
    return found


async def _staff(uow: UnitOfWork, tree: UnitTree, topics: Topics, entry: CaseMessage,
                 case: Case) -> list[Person]:
    if case.unit_id not in tree.by_id:
        return []
    # An admin's answer to a request names who asked: a transfer clears the case's handler.
    handler_id = (entry.params or {}).get("handler_id") or case.handler_id
    if entry.notify == timeline.TO_HANDLER and isinstance(handler_id, int):
        handler = await uow.session.scalar(
            select(Person).where(Person.id == handler_id)
            .options(selectinload(Person.roles)))
        return [handler] if handler is not None else []
    if entry.notify in (timeline.TO_HANDLER, timeline.TO_UNIT):
        return await routing.routed_staff(uow, tree, case.unit_id, case.category, topics)
    if entry.notify == timeline.TO_ADMINS:
        escalation = (entry.params or {}).get("escalation") or case.escalation
        inspectors = entry.kind == timeline.ESCALATED and escalation == NOT_SOLVED
        return await routing.unit_supervisors(uow, tree, case.unit_id, inspectors=inspectors)
    return []


async def _chats(uow: UnitOfWork, people: Sequence[Person],
                 default_language: str) -> list[Recipient]:
    contact_ids = [p.contact_id for p in people if p.contact_id is not None]
    contacts = {c.id: c for c in await uow.session.scalars(
        select(Contact).where(Contact.id.in_(contact_ids)))} if contact_ids else {}
    found: dict[int, Recipient] = {}
    for person in people:
        contact = contacts.get(person.contact_id) if person.contact_id else None
        if contact is not None and contact.chat_id not in found:
            found[contact.chat_id] = Recipient(
                contact.chat_id, resolve_language(contact, None, default_language),
                person_id=person.id)
    return list(found.values())


@dataclass(frozen=True)
class Settled:
    """What became of a parcel in one round. ``done``: every recipient was handled (sent,
    gone or refused for good); ``failed``: a network failure left some unsent (an attempt
    counts); ``blocked``: residents who have blocked the bot."""

    parcel: Parcel
    done: bool
    failed: bool = False
    blocked: tuple[Recipient, ...] = ()


async def record(uow: UnitOfWork, secret: bytes, settled: Sequence[Settled], now: datetime,
                 *, max_attempts: int) -> list[Parcel]:
    """Mark what was delivered; count failed attempts, giving up after ``max_attempts``;
    tell the handler of residents who can no longer be reached (their seal loses the chat);
    and drop the seals that nothing needs any more. Returns the parcels given up."""
    for each in settled:
        for resident in each.blocked:
            await _unreachable(uow, secret, each.parcel, resident, now)
    retry = [s.parcel for s in settled if not s.done and s.failed]
    given_up = [p for p in retry if p.entry.attempts + 1 >= max_attempts]
    await uow.cases.count_attempt([p.entry.id for p in retry])
    await uow.cases.mark_delivered([s.parcel.entry.id for s in settled if s.done]
                                   + [p.entry.id for p in given_up])
    await supervision.release_seals(uow, {s.parcel.case.id for s in settled})
    return given_up


async def _unreachable(uow: UnitOfWork, secret: bytes, parcel: Parcel, resident: Recipient,
                       now: datetime) -> None:
    """The resident blocked the bot: their seal keeps only what counts their open cases, and
    the handler is told they can no longer be reached (once)."""
    assert resident.sealed_case is not None
    sealed = await uow.cases.seal_of(resident.sealed_case)
    reporter = sealing.unseal(secret, resident.sealed_case, sealed) if sealed else None
    if reporter is None or reporter.chat_id != resident.chat_id:
        return  # already resealed (or gone): told before
    await uow.cases.put_seal(resident.sealed_case, sealing.seal(
        secret, resident.sealed_case,
        sealing.Reporter(reporter.quota_key, None, reporter.language)))
    case = await uow.cases.get(parcel.case.id)
    if case is None:
        return
    params = {"report": resident.number} if resident.number != case.number else None
    await timeline.record(uow, case, timeline.UNREACHABLE, timeline.TO_HANDLER,
                          author=supervision.SYSTEM, actor=supervision.SYSTEM, at=now,
                          params=params)
