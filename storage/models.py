"""Typed SQLAlchemy 2 models.

Anonymity rule: ``responses`` and ``answers`` hold a pseudonymous respondent key, never a
Telegram user or chat id. Telegram ids live only in ``contacts``, which is used to send
messages and nothing else.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Stable constraint names so Alembic batch mode on SQLite can alter tables.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite keeps no zone, so we add it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC timestamps")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
    }


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as plain strings with a CHECK, so adding a value later is an easy migration.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )


# Ids of rows a reader must not be able to put in order (responses and answers): random,
# below 2**53 so they stay exact as JSON numbers. On SQLite the column must be exactly
# INTEGER PRIMARY KEY, so the id is the rowid and no hidden rowid keeps the insertion order.
# Columns holding such ids use the same type (plain INTEGER on SQLite is 64 bits too).
BigId = BigInteger().with_variant(Integer(), "sqlite")


def random_id() -> int:
    return secrets.randbelow(2**53 - 1) + 1


# An answer's id is its response's id times this, plus a slot: random as the response's, yet
# a response's answers sit together in id order (and so on disk), which the appraisal's scans
# over a million responses depend on.
ANSWER_SLOTS = 512


def answer_id(response_id: int, taken: Iterable[int] = ()) -> int:
    """The id for a new answer of ``response_id``, next to the ids ``taken`` by its others."""
    base = response_id * ANSWER_SLOTS
    used = {i - base for i in taken}
    slot = next(s for s in range(ANSWER_SLOTS) if s not in used)
    return base + slot


class Created:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Located:
    """Where a cadre's note or an inspector's record was made, when a location came with it."""

    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # Distance from the unit's centre; ``far_from_unit`` flags it (NULL: nothing to check).
    distance_km: Mapped[float | None] = mapped_column(Float)
    far_from_unit: Mapped[bool | None] = mapped_column(Boolean)


class Unit(Created, Base):
    """A place of work with residents it serves; units form a tree."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str | None] = mapped_column(String(200))  # see surveys.people.names
    type: Mapped[str] = mapped_column(String(64))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    population: Mapped[int | None] = mapped_column(Integer)
    # Where the unit is, so evidence located far from it can be flagged (optional; a unit
    # without a centre is checked against the nearest unit above it that has one).
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    radius_km: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    parent: Mapped[Unit | None] = relationship(remote_side=[id])

    __table_args__ = (
        CheckConstraint("population IS NULL OR population >= 0", name="population_nonnegative"),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
        CheckConstraint("latitude IS NULL OR (latitude >= -90 AND latitude <= 90)",
                        name="latitude_range"),
        CheckConstraint("longitude IS NULL OR (longitude >= -180 AND longitude <= 180)",
                        name="longitude_range"),
        CheckConstraint("radius_km IS NULL OR radius_km > 0", name="radius_positive"),
        Index("ix_units_parent_id", "parent_id"),
    )


class Contact(Base):
    """A Telegram account the bot may message. The only table with Telegram ids.

    No timestamps on purpose: a contact created or changed in the same transaction as an
    answer would share its time, and the two could be joined on it. No pointer to the poll
    the person is answering either (that is :class:`RespondentSession`, under a key only the
    secret can compute).
    """

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    language: Mapped[str | None] = mapped_column(String(8))
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Whether the person has been asked which units they want to hear from (asked once).
    units_chosen: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class Subscription(Base):
    """A resident's consent to be invited to polls about a unit (and the units below it).

    No timestamp, for the same reason as ``contacts``.
    """

    __tablename__ = "subscriptions"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    unit_id: Mapped[int] = mapped_column(
        ForeignKey("units.id", ondelete="CASCADE"), primary_key=True
    )

    __table_args__ = (Index("ix_subscriptions_unit_id", "unit_id"),)


class Role(enum.StrEnum):
    ADMIN = "admin"
    AUDITOR = "auditor"
    INSPECTOR = "inspector"
    CADRE = "cadre"


class Person(Created, Base):
    """Someone with a role: an admin, auditor, inspector or cadre (never a plain resident)."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str | None] = mapped_column(String(200))  # see surveys.people.names
    position: Mapped[str | None] = mapped_column(String(200))
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), unique=True
    )

    roles: Mapped[list[PersonRole]] = relationship(back_populates="person")


class PersonRole(Created, Base):
    __tablename__ = "person_roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    # Scope: the role applies to this unit's subtree; NULL means everywhere.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))

    person: Mapped[Person] = relationship(back_populates="roles")

    __table_args__ = (UniqueConstraint("person_id", "role", "unit_id", name="uq_person_role"),)


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


class AdminDialogue(Base):
    """Where an admin is in a guided chat dialogue (/newcampaign), kept across restarts."""

    __tablename__ = "admin_dialogues"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"),
                                           primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(32))
    # Bumped on every change; buttons carry it so a stale tap is refused.
    version: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime]


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
        Index("ix_responses_campaign_status", "campaign_id", "status"),
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

    __table_args__ = (Index("ix_audit_events_entity", "entity", "entity_id"),)


# --- cadres and inspectors ------------------------------------------------------------------


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


# --- analysis and appraisal -------------------------------------------------------------------


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

    __table_args__ = (
        UniqueConstraint("period", "version", name="uq_appraisal_runs_period_version"),
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
    )
