"""`civicpulse units`: the unit tree."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.common import Commands, refuse_import
from bot.cli.db import on_database
from bot.settings import Settings
from storage.uow import Database
from surveys.people.units import import_units


def cmd_units_import(settings: Settings, args: argparse.Namespace) -> int:
    from surveys.people.units import UnitFileError, parse_units

    try:
        rows = parse_units(Path(args.file))
    except UnitFileError as exc:
        return refuse_import(exc.issues)

    async def work(db: Database) -> int:
        try:
            async with db.transaction() as uow:
                summary = await import_units(uow, rows, actor="cli")
        except UnitFileError as exc:
            return refuse_import(exc.issues)
        print(
            f"units: {summary.created} created, {summary.updated} updated, "
            f"{summary.unchanged} unchanged"
        )
        return 0

    return on_database(settings, work)


def register(commands: Commands) -> None:
    units = commands.group("units", "the unit tree")
    units.add("import", cmd_units_import, "create or update units from a YAML or CSV file"
              ).add_argument("file")
