"""The identified side: Telegram contacts (chat id, language, opt-out) and the people behind
some of them (cadres, admins, inspectors) with their roles. Nothing here points at answers;
those live under pseudonymous keys in ``storage.responses``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.db import Repository, insert_returning
from storage.models import Contact, Person, PersonRole, Role
from storage.units import UnitLike

_KNOWN = "civicpulse.known_users"


def remember_user(session: AsyncSession, contact: Contact, person: Person) -> None:
    """Note that this transaction has read ``contact`` and its ``person`` with their roles
    (a dashboard page reads them with its session): ``by_user`` of either then answers
    without asking the database again. Asking again would hand back these very objects
    anyway (the session's identity map keeps one object per row and a query does not
    refresh what is loaded), so this saves round trips and changes nothing else."""
    session.info.setdefault(_KNOWN, {})[contact.telegram_user_id] = (contact, person)


def _known(session: AsyncSession, telegram_user_id: int) -> tuple[Contact, Person] | None:
    known: dict[int, tuple[Contact, Person]] = session.info.get(_KNOWN, {})
    return known.get(telegram_user_id)


class ContactsRepository(Repository):
    async def by_user(self, telegram_user_id: int) -> Contact | None:
        if (known := _known(self.session, telegram_user_id)) is not None:
            return known[0]
        return await self.session.scalar(
            select(Contact).where(Contact.telegram_user_id == telegram_user_id)
        )

    async def get_or_create(self, telegram_user_id: int, chat_id: int) -> Contact:
        contact, _ = await self.join(telegram_user_id, chat_id)
        return contact

    async def join(self, telegram_user_id: int, chat_id: int, language: str | None = None
                   ) -> tuple[Contact, bool]:
        """The account's contact, and whether this call created it (their first message);
        a new contact starts with ``language``."""
        contact = await self.by_user(telegram_user_id)
        if contact is not None:
            if contact.chat_id != chat_id:
                contact.chat_id = chat_id
            return contact, False
        values = {"telegram_user_id": telegram_user_id, "chat_id": chat_id,
                  "language": language, "opted_out": False, "unreachable": False}
        contact = await insert_returning(self.session, Contact, values, ["telegram_user_id"])
        if contact is not None:
            return contact, True
        # Two first messages at once: the other one inserted it.
        return await self.join(telegram_user_id, chat_id, language)

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


class PeopleRepository(Repository):
    async def by_user(self, telegram_user_id: int) -> Person | None:
        """The person behind a Telegram account, with their roles; None for plain residents."""
        if (known := _known(self.session, telegram_user_id)) is not None:
            return known[1]
        return await self.session.scalar(
            select(Person)
            .join(Contact, Contact.id == Person.contact_id)
            .where(Contact.telegram_user_id == telegram_user_id)
            .options(selectinload(Person.roles))
        )

    async def get(self, person_id: int) -> Person | None:
        """The person with their roles."""
        return await self.session.scalar(
            select(Person).where(Person.id == person_id).options(selectinload(Person.roles)))

    async def names(self, person_ids: Iterable[int]) -> dict[int, str]:
        """Each of these people's name, in one statement (people unknown are left out)."""
        wanted = sorted(set(person_ids))
        if not wanted:
            return {}
        rows = await self.plain(select(Person.id, Person.name).where(Person.id.in_(wanted)))
        return {person_id: name for person_id, name in rows}

    async def named(self, needle: str, limit: int = 20) -> Sequence[Person]:
        """People whose name (or Chinese name) contains ``needle``, case-insensitively."""
        return (await self.session.scalars(
            select(Person).where(or_(Person.name.icontains(needle, autoescape=True),
                                     Person.name_zh.icontains(needle, autoescape=True)))
            .order_by(Person.id).limit(limit))).all()

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

    async def grant(self, person: Person, role: Role, unit: UnitLike | None
                    ) -> PersonRole | None:
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

    async def chat_roles(self) -> Sequence[tuple[int, Role | None, str | None]]:
        """(chat id, role, the menu last set there) of everyone with a role or who had one
        and a Telegram account; a person without roles left comes once with None."""
        rows = await self.session.execute(
            select(Contact.chat_id, PersonRole.role, Contact.menu)
            .join(Person, Person.contact_id == Contact.id)
            .outerjoin(PersonRole, PersonRole.person_id == Person.id)
        )
        return [(chat_id, role, menu) for chat_id, role, menu in rows.all()]

    async def menus_set(self, menus: Mapping[int, str]) -> None:
        """Record the menu now set in each chat (chat id → menu)."""
        chats_of: dict[str, list[int]] = {}
        for chat_id, menu in menus.items():
            chats_of.setdefault(menu, []).append(chat_id)
        for menu, chats in chats_of.items():
            for at in range(0, len(chats), 500):
                await self.session.execute(
                    update(Contact).where(Contact.chat_id.in_(chats[at:at + 500]))
                    .values(menu=menu).execution_options(synchronize_session=False))

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
