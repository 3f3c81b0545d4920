"""Shared fixtures: a migrated database per test, on SQLite and (with TEST_DATABASE_URL) PostgreSQL.

SQLite: migrate once into a template file, copy it for each test.
PostgreSQL: reset the schema and migrate once per session, truncate every table before each test.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from storage.migrate import upgrade
from storage.models import Base
from storage.uow import Database
from surveys.campaigns.admin import create_campaign
from surveys.people.units import UnitRow, import_units
from surveys.questionnaire.loader import load_template

# As `civicpulse` does at start: PTB's retry_after as timedelta (the int form warns).
os.environ.setdefault("PTB_TIMEDELTA", "1")
PG_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]
SECRET = b"test-secret-key-0123456789abcdef"

TEST_UNITS = [
    UnitRow("C1", "Riverside County", None, "county", 100_000, 1),
    UnitRow("T1", "North Township", "C1", "township", 20_000, 2),
    UnitRow("V1", "Willow Village", "T1", "village", 1_200, 3),
    UnitRow("V2", "Pine Village", "T1", "village", 800, 4),
]


async def _reset_postgres(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    assert PG_URL is not None
    asyncio.run(_reset_postgres(PG_URL))
    upgrade(PG_URL)
    yield PG_URL


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "test.db"
        shutil.copy(template, target)
        return f"sqlite+aiosqlite:///{target}"
    return str(request.getfixturevalue("postgres_url"))


async def _truncate(db: Database) -> None:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    async with db.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database.from_url(db_url, busy_timeout_ms=5000)
    if database.dialect == "postgresql":
        await _truncate(database)
    try:
        yield database
    finally:
        await database.dispose()


def now() -> datetime:
    return datetime.now(UTC)


async def seed_campaign(
    db: Database, code: str = "willow", unit: str = "V1", template: str = "resident_satisfaction",
    closes_in: timedelta = timedelta(days=30),
) -> None:
    """Units and one open campaign, as an admin would create them."""
    async with db.transaction() as uow:
        await import_units(uow, TEST_UNITS, actor="test")
        when = now()
        await create_campaign(
            uow, survey=load_template(template), unit_code=unit, code=code,
            opens_at=when - timedelta(minutes=1), closes_at=when + closes_in, now=when,
            actor="test",
        )
