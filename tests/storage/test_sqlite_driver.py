"""The SQLite adapter (storage/sqlite_driver.py): a statement is one trip to the connection's
thread, a write transaction's trips keep the event loop waiting only briefly, and rows, row
counts, ids and errors come back as with SQLAlchemy's own adapter."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage.db import DatabaseUnavailable
from storage.sqlite_driver import HELD_WAIT_S, OneTripConnection
from storage.uow import Database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with database.transaction() as uow:
        await uow.session.execute(text(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE NOT NULL)"))
    yield database
    await database.dispose()


class _Counting:
    """Stands in for an aiosqlite connection's queue to its thread, counting what is put."""

    def __init__(self, queue: Any) -> None:
        self.queue, self.trips = queue, 0

    def put_nowait(self, item: Any) -> None:
        self.trips += 1
        self.queue.put_nowait(item)


@contextmanager
def counted(raw: Any) -> Iterator[_Counting]:
    counter = _Counting(raw._tx)
    raw._tx = counter
    try:
        yield counter
    finally:
        raw._tx = counter.queue


async def _raw(db: Database) -> Any:
    """The pool's one connection's aiosqlite connection (the pool keeps it for the next use)."""
    async with db.reading() as uow:
        fairy = await (await uow.session.connection()).get_raw_connection()
        adapted = fairy.dbapi_connection
        assert isinstance(adapted, OneTripConnection)
        return adapted._connection


async def test_a_write_transaction_is_a_trip_per_statement_and_the_pools_rollback_none(
        db: Database) -> None:
    raw = await _raw(db)
    with counted(raw) as counter:
        async with db.transaction() as uow:
            await uow.session.execute(text("INSERT INTO t (v) VALUES ('a')"))
            await uow.session.execute(text("INSERT INTO t (v) VALUES ('b')"))
            rows = (await uow.session.execute(text("SELECT v FROM t ORDER BY v"))).all()
    assert [r.v for r in rows] == ["a", "b"]
    # BEGIN IMMEDIATE, three statements, COMMIT; the pool's rollback after the commit: none.
    # (SQLAlchemy's own adapter: four trips a statement, and one for that rollback.)
    assert counter.trips == 5


async def test_rows_counts_and_ids_come_back(db: Database) -> None:
    async with db.transaction() as uow:
        inserted = await uow.session.execute(text("INSERT INTO t (v) VALUES ('x') RETURNING id"))
        assert inserted.scalar_one() == 1
        plain = await uow.session.execute(text("INSERT INTO t (v) VALUES ('y')"))
        assert plain.lastrowid == 2
        many = await uow.session.execute(text("INSERT INTO t (v) VALUES (:v)"),
                                         [{"v": "m1"}, {"v": "m2"}, {"v": "m3"}])
        assert many.rowcount == 3
        changed = await uow.session.execute(text("UPDATE t SET v = v || '!' WHERE v LIKE 'm%'"))
        assert changed.rowcount == 3
        none = await uow.session.execute(text("UPDATE t SET v = 'z' WHERE id = 99"))
        assert none.rowcount == 0
    async with db.reading() as uow:
        result = await uow.session.execute(text("SELECT id, v FROM t ORDER BY id"))
        assert list(result.keys()) == ["id", "v"]
        assert [tuple(r) for r in result] == [
            (1, "x"), (2, "y"), (3, "m1!"), (4, "m2!"), (5, "m3!")]


async def test_an_error_rolls_the_transaction_back_and_the_next_one_writes(
        db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with db.transaction() as uow:
            await uow.session.execute(text("INSERT INTO t (v) VALUES ('same')"))
            await uow.session.execute(text("INSERT INTO t (v) VALUES ('same')"))
    async with db.transaction() as uow:
        await uow.session.execute(text("INSERT INTO t (v) VALUES ('after')"))
    async with db.reading() as uow:
        values = (await uow.session.execute(text("SELECT v FROM t"))).scalars().all()
    assert values == ["after"]


async def test_a_long_statement_in_a_write_transaction_does_not_stall_the_loop(
        db: Database) -> None:
    ticks: list[float] = []

    async def ticking() -> None:
        while True:
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.005)

    # About a third of a second of SQLite work inside one statement.
    slow = text("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                "WHERE i < 3000000) SELECT count(*) FROM n")
    ticker = asyncio.create_task(ticking())
    await asyncio.sleep(0.02)
    try:
        async with db.transaction() as uow:
            started = time.perf_counter()
            assert (await uow.session.execute(slow)).scalar_one() == 3_000_000
            ended = time.perf_counter()
    finally:
        ticker.cancel()
    during = [t for t in ticks if started <= t <= ended]
    assert ended - started > 20 * HELD_WAIT_S  # long enough for the check to mean something
    gaps = [b - a for a, b in itertools.pairwise(during)]
    # The loop went on ticking while the statement ran (a blocked loop: no tick at all).
    assert len(during) >= 5, (ended - started, len(during))
    assert max(gaps, default=0.0) < (ended - started) / 2


async def test_a_locked_database_is_reported_unavailable_and_loses_nothing(
        tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    holder = Database.from_url(f"sqlite+aiosqlite:///{path}")
    waiter = Database.from_url(f"sqlite+aiosqlite:///{path}", busy_timeout_ms=200)
    try:
        async with holder.transaction() as uow:
            await uow.session.execute(text("CREATE TABLE t (v TEXT)"))
        async with holder.transaction() as uow:
            await uow.session.execute(text("INSERT INTO t VALUES ('kept')"))
            # Another process's writer (another engine here) holds the write lock.
            with pytest.raises(DatabaseUnavailable):
                async with waiter.transaction() as other:
                    await other.session.execute(text("INSERT INTO t VALUES ('lost')"))
        async with waiter.transaction() as uow:
            await uow.session.execute(text("INSERT INTO t VALUES ('later')"))
        async with waiter.reading() as uow:
            values = (await uow.session.execute(text("SELECT v FROM t"))).scalars().all()
        assert sorted(values) == ["kept", "later"]
    finally:
        await holder.dispose()
        await waiter.dispose()
