"""The outbox's rules: which queued messages go now, and what each sending outcome means.

The sender in ``bot/outbox.py`` does the I/O; these use cases decide, one transaction each.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING

from storage.models import LIVE_STATUSES, OutboxStatus
from storage.outbox import Delivery
from surveys.campaigns import scheduling
from surveys.people.caller import LANGUAGES
from surveys.people.names import Names
from surveys.questionnaire import engine
from surveys.questionnaire.catalog import SurveyCatalog
from surveys.questionnaire.schema import Survey
from surveys.respondents.anonymity import respondent_key

if TYPE_CHECKING:
    from storage.uow import UnitOfWork


@dataclass(frozen=True)
class Prompt:
    """What an invitation or reminder says about its campaign."""

    campaign_id: int
    code: str
    unit: Names
    survey: Survey
    closes_at: datetime | None
    questions: int
    audience: str


@dataclass(frozen=True)
class Outgoing:
    delivery: Delivery
    prompt: Prompt
    lang: str

    @property
    def is_reminder(self) -> bool:
        return scheduling.is_reminder(self.delivery.kind)


async def _prompt(uow: UnitOfWork, catalog: SurveyCatalog, campaign_id: int) -> Prompt | None:
    """What to say about the campaign, or None if it no longer takes answers."""
    campaign = await uow.campaigns.get(campaign_id)
    if campaign is None or campaign.status not in LIVE_STATUSES:
        return None
    survey = await catalog.get(uow, campaign.survey_id)
    return Prompt(
        campaign_id=campaign.id, code=campaign.code, unit=Names.of(campaign.unit),
        survey=survey, closes_at=campaign.closes_at,
        questions=engine.progress(survey, engine.start(survey)).total,
        audience=campaign.audience,
    )


async def claim(
    uow: UnitOfWork, now: datetime, *, limit: int, busy_chats: Collection[int], secret: bytes,
    catalog: SurveyCatalog, default_language: str = "en",
) -> list[Outgoing]:
    """Take up to ``limit`` due messages and mark them ``sending``.

    Skips (for good) messages that no longer make sense: the campaign closed, the person
    opted out or blocked the bot, or (for a reminder) already answered. At most one message
    per chat, and none to ``busy_chats`` (written to less than a second ago), so the
    per-chat flood limit holds.
    """
    candidates = await uow.outbox.due(now, limit * 4)
    contacts = {c.contact_id for c in candidates}
    states = await uow.contacts.states(contacts)
    answered = await _answered(uow, secret, [c for c in candidates
                                             if scheduling.is_reminder(c.kind)])
    prompts: dict[int, Prompt | None] = {}
    chosen: list[Outgoing] = []
    drop: dict[str, list[int]] = {}
    taken_chats: set[int] = set()
    for delivery in candidates:
        if len(chosen) >= limit:
            break
        if delivery.campaign_id not in prompts:
            prompts[delivery.campaign_id] = await _prompt(uow, catalog, delivery.campaign_id)
        prompt = prompts[delivery.campaign_id]
        opted_out, unreachable = states.get(delivery.contact_id, (True, True))
        if prompt is None:
            drop.setdefault("the campaign closed", []).append(delivery.id)
            continue
        if opted_out:
            drop.setdefault("the person opted out", []).append(delivery.id)
            continue
        if unreachable:
            drop.setdefault("the person blocked the bot", []).append(delivery.id)
            continue
        if delivery.chat_id in taken_chats or delivery.chat_id in busy_chats:
            continue  # stays pending; goes in a later round
        if delivery.id in answered:
            # A neutral reason: the outbox must not record who has answered.
            drop.setdefault("no longer needed", []).append(delivery.id)
            continue
        lang = delivery.language if delivery.language in LANGUAGES else default_language
        taken_chats.add(delivery.chat_id)
        chosen.append(Outgoing(delivery, prompt, lang))
    for reason, ids in drop.items():
        await uow.outbox.mark(ids, OutboxStatus.SKIPPED, error=reason)
    await uow.outbox.mark([o.delivery.id for o in chosen], OutboxStatus.SENDING, attempt=True)
    return chosen


async def _answered(uow: UnitOfWork, secret: bytes, reminders: Sequence[Delivery]) -> set[int]:
    """The reminders whose recipient has completed the poll meanwhile (one query a campaign)."""
    by_campaign: dict[int, dict[str, int]] = {}
    for d in reminders:
        key = respondent_key(secret, d.campaign_id, d.telegram_user_id)
        by_campaign.setdefault(d.campaign_id, {})[key] = d.id
    answered: set[int] = set()
    for campaign_id, keys in by_campaign.items():
        for key in await uow.responses.completed_keys(campaign_id, list(keys)):
            answered.add(keys[key])
    return answered


class Outcome(Enum):
    SENT = "sent"
    BLOCKED = "blocked"  # 403: the person blocked the bot
    REFUSED = "refused"  # 400: the chat is gone or the message is wrong; retrying cannot help
    FLOOD = "flood"  # 429 beyond the client's own retries
    NETWORK = "network"  # timed out or connection lost: it may or may not have arrived


@dataclass(frozen=True)
class Result:
    outgoing: Outgoing
    outcome: Outcome
    detail: str = ""
    retry_after: timedelta = timedelta(0)


async def record(
    uow: UnitOfWork, results: Sequence[Result], now: datetime, *, max_attempts: int
) -> None:
    """Write what happened to a round of sends."""
    by_outcome: dict[Outcome, list[Result]] = {}
    for result in results:
        by_outcome.setdefault(result.outcome, []).append(result)
    ids = lambda rs: [r.outgoing.delivery.id for r in rs]  # noqa: E731
    await uow.outbox.mark(ids(by_outcome.get(Outcome.SENT, [])), OutboxStatus.SENT, now=now)
    blocked = by_outcome.get(Outcome.BLOCKED, [])
    await uow.outbox.mark(ids(blocked), OutboxStatus.FAILED, error="blocked the bot (403)")
    await uow.contacts.mark_unreachable(r.outgoing.delivery.contact_id for r in blocked)
    for result in by_outcome.get(Outcome.REFUSED, []):
        await uow.outbox.mark(ids([result]), OutboxStatus.FAILED, error=result.detail)
    for result in by_outcome.get(Outcome.FLOOD, []):
        # Flood control is not the message's fault: it does not count as an attempt.
        await uow.outbox.mark(ids([result]), OutboxStatus.PENDING, error=result.detail,
                              due_at=now + result.retry_after)
        await uow.outbox.uncount_attempt(result.outgoing.delivery.id)
    for result in by_outcome.get(Outcome.NETWORK, []):
        attempts = result.outgoing.delivery.attempts + 1
        if attempts >= max_attempts:
            await uow.outbox.mark(ids([result]), OutboxStatus.FAILED, error=result.detail)
        else:
            backoff = timedelta(seconds=min(300, 2 ** attempts))
            await uow.outbox.mark(ids([result]), OutboxStatus.PENDING, error=result.detail,
                                  due_at=now + backoff)
