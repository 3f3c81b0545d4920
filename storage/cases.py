"""Repositories for cases: the cases, their conversation and photos, the sealed reply handles
and residents' drafts. Same rules as the other repositories: they never commit."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import delete, func, select, update

from storage.db import Repository
from storage.models import (
    Case,
    CaseDraft,
    CaseMessage,
    CasePhoto,
    CaseSeal,
    CaseStatus,
)


class CasesRepository(Repository):
    async def add(self, case: Case, numbers: Collection[str]) -> Case:
        """Insert ``case`` under the first of ``numbers`` no other case has (numbers are
        random: a clash is rare, and two at once rarer still, which the unique column then
        refuses)."""
        taken = set(await self.session.scalars(
            select(Case.number).where(Case.number.in_(list(numbers)))))
        case.number = next(n for n in numbers if n not in taken)
        self.session.add(case)
        await self.session.flush()
        return case

    async def get(self, case_id: int, *, lock: bool = False) -> Case | None:
        query = select(Case).where(Case.id == case_id).execution_options(populate_existing=True)
        if lock:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def by_number(self, number: str, *, lock: bool = False) -> Case | None:
        query = (select(Case).where(Case.number == number)
                 .execution_options(populate_existing=True))
        if lock:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def active(self, unit_ids: Collection[int] | None = None,
                     statuses: Collection[CaseStatus] = (
                         CaseStatus.OPEN, CaseStatus.TAKEN, CaseStatus.RESOLVED),
                     ) -> Sequence[Case]:
        """Cases still being worked on (of these units; None: all), the nearest deadline
        first."""
        query = select(Case).where(Case.status.in_(list(statuses)))
        if unit_ids is not None:
            query = query.where(Case.unit_id.in_(list(unit_ids)))
        return (await self.session.scalars(query.order_by(Case.due_at, Case.number))).all()

    async def merged_into(self, case_id: int) -> Sequence[Case]:
        """The cases merged into this one (each keeps its own seal)."""
        return (await self.session.scalars(
            select(Case).where(Case.merged_into_id == case_id).order_by(Case.number))).all()

    async def count_by_status(self, unit_ids: Collection[int] | None = None
                              ) -> dict[CaseStatus, int]:
        query = select(Case.status, func.count()).group_by(Case.status)
        if unit_ids is not None:
            query = query.where(Case.unit_id.in_(list(unit_ids)))
        return {status: count for status, count in (await self.session.execute(query)).all()}

    # --- the conversation ---------------------------------------------------------------------

    async def add_message(self, message: CaseMessage) -> CaseMessage:
        self.session.add(message)
        await self.session.flush()
        return message

    async def undelivered(self, limit: int = 100) -> Sequence[CaseMessage]:
        """Timeline entries still to be handed to whom they must reach, oldest first."""
        return (await self.session.scalars(
            select(CaseMessage).where(CaseMessage.delivered.is_(False))
            .order_by(CaseMessage.at, CaseMessage.id).limit(limit)
            .with_for_update(skip_locked=True))).all()

    async def mark_delivered(self, ids: Collection[int]) -> None:
        if ids:
            await self.session.execute(
                update(CaseMessage).where(CaseMessage.id.in_(list(ids))).values(delivered=True))

    async def message(self, message_id: int) -> CaseMessage | None:
        return await self.session.get(CaseMessage, message_id)

    async def messages(self, case_id: int) -> Sequence[CaseMessage]:
        return (await self.session.scalars(
            select(CaseMessage).where(CaseMessage.case_id == case_id)
            .order_by(CaseMessage.at, CaseMessage.id))).all()

    async def add_photo(self, case_id: int, part: str, *, sha256: str, path: str,
                        size_bytes: int, media_type: str) -> CasePhoto:
        photo = CasePhoto(case_id=case_id, part=part, sha256=sha256, path=path,
                          size_bytes=size_bytes, media_type=media_type)
        self.session.add(photo)
        await self.session.flush()
        return photo

    async def photos(self, case_id: int) -> Sequence[CasePhoto]:
        return (await self.session.scalars(
            select(CasePhoto).where(CasePhoto.case_id == case_id)
            .order_by(CasePhoto.part, CasePhoto.sha256))).all()

    # --- seals: who raised it, readable only with the secret ---------------------------------

    async def put_seal(self, case_id: int, sealed: str) -> None:
        existing = await self.session.get(CaseSeal, case_id)
        if existing is None:
            self.session.add(CaseSeal(case_id=case_id, sealed=sealed))
        else:
            existing.sealed = sealed
        await self.session.flush()

    async def seal_of(self, case_id: int) -> str | None:
        seal = await self.session.get(CaseSeal, case_id, populate_existing=True)
        return seal.sealed if seal is not None else None

    async def active_seals(self) -> Sequence[tuple[int, str]]:
        """Every seal of a case still being worked on, to count one person's open cases."""
        rows = await self.session.execute(
            select(CaseSeal.case_id, CaseSeal.sealed).join(Case, Case.id == CaseSeal.case_id)
            .where(Case.status.in_([CaseStatus.OPEN, CaseStatus.TAKEN, CaseStatus.RESOLVED])))
        return [(case_id, sealed) for case_id, sealed in rows.all()]

    async def drop_seal(self, case_id: int) -> None:
        await self.session.execute(delete(CaseSeal).where(CaseSeal.case_id == case_id))

    # --- residents' drafts --------------------------------------------------------------------

    async def draft(self, key: str, *, lock: bool = False) -> CaseDraft | None:
        query = (select(CaseDraft).where(CaseDraft.key == key)
                 .execution_options(populate_existing=True))
        if lock:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def save_draft(self, key: str, kind: str, data: dict[str, Any]) -> CaseDraft:
        """Start or replace the person's draft; the version moves on either way."""
        draft = await self.draft(key, lock=True)
        if draft is None:
            draft = CaseDraft(key=key, kind=kind, version=1, data=data)
            self.session.add(draft)
        else:
            draft.kind, draft.data, draft.version = kind, data, draft.version + 1
        await self.session.flush()
        return draft

    async def drop_draft(self, key: str) -> None:
        await self.session.execute(delete(CaseDraft).where(CaseDraft.key == key))
