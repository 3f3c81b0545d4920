"""Who follows which unit, and who a broadcast for some units could go to."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, select

from storage.db import Repository, insert_new
from storage.models import Contact, Person, PersonRole, Role, Subscription


@dataclass(frozen=True)
class Recipient:
    """Someone a broadcast could go to, with what decides whether it may."""

    contact_id: int
    telegram_user_id: int
    opted_out: bool
    unreachable: bool
    name: str | None = None  # cadres only; residents stay nameless
    name_zh: str | None = None


class SubscriptionsRepository(Repository):
    async def unit_ids(self, contact_id: int) -> set[int]:
        rows = await self.session.scalars(
            select(Subscription.unit_id).where(Subscription.contact_id == contact_id)
        )
        return set(rows)

    async def add(self, contact_id: int, unit_id: int) -> bool:
        return await insert_new(self.session, Subscription,
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
                   Person.name, Person.name_zh)
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
