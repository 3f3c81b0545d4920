"""Units: the tree of places of work that campaigns and roles are scoped to."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from storage.bulk import insert_rows
from storage.db import Repository
from storage.models import Unit

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


class UnitsRepository(Repository):
    async def by_code(self, code: str) -> Unit | None:
        return await self.session.scalar(select(Unit).where(Unit.code == code))

    async def all(self) -> Sequence[Unit]:
        return (await self.session.scalars(select(Unit).order_by(Unit.id))).all()

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
        await insert_rows(self.session, _TABLE, ("code", *self._FIELDS), rows)
        wanted = {row["code"] for row in rows}
        found = await self.session.execute(select(Unit.code, Unit.id).where(Unit.id > newest))
        return {code: unit_id for code, unit_id in found if code in wanted}

    async def update_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Set the ``_FIELDS`` of units by ``id`` (an update by primary key per row, sent
        together)."""
        for chunk in _chunks(rows):
            await self.session.execute(update(Unit), list(chunk))


def _chunks(rows: Sequence[Mapping[str, Any]], size: int = 5000
            ) -> Iterator[Sequence[Mapping[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]
