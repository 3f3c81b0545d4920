"""`civicpulse surveys`: the questionnaires' YAML files."""

from __future__ import annotations

import argparse
import sys

from bot.cli.common import Commands
from bot.settings import Settings


def cmd_surveys_validate(settings: Settings, args: argparse.Namespace) -> int:
    from surveys.questionnaire.loader import validate_paths

    issues = validate_paths(args.paths)
    for issue in issues:
        print(issue, file=sys.stderr)
    if issues:
        print(f"{len(issues)} problem(s) found", file=sys.stderr)
        return 1
    print(f"ok: {', '.join(str(p) for p in args.paths)}")
    return 0


def register(commands: Commands) -> None:
    surveys = commands.group("surveys", "questionnaires")
    surveys.add("validate", cmd_surveys_validate, "check survey YAML files").add_argument(
        "paths", nargs="+", metavar="PATH")
