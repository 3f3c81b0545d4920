"""`civicpulse export`: responses, self-assessments and appraisal results as files."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from bot.cli.common import CliError, Commands
from bot.cli.db import on_database
from bot.settings import Settings
from storage.uow import Database, UnitOfWork

Export = Callable[[UnitOfWork], Coroutine[Any, Any, int]]


def _export(settings: Settings, export: Export, told: Callable[[int], str]) -> int:
    """Run ``export``, which writes the rows and returns how many; say so on stderr, since
    stdout may be the export itself."""
    async def work(db: Database) -> int:
        async with db.reading() as uow:
            count = await export(uow)
        print(told(count), file=sys.stderr)
        return 0

    return on_database(settings, work)


@contextmanager
def _text_output(output: str | None) -> Iterator[TextIO]:
    """The file ``output``, created before the database is opened (as a shell redirect would
    be), or stdout."""
    if not output:
        yield sys.stdout
        return
    with open(output, "w", encoding="utf-8", newline="") as out:
        yield out


def cmd_export_responses(settings: Settings, args: argparse.Namespace) -> int:
    from surveys.appraisal.exports import export_responses

    with _text_output(args.output) as out:
        return _export(settings,
                       lambda uow: export_responses(uow, args.campaign, args.format, out),
                       lambda count: f"{count} completed response(s) exported")


def cmd_export_self_assessments(settings: Settings, args: argparse.Namespace) -> int:
    from surveys.appraisal.periods import parse_period
    from surveys.fieldwork.cadres import export_self_assessments

    period = parse_period(args.period)
    with _text_output(args.output) as out:
        return _export(settings, lambda uow: export_self_assessments(uow, period, out),
                       lambda count: f"{count} self-assessment(s) of campaigns opened in "
                       f"{period.label} exported ({period.start:%Y-%m-%d} to "
                       f"{period.end:%Y-%m-%d} UTC)")


def cmd_export_appraisal(settings: Settings, args: argparse.Namespace) -> int:
    from surveys.appraisal.exports import export_appraisal

    output = Path(args.output) if args.output else None
    if output is None and args.format == "xlsx" and sys.stdout.isatty():
        raise CliError("xlsx is binary: give --output FILE.xlsx")
    return _export(settings,
                   lambda uow: export_appraisal(uow, args.period, args.format,
                                                output or sys.stdout.buffer,
                                                version=args.version),
                   lambda count: f"{count} appraisal result(s) exported"
                   + (f" to {output}" if output else ""))


def register(commands: Commands) -> None:
    export = commands.group("export", "export data", metavar="WHAT")
    resp = export.add("responses", cmd_export_responses, "completed responses, one row each")
    resp.add_argument("--campaign", required=True)
    resp.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    resp.add_argument("--output", "-o", help="file to write (default: stdout)")
    selfs = export.add("self-assessments", cmd_export_self_assessments,
                       "cadres' self-assessments, one row per answer")
    selfs.add_argument("--period", required=True,
                       help="campaigns opened in this month (2026-11), quarter (2026-Q4) or "
                       "year (2026), UTC")
    selfs.add_argument("--output", "-o", help="CSV file to write (default: stdout)")
    appr = export.add("appraisal", cmd_export_appraisal, "a period's published appraisal "
                      "results (or --version N), one row per unit or cadre")
    appr.add_argument("--period", required=True)
    appr.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    appr.add_argument("--version", type=int, help="export this run whatever its status")
    appr.add_argument("--output", "-o", help="file to write (default: stdout)")
