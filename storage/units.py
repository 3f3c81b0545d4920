"""Units: the tree of places of work that campaigns and roles are scoped to."""

from __future__ import annotations

import asyncio
import secrets
import weakref
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, event, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import InstrumentedAttribute, Session, UOWTransaction
from sqlalchemy.sql.elements import ColumnElement

from storage.bulk import insert_rows
from storage.db import Repository
from storage.models import Revision, Unit

# Core inserts of plain rows: the ORM's bulk path costs more than the rows do.
_TABLE = cast(Table, Unit.__table__)


def in_subtrees(column: InstrumentedAttribute[int] | InstrumentedAttribute[int | None],
                roots: Collection[int]) -> ColumnElement[bool]:
    """``column`` (a unit's id) is one of ``roots`` or a unit below one of them. The database
    walks the tree, so a scope of thousands of units is a few ids in the statement, not
    thousands. Build it once per statement: it names its common table expression."""
    down = select(Unit.id).where(Unit.id.in_(list(roots))).cte("in_scope", recursive=True)
    # UNION, not UNION ALL: a cycle (which import_units refuses) still ends.
    down = down.union(select(Unit.id).join(down, Unit.parent_id == down.c.id))
    return column.in_(select(down.c.id))


@dataclass(frozen=True, slots=True)
class UnitNode:
    """A unit as the tree holds it: its columns, read once and shared by every use case until
    a unit changes (so never an ORM object, which belongs to one session)."""

    id: int
    code: str
    name: str
    name_zh: str | None
    type: str
    parent_id: int | None
    population: int | None
    latitude: float | None
    longitude: float | None
    radius_km: float | None


_NODE_COLUMNS = tuple(getattr(Unit, f) for f in UnitNode.__dataclass_fields__)


@dataclass(frozen=True, eq=False)
class UnitsSnapshot:
    """Every unit, as of the revision ``token``; the same object while the units are unchanged
    (so what is built from it can be kept beside it)."""

    token: int
    units: tuple[UnitNode, ...]


# Per database (engine): its units as last read. A province's 100,000 units took 1.7 s of CPU
# to read as ORM objects, on every staff action that checks a scope; now one indexed read of
# the revision token, and the rows again only after a change, by one use case at a time (the
# others wait for its snapshot rather than each reading the same rows).
_SNAPSHOTS: weakref.WeakKeyDictionary[Engine, UnitsSnapshot] = weakref.WeakKeyDictionary()
_READING: weakref.WeakKeyDictionary[Engine, asyncio.Lock] = weakref.WeakKeyDictionary()
_UNITS = "units"
# In a session's info: it wrote units, so what it reads of them is not yet (or never) anyone
# else's.
_WROTE_UNITS = "civicpulse_wrote_units"


def _bump_statement(dialect: str) -> Any:
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(Revision).values(name=_UNITS, token=secrets.randbits(62))
    return statement.on_conflict_do_update(index_elements=[Revision.name],
                                           set_={"token": statement.excluded.token})


@event.listens_for(Session, "before_flush")
def _units_changed(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    """A flush that adds, changes or deletes a unit through the ORM gives the units a new
    revision in the same transaction (the bulk statements below do it themselves)."""
    if any(isinstance(o, Unit) for o in chain(session.new, session.dirty, session.deleted)):
        session.execute(_bump_statement(session.get_bind().dialect.name))
        session.info[_WROTE_UNITS] = True


class UnitsRepository(Repository):
    async def by_code(self, code: str) -> Unit | None:
        return await self.session.scalar(select(Unit).where(Unit.code == code))

    async def all(self) -> Sequence[Unit]:
        return (await self.session.scalars(select(Unit).order_by(Unit.id))).all()

    async def snapshot(self) -> UnitsSnapshot:
        """Every unit's columns: kept per database and read again only when the units'
        revision has changed (any transaction that writes units gives it a new token)."""
        token = await self.session.scalar(
            select(Revision.token).where(Revision.name == _UNITS)) or 0
        if self.session.info.get(_WROTE_UNITS):
            return await self._read(token)  # its own units, uncommitted: not kept
        bind = self.session.get_bind()
        engine = bind.engine if isinstance(bind, Connection) else bind
        kept = _SNAPSHOTS.get(engine)
        if kept is not None and kept.token == token:
            return kept
        async with _READING.setdefault(engine, asyncio.Lock()):
            kept = _SNAPSHOTS.get(engine)
            if kept is not None and kept.token == token:
                return kept
            snapshot = _SNAPSHOTS[engine] = await self._read(token)
        return snapshot

    async def _read(self, token: int) -> UnitsSnapshot:
        rows = await self.session.execute(select(*_NODE_COLUMNS).order_by(Unit.id))
        return UnitsSnapshot(token, tuple(UnitNode(*row) for row in rows))

    async def _changed(self) -> None:
        await self.session.execute(_bump_statement(self.session.get_bind().dialect.name))
        self.session.info[_WROTE_UNITS] = True

    async def ancestors(self, unit_id: int) -> list[int]:
        """The unit and every unit above it (empty for no such unit), in one query."""
        up = select(Unit.id, Unit.parent_id).where(Unit.id == unit_id).cte("up", recursive=True)
        # UNION, not UNION ALL: a cycle (which import_units refuses) still ends.
        up = up.union(select(Unit.id, Unit.parent_id).join(up, Unit.id == up.c.parent_id))
        return list((await self.session.scalars(select(up.c.id))).all())

    async def parents_by_code(self) -> dict[str, str | None]:
        parent = Unit.__table__.alias("parent")
        rows = await self.session.execute(
            select(Unit.code, parent.c.code).outerjoin(parent, parent.c.id == Unit.parent_id)
        )
        return {code: parent_code for code, parent_code in rows}

    def add(self, unit: Unit) -> None:
        self.session.add(unit)

    # --- bulk work (units import): Core statements, many rows each ------------------------

    _FIELDS = ("name", "name_zh", "type", "parent_id", "population", "latitude", "longitude",
               "radius_km")

    async def stored(self) -> dict[str, dict[str, Any]]:
        """Every unit's imported fields (and id) by code, read as plain rows: an import
        compares a whole province's file with what is stored."""
        rows = await self.session.execute(
            select(Unit.id, Unit.code, *(getattr(Unit, f) for f in self._FIELDS)))
        return {row.code: dict(row._mapping) for row in rows}

    async def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
        """Insert units (the ``_FIELDS`` and ``code`` of each); their ids by code, read back
        as the units newer than the newest before (RETURNING with many rows is sent one row
        at a time on SQLite, and an IN list of thousands of codes costs more to build than
        the rows do to insert). Ids only grow, on both databases."""
        if not rows:
            return {}
        newest = await self.session.scalar(select(func.max(Unit.id))) or 0
        await self._changed()
        await insert_rows(self.session, _TABLE, ("code", *self._FIELDS), rows)
        wanted = {row["code"] for row in rows}
        found = await self.session.execute(select(Unit.code, Unit.id).where(Unit.id > newest))
        return {code: unit_id for code, unit_id in found if code in wanted}

    async def update_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Set the ``_FIELDS`` of units by ``id`` (an update by primary key per row, sent
        together)."""
        if rows:
            await self._changed()
        for chunk in _chunks(rows):
            await self.session.execute(update(Unit), list(chunk))


def _chunks(rows: Sequence[Mapping[str, Any]], size: int = 5000
            ) -> Iterator[Sequence[Mapping[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


# What a use case may hold of a unit: the row it read (an ORM object) or the tree's node; the
# two have the same columns to read.
UnitLike = Unit | UnitNode
