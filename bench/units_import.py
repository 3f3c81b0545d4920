"""Benchmark: ``civicpulse units import`` of a province-sized file (100,000 units).

The file: a province, 10 cities, 100 counties, 1,000 townships and the rest villages, with
Chinese names, as CSV. Through the real CLI, each in its own process, on a fresh database:

1. the first import (every unit created, each audited);
2. the same file again (nothing changes: the import must still read and check it all);
3. the file with one unit in ten renamed and one in a hundred moved to another township.

Then what a staff action pays for the tree once the province is stored (every scope check of
an admin, inspector or case handler reads it): the tree read as ORM rows, as before migration
0019 (the baseline, measured in the same run), the first read of the kept tree, and a read
while the units are unchanged (one read of their revision).

PostgreSQL (``--postgres-url``, a database of its own that is dropped and made again) and
SQLite (a temporary file). Target (issue 17): the first import under 20 s. Run:
    .venv/bin/python bench/units_import.py [--units 100000] [--skip-sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.appraisal import cli, reset_postgres  # noqa: E402
from storage.uow import Database  # noqa: E402
from surveys.people.access import UnitTree  # noqa: E402

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/civicpulse_bench_units"
TARGET_S = 20.0


def write_file(path: Path, units: int, renamed: bool = False) -> None:
    """A province's tree; ``renamed``: every tenth village renamed, every hundredth moved."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["code", "name", "name_zh", "parent", "type", "population"])
        writer.writerow(["P", "Province", "省", "", "province", 50_000_000])
        levels = [("city", 10, "C", "市"), ("county", 100, "K", "县"),
                  ("township", 1_000, "T", "镇")]
        parents, written = ["P"], 1
        for kind, count, prefix, zh in levels:
            codes = [f"{prefix}{i:04d}" for i in range(count)]
            for i, code in enumerate(codes):
                writer.writerow([code, f"{kind.title()} {i}", f"第{i}{zh}",
                                 parents[i % len(parents)], kind, 10_000])
            parents, written = codes, written + count
        townships = parents
        for i in range(units - written):
            parent = townships[i % len(townships)]
            name = f"Village {i}"
            if renamed and i % 10 == 0:
                name = f"Village {i} (renamed)"
            if renamed and i % 100 == 0:
                parent = townships[(i + 1) % len(townships)]
            writer.writerow([f"V{i:06d}", name, f"{i}村", parent, "village", 800])


async def _timed(db: Database, read: str) -> float:
    """Seconds of one staff action's tree: in its own transaction, as a use case reads it."""
    started = time.perf_counter()
    async with db.transaction() as uow:
        if read == "rows":
            UnitTree(await uow.units.all())  # type: ignore[arg-type]  # the old way
        else:
            await UnitTree.load(uow)
    return time.perf_counter() - started


async def tree_reads(url: str) -> tuple[float, float, float]:
    """(ORM rows, first kept read, median unchanged read), seconds."""
    db = Database.from_url(url)
    try:
        rows = statistics.median([await _timed(db, "rows") for _ in range(3)])
        first = await _timed(db, "kept")
        unchanged = statistics.median([await _timed(db, "kept") for _ in range(20)])
    finally:
        await db.dispose()
    return rows, first, unchanged


def run(url: str, label: str, files: tuple[Path, Path]) -> list[tuple[str, float, float]]:
    cli(url, "db", "upgrade")
    rows = []
    for name, path in (("first import", files[0]), ("same file again", files[0]),
                       ("10% renamed, 1% moved", files[1])):
        seconds, peak_mb, out = cli(url, "units", "import", str(path))
        print(f"[{label}] {name}: {seconds:.1f} s, peak {peak_mb:.0f} MB ({out.splitlines()[-1]})",
              flush=True)
        rows.append((name, seconds, peak_mb))
    old, first, unchanged = asyncio.run(tree_reads(url))
    print(f"[{label}] a staff action's unit tree: as ORM rows {old:.2f} s; kept: first "
          f"{first:.2f} s, then {unchanged * 1000:.1f} ms while unchanged", flush=True)
    TREES[label] = (old, first, unchanged)
    return rows


TREES: dict[str, tuple[float, float, float]] = {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--postgres-url", default=PG_URL)
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    results: dict[str, list[tuple[str, float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-units-") as tmp:
        files = (Path(tmp) / "units.csv", Path(tmp) / "units-renamed.csv")
        write_file(files[0], args.units)
        write_file(files[1], args.units, renamed=True)
        if asyncio.run(reset_postgres(args.postgres_url)):
            results["PostgreSQL"] = run(args.postgres_url, "PostgreSQL", files)
        if not args.skip_sqlite:
            results["SQLite"] = run(f"sqlite+aiosqlite:///{tmp}/units.db", "SQLite", files)
    print(f"\n{args.units:,} units, `civicpulse units import`, each run its own process")
    print(f"{'database':12} {'import':24} {'seconds':>8} {'peak MB':>8}")
    for label, rows in results.items():
        for name, seconds, peak_mb in rows:
            print(f"{label:12} {name:24} {seconds:>8.1f} {peak_mb:>8.0f}")
    print(f"\n{'database':12} {'tree as ORM rows':>17} {'kept, first read':>17} "
          f"{'kept, unchanged':>16}")
    for label, (old, first, unchanged) in TREES.items():
        print(f"{label:12} {old:>15.2f} s {first:>15.2f} s {unchanged * 1000:>13.1f} ms")
    firsts = [rows[0][1] for rows in results.values()]
    met = all(s < TARGET_S for s in firsts)
    print(f"target: the first import under {TARGET_S:.0f} s: {'met' if met else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
