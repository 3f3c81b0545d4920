"""Unit files: CSV and YAML parsing, tree checks with line numbers, parents-first order, and
the optional unit centres (latitude, longitude, radius_km) as checked and imported."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.models import AuditEvent
from storage.uow import Database
from surveys.people.units import (
    UnitFileError,
    UnitFormat,
    UnitRow,
    check_tree,
    import_units,
    load_units,
    parse_units,
)

CSV = textwrap.dedent(
    """\
    code,name,parent,type,population
    V1,Willow Village,T1,village,1200
    C1,Riverside County,,county,"100,000"
    T1,North Township,C1,township,
    D1,Roads Department,C1,department,
    """
)

YAML = textwrap.dedent(
    """\
    units:
      - code: C1
        name: Riverside County
        type: county
        population: 100000
      - code: "0101"
        name: 东湖村
        parent: C1
        type: village
        population: 1,450
      - {code: 0102, name: 西湖村, parent: C1, type: village}
    """
)


def issues_of(
    text: str,
    fmt: UnitFormat | None = None,
    existing: Mapping[str, str | None] | None = None,
) -> list[str]:
    with pytest.raises(UnitFileError) as info:
        load_units(text, existing, fmt, name="units.csv" if fmt != "yaml" else "units.yaml")
    return info.value.issues


def codes(rows: list[UnitRow]) -> list[str]:
    return [r.code for r in rows]


# --- parsing -------------------------------------------------------------------------------


def test_csv_rows_and_lines() -> None:
    rows = parse_units(CSV, name="units.csv")
    assert rows[0] == UnitRow("V1", "Willow Village", "T1", "village", 1200, 2, "units.csv")
    assert rows[1].population == 100_000  # thousands separator from a spreadsheet
    assert rows[2].population is None and rows[2].parent == "C1"
    assert [r.line for r in rows] == [2, 3, 4, 5]


def test_load_orders_parents_first() -> None:
    assert codes(load_units(CSV)) == ["C1", "T1", "V1", "D1"]


def test_yaml_keeps_codes_as_text() -> None:
    rows = parse_units(YAML, name="units.yaml")
    assert codes(rows) == ["C1", "0101", "0102"]  # an unquoted 0102 is not the octal number 66
    assert [r.line for r in rows] == [2, 6, 11]
    assert rows[1].name == "东湖村" and rows[1].population == 1450


def test_yaml_plain_list() -> None:
    text = "- {code: A, name: A, type: county}\n- {code: B, name: B, parent: A, type: town}\n"
    assert codes(parse_units(text)) == ["A", "B"]
    assert parse_units(text)[0].parent is None


@pytest.mark.parametrize("parent", ["", "~", "null"])
def test_yaml_empty_parent(parent: str) -> None:
    text = f"- {{code: A, name: A, type: county, parent: {parent}}}\n"
    assert parse_units(text, "yaml")[0].parent is None


def test_files_by_path_and_by_name(tmp_path: Path) -> None:
    csv_file = tmp_path / "units.csv"
    csv_file.write_text(CSV, encoding="utf-8")
    yaml_file = tmp_path / "units.yml"
    yaml_file.write_text(YAML, encoding="utf-8")
    assert codes(parse_units(csv_file)) == codes(parse_units(str(csv_file)))
    assert parse_units(csv_file)[0].source == str(csv_file)
    assert codes(parse_units(yaml_file)) == ["C1", "0101", "0102"]
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + CSV.encode("utf-8"))
    assert codes(parse_units(bom))[0] == "V1"


def test_a_file_in_another_encoding_is_refused_with_the_line_not_guessed(
    tmp_path: Path,
) -> None:
    # Latin-1 (a spreadsheet saved on a Western-locale Windows machine): once decoded as
    # GB18030, "Zürich" became "Z黵ich".
    latin = tmp_path / "latin.csv"
    latin.write_bytes("code,name,type\nC1,Canton,county\nZ1,Zürich,city\n".encode("latin-1"))
    with pytest.raises(UnitFileError) as caught:
        parse_units(latin)
    assert caught.value.issues == [
        f"{latin} line 3: byte 0xFC is not UTF-8 (invalid start byte): it looks like Latin-1 "
        "or Windows-1252; save the file as 'CSV UTF-8 (comma delimited)' (or UTF-8 text) and "
        "import it again"]
    # GB18030/GBK (a Chinese-locale Windows machine): refused too, and said so.
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("code,name,type\nC1,河西县,county\n".encode("gb18030"))
    with pytest.raises(UnitFileError, match=r"gbk.csv line 2: byte 0x\w\w is not UTF-8 "
                       r"\(invalid start byte\): it looks like GBK/GB18030; save"):
        parse_units(gbk)
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes("code,name,type\nC1,河西县,county\n".encode("utf-16"))
    with pytest.raises(UnitFileError, match=r"utf16\.csv line 1: the file is UTF-16 text"):
        parse_units(utf16)
    nul = tmp_path / "nul.csv"
    nul.write_bytes(b"code,name,type\nC1,County,county\nT1,To\x00wn,township\n")
    with pytest.raises(UnitFileError, match=r"nul\.csv line 3: binary data"):
        parse_units(nul)


def test_names_are_cleaned_by_the_rule_for_typed_text() -> None:
    with pytest.raises(UnitFileError, match="line 3: missing name"):
        parse_units("code,name,type\nC1,Cafe\u0301\u200b,county\nC2,\u200b\u200d,county\n",
                    "csv")
    [row] = parse_units("code,name,type\nC1,Cafe\u0301 \x1bTown\u200b,county\n", "csv")
    assert row.name == "Café Town"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UnitFileError, match="no such file"):
        parse_units(tmp_path / "nope.csv")


def test_optional_columns_may_be_omitted_and_blank_lines_skipped() -> None:
    rows = parse_units("code,name,type\n\nC1,County,county\n\nT1,Town,township\n", "csv")
    assert [(r.code, r.parent, r.population, r.line) for r in rows] == [
        ("C1", None, None, 3), ("T1", None, None, 5),
    ]


def test_csv_line_numbers_count_multiline_fields() -> None:
    text = 'code,name,parent,type,population\nC1,"Riverside\nCounty",,county,\nT1,Town,C9,t,\n'
    assert issues_of(text) == ["units.csv line 4: parent 'C9' is not defined"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the file is empty"),
        ("code,name\nC1,x\n", "missing column(s) type"),
        ("code,name,type,colour\n", "unknown column(s) colour"),
        ("code,name,type,name\n", "repeated column(s) name"),
        ("code,name,type\nC1,County\n", "units.csv line 2: expected 3 values, found 2"),
        ("code,name,type\n", "lists no units"),
    ],
)
def test_csv_structure_problems(text: str, expected: str) -> None:
    assert any(expected in issue for issue in issues_of(text, "csv"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: [unclosed\n", "invalid YAML at line"),
        ("code: C1\n", "expected a list of units"),
        ("- just text\n", "unit #1 must be a mapping"),
        ("- {code: A, code: B, name: x, type: y}\n", "duplicate key 'code'"),
        ("- {code: A, name: x, type: y, colour: red}\n", "line 1: unknown column 'colour'"),
        ("- {code: A, name: [x, y], type: y}\n", "line 1: name must be a single value"),
    ],
)
def test_yaml_structure_problems(text: str, expected: str) -> None:
    assert any(expected in issue for issue in issues_of(text, "yaml"))


# --- tree checks ---------------------------------------------------------------------------


def test_unknown_parent() -> None:
    text = CSV + "X1,Orphan,X9,village,\n"
    assert issues_of(text) == ["units.csv line 6: parent 'X9' is not defined"]


def test_parent_known_in_the_database() -> None:
    rows = load_units("code,name,parent,type\nV9,New Village,T1,village\n", existing={"T1": "C1"})
    assert codes(rows) == ["V9"]


def test_duplicate_codes() -> None:
    text = CSV + "T1,Another Township,C1,township,\n"
    assert issues_of(text) == [
        "units.csv line 6: code 'T1' is defined more than once (first on line 4)"
    ]


def test_cycle_in_the_file() -> None:
    text = "code,name,parent,type\nA,A,C,x\nB,B,A,x\nC,C,B,x\nD,D,C,x\n"
    assert issues_of(text) == ["units.csv line 2: parent cycle A → C → B → A"]


def test_own_parent() -> None:
    text = "code,name,parent,type\nA,A,A,x\n"
    assert issues_of(text) == ["units.csv line 2: unit 'A' cannot be its own parent"]


def test_cycle_through_existing_units() -> None:
    # Stored: T1 under C1. The file moves C1 under a new village V9 that sits under T1.
    text = "code,name,parent,type\nC1,County,V9,county\nV9,Village,T1,village\n"
    issues = issues_of(text, existing={"C1": None, "T1": "C1"})
    assert issues == ["units.csv line 2: parent cycle C1 → V9 → T1 → C1"]


def test_a_cycle_among_stored_units_is_reported_at_the_row_that_hangs_on_it() -> None:
    text = "code,name,parent,type\nN1,New,E1,x\n"
    issues = issues_of(text, existing={"E1": "E2", "E2": "E1"})
    assert issues == ["units.csv line 2: parent chain of 'N1' runs into the stored cycle "
                      "E1 → E2 → E1"]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("A,A,,x,-3", "population -3 must not be negative"),
        ("A,A,,x,2147483648", "population '2147483648' is more than 2147483647"),
        ("A,A,,x,1e10000000", "population '1e10000000' is more than 2147483647"),
        ("A,A,,x,12.5", "population '12.5' is not a whole number"),
        ("A,A,,x,many", "population 'many' is not a whole number"),
        ("A,,,x,", "missing name"),
        ("A,A,,,", "missing type"),
        (",A,,x,", "missing code"),
        ("A B,A,,x,", "code 'A B' is not valid"),
        ("-A,A,,x,", "code '-A' is not valid"),
    ],
)
def test_row_problems_with_line_numbers(row: str, expected: str) -> None:
    text = "code,name,parent,type,population\nOK,Fine,,county,\n" + row + "\n"
    issues = issues_of(text)
    assert len(issues) == 1
    assert issues[0].startswith(f"units.csv line 3: {expected}")


def test_population_forms() -> None:
    text = "code,name,type,population\nA,A,x,1 200\nB,B,x,12.0\nC,C,x,+5\nD,D,x,1_000\n"
    assert [r.population for r in parse_units(text)] == [1200, 12, 5, 1000]
    # The largest the column holds.
    assert [r.population for r in parse_units("code,name,type,population\nA,A,x,2147483647\n")
            ] == [2**31 - 1]


def test_every_problem_is_reported_at_once() -> None:
    text = CSV + "T1,Dup,C1,township,\nX1,Orphan,X9,village,-1\nY1,,Y1,,\n"
    issues = issues_of(text)
    assert issues == [
        "units.csv line 6: code 'T1' is defined more than once (first on line 4)",
        "units.csv line 7: population -1 must not be negative",
        "units.csv line 7: parent 'X9' is not defined",
        "units.csv line 8: missing name",
        "units.csv line 8: missing type",
        "units.csv line 8: unit 'Y1' cannot be its own parent",
    ]


def test_parse_units_reports_row_problems_but_leaves_the_tree_to_check_tree() -> None:
    # An unknown parent may exist in the database, so parse_units accepts it...
    rows = parse_units("code,name,parent,type\nV9,Village,T1,village\n", name="units.csv")
    # ...and check_tree, which knows the database, rejects it.
    with pytest.raises(UnitFileError) as info:
        check_tree(rows, {})
    assert info.value.issues == ["units.csv line 2: parent 'T1' is not defined"]
    with pytest.raises(UnitFileError, match=r"units\.csv line 2: missing type"):
        parse_units("code,name,parent,type\nV9,Village,T1,\n", name="units.csv")


def test_check_tree_on_rows_built_in_code() -> None:
    rows = [
        UnitRow("V1", "Village", "T1", "village", 10, 3),
        UnitRow("T1", "Town", "C1", "township", None, 2),
        UnitRow("C1", "County", None, "county", 1000, 1),
        UnitRow("X", "Other", "C1", "village", None, 4),
    ]
    assert codes(check_tree(rows)) == ["C1", "T1", "V1", "X"]
    loop = [UnitRow("A", "A", "B", "x", None, 7), UnitRow("B", "B", "A", "x", None, 8)]
    with pytest.raises(UnitFileError) as info:
        check_tree(loop, source="units.yaml")
    assert info.value.issues == ["units.yaml line 7: parent cycle A → B → A"]
    assert str(info.value) == "units.yaml line 7: parent cycle A → B → A"


def test_existing_units_can_be_updated() -> None:
    rows = load_units("code,name,parent,type\nT1,Renamed Town,C1,township\n",
                      existing={"C1": None, "T1": "C1", "V1": "T1"})
    assert codes(rows) == ["T1"]


def test_yaml_alias_bombs_are_refused() -> None:
    lines = ['- &l0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 8):
        lines.append(f"- &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]")
    issues = issues_of("\n".join(lines) + "\n", "yaml")
    assert issues == ["units.yaml: too much data once YAML aliases (*name) are expanded"]


# --- unit centres ----------------------------------------------------------------------------


def test_centres_in_csv_and_yaml() -> None:
    csv_text = ("code,name,parent,type,population,latitude,longitude,radius_km\n"
                "C1,County,,county,,30.0,120.0,25\n"
                "T1,Town,C1,township,,30.06,120.01,\n"
                "V1,Village,T1,village,,,,\n")
    rows = parse_units(csv_text, name="units.csv")
    assert [(r.latitude, r.longitude, r.radius_km) for r in rows] == [
        (30.0, 120.0, 25.0), (30.06, 120.01, None), (None, None, None),
    ]
    yaml_text = ("- {code: C1, name: County, type: county, latitude: -33.5, longitude: 151,"
                 " radius_km: 0.5}\n")
    [row] = parse_units(yaml_text, "yaml")
    assert (row.latitude, row.longitude, row.radius_km) == (-33.5, 151.0, 0.5)


def test_centre_columns_may_be_omitted() -> None:
    [row] = parse_units("code,name,type\nC1,County,county\n", "csv")
    assert (row.latitude, row.longitude, row.radius_km) == (None, None, None)


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ("north,120,", "latitude 'north' is not a number"),
        ("30,120E,", "longitude '120E' is not a number"),
        ("30,120,wide", "radius_km 'wide' is not a number"),
        ("nan,120,", "latitude 'nan' is not a number"),
        ("30,inf,", "longitude 'inf' is not a number"),
        ("90.5,120,", "latitude 90.5 is out of range (-90 to 90)"),
        ("-91,120,", "latitude -91 is out of range (-90 to 90)"),
        ("30,180.01,", "longitude 180.01 is out of range (-180 to 180)"),
        ("30,-200,", "longitude -200 is out of range (-180 to 180)"),
        ("30,120,0", "radius_km 0 must be greater than 0 and at most 5000"),
        ("30,120,-2", "radius_km -2 must be greater than 0 and at most 5000"),
        ("30,120,6000", "radius_km 6000 must be greater than 0 and at most 5000"),
        ("30,,", "latitude is given without longitude: give both, or neither"),
        (",120,5", "longitude is given without latitude: give both, or neither"),
        (",,5", "radius_km is given without latitude and longitude"),
    ],
)
def test_bad_centres_are_reported_with_line_numbers(cells: str, expected: str) -> None:
    text = ("code,name,parent,type,population,latitude,longitude,radius_km\n"
            "OK,Fine,,county,,30,120,10\n"
            f"A,A,,x,,{cells}\n")
    assert issues_of(text) == [f"units.csv line 3: {expected}"]


def test_bad_centres_in_yaml_name_their_line() -> None:
    text = ("- {code: C1, name: County, type: county}\n"
            "- code: T1\n  name: Town\n  parent: C1\n  type: township\n  latitude: 95\n"
            "  longitude: [120]\n")
    issues = issues_of(text, "yaml")
    assert issues == ["units.yaml line 2: longitude must be a single value, not a list or "
                      "mapping"]
    text = "- {code: C1, name: County, type: county, latitude: 95, longitude: 120}\n"
    assert issues_of(text, "yaml") == ["units.yaml line 1: latitude 95 is out of range "
                                       "(-90 to 90)"]


def test_centres_of_rows_built_in_code_are_checked() -> None:
    rows = [UnitRow("C1", "County", None, "county", None, 1, latitude=30.0),
            UnitRow("T1", "Town", "C1", "township", None, 2, latitude=30.0, longitude=120.0,
                    radius_km=float("nan"))]
    with pytest.raises(UnitFileError) as info:
        check_tree(rows, source="units.yaml")
    assert info.value.issues == [
        "units.yaml line 1: latitude is given without longitude: give both, or neither",
        "units.yaml line 2: radius_km nan is not a number",
    ]


async def test_import_stores_centres_and_audits_them(db: Database) -> None:
    text = ("code,name,parent,type,population,latitude,longitude,radius_km\n"
            "C1,County,,county,,30.0,120.0,25\n"
            "T1,Town,C1,township,,,,\n")
    async with db.transaction() as uow:
        summary = await import_units(uow, load_units(text, name="units.csv"), actor="test")
    assert (summary.created, summary.updated) == (2, 0)
    moved = text.replace("T1,Town,C1,township,,,,", "T1,Town,C1,township,,30.06,120.01,6")
    async with db.transaction() as uow:
        again = await import_units(uow, load_units(moved, name="units.csv"), actor="test")
        county, town = await uow.units.by_code("C1"), await uow.units.by_code("T1")
        assert county is not None and town is not None
        assert (county.latitude, county.longitude, county.radius_km) == (30.0, 120.0, 25.0)
        assert (town.latitude, town.longitude, town.radius_km) == (30.06, 120.01, 6.0)
        events = (await uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "unit.update"))).all()
    assert (again.created, again.updated, again.unchanged) == (0, 1, 1)
    [event] = events
    assert event.before is not None and event.after is not None
    assert (event.before["latitude"], event.before["radius_km"]) == (None, None)
    assert (event.after["latitude"], event.after["longitude"], event.after["radius_km"]) == (
        30.06, 120.01, 6.0)


async def test_a_province_is_imported_in_bulk_each_unit_audited_in_order(db: Database) -> None:
    """More units than one statement takes (5,000), new ones under new and stored parents,
    stored ones moved under new ones: the tree as the file says, and an intact chain with one
    event per created or changed unit, in the file's order."""
    townships = [UnitRow(f"T{i}", f"Town {i}", None, "township", None, 1) for i in range(3)]
    villages = [UnitRow(f"V{i}", f"Village {i}", f"T{i % 3}", "village", 100, 1, name_zh=f"{i}村")
                for i in range(6_000)]
    async with db.transaction() as uow:
        first = await import_units(uow, [UnitRow("C", "County", None, "county", None, 1),
                                          *[replace(r, parent="C") for r in townships],
                                          *villages], actor="test")
    assert (first.created, first.updated, first.unchanged) == (6_004, 0, 0)
    # A new township under the county; a hundred villages moved to it, one renamed.
    moved = [replace(r, parent="T9") if i % 60 == 0 else r for i, r in enumerate(villages)]
    moved[1] = UnitRow("V1", "Village one", "T1", "village", 100, 1, name_zh="1村")
    rows = [UnitRow("C", "County", None, "county", None, 1),
            *[replace(r, parent="C") for r in townships],
            UnitRow("T9", "Town 9", "C", "township", None, 1), *moved]
    async with db.transaction() as uow:
        again = await import_units(uow, rows, actor="test")
    assert (again.created, again.updated, again.unchanged) == (1, 101, 5_903)
    async with db.reading() as uow:
        parents = await uow.units.parents_by_code()
        assert await uow.audit.verify() is None, "the chain is intact"
        events = (await uow.session.execute(
            select(AuditEvent.action, AuditEvent.entity_id).order_by(AuditEvent.id))).all()
        one = await uow.units.by_code("V1")
    assert parents["V0"] == "T9" and parents["V60"] == "T9" and parents["V2"] == "T2"
    assert parents["T9"] == "C" and one is not None and one.name == "Village one"
    assert len(events) == 6_004 + 1 + 101
    assert [e.entity_id for e in events[:6]] == ["C", "T0", "T1", "T2", "V0", "V1"]
    assert events[6_004] == ("unit.create", "T9") and events[6_005] == ("unit.update", "V0")


