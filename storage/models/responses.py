"""Residents' answers: the session saying which poll someone is answering, responses and
answers. Nothing here holds a Telegram id (see the package docstring)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, BigId, _enum, random_id
from storage.models.campaigns import Campaign


class RespondentSession(Base):
    """Which poll a person is answering now, and the message showing its question.

    Keyed by an HMAC of the Telegram id
    (``surveys.respondents.anonymity.session_key``), so without the
    secret nothing joins it to a contact; no timestamps, and no rowid on SQLite, so neither
    its order nor its times can be matched with the contacts'.
    """

    __tablename__ = "respondent_sessions"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    prompt_message_id: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = ({"sqlite_with_rowid": False},)


class ResponseStatus(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class Response(Base):
    """One respondent's answers to one campaign. No Telegram ids here, by design; a random id
    and times only to the privacy resolution, so the order people answered in is not kept."""

    __tablename__ = "responses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False,
                                    default=random_id)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="RESTRICT"))
    respondent_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[ResponseStatus] = mapped_column(_enum(ResponseStatus, "response_status"))
    current_question: Mapped[str | None] = mapped_column(String(32))
    # Bumped on every change of state; buttons carry it, so a stale or replayed tap is refused
    # and two concurrent taps cannot both apply (compare-and-set on this column).
    step: Mapped[int] = mapped_column(Integer, default=0)
    # Options ticked so far on a multiple-choice question, before "Done".
    draft: Mapped[list[str] | None] = mapped_column(JSON)
    language: Mapped[str] = mapped_column(String(8))
    # Both rounded down to the privacy resolution (surveys.respondents.anonymity.coarse).
    started_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    # How long the person took, set on completion (the anomaly detectors need it).
    duration_s: Mapped[int | None] = mapped_column(Integer)
    # The exact start, encrypted with the secret while the response is in progress, so the
    # duration can be computed; emptied on completion.
    sealed_start: Mapped[str | None] = mapped_column(String(64))
    # Rewritten in a shuffled batch since its last change (PostgreSQL keeps rows in the
    # order they were written, and stamps each with its transaction: see
    # ResponsesRepository.reshuffle).
    shuffled: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # The named entry point (a service window, an event) whose link or QR code was used.
    entry_point: Mapped[str | None] = mapped_column(String(24))
    # Only for surveys that are not anonymous (a cadre's self-assessment): whose answers
    # these are. Always NULL for residents' answers.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))

    answers: Mapped[list[Answer]] = relationship(
        back_populates="response", cascade="all, delete-orphan", passive_deletes=True
    )
    campaign: Mapped[Campaign] = relationship(lazy="raise")

    __table_args__ = (
        UniqueConstraint("campaign_id", "respondent_key", name="uq_responses_campaign_respondent"),
        # One self-assessment per cadre and campaign, even from a second account (residents'
        # rows have no person, and NULLs never collide).
        UniqueConstraint("campaign_id", "person_id", name="uq_responses_campaign_person"),
        # A campaign's progress (storage.responses.ResponsesRepository.tally) is counted from
        # this index alone, never from the rows; its first two columns serve (campaign, status).
        Index("ix_responses_campaign_progress", "campaign_id", "status", "completed_at",
              "entry_point"),
        Index("ix_responses_person_id", "person_id"),
    )


class Answer(Base):
    """One answer. Typed columns so statistics can be aggregated in SQL."""

    __tablename__ = "answers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False,
                                    default=random_id)
    response_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("responses.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(String(32))
    question_type: Mapped[str] = mapped_column(String(16))
    indicator: Mapped[str | None] = mapped_column(String(32))
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)
    value_number: Mapped[float | None] = mapped_column(Float)
    value_text: Mapped[str | None] = mapped_column(Text)
    value_choices: Mapped[list[str] | None] = mapped_column(JSON)

    response: Mapped[Response] = relationship(back_populates="answers")

    __table_args__ = (
        UniqueConstraint("response_id", "question_id", name="uq_answers_response_question"),
    )
