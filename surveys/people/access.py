"""Who may do what where: roles, optionally scoped to a unit's subtree."""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import TYPE_CHECKING

from storage.models import Person, Role
from storage.units import UnitLike, UnitNode, UnitsSnapshot
from surveys.people.names import display_name

if TYPE_CHECKING:
    from storage.uow import UnitOfWork


class UnitTree:
    """The unit hierarchy: built once per revision of the units and shared by the use cases
    until a unit changes (a province has 100,000 units; never change what it holds)."""

    def __init__(self, units: Sequence[UnitNode]) -> None:
        self.by_id = {u.id: u for u in units}
        self.by_code = {u.code: u for u in units}
        self.children: dict[int | None, list[UnitNode]] = {}
        for unit in units:
            self.children.setdefault(unit.parent_id, []).append(unit)
        for siblings in self.children.values():
            siblings.sort(key=lambda u: u.name)

    @classmethod
    async def load(cls, uow: UnitOfWork) -> UnitTree:
        """The tree as of ``uow``'s units: one read of their revision when they are unchanged
        since the last load."""
        snapshot = await uow.units.snapshot()
        tree = _TREES.get(snapshot)
        if tree is None:
            tree = _TREES[snapshot] = cls(snapshot.units)
        return tree

    def ancestors(self, unit_id: int) -> list[int]:
        """The unit and every unit above it, nearest first."""
        chain: list[int] = []
        current: int | None = unit_id
        while current is not None and current not in chain:
            chain.append(current)
            current = self.by_id[current].parent_id
        return chain

    def subtree(self, unit_id: int) -> set[int]:
        seen = {unit_id}
        stack = [unit_id]
        while stack:
            for child in self.children.get(stack.pop(), []):
                if child.id not in seen:
                    seen.add(child.id)
                    stack.append(child.id)
        return seen

    def path(self, unit_id: int, lang: str) -> str:
        """The unit's names from the root down, as a reader of ``lang`` sees them."""
        return " › ".join(display_name(self.by_id[i], lang)
                          for i in reversed(self.ancestors(unit_id)))

    def browse(self, visible: AbstractSet[int], at: object) -> Browsing:
        """Choosing a unit among ``visible`` ones, opened at the unit ``at`` (anything else:
        the top of the scope, or inside its only top unit, there being one place to start).
        Only the scope is walked: a village's cadre in a province of 100,000 units costs what
        the village does."""
        if len(visible) >= len(self.by_id):  # every unit (``self.by_id`` itself, say)
            tops = list(self.children.get(None, []))
        else:
            tops = sorted((self.by_id[i] for i in visible
                           if i in self.by_id and self.by_id[i].parent_id not in visible),
                          key=lambda u: u.name)
        node: UnitNode | None = None
        if isinstance(at, int) and at in visible:
            node = self.by_id[at]
        elif len(tops) == 1:
            node = tops[0]
        if node is None:
            return Browsing(self, visible, None, tops, None)
        listed = [c for c in self.children.get(node.id, []) if c.id in visible]
        up = node.parent_id if node.parent_id in visible else (0 if len(tops) > 1 else None)
        return Browsing(self, visible, node, listed, up)


# The tree built from each snapshot still in use (a snapshot is replaced when units change).
_TREES: weakref.WeakKeyDictionary[UnitsSnapshot, UnitTree] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Browsing:
    """Where someone choosing a unit within their scope is: ``node`` is the unit opened
    (None: the top of the scope), ``listed`` the units shown there, by name, and ``up`` where
    going up leads: a unit's id, 0 for the top of the scope, None for nowhere."""

    tree: UnitTree
    visible: AbstractSet[int]
    node: UnitNode | None
    listed: list[UnitNode]
    up: int | None

    def has_inside(self, unit: UnitLike) -> bool:
        """Whether the unit has units of the scope inside it (to open it, not only choose it)."""
        return any(c.id in self.visible for c in self.tree.children.get(unit.id, []))


