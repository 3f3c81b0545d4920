"""`civicpulse run`: the bot itself."""

from __future__ import annotations

import argparse
import asyncio

from bot.cli.common import CliError, Commands
from bot.settings import Settings


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.polling import PollingStopped
    from bot.runner import run

    try:
        asyncio.run(run(settings))
    except PollingStopped as exc:
        raise CliError(str(exc)) from exc
    return 0


def register(commands: Commands) -> None:
    commands.add("run", cmd_run, "run the bot (the sandbox with demo data if no token is set)")
