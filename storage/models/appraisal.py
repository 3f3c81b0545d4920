"""Analysis and appraisal: text scores, anomaly flags, KPI values, runs, results, appeals."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, _enum


class TextScore(Base):
    """The sentiment of one free text (a comment, a note, an inspection remark), kept with the
    analyser version that produced it, so a better analyser rescores rather than mixes."""

    __tablename__ = "text_scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "answer" (answers.id), "note" (notes.id) or "inspection" (inspections.id).
    source: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[int] = mapped_column(BigId)
    analyser: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    polarity: Mapped[float] = mapped_column(Float)
    label: Mapped[str] = mapped_column(String(8))
    # A comment whose text says the opposite of its response's rating (five stars, angry text).
    contradicts: Mapped[bool] = mapped_column(Boolean, default=False)
    scored_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("source", "source_id", "analyser", name="uq_text_scores_source_analyser"),
        CheckConstraint("polarity >= -1 AND polarity <= 1", name="polarity_range"),
    )


class AnomalyFlag(Base):
    """A response that looks gamed or careless. Kept, never deleted; excluded from scores
    unless an auditor dismissed the flag (judged the response genuine)."""

    __tablename__ = "anomaly_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("responses.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(String(300))
    detected_at: Mapped[datetime]
    # A dismissed flag stays on record (and survives reruns) but no longer excludes.
    dismissed_at: Mapped[datetime | None]
    dismissed_by: Mapped[str | None] = mapped_column(String(64))
    dismiss_reason: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (
        UniqueConstraint("response_id", "kind", name="uq_anomaly_flags_response_kind"),
    )


class KpiValue(Base):
    """An objective result for a unit and period, imported from a CSV file."""

    __tablename__ = "kpi_values"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    period: Mapped[str] = mapped_column(String(16))
    kpi: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)
    # The imported file's name and SHA-256, so a value can be traced to its source.
    source: Mapped[str] = mapped_column(String(300))
    imported_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("unit_id", "period", "kpi", name="uq_kpi_values_unit_period_kpi"),
        Index("ix_kpi_values_period", "period"),
    )


class AppraisalStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"


class AppraisalRun(Base):
    """One computation of a period's appraisal. Published runs are frozen: a recomputation is a
    new version, and the results' hash is kept here and in the audit log."""

    __tablename__ = "appraisal_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[AppraisalStatus] = mapped_column(_enum(AppraisalStatus, "appraisal_status"))
    computed_at: Mapped[datetime]
    computed_by: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime | None]
    published_by: Mapped[str | None] = mapped_column(String(64))
    # SHA-256 of the configuration the scores came from, and of the results themselves.
    config_hash: Mapped[str] = mapped_column(String(64))
    results_hash: Mapped[str] = mapped_column(String(64))
    # Totals for the run: responses used and excluded by reason, units, cadres, timings.
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The auditor whose approval made the publication take effect (four eyes), if one was
    # needed; ``published_by`` is who asked for it.
    approved_by: Mapped[str | None] = mapped_column(String(64))
    # The audit log's head when this version was published: the hash of its last event (the
    # publication's own) and how many events it had. The chain alone cannot tell that its
    # newest events were deleted; `civicpulse audit verify` checks it against these too.
    audit_head_hash: Mapped[str | None] = mapped_column(String(64))
    audit_head_events: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("period", "version", name="uq_appraisal_runs_period_version"),
        CheckConstraint("(audit_head_hash IS NULL) = (audit_head_events IS NULL)",
                        name="audit_head_whole"),
    )


class PublicationStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    # Settled without a decision: another version of the period was published meanwhile.
    LAPSED = "lapsed"


class PublicationRequest(Base):
    """Someone asked for a draft to be published; an auditor approves or refuses it (four
    eyes, ``appraisal.publish_requires_approval``). Kept after the decision, as its record."""

    __tablename__ = "publication_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("appraisal_runs.id", ondelete="RESTRICT"))
    status: Mapped[PublicationStatus] = mapped_column(
        _enum(PublicationStatus, "publication_status"))
    # Audit-log labels (person:<id>), as ``computed_by`` and ``published_by``.
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
    # Why an auditor refused it.
    reason: Mapped[str | None] = mapped_column(String(300))
    # When the auditors were told in chat that it awaits them (the bot's job: the request
    # may come from the command line, in another process).
    announced_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_publication_requests_run_id", "run_id"),
        Index("ix_publication_requests_status", "status"),
    )


class AppraisalResult(Base):
    """A unit's or a cadre's score, grade and explanation in one run."""

    __tablename__ = "appraisal_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("appraisal_runs.id", ondelete="RESTRICT"))
    # "unit" or "cadre"; a cadre's result also names the unit it is for.
    kind: Mapped[str] = mapped_column(String(8))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(24))
    score: Mapped[float | None] = mapped_column(Float)
    grade: Mapped[str | None] = mapped_column(String(32))
    rank: Mapped[int | None] = mapped_column(Integer)
    responses: Mapped[int] = mapped_column(Integer)
    recognition: Mapped[bool] = mapped_column(Boolean, default=False)
    exaggeration: Mapped[bool] = mapped_column(Boolean, default=False)
    # Components, weights, n, intervals, exclusions, themes, training and the explanation.
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (
        CheckConstraint("kind IN ('unit', 'cadre')", name="kind_known"),
        Index("ix_appraisal_results_run_id", "run_id"),
        Index("ix_appraisal_results_person_id", "person_id"),
        Index("ix_appraisal_results_unit_id", "unit_id"),
    )


class AppealStatus(enum.StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    REJECTED = "rejected"


class Appeal(Base):
    """A cadre contesting a published result, and the answer it got."""

    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(
        ForeignKey("appraisal_results.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[AppealStatus] = mapped_column(_enum(AppealStatus, "appeal_status"))
    created_at: Mapped[datetime]
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    answered_at: Mapped[datetime | None]

    __table_args__ = (
        # One appeal per result: a new published version gives a new result to contest.
        UniqueConstraint("result_id", "person_id", name="uq_appeals_result_person"),
        Index("ix_appeals_person_id", "person_id"),
        Index("ix_appeals_status", "status"),
        # The dashboard's list, newest first, a page at a time.
        Index("ix_appeals_created", "created_at", "id"),
    )
