"""`civicpulse cases`: the case loop for supervisors: what is open and how late, one case
with its timeline, and every case of a period as a table. Never who raised a case."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta
from pathlib import Path

from bot.cli.common import CliError, Commands
from bot.cli.db import on_database, with_database
from bot.rules import cases_of
from bot.settings import Settings
from storage.models import CaseStatus
from storage.uow import Database
from surveys.cases.rules import normalise_number

_TEXT_SHOWN = 60
# How much of a wrong argument an error says back.
_ECHO_SHOWN = 24


def _time_left(due_at: datetime, now: datetime) -> str:
    left = due_at - now
    late = left < timedelta(0)
    span = abs(left)
    amount = (f"{span.days} day(s)" if span >= timedelta(days=1)
              else f"{int(span.total_seconds() // 3600)} hour(s)")
    return f"overdue by {amount}" if late else f"{amount} left"


def _short(text: str, limit: int = _TEXT_SHOWN) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _echo(typed: str, limit: int = _ECHO_SHOWN) -> str:
    """An argument as typed, quoted for an error message and cut short: a pasted page (or a
    megabyte) said back whole would bury the error."""
    return repr(typed if len(typed) <= limit else typed[: limit - 1] + "…")


@with_database
async def cmd_cases_list(settings: Settings, args: argparse.Namespace, db: Database) -> int:
    from surveys.cases.exports import CaseQueryError, find_cases, last_day

    rules = cases_of(settings)
    now = db.clock()
    statuses = [CaseStatus(s) for s in args.status] if args.status else None
    async with db.reading() as uow:
        try:
            found = await find_cases(uow, unit_code=args.unit, statuses=statuses,
                                     overdue=args.overdue, now=now)
        except CaseQueryError as exc:
            raise CliError(str(exc)) from None
    if not found:
        print("no cases")
        return 0
    for item in found:
        case = item.case
        active = case.status in (CaseStatus.OPEN, CaseStatus.TAKEN)
        when = (f"due {last_day(case.due_at, rules)} ({_time_left(case.due_at, now)})"
                if active else f"due {last_day(case.due_at, rules)}")
        state = case.status.value + (f"/{case.outcome.value}" if case.outcome else "")
        print(f"{case.number}  {item.unit_code:<8} {case.category:<12} {state:<22} {when}  "
              f"{item.handler or '-'}  {_short(case.text)}")
    print(f"{len(found)} case(s)")
    return 0


@with_database
async def cmd_cases_show(settings: Settings, args: argparse.Namespace, db: Database) -> int:
    from surveys.cases.exports import case_detail, last_day

    rules = cases_of(settings)
    async with db.reading() as uow:
        detail = await case_detail(uow, args.number, db.clock())
    if detail is None:
        if normalise_number(args.number) is None:
            raise CliError(f"{_echo(args.number)} is not a case number: they look like C-7K3F9Q")
        raise CliError(f"no case {_echo(args.number)}")
    case, listed = detail.listed.case, detail.listed
    rows = [
        ("unit", f"{listed.unit_code} {listed.unit_name}"),
        ("category", case.category), ("origin", case.origin),
        ("status", case.status.value + (f" ({case.outcome.value})" if case.outcome else "")),
        ("opened on", case.opened_on.isoformat()),
        ("due", f"{last_day(case.due_at, rules)} (the day's end, {rules.time_zone})"),
        ("handler", listed.handler or "-"),
        ("reports", str(case.reports)), ("reopened", str(case.reopened)),
        ("escalation", case.escalation or "-"),
        ("merged into", detail.merged_into or "-"),
        ("resident asked to be told", "yes" if case.wants_reply else "no"),
        ("reply handle", "sealed (who raised it is not shown)" if detail.sealed else "none"),
        ("may be quoted", "yes" if case.quotable else "no"),
        ("text", case.text), ("resolution", case.resolution or "-"),
        ("resolved", "-" if case.resolved_at is None else
         f"{case.resolved_at:%Y-%m-%d %H:%M} UTC, "
         f"{'on time' if case.resolved_on_time else 'late'}"),
        ("public summary", case.summary or "-"),
        ("rejected because", case.reject_reason or "-"),
    ]
    print(f"case {case.number} (version {case.version})")
    for label, value in rows:
        print(f"  {label + ':':<27} {value}")
    print("timeline:")
    for entry, who in detail.timeline:
        state = "delivered" if entry.delivered else "waiting"
        print(f"  {entry.at:%Y-%m-%d %H:%M}  {who:<16} {entry.kind:<12} to {entry.notify:<9} "
              f"{state}")
        if entry.text:
            print(f"      {_short(entry.text, 300)}")
    print("photos:" if detail.photos else "photos: none")
    for photo in detail.photos:
        print(f"  {photo.part:<10} sha256 {photo.sha256}  {photo.size_bytes} B  "
              f"{photo.media_type}")
    return 0


def cmd_cases_export(settings: Settings, args: argparse.Namespace) -> int:
    from surveys.appraisal.periods import PeriodError, parse_period
    from surveys.cases.exports import case_table, write_cases

    try:
        period = parse_period(args.period) if args.period else None
    except PeriodError as exc:
        raise CliError(str(exc)) from None
    output = Path(args.output) if args.output else None
    if output is None and args.format == "xlsx" and sys.stdout.isatty():
        raise CliError("xlsx is binary: give --output FILE.xlsx")
    rules = cases_of(settings)

    async def work(db: Database) -> int:
        async with db.reading() as uow:
            rows = await case_table(uow, rules, period, now=db.clock())
        write_cases(rows, args.format, output or sys.stdout.buffer)
        where = f" to {output}" if output else ""
        which = f" opened in {period.label}" if period else ""
        print(f"{len(rows)} case(s){which} exported{where}", file=sys.stderr)
        return 0

    return on_database(settings, work)


def register(commands: Commands) -> None:
    cases = commands.group("cases", "problems residents raised: follow and export them")
    listing = cases.add("list", cmd_cases_list, "cases still being worked on (or --status), "
                        "the nearest deadline first")
    listing.add_argument("--unit", help="only this unit's cases and those of units below it")
    listing.add_argument("--status", action="append",
                         choices=[s.value for s in CaseStatus],
                         help="only cases in this status (repeat for several; default: open, "
                         "taken, resolved)")
    listing.add_argument("--overdue", action="store_true",
                         help="only unresolved cases past their deadline")
    show = cases.add("show", cmd_cases_show, "one case: its facts, timeline and photos' "
                     "SHA-256 (never who raised it)")
    show.add_argument("number", help="the case number, e.g. C-7K3F9Q")
    export = cases.add("export", cmd_cases_export, "every case (of a period), one row each")
    export.add_argument("--period", help="cases opened in this month (2026-11), quarter "
                        "(2026-Q4) or year (2026); default: all")
    export.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    export.add_argument("--output", "-o", help="file to write (default: stdout)")
