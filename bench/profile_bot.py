"""`civicpulse` under cProfile counting CPU time (not wall time, which a shared machine's other
load would distort): ``python -m bench.profile_bot OUT run ...`` writes the profile to OUT when
the bot exits. bench/ingest.py uses it with ``--profile``; read it with ``python -m pstats``."""

from __future__ import annotations

import cProfile
import sys
import time

from bot.cli import main


def run(out: str, argv: list[str]) -> int:
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    try:
        return main(argv)
    finally:
        profile.disable()
        profile.dump_stats(out)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1], sys.argv[2:]))
