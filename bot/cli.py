"""The `civicpulse` command line."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any, TextIO

from sqlalchemy.exc import DBAPIError

from analysis.anomalies import KINDS
from bot.app import burden_of, fieldwork_of
from bot.settings import ConfigError, Settings, load_settings
from storage.clock import utcnow
from storage.db import DatabaseUnavailable
from storage.evidence import EvidenceStore
from storage.ids import INTEGER_MAX, parse_id
from storage.migrate import current_revision, head_revision, upgrade
from storage.models import Evidence, KeyTask, Role
from storage.uow import Database
from surveys.appraisal.exports import ExportError
from surveys.appraisal.periods import PeriodError
from surveys.appraisal.run import AppraisalError
from surveys.campaigns.admin import (
    CampaignReport,
    campaign_reports,
    close_campaign,
    create_campaign,
)
from surveys.campaigns.operations import AudiencePlan, add_entry_point, plan_invitations, remind_now
from surveys.campaigns.rules import (
    CampaignRuleError,
    check_timezone,
    deep_link,
    format_duration,
    parse_duration,
    parse_recurrence,
    parse_reminders,
)
from surveys.fieldwork.cadres import CadreError, Profile, TaskRef
from surveys.people.roles import RoleError, grant_role, revoke_role, role_holders, scope_label
from surveys.people.units import import_units

if TYPE_CHECKING:
    from analysis.statistics import QuestionStats
    from surveys.appraisal.run import AppraisalOptions

EXIT_USAGE = 2
_DURATION = re.compile(r"^(\d+)\s*([dhm])$")


class CliError(Exception):
    """A user error: printed as one message, exit status 1."""


_WHOLE = re.compile(r"-?[0-9]+")


def _id_arg(text: str) -> int:
    """An id option (``--person``, ``--response``...): any whole number, as typed. One that
    no record can have (0, -1, past the column's range) is refused by the command as "no such
    ..." like any other missing id; ``int()`` alone would also take ``1_0`` or other
    scripts' digits."""
    if not _WHOLE.fullmatch(text.strip()) or len(text) > 64:
        raise argparse.ArgumentTypeError(f"not an id: {text!r} (a whole number is expected)")
    return int(text)


def _count(text: str) -> int:
    """A count (``--limit``): 1 to 2**31 - 1, what every LIMIT needs (PostgreSQL refuses a
    negative one and one past int64; SQLite reads -1 as no limit at all)."""
    value = parse_id(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number from 1 to {INTEGER_MAX}")
    return value


def parse_when(value: str, now: datetime, zone: tzinfo = UTC) -> datetime:
    """A time given on the command line, in the campaign's time zone ``zone``.

    Accepts an ISO datetime (without an offset: in ``zone``), a date (meaning the end of that
    day in ``zone``), or a duration from now such as ``14d``, ``36h`` or ``90m``.
    """
    text = value.strip()
    if _DURATION.match(text):
        return now + parse_duration(text)
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            end = datetime.combine(date.fromisoformat(text) + timedelta(days=1), time(), zone)
            return end.astimezone(UTC)
        parsed = datetime.fromisoformat(text)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        # OverflowError: the end of 9999-12-31, or a time that leaves year 1..9999 in UTC.
        raise CliError(
            f"cannot read the time {value!r}: use 2026-12-31, 2026-12-31T18:00+08:00 or 14d"
        ) from exc


async def _with_db(
    settings: Settings, work: Callable[[Database], Coroutine[Any, Any, int]],
    *, read_only: bool = False,
) -> int:
    """Run ``work`` with the database, which must exist with this code's schema.

    Only `run` and `db upgrade` create or migrate a database: a command run from the wrong
    folder, or with a wrong DATABASE_URL or CIVICPULSE_CONFIG, must not quietly create an empty
    one (and then report that nothing is in it). ``read_only`` is kept for the callers' sake:
    no command migrates any more, so both kinds refuse the same way.
    """
    _require_database_file(settings)
    db = Database.from_url(settings.database_url, **settings.database_options)
    try:
        await _require_current_schema(settings, db)
        return await work(db)
    finally:
        await db.dispose()


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


WHAT_TO_DO = ("run `civicpulse db upgrade` to create or update it there, or point at the "
              "right database with DATABASE_URL (or CIVICPULSE_CONFIG for another config.yaml)")


def _require_database_file(settings: Settings) -> None:
    """Refuse a SQLite file that does not exist, before anything can create it."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    path = url.database
    if url.get_backend_name() != "sqlite" or not path or path == ":memory:":
        return
    if not Path(path).exists():
        raise CliError(
            f"no database at {Path(path).resolve()} ({_safe_url(settings.database_url)}, "
            f"{_database_source(settings)}); nothing was created: {WHAT_TO_DO}"
        )


async def _require_current_schema(settings: Settings, db: Database) -> None:
    from storage.migrate import is_known_revision

    safe = _safe_url(settings.database_url)
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


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.polling import PollingStopped
    from bot.runner import run

    try:
        asyncio.run(run(settings))
    except PollingStopped as exc:
        raise CliError(str(exc)) from exc
    return 0


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    upgrade(settings.database_url)
    print(f"database is up to date ({_safe_url(settings.database_url)})")
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_surveys_validate(settings: Settings, args: argparse.Namespace) -> int:
    from surveys.questionnaire.loader import validate_paths

    issues = validate_paths(args.paths)
    for issue in issues:
        print(issue, file=sys.stderr)
    if issues:
        print(f"{len(issues)} problem(s) found", file=sys.stderr)
        return 1
    print(f"ok: {', '.join(str(p) for p in args.paths)}")
    return 0


def cmd_units_import(settings: Settings, args: argparse.Namespace) -> int:
    from surveys.people.units import UnitFileError, parse_units

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
    from surveys.questionnaire.loader import SurveyError, load_survey

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


_MENU_NOTE = "their command menu in chat follows within {s} s while the bot runs"


def cmd_admin_add(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        async with db.transaction() as uow:
            person, new = await grant_role(
                uow, telegram_user_id=args.telegram_id, role=Role(args.role),
                unit_code=args.unit, name=args.name, actor="cli",
            )
        state = "now" if new else "already"
        print(f"{person.name} (Telegram {args.telegram_id}) is {state} {args.role} for "
              f"{scope_label(args.unit)}")
        print(_MENU_NOTE.format(s=settings.broadcast.resync_interval_s))
        return 0

    return asyncio.run(_with_db(settings, work))


def cmd_admin_list(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        async with db.reading() as uow:
            holders = await role_holders(uow, Role(args.role) if args.role else None)
        if not holders:
            which = f"the {args.role} role" if args.role else "a role"
            print(f"nobody has {which} yet: give one with `civicpulse admin add`")
            return 0
        print(f"{'telegram id':>12}  {'name':<24} roles")
        for h in holders:
            account = str(h.telegram_user_id) if h.telegram_user_id is not None else "not linked"
            print(f"{account:>12}  {h.name:<24} {h.describe()}")
        return 0

    return asyncio.run(_with_db(settings, work, read_only=True))


def cmd_admin_remove(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        async with db.transaction() as uow:
            left = await revoke_role(uow, telegram_user_id=args.telegram_id,
                                     role=Role(args.role), unit_code=args.unit, actor="cli")
        still = f"; still {left.describe()}" if left.roles else "; no roles left"
        print(f"{left.name} (Telegram {args.telegram_id}) is no longer {args.role} for "
              f"{scope_label(args.unit)}{still}")
        print(_MENU_NOTE.format(s=settings.broadcast.resync_interval_s))
        return 0

    return asyncio.run(_with_db(settings, work))


def cmd_export_responses(settings: Settings, args: argparse.Namespace) -> int:
    from surveys.appraisal.exports import export_responses

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


def cmd_audit_show(settings: Settings, args: argparse.Namespace) -> int:
    """Every recorded version of a record (a note's corrections, say), oldest first."""
    async def work(db: Database) -> int:
        async with db.reading() as uow:
            events = await uow.audit.of(args.entity, args.id, limit=args.limit)
        if not events:
            which = f"{args.entity} {args.id}" if args.id else args.entity
            print(f"no audit events about {which}")
            return 0
        for event in events:
            print(f"#{event.id} {event.at:%Y-%m-%d %H:%M:%S} UTC  {event.actor}  {event.action}  "
                  f"{event.entity}:{event.entity_id or '-'}")
            for label, state in (("before", event.before), ("after", event.after)):
                if state is not None:
                    print(f"    {label}: {json.dumps(state, ensure_ascii=False, sort_keys=True)}")
        return 0

    return asyncio.run(_with_db(settings, work, read_only=True))


# --- cadres, evidence, self-assessments ----------------------------------------------------


def _profile_line(profile: Profile) -> str:
    units = ", ".join(f"{u.name} [{u.code}]" for u in profile.units) or "no unit"
    return f"{profile.name}, {profile.position or 'no position'}, {units}"


def _task_label(task: TaskRef | KeyTask) -> str:
    return f"{task.title} (#{task.id}{', ' + task.indicator if task.indicator else ''})"


def cmd_cadre_invite(settings: Settings, args: argparse.Namespace) -> int:
    from surveys.fieldwork import cadres

    profile_args = (args.name, args.unit, args.position, args.task)
    if args.person is not None and any(profile_args):
        raise CliError("give either --person ID (a fresh link for an existing profile) or "
                       "--name, --unit and --position (a new profile), not both")
    draft = None
    if args.person is None:
        missing = [flag for flag, value in (("--name", args.name), ("--unit", args.unit),
                                            ("--position", args.position)) if value is None]
        if missing:
            raise CliError(f"a new profile needs {', '.join(missing)} (or --person ID for a "
                           "fresh link to an existing one)")
        draft = cadres.check_profile(args.name, args.position, args.unit, args.task or [])
    valid_for = cadres.check_valid_for(args.valid_days, fieldwork_of(settings).invite_valid_for)
    now = utcnow()

    async def work(db: Database) -> int:
        async with db.transaction() as uow:
            if draft is not None:
                issued = await cadres.create_profile(uow, draft, actor="cli", now=now,
                                                     valid_for=valid_for)
            else:
                issued = await cadres.issue_invite(uow, args.person, actor="cli", now=now,
                                                   valid_for=valid_for)
        profile = issued.profile
        if issued.new_profile:
            tasks = ", ".join(t.title for t in profile.tasks) or "none yet"
            print(f"cadre profile {profile.person_id} created: {_profile_line(profile)}; "
                  f"key tasks: {tasks}")
        else:
            print(f"new link for {profile.name} (profile {profile.person_id}); earlier unused "
                  "links no longer work")
        link = cadres.invite_link(settings.bot.username, issued.token)
        print(f"one-time link, valid until {issued.expires_at:%Y-%m-%d %H:%M} UTC (shown only "
              "now: hand it to the cadre privately):")
        print(link)
        if args.qr:
            from analysis.qr import qr_png

            await asyncio.to_thread(Path(args.qr).write_bytes, qr_png(link))
            print(f"{args.qr}: QR code of the link")
        return 0

    return asyncio.run(_with_db(settings, work))


def cmd_cadre_list(settings: Settings, args: argparse.Namespace) -> int:
    from surveys.fieldwork import cadres

    async def work(db: Database) -> int:
        async with db.reading() as uow:
            profiles = await cadres.list_profiles(uow, utcnow(), args.unit)
        if not profiles:
            where = f" in {args.unit}" if args.unit else ""
            print(f"no cadre profiles{where} yet: create one with `civicpulse cadre invite`")
            return 0
        print(f"{'id':>5}  {'name':<20} {'position':<22} {'units':<14} link")
        for p in profiles:
            units = ",".join(u.code for u in p.units) or "-"
            print(f"{p.person_id:>5}  {p.name:<20} {p.position or '-':<22} {units:<14} "
                  f"{p.link.summary}")
            tasks = "; ".join(_task_label(t) for t in p.tasks) or "none"
            print(f"{'':>7}key tasks: {tasks}")
        return 0

    return asyncio.run(_with_db(settings, work, read_only=True))


def cmd_cadre_task_add(settings: Settings, args: argparse.Namespace) -> int:
    from surveys.fieldwork import cadres

    async def work(db: Database) -> int:
        async with db.transaction() as uow:
            task = await cadres.add_task(uow, args.person, args.title, args.indicator,
                                         actor="cli")
            profile = await cadres.profile(uow, args.person, utcnow())
        print(f"key task {_task_label(task)} added to {profile.name} (profile "
              f"{profile.person_id})")
        return 0

    return asyncio.run(_with_db(settings, work))


def _evidence_problem(store: EvidenceStore, evidence: Evidence) -> str | None:
    """What is wrong with one evidence file, or None if it still has its recorded hash."""
    if store.verify(evidence.path, evidence.sha256):
        return None
    owner = (f"note {evidence.note_id}" if evidence.note_id is not None else
             f"inspection {evidence.inspection_id}" if evidence.inspection_id is not None
             else "not attached")
    where = store.root / evidence.path
    state = ("altered: its SHA-256 no longer matches the one recorded" if where.exists()
             else "missing")
    return f"evidence {evidence.id} ({owner}, person {evidence.person_id}): {where} {state}"


def cmd_evidence_verify(settings: Settings, args: argparse.Namespace) -> int:
    store = EvidenceStore(settings.evidence_dir)

    async def work(db: Database) -> int:
        async with db.reading() as uow:
            files = await uow.evidence.all()
        problems = 0
        for evidence in files:
            # Hashing every photo is blocking file I/O: off the event loop.
            problem = await asyncio.to_thread(_evidence_problem, store, evidence)
            if problem is not None:
                problems += 1
                print(problem, file=sys.stderr)
        if problems:
            print(f"{problems} of {len(files)} evidence file(s) missing or altered",
                  file=sys.stderr)
            return 1
        print(f"evidence intact: {len(files)} file(s) match their recorded SHA-256 "
              f"({store.root})")
        return 0

    return asyncio.run(_with_db(settings, work, read_only=True))


def cmd_export_self_assessments(settings: Settings, args: argparse.Namespace) -> int:
    from surveys.appraisal.periods import parse_period
    from surveys.fieldwork.cadres import export_self_assessments

    period = parse_period(args.period)

    def export_to(out: TextIO) -> int:
        async def work(db: Database) -> int:
            async with db.reading() as uow:
                count = await export_self_assessments(uow, period, out)
            print(f"{count} self-assessment(s) of campaigns opened in {period.label} exported "
                  f"({period.start:%Y-%m-%d} to {period.end:%Y-%m-%d} UTC)", file=sys.stderr)
            return 0

        return asyncio.run(_with_db(settings, work, read_only=True))

    if not args.output:
        return export_to(sys.stdout)
    with open(args.output, "w", encoding="utf-8", newline="") as out:
        return export_to(out)


def cmd_sentiment_score(settings: Settings, args: argparse.Namespace) -> int:
    from analysis.sentiment import run_cli

    # Any labelled set can be scored from outside: one text per line in, one JSON line out.
    stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    return run_cli(stdin, sys.stdout, batch_size=settings.sentiment.batch_size)


def cmd_sentiment_backfill(settings: Settings, args: argparse.Namespace) -> int:
    from analysis.sentiment import ANALYSER_VERSION
    from surveys.appraisal.textscoring import score_pending

    async def work(db: Database) -> int:
        scored = await score_pending(db, settings.sentiment.batch_size)
        print(f"{scored} text(s) scored with analyser {ANALYSER_VERSION}")
        return 0

    return asyncio.run(_with_db(settings, work))


def _appraisal_options(settings: Settings) -> AppraisalOptions:
    from bot.app import resolve_secret
    from surveys.appraisal.run import AppraisalOptions

    return AppraisalOptions(settings.appraisal_config(), resolve_secret(settings))


def cmd_appraisal_run(settings: Settings, args: argparse.Namespace) -> int:
    from surveys.appraisal.run import run_appraisal
    from surveys.appraisal.textscoring import score_pending

    options = _appraisal_options(settings)

    async def work(db: Database) -> int:
        # Comments that arrived since the bot last scored count too.
        clock = perf_counter()
        await score_pending(db, settings.sentiment.batch_size)
        scoring = perf_counter() - clock
        report = await run_appraisal(db, args.period, options, actor="cli")
        report.timings["unscored comments"] = scoring
        run = report.run
        flagged = ", ".join(f"{n} {kind}" for kind, n in sorted(report.flagged.items()))
        print(f"{run.period} version {run.version} computed (draft) in {report.seconds:.1f} s: "
              f"{report.responses} valid response(s); flagged: {flagged or 'none'}")
        print(f"  units: {report.graded_units} of {report.units} graded; cadres: "
              f"{report.graded_cadres} of {report.cadres} graded "
              f"(the others have too few responses or no data)")
        phases = ", ".join(f"{name} {secs:.1f} s" for name, secs in report.timings.items())
        print(f"  time by phase: {phases}")
        print(f"  results hash {run.results_hash}")
        print(f"  publish it with: civicpulse appraisal publish --period {run.period}")
        return 0

    return asyncio.run(_with_db(settings, work))


def cmd_appraisal_publish(settings: Settings, args: argparse.Namespace) -> int:
    from surveys.appraisal.run import publish_appraisal

    async def work(db: Database) -> int:
        run, superseded = await publish_appraisal(db, args.period, actor="cli",
                                                  version=args.version)
        note = f"; version {superseded} is superseded" if superseded else ""
        print(f"{run.period} version {run.version} published{note} "
              f"(results hash {run.results_hash})")
        return 0

    return asyncio.run(_with_db(settings, work))


def cmd_appraisal_show(settings: Settings, args: argparse.Namespace) -> int:
    from surveys.appraisal.periods import parse_period

    period = parse_period(args.period)

    async def work(db: Database) -> int:
        async with db.reading() as uow:
            runs = await uow.appraisal.runs(period.label)
            if not runs:
                raise CliError(f"no appraisal has been computed for {period.label}")
            for run in runs:
                print(f"version {run.version}: {run.status.value}, computed "
                      f"{run.computed_at:%Y-%m-%d %H:%M} UTC by {run.computed_by}"
                      + (f", published {run.published_at:%Y-%m-%d %H:%M} UTC by "
                         f"{run.published_by}" if run.published_at else ""))
            chosen = [r for r in runs if args.version in (None, r.version)]
            if not chosen:
                raise CliError(f"{period.label} has no version {args.version}")
            run = chosen[-1]
            print(f"\nversion {run.version} ({run.status.value}):")
            print(f"{'rank':>4}  {'kind':5}  {'who':32}  {'score':>5}  {'grade':10}  "
                  f"{'n':>5}  flags")
            for r in await uow.appraisal.results(run.id, args.kind):
                who = r.detail.get("name", "?")
                if r.kind == "cadre":
                    who = f"{who} ({r.detail.get('unit_code', '')})"
                score = "–" if r.score is None else f"{r.score:.1f}"
                grade = r.grade or r.status.replace("_", " ")
                flags = ", ".join(f for f, on in (("recognition", r.recognition),
                                                  ("exaggeration?", r.exaggeration)) if on)
                print(f"{r.rank or '':>4}  {r.kind:5}  {who[:32]:32}  {score:>5}  "
                      f"{grade[:10]:10}  {r.responses:>5}  {flags}")
                if args.explain:
                    print(f"      {r.detail.get('explanation', '')}")
        return 0

    return asyncio.run(_with_db(settings, work, read_only=True))


def cmd_anomalies_list(settings: Settings, args: argparse.Namespace) -> int:
    from surveys.appraisal.periods import parse_period

    period = parse_period(args.period)

    async def work(db: Database) -> int:
        async with db.reading() as uow:
            rows = await uow.anomalies.listed(period.start, period.end, limit=args.limit)
        if not rows:
            print(f"no flagged responses in {period.label} (flags are set by `civicpulse "
                  "appraisal run`)")
            return 0
        active: dict[int, list[str]] = {}
        for flag, _, _ in rows:
            if flag.dismissed_at is None:
                active.setdefault(flag.response_id, []).append(flag.kind)
        for flag, unit, entry in rows:
            where = f"{unit}" + (f" via {entry}" if entry else "")
            print(f"response {flag.response_id}  {where}  {flag.kind}: {flag.reason}")
            if flag.dismissed_at is not None:
                others = active.get(flag.response_id)
                effect = (f"still excluded by its {' and '.join(others)} flag" if others
                          else "counts in scores")
                print(f"    dismissed by {flag.dismissed_by} on {flag.dismissed_at:%Y-%m-%d}: "
                      f"{flag.dismiss_reason} ({effect})")
        dismissed = sum(flag.dismissed_at is not None for flag, _, _ in rows)
        print(f"{len(rows)} flag(s) in {period.label}; flagged responses are kept and excluded "
              f"from scores{f', except the {dismissed} dismissed' if dismissed else ''}")
        return 0

    return asyncio.run(_with_db(settings, work, read_only=True))


def cmd_anomalies_dismiss(settings: Settings, args: argparse.Namespace) -> int:
    from surveys.appraisal.run import dismiss_flags, restore_flags

    restoring = args.anomalies_command == "restore"

    async def work(db: Database) -> int:
        if restoring:
            done = await restore_flags(db, args.response, args.kind, actor=args.by)
            listed = ", ".join(f"response {r} {kind}" for r, kind in done)
            print(f"restored {len(done)} flag(s): {listed}; these responses are excluded "
                  "again from the next `civicpulse appraisal run`")
            return 0
        dismissal = await dismiss_flags(db, args.response, args.kind, args.reason,
                                        actor=args.by)
        listed = ", ".join(f"response {r} {kind}" for r, kind in dismissal.flags)
        print(f"dismissed {len(dismissal.flags)} flag(s): {listed}; from the next `civicpulse "
              "appraisal run` they exclude nothing (published results do not change)")
        for response_id, kinds in sorted(dismissal.still_excluded.items()):
            print(f"  response {response_id} is still excluded by its {' and '.join(kinds)} "
                  "flag")
        return 0

    return asyncio.run(_with_db(settings, work))


def cmd_stats(settings: Settings, args: argparse.Namespace) -> int:
    from analysis.appraisal import by_owner, unit_statistics
    from surveys.appraisal.periods import parse_period

    period = parse_period(args.period)

    async def work(db: Database) -> int:
        async with db.reading() as uow:
            units = {u.id: u for u in await uow.units.all()}
            if args.unit and not any(u.code == args.unit for u in units.values()):
                raise CliError(f"unknown unit {args.unit!r}")
            answers = await uow.appraisal.resident_distributions(period.start, period.end)
            invited = await uow.appraisal.invited(period.start, period.end)
        per_unit = by_owner(answers)
        shown = 0
        for unit_id, rows in sorted(per_unit.items(), key=lambda kv: units[kv[0]].code):
            unit = units[unit_id]
            if args.unit and unit.code != args.unit:
                continue
            print(f"{unit.code} {unit.name} ({period.label})")
            for question, indicator, st in unit_statistics(rows, unit.population,
                                                           invited.get(unit_id)):
                shown += 1
                print("  " + _format_stats(question, indicator, st))
        if not shown:
            print(f"no valid answers in {period.label}"
                  + (f" for {args.unit}" if args.unit else ""))
        return 0

    return asyncio.run(_with_db(settings, work, read_only=True))


def _format_stats(question: str, indicator: str | None, st: QuestionStats) -> str:
    def pct(x: float | None) -> str:
        return "–" if x is None else f"{x:.0%}"

    parts = [f"{question} [{indicator or '-'}] n={st.n}"]
    if st.mean is not None:
        parts.append(f"mean {st.mean:.2f}")
    if st.csat is not None and st.csat_interval is not None:
        low, high = st.csat_interval
        parts.append(f"CSAT {pct(st.csat)} (95% CI {pct(low)}–{pct(high)})")
    if st.nps is not None:
        parts.append(f"NPS {st.nps:+.0f}")
    if st.yes_share is not None and st.yes_interval is not None:
        low, high = st.yes_interval
        parts.append(f"yes {pct(st.yes_share)} (95% CI {pct(low)}–{pct(high)})")
    if st.margin_of_error is not None:
        parts.append(f"±{st.margin_of_error:.1%}")
    if st.response_rate is not None:
        parts.append(f"response rate {pct(st.response_rate)}")
    dist = " ".join(f"{v:g}:{c}" for v, c in st.distribution)
    parts.append(f"[{dist}]")
    return ", ".join(parts)


def cmd_kpi_import(settings: Settings, args: argparse.Namespace) -> int:
    from surveys.appraisal.kpi import KpiImportError, import_kpi_file, kpi_names

    async def work(db: Database) -> int:
        try:
            report = await import_kpi_file(db, Path(args.file), kpi_names(settings.appraisal),
                                           actor="cli")
        except KpiImportError as exc:
            for issue in exc.issues:
                print(issue, file=sys.stderr)
            print("nothing was imported", file=sys.stderr)
            return 1
        print(f"kpi: {report.inserted} inserted, {report.updated} updated, "
              f"{report.unchanged} unchanged ({', '.join(report.periods)}; "
              f"sha256 {report.sha256[:12]})")
        for c in report.changes[:20]:
            print(f"  {c.unit} {c.period} {c.kpi}: {c.before:g} -> {c.after:g} (line {c.line})")
        if len(report.changes) > 20:
            print(f"  ... and {len(report.changes) - 20} more (see the audit log)")
        return 0

    return asyncio.run(_with_db(settings, work))


def cmd_export_appraisal(settings: Settings, args: argparse.Namespace) -> int:
    from surveys.appraisal.exports import export_appraisal

    output = Path(args.output) if args.output else None
    if output is None and args.format == "xlsx" and sys.stdout.isatty():
        raise CliError("xlsx is binary: give --output FILE.xlsx")

    async def work(db: Database) -> int:
        async with db.reading() as uow:
            count = await export_appraisal(uow, args.period, args.format,
                                           output or sys.stdout.buffer, version=args.version)
        print(f"{count} appraisal result(s) exported" + (f" to {output}" if output else ""),
              file=sys.stderr)
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
    selfs = export.add_parser("self-assessments",
                              help="cadres' self-assessments, one row per answer")
    selfs.add_argument("--period", required=True,
                       help="campaigns opened in this month (2026-11), quarter (2026-Q4) or "
                       "year (2026), UTC")
    selfs.add_argument("--output", "-o", help="CSV file to write (default: stdout)")
    selfs.set_defaults(func=cmd_export_self_assessments)
    appr = export.add_parser("appraisal", help="a period's published appraisal results (or "
                             "--version N), one row per unit or cadre")
    appr.add_argument("--period", required=True)
    appr.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    appr.add_argument("--version", type=int, help="export this run whatever its status")
    appr.add_argument("--output", "-o", help="file to write (default: stdout)")
    appr.set_defaults(func=cmd_export_appraisal)

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
    add.add_argument("--telegram-id", type=_id_arg, required=True, help="the person's Telegram id")
    add.add_argument("--unit", help="limit the role to this unit and the units below it")
    add.add_argument("--name", help="the person's name as shown in the audit log")
    add.add_argument("--role", choices=[r.value for r in Role if r is not Role.CADRE],
                     default=Role.ADMIN.value)
    add.set_defaults(func=cmd_admin_add)
    remove = admin.add_parser("remove", help="take a role (with the scope it was given) from "
                              "a Telegram account")
    remove.add_argument("--telegram-id", type=_id_arg, required=True,
                        help="the person's Telegram id (see `civicpulse admin list`)")
    remove.add_argument("--unit", help="the unit the role was limited to (default: the role "
                        "for all units)")
    remove.add_argument("--role", choices=[r.value for r in Role if r is not Role.CADRE],
                        default=Role.ADMIN.value)
    remove.set_defaults(func=cmd_admin_remove)
    listing = admin.add_parser("list", help="everyone with a role, with each role's scope")
    listing.add_argument("--role", choices=[r.value for r in Role],
                         help="only people with this role")
    listing.set_defaults(func=cmd_admin_list)

    cadre = sub.add_parser("cadre", help="cadre profiles and their invite links").add_subparsers(
        dest="cadre_command", required=True, metavar="ACTION")
    inv = cadre.add_parser("invite", help="create a profile (or, with --person, a fresh link "
                           "for one) and print its one-time link")
    inv.add_argument("--name", help="the cadre's name")
    inv.add_argument("--unit", action="append", metavar="CODE",
                     help="unit the cadre works for (repeat for several)")
    inv.add_argument("--position", help="e.g. 'Village head'")
    inv.add_argument("--task", action="append", metavar="TITLE",
                     help="a key task the cadre answers for (repeat for several)")
    inv.add_argument("--person", type=_id_arg, metavar="ID",
                     help="a fresh link for this existing profile; older unused links stop")
    inv.add_argument("--valid-days", type=int, metavar="D",
                     help="days the link stays valid (default: cadres.invite_valid_days)")
    inv.add_argument("--qr", metavar="PNG", help="also write the link's QR code to this file")
    inv.set_defaults(func=cmd_cadre_invite)
    lst = cadre.add_parser("list", help="profiles with units, key tasks and link status")
    lst.add_argument("--unit", help="only cadres of this unit and the units below it")
    lst.set_defaults(func=cmd_cadre_list)
    task = cadre.add_parser("task", help="key tasks").add_subparsers(
        dest="task_command", required=True, metavar="ACTION")
    task_add = task.add_parser("add", help="add a key task to a cadre's profile")
    task_add.add_argument("person", type=_id_arg, metavar="ID", help="the profile's id")
    task_add.add_argument("title")
    task_add.add_argument("--indicator", metavar="KEY",
                          help="the appraisal indicator it feeds, e.g. road_maintenance")
    task_add.set_defaults(func=cmd_cadre_task_add)

    evidence = sub.add_parser("evidence", help="photo evidence").add_subparsers(
        dest="evidence_command", required=True, metavar="ACTION")
    evidence.add_parser("verify", help="recompute every evidence file's SHA-256; report "
                        "missing or altered files").set_defaults(func=cmd_evidence_verify)

    audit = sub.add_parser("audit", help="the audit log").add_subparsers(
        dest="audit_command", required=True, metavar="ACTION")
    audit.add_parser("verify", help="check the hash chain").set_defaults(func=cmd_audit_verify)
    show = audit.add_parser("show", help="the recorded versions of a record, oldest first")
    show.add_argument("entity", help="what kind of record: note, inspection, cadre, campaign, ...")
    show.add_argument("id", nargs="?", help="the record's id (default: all of that kind)")
    show.add_argument("--limit", type=_count, default=200, help="at most this many, the newest")
    show.set_defaults(func=cmd_audit_show)

    sentiment = sub.add_parser("sentiment", help="sentiment of free texts").add_subparsers(
        dest="sentiment_command", required=True, metavar="ACTION")
    sentiment.add_parser("score", help="read one text per line on stdin, write one JSON "
                         "object per line (language, polarity, label)"
                         ).set_defaults(func=cmd_sentiment_score)
    sentiment.add_parser("backfill", help="score stored comments, notes and remarks that the "
                         "current analyser has not scored").set_defaults(
                             func=cmd_sentiment_backfill)

    appraisal = sub.add_parser("appraisal", help="compute and publish a period's appraisal"
                               ).add_subparsers(dest="appraisal_command", required=True,
                                                metavar="ACTION")
    arun = appraisal.add_parser("run", help="compute the period's results as a new draft "
                                "version (flags anomalies, scores units and cadres)")
    arun.add_argument("--period", required=True, help="2026-11, 2026-Q4 or 2026")
    arun.set_defaults(func=cmd_appraisal_run)
    apub = appraisal.add_parser("publish", help="freeze the latest draft (or --version) and "
                                "show it in chat; the published one before it is superseded")
    apub.add_argument("--period", required=True)
    apub.add_argument("--version", type=int, help="the draft to publish (default: the latest)")
    apub.set_defaults(func=cmd_appraisal_publish)
    ashow = appraisal.add_parser("show", help="the period's versions and a version's results")
    ashow.add_argument("--period", required=True)
    ashow.add_argument("--version", type=int, help="default: the latest")
    ashow.add_argument("--kind", choices=("unit", "cadre"))
    ashow.add_argument("--explain", action="store_true", help="print each explanation")
    ashow.set_defaults(func=cmd_appraisal_show)

    anomalies = sub.add_parser("anomalies", help="responses flagged as anomalous"
                               ).add_subparsers(dest="anomalies_command", required=True,
                                                metavar="ACTION")
    alist = anomalies.add_parser("list", help="flagged responses of a period, with reasons")
    alist.add_argument("--period", required=True)
    alist.add_argument("--limit", type=_count, default=1000)
    alist.set_defaults(func=cmd_anomalies_list)
    for verb, text in (("dismiss", "an auditor judged flagged responses genuine: they count "
                        "again from the next run (the flags stay on record)"),
                       ("restore", "undo a dismissal: the responses are excluded again")):
        act = anomalies.add_parser(verb, help=text)
        act.add_argument("--response", type=_id_arg, action="append", required=True,
                         metavar="ID", help="a flagged response's id (repeat for several)")
        act.add_argument("--kind", choices=KINDS, help="only flags of this kind (default: all)")
        act.add_argument("--by", default="cli", help="who decides, for the audit log")
        if verb == "dismiss":
            act.add_argument("--reason", required=True, help="why, for the audit log")
        act.set_defaults(func=cmd_anomalies_dismiss)

    stats = sub.add_parser("stats", help="satisfaction statistics per unit and question")
    stats.add_argument("--period", required=True)
    stats.add_argument("--unit", help="one unit's code (default: every unit with answers)")
    stats.set_defaults(func=cmd_stats)

    kpi = sub.add_parser("kpi", help="objective results per unit and period").add_subparsers(
        dest="kpi_command", required=True, metavar="ACTION")
    kimp = kpi.add_parser("import", help="import unit,period,kpi,value rows from a CSV file "
                          "(all or nothing; problems listed with line numbers)")
    kimp.add_argument("file")
    kimp.set_defaults(func=cmd_kpi_import)
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
    except (CliError, CampaignRuleError, RoleError, ExportError, CadreError, PeriodError,
            AppraisalError) as exc:
        # A request the rules refuse: one line, exit 1.
        print(f"civicpulse: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (`civicpulse … | head`): not a database problem, and nothing
        # left to say. Point stdout at /dev/null so the exit's flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (DBAPIError, DatabaseUnavailable, ConnectionError) as exc:
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        print(f"civicpulse: cannot use the database: {detail}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
