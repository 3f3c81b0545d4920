"""Ids from outside are read by one rule: ASCII digits, within the column's range."""

from __future__ import annotations

import pytest
from sqlalchemy import BigInteger, Integer, SmallInteger
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from storage.ids import (
    BIGINT_MAX,
    INTEGER_MAX,
    RANDOM_ID_MAX,
    RESPONSE_ID_MAX,
    column_max,
    parse_id,
    shown_id,
)
from storage.models import Contact, Response


@pytest.mark.parametrize(("value", "expected"), [
    ("1", 1), (" 42 ", 42), ("007", 7), (str(INTEGER_MAX), INTEGER_MAX), (12, 12),
    ("0" * 50 + "5", 5),  # leading zeros are no reason to refuse
])
def test_an_id_in_range_is_read(value: str | int, expected: int) -> None:
    assert parse_id(value) == expected


@pytest.mark.parametrize("value", [
    str(2**31), 2**31, str(2**63), str(10**20), "9" * 5000, "0", 0, "-1", -1, "",
    "   ", "+5", "1_000", "1e3", "12abc", "٣", "²", "４", "1.0", None, True,
])
def test_anything_else_is_none(value: str | int | None) -> None:
    assert parse_id(value) is None


def test_the_maximum_is_the_callers() -> None:
    assert parse_id(str(2**31), BIGINT_MAX) == 2**31
    assert parse_id(str(2**63), BIGINT_MAX) is None
    assert parse_id(str(RANDOM_ID_MAX), RANDOM_ID_MAX) == RANDOM_ID_MAX
    assert parse_id(str(RANDOM_ID_MAX + 1), RANDOM_ID_MAX) is None


def test_the_limits_follow_the_columns() -> None:
    assert column_max(Contact.telegram_user_id) == BIGINT_MAX
    assert column_max(Contact.id) == INTEGER_MAX

    class Wrapped(TypeDecorator[int]):
        impl = BigInteger
        cache_ok = True

    class Row(DeclarativeBase):
        pass

    class Thing(Row):
        __tablename__ = "things"
        id: Mapped[int] = mapped_column(Wrapped, primary_key=True)
        small: Mapped[int] = mapped_column(SmallInteger)
        variant: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))

    assert column_max(Thing.id) == BIGINT_MAX
    assert column_max(Thing.small) == 2**15 - 1
    assert column_max(Thing.variant) == BIGINT_MAX
    # Random 53-bit response ids need a BigInteger column; until then the Integer's range holds.
    stored = str(Response.__table__.c.id.type.compile(dialect=postgresql.dialect()))
    expected = RANDOM_ID_MAX if stored == "BIGINT" else INTEGER_MAX
    assert expected == RESPONSE_ID_MAX


def test_a_refusal_echoes_an_id_clipped() -> None:
    assert shown_id(RANDOM_ID_MAX) == str(RANDOM_ID_MAX)
    assert shown_id(10**20) == str(10**20)
    assert shown_id("9" * 4000) == "9" * 20 + "…"
