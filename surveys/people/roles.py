"""Roles: who holds which role where, given and taken away by an admin (``civicpulse admin``).

A role may be scoped to a unit's subtree (None: all units). Granting and revoking are
audited; what the rules refuse is a :class:`RoleError`, whose message is the command line's
one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from storage.ids import BIGINT_MAX, parse_id
from storage.models import Person, Role
from storage.units import UnitNode
from surveys.people.access import UnitTree
from surveys.text import clean_text

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

NAME_MAX = 200  # a person's name, as the people table keeps it


class RoleError(ValueError):
    """A grant or revocation the rules refuse; the message says why."""


async def grant_role(
    uow: UnitOfWork, *, telegram_user_id: int, role: Role, unit_code: str | None,
    name: str | None, actor: str,
) -> tuple[Person, bool]:
    """Give the Telegram account a role, optionally scoped to a unit's subtree.

    Returns the person and whether the role is new (granting it twice changes nothing).

    The name is cleaned by the rule for typed text on one line; without anything visible
    the account's own label is used.

    Raises:
        RoleError: the unit does not exist, the name is over 200 characters, or the
            id cannot be a Telegram user's.
    """
    if parse_id(telegram_user_id, BIGINT_MAX) is None:
        raise RoleError(f"{telegram_user_id} is not a Telegram user id (those are "
                                "positive whole numbers)")
    name = " ".join(clean_text(name or "", multiline=False).split()) or None
    if name is not None and len(name) > NAME_MAX:
        raise RoleError(f"the name is {len(name)} characters; the limit is {NAME_MAX}")
    unit = None
    if unit_code is not None:
        unit = await uow.units.by_code(unit_code)
        if unit is None:
            raise RoleError(f"unknown unit {unit_code!r}")
    # A private chat's id is the user's id, so the contact can be made before they write.
    contact = await uow.contacts.get_or_create(telegram_user_id, telegram_user_id)
    person = await uow.people.by_contact(contact.id)
    if person is None:
        person = await uow.people.create(name or f"Telegram user {telegram_user_id}", contact)
    granted = await uow.people.grant(person, role, unit)
    if granted is not None:
        await uow.audit.record(
            actor, "role.grant", "person", person.id,
            after={"role": role.value, "unit": unit_code, "name": person.name},
        )
    return person, granted is not None


@dataclass(frozen=True)
class RoleHolder:
    """Someone with roles, as `civicpulse admin list` shows them."""

    person_id: int
    name: str
    telegram_user_id: int | None  # None: a cadre profile whose invite link is not used yet
    roles: tuple[tuple[Role, str | None], ...]  # (role, unit code; None = all units)

    def describe(self) -> str:
        return ", ".join(f"{role.value} for {scope_label(unit)}" for role, unit in self.roles)


def scope_label(unit_code: str | None) -> str:
    return f"unit {unit_code} and below" if unit_code else "all units"


async def role_holders(uow: UnitOfWork, role: Role | None = None) -> list[RoleHolder]:
    """Everyone with a role (or with ``role``), each with every role they hold and its scope."""
    codes = (await UnitTree.load(uow)).by_id
    holders = []
    for person, contact in await uow.people.with_roles():
        held = _held(person, codes)
        if role is None or any(r == role for r, _ in held):
            holders.append(RoleHolder(person.id, person.name,
                                      contact.telegram_user_id if contact is not None else None,
                                      held))
    return holders


def _held(person: Person, units: Mapping[int, UnitNode]) -> tuple[tuple[Role, str | None], ...]:
    order = list(Role)
    return tuple(sorted(
        ((r.role, _code(units, r.unit_id)) for r in person.roles),
        key=lambda item: (order.index(item[0]), item[1] or "")))


def _code(units: Mapping[int, UnitNode], unit_id: int | None) -> str | None:
    unit = units.get(unit_id) if unit_id is not None else None
    return unit.code if unit is not None else None


async def revoke_role(
    uow: UnitOfWork, *, telegram_user_id: int, role: Role, unit_code: str | None, actor: str,
) -> RoleHolder:
    """Take a role (with exactly this scope) from the Telegram account; what they still hold.

    Raises:
        RoleError: the unit does not exist, nobody with this account holds a role, or
            they do not hold this one with this scope (the message says what they do hold).
    """
    unit = None
    if unit_code is not None:
        unit = await uow.units.by_code(unit_code)
        if unit is None:
            raise RoleError(f"unknown unit {unit_code!r}")
    # An id no account can have is nobody's, decided without asking the database.
    known = parse_id(telegram_user_id, BIGINT_MAX)
    person = await uow.people.by_user(known) if known is not None else None
    if person is None or not person.roles:
        raise RoleError(
            f"nobody with Telegram id {telegram_user_id} has a role (`civicpulse admin list` "
            "shows who has one)")
    before = await _holder(uow, person, telegram_user_id)
    if await uow.people.revoke(person, role, unit.id if unit is not None else None) is None:
        raise RoleError(
            f"{person.name} (Telegram {telegram_user_id}) is not {role.value} for "
            f"{scope_label(unit_code)}; they are {before.describe()}")
    await uow.audit.record(
        actor, "role.revoke", "person", person.id,
        before={"role": role.value, "unit": unit_code, "name": person.name},
    )
    return await _holder(uow, person, telegram_user_id)


async def _holder(uow: UnitOfWork, person: Person, telegram_user_id: int) -> RoleHolder:
    codes = (await UnitTree.load(uow)).by_id
    return RoleHolder(person.id, person.name, telegram_user_id, _held(person, codes))


async def roles_of(uow: UnitOfWork, telegram_user_id: int) -> frozenset[Role] | None:
    """The roles of the person behind a Telegram account; None for a plain resident."""
    person = await uow.people.by_user(telegram_user_id)
    return frozenset(r.role for r in person.roles) if person is not None else None


async def chat_roles(uow: UnitOfWork) -> dict[int, tuple[frozenset[Role], frozenset[Role] | None]]:
    """For each chat that has (or had) a role: the roles its command menu should show (an
    empty set means the person's menu goes back to the residents' one) and the roles of the
    menu last set there (None if none was)."""
    held: dict[int, set[Role]] = {}
    applied: dict[int, frozenset[Role] | None] = {}
    for chat_id, role, menu in await uow.people.chat_roles():
        roles = held.setdefault(chat_id, set())
        if role is not None:
            roles.add(role)
        applied[chat_id] = None if menu is None else frozenset(
            Role(name) for name in menu.split(",") if name in _ROLE_NAMES)
    return {chat_id: (frozenset(roles), applied[chat_id]) for chat_id, roles in held.items()}


_ROLE_NAMES = frozenset(role.value for role in Role)


def menu_code(roles: frozenset[Role]) -> str:
    """How a menu's roles are stored (``contacts.menu``)."""
    return ",".join(sorted(roles))


async def menus_set(uow: UnitOfWork, menus: dict[int, frozenset[Role]]) -> None:
    await uow.people.menus_set({chat: menu_code(roles) for chat, roles in menus.items()})
