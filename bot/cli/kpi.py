"""`civicpulse kpi`: objective results (KPIs) per unit and period, imported from CSV."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.common import Commands, refuse_import
from bot.cli.db import with_database
from bot.settings import Settings
from storage.uow import Database

_CHANGES_SHOWN = 20


@with_database
async def cmd_kpi_import(settings: Settings, args: argparse.Namespace, db: Database) -> int:
    from surveys.appraisal.kpi import KpiImportError, import_kpi_file, kpi_names

    try:
        report = await import_kpi_file(db, Path(args.file), kpi_names(settings.appraisal),
                                       actor="cli")
    except KpiImportError as exc:
        return refuse_import(exc.issues)
    print(f"kpi: {report.inserted} inserted, {report.updated} updated, "
          f"{report.unchanged} unchanged ({', '.join(report.periods)}; "
          f"sha256 {report.sha256[:12]})")
    for c in report.changes[:_CHANGES_SHOWN]:
        print(f"  {c.unit} {c.period} {c.kpi}: {c.before:g} -> {c.after:g} (line {c.line})")
    if len(report.changes) > _CHANGES_SHOWN:
        print(f"  ... and {len(report.changes) - _CHANGES_SHOWN} more (see the audit log)")
    return 0


def register(commands: Commands) -> None:
    kpi = commands.group("kpi", "objective results per unit and period")
    kpi.add("import", cmd_kpi_import, "import unit,period,kpi,value rows from a CSV file "
            "(all or nothing; problems listed with line numbers)").add_argument("file")
