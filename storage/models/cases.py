"""Cases: problems residents raise, handled and called back."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy import text as sql
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, Located, _enum, random_id

#
# Anonymity (docs/privacy.md): no row here holds a Telegram id, a contact, a respondent or
# session key, a response or a campaign. Ids are random and residents' times are coarse, so
# neither order nor time pairs a case with a poll answer; who raised a case is known only
# through its sealed reply handle (``case_seals``), which only the bot process can open.


class CaseStatus(enum.StrEnum):
    OPEN = "open"  # waiting for a handler
    TAKEN = "taken"  # a handler is on it
    RESOLVED = "resolved"  # the handler says it is fixed; waiting for the resident's answer
    CLOSED = "closed"  # over: see ``outcome``
    MERGED = "merged"  # the same problem as ``merged_into``, handled there


class CaseOutcome(enum.StrEnum):
    CONFIRMED = "confirmed"  # the resident answered "solved"
    PARTLY = "partly"  # the resident answered "partly solved"
    NOT_SOLVED = "not_solved"  # "not solved" after the case was reopened once
    NOT_CONFIRMED = "not_confirmed"  # the resident asked to be told but never answered
    UNCONFIRMABLE = "unconfirmable"  # resolved; the resident did not ask to be told
    REJECTED = "rejected"  # an admin decided it is not a case (with a reason)


# Still being worked on: counts against the resident's limit and shows in /cases.
ACTIVE_STATUSES = (CaseStatus.OPEN, CaseStatus.TAKEN, CaseStatus.RESOLVED)
# Closed as solved: the resident confirmed it (fully or in part), or could not be asked about
# it; a public summary is shown for these only (never a "not solved").
RESOLVED_OUTCOMES = (CaseOutcome.CONFIRMED, CaseOutcome.PARTLY, CaseOutcome.UNCONFIRMABLE,
                     CaseOutcome.NOT_CONFIRMED)


class Case(Located, Base):
    """A problem a resident raised, the unit that has to solve it, and how that went.

    ``opened_on`` is a date (in the deployment's case time zone): a finer time could pair a
    case raised at the end of a poll with that poll's response."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False,
                                    default=random_id)
    # What residents and staff call it ("C-7K3F9Q"): random, so it says nothing of the order.
    number: Mapped[str] = mapped_column(String(16), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    category: Mapped[str] = mapped_column(String(32))
    # How it was raised: "report" (/report), "poll" (a low rating), "comment" (a comment).
    origin: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    # The resident agreed that their own words may be quoted in public summaries.
    quotable: Mapped[bool] = mapped_column(Boolean, default=False)
    # The resident asked to be told what was done (then a sealed reply handle exists).
    wants_reply: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus, "case_status"))
    outcome: Mapped[CaseOutcome | None] = mapped_column(_enum(CaseOutcome, "case_outcome"))
    opened_on: Mapped[date]
    due_at: Mapped[datetime]
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    taken_at: Mapped[datetime | None]
    # What the handler did (required to resolve) and the short public summary of it.
    resolution: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None]
    resolved_on_time: Mapped[bool | None] = mapped_column(Boolean)
    closed_at: Mapped[datetime | None]
    # The resident's "solved?" answer is awaited until then; no answer closes it unconfirmed.
    answer_due_at: Mapped[datetime | None]
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    # A handler's request that an admin transfer ("transfer", to ``request_unit_id``) or
    # reject ("reject") the case, with the reason; only an admin decides.
    request: Mapped[str | None] = mapped_column(String(16))
    request_reason: Mapped[str | None] = mapped_column(Text)
    request_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("units.id", ondelete="RESTRICT"))
    reject_reason: Mapped[str | None] = mapped_column(Text)
    # Supervision: when the handler was reminded of the deadline; the latest escalation to
    # the unit's admins and when it was.
    reminded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    escalation: Mapped[str | None] = mapped_column(String(16))  # "overdue", "not_solved"
    # When the unit's admins were told the deadline had passed: once per unit (a transfer
    # clears it), however else the case is escalated meanwhile.
    overdue_at: Mapped[datetime | None]
    merged_into_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("cases.id", ondelete="RESTRICT"))
    # Reports of the same problem merged into this one, itself included.
    reports: Mapped[int] = mapped_column(Integer, default=1)
    # Bumped on every change; buttons carry it, so a stale tap is refused.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Staff see the case (lists, its card, counts) only from then on: its report is held
    # (surveys.cases.holding). Says no more than the report's coarse time; None: not held.
    held_until: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("status NOT IN ('resolved') OR resolution IS NOT NULL",
                        name="resolved_has_resolution"),
        CheckConstraint("outcome NOT IN ('confirmed', 'partly', 'not_confirmed', "
                        "'unconfirmable', 'not_solved') OR resolution IS NOT NULL",
                        name="closed_resolved_has_resolution"),
        Index("ix_cases_unit_status", "unit_id", "status"),
        Index("ix_cases_status_due", "status", "due_at"),
        # The recently closed ones (the dashboard's cases page), among all ever closed.
        Index("ix_cases_status_closed", "status", "closed_at"),
        Index("ix_cases_handler_id", "handler_id"),
    )


