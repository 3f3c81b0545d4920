"""`civicpulse appraisal`: compute a period's appraisal as a draft, publish it, show it."""

from __future__ import annotations

import argparse
from time import perf_counter

from bot.cli.common import CliError, Commands
from bot.cli.db import on_database, with_database
from bot.settings import Settings
from storage.uow import Database


def cmd_appraisal_run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import resolve_secret
    from surveys.appraisal.run import AppraisalOptions, run_appraisal
    from surveys.appraisal.textscoring import score_pending

    options = AppraisalOptions(settings.appraisal_config(), resolve_secret(settings))

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

    return on_database(settings, work)


@with_database
async def cmd_appraisal_publish(settings: Settings, args: argparse.Namespace,
                                db: Database) -> int:
    from surveys.appraisal.run import publish_appraisal

    run, superseded = await publish_appraisal(db, args.period, actor="cli",
                                              version=args.version)
    note = f"; version {superseded} is superseded" if superseded else ""
    print(f"{run.period} version {run.version} published{note} "
          f"(results hash {run.results_hash})")
    return 0


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

    return on_database(settings, work)


def register(commands: Commands) -> None:
    appraisal = commands.group("appraisal", "compute and publish a period's appraisal")
    arun = appraisal.add("run", cmd_appraisal_run, "compute the period's results as a new "
                         "draft version (flags anomalies, scores units and cadres)")
    arun.add_argument("--period", required=True, help="2026-11, 2026-Q4 or 2026")
    apub = appraisal.add("publish", cmd_appraisal_publish, "freeze the latest draft (or "
                         "--version) and show it in chat; the published one before it is "
                         "superseded")
    apub.add_argument("--period", required=True)
    apub.add_argument("--version", type=int, help="the draft to publish (default: the latest)")
    ashow = appraisal.add("show", cmd_appraisal_show,
                          "the period's versions and a version's results")
    ashow.add_argument("--period", required=True)
    ashow.add_argument("--version", type=int, help="default: the latest")
    ashow.add_argument("--kind", choices=("unit", "cadre"))
    ashow.add_argument("--explain", action="store_true", help="print each explanation")
