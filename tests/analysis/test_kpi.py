"""The KPI file parser: every bad line is reported with its line number, all at once."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bot.settings import AppraisalSection, IndicatorSection
from surveys.appraisal import kpi
from surveys.appraisal.kpi import (
    MAX_ISSUES,
    KpiImportError,
    KpiRow,
    decode_kpi_bytes,
    kpi_names,
    parse_kpi_csv,
    read_kpi_file,
)

UNITS = {"V1", "V2", "T1"}
KPIS = {"waste_collection_rate", "permits_on_time"}


def parse(text: str, kpis: set[str] | None = KPIS) -> list[KpiRow]:
    return parse_kpi_csv(text, UNITS, kpis, name="kpis.csv")


def issues(text: str, kpis: set[str] | None = KPIS) -> list[str]:
    with pytest.raises(KpiImportError) as caught:
        parse(text, kpis)
    assert str(caught.value) == "\n".join(caught.value.issues)
    return caught.value.issues


def test_good_file() -> None:
    text = ("unit,period,kpi,value\n"
            "V1,2026-Q4,waste_collection_rate,92.5\n"
            "V2,2026-q4,waste_collection_rate,81\n"
            "V1,2026-11,permits_on_time,-0.5e1\n"
            "T1,2026,permits_on_time,+.75\n")
    assert parse(text) == [
        KpiRow("V1", "2026-Q4", "waste_collection_rate", 92.5, 2),
        KpiRow("V2", "2026-Q4", "waste_collection_rate", 81.0, 3),
        KpiRow("V1", "2026-11", "permits_on_time", -5.0, 4),
        KpiRow("T1", "2026", "permits_on_time", 0.75, 5),
    ]


def test_bom_crlf_blank_lines_spaces_and_column_order() -> None:
    text = ("\ufeff Value , KPI,Unit,Period\r\n"
            "\r\n"
            " 92.5 , waste_collection_rate , V1 , 2026-Q4 \r\n"
            ",,,\r\n"
            "\r\n"
            "70,waste_collection_rate,V2,2026-Q4\r\n")
    assert parse(text) == [
        KpiRow("V1", "2026-Q4", "waste_collection_rate", 92.5, 3),
        KpiRow("V2", "2026-Q4", "waste_collection_rate", 70.0, 6),
    ]


def test_old_mac_line_ends_and_odd_separators_keep_line_numbers() -> None:
    text = ("unit,period,kpi,value\r"
            "V1,2026-Q4,waste_collection_rate,90\u2028\r"  # stripped like a space
            "V9,2026-Q4,waste_collection_rate,90\r")
    assert issues(text) == ["kpis.csv line 3: unknown unit 'V9'"]
    assert len(parse("unit,period,kpi,value\rV1,2026-Q4,waste_collection_rate,90")) == 1


def test_bytes_with_and_without_bom() -> None:
    body = "unit,period,kpi,value\nV1,2026-Q4,waste_collection_rate,90\n"
    assert decode_kpi_bytes(body.encode("utf-8-sig")) == body
    assert decode_kpi_bytes(body.encode()) == body
    assert len(parse(decode_kpi_bytes(body.encode("utf-8-sig")))) == 1


def test_read_file_text_hash_and_size_limit(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    raw = "unit,period,kpi,value\nV1,2026-Q4,waste_collection_rate,90\n".encode("utf-8-sig")
    path = tmp_path / "kpis.csv"
    path.write_bytes(raw)
    assert read_kpi_file(path) == (raw.decode("utf-8-sig"), hashlib.sha256(raw).hexdigest())
    with pytest.raises(KpiImportError, match="cannot read"):
        read_kpi_file(tmp_path)  # a directory
    monkeypatch.setattr(kpi, "MAX_FILE_BYTES", 10)
    with pytest.raises(KpiImportError, match="larger than 10 MB"):
        read_kpi_file(path)


def test_any_kpi_name_when_none_is_configured() -> None:
    rows = parse("unit,period,kpi,value\nV1,2026-Q4,anything_at_all,1\n", kpis=None)
    assert rows[0].kpi == "anything_at_all"
    assert issues("unit,period,kpi,value\nV1,2026-Q4," + "k" * 65 + ",1\n", kpis=None) == [
        "kpis.csv line 2: kpi name is longer than 64 characters"]


def test_missing_columns_are_named() -> None:
    assert issues("unit,kpi\nV1,waste_collection_rate\n") == [
        "kpis.csv line 1: header missing column(s) period, value "
        "(expected unit,period,kpi,value)"]


def test_extra_and_repeated_columns_are_rejected() -> None:
    found = issues("unit,period,kpi,value,note,unit\nV1,2026-Q4,permits_on_time,1,x,V1\n")
    assert found == ["kpis.csv line 1: header unknown column(s) 'note'; repeated column(s) "
                     "unit (expected unit,period,kpi,value)"]


def test_no_header() -> None:
    found = issues("V1,2026-Q4,waste_collection_rate,92.5\n")
    assert found[0].startswith("kpis.csv line 1: header missing column(s) unit, period, kpi, "
                               "value")
    assert found[0].endswith("the first line must be the header")


def test_semicolons() -> None:
    found = issues("unit;period;kpi;value\nV1;2026-Q4;waste_collection_rate;92,5\n")
    assert "separate values with commas" in found[0]


@pytest.mark.parametrize("text", ["", "\ufeff", "  \n\n \r\n"])
def test_empty_file(text: str) -> None:
    assert issues(text) == ["kpis.csv: the file is empty (expected the header "
                            "unit,period,kpi,value and one line per value)"]


def test_header_only() -> None:
    assert issues("unit,period,kpi,value\n\n") == ["kpis.csv: the file has a header but no values"]


def test_unknown_units_with_line_numbers() -> None:
    text = ("unit,period,kpi,value\n"
            "V1,2026-Q4,waste_collection_rate,90\n"
            "V9,2026-Q4,waste_collection_rate,90\n"
            "v2,2026-Q4,waste_collection_rate,90\n"
            ",2026-Q4,waste_collection_rate,90\n")
    assert issues(text) == [
        "kpis.csv line 3: unknown unit 'V9'",
        "kpis.csv line 4: unknown unit 'v2' (did you mean 'V2'?)",
        "kpis.csv line 5: missing unit",
    ]


def test_unknown_kpis() -> None:
    text = ("unit,period,kpi,value\n"
            "V1,2026-Q4,waste_rate,90\n"
            "V2,2026-Q4,Permits_On_Time,90\n")
    assert issues(text) == [
        "kpis.csv line 2: unknown kpi 'waste_rate' (configured: permits_on_time, "
        "waste_collection_rate)",
        "kpis.csv line 3: unknown kpi 'Permits_On_Time' (did you mean 'permits_on_time'?)",
    ]
    assert issues("unit,period,kpi,value\nV1,2026-Q4,x,1\n", kpis=set()) == [
        "kpis.csv line 2: unknown kpi 'x' (configured: none)"]


@pytest.mark.parametrize(("value", "reason"), [
    ("abc", "is not a number"),
    ("'92,5'", "is not a number"),
    ("92%", "is not a number"),
    ("1 200", "is not a number"),
    ("0x10", "is not a number"),
    ("nan", "is not a finite number"),
    ("NaN", "is not a finite number"),
    ("inf", "is not a finite number"),
    ("-Infinity", "is not a finite number"),
    ("1e999", "is too large"),
    ("", "missing value"),
])
def test_non_numeric_values(value: str, reason: str) -> None:
    cell = '"92,5"' if value == "'92,5'" else value
    found = issues(f"unit,period,kpi,value\nV1,2026-Q4,waste_collection_rate,{cell}\n")
    assert len(found) == 1
    assert found[0].startswith("kpis.csv line 2: ")
    assert reason in found[0]


def test_decimal_comma_unquoted_gets_a_hint() -> None:
    assert issues("unit,period,kpi,value\nV1,2026-Q4,waste_collection_rate,92,5\n") == [
        "kpis.csv line 2: expected 4 values, found 5 (a decimal comma? write 92.5)"]


def test_bad_periods() -> None:
    text = ("unit,period,kpi,value\n"
            "V1,2026-Q5,waste_collection_rate,90\n"
            "V1,Q4 2026,waste_collection_rate,90\n"
            "V1,,waste_collection_rate,90\n")
    found = issues(text)
    assert [f.split(":")[0] for f in found] == ["kpis.csv line 2", "kpis.csv line 3",
                                                "kpis.csv line 4"]
    assert "the quarter must be Q1 to Q4" in found[0]
    assert "cannot read the period 'Q4 2026'" in found[1]
    assert found[2].endswith("missing period")


def test_duplicates_name_both_lines() -> None:
    text = ("unit,period,kpi,value\n"
            "V1,2026-Q4,waste_collection_rate,90\n"
            "V2,2026-Q4,waste_collection_rate,80\n"
            "V1,2026-q4,waste_collection_rate,90\n"  # same period, other spelling, same value
            "V1,2026-Q3,waste_collection_rate,90\n")
    assert issues(text) == [
        "kpis.csv line 4: unit V1, period 2026-Q4, kpi waste_collection_rate is given twice "
        "(lines 2 and 4)"]


def test_every_problem_at_once_in_line_order() -> None:
    text = ("unit,period,kpi,value\n"
            "V9,2026-Q4,waste_collection_rate,abc\n"  # two problems on one line
            "V1,2026-Q4,waste_collection_rate,90\n"
            "V1,2026-Q4,waste_collection_rate,91\n"
            "V2,2026-Q4\n"
            "V2,20X6,nope,nan\n")
    found = issues(text)
    lines = [int(f.split(" line ")[1].split(":")[0]) for f in found]
    assert lines == sorted(lines)
    assert lines == [2, 2, 4, 5, 6, 6, 6]


def test_huge_line_is_reported_and_the_rest_still_checked() -> None:
    text = ("unit,period,kpi,value\n"
            "V1,2026-Q4,waste_collection_rate," + "9" * 200_000 + "\n"
            "V9,2026-Q4,waste_collection_rate,90\n")
    assert issues(text) == ["kpis.csv line 2: longer than 1000 characters",
                            "kpis.csv line 3: unknown unit 'V9'"]


def test_binary_and_not_utf8() -> None:
    with pytest.raises(KpiImportError, match="binary data"):
        parse("unit,period,kpi,value\nV1,2026-Q4,x\x00,1\n")
    with pytest.raises(KpiImportError, match="binary data"):
        decode_kpi_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "kpis.csv")
    with pytest.raises(KpiImportError, match="Excel workbook"):
        decode_kpi_bytes(b"PK\x03\x04\x14\x00\x06\x00", "kpis.xlsx")
    gbk = "unit,period,kpi,value\n柳树村,2026-Q4,x,1\n".encode("gbk")
    with pytest.raises(KpiImportError) as caught:
        decode_kpi_bytes(gbk, "kpis.csv")
    assert caught.value.issues == [
        "kpis.csv line 2: byte 0xC1 is not UTF-8 (invalid start byte): it looks like "
        "GBK/GB18030; save the file as 'CSV UTF-8 (comma delimited)' (or UTF-8 text) and "
        "import it again"]
    # Latin-1 also decodes as GB18030: the hint must not call it Chinese.
    latin = "unit,period,kpi,value\nV1,2026-Q4,x,1\nZürich,2026-Q4,x,1\n".encode("latin-1")
    with pytest.raises(KpiImportError, match=r"^kpis.csv line 3: byte 0xFC is not UTF-8 "
                       r"\(invalid start byte\): it looks like Latin-1 or Windows-1252; "):
        decode_kpi_bytes(latin, "kpis.csv")
    with pytest.raises(KpiImportError, match=r"line 1: the file is UTF-16 text, not UTF-8"):
        decode_kpi_bytes("unit,period,kpi,value\n".encode("utf-16"), "kpis.csv")
    with pytest.raises(KpiImportError, match=r"line 1: byte 0xFD is not UTF-8"):
        decode_kpi_bytes(b"\xfd\x81\x30", "kpis.csv")
    assert decode_kpi_bytes("\ufeffunit,period\n".encode(), "kpis.csv") == "unit,period\n"


def test_unterminated_quote_is_reported() -> None:
    found = issues('unit,period,kpi,value\nV1,2026-Q4,"waste_collection_rate,90\n')
    assert len(found) == 1
    assert found[0].startswith("kpis.csv line 2")


def test_many_problems_are_capped_with_a_count() -> None:
    text = "unit,period,kpi,value\n" + "V9,2026-Q4,permits_on_time,1\n" * (MAX_ISSUES + 20)
    found = issues(text)
    assert len(found) == MAX_ISSUES + 1
    assert found[-1] == "... and 20 more problem(s)"


def test_chinese_unit_codes_and_round_trip_of_values() -> None:
    rows = parse_kpi_csv("unit,period,kpi,value\n柳树村,2026-Q4,permits_on_time,0.1\n",
                         {"柳树村"}, KPIS)
    assert rows == [KpiRow("柳树村", "2026-Q4", "permits_on_time", 0.1, 2)]


def test_kpi_names_from_settings() -> None:
    assert kpi_names(AppraisalSection()) == {"waste_collection_rate"}
    section = AppraisalSection(unit_types={
        "*": [IndicatorSection(id="a", source="residents", weight=0.5, answers="x"),
              IndicatorSection(id="b", source="kpi", weight=0.5, kpi="permits", best=1,
                               worst=0)],
        "village": [IndicatorSection(id="c", source="kpi", weight=1, kpi="roads", best=0,
                                     worst=10)],
    })
    assert kpi_names(section) == {"permits", "roads"}
