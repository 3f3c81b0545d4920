"""Benchmark: choosing a unit a level at a time in a province (UnitTree.browse).

A resident reporting a problem, an admin starting a campaign and an inspector all pick a unit
by opening one level after another; every tap builds the level again from the kept tree. The
tree: a province, 10 cities, 100 counties, 1,000 townships and the rest villages (as in
bench/units_import.py), in memory. Each kind of person opens the top of their scope; the
baseline, measured in the same run, finds the scope's top units by walking every unit, as
browse did before.

    .venv/bin/python bench/unit_tree.py [--units 100000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Set
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from storage.units import UnitNode  # noqa: E402
from surveys.people.access import UnitTree  # noqa: E402


def province(units: int) -> UnitTree:
    """Ids 1 (the province), 2-11 cities, 12-111 counties, 112-1111 townships, then villages."""
    parents = [None] + [1] * 10 + [2 + i % 10 for i in range(100)] \
        + [12 + i % 100 for i in range(1_000)]
    parents += [112 + i % 1_000 for i in range(units - len(parents))]
    return UnitTree([UnitNode(i, f"U{i}", f"Unit {i}", None, "unit", parent, None, None,
                              None, None) for i, parent in enumerate(parents, start=1)])


def scanning_tops(tree: UnitTree, visible: Set[int]) -> list[UnitNode]:
    """The baseline: the scope's top units found by walking the whole tree."""
    return sorted((u for u in tree.by_id.values()
                   if u.id in visible and (u.parent_id is None or u.parent_id not in visible)),
                  key=lambda u: u.name)


def median_ms(work: Callable[[], object], times: int = 30) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        work()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=100_000)
    args = parser.parse_args()
    tree = province(args.units)
    scopes: list[tuple[str, Set[int]]] = [
        ("resident (every unit)", tree.by_id.keys()),
        ("county admin", tree.subtree(12)),
        ("township cadre", tree.subtree(112)),
    ]
    print(f"{args.units:,} units; the top of each scope opened, median of 30, ms")
    print(f"{'who':24} {'units in scope':>15} {'walking every unit':>19} {'browse':>8}")
    for who, visible in scopes:
        old = median_ms(partial(scanning_tops, tree, visible))
        new = median_ms(partial(tree.browse, visible, None))
        print(f"{who:24} {len(visible):>15,} {old:>19.2f} {new:>8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
