"""The broadcast outbox: messages queued per contact, claimed, sent and counted against each
person's monthly budget of prompts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update

from storage.db import Repository, dialect_insert
from storage.models import Campaign, Contact, OutboxMessage, OutboxStatus

# Statuses that use up a person's monthly budget of prompts.
_COUNTED = (OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.SENT)


@dataclass(frozen=True)
class Delivery:
    """A claimed outbox row with what is needed to write and address the message."""

    id: int
    kind: str
    campaign_id: int
    contact_id: int
    chat_id: int
    telegram_user_id: int
    language: str | None
    attempts: int


class OutboxRepository(Repository):
    async def enqueue(
        self, campaign_id: int, kind: str, due_at: datetime,
        contact_ids: Sequence[int], status: OutboxStatus = OutboxStatus.PENDING,
        reason: str | None = None,
    ) -> int:
        """Queue one message per contact; those already queued for it are left alone.

        Returns how many rows were added.
        """
        if not contact_ids:
            return 0
        existing = set(await self.session.scalars(
            select(OutboxMessage.contact_id).where(
                OutboxMessage.campaign_id == campaign_id, OutboxMessage.kind == kind
            )
        ))
        fresh = [c for c in contact_ids if c not in existing]
        for start in range(0, len(fresh), 500):
            chunk = fresh[start:start + 500]
            await self.session.execute(
                dialect_insert(self.session, OutboxMessage)
                .values([
                    {"campaign_id": campaign_id, "contact_id": c, "kind": kind,
                     "status": status.value, "due_at": due_at, "attempts": 0,
                     "last_error": reason}
                    for c in chunk
                ])
                .on_conflict_do_nothing(index_elements=["campaign_id", "contact_id", "kind"])
            )
        return len(fresh)

    async def prompts_between(
        self, start: datetime, end: datetime, contact_ids: Sequence[int] | None = None,
        cadre_questionnaires: bool = False,
    ) -> dict[int, int]:
        """Messages per contact due in [start, end) that count toward the monthly budget.

        With ``cadre_questionnaires``, only invitations to campaigns for cadres.
        """
        query = (
            select(OutboxMessage.contact_id, func.count())
            .where(OutboxMessage.due_at >= start, OutboxMessage.due_at < end,
                   OutboxMessage.status.in_(_COUNTED))
            .group_by(OutboxMessage.contact_id)
        )
        if cadre_questionnaires:
            query = query.join(Campaign, Campaign.id == OutboxMessage.campaign_id).where(
                OutboxMessage.kind == "invite", Campaign.audience == "cadres"
            )
        counts: dict[int, int] = {}
        if contact_ids is None:
            for contact_id, n in await self.session.execute(query):
                counts[contact_id] = int(n)
            return counts
        for at in range(0, len(contact_ids), 500):
            chunk = contact_ids[at:at + 500]
            for contact_id, n in await self.session.execute(
                query.where(OutboxMessage.contact_id.in_(chunk))
            ):
                counts[contact_id] = int(n)
        return counts

    async def contacts_with(self, campaign_id: int, kind: str, sent_only: bool = False
                            ) -> set[int]:
        statuses = (OutboxStatus.SENT,) if sent_only else _COUNTED
        return set(await self.session.scalars(
            select(OutboxMessage.contact_id).where(
                OutboxMessage.campaign_id == campaign_id, OutboxMessage.kind == kind,
                OutboxMessage.status.in_(statuses),
            )
        ))

    async def lock_budget(self) -> None:
        """Serialise budget checks with their enqueues until the transaction ends.

        SQLite transactions here begin IMMEDIATE, which already serialises writers.
        """
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(text("SELECT pg_advisory_xact_lock(7710002)"))

    async def kinds(self, campaign_id: int) -> dict[str, datetime]:
        """Each kind of message queued for the campaign, with when it was first due."""
        rows = await self.session.execute(
            select(OutboxMessage.kind, func.min(OutboxMessage.due_at))
            .where(OutboxMessage.campaign_id == campaign_id)
            .group_by(OutboxMessage.kind)
        )
        return {kind: due for kind, due in rows}

    async def progress(self, campaign_id: int) -> dict[tuple[str, OutboxStatus], int]:
        rows = await self.session.execute(
            select(OutboxMessage.kind, OutboxMessage.status, func.count())
            .where(OutboxMessage.campaign_id == campaign_id)
            .group_by(OutboxMessage.kind, OutboxMessage.status)
        )
        return {(kind, status): int(n) for kind, status, n in rows}

    async def uncount_attempt(self, outbox_id: int) -> None:
        await self.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == outbox_id)
            .values(attempts=OutboxMessage.attempts - 1)
        )

    async def cancel_pending(self, campaign_id: int, reason: str) -> int:
        result = await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.campaign_id == campaign_id,
                   OutboxMessage.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.SKIPPED, last_error=reason)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def requeue_in_flight(self) -> int:
        """After a crash: messages handed to Telegram but not confirmed go out again."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.SENDING)
            .values(status=OutboxStatus.PENDING)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def due(self, now: datetime, limit: int) -> list[Delivery]:
        rows = await self.session.execute(
            select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.campaign_id,
                   OutboxMessage.contact_id, Contact.chat_id, Contact.telegram_user_id,
                   Contact.language, OutboxMessage.attempts)
            .join(Contact, Contact.id == OutboxMessage.contact_id)
            .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.due_at <= now)
            .order_by(OutboxMessage.due_at, OutboxMessage.id)
            .limit(limit)
            # Rows another transaction is changing (a campaign closing) are left for later.
            .with_for_update(of=OutboxMessage, skip_locked=True)
        )
        return [Delivery(*row) for row in rows]

    async def depth(self) -> int:
        """Messages waiting to be sent (due or not)."""
        return int(await self.session.scalar(
            select(func.count()).select_from(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING)) or 0)

    async def sending_to(self, contact_id: int) -> bool:
        """Whether a message to the contact is being handed to Telegram right now."""
        return bool(await self.session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.contact_id == contact_id,
                                           OutboxMessage.status == OutboxStatus.SENDING)
            .limit(1)))

    async def next_due(self) -> datetime | None:
        return await self.session.scalar(
            select(func.min(OutboxMessage.due_at))
            .where(OutboxMessage.status == OutboxStatus.PENDING)
        )

    async def mark(
        self, ids: Sequence[int], status: OutboxStatus, *, now: datetime | None = None,
        error: str | None = None, due_at: datetime | None = None, attempt: bool = False,
    ) -> None:
        if not ids:
            return
        values: dict[str, Any] = {"status": status}
        if status == OutboxStatus.SENT:
            values["sent_at"] = now
        if error is not None:
            values["last_error"] = error[:200]
        if due_at is not None:
            values["due_at"] = due_at
        if attempt:
            values["attempts"] = OutboxMessage.attempts + 1
        for at in range(0, len(ids), 500):
            await self.session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_(ids[at:at + 500]))
                .values(**values).execution_options(synchronize_session=False)
            )
