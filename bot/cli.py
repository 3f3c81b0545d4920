"""The `civicpulse` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.exc import DBAPIError

from analysis.export import ExportError
from bot.app import burden_of
from bot.settings import ConfigError, Settings, load_settings
from storage.db import DatabaseUnavailable
from storage.migrate import current_revision, head_revision, upgrade
from storage.models import Role
from storage.repositories import utcnow
from storage.uow import Database
from surveys.admin import (
    CampaignReport,
    campaign_reports,
    close_campaign,
    create_campaign,
    grant_role,
    import_units,
)
from surveys.campaigns import (
    CampaignRuleError,
    check_timezone,
    deep_link,
    format_duration,
    parse_recurrence,
    parse_reminders,
)
from surveys.operations import AudiencePlan, add_entry_point, plan_invitations, remind_now

EXIT_USAGE = 2
_DURATION = re.compile(r"^(\d+)\s*([dhm])$")


class CliError(Exception):
    """A user error: printed as one message, exit status 1."""


def parse_when(value: str, now: datetime, zone: tzinfo = UTC) -> datetime:
    """A time given on the command line, in the campaign's time zone ``zone``.

    Accepts an ISO datetime (without an offset: in ``zone``), a date (meaning the end of that
    day in ``zone``), or a duration from now such as ``14d``, ``36h`` or ``90m``.
    """
    text = value.strip()
    match = _DURATION.match(text)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        delta = {"d": timedelta(days=amount), "h": timedelta(hours=amount),
                 "m": timedelta(minutes=amount)}[unit]
        return now + delta
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            end = datetime.combine(date.fromisoformat(text) + timedelta(days=1), time(), zone)
            return end.astimezone(UTC)
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise CliError(
            f"cannot read the time {value!r}: use 2026-12-31, 2026-12-31T18:00+08:00 or 14d"
        ) from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)).astimezone(UTC)


async def _with_db(
    settings: Settings, work: Callable[[Database], Coroutine[Any, Any, int]],
    *, read_only: bool = False,
) -> int:
    """Run ``work`` with the database. Commands that change data first bring the schema up to
    date; read-only ones never write, so they refuse an out-of-date schema instead."""
    if not read_only:
        await asyncio.to_thread(upgrade, settings.database_url)
    db = Database.from_url(settings.database_url, **settings.database_options)
    try:
        if read_only:
            current, head = await current_revision(db.engine), head_revision()
            if current != head:
                raise CliError(
                    f"the database schema is at {current or 'nothing'}, not {head}: run "
                    "`civicpulse db upgrade` (or `make migrate`) first"
                )
        return await work(db)
    finally:
        await db.dispose()


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.runner import run

    asyncio.run(run(settings))
    return 0


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    upgrade(settings.database_url)
    print(f"database is up to date ({_safe_url(settings.database_url)})")
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_surveys_validate(settings: Settings, args: argparse.Namespace) -> int:
    from surveys.loader import validate_paths

    issues = validate_paths(args.paths)
    for issue in issues:
        print(issue, file=sys.stderr)
    if issues:
        print(f"{len(issues)} problem(s) found", file=sys.stderr)
        return 1
    print(f"ok: {', '.join(str(p) for p in args.paths)}")
    return 0


def cmd_units_import(settings: Settings, args: argparse.Namespace) -> int:
    from surveys.units import UnitFileError, parse_units

    try:
        rows = parse_units(Path(args.file))
    except UnitFileError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        print("nothing was imported", file=sys.stderr)
        return 1

    async def work(db: Database) -> int:
        try:
            async with db.transaction() as uow:
                summary = await import_units(uow, rows, actor="cli")
        except UnitFileError as exc:
            for issue in exc.issues:
                print(issue, file=sys.stderr)
            print("nothing was imported", file=sys.stderr)
            return 1
        print(
            f"units: {summary.created} created, {summary.updated} updated, "
            f"{summary.unchanged} unchanged"
        )
        return 0

    return asyncio.run(_with_db(settings, work))


def cmd_campaign_create(settings: Settings, args: argparse.Namespace) -> int:
    from surveys.loader import SurveyError, load_survey

    try:
        survey = load_survey(args.survey)
    except SurveyError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        return 1
    now = utcnow()
    zone = check_timezone(args.timezone)
    reminders = parse_reminders(args.remind)
    recurrence = parse_recurrence(args.every, args.timezone)
    opens_at = parse_when(args.opens, now, zone) if args.opens else now
    closes_at = (
        parse_when(args.closes, now, zone)
        if args.closes
        else opens_at + timedelta(days=settings.surveys.default_closes_after_days)
    )

    async def work(db: Database) -> int:
        try:
            async with db.transaction() as uow:
                campaign = await create_campaign(
                    uow, survey=survey, unit_code=args.unit, code=args.code,
                    opens_at=opens_at, closes_at=closes_at, now=now, actor="cli",
                    audience=args.audience, timezone=args.timezone, reminders=reminders,
                    recurrence=recurrence, target=args.target,
                )
                plan = await plan_invitations(uow, unit_id=campaign.unit_id,
                                              audience=campaign.audience, opens_at=opens_at,
                                              burden=burden_of(settings))
                if args.dry_run:
                    raise _RollBack(plan)  # everything was checked; keep nothing
        except _RollBack as rolled_back:
            plan = rolled_back.plan
        print("\n".join(_plan_lines(plan)))
        if args.dry_run:
            print(f"dry run: campaign {args.code} would be valid; nothing was created")
            return 0
        print(f"campaign {campaign.code} created ({campaign.status.value}), "
              f"closes {closes_at:%Y-%m-%d %H:%M} UTC; the running bot sends the invitations")
        print(deep_link(settings.bot.username, campaign.code))
        return 0

    return asyncio.run(_with_db(settings, work))


class _RollBack(Exception):
    def __init__(self, plan: AudiencePlan) -> None:
        self.plan = plan


_REASONS = {
    "opted_out": "opted out (/stop)",
    "unreachable": "cannot be reached (blocked the bot)",
    "prompt_budget": "already had this month's prompts",
    "questionnaire_budget": "already had this month's questionnaires",
}


def _plan_lines(plan: AudiencePlan) -> list[str]:
    who = "cadres" if plan.audience == "cadres" else "residents"
    lines = [f"invitations: {len(plan.recipients)} {who}"]
    if not plan.recipients:
        lines[0] += (" (a broadcast to 0 recipients: nobody has chosen this unit yet; people "
                     "can still answer by link or QR code)")
    for reason, people in plan.skipped.items():
        names = plan.skipped_names(reason)
        named = f": {', '.join(names)}" if names else ""
        lines.append(f"  skipped, {_REASONS.get(reason, reason)}: {len(people)}{named}")
    return lines


def _report_lines(report: CampaignReport) -> list[str]:
    c = report.campaign
    rate = f"{report.completion_rate:.0%}" if report.completion_rate is not None else "–"
    moe = f"±{report.margin_of_error:.1%}" if report.margin_of_error is not None else "–"
    if report.time_left is None:
        left = "closed" if c.status.value == "closed" else "no closing time"
    else:
        hours = int(report.time_left.total_seconds() // 3600)
        left = f"{hours // 24}d {hours % 24}h left"
    closes = f"{c.closes_at:%Y-%m-%d %H:%M} UTC" if c.closes_at else "never"
    reminders = ", ".join(format_duration(timedelta(seconds=s)) for s in c.reminders)
    reminders = f"{reminders} before closing" if reminders else ""
    target = f" (target {c.target_responses})" if c.target_responses else ""
    return [
        f"campaign {c.code} ({c.status.value}) for {c.unit.name} [{c.unit.code}]",
        f"  opens {c.opens_at:%Y-%m-%d %H:%M} UTC, closes {closes} ({left})",
        f"  audience: {c.audience}; time zone {c.timezone}; reminders: {reminders or 'none'}; "
        f"repeats: {c.recurrence or 'no'}",
        f"  responses: {report.completed} completed{target} of {report.started} started "
        f"(completion {rate}); margin of error at 95%: {moe}",
        *(f"  {group}: {line}" for group in ("invitations", "reminders")
          if (line := report.delivery_line(group))),
        *([
            "  by entry point: " + ", ".join(
                f"{name or 'direct link'} {n}" for name, n in sorted(
                    report.entry_points.items(), key=lambda item: item[0] or ""))
        ] if report.entry_points else []),
    ]


def cmd_campaign_list(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        async with db.reading() as uow:
            reports = await campaign_reports(uow, utcnow())
        if not reports:
            print("no campaigns yet: create one with `civicpulse campaign create`")
        print(f"{'code':<24}{'status':<11}{'unit':<18}{'completed':>10}{'started':>9}"
              f"{'±95%':>8}  closes")
        for r in reports:
            c = r.campaign
            moe = f"{r.margin_of_error:.1%}" if r.margin_of_error is not None else "–"
            closes = f"{c.closes_at:%Y-%m-%d %H:%M}" if c.closes_at else "never"
            print(f"{c.code:<24}{c.status.value:<11}{c.unit.code:<18}{r.completed:>10}"
                  f"{r.started:>9}{moe:>8}  {closes}")
        return 0

    return asyncio.run(_with_db(settings, work, read_only=True))


def cmd_campaign_show(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        async with db.reading() as uow:
            [report] = await campaign_reports(uow, utcnow(), args.code)
        print("\n".join(_report_lines(report)))
        print(f"  link: {deep_link(settings.bot.username, report.campaign.code)}")
        return 0

    return asyncio.run(_with_db(settings, work, read_only=True))


def cmd_campaign_close(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        async with db.transaction() as uow:
            campaign = await close_campaign(uow, args.code, utcnow(), actor="cli")
        print(f"campaign {campaign.code} closed; its answers are kept")
        return 0

    return asyncio.run(_with_db(settings, work))


def cmd_campaign_qr(settings: Settings, args: argparse.Namespace) -> int:
    from analysis.qr import qr_png

    async def work(db: Database) -> int:
        async with db.reading() as uow:
            campaign = await uow.campaigns.by_code(args.code)
            if campaign is None:
                raise CliError(f"unknown campaign {args.code!r}")
            if args.entry and not await uow.entry_points.exists(campaign.id, args.entry):
                raise CliError(f"campaign {args.code!r} has no entry point {args.entry!r}; add "
                               f"it with `civicpulse campaign entry {args.code} {args.entry}`")
        return 0

    asyncio.run(_with_db(settings, work, read_only=True))
    link = deep_link(settings.bot.username, args.code, args.entry)
    suffix = f"-{args.entry}" if args.entry else ""
    output = Path(args.output or f"{args.code}{suffix}-qr.png")
    output.write_bytes(qr_png(link))
    print(f"{output}: QR code for {link}")
    return 0


def cmd_campaign_entry(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        async with db.transaction() as uow:
            await add_entry_point(uow, args.code, args.name, args.label, actor="cli")
        print(f"entry point {args.name} added to {args.code}")
        print(deep_link(settings.bot.username, args.code, args.name))
        print(f"poster: civicpulse campaign qr {args.code} --entry {args.name}")
        return 0

    return asyncio.run(_with_db(settings, work))


def cmd_campaign_remind(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import resolve_secret

    secret = resolve_secret(settings)

    async def work(db: Database) -> int:
        async with db.transaction() as uow:
            sent = await remind_now(uow, args.code, utcnow(), secret=secret,
                                    burden=burden_of(settings), actor="cli")
        print("\n".join(_plan_lines(sent.plan)).replace("invitations:", "reminders:", 1))
        print(f"{sent.queued} reminder(s) queued; the running bot sends them")
        return 0

    return asyncio.run(_with_db(settings, work))


def cmd_admin_add(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        async with db.transaction() as uow:
            person, new = await grant_role(
                uow, telegram_user_id=args.telegram_id, role=Role(args.role),
                unit_code=args.unit, name=args.name, actor="cli",
            )
        scope = f"unit {args.unit} and below" if args.unit else "all units"
        state = "now" if new else "already"
        print(f"{person.name} (Telegram {args.telegram_id}) is {state} {args.role} for {scope}")
        return 0

    return asyncio.run(_with_db(settings, work))


def cmd_export_responses(settings: Settings, args: argparse.Namespace) -> int:
    from analysis.export import export_responses

    def export_to(out: TextIO) -> int:
        async def work(db: Database) -> int:
            async with db.reading() as uow:
                count = await export_responses(uow, args.campaign, args.format, out)
            print(f"{count} completed response(s) exported", file=sys.stderr)
            return 0

        return asyncio.run(_with_db(settings, work, read_only=True))

    if not args.output:
        return export_to(sys.stdout)
    with open(args.output, "w", encoding="utf-8", newline="") as out:
        return export_to(out)


def cmd_audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        async with db.reading() as uow:
            broken = await uow.audit.verify()
        if broken is not None:
            print(f"audit log tampered with: the chain breaks at event {broken}", file=sys.stderr)
            return 1
        print("audit log intact")
        return 0

    return asyncio.run(_with_db(settings, work, read_only=True))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="civicpulse", description="CivicPulse: public opinion and fair appraisal, in chat."
    )
    parser.add_argument("--config", help="path to config.yaml (default: $CIVICPULSE_CONFIG "
                        "or ./config.yaml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("run", help="run the bot (the sandbox with demo data if no token is set)"
                   ).set_defaults(func=cmd_run)

    db = sub.add_parser("db", help="database maintenance").add_subparsers(
        dest="db_command", required=True, metavar="ACTION")
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)

    units = sub.add_parser("units", help="the unit tree").add_subparsers(
        dest="units_command", required=True, metavar="ACTION")
    imp = units.add_parser("import", help="create or update units from a YAML or CSV file")
    imp.add_argument("file")
    imp.set_defaults(func=cmd_units_import)

    surveys = sub.add_parser("surveys", help="questionnaires").add_subparsers(
        dest="surveys_command", required=True, metavar="ACTION")
    val = surveys.add_parser("validate", help="check survey YAML files")
    val.add_argument("paths", nargs="+", metavar="PATH")
    val.set_defaults(func=cmd_surveys_validate)

    campaign = sub.add_parser("campaign", help="survey campaigns").add_subparsers(
        dest="campaign_command", required=True, metavar="ACTION")
    create = campaign.add_parser("create", help="create a campaign and print its deep link")
    create.add_argument("--survey", required=True, help="survey YAML file")
    create.add_argument("--unit", required=True, help="code of the unit it is about")
    create.add_argument("--code", required=True, help="campaign code used in the link")
    create.add_argument("--opens", help="opening time (default: now)")
    create.add_argument("--closes", help="closing time: 2026-12-31, an ISO time, or 14d")
    create.add_argument("--timezone", default="UTC",
                        help="zone for times given without one and for recurrence (default UTC)")
    create.add_argument("--remind", help="reminders before closing for those who have not "
                        "finished, e.g. 2d,2h")
    create.add_argument("--every", help="repeat: monthly, quarterly or a cron expression")
    create.add_argument("--audience", choices=["residents", "cadres"],
                        help="default: the survey's own audience")
    create.add_argument("--target", type=int, help="the number of responses aimed for")
    create.add_argument("--dry-run", action="store_true",
                        help="check everything and show who would be invited; create nothing")
    create.set_defaults(func=cmd_campaign_create)

    export = sub.add_parser("export", help="export data").add_subparsers(
        dest="export_command", required=True, metavar="WHAT")
    resp = export.add_parser("responses", help="completed responses, one row each")
    resp.add_argument("--campaign", required=True)
    resp.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    resp.add_argument("--output", "-o", help="file to write (default: stdout)")
    resp.set_defaults(func=cmd_export_responses)

    for name, func, text in (
        ("list", cmd_campaign_list, "all campaigns with status and response counts"),
        ("show", cmd_campaign_show, "one campaign's progress and margin of error"),
        ("close", cmd_campaign_close, "close a campaign now"),
        ("qr", cmd_campaign_qr, "write a printable PNG QR code of the campaign's link"),
        ("remind", cmd_campaign_remind, "remind now those who have not answered"),
        ("entry", cmd_campaign_entry, "add a named entry point (its own link and QR code)"),
    ):
        action = campaign.add_parser(name, help=text)
        if name != "list":
            action.add_argument("code")
        if name == "qr":
            action.add_argument("--output", "-o", help="PNG file (default: CODE-qr.png)")
            action.add_argument("--entry", help="the QR code of this named entry point")
        if name == "entry":
            action.add_argument("name", help="e.g. window3 (letters, digits, _)")
            action.add_argument("--label", help="what it is, e.g. 'Service window 3'")
        action.set_defaults(func=func)

    admin = sub.add_parser("admin", help="people with roles").add_subparsers(
        dest="admin_command", required=True, metavar="ACTION")
    add = admin.add_parser("add", help="give a Telegram account the admin (or another) role")
    add.add_argument("--telegram-id", type=int, required=True, help="the person's Telegram id")
    add.add_argument("--unit", help="limit the role to this unit and the units below it")
    add.add_argument("--name", help="the person's name as shown in the audit log")
    add.add_argument("--role", choices=[r.value for r in Role if r is not Role.CADRE],
                     default=Role.ADMIN.value)
    add.set_defaults(func=cmd_admin_add)

    audit = sub.add_parser("audit", help="the audit log").add_subparsers(
        dest="audit_command", required=True, metavar="ACTION")
    audit.add_parser("verify", help="check the hash chain").set_defaults(func=cmd_audit_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Opt in to PTB's coming timedelta durations (retry_after...); the old ints warn.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request and Alembic every check at INFO; that drowns what matters.
    if not args.verbose:
        logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        settings = load_settings(args.config)
        return int(args.func(settings, args))
    except ConfigError as exc:
        print(f"civicpulse: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (CliError, CampaignRuleError, ExportError) as exc:
        # A request the rules refuse: one line, exit 1.
        print(f"civicpulse: {exc}", file=sys.stderr)
        return 1
    except (DBAPIError, DatabaseUnavailable, ConnectionError) as exc:
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        print(f"civicpulse: cannot use the database: {detail}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
