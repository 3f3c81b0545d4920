"""`civicpulse appraisal`: compute a period's appraisal as a draft, publish it (under four
eyes: an admin asks, another person, an auditor, approves), show it."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from time import perf_counter

from bot.cli.common import CliError, Commands, id_arg
from bot.cli.db import on_database, with_database
from bot.settings import Settings
from storage.models import AppraisalRun, PublicationStatus
from storage.uow import Database, UnitOfWork


def cmd_appraisal_run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.rules import resolve_secret
    from surveys.appraisal.run import AppraisalOptions, run_appraisal
    from surveys.appraisal.textscoring import score_pending

    options = AppraisalOptions(settings.appraisal_config(), resolve_secret(settings))

    async def work(db: Database) -> int:
        actor = await _label(db, args.by)
        # Comments that arrived since the bot last scored count too.
        clock = perf_counter()
        await score_pending(db, settings.sentiment.batch_size)
        scoring = perf_counter() - clock
        report = await run_appraisal(db, args.period, options, actor=actor)
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
        by = " --by YOUR_TELEGRAM_ID" if settings.appraisal.publish_requires_approval else ""
        print(f"  publish it with: civicpulse appraisal publish --period {run.period}{by}")
        return 0

    return on_database(settings, work)


async def _label(db: Database, telegram_user_id: int | None) -> str:
    """How the audit log names the person with this Telegram id (``--by``); "cli" without."""
    from surveys.people.access import Actor

    if telegram_user_id is None:
        return "cli"
    async with db.reading() as uow:
        person = await uow.people.by_user(telegram_user_id)
    if person is None or not person.roles:
        raise CliError(f"nobody with Telegram id {telegram_user_id} has a role (`civicpulse "
                       "admin list` shows who has one)")
    return Actor.of(person).label


def _published(run: AppraisalRun, superseded: int | None) -> None:
    note = f"; version {superseded} is superseded" if superseded else ""
    print(f"{run.period} version {run.version} published{note} "
          f"(results hash {run.results_hash})")
    print(f"  audit log head recorded: {run.audit_head_events} event(s), the newest "
          f"{run.audit_head_hash}")


@with_database
async def cmd_appraisal_publish(settings: Settings, args: argparse.Namespace,
                                db: Database) -> int:
    from surveys.appraisal.publication import Published, publish

    done = await publish(db, args.period, by=args.by, version=args.version,
                         requires_approval=settings.appraisal.publish_requires_approval)
    if isinstance(done, Published):
        _published(done.run, done.superseded)
        return 0
    run = done.run
    told = (f"{len(done.auditors)} auditor(s) are told in chat" if done.auditors else
            "no auditor for all units can be told in chat (`civicpulse admin add --role "
            "auditor` gives the role)")
    print(f"{run.period} version {run.version} awaits an auditor's approval; {told}")
    print(f"  an auditor for all units other than you approves it with: civicpulse appraisal "
          f"approve --period {run.period} --by THEIR_TELEGRAM_ID (or refuses it, with "
          "--reason)")
    return 0


@with_database
async def cmd_appraisal_approve(settings: Settings, args: argparse.Namespace,
                                db: Database) -> int:
    from surveys.appraisal.publication import approve_publication

    done = await approve_publication(db, args.period, by=args.by, version=args.version)
    _published(done.run, done.superseded)
    return 0


@with_database
async def cmd_appraisal_refuse(settings: Settings, args: argparse.Namespace,
                               db: Database) -> int:
    from surveys.appraisal.publication import refuse_publication

    run, _request = await refuse_publication(db, args.period, by=args.by, reason=args.reason,
                                             version=args.version)
    print(f"publication of {run.period} version {run.version} refused; it stays a draft "
          "(a new `appraisal publish` asks again)")
    return 0


@with_database
async def cmd_appraisal_pending(settings: Settings, args: argparse.Namespace,
                                db: Database) -> int:
    from surveys.appraisal.publication import awaiting_approval

    async with db.reading() as uow:
        waiting = await awaiting_approval(uow)
    if not waiting:
        print("no publication awaits approval")
        return 0
    for w in waiting:
        print(f"{w.period} version {w.version}: asked by {w.requested_by} on "
              f"{w.requested_at:%Y-%m-%d %H:%M} UTC (computed by {w.computed_by}); results "
              f"hash {w.results_hash}")
    return 0


def cmd_appraisal_show(settings: Settings, args: argparse.Namespace) -> int:
    from surveys.appraisal.periods import parse_period

    period = parse_period(args.period)

    async def work(db: Database) -> int:
        async with db.reading() as uow:
            runs = await uow.appraisal.runs(period.label)
            if not runs:
                raise CliError(f"no appraisal has been computed for {period.label}")
            await _versions(uow, runs)
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

    return on_database(settings, work)


async def _versions(uow: UnitOfWork, runs: Sequence[AppraisalRun]) -> None:
    """Each version: who computed and published it (and approved it), the audit log's head it
    recorded, and whether a publication of it awaits approval."""
    from surveys.appraisal.publication import names

    pending = {r.run_id: r for r in await uow.appraisal.requests(
        [run.id for run in runs], PublicationStatus.PENDING)}
    shown = await names(uow, [label for run in runs for label in (
        run.computed_by, run.published_by, run.approved_by)]
        + [r.requested_by for r in pending.values()])
    for run in runs:
        line = (f"version {run.version}: {run.status.value}, computed "
                f"{run.computed_at:%Y-%m-%d %H:%M} UTC by {shown[run.computed_by]}")
        if run.published_at and run.published_by:
            line += (f", published {run.published_at:%Y-%m-%d %H:%M} UTC by "
                     f"{shown[run.published_by]}")
        if run.approved_by:
            line += f", approved by {shown[run.approved_by]}"
        if run.id in pending:
            request = pending[run.id]
            line += (f", awaits approval (asked by {shown[request.requested_by]} on "
                     f"{request.requested_at:%Y-%m-%d %H:%M} UTC)")
        print(line)
        if run.audit_head_hash:
            print(f"    audit log head at publication: {run.audit_head_events} event(s), "
                  f"the newest {run.audit_head_hash}")


def register(commands: Commands) -> None:
    appraisal = commands.group("appraisal", "compute and publish a period's appraisal")
    arun = appraisal.add("run", cmd_appraisal_run, "compute the period's results as a new "
                         "draft version (flags anomalies, scores units and cadres)")
    arun.add_argument("--period", required=True, help="2026-11, 2026-Q4 or 2026")
    arun.add_argument("--by", type=id_arg, metavar="TELEGRAM_ID", help="your Telegram id, "
                      "for the audit log (whoever computes a version may not approve its "
                      "publication)")
    apub = appraisal.add("publish", cmd_appraisal_publish, "publish the latest draft (or "
                         "--version): with appraisal.publish_requires_approval, ask for it, "
                         "and an auditor's approval makes it take effect; the published one "
                         "before it is then superseded")
    apub.add_argument("--period", required=True)
    apub.add_argument("--version", type=int, help="the draft to publish (default: the latest)")
    apub.add_argument("--by", type=id_arg, metavar="TELEGRAM_ID", help="your Telegram id (an "
                      "admin for all units); needed when publishing needs approval")
    aapp = appraisal.add("approve", cmd_appraisal_approve, "as an auditor for all units, "
                         "approve the publication awaiting approval: it takes effect now "
                         "(nobody approves a version they asked for or computed)")
    aref = appraisal.add("refuse", cmd_appraisal_refuse, "as an auditor for all units, refuse "
                         "the publication awaiting approval, saying why; it stays a draft")
    for decide in (aapp, aref):
        decide.add_argument("--period", required=True)
        decide.add_argument("--version", type=int, help="the version awaiting approval "
                            "(default: the one there is)")
        decide.add_argument("--by", type=id_arg, metavar="TELEGRAM_ID", required=True,
                            help="your Telegram id (see `civicpulse admin list`)")
    aref.add_argument("--reason", required=True, help="why, for the audit log")
    appraisal.add("pending", cmd_appraisal_pending, "publications awaiting an auditor's "
                  "approval")
    ashow = appraisal.add("show", cmd_appraisal_show,
                          "the period's versions and a version's results")
    ashow.add_argument("--period", required=True)
    ashow.add_argument("--version", type=int, help="default: the latest")
    ashow.add_argument("--kind", choices=("unit", "cadre"))
    ashow.add_argument("--explain", action="store_true", help="print each explanation")
