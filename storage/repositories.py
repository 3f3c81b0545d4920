"""Repositories: query and persist rows within the caller's transaction.

They never commit and never swallow errors; the unit of work around them decides.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.sql.elements import ColumnElement

from storage.models import (
    AdminDialogue,
    Answer,
    AuditEvent,
    Base,
    Campaign,
    CampaignRun,
    CampaignStatus,
    Contact,
    EntryPoint,
    OutboxMessage,
    OutboxStatus,
    Person,
    PersonRole,
    ProcessedUpdate,
    RespondentSession,
    Response,
    ResponseStatus,
    Role,
    Subscription,
    SurveyVersion,
    TextScore,
    Unit,
    answer_id,
    random_id,
)

GENESIS_HASH = "0" * 64


async def _insert_new(
    session: AsyncSession, model: type[Base], values: dict[str, Any], unique: list[str]
) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on ``unique``; True if the row was inserted.

    Races on a unique key are settled by the database, not by catching IntegrityError.
    """
    dialect = session.get_bind().dialect.name
    build = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = build(model).values(**values).on_conflict_do_nothing(index_elements=unique)
    result = await session.execute(statement)
    return getattr(result, "rowcount", 0) == 1


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Completion:
    """When a response was completed (coarse, see surveys.respondents.anonymity) and how long it
    took."""

    at: datetime
    duration_s: int | None


class UpdatesRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, update_id: int, digest: str, hour: datetime) -> bool:
        """Record the update (its id and content digest) as handled; False if it already was.

        ``hour`` is when, truncated to the hour by the caller's clock. Two deliveries at once:
        the second waits for the first's transaction and gets False if it committed, True if
        it rolled back.
        """
        return await _insert_new(
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


class UnitsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_code(self, code: str) -> Unit | None:
        return await self.session.scalar(select(Unit).where(Unit.code == code))

    async def all(self) -> Sequence[Unit]:
        return (await self.session.scalars(select(Unit).order_by(Unit.id))).all()

    async def parents_by_code(self) -> dict[str, str | None]:
        parent = Unit.__table__.alias("parent")
        rows = await self.session.execute(
            select(Unit.code, parent.c.code).outerjoin(parent, parent.c.id == Unit.parent_id)
        )
        return {code: parent_code for code, parent_code in rows}

    def add(self, unit: Unit) -> None:
        self.session.add(unit)


class ContactsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_user(self, telegram_user_id: int) -> Contact | None:
        return await self.session.scalar(
            select(Contact).where(Contact.telegram_user_id == telegram_user_id)
        )

    async def get_or_create(self, telegram_user_id: int, chat_id: int) -> Contact:
        contact, _ = await self.join(telegram_user_id, chat_id)
        return contact

    async def join(self, telegram_user_id: int, chat_id: int) -> tuple[Contact, bool]:
        """The account's contact, and whether this call created it (their first message)."""
        contact = await self.by_user(telegram_user_id)
        created = False
        if contact is None:
            # Two first messages at once: one inserts, both then read the same row.
            values = {"telegram_user_id": telegram_user_id, "chat_id": chat_id,
                      "opted_out": False, "unreachable": False}
            created = await _insert_new(self.session, Contact, values, ["telegram_user_id"])
            contact = await self.by_user(telegram_user_id)
            assert contact is not None
        if contact.chat_id != chat_id:
            contact.chat_id = chat_id
        return contact, created

    async def get(self, contact_id: int) -> Contact | None:
        return await self.session.get(Contact, contact_id)

    async def states(self, contact_ids: Iterable[int]) -> dict[int, tuple[bool, bool]]:
        """(opted out, unreachable) per contact id."""
        ids = list(contact_ids)
        states: dict[int, tuple[bool, bool]] = {}
        for at in range(0, len(ids), 500):
            rows = await self.session.execute(
                select(Contact.id, Contact.opted_out, Contact.unreachable)
                .where(Contact.id.in_(ids[at:at + 500]))
            )
            for contact_id, opted_out, unreachable in rows:
                states[contact_id] = (opted_out, unreachable)
        return states

    async def mark_unreachable(self, contact_ids: Iterable[int]) -> None:
        ids = list(contact_ids)
        if ids:
            await self.session.execute(
                update(Contact).where(Contact.id.in_(ids)).values(unreachable=True)
                .execution_options(synchronize_session=False)
            )

    async def users(self, after_id: int = 0, limit: int = 5000) -> list[tuple[int, int]]:
        """(contact id, Telegram user id) in pages, for work that must compute each person's
        keyed hash (no table says who answers which poll)."""
        rows = await self.session.execute(
            select(Contact.id, Contact.telegram_user_id).where(Contact.id > after_id)
            .order_by(Contact.id).limit(limit))
        return [(contact_id, user_id) for contact_id, user_id in rows]


class SessionsRepository:
    """Which poll each person is answering now, under their session key (see
    ``surveys.respondents.anonymity.session_key``)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, key: str) -> RespondentSession | None:
        return await self.session.get(RespondentSession, key)

    async def start(self, key: str, campaign_id: int) -> int | None:
        """Make ``campaign_id`` the person's current poll; returns the message that showed the
        previous poll's question (its buttons are to be retired)."""
        current = await self.get(key)
        if current is None:
            if await _insert_new(self.session, RespondentSession,
                                 {"key": key, "campaign_id": campaign_id}, ["key"]):
                return None
            current = await self.get(key)  # a second /start at the same moment made it
            assert current is not None
        retire = current.prompt_message_id
        current.campaign_id, current.prompt_message_id = campaign_id, None
        return retire

    async def take_prompt(self, key: str) -> int | None:
        """The message showing the current question, forgotten (it is about to be replaced)."""
        current = await self.get(key)
        if current is None:
            return None
        retire, current.prompt_message_id = current.prompt_message_id, None
        return retire

    async def set_prompt(self, key: str, message_id: int) -> None:
        await self.session.execute(
            update(RespondentSession).where(RespondentSession.key == key)
            .values(prompt_message_id=message_id)
            .execution_options(synchronize_session=False))

    async def end(self, key: str, campaign_id: int | None = None) -> int | None:
        """Forget the person's current poll (only if it is ``campaign_id``, when given);
        returns the message that showed its question."""
        current = await self.get(key)
        if current is None or (campaign_id is not None and current.campaign_id != campaign_id):
            return None
        retire = current.prompt_message_id
        await self.session.delete(current)
        return retire


@dataclass(frozen=True)
class Recipient:
    """Someone a broadcast could go to, with what decides whether it may."""

    contact_id: int
    telegram_user_id: int
    opted_out: bool
    unreachable: bool
    name: str | None = None  # cadres only; residents stay nameless


class SubscriptionsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def unit_ids(self, contact_id: int) -> set[int]:
        rows = await self.session.scalars(
            select(Subscription.unit_id).where(Subscription.contact_id == contact_id)
        )
        return set(rows)

    async def add(self, contact_id: int, unit_id: int) -> bool:
        return await _insert_new(self.session, Subscription,
                                 {"contact_id": contact_id, "unit_id": unit_id},
                                 ["contact_id", "unit_id"])

    async def remove(self, contact_id: int, unit_id: int) -> None:
        await self.session.execute(
            delete(Subscription).where(Subscription.contact_id == contact_id,
                                       Subscription.unit_id == unit_id)
        )

    async def residents(self, unit_ids: Iterable[int]) -> list[Recipient]:
        """Everyone subscribed to any of the units, once each."""
        ids = list(unit_ids)
        rows = await self.session.execute(
            select(Contact.id, Contact.telegram_user_id, Contact.opted_out, Contact.unreachable)
            .where(Contact.id.in_(
                select(Subscription.contact_id).where(Subscription.unit_id.in_(ids))
            ))
            .order_by(Contact.id)
        )
        return [Recipient(*row) for row in rows]

    async def cadres(self, unit_ids: Iterable[int]) -> list[Recipient]:
        """People with the cadre role in any of the units who have a Telegram account."""
        ids = list(unit_ids)
        rows = await self.session.execute(
            select(Contact.id, Contact.telegram_user_id, Contact.opted_out, Contact.unreachable,
                   Person.name)
            .join(Person, Person.contact_id == Contact.id)
            .where(Person.id.in_(
                select(PersonRole.person_id).where(
                    PersonRole.role == Role.CADRE, PersonRole.unit_id.in_(ids)
                )
            ))
            .order_by(Contact.id)
        )
        return [Recipient(*row) for row in rows]

    async def recipients_for_reminder(
        self, campaign_id: int, invited: Iterable[int], answering: Iterable[int] = ()
    ) -> list[Recipient]:
        """Contacts invited to the campaign, and those found answering it now (they came by
        link or QR: the caller finds them by their keys, ``answering``)."""
        ids = list({*invited, *answering})
        found: dict[int, Recipient] = {}
        for at in range(0, len(ids), 500):
            rows = await self.session.execute(
                select(Contact.id, Contact.telegram_user_id, Contact.opted_out,
                       Contact.unreachable)
                .where(Contact.id.in_(ids[at:at + 500]))
            )
            for row in rows:
                found[row[0]] = Recipient(*row)
        return [found[k] for k in sorted(found)]

    async def count(self, unit_ids: Iterable[int]) -> int:
        ids = list(unit_ids)
        return int(await self.session.scalar(
            select(func.count(func.distinct(Subscription.contact_id)))
            .where(Subscription.unit_id.in_(ids))
        ) or 0)


class PeopleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_user(self, telegram_user_id: int) -> Person | None:
        """The person behind a Telegram account, with their roles; None for plain residents."""
        return await self.session.scalar(
            select(Person)
            .join(Contact, Contact.id == Person.contact_id)
            .where(Contact.telegram_user_id == telegram_user_id)
            .options(selectinload(Person.roles))
        )

    async def by_contact(self, contact_id: int) -> Person | None:
        return await self.session.scalar(
            select(Person).where(Person.contact_id == contact_id).options(
                selectinload(Person.roles)
            )
        )

    async def create(self, name: str, contact: Contact) -> Person:
        person = Person(name=name, contact_id=contact.id, roles=[])
        self.session.add(person)
        await self.session.flush()
        return person

    async def grant(self, person: Person, role: Role, unit: Unit | None) -> PersonRole | None:
        """Give ``person`` the role (scoped to ``unit``'s subtree); None if they had it."""
        unit_id = unit.id if unit is not None else None
        if any(r.role == role and r.unit_id == unit_id for r in person.roles):
            return None
        granted = PersonRole(person_id=person.id, role=role, unit_id=unit_id)
        self.session.add(granted)
        person.roles.append(granted)
        await self.session.flush()
        return granted

    async def revoke(self, person: Person, role: Role, unit_id: int | None) -> PersonRole | None:
        """Take the role (with exactly this scope) from ``person``; None if they lacked it."""
        held = next((r for r in person.roles if r.role == role and r.unit_id == unit_id), None)
        if held is None:
            return None
        person.roles.remove(held)
        await self.session.delete(held)
        await self.session.flush()
        return held

    async def chat_roles(self) -> Sequence[tuple[int, Role | None]]:
        """(chat id, role) of everyone with a role or who had one and a Telegram account; a
        person without roles left comes once with None."""
        rows = await self.session.execute(
            select(Contact.chat_id, PersonRole.role)
            .join(Person, Person.contact_id == Contact.id)
            .outerjoin(PersonRole, PersonRole.person_id == Person.id)
        )
        return [(chat_id, role) for chat_id, role in rows.all()]

    async def with_roles(self) -> Sequence[tuple[Person, Contact | None]]:
        """Everyone holding a role, with their contact (None for a profile not linked yet)."""
        rows = await self.session.execute(
            select(Person, Contact)
            .outerjoin(Contact, Contact.id == Person.contact_id)
            .where(Person.id.in_(select(PersonRole.person_id)))
            .options(selectinload(Person.roles))
            .order_by(Person.id)
        )
        return [(person, contact) for person, contact in rows.all()]


class SurveysRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, survey_id: int) -> SurveyVersion | None:
        return await self.session.get(SurveyVersion, survey_id)

    async def store(self, slug: str, checksum: str, definition: dict[str, Any]) -> SurveyVersion:
        """Return the stored version with this content, or store it as the next version."""
        existing = await self.session.scalar(
            select(SurveyVersion).where(
                SurveyVersion.slug == slug, SurveyVersion.checksum == checksum
            )
        )
        if existing is not None:
            return existing
        latest = await self.session.scalar(
            select(func.max(SurveyVersion.version)).where(SurveyVersion.slug == slug)
        )
        version = SurveyVersion(
            slug=slug, checksum=checksum, definition=definition, version=(latest or 0) + 1
        )
        self.session.add(version)
        await self.session.flush()
        return version


class CampaignsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_code(self, code: str) -> Campaign | None:
        return await self.session.scalar(
            select(Campaign)
            .where(Campaign.code == code)
            .options(joinedload(Campaign.unit))
        )

    async def get(self, campaign_id: int) -> Campaign | None:
        return await self.session.scalar(
            select(Campaign)
            .where(Campaign.id == campaign_id)
            .options(joinedload(Campaign.unit))
        )

    def add(self, campaign: Campaign) -> None:
        self.session.add(campaign)

    async def all(self) -> Sequence[Campaign]:
        return (
            await self.session.scalars(
                select(Campaign).options(joinedload(Campaign.unit)).order_by(Campaign.id)
            )
        ).all()

    async def live(self) -> Sequence[Campaign]:
        """Campaigns the scheduler still has work for: scheduled or open."""
        return (
            await self.session.scalars(
                select(Campaign)
                .where(Campaign.status.in_([CampaignStatus.SCHEDULED, CampaignStatus.OPEN]))
                .options(joinedload(Campaign.unit))
                .order_by(Campaign.id)
            )
        ).all()

    async def lock(self, campaign_id: int) -> Campaign | None:
        """The campaign, locked against concurrent changes until the transaction ends."""
        return await self.session.scalar(
            select(Campaign)
            .where(Campaign.id == campaign_id)
            .options(joinedload(Campaign.unit))
            .with_for_update(of=Campaign)
            .execution_options(populate_existing=True)
        )


