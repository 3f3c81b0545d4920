"""Engine and session setup for SQLite (default) and PostgreSQL, the base of the repositories,
and the one INSERT that differs between the two (``ON CONFLICT DO NOTHING``)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar, TypeVarTuple

from sqlalchemy import Row, Select, Table, bindparam, event
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from storage.sqlite_driver import one_trip_dbapi

SQLITE_BEGIN = "civicpulse_sqlite_begin"
HELD_CONNECTIONS = 2
M = TypeVar("M")


class DatabaseUnavailable(Exception):
    """The database could not be reached or was busy; nothing was changed, try again."""


def create_engine(
    url: str, *, busy_timeout_ms: int = 5000, pool_size: int = 10, echo: bool = False
) -> AsyncEngine:
    """Create the async engine; for SQLite, create the folder and turn on WAL and a busy timeout."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": busy_timeout_ms / 1000}
        # One trip to the connection's thread per statement (storage/sqlite_driver.py).
        kwargs["module"] = one_trip_dbapi()
        if database and database != ":memory:":
            # The pool as large as PostgreSQL's: under load, connections opened past
            # SQLAlchemy's default of five were closed as soon as they came back, and each new
            # one is a thread and four PRAGMAs. The overflow stays, for bursts of readers.
            kwargs.update(pool_size=pool_size + HELD_CONNECTIONS)
    else:
        # No pre-ping: it costs a round trip per transaction. A dropped connection fails one
        # use case (the person is told to try again) and SQLAlchemy then invalidates the pool.
        # No overflow either: under load, connections opened past the pool were closed again
        # as soon as they came back, and opened again at the next burst (a new backend and
        # asyncpg's set-up each time: a third more PostgreSQL CPU a step with two workers). A
        # use case waits for one of the pool's instead; each holds it for milliseconds.
        # Two more than asked for: the scheduler's leader lock and the poller's lock each hold
        # one for as long as the process has it (bot/leader.py).
        kwargs.update(pool_size=pool_size + HELD_CONNECTIONS, max_overflow=0,
                      pool_recycle=3600)
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        _configure_sqlite(engine, busy_timeout_ms)
    return engine


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # pysqlite's own transaction handling defers BEGIN; take it over so that
        # "BEGIN IMMEDIATE" makes writers queue on the busy timeout instead of failing
        # with "database is locked" when a read transaction is upgraded to a write.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Read-only units of work ask for a deferred BEGIN: in WAL mode they then read a
        # snapshot without holding up writers (see Database.reading).
        mode = conn.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (we render replies after it)."""
    return async_sessionmaker(engine, expire_on_commit=False)


Ts = TypeVarTuple("Ts")


class Repository:
    """Queries and writes one table's rows (or a few close ones) within the caller's
    transaction. A repository never commits and never swallows errors: the unit of work around
    it (``storage.uow``) decides."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def plain(self, statement: Select[*Ts]) -> Sequence[Row[*Ts]]:
        """A statement of columns run on the session's connection: plain Core rows, without
        the ORM's loading step, which costs as much again as the query for a page's rows."""
        return (await (await self.session.connection()).execute(statement)).all()


def dialect_insert(session: AsyncSession, model: type[Any]) -> PgInsert | SqliteInsert:
    """An INSERT into ``model`` that knows ``on_conflict_do_nothing`` on this session's database."""
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert(model)
    return sqlite_insert(model)


async def insert_new(
    session: AsyncSession, model: type[Any], values: dict[str, Any], unique: list[str]
) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on ``unique``; True if the row was inserted.

    Races on a unique key are settled by the database, not by catching IntegrityError.
    """
    statement = _insert_new(session.get_bind().dialect.name, model.__table__,
                            tuple(sorted(values)), tuple(unique))
    result = await session.execute(statement, values)
    return getattr(result, "rowcount", 0) == 1


async def insert_returning(
    session: AsyncSession, model: type[M], values: dict[str, Any], unique: list[str]
) -> M | None:
    """INSERT … ON CONFLICT DO NOTHING … RETURNING the new row as an object of the session;
    None if a row with that ``unique`` key was already there.

    One round trip where inserting and then reading the row back took two (on the path of
    a resident's first message; SQLite has RETURNING since 3.35)."""
    statement = (dialect_insert(session, model).values(values)
                 .on_conflict_do_nothing(index_elements=unique).returning(model))
    return (await session.scalars(statement)).one_or_none()


@functools.cache
def _insert_new(dialect: str, table: Table, columns: tuple[str, ...],
                unique: tuple[str, ...]) -> Any:
    """Built once per table and column set, on the table rather than the mapped class: a
    plain Core statement (the ORM's bulk-insert path and building the statement each time
    showed in the answer path's profile: every update is claimed with one)."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return (insert(table).values({name: bindparam(name) for name in columns})
            .on_conflict_do_nothing(index_elements=list(unique)))
