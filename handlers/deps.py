"""What handlers need, injected once by the wiring in ``bot/app.py``."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from telegram import Update
from telegram.ext import ContextTypes

from storage.audit import KeptCheck
from storage.clock import Clock, utcnow
from storage.evidence import EvidenceStore
from storage.uow import Database, UnitOfWork
from surveys.appraisal.appeals import KeptUnitNames
from surveys.appraisal.public import PublicPages
from surveys.appraisal.published_rows import PublishedRows
from surveys.appraisal.supervision import KeptFlags
from surveys.campaigns.operations import Burden
from surveys.campaigns.progress import KeptCampaigns
from surveys.cases.rules import CaseRules
from surveys.fieldwork.invites import KeptCadres
from surveys.fieldwork.rules import FieldRules
from surveys.people.caller import Caller
from surveys.people.sign_in import WebRules
from surveys.questionnaire.catalog import SurveyCatalog
from surveys.respondents.anonymity import DEFAULT_RESOLUTION
from surveys.respondents.journey import Respondent

log = logging.getLogger(__name__)
T = TypeVar("T")

# PTB's callback context, as every handler and job of the bot receives it.
Context = ContextTypes.DEFAULT_TYPE


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
    clock: Clock = utcnow
    bot_username: str = "CivicPulseBot"
    burden: Burden = field(default_factory=Burden)
    default_closes_after_days: int = 30
    # Cadres' notes and inspectors' records: limits, and where photo evidence is kept.
    fieldwork: FieldRules = field(default_factory=FieldRules)
    evidence: EvidenceStore = field(default_factory=lambda: EvidenceStore(Path("var/evidence")))
    # Problems residents raise: limits and deadlines.
    cases: CaseRules = field(default_factory=CaseRules)
    # The dashboard (handlers/web): its address once it listens (None: not served), whether
    # Telegram can open it as a Mini App (web_app buttons need https, or the sandbox), and its
    # sign-in rules.
    web_url: str | None = None
    web_app: bool = False
    web: WebRules = field(default_factory=WebRules)
    # Four eyes: a draft asked for from the dashboard awaits an auditor's approval.
    publish_requires_approval: bool = True
    # The public pages' address (web.public_url, when the dashboard is served): the thanks
    # after a poll links to its unit's public page. Unset, no link (a local address would
    # reach nobody).
    public_url: str | None = None
    # The ranking's rows of published versions, read once (a published version never
    # changes), for the dashboard's readers and /results alike.
    published: PublishedRows = field(default_factory=PublishedRows)
    # The units' public pages, kept (surveys.appraisal.public.PublicPages says how long).
    public: PublicPages = field(default_factory=PublicPages)
    # What the campaign pages read, kept until the audit log moves (closed campaigns'
    # progress, which no longer changes, with it).
    kept_campaigns: KeptCampaigns = field(init=False)
    # Pages of the cadres' list, kept until the audit log moves.
    kept_cadres: KeptCadres = field(init=False)
    # How far the audit log's chain was found intact, so the auditors' page checks only the
    # events added since.
    audit_chain: KeptCheck = field(default_factory=KeptCheck)
    # The anomaly flags of the periods auditors read, kept until a flag changes.
    flags: KeptFlags = field(default_factory=KeptFlags)
    # The units appealed results recorded (a result never changes), for the appeals page.
    appealed_units: KeptUnitNames = field(default_factory=KeptUnitNames)
    # Called after a commit that changed campaigns or queued messages, so the scheduler and
    # the outbox sender act now rather than at their next poll.
    campaigns_changed: Callable[[], None] = lambda: None
    outbox_changed: Callable[[], None] = lambda: None
    # A case's timeline has entries to deliver (bot/case_relay.py): relay them now.
    cases_changed: Callable[[], None] = lambda: None
    # Someone's roles changed (committed): their command menu should follow.
    roles_changed: Callable[[], None] = lambda: None
    # Counts an update received again after its effect was committed (the bot's metrics).
    on_duplicate: Callable[[], None] = lambda: None

    def __post_init__(self) -> None:
        self.kept_campaigns = KeptCampaigns(self.published, self.catalog)
        self.kept_cadres = KeptCadres(self.published)

    def caller(self, update: Update) -> Caller:
        """Who sends the update, for the use cases of admins, cadres, inspectors and
        reviewers."""
        user = update.effective_user
        assert user is not None
        return Caller(telegram_user_id=user.id, now=self.clock(),
                      client_language=user.language_code,
                      default_language=self.default_language)

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
            case_offer_at=self.cases.offer_at_or_below,
        )

    async def run(
        self, update: Update, use_case: Callable[[UnitOfWork], Awaitable[T]],
        again: Callable[[UnitOfWork], Awaitable[T]] | None = None,
    ) -> T:
        """Run a use case in one transaction that also claims the update.

        A redelivered update (the same update again: a crash came between the commit and the
        confirmation to Telegram, so its reply may never have gone out) changes nothing; with
        ``again`` it is answered anew by that use case (a view of how things stand now, run in
        its own transaction), otherwise it raises.

        Raises:
            DuplicateUpdate: this update was handled before and there is no ``again``.
        """
        async with self.db.transaction() as uow:
            if await uow.updates.claim(update.update_id, update_digest(self.secret, update),
                                       self.clock()):
                return await use_case(uow)
        self.on_duplicate()
        if again is None:
            raise DuplicateUpdate(update.update_id)
        log.info("update %s was handled before; answering it again", update.update_id)
        async with self.db.transaction() as uow:
            return await again(uow)

    async def query(
        self, update: Update, use_case: Callable[[UnitOfWork], Awaitable[T]]
    ) -> T:
        """Run a use case that changes nothing (a list, a status, a permission check).

        It claims nothing: a redelivered update (its reply may have been lost in a crash) is
        simply answered again, as it stands now.
        """
        async with self.db.transaction() as uow:
            return await use_case(uow)


def update_digest(secret: bytes, update: Update) -> str:
    """A keyed digest of the update's content: equal for a redelivery (the same update), not
    for a new update that reuses an id after ids restarted. Keyed, so the table cannot be
    matched against guessed updates without the secret."""
    key = hmac.new(secret, b"civicpulse processed update", hashlib.sha256).digest()
    content = _identity(update)
    if content is None:
        content = json.dumps(update.to_dict(), sort_keys=True, separators=(",", ":"),
                             default=str)
    return hmac.new(key, content.encode(), hashlib.sha256).hexdigest()[:32]


def _identity(update: Update) -> str | None:
    """What tells a message or a button press apart from any other, without serialising the
    whole update (which cost about a tenth of the bot's CPU on every step): Telegram's own
    ids, the time, and what was typed or pressed. None for other kinds of update."""
    query = update.callback_query
    if query is not None:
        message_id = query.message.message_id if query.message is not None else None
        return json.dumps(["callback", update.update_id, query.id, query.from_user.id,
                           query.data, query.inline_message_id, message_id])
    message = update.message or update.edited_message
    if message is not None and update.effective_user is not None:
        edited = message.edit_date.timestamp() if message.edit_date else None
        return json.dumps(["message", update.update_id, message.chat.id, message.message_id,
                           message.date.timestamp(), edited, update.effective_user.id,
                           message.text, message.caption,
                           [p.file_unique_id for p in message.photo],
                           message.location.to_dict() if message.location else None,
                           message.document.file_unique_id if message.document else None])
    return None
