"""`civicpulse campaign`: survey campaigns, from creation to their links, QR codes and
reminders."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path

from bot.cli.common import CliError, Commands
from bot.cli.db import on_database, with_database
from bot.rules import burden_of
from bot.settings import Settings
from storage.clock import utcnow
from storage.uow import Database
from surveys.campaigns.admin import (
    CampaignReport,
    campaign_reports,
    close_campaign,
    create_campaign,
)
from surveys.campaigns.operations import AudiencePlan, add_entry_point, plan_invitations, remind_now
from surveys.campaigns.rules import (
    check_timezone,
    deep_link,
    format_duration,
    parse_duration,
    parse_recurrence,
    parse_reminders,
)

_DURATION = re.compile(r"^(\d+)\s*([dhm])$")


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

    return on_database(settings, work)


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


@with_database
async def cmd_campaign_list(settings: Settings, args: argparse.Namespace, db: Database) -> int:
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


@with_database
async def cmd_campaign_show(settings: Settings, args: argparse.Namespace, db: Database) -> int:
    async with db.reading() as uow:
        [report] = await campaign_reports(uow, utcnow(), args.code)
    print("\n".join(_report_lines(report)))
    print(f"  link: {deep_link(settings.bot.username, report.campaign.code)}")
    return 0


@with_database
async def cmd_campaign_close(settings: Settings, args: argparse.Namespace, db: Database) -> int:
    async with db.transaction() as uow:
        campaign = await close_campaign(uow, args.code, utcnow(), actor="cli")
    print(f"campaign {campaign.code} closed; its answers are kept")
    return 0


def cmd_campaign_qr(settings: Settings, args: argparse.Namespace) -> int:
    from analysis.qr import qr_png
    from handlers.web.public import public_path

    unit_code = ""

    async def check(db: Database) -> int:
        nonlocal unit_code
        async with db.reading() as uow:
            campaign = await uow.campaigns.by_code(args.code)
            if campaign is None:
                raise CliError(f"unknown campaign {args.code!r}")
            if args.entry and not await uow.entry_points.exists(campaign.id, args.entry):
                raise CliError(f"campaign {args.code!r} has no entry point {args.entry!r}; add "
                               f"it with `civicpulse campaign entry {args.code} {args.entry}`")
            unit_code = campaign.unit.code
        return 0

    on_database(settings, check)
    link = deep_link(settings.bot.username, args.code, args.entry)
    suffix = f"-{args.entry}" if args.entry else ""
    output = Path(args.output or f"{args.code}{suffix}-qr.png")
    output.write_bytes(qr_png(link))
    print(f"{output}: QR code for {link}")
    if settings.web.enabled and settings.web.public_url:
        # The poster's second code: the place's public results page (no sign-in), so that
        # whoever answers can see what came of it. Its own file: the poll's code stays one
        # picture that prints alone.
        results = settings.web.public_url + public_path(unit_code)
        second = output.with_name(f"{output.stem}-results{output.suffix or '.png'}")
        second.write_bytes(qr_png(results))
        print(f"{second}: QR code for the public results page {results}")
    return 0


@with_database
async def cmd_campaign_entry(settings: Settings, args: argparse.Namespace, db: Database) -> int:
    async with db.transaction() as uow:
        await add_entry_point(uow, args.code, args.name, args.label, actor="cli")
    print(f"entry point {args.name} added to {args.code}")
    print(deep_link(settings.bot.username, args.code, args.name))
    print(f"poster: civicpulse campaign qr {args.code} --entry {args.name}")
    return 0


def cmd_campaign_remind(settings: Settings, args: argparse.Namespace) -> int:
    from bot.rules import resolve_secret

    secret = resolve_secret(settings)

    async def work(db: Database) -> int:
        async with db.transaction() as uow:
            sent = await remind_now(uow, args.code, utcnow(), secret=secret,
                                    burden=burden_of(settings), actor="cli")
        print("\n".join(_plan_lines(sent.plan)).replace("invitations:", "reminders:", 1))
        print(f"{sent.queued} reminder(s) queued; the running bot sends them")
        return 0

    return on_database(settings, work)


def register(commands: Commands) -> None:
    campaign = commands.group("campaign", "survey campaigns")
    create = campaign.add("create", cmd_campaign_create,
                          "create a campaign and print its deep link")
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
    campaign.add("list", cmd_campaign_list, "all campaigns with status and response counts")
    for name, func, text in (
        ("show", cmd_campaign_show, "one campaign's progress and margin of error"),
        ("close", cmd_campaign_close, "close a campaign now"),
        ("qr", cmd_campaign_qr, "write a printable PNG QR code of the campaign's link"),
        ("remind", cmd_campaign_remind, "remind now those who have not answered"),
        ("entry", cmd_campaign_entry, "add a named entry point (its own link and QR code)"),
    ):
        action = campaign.add(name, func, text)
        action.add_argument("code")
        if name == "qr":
            action.add_argument("--output", "-o", help="PNG file (default: CODE-qr.png)")
            action.add_argument("--entry", help="the QR code of this named entry point")
        if name == "entry":
            action.add_argument("name", help="e.g. window3 (letters, digits, _)")
            action.add_argument("--label", help="what it is, e.g. 'Service window 3'")
