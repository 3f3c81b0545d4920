"""The building blocks every table uses: the declarative base, UTC timestamps, random ids,
and the mixins for creation times and locations."""

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
    DateTime,
    Enum,
    Float,
    Integer,
    MetaData,
    func,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
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
