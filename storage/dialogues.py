"""The one open dialogue (a multi-step command) of a person with a role."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete

from storage.db import Repository
from storage.models import AdminDialogue


class DialoguesRepository(Repository):
    async def get(self, person_id: int) -> AdminDialogue | None:
        return await self.session.get(AdminDialogue, person_id, populate_existing=True)

    async def start(self, person_id: int, kind: str, step: str, data: dict[str, Any],
                    now: datetime) -> AdminDialogue:
        dialogue = await self.get(person_id)
        if dialogue is None:
            dialogue = AdminDialogue(person_id=person_id, kind=kind, step=step, version=0,
                                     data=data, updated_at=now)
            self.session.add(dialogue)
        else:
            dialogue.kind, dialogue.step, dialogue.data, dialogue.updated_at = (
                kind, step, data, now
            )
            dialogue.version += 1
        await self.session.flush()
        return dialogue

    async def end(self, person_id: int) -> None:
        await self.session.execute(
            delete(AdminDialogue).where(AdminDialogue.person_id == person_id)
        )
