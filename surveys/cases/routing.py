"""Whose a case is: the staff it is routed to, who may handle it, and who supervises it.

A case goes to the cadres of its unit whose key tasks are about its category (a task's title
or indicator names the topic, or mentions one of its keywords), or to all the unit's cadres
when no task matches, and to the admins whose scope covers the unit. A "not solved" answer
reaches the unit's inspectors too, who can verify on site with /inspect.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from analysis.themes import DEFAULT_TOPICS, Topics, comment_topics
from storage.models import KeyTask, Person, PersonRole, Role
from surveys.people.access import ADMIN_ROLES, CADRE_ROLES, INSPECTOR_ROLES, Actor, UnitTree

if TYPE_CHECKING:
    from storage.uow import UnitOfWork


def task_matches(task: KeyTask, category: str, topics: Topics = DEFAULT_TOPICS) -> bool:
    """Whether a key task is about ``category`` (a theme topic id)."""
    named = {task.indicator or "", task.title}
    if any(category.lower() in text.lower() for text in named if text):
        return True
    return category in comment_topics(task.title, "und", topics)


def may_handle(actor: Actor, tree: UnitTree, unit_id: int) -> bool:
    """A cadre of the unit (or of a unit above it) or an admin whose scope covers it."""
    return (actor.covers(tree, unit_id, CADRE_ROLES)
            or actor.covers(tree, unit_id, ADMIN_ROLES))


def is_admin_for(actor: Actor, tree: UnitTree, unit_id: int) -> bool:
    """Only an admin decides a transfer or a rejection."""
    return actor.covers(tree, unit_id, ADMIN_ROLES)


async def _holders(uow: UnitOfWork, roles: Iterable[Role]) -> Sequence[Person]:
    return (await uow.session.scalars(
        select(Person).where(Person.id.in_(
            select(PersonRole.person_id).where(PersonRole.role.in_(list(roles)))))
        .options(selectinload(Person.roles)).order_by(Person.name, Person.id))).all()


async def unit_cadres(uow: UnitOfWork, tree: UnitTree, unit_id: int, category: str,
                      topics: Topics = DEFAULT_TOPICS) -> list[Person]:
    """The cadres a new case of ``category`` in the unit goes to: those of the unit itself
    (else of the nearest unit above it that has any) whose key tasks match, else all of
    them."""
    cadres = await _holders(uow, CADRE_ROLES)
    for level in tree.ancestors(unit_id):
        here = [p for p in cadres if level in Actor.of(p).scopes(CADRE_ROLES)]
        if not here:
            continue
        tasks: Mapping[int, list[KeyTask]] = await _tasks_of(uow, [p.id for p in here])
        matching = [p for p in here
                    if any(task_matches(t, category, topics) for t in tasks.get(p.id, []))]
        return matching or here
    return []


async def _tasks_of(uow: UnitOfWork, person_ids: list[int]) -> dict[int, list[KeyTask]]:
    found: dict[int, list[KeyTask]] = {}
    for task in await uow.session.scalars(
            select(KeyTask).where(KeyTask.person_id.in_(person_ids), KeyTask.active.is_(True))):
        found.setdefault(task.person_id, []).append(task)
    return found


async def unit_supervisors(uow: UnitOfWork, tree: UnitTree, unit_id: int, *,
                           inspectors: bool = False) -> list[Person]:
    """The admins whose scope covers the unit (and, with ``inspectors``, its inspectors)."""
    roles = (*ADMIN_ROLES, *(INSPECTOR_ROLES if inspectors else ()))
    return [p for p in await _holders(uow, roles)
            if Actor.of(p).covers(tree, unit_id, ADMIN_ROLES)
            or (inspectors and Actor.of(p).covers(tree, unit_id, INSPECTOR_ROLES))]


async def routed_staff(uow: UnitOfWork, tree: UnitTree, unit_id: int, category: str,
                       topics: Topics = DEFAULT_TOPICS) -> list[Person]:
    """Everyone a new (or transferred) case of the unit is shown to: its matching cadres and
    its admins, each once."""
    seen: dict[int, Person] = {}
    for person in [*await unit_cadres(uow, tree, unit_id, category, topics),
                   *await unit_supervisors(uow, tree, unit_id)]:
        seen.setdefault(person.id, person)
    return list(seen.values())
