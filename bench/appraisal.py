"""Benchmark: a full `civicpulse appraisal run` over a big synthetic period.

Seeds 2,000 units (a county, 40 townships, villages), one cadre per village, one residents'
campaign per unit in 2026-Q4, 1,000,000 completed responses (4 rated answers each, skewed so
many villages are small) with 100,000 comments, inspections and KPI values; then, as separate
processes, the real CLI:

1. `civicpulse sentiment backfill` scores the 100,000 comments (reported apart: in production
   the bot scores comments as they arrive, so a run finds almost none left);
2. `civicpulse appraisal run --period 2026-Q4`: anomaly detection, SQL aggregation, scoring,
   themes, storing a new version — timed, with the process's peak memory.

Target: the run under 60 s on PostgreSQL, memory under 1 GB. Run:
    .venv/bin/python bench/appraisal.py                      # SQLite and PostgreSQL
    .venv/bin/python bench/appraisal.py --backends postgresql --responses 200000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.exc import DBAPIError  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from storage.models import ANSWER_SLOTS  # noqa: E402
from surveys.respondents.anonymity import coarse  # noqa: E402

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/civicpulse_bench_appraisal"
PERIOD = "2026-Q4"
START = datetime(2026, 10, 1, tzinfo=UTC)
SECONDS = int((datetime(2027, 1, 1, tzinfo=UTC) - START).total_seconds())
QUESTIONS = (("overall", "rating", "overall_satisfaction"),
             ("resolved", "yesno", "problem_solved"),
             ("timeliness", "rating", "responsiveness"),
             ("courtesy", "rating", "attitude"))
GOOD = ["The staff were patient and helpful", "My permit was issued quickly",
        "Clear instructions at the window", "办事效率很高", "工作人员态度很好",
        "The new online booking saved me a trip", "问题当场就解决了", "Friendly and fast"]
BAD = ["I waited almost two hours in the queue", "Nobody could tell me which form to use",
       "排队时间太长", "被推来推去跑了三趟", "The clerk was rude to my mother",
       "Still no answer about the broken street light", "要求的材料没有说清楚",
       "The office closed early again"]
TAIL = ["this time", "on Monday", "at the north office", "上周", "last month", "today",
        "for my pension", "办理户口", "for the road repair", "办社保", "again", "as usual"]


def _ts(moment: datetime, sqlite: bool) -> object:
    return moment.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else moment


def units(count: int) -> list[tuple[int, str, str, int | None, str, int]]:
    """(id, code, name, parent id, type, population): a county, 40 townships, villages."""
    rows: list[tuple[int, str, str, int | None, str, int]] = [
        (1, "C", "County", None, "county", 800_000)]
    townships = min(40, max(1, count // 50))
    for t in range(townships):
        rows.append((2 + t, f"T{t:02d}", f"Township {t}", 1, "township", 40_000))
    for v in range(count - 1 - townships):
        rows.append((2 + townships + v, f"T{v % townships:02d}-V{v:04d}", f"Village {v}",
                     2 + v % townships, "village", random.randint(300, 5000)))
    return rows


def plan_responses(unit_rows: list[tuple[int, str, str, int | None, str, int]], total: int
                   ) -> list[tuple[int, int, float]]:
    """(unit id, responses, true mean 1-5): skewed, many small villages."""
    weights = [random.paretovariate(1.2) for _ in unit_rows]
    scale = total / sum(weights)
    counts = [max(1, int(w * scale)) for w in weights]
    counts[0] += total - sum(counts)
    return [(u[0], n, random.uniform(2.2, 4.7)) for u, n in zip(unit_rows, counts, strict=True)]


def rating(mean: float) -> float:
    return float(min(5, max(1, round(random.gauss(mean, 0.9)))))


def response_rows(plan: list[tuple[int, int, float]], comments: int, sqlite: bool
                  ) -> Iterator[tuple[tuple[object, ...], list[tuple[object, ...]]]]:
    total = sum(n for _, n, _ in plan)
    comment_p = comments / total
    serial = 0
    used: set[int] = set()

    def random_id() -> int:
        # Random ids as the bot gives them (storage.models.random_id), from the seeded RNG.
        while True:
            value = random.randrange(1, 2**53)
            if value not in used:
                used.add(value)
                return value

    for unit_id, n, mean in plan:
        for _ in range(n):
            serial += 1
            rid = random_id()
            done = coarse(START + timedelta(seconds=random.randrange(SECONDS)))
            took = round(random.uniform(25, 150))
            entry = random.choice(("window-1", "window-2")) if random.random() < 0.3 else None
            response = (rid, unit_id, 1, f"{serial:064x}", "completed", None, 9, None, "en",
                        _ts(done, sqlite), _ts(done, sqlite), took, entry, None)
            answers: list[tuple[object, ...]] = []
            # Answer ids as the bot gives them (storage.models.answer_id): next to their
            # response's.
            for slot, (question, kind, indicator) in enumerate(QUESTIONS):
                if kind == "rating":
                    value = rating(mean)
                else:
                    value = 1.0 if random.random() < (mean - 1) / 4 else 0.0
                answers.append((rid * ANSWER_SLOTS + slot, rid, question, kind, indicator,
                                False, value, None, None))
            if random.random() < comment_p:
                pool = GOOD if random.random() < (mean - 1) / 4 else BAD
                remark = f"{random.choice(pool)} {random.choice(TAIL)} #{random.randrange(99)}"
                answers.append((rid * ANSWER_SLOTS + len(QUESTIONS), rid, "comment", "text",
                                "comments", False, None, remark, None))
            yield response, answers


RESPONSE_COLUMNS = ["id", "campaign_id", "survey_id", "respondent_key", "status",
                    "current_question", "step", "draft", "language", "started_at",
                    "completed_at", "duration_s", "entry_point", "person_id"]
ANSWER_COLUMNS = ["id", "response_id", "question_id", "question_type", "indicator", "skipped",
                  "value_number", "value_text", "value_choices"]


def fixed_rows(unit_rows: list[tuple[int, str, str, int | None, str, int]], sqlite: bool
               ) -> dict[str, tuple[list[str], list[tuple[object, ...]]]]:
    now = datetime(2026, 10, 1, tzinfo=UTC)
    definition = json.dumps({"id": "resident_satisfaction"})
    villages = [u for u in unit_rows if u[4] == "village"]
    people = [(i + 1, f"Cadre {u[1]}", "Village head", i + 1) for i, u in enumerate(villages)]
    contacts = [(i + 1, 10_000_000 + i, 10_000_000 + i, "en", False, False)
                for i in range(len(villages))]
    roles = [(i + 1, i + 1, "cadre", u[0]) for i, u in enumerate(villages)]
    inspections = []
    for i, u in enumerate(villages):
        for k in range(2):
            moment = START + timedelta(days=20 + 30 * k, hours=i % 24)
            inspections.append((2 * i + k + 1, 1, u[0], i + 1 if k else None, None,
                                random.choice(("achieved", "partly", "not_achieved")),
                                "Checked on site", _ts(moment, sqlite)))
    kpis = [(i + 1, u[0], PERIOD, "waste_collection_rate", round(random.uniform(50, 100), 1),
             "bench.csv", _ts(now, sqlite)) for i, u in enumerate(villages)]
    campaigns = [(u[0], f"bench-{u[0]}", 1, u[0], "closed", _ts(START, sqlite),
                  _ts(START + timedelta(days=92), sqlite), "residents", "UTC", "[]")
                 for u in unit_rows]
    return {
        "units": (["id", "code", "name", "parent_id", "type", "population"], unit_rows),
        "surveys": (["id", "slug", "version", "checksum", "definition"],
                    [(1, "resident_satisfaction", 1, "0" * 64, definition)]),
        "campaigns": (["id", "code", "survey_id", "unit_id", "status", "opens_at",
                       "closes_at", "audience", "timezone", "reminders"], campaigns),
        "contacts": (["id", "telegram_user_id", "chat_id", "language", "opted_out",
                      "unreachable"], contacts),
        "people": (["id", "name", "position", "contact_id"], people),
        "person_roles": (["id", "person_id", "role", "unit_id"], roles),
        "inspections": (["id", "inspector_id", "unit_id", "cadre_id", "task_id", "verdict",
                         "remark", "inspected_at"], inspections),
        "kpi_values": (["id", "unit_id", "period", "kpi", "value", "source", "imported_at"],
                       kpis),
    }


def seed_sqlite(path: Path, args: argparse.Namespace) -> None:
    random.seed(args.seed)
    unit_rows = units(args.units)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    for table, (columns, rows) in fixed_rows(unit_rows, sqlite=True).items():
        marks = ",".join("?" * len(columns))
        con.executemany(f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})", rows)
    responses, answers = [], []
    r_sql = (f"INSERT INTO responses ({','.join(RESPONSE_COLUMNS)}) VALUES "
             f"({','.join('?' * len(RESPONSE_COLUMNS))})")
    a_sql = (f"INSERT INTO answers ({','.join(ANSWER_COLUMNS)}) VALUES "
             f"({','.join('?' * len(ANSWER_COLUMNS))})")
    for response, rows in response_rows(plan_responses(unit_rows, args.responses),
                                        args.comments, sqlite=True):
        responses.append(response)
        answers.extend(rows)
        if len(responses) >= 50_000:
            con.executemany(r_sql, responses)
            con.executemany(a_sql, answers)
            responses, answers = [], []
    con.executemany(r_sql, responses)
    con.executemany(a_sql, answers)
    con.commit()
    con.execute("ANALYZE")
    con.close()


async def seed_postgres(url: str, args: argparse.Namespace) -> None:
    import asyncpg

    random.seed(args.seed)
    unit_rows = units(args.units)
    parsed = make_url(url)
    con = await asyncpg.connect(host=parsed.host, port=parsed.port, user=parsed.username,
                                database=parsed.database)
    try:
        for table, (columns, rows) in fixed_rows(unit_rows, sqlite=False).items():
            await con.copy_records_to_table(table, records=rows, columns=columns)
        responses: list[tuple[object, ...]] = []
        answers: list[tuple[object, ...]] = []
        for response, rows2 in response_rows(plan_responses(unit_rows, args.responses),
                                             args.comments, sqlite=False):
            responses.append(response)
            answers.extend(rows2)
            if len(responses) >= 50_000:
                await con.copy_records_to_table("responses", records=responses,
                                                columns=RESPONSE_COLUMNS)
                await con.copy_records_to_table("answers", records=answers,
                                                columns=ANSWER_COLUMNS)
                responses, answers = [], []
        await con.copy_records_to_table("responses", records=responses,
                                        columns=RESPONSE_COLUMNS)
        await con.copy_records_to_table("answers", records=answers, columns=ANSWER_COLUMNS)
        for table in ("units", "people", "contacts", "person_roles", "campaigns",
                      "inspections", "kpi_values", "surveys"):
            await con.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT max(id) FROM {table}))")
        await con.execute("ANALYZE")
    finally:
        await con.close()


async def reset_postgres(url: str) -> bool:
    parsed = make_url(url)
    server = create_async_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with server.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    except (OSError, DBAPIError) as exc:
        print(f"PostgreSQL not reachable at {parsed.host}:{parsed.port}: {exc}; skipping it")
        return False
    finally:
        await server.dispose()
    return True


# Runs the CLI's main() and reports the process's own peak memory on stderr.
_CLI = ("import resource, sys\nfrom bot.cli import main\ncode = main(sys.argv[1:])\n"
        "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(code)")


def cli(url: str, *argv: str) -> tuple[float, float, str]:
    """Run the real CLI in its own process: (seconds, its peak RSS in MB, output)."""
    env = dict(os.environ, DATABASE_URL=url, CIVICPULSE_SECRET_KEY="bench-secret-0123456789")
    started = time.perf_counter()
    done = subprocess.run([str(ROOT / ".venv/bin/python"), "-c", _CLI, *argv], env=env,
                          cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"civicpulse {' '.join(argv)} failed:\n{done.stdout}{done.stderr}")
    peak_kb = next((int(line.split()[1]) for line in done.stderr.splitlines()
                    if line.startswith("PEAK_KB")), 0)
    return seconds, peak_kb / 1024, done.stdout.strip()


def measure(url: str, label: str, args: argparse.Namespace) -> dict[str, float]:
    cli(url, "db", "upgrade")
    started = time.perf_counter()
    if url.startswith("sqlite"):
        seed_sqlite(Path(make_url(url).database or ""), args)
    else:
        asyncio.run(seed_postgres(url, args))
    seeded = time.perf_counter() - started
    print(f"[{label}] seeded {args.responses:,} responses, ~{args.comments:,} comments, "
          f"{args.units:,} units in {seeded:.0f} s")
    scoring, scoring_mb, out = cli(url, "sentiment", "backfill")
    print(f"[{label}] sentiment backfill: {scoring:.1f} s, peak {scoring_mb:.0f} MB ({out})")
    run, run_mb, out = cli(url, "appraisal", "run", "--period", PERIOD)
    print(f"[{label}] appraisal run: {run:.1f} s, peak {run_mb:.0f} MB")
    print("    " + out.replace("\n", "\n    "))
    return {"seed": seeded, "scoring": scoring, "scoring_mb": scoring_mb, "run": run,
            "run_mb": run_mb}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--units", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--postgres-url", default=PG_URL)
    args = parser.parse_args()
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-appraisal-") as tmp:
        for backend in args.backends.split(","):
            if backend == "sqlite":
                url = f"sqlite+aiosqlite:///{tmp}/bench.db"
            elif backend == "postgresql":
                if not asyncio.run(reset_postgres(args.postgres_url)):
                    continue
                url = args.postgres_url
            else:
                raise SystemExit(f"unknown backend {backend!r}")
            figures[backend] = measure(url, backend, args)
    print()
    print(f"{'backend':12} {'appraisal run':>14} {'peak memory':>12} {'sentiment backfill':>19}")
    for backend, f in figures.items():
        print(f"{backend:12} {f['run']:>12.1f} s {f['run_mb']:>9.0f} MB "
              f"{f['scoring']:>17.1f} s")
    if "postgresql" in figures:
        f = figures["postgresql"]
        print(f"target: PostgreSQL run under 60 s: {'met' if f['run'] < 60 else 'MISSED'} "
              f"({f['run']:.1f} s); memory under 1 GB: "
              f"{'met' if max(f['run_mb'], f['scoring_mb']) < 1024 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
