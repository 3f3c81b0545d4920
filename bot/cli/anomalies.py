"""`civicpulse anomalies`: the responses that an appraisal run flagged, and an auditor's
dismissals of those flags."""

from __future__ import annotations

import argparse

from analysis.anomalies import KINDS
from bot.cli.common import Commands, count_arg, id_arg
from bot.cli.db import on_database, with_database
from bot.settings import Settings
from storage.uow import Database


def cmd_anomalies_list(settings: Settings, args: argparse.Namespace) -> int:
    from surveys.appraisal.periods import parse_period
    from surveys.appraisal.supervision import still_excluding

    period = parse_period(args.period)

    async def work(db: Database) -> int:
        async with db.reading() as uow:
            rows = await uow.anomalies.listed(period.start, period.end, limit=args.limit)
        if not rows:
            print(f"no flagged responses in {period.label} (flags are set by `civicpulse "
                  "appraisal run`)")
            return 0
        active = still_excluding(flag for flag, _, _ in rows)
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

    return on_database(settings, work)


@with_database
async def cmd_anomalies_dismiss(settings: Settings, args: argparse.Namespace,
                                db: Database) -> int:
    from surveys.appraisal.run import dismiss_flags

    dismissal = await dismiss_flags(db, args.response, args.kind, args.reason, actor=args.by)
    listed = ", ".join(f"response {r} {kind}" for r, kind in dismissal.flags)
    print(f"dismissed {len(dismissal.flags)} flag(s): {listed}; from the next `civicpulse "
          "appraisal run` they exclude nothing (published results do not change)")
    for response_id, kinds in sorted(dismissal.still_excluded.items()):
        print(f"  response {response_id} is still excluded by its {' and '.join(kinds)} "
              "flag")
    return 0


@with_database
async def cmd_anomalies_restore(settings: Settings, args: argparse.Namespace,
                                db: Database) -> int:
    from surveys.appraisal.run import restore_flags

    done = await restore_flags(db, args.response, args.kind, actor=args.by,
                               reason=args.reason)
    listed = ", ".join(f"response {r} {kind}" for r, kind in done)
    print(f"restored {len(done)} flag(s): {listed}; these responses are excluded "
          "again from the next `civicpulse appraisal run`")
    return 0


def register(commands: Commands) -> None:
    anomalies = commands.group("anomalies", "responses flagged as anomalous")
    alist = anomalies.add("list", cmd_anomalies_list,
                          "flagged responses of a period, with reasons")
    alist.add_argument("--period", required=True)
    alist.add_argument("--limit", type=count_arg, default=1000)
    for verb, func, text in (
        ("dismiss", cmd_anomalies_dismiss, "an auditor judged flagged responses genuine: "
         "they count again from the next run (the flags stay on record)"),
        ("restore", cmd_anomalies_restore,
         "undo a dismissal: the responses are excluded again"),
    ):
        act = anomalies.add(verb, func, text)
        act.add_argument("--response", type=id_arg, action="append", required=True,
                         metavar="ID", help="a flagged response's id (repeat for several)")
        act.add_argument("--kind", choices=KINDS, help="only flags of this kind (default: all)")
        act.add_argument("--by", default="cli", help="who decides, for the audit log")
        act.add_argument("--reason", required=verb == "dismiss", help="why, for the audit log"
                         + (" (optional)" if verb == "restore" else ""))
