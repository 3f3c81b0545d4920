"""Places and people: units, contacts (the only Telegram ids), subscriptions, people with
roles, and the one open dialogue a person with a role may have."""

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
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, Created, _enum


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
    # The roles whose command menu the bot last set in this chat (comma-joined; empty: the
    # residents' menu), so that a restart sets only the menus that changed; None: never set.
    menu: Mapped[str | None] = mapped_column(String(64))


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
