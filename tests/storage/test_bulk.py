"""Bulk inserts (storage.bulk, a province's units import) on SQLite and PostgreSQL: rows take
their ids in the order given across chunk boundaries, so a bulk-appended audit chain verifies;
JSON, NULLs, Chinese text and ids read back as written."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage import bulk
from storage.models import AuditEvent, Unit
from storage.uow import Database
from surveys.people.units import UnitRow, import_units


def _village(i: int) -> UnitRow:
    return UnitRow(code=f"V{i:05d}", name=f"Village {i}", parent="T", type="village",
                   population=None if i % 7 == 0 else 800 + i, line=i + 2, source="test",
                   name_zh=f"{i}村" if i % 2 else None)


async def test_a_bulk_import_over_several_chunks_keeps_the_order_and_the_chain(
    db: Database, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bulk, "CHUNK", 100)  # 250 villages: three chunks of each table
    rows = [UnitRow(code="T", name="Township", parent=None, type="township", population=5,
                    line=1, source="test"), *(_village(i) for i in range(250))]
    async with db.transaction() as uow:
        summary = await import_units(uow, rows, actor="cli")
    assert summary.created == 251
    async with db.reading() as uow:
        units = (await uow.session.scalars(select(Unit).order_by(Unit.id))).all()
        events = (await uow.session.scalars(select(AuditEvent).order_by(AuditEvent.id))).all()
        broken = await uow.audit.verify()
    assert [u.code for u in units] == ["T", *(f"V{i:05d}" for i in range(250))]
    township = units[0]
    assert {u.parent_id for u in units[1:]} == {township.id}
    assert units[8].population is None and units[9].population == 808
    assert units[2].name_zh == "1村" and units[1].name_zh is None
    assert [e.entity_id for e in events] == [u.code for u in units]
    assert events[2].before is None
    assert events[2].after is not None and events[2].after["name_zh"] == "1村"
    assert broken is None, "the chain verifies: ids follow the order the events were chained"
