"""The unit tree is read once per revision of the units and kept while they are unchanged:
every write of units (an import, an ORM change) gives them a new revision, so no process,
this one or another, goes on using a tree the database no longer holds."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from storage.models import Unit
from storage.units import UnitsRepository, UnitsSnapshot
from storage.uow import Database
from surveys.people.access import UnitTree
from surveys.people.units import UnitRow, import_units


def _row(code: str, name: str, parent: str | None = None) -> UnitRow:
    return UnitRow(code=code, name=name, parent=parent, type="village" if parent else "county",
                   population=100, line=1)


async def _import(db: Database, rows: list[UnitRow]) -> None:
    async with db.transaction() as uow:
        await import_units(uow, rows, actor="test")


async def _tree(db: Database) -> UnitTree:
    async with db.transaction() as uow:
        return await UnitTree.load(uow)


@contextmanager
def _statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


def _names(tree: UnitTree) -> dict[str, str]:
    return {code: unit.name for code, unit in tree.by_code.items()}


async def test_an_unchanged_tree_is_one_read_of_the_revision(db: Database) -> None:
    await _import(db, [_row("K", "County"), _row("V1", "North", "K")])
    first = await _tree(db)
    with _statements(db) as seen:
        again = await _tree(db)
    assert again is first
    assert [s for s in seen if "units" in s.lower()] == []
    assert len([s for s in seen if "revisions" in s]) == 1


async def test_an_import_gives_every_process_the_new_tree(db: Database, db_url: str) -> None:
    """Two processes (two engines) on one database: one imports, the other sees it at once."""
    await _import(db, [_row("K", "County"), _row("V1", "North", "K")])
    other = Database.from_url(db_url)
    try:
        before = await _tree(other)
        assert _names(before) == {"K": "County", "V1": "North"}
        await _import(db, [_row("K", "County"), _row("V1", "North Village", "K")])
        assert _names(await _tree(other)) == {"K": "County", "V1": "North Village"}
        await _import(db, [_row("K", "County"), _row("V1", "North Village", "K"),
                           _row("V2", "South", "K")])
        after = await _tree(other)
        assert _names(after) == {"K": "County", "V1": "North Village", "V2": "South"}
        assert after.subtree(after.by_code["K"].id) == {
            after.by_code[c].id for c in ("K", "V1", "V2")}
        # The same file again writes no unit: the kept tree stays.
        await _import(db, [_row("K", "County"), _row("V1", "North Village", "K"),
                           _row("V2", "South", "K")])
        assert await _tree(other) is after
    finally:
        await other.dispose()


async def test_a_unit_changed_through_the_orm_is_seen(db: Database) -> None:
    await _import(db, [_row("K", "County")])
    assert _names(await _tree(db)) == {"K": "County"}
    async with db.transaction() as uow:
        county = await uow.units.by_code("K")
        assert county is not None
        county.name = "Renamed County"
        uow.units.add(Unit(code="V9", name="Added", type="village", parent_id=county.id))
    tree = await _tree(db)
    assert _names(tree) == {"K": "Renamed County", "V9": "Added"}
    assert tree.ancestors(tree.by_code["V9"].id) == [tree.by_code["V9"].id, tree.by_code["K"].id]


async def test_a_change_rolled_back_is_never_taken_for_the_tree(db: Database) -> None:
    await _import(db, [_row("K", "County")])
    before = await _tree(db)

    class Abandon(Exception):
        pass

    with pytest.raises(Abandon):
        async with db.transaction() as uow:
            await import_units(uow, [_row("K", "County"), _row("V1", "Never", "K")],
                               actor="test")
            # Read inside the transaction that wrote: its own units, under its own revision.
            assert "V1" in (await UnitTree.load(uow)).by_code
            raise Abandon
    # What the writer read of its own units was never kept for the others.
    assert await _tree(db) is before
    await _import(db, [_row("K", "County"), _row("V2", "Kept", "K")])
    assert _names(await _tree(db)) == {"K": "County", "V2": "Kept"}


async def test_the_tree_holds_plain_values_not_rows_of_a_session(db: Database) -> None:
    """The tree outlives the transaction that read it and is shared by concurrent use cases:
    what it holds must not be an ORM object (which belongs to one session)."""
    await _import(db, [_row("K", "County"), _row("V1", "North", "K")])
    tree = await _tree(db)
    unit = tree.by_code["V1"]
    assert not isinstance(unit, Unit)
    with pytest.raises(AttributeError):
        unit.name = "changed"  # type: ignore[misc]
    assert unit.parent_id == tree.by_code["K"].id


async def test_after_a_change_the_units_are_read_once_for_everyone(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Use cases that find the tree out of date at the same moment wait for one read of the
    units rather than each reading them all (100,000 rows in a province)."""
    await _import(db, [_row("K", "County")])
    await _tree(db)
    await _import(db, [_row("K", "County"), _row("V1", "North", "K")])
    reads: list[int] = []
    original = UnitsRepository._read

    async def slow_read(self: UnitsRepository, token: int) -> UnitsSnapshot:
        reads.append(token)
        await asyncio.sleep(0.2)  # a province's rows take a while: the others arrive meanwhile
        return await original(self, token)

    monkeypatch.setattr(UnitsRepository, "_read", slow_read)

    async def load() -> UnitTree:
        async with db.reading() as uow:
            return await UnitTree.load(uow)

    trees = await asyncio.gather(*(load() for _ in range(5)))
    assert all(tree is trees[0] for tree in trees)
    assert _names(trees[0]) == {"K": "County", "V1": "North"}
    assert len(reads) == 1
