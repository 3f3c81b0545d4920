"""An empty database per test, for the migration tests that build their own schema.

SQLite: a new file. PostgreSQL: a database of its own next to TEST_DATABASE_URL's (created
and dropped around the test), so migrating it down and up disturbs neither the shared
test database nor the tests that run on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import PG_URL

BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrate.db'}"
        return
    assert PG_URL is not None
    url = make_url(PG_URL)
    name = f"{url.database}_migration"
    asyncio.run(_admin(PG_URL, [f'DROP DATABASE IF EXISTS "{name}"',
                                f'CREATE DATABASE "{name}"']))
    yield url.set(database=name).render_as_string(hide_password=False)
    asyncio.run(_admin(PG_URL, [f'DROP DATABASE IF EXISTS "{name}"']))


async def _admin(url: str, statements: list[str]) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()
