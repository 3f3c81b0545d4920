"""Cadres and inspectors: key tasks, invites, progress notes, inspections, photo evidence."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Created, Located, _enum


class KeyTask(Created, Base):
    """A key task or indicator a cadre answers for; notes and inspections refer to it."""

    __tablename__ = "key_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(120))
    # The appraisal indicator the task feeds, if any (e.g. "road_maintenance").
    indicator: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")

    __table_args__ = (
        UniqueConstraint("person_id", "title", name="uq_key_tasks_person_title"),
    )


class CadreInvite(Base):
    """A one-time link that ties a Telegram account to a cadre's profile.

    Only the SHA-256 of the token is kept: the link itself is shown once, to the admin.
    """

    __tablename__ = "cadre_invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]
    used_by_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL")
    )
    # A newer link for the same profile revokes the older ones.
    revoked_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("expires_at > created_at", name="expires_after_created"),
        Index("ix_cadre_invites_person_id", "person_id"),
    )


class NoteStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"


class Note(Located, Base):
    """A cadre's brief progress note. A record, not a quota: never counted toward a score."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("key_tasks.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[NoteStatus] = mapped_column(_enum(NoteStatus, "note_status"))
    # Bumped on each correction; every version is in the audit log.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_notes_person_created", "person_id", "created_at"),)


class Verdict(enum.StrEnum):
    ACHIEVED = "achieved"
    PARTLY = "partly"
    NOT_ACHIEVED = "not_achieved"


class Inspection(Located, Base):
    """What an inspector verified on site: the "verified results" source for appraisal."""

    __tablename__ = "inspections"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    # The cadre inspected, or NULL when the unit as a whole was.
    cadre_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("key_tasks.id", ondelete="SET NULL"))
    verdict: Mapped[Verdict] = mapped_column(_enum(Verdict, "verdict"))
    remark: Mapped[str] = mapped_column(Text)
    inspected_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_inspections_unit_inspected", "unit_id", "inspected_at"),
        Index("ix_inspections_cadre_id", "cadre_id"),
    )


class Evidence(Base):
    """A photo kept as evidence. The file is stored under its SHA-256, which is recorded here
    and in the audit log, so a swapped file no longer matches."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    sha256: Mapped[str] = mapped_column(String(64))
    # Relative to the evidence folder.
    path: Mapped[str] = mapped_column(String(200))
    size_bytes: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(32))
    telegram_file_unique_id: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime]
    # Set when the note or inspection it was sent with is saved; NULL while in a draft.
    note_id: Mapped[int | None] = mapped_column(ForeignKey("notes.id", ondelete="RESTRICT"))
    inspection_id: Mapped[int | None] = mapped_column(
        ForeignKey("inspections.id", ondelete="RESTRICT")
    )

    __table_args__ = (
        CheckConstraint("note_id IS NULL OR inspection_id IS NULL", name="one_owner"),
        Index("ix_evidence_note_id", "note_id"),
        Index("ix_evidence_inspection_id", "inspection_id"),
    )