class RunsRepository:
    """Which scheduled steps of a campaign have run."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def done(self, campaign_ids: Iterable[int]) -> dict[int, set[str]]:
        ids = list(campaign_ids)
        done: dict[int, set[str]] = {i: set() for i in ids}
        if ids:
            rows = await self.session.execute(
                select(CampaignRun.campaign_id, CampaignRun.job)
                .where(CampaignRun.campaign_id.in_(ids))
            )
            for campaign_id, job in rows:
                done[campaign_id].add(job)
        return done

    async def claim(self, campaign_id: int, job: str, at: datetime) -> bool:
        """Record that the step runs now; False if it already ran (or is running elsewhere)."""
        return await _insert_new(
            self.session, CampaignRun, {"campaign_id": campaign_id, "job": job, "ran_at": at},
            ["campaign_id", "job"],
        )

    async def set_outcome(self, campaign_id: int, job: str, outcome: dict[str, Any]) -> None:
        await self.session.execute(
            update(CampaignRun)
            .where(CampaignRun.campaign_id == campaign_id, CampaignRun.job == job)
            .values(outcome=outcome)
        )

    async def outcomes(self, campaign_id: int) -> dict[str, dict[str, Any] | None]:
        rows = await self.session.execute(
            select(CampaignRun.job, CampaignRun.outcome)
            .where(CampaignRun.campaign_id == campaign_id)
            .order_by(CampaignRun.ran_at)
        )
        return {job: outcome for job, outcome in rows}


class EntryPointsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of(self, campaign_id: int) -> Sequence[EntryPoint]:
        return (await self.session.scalars(
            select(EntryPoint).where(EntryPoint.campaign_id == campaign_id)
            .order_by(EntryPoint.name)
        )).all()

    async def exists(self, campaign_id: int, name: str) -> bool:
        return await self.session.scalar(
            select(func.count()).select_from(EntryPoint)
            .where(EntryPoint.campaign_id == campaign_id, EntryPoint.name == name)
        ) == 1

    async def add(self, campaign_id: int, name: str, label: str | None) -> bool:
        return await _insert_new(self.session, EntryPoint,
                                 {"campaign_id": campaign_id, "name": name, "label": label},
                                 ["campaign_id", "name"])

    async def response_counts(self, campaign_id: int) -> dict[str | None, int]:
        rows = await self.session.execute(
            select(Response.entry_point, func.count())
            .where(Response.campaign_id == campaign_id,
                   Response.status == ResponseStatus.COMPLETED)
            .group_by(Response.entry_point)
        )
        return {entry: int(n) for entry, n in rows}


# Statuses that use up a person's monthly budget of prompts.
_COUNTED = (OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.SENT)


@dataclass(frozen=True)
class Delivery:
    """A claimed outbox row with what is needed to write and address the message."""

    id: int
    kind: str
    campaign_id: int
    contact_id: int
    chat_id: int
    telegram_user_id: int
    language: str | None
    attempts: int


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enqueue(
        self, campaign_id: int, kind: str, due_at: datetime,
        contact_ids: Sequence[int], status: OutboxStatus = OutboxStatus.PENDING,
        reason: str | None = None,
    ) -> int:
        """Queue one message per contact; those already queued for it are left alone.

        Returns how many rows were added.
        """
        if not contact_ids:
            return 0
        existing = set(await self.session.scalars(
            select(OutboxMessage.contact_id).where(
                OutboxMessage.campaign_id == campaign_id, OutboxMessage.kind == kind
            )
        ))
        fresh = [c for c in contact_ids if c not in existing]
        dialect = self.session.get_bind().dialect.name
        build = pg_insert if dialect == "postgresql" else sqlite_insert
        for start in range(0, len(fresh), 500):
            chunk = fresh[start:start + 500]
            await self.session.execute(
                build(OutboxMessage)
                .values([
                    {"campaign_id": campaign_id, "contact_id": c, "kind": kind,
                     "status": status.value, "due_at": due_at, "attempts": 0,
                     "last_error": reason}
                    for c in chunk
                ])
                .on_conflict_do_nothing(index_elements=["campaign_id", "contact_id", "kind"])
            )
        return len(fresh)

    async def prompts_between(
        self, start: datetime, end: datetime, contact_ids: Sequence[int] | None = None,
        cadre_questionnaires: bool = False,
    ) -> dict[int, int]:
        """Messages per contact due in [start, end) that count toward the monthly budget.

        With ``cadre_questionnaires``, only invitations to campaigns for cadres.
        """
        query = (
            select(OutboxMessage.contact_id, func.count())
            .where(OutboxMessage.due_at >= start, OutboxMessage.due_at < end,
                   OutboxMessage.status.in_(_COUNTED))
            .group_by(OutboxMessage.contact_id)
        )
        if cadre_questionnaires:
            query = query.join(Campaign, Campaign.id == OutboxMessage.campaign_id).where(
                OutboxMessage.kind == "invite", Campaign.audience == "cadres"
            )
        counts: dict[int, int] = {}
        if contact_ids is None:
            for contact_id, n in await self.session.execute(query):
                counts[contact_id] = int(n)
            return counts
        for at in range(0, len(contact_ids), 500):
            chunk = contact_ids[at:at + 500]
            for contact_id, n in await self.session.execute(
                query.where(OutboxMessage.contact_id.in_(chunk))
            ):
                counts[contact_id] = int(n)
        return counts

    async def contacts_with(self, campaign_id: int, kind: str, sent_only: bool = False
                            ) -> set[int]:
        statuses = (OutboxStatus.SENT,) if sent_only else _COUNTED
        return set(await self.session.scalars(
            select(OutboxMessage.contact_id).where(
                OutboxMessage.campaign_id == campaign_id, OutboxMessage.kind == kind,
                OutboxMessage.status.in_(statuses),
            )
        ))

    async def lock_budget(self) -> None:
        """Serialise budget checks with their enqueues until the transaction ends.

        SQLite transactions here begin IMMEDIATE, which already serialises writers.
        """
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(text("SELECT pg_advisory_xact_lock(7710002)"))

    async def kinds(self, campaign_id: int) -> dict[str, datetime]:
        """Each kind of message queued for the campaign, with when it was first due."""
        rows = await self.session.execute(
            select(OutboxMessage.kind, func.min(OutboxMessage.due_at))
            .where(OutboxMessage.campaign_id == campaign_id)
            .group_by(OutboxMessage.kind)
        )
        return {kind: due for kind, due in rows}

    async def progress(self, campaign_id: int) -> dict[tuple[str, OutboxStatus], int]:
        rows = await self.session.execute(
            select(OutboxMessage.kind, OutboxMessage.status, func.count())
            .where(OutboxMessage.campaign_id == campaign_id)
            .group_by(OutboxMessage.kind, OutboxMessage.status)
        )
        return {(kind, status): int(n) for kind, status, n in rows}

    async def uncount_attempt(self, outbox_id: int) -> None:
        await self.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == outbox_id)
            .values(attempts=OutboxMessage.attempts - 1)
        )

    async def cancel_pending(self, campaign_id: int, reason: str) -> int:
        result = await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.campaign_id == campaign_id,
                   OutboxMessage.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.SKIPPED, last_error=reason)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def requeue_in_flight(self) -> int:
        """After a crash: messages handed to Telegram but not confirmed go out again."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.SENDING)
            .values(status=OutboxStatus.PENDING)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def due(self, now: datetime, limit: int) -> list[Delivery]:
        rows = await self.session.execute(
            select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.campaign_id,
                   OutboxMessage.contact_id, Contact.chat_id, Contact.telegram_user_id,
                   Contact.language, OutboxMessage.attempts)
            .join(Contact, Contact.id == OutboxMessage.contact_id)
            .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.due_at <= now)
            .order_by(OutboxMessage.due_at, OutboxMessage.id)
            .limit(limit)
            # Rows another transaction is changing (a campaign closing) are left for later.
            .with_for_update(of=OutboxMessage, skip_locked=True)
        )
        return [Delivery(*row) for row in rows]

    async def next_due(self) -> datetime | None:
        return await self.session.scalar(
            select(func.min(OutboxMessage.due_at))
            .where(OutboxMessage.status == OutboxStatus.PENDING)
        )

    async def mark(
        self, ids: Sequence[int], status: OutboxStatus, *, now: datetime | None = None,
        error: str | None = None, due_at: datetime | None = None, attempt: bool = False,
    ) -> None:
        if not ids:
            return
        values: dict[str, Any] = {"status": status}
        if status == OutboxStatus.SENT:
            values["sent_at"] = now
        if error is not None:
            values["last_error"] = error[:200]
        if due_at is not None:
            values["due_at"] = due_at
        if attempt:
            values["attempts"] = OutboxMessage.attempts + 1
        for at in range(0, len(ids), 500):
            await self.session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_(ids[at:at + 500]))
                .values(**values).execution_options(synchronize_session=False)
            )


class DialoguesRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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



@dataclass(frozen=True)
class AnswerRow:
    question_id: str
    question_type: str
    indicator: str | None
    skipped: bool
    value_number: float | None
    value_text: str | None
    value_choices: list[str] | None


def _unchanged_since_read(response: Response) -> tuple[ColumnElement[bool], ...]:
    """Compare-and-set: the row is still in progress at the step this transaction read."""
    return (
        Response.id == response.id,
        Response.step == response.step,
        Response.status == ResponseStatus.IN_PROGRESS,
    )


class ResponsesRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(self, campaign_id: int, respondent_key: str) -> Response | None:
        return await self._one(
            Response.campaign_id == campaign_id, Response.respondent_key == respondent_key
        )

    async def of_person(self, campaign_id: int, person_id: int) -> Response | None:
        """A named respondent's response (a self-assessment), whichever account began it."""
        return await self._one(Response.campaign_id == campaign_id, Response.person_id == person_id)

    async def get(self, response_id: int) -> Response | None:
        return await self._one(Response.id == response_id)

    async def get_with_campaign(self, response_id: int) -> Response | None:
        """A response with its answers, campaign and unit, in one round trip (a button tap)."""
        result = await self.session.scalars(
            select(Response)
            .where(Response.id == response_id)
            .options(
                joinedload(Response.answers),
                joinedload(Response.campaign).joinedload(Campaign.unit),
            )
        )
        return result.unique().one_or_none()

    async def set_language(self, response: Response, language: str) -> None:
        response.language = language

    async def _one(self, *where: ColumnElement[bool]) -> Response | None:
        # One round trip: the answers come joined (a handful of rows), not in a second query.
        result = await self.session.scalars(
            select(Response).where(*where).options(joinedload(Response.answers))
        )
        return result.unique().one_or_none()

    async def create(
        self, campaign_id: int, survey_id: int, respondent_key: str, language: str,
        current_question: str | None, started_at: datetime, sealed_start: str | None = None,
        entry_point: str | None = None,
    ) -> Response | None:
        """Start a response; None if this respondent already has one for the campaign
        (for instance from a second /start handled at the same moment).

        ``started_at`` is already coarse and ``sealed_start`` encrypted
        (surveys.respondents.anonymity):
        the repository stores what it is given."""
        values = {
            "id": random_id(), "campaign_id": campaign_id, "survey_id": survey_id,
            "respondent_key": respondent_key, "status": ResponseStatus.IN_PROGRESS.value,
            "current_question": current_question, "step": 0, "language": language,
            "entry_point": entry_point, "started_at": started_at, "sealed_start": sealed_start,
        }
        if not await _insert_new(self.session, Response, values,
                                 ["campaign_id", "respondent_key"]):
            return None
        return await self.find(campaign_id, respondent_key)

    async def advance(
        self, response: Response, *, current_question: str | None, draft: list[str] | None,
        completed: Completion | None = None,
    ) -> bool:
        """Compare-and-set the response's state on its ``step``.

        Returns False (changing nothing) when another update moved it on first: the caller is
        acting on a stale screen.
        """
        values: dict[str, Any] = {
            "step": Response.step + 1,
            "current_question": current_question,
            "draft": draft,
            "shuffled": False,
        }
        if completed is not None:
            values.update(status=ResponseStatus.COMPLETED, completed_at=completed.at,
                          duration_s=completed.duration_s, sealed_start=None)
        result = await self.session.execute(
            update(Response)
            .where(*_unchanged_since_read(response))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            return False
        response.step += 1
        response.current_question = current_question
        response.draft = draft
        if completed is not None:
            response.status = ResponseStatus.COMPLETED
            response.completed_at, response.duration_s = completed.at, completed.duration_s
            response.sealed_start = None
        return True

    async def save_answer(self, response: Response, row: AnswerRow) -> None:
        existing = next((a for a in response.answers if a.question_id == row.question_id), None)
        if existing is None:
            answer = Answer(id=answer_id(response.id, (a.id for a in response.answers)),
                            response_id=response.id, **row.__dict__)
            self.session.add(answer)
            response.answers.append(answer)
            return
        for key, value in row.__dict__.items():
            setattr(existing, key, value)

    async def drop_answers(self, response: Response, question_ids: Iterable[str]) -> None:
        ids = set(question_ids)
        if not ids:
            return
        await self.session.execute(
            delete(Answer).where(Answer.response_id == response.id, Answer.question_id.in_(ids))
        )
        response.answers = [a for a in response.answers if a.question_id not in ids]

    async def delete_in_progress(self, response: Response) -> bool:
        """Delete the response unless it moved on meanwhile (compare-and-set on ``step``)."""
        result = await self.session.execute(
            delete(Response)
            .where(*_unchanged_since_read(response))
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            return False
        self.session.expunge(response)
        return True

    async def reshuffle(self, completed_before: datetime, begun_before: datetime,
                        limit: int = 5000) -> int:
        """Rewrite responses (with their answers and flags) in random order, in one
        transaction; returns how many.

        PostgreSQL keeps rows in the order they were written and stamps each with the
        transaction that wrote it (``ctid``, ``xmin``: any reader can select them), so without
        this the order in which people finished would stay readable. Rewritten: those
        completed before ``completed_before`` (a privacy window that has closed) and those
        begun before ``begun_before`` and never finished, each until it changes again. SQLite
        keeps rows in the order of their random ids, so there is nothing to do there."""
        if self.session.get_bind().dialect.name != "postgresql":
            return 0
        ids = list(await self.session.scalars(
            select(Response.id).where(
                Response.shuffled.is_(False),
                ((Response.status == ResponseStatus.COMPLETED)
                 & (Response.completed_at < completed_before))
                | ((Response.status == ResponseStatus.IN_PROGRESS)
                   & (Response.started_at < begun_before)))
            .order_by(Response.id).limit(limit)
            .with_for_update(skip_locked=True)))
        if not ids:
            return 0
        params = {"ids": ids}
        for table, column in (("responses", "id"), ("answers", "response_id"),
                              ("anomaly_flags", "response_id")):
            await self.session.execute(text(
                f"CREATE TEMPORARY TABLE reshuffle_{table} ON COMMIT DROP AS "
                f"SELECT * FROM {table} WHERE {column} = ANY(:ids)"), params)
        # Answers and flags go with their response (ON DELETE CASCADE), then all come back
        # in the order of their random ids.
        await self.session.execute(text("DELETE FROM responses WHERE id = ANY(:ids)"), params)
        await self.session.execute(text("UPDATE reshuffle_responses SET shuffled = true"))
        for table in ("responses", "answers", "anomaly_flags"):
            await self.session.execute(text(
                f"INSERT INTO {table} SELECT * FROM reshuffle_{table} ORDER BY id"))
        return len(ids)

    async def delete_completed(self, response_ids: Iterable[int]) -> None:
        """Remove completed responses with their answers (and anything pointing at them)."""
        ids = list(response_ids)
        for at in range(0, len(ids), 500):
            answers = select(Answer.id).where(Answer.response_id.in_(ids[at:at + 500]))
            await self.session.execute(
                delete(TextScore).where(TextScore.source == "answer",
                                        TextScore.source_id.in_(answers)))
            await self.session.execute(
                delete(Response).where(Response.id.in_(ids[at:at + 500]),
                                       Response.status == ResponseStatus.COMPLETED)
                .execution_options(synchronize_session=False))

    async def counts(self, campaign_ids: Iterable[int]) -> dict[int, dict[ResponseStatus, int]]:
        """Responses per campaign and status, counted in the database."""
        ids = list(campaign_ids)
        counts: dict[int, dict[ResponseStatus, int]] = {i: {} for i in ids}
        if not ids:
            return counts
        rows = await self.session.execute(
            select(Response.campaign_id, Response.status, func.count())
            .where(Response.campaign_id.in_(ids))
            .group_by(Response.campaign_id, Response.status)
        )
        for campaign_id, status, n in rows:
            counts[campaign_id][status] = int(n)
        return counts

    async def in_progress_keys(self, campaign_id: int) -> set[str]:
        return set(await self.session.scalars(
            select(Response.respondent_key).where(
                Response.campaign_id == campaign_id,
                Response.status == ResponseStatus.IN_PROGRESS)))

    async def completed_keys(self, campaign_id: int, keys: Sequence[str]) -> set[str]:
        """Which of these respondent keys have completed the campaign."""
        done: set[str] = set()
        for at in range(0, len(keys), 500):
            done.update(await self.session.scalars(
                select(Response.respondent_key).where(
                    Response.campaign_id == campaign_id,
                    Response.status == ResponseStatus.COMPLETED,
                    Response.respondent_key.in_(keys[at:at + 500]),
                )
            ))
        return done

    async def completed_with_answers(self, campaign_id: int) -> Sequence[Response]:
        return (
            await self.session.scalars(
                select(Response)
                .where(
                    Response.campaign_id == campaign_id,
                    Response.status == ResponseStatus.COMPLETED,
                )
                .options(selectinload(Response.answers))
                .order_by(Response.completed_at, Response.id)  # ids are random: no order
            )
        ).all()


def _canonical(payload: Mapping[str, Any]) -> str:
    return json.dumps(
        payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )


def audit_hash(prev_hash: str, event: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + _canonical(event)).encode("utf-8")).hexdigest()


class AuditRepository:
    """Append-only, hash-chained log of who did what."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self, actor: str, action: str, entity: str, entity_id: str | int | None = None,
        before: Mapping[str, Any] | None = None, after: Mapping[str, Any] | None = None,
    ) -> AuditEvent:
        bind = self.session.get_bind()
        if bind.dialect.name == "postgresql":
            # Serialise appenders so two transactions cannot fork the chain.
            await self.session.execute(text("SELECT pg_advisory_xact_lock(7710001)"))
        prev = await self.session.scalar(
            select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
        )
        at = utcnow()
        fields = {
            "at": at.isoformat(),
            "actor": actor,
            "action": action,
            "entity": entity,
            "entity_id": None if entity_id is None else str(entity_id),
            "before": json.loads(_canonical(before)) if before is not None else None,
            "after": json.loads(_canonical(after)) if after is not None else None,
        }
        prev_hash = prev or GENESIS_HASH
        event = AuditEvent(
            at=at,
            actor=actor,
            action=action,
            entity=entity,
            entity_id=fields["entity_id"],
            before=fields["before"],
            after=fields["after"],
            prev_hash=prev_hash,
            hash=audit_hash(prev_hash, fields),
        )
        self.session.add(event)
        await self.session.flush()
        return event

    async def verify(self) -> int | None:
        """Return the id of the first event that breaks the chain, or None if it is intact."""
        prev_hash = GENESIS_HASH
        for event in await self.session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
            fields = {
                "at": event.at.isoformat(),
                "actor": event.actor,
                "action": event.action,
                "entity": event.entity,
                "entity_id": event.entity_id,
                "before": event.before,
                "after": event.after,
            }
            if event.prev_hash != prev_hash or event.hash != audit_hash(prev_hash, fields):
                return event.id
            prev_hash = event.hash
        return None

    async def of(self, entity: str, entity_id: str | None = None,
                 limit: int = 200) -> Sequence[AuditEvent]:
        """Events about one kind of record (or one record), oldest first."""
        query = select(AuditEvent).where(AuditEvent.entity == entity)
        if entity_id is not None:
            query = query.where(AuditEvent.entity_id == entity_id)
        newest = query.order_by(AuditEvent.id.desc()).limit(limit).subquery()
        return (await self.session.scalars(
            select(AuditEvent).join(newest, AuditEvent.id == newest.c.id).order_by(AuditEvent.id)
        )).all()

    async def recent(self, limit: int = 50) -> Sequence[AuditEvent]:
        return (
            await self.session.scalars(
                select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
            )
        ).all()
