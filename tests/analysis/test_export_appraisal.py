"""Exporting a period's appraisal to CSV and XLSX, read back with csv and openpyxl."""

from __future__ import annotations

import csv
import io
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from storage.models import AppraisalRun, AppraisalStatus
from storage.uow import Database
from surveys.appraisal.exports import ExportError, export_appraisal
from surveys.people.units import import_units
from tests.conftest import TEST_UNITS

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # only a library notice, if any
    from openpyxl import load_workbook

AT = datetime(2027, 1, 5, 9, 0, tzinfo=UTC)


def component(cid: str, source: str, score: float | None, n: int, weight: float,
              interval: list[float] | None = None, note: str | None = None) -> dict[str, Any]:
    return {"id": cid, "label": cid.replace("_", " ").title(), "source": source,
            "weight": weight, "used_weight": weight if score is not None else 0.0, "n": n,
            "raw_mean": None if score is None else score / 25 + 1, "score": score,
            "interval": interval, "note": note}


def detail(name: str, code: str, unit_name: str, unit_type: str, score: float | None,
           grade: str | None, status: str, rank: int | None, responses: int,
           components: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"name": name, "unit_code": code, "unit_name": unit_name, "unit_type": unit_type,
            "score": score, "grade": grade, "status": status, "rank": rank, "ranked": 2,
            "responses": responses, "min_responses": 10, "components": components,
            "excluded": extra.get("excluded", {}), "excluded_total": extra.get("excluded_total", 0),
            "others_view": extra.get("others_view"), "self_view": extra.get("self_view"),
            "exaggeration": extra.get("exaggeration", False),
            "recognition": extra.get("recognition", False),
            "training": extra.get("training", []), "themes": [], "themes_note": None,
            "explanation": extra.get("explanation", f"{name}: score {score}")}


async def seed(db: Database, status: AppraisalStatus = AppraisalStatus.PUBLISHED,
               version: int = 1, period: str = "2026-Q4") -> int:
    """Two villages (one graded with a KPI component, one with too few responses) and a cadre
    with a Chinese name, stored through the repositories."""
    async with db.transaction() as uow:
        if await uow.units.by_code("V1") is None:
            await import_units(uow, TEST_UNITS, actor="test")
        v1, v2 = await uow.units.by_code("V1"), await uow.units.by_code("V2")
        assert v1 is not None and v2 is not None
        contact = await uow.contacts.get_or_create(900, 900)
        cadre = (await uow.people.by_contact(contact.id)
                 or await uow.people.create("王小明", contact))
        run = await uow.appraisal.add_run(AppraisalRun(
            period=period, version=version, status=status, computed_at=AT, computed_by="cli",
            published_at=AT if status == AppraisalStatus.PUBLISHED else None,
            published_by="cli" if status == AppraisalStatus.PUBLISHED else None,
            config_hash="c" * 64, results_hash="r" * 64,
            summary={"responses": 57, "excluded": {"too_fast": 3}}))
        graded = [component("satisfaction", "residents", 81.25, 45, 0.6, [74.0, 88.5]),
                  component("waste_collection", "kpi", 85.0, 1, 0.4)]
        training = [{"id": "residents", "en": "Working with residents", "zh": "群众工作方法"},
                    {"id": "projects", "en": "Project management", "zh": "项目管理"}]
        await uow.appraisal.add_results([
            {"run_id": run.id, "kind": "cadre", "unit_id": v1.id, "person_id": cadre.id,
             "status": "graded", "score": 79.123456, "grade": "good", "rank": 1,
             "responses": 45, "recognition": False, "exaggeration": True,
             "detail": detail("王小明", "V1", "Willow Village", "village", 79.123456, "good",
                              "graded", 1, 45, graded, self_view=100.0, others_view=79.1,
                              exaggeration=True, training=training,
                              explanation="=HYPERLINK(\"http://x\") 居民满意度 81")},
            {"run_id": run.id, "kind": "unit", "unit_id": v2.id, "person_id": None,
             "status": "not_enough_responses", "score": None, "grade": None, "rank": None,
             "responses": 4, "recognition": False, "exaggeration": False,
             "detail": detail("Pine Village", "V2", "Pine Village", "village", None, None,
                              "not_enough_responses", None, 4,
                              [component("satisfaction", "residents", None, 4, 0.6,
                                         note="fewer than 10 responses")],
                              excluded={"too_fast": 3}, excluded_total=3)},
            {"run_id": run.id, "kind": "unit", "unit_id": v1.id, "person_id": None,
             "status": "graded", "score": 82.5, "grade": "good", "rank": 1, "responses": 45,
             "recognition": True, "exaggeration": False,
             "detail": detail("Willow Village", "V1", "Willow Village", "village", 82.5,
                              "good", "graded", 1, 45, graded, recognition=True)},
        ])
        return run.id


