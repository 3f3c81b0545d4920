"""Every migration goes down as well as up: head, then base, then head again gives the same schema.

A downgrade is only run when something has gone wrong, which is the worst time to find it
broken. Runs on SQLite, and on PostgreSQL in a database of its own (tests/storage/conftest.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from storage.migrate import current_revision, downgrade, head_revision, upgrade

Schema = dict[str, dict[str, Any]]


def _schema(connection: Connection) -> Schema:
    """Tables with their columns, keys, indexes and constraints, in a comparable form."""
    inspector = inspect(connection)

    def plain(value: Any) -> Any:
        # A partial index's WHERE comes back as a SQL text object: compare its SQL.
        if isinstance(value, dict):
            return sorted((key, plain(inner)) for key, inner in value.items())
        return value if isinstance(value, str | int | float | bool | list | None) else str(value)

    def listed(items: list[Any]) -> list[str]:
        return sorted(repr(plain(item)) for item in items)

    return {
        table: {
            "columns": [(column["name"], str(column["type"]), column["nullable"],
                         str(column.get("default"))) for column in inspector.get_columns(table)],
            "primary key": inspector.get_pk_constraint(table)["constrained_columns"],
            "foreign keys": listed(inspector.get_foreign_keys(table)),
            "indexes": listed(inspector.get_indexes(table)),
            "unique": listed(inspector.get_unique_constraints(table)),
            "checks": listed(inspector.get_check_constraints(table)),
        }
        for table in inspector.get_table_names()
    }


def _leftovers(connection: Connection) -> list[tuple[str, str]]:
    """Whatever the migrations made that is still there: tables, indexes, sequences, types."""
    if connection.dialect.name == "sqlite":
        query = ("SELECT type, name FROM sqlite_master WHERE tbl_name <> 'alembic_version' "
                 "ORDER BY name")
    else:
        # Tables, indexes, sequences and views are pg_class rows; enums and other types are
        # pg_type rows (each table's own row type and its array type go with the table).
        query = ("SELECT c.relkind::text, c.relname FROM pg_class c "
                 "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' "
                 "AND c.relname NOT LIKE 'alembic_version%' "
                 "UNION ALL SELECT 'type', t.typname FROM pg_type t "
                 "JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'public' "
                 "AND t.typname NOT IN ('alembic_version', '_alembic_version') ORDER BY 2")
    return [(row[0], row[1]) for row in connection.execute(text(query))]


def _look(url: str) -> tuple[Schema, list[tuple[str, str]], str | None]:
    async def go() -> tuple[Schema, list[tuple[str, str]], str | None]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                schema = await conn.run_sync(_schema)
                leftovers = await conn.run_sync(_leftovers)
            return schema, leftovers, await current_revision(engine)
        finally:
            await engine.dispose()
    return asyncio.run(go())


def test_head_to_base_and_back_gives_the_same_schema(empty_url: str) -> None:
    upgrade(empty_url)
    first, _, revision = _look(empty_url)
    assert revision == head_revision()
    assert len(first) > 10, "the migrations built no schema"

    downgrade(empty_url, "base")
    base, leftovers, revision = _look(empty_url)
    assert revision is None
    assert set(base) <= {"alembic_version"}, "tables left at base"
    assert leftovers == [], "objects left at base"

    upgrade(empty_url)
    second, _, revision = _look(empty_url)
    assert revision == head_revision()
    assert set(second) == set(first)
    for table in first:
        assert second[table] == first[table], table
