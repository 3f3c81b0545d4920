"""The append-only, hash-chained audit trail of who did what."""

from __future__ import annotations

import hashlib
import json
import math
import time
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, Table, case, cast, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.bulk import insert_rows
from storage.clock import Clock, utcnow
from storage.db import Repository
from storage.models import AuditEvent

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class Anchor:
    """The log's head as recorded elsewhere (a published appraisal keeps one): the hash of
    the event that was then the newest, and how many events the log had up to it."""

    label: str  # what recorded it, as a reader is told ("appraisal 2026-Q4 version 2")
    hash: str
    events: int


@dataclass(frozen=True)
class ChainCheck:
    """What checking the log found: ``broken_at`` is the first event that breaks the chain
    (edited, or one before it deleted); ``missing`` the anchors the log no longer reaches (its
    newest events, or all of them, deleted: the chain alone cannot see that)."""

    events: int
    broken_at: int | None
    missing: tuple[tuple[Anchor, int | None], ...]  # (anchor, where its hash is now; None: gone)
    anchors: int

    @property
    def intact(self) -> bool:
        return self.broken_at is None and not self.missing


@dataclass(frozen=True)
class Verified:
    """How far a walk of the chain found it intact, for the next check to go on from: the
    event ``last_id`` (hash ``hash``) was number ``events``; ``at`` is where each anchor's
    hash was found (its number)."""

    last_id: int
    hash: str
    events: int
    at: Mapping[str, int]


class KeptCheck:
    """The chain as the last check of this process found it, so that the next one reads only
    the events added since (the dashboard's audit log page: a county's log grows by thousands
    of events a quarter, and checking it all on every load grows with it).

    Each check makes sure the newest event checked is still there with its hash (one row by
    its key): the newest events deleted, or the chain rebuilt after an edit, are seen at once.
    An event deleted or added among the older ones shows as fewer or more events up to it,
    which is counted at most every ``recount_s`` seconds (counting grows with the log, if far
    more slowly than hashing it)."""

    def __init__(self, recount_s: float = 60.0) -> None:
        self.recount_s = recount_s
        self._verified: Verified | None = None
        self._counted = -math.inf

    async def check(self, audit: AuditRepository, anchors: Sequence[Anchor]) -> ChainCheck:
        now = time.monotonic()
        recount = now - self._counted >= self.recount_s
        found, verified = await audit.check_from(anchors, self._verified, recount=recount)
        if recount:
            self._counted = now
        if verified is None or self._verified is None or \
                verified.last_id >= self._verified.last_id:
            self._verified = verified
        return found


def _canonical(payload: Mapping[str, Any]) -> str:
    return json.dumps(
        payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )


def audit_hash(prev_hash: str, event: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + _canonical(event)).encode("utf-8")).hexdigest()


def _hashed_fields(event: AuditEvent) -> dict[str, Any]:
    """What an event's hash covers, in the form it is stored in (and read back from)."""
    return {
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "entity": event.entity,
        "entity_id": event.entity_id,
        "before": event.before,
        "after": event.after,
    }


_EVENT_COLUMNS = ("at", "actor", "action", "entity", "entity_id", "before", "after",
                  "prev_hash", "hash")


