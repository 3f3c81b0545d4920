"""Ids that come from outside (a command's argument, a button's data, a command-line option),
checked against the range of the column they are looked up in.

A number outside a column's range is not merely absent: PostgreSQL refuses the query
(asyncpg: "value out of int32 range") and SQLite cannot bind past 2**63 - 1, so the lookup
would end in an internal error instead of the plain "no such ..." the person should see.
Every lookup of an id that a person typed or a button carried goes through
:func:`parse_id` first; ``None`` means "there is no such record", decided without asking
the database.
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import QueryableAttribute

from storage.models import Response

INTEGER_MAX = 2**31 - 1  # an Integer column (every serial id)
BIGINT_MAX = 2**63 - 1  # a BigInteger column (Telegram user and chat ids, update ids)
# Random ids (responses, answers) stay below 2**53 so they are exact wherever a number is a
# double (JSON readers, spreadsheets, JavaScript).
RANDOM_ID_MAX = 2**53 - 1

# Far more than any maximum has; longer text is refused before int() reads it.
_MAX_DIGITS = 32


_MAXIMA = {"SMALLINT": 2**15 - 1, "INTEGER": INTEGER_MAX, "BIGINT": BIGINT_MAX}


def column_max(column: QueryableAttribute[int]) -> int:
    """The largest value an integer column holds, on PostgreSQL and SQLite alike: read from
    the type PostgreSQL creates, so a TypeDecorator or a dialect variant counts as what it
    stores."""
    return _MAXIMA[str(column.type.compile(dialect=postgresql.dialect()))]


# A response id is random below 2**53 once its column is a BigInteger; while it is an Integer,
# the column's own range is the limit.
RESPONSE_ID_MAX = min(RANDOM_ID_MAX, column_max(Response.id))


def parse_id(value: str | int | None, maximum: int = INTEGER_MAX) -> int | None:
    """The id ``value`` names, or None if no record can have it.

    Text must be ASCII digits only (leading zeros allowed, surrounding blanks ignored): no
    sign, no ``_``, no other scripts' digits, which ``int()`` would accept. An id is 1 to
    ``maximum`` (:data:`INTEGER_MAX` for the usual serial ids, :data:`RESPONSE_ID_MAX` for a
    response). Callers answer None exactly as they answer an id that does not exist.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit()) or len(text.lstrip("0")) > _MAX_DIGITS:
            return None
        value = int(text)
    return value if 1 <= value <= maximum else None


def is_digits(text: str) -> bool:
    """Whether ``text`` is written as a number (ASCII digits only): read as an id, right or
    wrong, rather than as a name or a code."""
    text = text.strip()
    return text.isascii() and text.isdigit()


def shown_id(value: int | str, limit: int = 24) -> str:
    """An id as a refusal echoes it: in full, or its first digits and "…" when it is longer
    than any id (a message of 4,000 digits would make the reply too long to send)."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 4] + "…"
