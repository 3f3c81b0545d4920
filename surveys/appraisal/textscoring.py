"""Scoring stored texts: residents' comments, cadres' notes and inspectors' remarks.

Texts are read in batches, scored in a worker thread (the analysers are CPU-bound and must not
hold up the bot's event loop), and stored with the analyser's version. A comment whose text
contradicts its response's rating is marked. Notes and remarks are scored for auditors to read;
they never feed any score.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from analysis.sentiment import ANALYSER_VERSION, Sentiment, contradicts, score_batch
from surveys.respondents.anonymity import coarse

if TYPE_CHECKING:
    from storage.uow import Database

# A backlog grows the scores table much faster than PostgreSQL's autovacuum re-analyses it,
# and a planner that still believes the table empty anti-joins each pending text against all
# its rows. So the statistics are refreshed after this many texts, and again each time the
# number scored doubles (a handful of cheap ANALYZEs for a backlog of 100,000).
BULK = 1000

Scorer = Callable[[Sequence[str]], list[Sentiment]]


async def score_pending(db: Database, batch_size: int = 500, limit: int | None = None,
                        scorer: Scorer = score_batch, settled_before: datetime | None = None,
                        ) -> int:
    """Score texts that have no score from the current analyser; returns how many were scored.

    Residents' comments are scored once their response is completed (and, with
    ``settled_before``, only if it was completed before then); scores carry the time only to
    the privacy resolution.

    Each batch is its own short transaction, so a long backlog never holds a lock for long
    and a crash loses at most one batch's work (it is simply scored again).
    """
    done = refreshed = 0
    # A whole backlog (no limit) refreshes as the table grows; a limited tick (the bot's
    # job) refreshes once at the end.
    refresh_at = BULK if limit is None else math.inf
    after: dict[str, int] = {}
    while limit is None or done < limit:
        size = batch_size if limit is None else min(batch_size, limit - done)
        async with db.reading() as uow:
            pending = await uow.text_scores.pending(ANALYSER_VERSION, size, after,
                                                    completed_before=settled_before)
        if not pending:
            break
        for p in pending:
            after[p.source] = max(after.get(p.source, 0), p.source_id)
        sentiments = await asyncio.to_thread(scorer, [p.text for p in pending])
        now = coarse(db.clock())
        rows = [{"source": p.source, "source_id": p.source_id, "analyser": ANALYSER_VERSION,
                 "language": s.language, "polarity": max(-1.0, min(1.0, s.polarity)),
                 "label": s.label, "scored_at": now,
                 "contradicts": p.rating is not None
                 and contradicts((p.rating - 1) * 25, s)}
                for p, s in zip(pending, sentiments, strict=True)]
        done += len(pending)
        async with db.transaction() as uow:
            await uow.text_scores.add(rows)
            if done >= refresh_at:
                await uow.text_scores.refresh_statistics()
                refreshed, refresh_at = done, refresh_at * 2
    if done >= BULK and refreshed != done:
        async with db.transaction() as uow:
            await uow.text_scores.refresh_statistics()
    return done
