"""Processed updates: which Telegram updates were handled, so a redelivery changes nothing.

Like every repository here, it never commits; the unit of work around it decides.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete

from storage.db import Repository, insert_new
from storage.models import ProcessedUpdate


class UpdatesRepository(Repository):
    async def claim(self, update_id: int, digest: str, hour: datetime) -> bool:
        """Record the update (its id and content digest) as handled; False if it already was.

        ``hour`` is when, truncated to the hour by the caller's clock. Two deliveries at once:
        the second waits for the first's transaction and gets False if it committed, True if
        it rolled back.
        """
        return await insert_new(
            self.session, ProcessedUpdate,
            {"update_id": update_id, "digest": digest,
             "processed_at": hour.replace(minute=0, second=0, microsecond=0)},
            ["update_id", "digest"],
        )

    async def prune(self, before: datetime) -> int:
        result = await self.session.execute(
            delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before)
        )
        return int(getattr(result, "rowcount", 0) or 0)
