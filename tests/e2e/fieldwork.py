"""Test helpers for cadres and inspectors: a linked profile straight in the database.

The invite-link flow is tested on its own; these helpers skip it and create what a used
invite leaves behind: a Contact for the Telegram account, a Person linked to it, the role
scoped to a unit and, for a cadre, the key tasks. The units must exist already (the e2e
``bot`` fixture and ``tests.conftest.seed_campaign`` import ``TEST_UNITS``).
"""

from __future__ import annotations

from collections.abc import Sequence

from storage.models import Role
from storage.uow import Database


async def _person(db: Database, telegram_user_id: int, unit_code: str | None, name: str,
                  role: Role) -> int:
    async with db.transaction() as uow:
        unit = None
        if unit_code is not None:
            unit = await uow.units.by_code(unit_code)
            assert unit is not None, f"unknown unit {unit_code!r}: import the test units first"
        # A private chat's id is the user's id, as in the sandbox.
        contact = await uow.contacts.get_or_create(telegram_user_id, telegram_user_id)
        person = await uow.people.by_contact(contact.id)
        if person is None:
            person = await uow.people.create(name, contact)
        await uow.people.grant(person, role, unit)
        return person.id


async def make_cadre(db: Database, telegram_user_id: int, unit_code: str, name: str,
                     tasks: Sequence[str] = ()) -> int:
    """A cadre of ``unit_code`` linked to the Telegram account, with active key ``tasks``
    (in that order); returns the person id."""
    person_id = await _person(db, telegram_user_id, unit_code, name, Role.CADRE)
    async with db.transaction() as uow:
        for title in tasks:
            await uow.cadres.add_task(person_id, title, None)
    return person_id


async def make_inspector(db: Database, telegram_user_id: int, unit_code: str | None,
                         name: str) -> int:
    """An inspector for ``unit_code``'s subtree (None: everywhere) linked to the Telegram
    account; returns the person id."""
    return await _person(db, telegram_user_id, unit_code, name, Role.INSPECTOR)


async def set_unit_centre(db: Database, unit_code: str, latitude: float, longitude: float,
                          radius_km: float | None = None) -> None:
    """Give a unit a centre (and radius), so locations can be checked against it."""
    async with db.transaction() as uow:
        unit = await uow.units.by_code(unit_code)
        assert unit is not None, f"unknown unit {unit_code!r}"
        unit.latitude, unit.longitude, unit.radius_km = latitude, longitude, radius_km
