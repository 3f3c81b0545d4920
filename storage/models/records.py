"""What the bot keeps about its own work: processed updates and the hash-chained audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Index,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class ProcessedUpdate(Base):
    """Updates already handled, so a redelivered update changes nothing.

    Keyed on the update id and a keyed digest of the update's content: ids restart, and a new
    update reusing an id must not pass for a redelivery. Nothing here names a person, and the
    time is kept to the hour (it only serves pruning).
    """

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    digest: Mapped[str] = mapped_column(String(32), primary_key=True, server_default="")
    processed_at: Mapped[datetime] = mapped_column(server_default=func.now())


class AuditEvent(Base):
    """Who did what, when, with the state before and after.

    Each row carries the hash of the previous row, so a deleted or edited row breaks the chain.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    __table_args__ = (
        Index("ix_audit_events_entity", "entity", "entity_id"),
        # The newest event about a kind of record (what is kept of those records is kept
        # until it moves: the anomaly flags of a period).
        Index("ix_audit_events_entity_newest", "entity", "id"),
    )


class Revision(Base):
    """A token that changes, to a new random value, in every transaction that writes a kind of
    rows (``units``): a process keeps what it built from those rows (the unit tree) while the
    token it read is unchanged. Random, not counted: a token from a transaction that rolled
    back never comes again."""

    __tablename__ = "revisions"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    token: Mapped[int] = mapped_column(BigInteger)
