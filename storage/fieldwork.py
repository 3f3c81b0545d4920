"""Repositories for cadres and inspectors: profiles' key tasks, invite links, progress notes,
inspections and their photo evidence. Same rules as the other repositories in ``storage``: they
never commit, and the unit of work around them decides."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.sql import Select

from storage.db import Repository
from storage.evidence import StoredFile
from storage.models import (
    CadreInvite,
    Campaign,
    Evidence,
    Inspection,
    KeyTask,
    Note,
    NoteStatus,
    Person,
    PersonRole,
    Response,
    ResponseStatus,
    Role,
)
from storage.units import in_subtrees


def _cadres_in(roots: Collection[int] | None) -> Select[int]:
    """The ids of people with the cadre role on a unit of ``roots``' subtrees (None: any)."""
    query = select(PersonRole.person_id).where(PersonRole.role == Role.CADRE)
    if roots is not None:
        query = query.where(in_subtrees(PersonRole.unit_id, roots))
    return query


class CadresRepository(Repository):
    """Cadre profiles: people with the cadre role, and the key tasks they answer for."""

    async def get(self, person_id: int) -> Person | None:
        return await self.session.scalar(
            select(Person).where(Person.id == person_id).options(selectinload(Person.roles))
        )

    async def create(self, name: str, position: str | None) -> Person:
        """A profile not yet linked to any Telegram account."""
        person = Person(name=name, position=position, contact_id=None, roles=[])
        self.session.add(person)
        await self.session.flush()
        return person

    async def all(self, unit_ids: Iterable[int] | None = None) -> Sequence[Person]:
        """People with the cadre role (in any of ``unit_ids``, if given), by name."""
        roles = select(PersonRole.person_id).where(PersonRole.role == Role.CADRE)
        if unit_ids is not None:
            roles = roles.where(PersonRole.unit_id.in_(list(unit_ids)))
        return (await self.session.scalars(
            select(Person).where(Person.id.in_(roles))
            .options(selectinload(Person.roles)).order_by(Person.name, Person.id)
        )).all()

    async def count_in(self, roots: Collection[int] | None) -> int:
        """How many people are cadres of the units of ``roots`` or below them (None: of any
        unit), counted in the database."""
        return int(await self.session.scalar(
            select(func.count()).select_from(Person).where(Person.id.in_(_cadres_in(roots))))
            or 0)

    async def page_in(self, roots: Collection[int] | None, offset: int,
                      limit: int) -> Sequence[Person]:
        """A page of the cadres :meth:`count_in` counts, by name, with their roles."""
        return (await self.session.scalars(
            select(Person).where(Person.id.in_(_cadres_in(roots)))
            .options(selectinload(Person.roles)).order_by(Person.name, Person.id)
            .offset(offset).limit(limit)
        )).all()

    async def tasks(self, person_ids: Iterable[int],
                    active_only: bool = True) -> dict[int, list[KeyTask]]:
        query = select(KeyTask).where(KeyTask.person_id.in_(list(person_ids)))
        if active_only:
            query = query.where(KeyTask.active.is_(True))
        found: dict[int, list[KeyTask]] = {}
        for task in await self.session.scalars(query.order_by(KeyTask.id)):
            found.setdefault(task.person_id, []).append(task)
        return found

    async def task(self, task_id: int) -> KeyTask | None:
        return await self.session.get(KeyTask, task_id)

    async def add_task(self, person_id: int, title: str, indicator: str | None) -> KeyTask:
        task = KeyTask(person_id=person_id, title=title, indicator=indicator, active=True)
        self.session.add(task)
        await self.session.flush()
        return task

    async def people(self, person_ids: Iterable[int]) -> dict[int, Person]:
        """People by id, with their roles (whether or not they are still cadres)."""
        rows = await self.session.scalars(
            select(Person).where(Person.id.in_(list(person_ids)))
            .options(selectinload(Person.roles))
        )
        return {person.id: person for person in rows}

    async def self_assessments(self, start: datetime, end: datetime) -> Sequence[Response]:
        """Completed responses tied to a person (self-assessments) of campaigns that opened
        in ``[start, end)``, with their answers, campaign and unit."""
        return (await self.session.scalars(
            select(Response)
            .join(Campaign, Campaign.id == Response.campaign_id)
            .where(Response.person_id.is_not(None),
                   Response.status == ResponseStatus.COMPLETED,
                   Campaign.opens_at >= start, Campaign.opens_at < end)
            .options(selectinload(Response.answers),
                     joinedload(Response.campaign).joinedload(Campaign.unit))
            .order_by(Campaign.opens_at, Campaign.code, Response.person_id, Response.id)
        )).unique().all()


