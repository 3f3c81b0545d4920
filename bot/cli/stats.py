"""`civicpulse stats`: satisfaction statistics of a period, per unit and question."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.cli.common import CliError, Commands
from bot.cli.db import on_database
from bot.settings import Settings
from storage.uow import Database

if TYPE_CHECKING:
    from analysis.statistics import QuestionStats


def cmd_stats(settings: Settings, args: argparse.Namespace) -> int:
    from analysis.appraisal import by_owner, unit_statistics
    from surveys.appraisal.periods import parse_period

    period = parse_period(args.period)

    async def work(db: Database) -> int:
        async with db.reading() as uow:
            units = {u.id: u for u in (await uow.units.snapshot()).units}
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

    return on_database(settings, work)


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


def register(commands: Commands) -> None:
    stats = commands.add("stats", cmd_stats, "satisfaction statistics per unit and question")
    stats.add_argument("--period", required=True)
    stats.add_argument("--unit", help="one unit's code (default: every unit with answers)")
