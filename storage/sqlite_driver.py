"""SQLAlchemy's aiosqlite adapter with one trip to the connection's thread per statement.

aiosqlite runs each call on a connection's own thread, and the event loop must come round to
take each result. SQLAlchemy's adapter makes a statement four such trips (open a cursor,
execute, fetch the rows, close the cursor). Every write transaction here holds the process's
one SQLite writer turn (``storage.uow.Database``) for all of its trips, so under load the
writers queued behind it waited mostly for the event loop, not for SQLite: measured with 200
residents answering at once, a write transaction held the turn 11.5 ms for 17 trips, of which
SQLite itself used about 0.6 ms. Here a statement is one trip: the cursor is opened, executed,
read and closed together on the thread, and its description, row count and last row id are
kept with the rows. Everything else (connections, transactions, errors, server-side cursors)
is SQLAlchemy's and aiosqlite's own.

SQLAlchemy's adapter itself reaches into aiosqlite the same way (its ``_conn`` and its queue);
both packages are pinned, and the whole test suite runs through this adapter.
"""

from __future__ import annotations

import asyncio
import collections
import sqlite3
import threading
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar, cast

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

_Result = tuple[Any, list[Any], int, int | None]
_T = TypeVar("_T")

# How long the event loop waits, blocked, for a statement of a write transaction before it
# goes on with other work: SQLite's statements here take a tenth of a millisecond.
HELD_WAIT_S = 0.002


def _run(connection: Any, operation: str, parameters: Any,
         many: bool) -> _Result:
    """On the connection's thread: the statement from cursor to closed cursor."""
    cursor: sqlite3.Cursor = connection._conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


async def _held_call(connection: Any, fn: Callable[[], _T]) -> _T:
    """``fn`` on the connection's thread, the event loop waiting for it (up to HELD_WAIT_S)
    rather than going round: for the statements of a write transaction, which holds the
    process's one writer turn while it waits. A call that takes longer is awaited as usual,
    so a long statement does not stall the loop."""
    outcome: list[tuple[bool, Any]] = []
    done = threading.Event()

    def call() -> None:
        try:
            outcome.append((True, fn()))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            outcome.append((False, exc))
        finally:
            done.set()

    future = asyncio.get_running_loop().create_future()
    connection._tx.put_nowait((future, call))
    if not done.wait(HELD_WAIT_S):
        await future
    ok, value = outcome[0]
    if not ok:
        raise value
    return cast(_T, value)


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statement runs in one trip; nothing stays open on the thread
    between statements, so closing it costs no trip either."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: Any) -> None:
        # Not the base's __init__: that opens an aiosqlite cursor (a trip) to keep.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    async def _async_soft_close(self) -> None:
        return None

    def close(self) -> None:
        self._rows.clear()

    async def _trip(self, operation: Any, parameters: Any, many: bool) -> None:
        adapt = cast(OneTripConnection, self._adapt_connection)
        if isinstance(operation, str) and operation.startswith("BEGIN IMMEDIATE"):
            adapt.writing = True
        statement = partial(_run, self._connection, operation, parameters, many)
        async with adapt._execute_mutex:
            if adapt.writing:
                result = await _held_call(self._connection, statement)
            else:
                result = await self._connection._execute(statement)
        self._description, rows, self._rowcount, self._lastrowid = result
        self._rows = collections.deque(rows)

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        await self._trip(operation, parameters, False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> None:
        await self._trip(operation, seq_of_parameters, True)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """``writing`` while a write transaction (BEGIN IMMEDIATE) is open on it."""

    __slots__ = ("writing",)
    _cursor_cls = OneTripCursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self.writing = False

    def commit(self) -> None:
        self._end("commit")

    def rollback(self) -> None:
        self._end("rollback")

    def _end(self, how: str) -> None:
        connection = self._connection
        if not connection._connection:
            self.writing = False
            return  # closed already, as SQLAlchemy's adapter allows
        end: Callable[[], None] = getattr(connection._conn, how)
        try:
            if not connection._conn.in_transaction:
                # Nothing to end: the pool's rollback of every connection it takes back
                # (after a commit, most of them) costs no trip. Reading the flag is safe from
                # here: no statement runs on the connection while SQLAlchemy ends it.
                return
            if self.writing:
                await_(_held_call(connection, end))
            else:
                await_(connection._execute(end))
        except Exception as error:  # noqa: BLE001 - mapped as SQLAlchemy's adapter maps it
            self._handle_exception(error)
        finally:
            self.writing = False


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module handed to the engine (``create_async_engine(..., module=...)``)."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        connection = aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True  # as SQLAlchemy's adapter does
        return OneTripConnection(self, await_(connection))


def one_trip_dbapi() -> OneTripDBAPI:
    return OneTripDBAPI(aiosqlite, sqlite3)