class CaseMessage(Base):
    """One entry of a case's timeline: a message relayed between handler and resident, the
    resolution, the resident's answer, or an event (taken, reminded, escalated, transferred,
    ...), and whom it must reach. The relay (bot/case_relay.py) delivers what is not yet
    ``delivered``. A resident's entries name no one, and their time is coarse."""

    __tablename__ = "case_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False,
                                    default=random_id)
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id", ondelete="RESTRICT"))
    # Its place in the case's timeline: a resident's time is coarse, so a reply could
    # otherwise sort before the question it answers.
    seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # "resident", "handler", "admin", "inspector", "system".
    author: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    # What it is (surveys.cases.timeline): "message", "resolution", "answer", "taken", ...
    kind: Mapped[str] = mapped_column(String(16))
    # Whom it must reach: "resident", "handler", "unit" (the staff the case is routed to),
    # "admins" (the unit's scoped admins, and its inspectors for a "not solved"), "none".
    notify: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    # Values for the text shown (a unit, a reason, a count), as JSON.
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime]
    # Handed to whom it must reach (always True for "none").
    delivered: Mapped[bool] = mapped_column(Boolean, default=False)
    # A resident's entry is written to the audit log later, in a shuffled batch with a
    # coarse time, so the log's order does not time it either.
    audited: Mapped[bool] = mapped_column(Boolean, default=False)
    # Rounds in which sending it failed for network reasons; the relay gives up after
    # broadcast.max_attempts (flood control and blocked chats do not count).
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A resident's entry (or what their answer caused) reaches staff, and shows in their
    # views, only from then on, with the rest of its hold window's entries in random order
    # (surveys.cases.holding); a function of ``at``, so it dates nothing finer. None: not held.
    held_until: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_case_messages_case_id", "case_id"),
        # What the relay and the batch audit look for, a few rows among all there ever were:
        # partial indexes of just those (their conditions are the queries' own, as each
        # dialect writes them, so that the planners use them).
        Index("ix_case_messages_undelivered", "at", "id",
              postgresql_where=sql("delivered IS false"), sqlite_where=sql("delivered IS 0")),
        Index("ix_case_messages_unaudited", "id",
              postgresql_where=sql("audited IS false"), sqlite_where=sql("audited IS 0")),
    )


class CasePhoto(Base):
    """A photo sent with a report, a relay message or a resolution; the file is kept under
    its SHA-256 like evidence. No time and a random id: a resident's photo is not timed."""

    __tablename__ = "case_photos"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False,
                                    default=random_id)
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id", ondelete="RESTRICT"))
    part: Mapped[str] = mapped_column(String(16))  # "report", "relay", "resolution"
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(200))
    size_bytes: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(32))

    __table_args__ = (Index("ix_case_photos_case_id", "case_id"),)


class CaseSeal(Base):
    """Who raised a case, readable only with the deployment's secret: AES-GCM of the chat to
    tell (when the resident asked to be told) and of the key that counts their open cases,
    bound to the case. Deleted when the case is closed."""

    __tablename__ = "case_seals"

    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id", ondelete="CASCADE"),
                                         primary_key=True)
    sealed: Mapped[str] = mapped_column(Text)

    __table_args__ = ({"sqlite_with_rowid": False},)


class CaseDraft(Base):
    """A resident's report (or relay reply) being written, kept across restarts.

    Keyed by an HMAC of the Telegram id like the respondent sessions, with no times: without
    the secret it names nobody. Deleted when sent or cancelled."""

    __tablename__ = "case_drafts"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "report", "reply"
    version: Mapped[int] = mapped_column(Integer, default=1)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = ({"sqlite_with_rowid": False},)


class CommentMove(Base):
    """A poll comment turned into a case's text, still to be taken out of its response: the
    ids of its answers, sealed (AES-GCM under the secret, bound to this row), and nothing
    else, no case, no time. The cases' supervision sweep blanks those answers as if skipped,
    in a transaction of its own, and deletes the row (surveys/cases/comments.py)."""

    __tablename__ = "case_comment_moves"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False,
                                    default=random_id)
    sealed: Mapped[str] = mapped_column(Text)
