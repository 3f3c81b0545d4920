"""Importing KPI files into the database: all or nothing, with every change in the audit log."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.models import AuditEvent, KpiValue
from storage.uow import Database
from surveys.appraisal.kpi import KpiImportError, KpiRow, import_kpi_file, import_kpis
from surveys.people.units import import_units
from tests.conftest import TEST_UNITS

KPIS = {"waste_collection_rate", "permits_on_time"}
FIRST = ("unit,period,kpi,value\n"
         "V1,2026-Q4,waste_collection_rate,92.5\n"
         "V2,2026-Q4,waste_collection_rate,81\n"
         "V1,2026-Q4,permits_on_time,0.9\n")


async def units(db: Database) -> None:
    async with db.transaction() as uow:
        await import_units(uow, TEST_UNITS, actor="test")


def write(tmp_path: Path, text: str, name: str = "kpis.csv", bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8-sig" if bom else "utf-8"))
    return path


async def stored(db: Database) -> dict[tuple[str, str, str], tuple[float, str]]:
    async with db.reading() as uow:
        codes = {unit.id: unit.code for unit in await uow.units.all()}
        rows = (await uow.session.scalars(select(KpiValue))).all()
        return {(codes[v.unit_id], v.period, v.kpi): (v.value, v.source) for v in rows}


async def events(db: Database, prefix: str = "kpi.") -> list[AuditEvent]:
    async with db.reading() as uow:
        return list((await uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action.startswith(prefix))
            .order_by(AuditEvent.id))).all())


async def test_import_then_reimport_updates_with_audit(db: Database, tmp_path: Path) -> None:
    await units(db)
    first = write(tmp_path, FIRST, bom=True)
    report = await import_kpi_file(db, first, KPIS, actor="cli")
    assert (report.inserted, report.updated, report.unchanged) == (3, 0, 0)
    assert report.periods == ("2026-Q4",)
    digest = hashlib.sha256(first.read_bytes()).hexdigest()
    assert report.sha256 == digest
    values = await stored(db)
    assert values[("V1", "2026-Q4", "waste_collection_rate")] == (
        92.5, f"kpis.csv sha256:{digest}")
    assert len(values) == 3
    [imported] = await events(db)
    assert (imported.action, imported.entity, imported.entity_id) == (
        "kpi.import", "kpi_file", digest)
    assert imported.after == {
        "file": "kpis.csv", "sha256": digest, "rows": 3, "inserted": 3, "updated": 0,
        "unchanged": 0, "periods": ["2026-Q4"],
        "kpis": ["permits_on_time", "waste_collection_rate"]}

    # A corrected file: one value changes, one stays, one is new (another period).
    second = write(tmp_path, "unit,period,kpi,value\n"
                             "V1,2026-Q4,waste_collection_rate,95\n"
                             "V2,2026-Q4,waste_collection_rate,81.0\n"
                             "V1,2027-Q1,waste_collection_rate,70\n", name="fixed.csv")
    report = await import_kpi_file(db, second, KPIS, actor="admin")
    assert (report.inserted, report.updated, report.unchanged) == (1, 1, 1)
    assert report.periods == ("2026-Q4", "2027-Q1")
    [change] = report.changes
    assert (change.unit, change.period, change.kpi, change.before, change.after, change.line) == (
        "V1", "2026-Q4", "waste_collection_rate", 92.5, 95.0, 2)
    digest2 = hashlib.sha256(second.read_bytes()).hexdigest()
    values = await stored(db)
    assert values[("V1", "2026-Q4", "waste_collection_rate")] == (
        95.0, f"fixed.csv sha256:{digest2}")
    # Unchanged values keep the file they came from.
    assert values[("V2", "2026-Q4", "waste_collection_rate")] == (
        81.0, f"kpis.csv sha256:{digest}")
    assert values[("V1", "2027-Q1", "waste_collection_rate")][0] == 70.0
    logged = await events(db)
    assert [e.action for e in logged] == ["kpi.import", "kpi.import", "kpi.update"]
    update = logged[2]
    assert (update.actor, update.entity, update.entity_id) == ("admin", "kpi_file", digest2)
    assert update.before == {"values": [
        {"unit": "V1", "period": "2026-Q4", "kpi": "waste_collection_rate", "value": 92.5,
         "source": f"kpis.csv sha256:{digest}"}]}
    assert update.after == {"file": "fixed.csv", "sha256": digest2, "values": [
        {"unit": "V1", "period": "2026-Q4", "kpi": "waste_collection_rate", "value": 95.0,
         "line": 2}]}
    assert logged[1].after is not None and logged[1].after["updated"] == 1

    # The same file again changes nothing but is still recorded as imported.
    report = await import_kpi_file(db, second, KPIS, actor="admin")
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 3)
    assert [e.action for e in await events(db)][-1] == "kpi.import"
    async with db.reading() as uow:
        assert await uow.audit.verify() is None


@pytest.mark.parametrize(("text", "expected"), [
    ("unit,kpi\nV1,waste_collection_rate\n", "header missing column(s) period, value"),
    ("unit,period,kpi,value\nV1,2026-Q4,waste_collection_rate,95\n"
     "V9,2026-Q4,waste_collection_rate,95\n", "line 3: unknown unit 'V9'"),
    ("unit,period,kpi,value\nV1,2026-Q4,waste_collection_rate,95\n"
     "V2,2026-Q4,waste_collection_rate,ninety\n", "line 3: value 'ninety' is not a number"),
    ("unit,period,kpi,value\nV1,2026-Q4,waste_collection_rate,95\n"
     "V1,2026-Q4,waste_collection_rate,96\n", "(lines 2 and 3)"),
])
async def test_bad_file_leaves_the_table_unchanged(db: Database, tmp_path: Path, text: str,
                                                   expected: str) -> None:
    await units(db)
    await import_kpi_file(db, write(tmp_path, FIRST), KPIS, actor="cli")
    before, logged = await stored(db), len(await events(db, ""))
    with pytest.raises(KpiImportError) as caught:
        await import_kpi_file(db, write(tmp_path, text, name="bad.csv"), KPIS, actor="cli")
    assert any(expected in issue for issue in caught.value.issues), caught.value.issues
    assert all(issue.startswith("bad.csv") for issue in caught.value.issues)
    assert await stored(db) == before
    assert len(await events(db, "")) == logged


async def test_unreadable_files(db: Database, tmp_path: Path) -> None:
    await units(db)
    with pytest.raises(KpiImportError, match="no such file"):
        await import_kpi_file(db, tmp_path / "missing.csv", KPIS, actor="cli")
    binary = tmp_path / "kpis.xlsx"
    binary.write_bytes(b"PK\x03\x04" + bytes(range(256)))
    with pytest.raises(KpiImportError, match="Excel workbook"):
        await import_kpi_file(db, binary, KPIS, actor="cli")
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("unit,period,kpi,value\n柳树村,2026-Q4,x,1\n".encode("gbk"))
    with pytest.raises(KpiImportError, match="not UTF-8"):
        await import_kpi_file(db, gbk, KPIS, actor="cli")
    assert await stored(db) == {}


async def test_failure_later_in_the_transaction_writes_nothing(db: Database) -> None:
    """The use case writes inside the caller's transaction: if anything after it fails, its
    inserts, updates and audit events are rolled back together."""
    await units(db)
    now = datetime.now(UTC)
    async with db.transaction() as uow:
        await import_kpis(uow, [KpiRow("V1", "2026-Q4", "permits_on_time", 1.0, 2)], "a.csv",
                          "cli", now, sha256="a" * 64)
    rows = [KpiRow("V1", "2026-Q4", "permits_on_time", 2.0, 2),
            KpiRow("V2", "2026-Q4", "permits_on_time", 3.0, 3)]
    with pytest.raises(RuntimeError):
        async with db.transaction() as uow:
            report = await import_kpis(uow, rows, "b.csv", "cli", now, sha256="b" * 64)
            assert (report.inserted, report.updated) == (1, 1)
            raise RuntimeError("something after the import failed")
    assert await stored(db) == {("V1", "2026-Q4", "permits_on_time"):
                                (1.0, f"a.csv sha256:{'a' * 64}")}
    assert [e.action for e in await events(db)] == ["kpi.import"]


async def test_rows_for_units_not_stored_are_rejected(db: Database) -> None:
    await units(db)
    rows = [KpiRow("V1", "2026-Q4", "permits_on_time", 1.0, 2),
            KpiRow("GONE", "2026-Q4", "permits_on_time", 1.0, 3),
            KpiRow("V1", "2026-Q4", "permits_on_time", 2.0, 4)]
    with pytest.raises(KpiImportError) as caught:
        async with db.transaction() as uow:
            await import_kpis(uow, rows, "x.csv", "cli", datetime.now(UTC))
    assert caught.value.issues == [
        "x.csv line 3: unknown unit 'GONE'",
        "x.csv line 4: unit V1, period 2026-Q4, kpi permits_on_time is given twice "
        "(lines 2 and 4)"]
    assert await stored(db) == {}