class InvitesRepository(Repository):
    async def create(self, person_id: int, token_hash: str, now: datetime, expires_at: datetime,
                     created_by: str) -> CadreInvite:
        """A new link for the profile; any earlier unused link for it stops working."""
        # Two links issued at once for one profile must not both stay valid: take turns.
        await self.session.execute(
            select(Person.id).where(Person.id == person_id).with_for_update()
        )
        await self.session.execute(
            update(CadreInvite)
            .where(CadreInvite.person_id == person_id, CadreInvite.used_at.is_(None),
                   CadreInvite.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        invite = CadreInvite(person_id=person_id, token_hash=token_hash, created_at=now,
                             expires_at=expires_at, created_by=created_by)
        self.session.add(invite)
        await self.session.flush()
        return invite

    async def by_hash(self, token_hash: str, lock: bool = False) -> CadreInvite | None:
        query = select(CadreInvite).where(CadreInvite.token_hash == token_hash)
        if lock:
            # Two accounts opening the same link at once: only one may use it.
            query = query.with_for_update()
        return await self.session.scalar(query.execution_options(populate_existing=True))

    async def latest(self, person_ids: Iterable[int]) -> dict[int, CadreInvite]:
        """Each profile's newest link."""
        newest = (
            select(func.max(CadreInvite.id)).where(CadreInvite.person_id.in_(list(person_ids)))
            .group_by(CadreInvite.person_id)
        )
        rows = await self.session.scalars(select(CadreInvite).where(CadreInvite.id.in_(newest)))
        return {invite.person_id: invite for invite in rows}


class EvidenceRepository(Repository):
    async def add(self, person_id: int, stored: StoredFile, file_unique_id: str | None,
                  now: datetime) -> Evidence:
        evidence = Evidence(person_id=person_id, sha256=stored.sha256, path=stored.path,
                            size_bytes=stored.size_bytes, media_type=stored.media_type,
                            telegram_file_unique_id=file_unique_id, received_at=now)
        self.session.add(evidence)
        await self.session.flush()
        return evidence

    async def get_many(self, ids: Iterable[int]) -> Sequence[Evidence]:
        return (await self.session.scalars(
            select(Evidence).where(Evidence.id.in_(list(ids))).order_by(Evidence.id)
        )).all()

    async def attach(self, ids: Iterable[int], *, person_id: int, note_id: int | None = None,
                     inspection_id: int | None = None) -> int:
        """Tie draft evidence (the sender's own, not yet attached) to a saved record."""
        result = await self.session.execute(
            update(Evidence)
            .where(Evidence.id.in_(list(ids)), Evidence.person_id == person_id,
                   Evidence.note_id.is_(None), Evidence.inspection_id.is_(None))
            .values(note_id=note_id, inspection_id=inspection_id)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def of_notes(self, note_ids: Iterable[int]) -> dict[int, list[Evidence]]:
        found: dict[int, list[Evidence]] = {}
        rows = await self.session.scalars(
            select(Evidence).where(Evidence.note_id.in_(list(note_ids))).order_by(Evidence.id)
        )
        for evidence in rows:
            assert evidence.note_id is not None
            found.setdefault(evidence.note_id, []).append(evidence)
        return found

    async def of_inspections(self, inspection_ids: Iterable[int]) -> dict[int, list[Evidence]]:
        found: dict[int, list[Evidence]] = {}
        rows = await self.session.scalars(
            select(Evidence).where(Evidence.inspection_id.in_(list(inspection_ids)))
            .order_by(Evidence.id)
        )
        for evidence in rows:
            assert evidence.inspection_id is not None
            found.setdefault(evidence.inspection_id, []).append(evidence)
        return found

    async def all(self) -> Sequence[Evidence]:
        return (await self.session.scalars(select(Evidence).order_by(Evidence.id))).all()


class NotesRepository(Repository):
    async def add(self, **values: Any) -> Note:
        note = Note(status=NoteStatus.SUBMITTED, version=1, **values)
        self.session.add(note)
        await self.session.flush()
        return note

    async def get(self, note_id: int, lock: bool = False) -> Note | None:
        query = select(Note).where(Note.id == note_id)
        if lock:
            query = query.with_for_update()
        return await self.session.scalar(query.execution_options(populate_existing=True))

    async def recent(self, person_id: int, limit: int = 10) -> Sequence[Note]:
        return (await self.session.scalars(
            select(Note).where(Note.person_id == person_id)
            .order_by(Note.created_at.desc(), Note.id.desc()).limit(limit)
        )).all()

    async def between(self, start: datetime, end: datetime,
                      person_ids: Iterable[int] | None = None) -> Sequence[Note]:
        query = select(Note).where(Note.created_at >= start, Note.created_at < end)
        if person_ids is not None:
            query = query.where(Note.person_id.in_(list(person_ids)))
        return (await self.session.scalars(query.order_by(Note.created_at, Note.id))).all()


class InspectionsRepository(Repository):
    async def add(self, **values: Any) -> Inspection:
        inspection = Inspection(**values)
        self.session.add(inspection)
        await self.session.flush()
        return inspection

    async def get(self, inspection_id: int) -> Inspection | None:
        return await self.session.get(Inspection, inspection_id)

    async def between(self, start: datetime, end: datetime,
                      unit_ids: Iterable[int] | None = None) -> Sequence[Inspection]:
        query = select(Inspection).where(Inspection.inspected_at >= start,
                                         Inspection.inspected_at < end)
        if unit_ids is not None:
            query = query.where(Inspection.unit_id.in_(list(unit_ids)))
        return (await self.session.scalars(query.order_by(Inspection.inspected_at))).all()

    async def by_inspector(self, inspector_id: int, limit: int = 10) -> Sequence[Inspection]:
        return (await self.session.scalars(
            select(Inspection).where(Inspection.inspector_id == inspector_id)
            .order_by(Inspection.inspected_at.desc(), Inspection.id.desc()).limit(limit)
        )).all()