def _event(at: datetime, actor: str, action: str, entity: str, entity_id: str | int | None,
           before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
           ) -> dict[str, Any]:
    """An event's fields as stored and hashed (``at`` as a datetime)."""
    return {
        "at": at, "actor": actor, "action": action, "entity": entity,
        "entity_id": None if entity_id is None else str(entity_id),
        # As JSON will give them back, so the hash checks out when read.
        "before": _as_json(before), "after": _as_json(after),
    }


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _as_json(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``value`` as JSON gives it back: a flat mapping of text keys to scalars comes back
    the same (a province's import writes 100,000 of them); anything else goes through it."""
    if value is None:
        return None
    if all(type(k) is str and type(v) in _SCALARS for k, v in value.items()):
        return dict(value)
    loaded: dict[str, Any] = json.loads(_canonical(value))
    return loaded


# Core inserts of plain rows: the ORM's bulk path costs more than the rows' hashes do.
_TABLE = typing.cast(Table, AuditEvent.__table__)

# One event of ``record_many``: action, entity, entity id, before, after.
Change = tuple[str, str, str | int | None, Mapping[str, Any] | None, Mapping[str, Any] | None]


class AuditRepository(Repository):
    """Append-only, hash-chained log of who did what."""

    def __init__(self, session: AsyncSession, clock: Clock = utcnow) -> None:
        super().__init__(session)
        self.clock = clock

    async def record(
        self, actor: str, action: str, entity: str, entity_id: str | int | None = None,
        before: Mapping[str, Any] | None = None, after: Mapping[str, Any] | None = None,
        at: datetime | None = None,
    ) -> AuditEvent:
        """Append an event. ``at`` is when it happened if not now: a resident's case entry is
        logged later, in a shuffled batch, with only its coarse time (surveys.cases.supervision)."""
        event = self._chained(await self._newest_locked(), at, actor, action, entity, entity_id,
                              before, after)
        self.session.add(event)
        await self.session.flush()
        return event

    async def record_many(self, actor: str, events: Sequence[Change]) -> int:
        """Append many events, chained in the order given, with one lock, one read of the
        newest hash and insert statements of thousands of rows (a province's units import:
        100,000 events). Returns how many."""
        prev = await self._newest_locked()
        now = self.clock()
        rows: list[dict[str, Any]] = []
        for action, entity, entity_id, before, after in events:
            row = _event(now, actor, action, entity, entity_id, before, after)
            row["prev_hash"], row["hash"] = prev, audit_hash(prev, {**row, "at": now.isoformat()})
            prev = row["hash"]
            rows.append(row)
        # The rows take their ids in the order given: the chain's order.
        await insert_rows(self.session, _TABLE, _EVENT_COLUMNS, rows)
        return len(rows)

    async def _newest_locked(self) -> str:
        bind = self.session.get_bind()
        if bind.dialect.name == "postgresql":
            # Serialise appenders so two transactions cannot fork the chain.
            await self.session.execute(text("SELECT pg_advisory_xact_lock(7710001)"))
        prev = await self.session.scalar(
            select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
        )
        return prev or GENESIS_HASH

    def _chained(self, prev: str, at: datetime | None, actor: str, action: str, entity: str,
                 entity_id: str | int | None = None, before: Mapping[str, Any] | None = None,
                 after: Mapping[str, Any] | None = None) -> AuditEvent:
        event = AuditEvent(**_event(self.clock() if at is None else at, actor, action, entity,
                                    entity_id, before, after), prev_hash=prev)
        event.hash = audit_hash(event.prev_hash, _hashed_fields(event))
        return event

    async def newest_hash(self) -> str | None:
        """The newest event's hash (None for an empty log): one row by the primary key."""
        return await self.session.scalar(
            select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))

    async def newest_about(self, entities: Sequence[str]) -> int | None:
        """The id of the newest event about any of these kinds of record (None: none), each
        read backwards along the (entity, id) index: what something kept of those records
        is kept under."""
        newest = [select(func.max(AuditEvent.id)).where(AuditEvent.entity == entity)
                  .scalar_subquery() for entity in entities]
        [found] = await self.plain(select(*newest))
        return max((i for i in found if i is not None), default=None)

    async def head(self) -> tuple[str, int]:
        """The newest event's hash and the number of events: what an anchor records. Within
        ``record``'s transaction (whose lock on PostgreSQL is held to the commit) nothing can
        be appended in between."""
        newest = await self.session.scalar(
            select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
        count = await self.session.scalar(select(func.count()).select_from(AuditEvent))
        return newest or GENESIS_HASH, int(count or 0)

    async def verify(self) -> int | None:
        """Return the id of the first event that breaks the chain, or None if it is intact."""
        return (await self.check(())).broken_at

    async def check(self, anchors: Sequence[Anchor]) -> ChainCheck:
        """Walk the chain from the start, and check that each anchor's event is still where
        it was: the event numbered ``anchor.events`` has ``anchor.hash``. An intact chain
        shorter than an anchor, or one rebuilt after an edit, fails it."""
        return (await self.check_from(anchors, None))[0]

    async def check_from(self, anchors: Sequence[Anchor], since: Verified | None, *,
                         recount: bool = True) -> tuple[ChainCheck, Verified | None]:
        """:meth:`check`, walking only the events after ``since`` (an earlier walk that found
        the chain intact) if what it walked is still there as it was: its newest event with
        the same hash, and (``recount``) as many events up to it. A deletion or an insertion
        before it, or a chain rebuilt after an edit, makes it walk from the start again.
        Returns the check and where the walk got to, for the next one (None: the chain is
        broken)."""
        wanted = {a.hash for a in anchors}
        prev_hash, count, after = GENESIS_HASH, 0, 0
        at: dict[str, int | None] = {}
        if since is not None and await self._still(since, recount):
            prev_hash, count, after = since.hash, since.events, since.last_id
            at.update(since.at)
        broken, last_id = None, after
        for event in await self.session.scalars(
                select(AuditEvent).where(AuditEvent.id > after).order_by(AuditEvent.id)):
            count += 1
            if broken is None and (
                    event.prev_hash != prev_hash
                    or event.hash != audit_hash(prev_hash, _hashed_fields(event))):
                broken = event.id
            if event.hash in wanted:
                at[event.hash] = count
            prev_hash, last_id = event.hash, event.id
        for anchor in anchors:
            if anchor.hash not in at and broken is None:
                # Recorded after the walk that verified its event: where that event is now.
                at[anchor.hash] = await self._number_of(anchor.hash)
        missing = tuple((a, at.get(a.hash)) for a in anchors if at.get(a.hash) != a.events)
        check = ChainCheck(count, broken, missing, len(anchors))
        if broken is not None:
            return check, None
        found = {h: n for h, n in at.items() if n is not None}
        return check, Verified(last_id, prev_hash, count, found)

    async def _still(self, since: Verified, recount: bool) -> bool:
        """Whether the event ``since.last_id`` still has the same hash (one row by its key)
        and, with ``recount``, the events up to it are as many as then (one aggregate over
        the primary key's index)."""
        if not recount:
            found = await self.plain(
                select(AuditEvent.hash).where(AuditEvent.id == since.last_id))
            return [row[0] for row in found] == [since.hash]
        [(count, last)] = await self.plain(
            select(func.count(), func.max(case((AuditEvent.id == since.last_id,
                                                AuditEvent.hash))))
            .where(AuditEvent.id <= since.last_id))
        return (int(count), last) == (since.events, since.hash)

    async def _number_of(self, event_hash: str) -> int | None:
        """The event's number in the log (1 for the oldest), or None: no event has that hash."""
        event_id = await self.session.scalar(
            select(AuditEvent.id).where(AuditEvent.hash == event_hash))
        if event_id is None:
            return None
        return int(await self.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.id <= event_id)) or 0)

    async def of(self, entity: str, entity_id: str | None = None,
                 limit: int = 200) -> Sequence[AuditEvent]:
        """Events about one kind of record (or one record), oldest first."""
        query = select(AuditEvent).where(AuditEvent.entity == entity)
        if entity_id is not None:
            query = query.where(AuditEvent.entity_id == entity_id)
        newest = query.order_by(AuditEvent.id.desc()).limit(limit).subquery()
        return (await self.session.scalars(
            select(AuditEvent).join(newest, AuditEvent.id == newest.c.id).order_by(AuditEvent.id)
        )).all()

    async def recent(self, limit: int = 50, *, before: int | None = None
                     ) -> Sequence[AuditEvent]:
        """The newest events (older than the event ``before``, for a next page), newest
        first."""
        query = select(AuditEvent)
        if before is not None:
            query = query.where(AuditEvent.id < before)
        return (await self.session.scalars(
            query.order_by(AuditEvent.id.desc()).limit(limit))).all()

    async def search(self, needle: str, actors: Sequence[str] = (),
                     limit: int = 100, *, before: int | None = None) -> Sequence[AuditEvent]:
        """The newest events that mention ``needle`` (case-insensitively: the record's kind
        or id, the action, who did it, or anything in the states before and after: a case
        number, a period, a campaign code), or done by one of ``actors``; newest first (older
        than the event ``before``, for a next page)."""
        query = select(AuditEvent)
        if before is not None:
            query = query.where(AuditEvent.id < before)
        if needle:
            found = [AuditEvent.entity_id == needle,
                     *(column.icontains(needle, autoescape=True) for column in (
                         AuditEvent.entity, AuditEvent.action, AuditEvent.actor,
                         cast(AuditEvent.before, String), cast(AuditEvent.after, String)))]
            if actors:
                found.append(AuditEvent.actor.in_(list(actors)))
            query = query.where(or_(*found))
        return (await self.session.scalars(
            query.order_by(AuditEvent.id.desc()).limit(limit))).all()