def read_csv(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for Chinese
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


async def test_csv(db: Database) -> None:
    await seed(db)
    out = io.BytesIO()
    async with db.reading() as uow:
        assert await export_appraisal(uow, "2026-q4", "csv", out) == 3
    rows = read_csv(out.getvalue())
    assert list(rows[0])[:21] == [
        "period", "version", "run_status", "kind", "unit_code", "unit_name", "cadre", "status",
        "score", "grade", "rank", "ranked", "responses", "min_responses", "excluded_total",
        "recognition", "exaggeration", "self_view", "others_view", "training", "training_zh"]
    assert list(rows[0])[21:] == ["satisfaction_score", "satisfaction_n",
                                  "waste_collection_score", "waste_collection_n",
                                  "explanation"]
    # Units first (ranked before unranked), then cadres.
    assert [(r["kind"], r["unit_code"]) for r in rows] == [
        ("unit", "V1"), ("unit", "V2"), ("cadre", "V1")]
    willow, pine, cadre = rows
    assert willow["period"] == "2026-Q4" and willow["version"] == "1"
    assert willow["run_status"] == "published" and willow["recognition"] == "yes"
    assert willow["score"] == "82.5" and willow["waste_collection_score"] == "85.0"
    assert willow["cadre"] == ""
    assert pine["status"] == "not_enough_responses" and pine["score"] == ""
    assert pine["rank"] == "" and pine["excluded_total"] == "3"
    assert pine["waste_collection_score"] == "" and pine["satisfaction_n"] == "4"
    assert cadre["cadre"] == "王小明" and cadre["unit_name"] == "Willow Village"
    assert cadre["score"] == "79.12" and cadre["exaggeration"] == "yes"
    assert cadre["self_view"] == "100.0" and cadre["others_view"] == "79.1"
    assert cadre["training"] == "Working with residents; Project management"
    assert cadre["training_zh"] == "群众工作方法; 项目管理"
    # Text that would start a formula is defused.
    assert cadre["explanation"] == "'=HYPERLINK(\"http://x\") 居民满意度 81"


async def test_xlsx(db: Database, tmp_path: Path) -> None:
    await seed(db)
    path = tmp_path / "appraisal.xlsx"
    async with db.reading() as uow:
        assert await export_appraisal(uow, "2026-Q4", "xlsx", path) == 3
    book = load_workbook(path, read_only=False)
    assert book.sheetnames == ["results", "components", "run"]
    results = book["results"]
    assert results.freeze_panes == "A2"
    header = [c.value for c in results[1]]
    rows = [dict(zip(header, (c.value for c in row), strict=True))
            for row in results.iter_rows(min_row=2)]
    assert [(r["kind"], r["unit_code"]) for r in rows] == [
        ("unit", "V1"), ("unit", "V2"), ("cadre", "V1")]
    willow, pine, cadre = rows
    assert willow["score"] == 82.5 and isinstance(willow["score"], float)
    assert willow["rank"] == 1 and willow["responses"] == 45 and willow["recognition"] is True
    assert willow["satisfaction_n"] == 45 and willow["waste_collection_score"] == 85.0
    assert pine["score"] is None and pine["waste_collection_n"] is None
    assert willow["cadre"] is None  # blank, not an empty text
    assert cadre["cadre"] == "王小明" and cadre["score"] == 79.12
    assert cadre["exaggeration"] is True
    # A formula-looking text is a string cell, never a formula.
    explanation = results.cell(row=4, column=header.index("explanation") + 1)
    assert explanation.data_type == "s"
    assert explanation.value == "'=HYPERLINK(\"http://x\") 居民满意度 81", "prefixed, as in CSV"

    components = book["components"]
    assert components.freeze_panes == "A2"
    cheader = [c.value for c in components[1]]
    parts = [dict(zip(cheader, (c.value for c in row), strict=True))
             for row in components.iter_rows(min_row=2)]
    assert len(parts) == 5  # two for each village result and cadre, one for Pine
    first = parts[0]
    assert (first["unit_code"], first["component"], first["source"]) == (
        "V1", "satisfaction", "residents")
    assert first["weight"] == 0.6 and first["n"] == 45
    assert (first["interval_low"], first["interval_high"]) == (74.0, 88.5)
    pine_part = next(p for p in parts if p["unit_code"] == "V2")
    assert pine_part["score"] is None and pine_part["note"] == "fewer than 10 responses"

    run = {row[0].value: row[1].value for row in book["run"].iter_rows(min_row=2)}
    assert run["version"] == 1 and run["status"] == "published"
    assert run["results_hash"] == "r" * 64
    assert run["published_at"] == AT.isoformat()
    assert '"too_fast": 3' in run["summary"]


async def test_xlsx_to_a_stream(db: Database) -> None:
    await seed(db)
    out = io.BytesIO()
    async with db.reading() as uow:
        assert await export_appraisal(uow, "2026-Q4", "xlsx", out) == 3
    out.seek(0)
    assert load_workbook(out).sheetnames == ["results", "components", "run"]


async def test_no_published_run(db: Database, tmp_path: Path) -> None:
    async with db.reading() as uow:
        with pytest.raises(ExportError, match=r"no appraisal for 2026-Q4; run `civicpulse "
                                              r"appraisal run --period 2026-Q4` first"):
            await export_appraisal(uow, "2026-Q4", "csv", io.BytesIO())
    await seed(db, status=AppraisalStatus.DRAFT)
    path = tmp_path / "out.csv"
    async with db.reading() as uow:
        with pytest.raises(ExportError) as caught:
            await export_appraisal(uow, "2026-Q4", "csv", path)
    assert str(caught.value) == (
        "no published appraisal for 2026-Q4; run `civicpulse appraisal publish --period "
        "2026-Q4` (or export an unpublished run with --version N; versions: 1 draft)")
    assert not path.exists()  # no empty file left behind
    # A draft can still be checked by asking for its version.
    out = io.BytesIO()
    async with db.reading() as uow:
        assert await export_appraisal(uow, "2026-Q4", "csv", out, version=1) == 3
    assert {r["run_status"] for r in read_csv(out.getvalue())} == {"draft"}


async def test_published_run_is_chosen_and_versions_can_be_named(db: Database) -> None:
    await seed(db, status=AppraisalStatus.SUPERSEDED, version=1)
    await seed(db, status=AppraisalStatus.PUBLISHED, version=2)
    await seed(db, status=AppraisalStatus.DRAFT, version=3)
    await seed(db, status=AppraisalStatus.PUBLISHED, version=1, period="2026-Q3")
    out = io.BytesIO()
    async with db.reading() as uow:
        await export_appraisal(uow, "2026-Q4", "csv", out)
    assert {(r["version"], r["run_status"]) for r in read_csv(out.getvalue())} == {
        ("2", "published")}
    out = io.BytesIO()
    async with db.reading() as uow:
        await export_appraisal(uow, "2026-Q4", "csv", out, version=1)
    assert {(r["version"], r["run_status"]) for r in read_csv(out.getvalue())} == {
        ("1", "superseded")}
    async with db.reading() as uow:
        with pytest.raises(ExportError, match=r"no version 7 of the 2026-Q4 appraisal "
                                              r"\(versions: 1 superseded, 2 published, "
                                              r"3 draft\)"):
            await export_appraisal(uow, "2026-Q4", "csv", io.BytesIO(), version=7)


async def test_bad_period_and_format(db: Database) -> None:
    async with db.reading() as uow:
        with pytest.raises(ExportError, match="the quarter must be Q1 to Q4"):
            await export_appraisal(uow, "2026-Q7", "csv", io.BytesIO())
        with pytest.raises(ExportError, match="unknown format 'pdf'"):
            await export_appraisal(uow, "2026-Q4", "pdf", io.BytesIO())  # type: ignore[arg-type]


async def test_a_run_with_no_results_exports_a_header(db: Database) -> None:
    async with db.transaction() as uow:
        await uow.appraisal.add_run(AppraisalRun(
            period="2026", version=1, status=AppraisalStatus.PUBLISHED, computed_at=AT,
            computed_by="cli", published_at=AT, published_by="cli", config_hash="c" * 64,
            results_hash="r" * 64, summary={}))
    out = io.BytesIO()
    async with db.reading() as uow:
        assert await export_appraisal(uow, "2026", "csv", out) == 0
    assert out.getvalue().decode("utf-8-sig").splitlines()[0].startswith("period,version,")
    xlsx = io.BytesIO()
    async with db.reading() as uow:
        assert await export_appraisal(uow, "2026", "xlsx", xlsx) == 0
    xlsx.seek(0)
    assert load_workbook(xlsx)["results"].max_row == 1


async def seed_formulas(db: Database) -> None:
    """A cadre whose stored texts each start like a formula, with a negative number."""
    async with db.transaction() as uow:
        await import_units(uow, TEST_UNITS, actor="test")
        v1 = await uow.units.by_code("V1")
        assert v1 is not None
        contact = await uow.contacts.get_or_create(901, 901)
        cadre = await uow.people.create("-Li", contact)
        run = await uow.appraisal.add_run(AppraisalRun(
            period="2026-Q4", version=1, status=AppraisalStatus.PUBLISHED, computed_at=AT,
            computed_by="@cli", published_at=AT, published_by="+admin", config_hash="c",
            results_hash="r", summary={}))
        parts = [component("satisfaction", "residents", 60.0, 12, 1.0, note="\t=1+2")]
        parts[0]["label"] = "\r=3+4"
        await uow.appraisal.add_results([
            {"run_id": run.id, "kind": "cadre", "unit_id": v1.id, "person_id": cadre.id,
             "status": "graded", "score": 60.0, "grade": "fair", "rank": 1, "responses": 12,
             "recognition": False, "exaggeration": False,
             "detail": detail("-Li", "V1", "+Willow", "village", 60.0, "fair", "graded", 1, 12,
                              parts, self_view=-5.5, training=[{"id": "x", "en": "@SUM(A1)",
                                                                "zh": "=1"}],
                              explanation='=HYPERLINK("http://evil.example","click")')},
        ])


PREFIXED = {"cadre": "'-Li", "unit_name": "'+Willow", "training": "'@SUM(A1)",
            "training_zh": "'=1", "explanation": '\'=HYPERLINK("http://evil.example","click")'}


async def test_every_text_cell_starting_like_a_formula_is_prefixed_numbers_stay_numbers(
    db: Database, tmp_path: Path,
) -> None:
    await seed_formulas(db)
    out = io.BytesIO()
    async with db.reading() as uow:
        await export_appraisal(uow, "2026-Q4", "csv", out)
    [row] = read_csv(out.getvalue())
    assert {key: row[key] for key in PREFIXED} == PREFIXED
    assert row["self_view"] == "-5.5", "a negative number is a number, not text"

    path = tmp_path / "formulas.xlsx"
    async with db.reading() as uow:
        await export_appraisal(uow, "2026-Q4", "xlsx", path)
    book = load_workbook(path)
    sheet = book["results"]
    header = [c.value for c in sheet[1]]
    cells = dict(zip(header, sheet[2], strict=True))
    assert {key: cells[key].value for key in PREFIXED} == PREFIXED
    assert all(cells[key].data_type == "s" for key in PREFIXED)
    assert cells["self_view"].value == -5.5 and cells["self_view"].data_type == "n"
    components = book["components"]
    cheader = [c.value for c in components[1]]
    part = dict(zip(cheader, (c.value for c in components[2]), strict=True))
    # XML reads a carriage return back as a newline; the prefix is what matters.
    assert (part["label"], part["note"]) == ("'\n=3+4", "'\t=1+2")
    run = {r[0].value: r[1].value for r in book["run"].iter_rows(min_row=2)}
    assert (run["computed_by"], run["published_by"]) == ("'@cli", "'+admin")
    for sheet in book.worksheets:
        for line in sheet.iter_rows():
            for cell in line:
                assert not (isinstance(cell.value, str)
                            and cell.value.startswith(("=", "+", "-", "@", "\t", "\r"))), (
                    sheet.title, cell.coordinate, cell.value)