# --- Chinese names (name_zh) ------------------------------------------------------------------

NAMED_YAML = textwrap.dedent(
    """\
    units:
      - code: C1
        name: Riverside County
        name_zh: 河畔县
        type: county
      - {code: V2, name: Pine Village, name_zh: "  松树村 ", parent: C1, type: village}
      - {code: V3, name: Oak Village, name_zh: "", parent: C1, type: village}
    """
)


def test_a_unit_file_may_give_each_unit_a_chinese_name() -> None:
    rows = {row.code: row for row in parse_units(NAMED_YAML, "yaml")}
    assert (rows["C1"].name, rows["C1"].name_zh) == ("Riverside County", "河畔县")
    assert rows["V2"].name_zh == "松树村", "cleaned as any name"
    assert rows["V3"].name_zh is None, "empty: none"
    csv_rows = parse_units("code,name,name_zh,type\nC1,Riverside County,河畔县,county\n"
                           "C2,Hill County,,county\n", "csv")
    assert [r.name_zh for r in csv_rows] == ["河畔县", None]
    assert issues_of(f"- {{code: C1, name: County, name_zh: {'县' * 201}, type: county}}\n",
                     "yaml") == ["units.yaml line 1: name_zh is longer than 200 characters"]


async def test_import_stores_the_chinese_name_and_a_file_without_it_takes_it_away(
    db: Database,
) -> None:
    async with db.transaction() as uow:
        summary = await import_units(uow, load_units(NAMED_YAML, name="units.yaml"),
                                     actor="test")
        county = await uow.units.by_code("C1")
        assert county is not None and county.name_zh == "河畔县"
    assert summary.created == 3
    unnamed = NAMED_YAML.replace("    name_zh: 河畔县\n", "")
    assert "河畔县" not in unnamed
    async with db.transaction() as uow:
        again = await import_units(uow, load_units(unnamed, name="units.yaml"), actor="test")
        county = await uow.units.by_code("C1")
        assert county is not None and county.name_zh is None
        [event] = (await uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "unit.update"))).all()
    assert (again.updated, again.unchanged) == (1, 2)
    assert event.before is not None and event.after is not None
    assert (event.before["name_zh"], event.after["name_zh"]) == ("河畔县", None)
