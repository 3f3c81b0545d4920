"""What handlers need, injected once by the wiring in ``bot/app.py``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from telegram import Update

from storage.evidence import EvidenceStore
from storage.repositories import utcnow
from storage.uow import Database, UnitOfWork
from surveys.anonymity import DEFAULT_RESOLUTION
from surveys.catalog import SurveyCatalog
from surveys.fieldwork import FieldRules
from surveys.operations import Burden
from surveys.responding import Respondent

log = logging.getLogger(__name__)
T = TypeVar("T")


class DuplicateUpdate(Exception):
    """This update was handled before (Telegram delivered it again)."""


@dataclass
class Deps:
    db: Database
    secret: bytes
    catalog: SurveyCatalog
    default_language: str = "en"
    min_cell_size: int = 5
    time_resolution: timedelta = DEFAULT_RESOLUTION
    clock: Callable[[], datetime] = utcnow
    bot_username: str = "CivicPulseBot"
    burden: Burden = field(default_factory=Burden)
    default_closes_after_days: int = 30
    # Cadres' notes and inspectors' records: limits, and where photo evidence is kept.
    fieldwork: FieldRules = field(default_factory=FieldRules)
    evidence: EvidenceStore = field(default_factory=lambda: EvidenceStore(Path("var/evidence")))
    # Called after a commit that changed campaigns or queued messages, so the scheduler and
    # the outbox sender act now rather than at their next poll.
    campaigns_changed: Callable[[], None] = lambda: None
    outbox_changed: Callable[[], None] = lambda: None
    # Someone's roles changed (committed): their command menu should follow.
    roles_changed: Callable[[], None] = lambda: None

    def respondent(self, update: Update) -> Respondent:
        user = update.effective_user
        chat = update.effective_chat
        assert user is not None and chat is not None
        return Respondent(
            telegram_user_id=user.id,
            chat_id=chat.id,
            client_language=user.language_code,
            secret=self.secret,
            catalog=self.catalog,
            now=self.clock(),
            default_language=self.default_language,
            time_resolution=self.time_resolution,
        )

    async def run(
        self, update: Update, use_case: Callable[[UnitOfWork], Awaitable[T]]
    ) -> T:
        """Run a use case in one transaction that also claims the update id.

        Raises:
            DuplicateUpdate: Telegram delivered this update before; nothing was changed.
        """
        async with self.db.transaction() as uow:
            if not await uow.updates.claim(update.update_id):
                raise DuplicateUpdate(update.update_id)
            return await use_case(uow)
