"""`civicpulse sentiment`: the sentiment of free texts, from stdin or the stored ones."""

from __future__ import annotations

import argparse
import io
import sys

from bot.cli.common import Commands
from bot.cli.db import with_database
from bot.settings import Settings
from storage.uow import Database


def cmd_sentiment_score(settings: Settings, args: argparse.Namespace) -> int:
    from analysis.sentiment import run_cli

    # Any labelled set can be scored from outside: one text per line in, one JSON line out.
    stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    return run_cli(stdin, sys.stdout, batch_size=settings.sentiment.batch_size)


@with_database
async def cmd_sentiment_backfill(settings: Settings, args: argparse.Namespace,
                                 db: Database) -> int:
    from analysis.sentiment import ANALYSER_VERSION
    from surveys.appraisal.textscoring import score_pending

    scored = await score_pending(db, settings.sentiment.batch_size)
    print(f"{scored} text(s) scored with analyser {ANALYSER_VERSION}")
    return 0


def register(commands: Commands) -> None:
    sentiment = commands.group("sentiment", "sentiment of free texts")
    sentiment.add("score", cmd_sentiment_score, "read one text per line on stdin, write one "
                  "JSON object per line (language, polarity, label)")
    sentiment.add("backfill", cmd_sentiment_backfill, "score stored comments, notes and "
                  "remarks that the current analyser has not scored")
