"""`civicpulse run`: the bot itself."""

from __future__ import annotations

import argparse
import asyncio
import gc

from bot.cli.common import CliError, Commands
from bot.settings import Settings


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.polling import PollingStopped
    from bot.runner import run

    # What the process keeps (published versions' rows, rendered pages, the unit tree) is
    # hundreds of thousands of long-lived objects that every full collection walks: young
    # objects collected less often, so collections stop stalling 20 dashboard readers at
    # once (measured: a cadre's result page's p95 426 -> 113 ms, bench/dashboard.py).
    gc.set_threshold(50_000, 20, 100)
    try:
        asyncio.run(run(settings))
    except PollingStopped as exc:
        raise CliError(str(exc)) from exc
    return 0


def register(commands: Commands) -> None:
    commands.add("run", cmd_run, "run the bot (the sandbox with demo data if no token is set)")
