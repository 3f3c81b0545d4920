"""The `civicpulse` command line: one module per noun (campaign, cadre, appraisal...), each
registering its own subcommands; `main` parses, runs one, and turns refusals into exit codes."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from sqlalchemy.exc import DBAPIError

from bot.cli import (
    anomalies,
    appraisal,
    audit,
    cadres,
    campaigns,
    cases,
    db,
    export,
    kpi,
    roles,
    run,
    sentiment,
    stats,
    surveys,
    units,
)
from bot.cli.common import CliError, Commands
from bot.settings import ConfigError, load_settings
from storage.db import DatabaseUnavailable
from surveys.appraisal.exports import ExportError
from surveys.appraisal.periods import PeriodError
from surveys.appraisal.run import AppraisalError
from surveys.campaigns.rules import CampaignRuleError
from surveys.fieldwork.cadres import CadreError
from surveys.people.roles import RoleError

EXIT_USAGE = 2

# In the order `civicpulse --help` lists them.
NOUNS = (run, db, units, surveys, campaigns, export, roles, cadres, audit, sentiment, appraisal,
         anomalies, stats, kpi, cases)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="civicpulse", description="CivicPulse: public opinion and fair appraisal, in chat."
    )
    parser.add_argument("--config", help="path to config.yaml (default: $CIVICPULSE_CONFIG "
                        "or ./config.yaml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    commands = Commands(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    for noun in NOUNS:
        noun.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Opt in to PTB's coming timedelta durations (retry_after...); the old ints warn.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request and Alembic every check at INFO; that drowns what matters.
    if not args.verbose:
        logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        settings = load_settings(args.config)
        return int(args.func(settings, args))
    except ConfigError as exc:
        print(f"civicpulse: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (CliError, CampaignRuleError, RoleError, ExportError, CadreError, PeriodError,
            AppraisalError) as exc:
        # A request the rules refuse: one line, exit 1.
        print(f"civicpulse: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (`civicpulse … | head`): not a database problem, and nothing
        # left to say. Point stdout at /dev/null so the exit's flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (DBAPIError, DatabaseUnavailable, ConnectionError) as exc:
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        print(f"civicpulse: cannot use the database: {detail}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
