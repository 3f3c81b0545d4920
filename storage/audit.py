"""The append-only, hash-chained audit trail of who did what."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.clock import Clock, utcnow
from storage.db import Repository
from storage.models import AuditEvent

GENESIS_HASH = "0" * 64


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
        bind = self.session.get_bind()
        if bind.dialect.name == "postgresql":
            # Serialise appenders so two transactions cannot fork the chain.
            await self.session.execute(text("SELECT pg_advisory_xact_lock(7710001)"))
        prev = await self.session.scalar(
            select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
        )
        event = AuditEvent(
            at=self.clock() if at is None else at,
            actor=actor,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            # As JSON will give them back, so the hash checks out when read.
            before=json.loads(_canonical(before)) if before is not None else None,
            after=json.loads(_canonical(after)) if after is not None else None,
            prev_hash=prev or GENESIS_HASH,
        )
        event.hash = audit_hash(event.prev_hash, _hashed_fields(event))
        self.session.add(event)
        await self.session.flush()
        return event

    async def verify(self) -> int | None:
        """Return the id of the first event that breaks the chain, or None if it is intact."""
        prev_hash = GENESIS_HASH
        for event in await self.session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
            if (event.prev_hash != prev_hash
                    or event.hash != audit_hash(prev_hash, _hashed_fields(event))):
                return event.id
            prev_hash = event.hash
        return None

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

    async def recent(self, limit: int = 50) -> Sequence[AuditEvent]:
        return (
            await self.session.scalars(
                select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
            )
        ).all()
