"""What every `civicpulse` command shares: its error, its option types, and the registry that
each noun's module adds its subcommands to."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable

from bot.settings import Settings
from storage.ids import INTEGER_MAX, parse_id

Command = Callable[[Settings, argparse.Namespace], int]
"""What a subcommand runs: the loaded settings and the parsed options in, the exit status out."""


class CliError(Exception):
    """A user error: printed as one message, exit status 1."""


_WHOLE = re.compile(r"-?[0-9]+")


def id_arg(text: str) -> int:
    """An id option (``--person``, ``--response``...): any whole number, as typed. One that
    no record can have (0, -1, past the column's range) is refused by the command as "no such
    ..." like any other missing id; ``int()`` alone would also take ``1_0`` or other
    scripts' digits."""
    if not _WHOLE.fullmatch(text.strip()) or len(text) > 64:
        raise argparse.ArgumentTypeError(f"not an id: {text!r} (a whole number is expected)")
    return int(text)


def count_arg(text: str) -> int:
    """A count (``--limit``): 1 to 2**31 - 1, what every LIMIT needs (PostgreSQL refuses a
    negative one and one past int64; SQLite reads -1 as no limit at all)."""
    value = parse_id(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number from 1 to {INTEGER_MAX}")
    return value


def refuse_import(issues: Iterable[str]) -> int:
    """An all-or-nothing import that found problems: each one on stderr, and exit status 1."""
    for issue in issues:
        print(issue, file=sys.stderr)
    print("nothing was imported", file=sys.stderr)
    return 1


class Commands:
    """One level of `civicpulse` subcommands: the top level, or a noun's actions.

    Each noun's module registers its own, so that a command's options sit next to what it
    does; the order of registration is the order `--help` lists them in.
    """

    def __init__(self, choices: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        self._choices = choices

    def add(self, name: str, func: Command, text: str) -> argparse.ArgumentParser:
        """A command that runs ``func``; the caller adds its options to what this returns."""
        parser = self._choices.add_parser(name, help=text)
        parser.set_defaults(func=func)
        return parser

    def group(self, name: str, text: str, metavar: str = "ACTION") -> Commands:
        """A noun whose actions are chosen by the next word (`campaign create`); which one
        was given is in ``args.<name>_command``."""
        return Commands(self._choices.add_parser(name, help=text).add_subparsers(
            dest=f"{name}_command", required=True, metavar=metavar))
