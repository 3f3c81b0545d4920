"""Questionnaires, campaigns, their entry points and runs, and the outbox that sends
invitations."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, Created, _enum
from storage.models.people import Unit


class SurveyVersion(Created, Base):
    """A stored questionnaire definition; each response records the version it answered."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    checksum: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (
        UniqueConstraint("slug", "version", name="uq_surveys_slug_version"),
        UniqueConstraint("slug", "checksum", name="uq_surveys_slug_checksum"),
    )


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"


# "Live": the campaign still has work ahead (steps to run, invitations to send, answers to
# take); a draft has not started and a closed one is over. Used by queries and by Python checks.
LIVE_STATUSES = (CampaignStatus.SCHEDULED, CampaignStatus.OPEN)


class Campaign(Created, Base):
    """One run of a survey for an audience between an opening and a closing time."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="RESTRICT"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    status: Mapped[CampaignStatus] = mapped_column(_enum(CampaignStatus, "campaign_status"))
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # Who is asked: residents who opted in to the unit, or the cadres of the unit.
    audience: Mapped[str] = mapped_column(String(16), server_default="residents")
    # The zone times were given in and recurrences follow; stored times are UTC.
    timezone: Mapped[str] = mapped_column(String(64), server_default="UTC")
    # Seconds before closing at which those who have not finished are reminded.
    reminders: Mapped[list[int]] = mapped_column(JSON, default=list, server_default="[]")
    # "monthly", "quarterly" or "cron:<expression>": creates the series' next campaign.
    recurrence: Mapped[str | None] = mapped_column(String(128))
    target_responses: Mapped[int | None] = mapped_column(Integer)
    # The code of the series' first campaign; each run of a recurrence shares it.
    series: Mapped[str | None] = mapped_column(String(64))

    survey: Mapped[SurveyVersion] = relationship()
    unit: Mapped[Unit] = relationship()

    __table_args__ = (
        CheckConstraint("closes_at IS NULL OR closes_at > opens_at", name="closes_after_opens"),
        CheckConstraint("audience IN ('residents', 'cadres')", name="audience_known"),
        CheckConstraint("target_responses IS NULL OR target_responses > 0", name="target_positive"),
        # The dashboard's list: a page of one status, newest first, read in index order; and
        # the campaigns of a scope's units, by status.
        Index("ix_campaigns_status_opens_at", "status", "opens_at"),
        Index("ix_campaigns_unit_status", "unit_id", "status"),
    )


class EntryPoint(Created, Base):
    """A named way into a campaign (one QR code per service window or event)."""

    __tablename__ = "entry_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(24))
    label: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        UniqueConstraint("campaign_id", "name", name="uq_entry_points_campaign_name"),
    )


class CampaignRun(Base):
    """A scheduled step of a campaign that has run (open, invite, remind:<s>, close, recur).

    Recorded in the same transaction as the step's effect, so nothing runs twice.
    """

    __tablename__ = "campaign_runs"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    job: Mapped[str] = mapped_column(String(32), primary_key=True)
    ran_at: Mapped[datetime]
    # What the step did, e.g. {"queued": 120, "skipped": {"opted_out": 3}}.
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class OutboxMessage(Base):
    """One message to one recipient (an invitation or a reminder), sent at most once.

    ``sending`` marks a row handed to Telegram; rows still ``sending`` after a crash are sent
    again, which is the only way a recipient can get a message twice.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))  # invite, remind:<seconds>, remind:now<n>
    status: Mapped[OutboxStatus] = mapped_column(_enum(OutboxStatus, "outbox_status"))
    due_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("campaign_id", "contact_id", "kind", name="uq_outbox_message"),
        Index("ix_outbox_status_due_at", "status", "due_at"),
        Index("ix_outbox_contact_due_at", "contact_id", "due_at"),
    )
