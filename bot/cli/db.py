"""The database a command works on: `db upgrade`, and the check every other command passes
first (the database must exist, with this code's schema)."""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bot.cli.common import CliError, Command, Commands
from bot.settings import Settings
from storage.migrate import current_revision, head_revision, is_known_revision, upgrade
from storage.uow import Database

Work = Callable[[Database], Coroutine[Any, Any, int]]
DatabaseCommand = Callable[[Settings, argparse.Namespace, Database], Coroutine[Any, Any, int]]

WHAT_TO_DO = ("run `civicpulse db upgrade` to create or update it there, or point at the "
              "right database with DATABASE_URL (or CIVICPULSE_CONFIG for another config.yaml)")


def on_database(settings: Settings, work: Work) -> int:
    """Run ``work`` with the database, which must exist with this code's schema.

    Only `run` and `db upgrade` create or migrate a database: a command run from the wrong
    folder, or with a wrong DATABASE_URL or CIVICPULSE_CONFIG, must not quietly create an empty
    one (and then report that nothing is in it).
    """
    return asyncio.run(_with_db(settings, work))


def with_database(command: DatabaseCommand) -> Command:
    """A command that needs nothing before the database: run it there (see `on_database`).
    Commands that check their options first call `on_database` themselves, so that a wrong
    option is told before a missing database."""

    @functools.wraps(command)
    def run(settings: Settings, args: argparse.Namespace) -> int:
        return on_database(settings, functools.partial(command, settings, args))

    return run


async def _with_db(settings: Settings, work: Work) -> int:
    _require_database_file(settings)
    db = Database.from_url(settings.database_url, **settings.database_options)
    try:
        await _require_current_schema(settings, db)
        return await work(db)
    finally:
        await db.dispose()


def safe_url(url: str) -> str:
    """The database URL without its password, to be shown."""
    return make_url(url).render_as_string(hide_password=True)


def _database_source(settings: Settings) -> str:
    """Where the database URL came from, so a wrong one can be traced to its setting."""
    config = settings.config_path
    if os.environ.get("DATABASE_URL"):
        return "from DATABASE_URL"
    if settings.database.url:
        return f"from database.url in {config}"
    where = f"the default, under {settings.var_dir} in the current folder {Path.cwd()}"
    if config is not None and not config.exists():
        where += f"; no {config} was found there"
    return where


def _require_database_file(settings: Settings) -> None:
    """Refuse a SQLite file that does not exist, before anything can create it."""
    url = make_url(settings.database_url)
    path = url.database
    if url.get_backend_name() != "sqlite" or not path or path == ":memory:":
        return
    if not Path(path).exists():
        raise CliError(
            f"no database at {Path(path).resolve()} ({safe_url(settings.database_url)}, "
            f"{_database_source(settings)}); nothing was created: {WHAT_TO_DO}"
        )


async def _require_current_schema(settings: Settings, db: Database) -> None:
    safe = safe_url(settings.database_url)
    try:
        current = await current_revision(db.engine)
    except (DBAPIError, OSError) as exc:
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise CliError(f"cannot use the database {safe} ({_database_source(settings)}): "
                       f"{detail}; check DATABASE_URL (or database.url in config.yaml)") from exc
    head = head_revision()
    if current == head:
        return
    if current is None:
        state = "has no CivicPulse tables (it was never migrated)"
    elif is_known_revision(current):
        state = f"has the schema of migration {current}, older than this code's {head}"
    else:
        raise CliError(
            f"the database {safe} ({_database_source(settings)}) has the schema of migration "
            f"{current}, which this code does not know (a newer CivicPulse migrated it): "
            "use that version, or point at another database with DATABASE_URL"
        )
    raise CliError(f"the database {safe} ({_database_source(settings)}) {state}: "
                   f"{WHAT_TO_DO}")


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    upgrade(settings.database_url)
    print(f"database is up to date ({safe_url(settings.database_url)})")
    return 0


def register(commands: Commands) -> None:
    db = commands.group("db", "database maintenance")
    db.add("upgrade", cmd_db_upgrade, "apply migrations")
