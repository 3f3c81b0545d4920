"""`civicpulse run`: the bot itself, in one process or as several webhook workers."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging

from bot.cli.common import CliError, Commands
from bot.settings import Settings, WebhookSection


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.polling import PollingStopped
    from bot.runner import run
    from bot.turns import UpdateIdFilter
    from bot.workers import run_workers

    if args.webhook is not None:
        try:
            hook = WebhookSection.model_validate({**settings.webhook.model_dump(),
                                                  "url": args.webhook})
        except ValueError as exc:
            raise CliError(f"--webhook: {args.webhook!r} is not an http(s) address with a "
                           "path, e.g. https://bot.example.org/telegram/updates") from exc
        settings = settings.model_copy(update={"webhook": hook})
    if args.workers < 1:
        raise CliError("--workers: at least 1")
    # Each log record written while an update is handled carries the update's id (never
    # who sent it): "... [update 812345]: ...".
    for handler in logging.getLogger().handlers:
        handler.addFilter(UpdateIdFilter())
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s%(update)s: %(message)s"))
    # What the process keeps (published versions' rows, rendered pages, the unit tree) is
    # hundreds of thousands of long-lived objects that every full collection walks: young
    # objects collected less often, so collections stop stalling 20 dashboard readers at
    # once (measured: a cadre's result page's p95 426 -> 113 ms, bench/dashboard.py).
    gc.set_threshold(50_000, 20, 100)
    try:
        if args.workers > 1:
            return run_workers(settings, args.workers, args.config)
        asyncio.run(run(settings, migrate=not args.worker, sets_webhook=not args.worker))
    except PollingStopped as exc:
        raise CliError(str(exc)) from exc
    return 0


def register(commands: Commands) -> None:
    parser = commands.add("run", cmd_run,
                          "run the bot (the sandbox with demo data if no token is set)")
    parser.add_argument(
        "--webhook", metavar="URL",
        help="take updates by webhook at this https address (a reverse proxy forwards it to "
             "web.host:web.port) instead of long polling; overrides webhook.url")
    parser.add_argument(
        "--workers", type=int, default=1, metavar="N",
        help="webhook mode on PostgreSQL: N processes sharing the port and the database "
             "(one of them runs the scheduler and the outbox)")
    # Set by --workers for the processes it starts: the parent has migrated.
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