@dataclass(frozen=True)
class Actor:
    """A person acting with their roles; ``label`` is how the audit log names them."""

    person_id: int
    name: str
    grants: tuple[tuple[Role, int | None], ...]
    name_zh: str | None = None  # shown through surveys.people.names

    @property
    def label(self) -> str:
        return f"person:{self.person_id}"

    @classmethod
    def of(cls, person: Person) -> Actor:
        return cls(person.id, person.name, tuple((r.role, r.unit_id) for r in person.roles),
                   person.name_zh)

    def has(self, roles: Iterable[Role]) -> bool:
        wanted = set(roles)
        return any(role in wanted for role, _unit in self.grants)

    def scopes(self, roles: Iterable[Role]) -> list[int | None]:
        """The units (None: everywhere) where the person holds any of ``roles``."""
        wanted = set(roles)
        return [unit for role, unit in self.grants if role in wanted]

    def covers(self, tree: UnitTree, unit_id: int, roles: Iterable[Role]) -> bool:
        return self.covers_any(tree.ancestors(unit_id), roles)

    def covers_any(self, above: Iterable[int], roles: Iterable[Role]) -> bool:
        """Whether a unit whose chain (it and the units above it) is ``above`` is in scope."""
        chain = set(above)
        return any(scope is None or scope in chain for scope in self.scopes(roles))

    def visible_units(self, tree: UnitTree, roles: Iterable[Role]) -> set[int]:
        scopes = self.scopes(roles)
        if None in scopes:
            return set(tree.by_id)
        visible: set[int] = set()
        for scope in scopes:
            if scope is not None:
                visible |= tree.subtree(scope)
        return visible


@dataclass(frozen=True)
class Level:
    """A list narrowed to a unit a level at a time (the dashboard's campaigns and cadres):
    ``node`` is the unit whose subtree it shows (None: the whole scope, when it has several
    top units), ``below`` the units one level down to narrow to, ``up`` where widening
    leads (a unit's id, 0 for the whole scope, None: nowhere) and ``roots`` the units whose
    subtrees the database is asked for (None: every unit)."""

    node: UnitNode | None
    below: list[UnitNode]
    up: int | None
    roots: tuple[int, ...] | None


def level(tree: UnitTree, actor: Actor, roles: Iterable[Role], at: int | None) -> Level | None:
    """Where a list of the actor's scope stands at the unit ``at`` (None: not narrowed); None
    if ``at`` is unknown or outside the scope. Only the units on the way are walked, never the
    whole tree, so a province's costs what a county's does."""
    scopes = actor.scopes(roles)
    if None in scopes:
        tops = list(tree.children.get(None, []))
        roots: tuple[int, ...] | None = None
    else:
        # A scope inside another one adds nothing.
        inner = {s for s in scopes if s is not None and s in tree.by_id}
        tops = sorted((tree.by_id[s] for s in inner
                       if not any(a in inner for a in tree.ancestors(s)[1:])),
                      key=lambda u: u.name)
        roots = tuple(u.id for u in tops)
    if at is not None:
        if at not in tree.by_id or not actor.covers(tree, at, roles):
            return None
        node: UnitNode | None = tree.by_id[at]
        roots = (at,)
    else:
        node = tops[0] if len(tops) == 1 else None
    if node is None:
        return Level(None, tops, None, roots)
    if any(node.id == top.id for top in tops):
        up = 0 if len(tops) > 1 else None
    else:
        up = node.parent_id
    return Level(node, list(tree.children.get(node.id, [])), up, roots)


ADMIN_ROLES = (Role.ADMIN,)
VIEW_ROLES = (Role.ADMIN, Role.AUDITOR)
CADRE_ROLES = (Role.CADRE,)
INSPECTOR_ROLES = (Role.INSPECTOR,)
# What the admin chat answers anyone without the role a command needs (the text admin.not_admin).
NOT_ADMIN = "not_admin"
