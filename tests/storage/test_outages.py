"""What counts as the database being out of reach or busy (storage.uow.is_outage): the
units of work turn it into DatabaseUnavailable, which the bot answers with "try again in a
moment", and let every other error through as it is."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError

from storage.db import DatabaseUnavailable
from storage.uow import Database


class _DriverError(Exception):
    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def _error(sqlstate: str, message: str) -> DBAPIError:
    return DBAPIError("SELECT 1", None, _DriverError(message, sqlstate))


@pytest.mark.parametrize(("sqlstate", "message"), [
    ("53300", "sorry, too many clients already"),
    ("57P03", "the database system is starting up"),
    ("08006", "connection failure"),
])
async def test_a_full_or_restarting_server_is_an_outage_in_every_kind_of_unit(
    db: Database, sqlstate: str, message: str,
) -> None:
    for unit in (db.transaction, db.reading, db.browsing, db.single):
        with pytest.raises(DatabaseUnavailable, match=message):
            async with unit():
                raise _error(sqlstate, message)


async def test_errors_in_the_work_itself_are_not_outages(db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with db.transaction():
            raise IntegrityError("INSERT", None, _DriverError("duplicate key", "23505"))
    with pytest.raises(DBAPIError, match="syntax"):
        async with db.reading():
            raise _error("42601", "syntax error")
