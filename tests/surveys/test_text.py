"""The one rule for typed text, the one rule for spreadsheet cells and the one way text files
are read (surveys.text)."""

from __future__ import annotations

import pytest

from surveys.text import (
    EMPTY,
    INVISIBLE,
    BlankText,
    NotUtf8,
    clean_text,
    decode_utf8,
    require_text,
    spreadsheet_cell,
)

# --- typed text -----------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "kept"), [
    ("Road fixed", "Road fixed"),
    ("Road\x00 fixed\x00", "Road fixed"),
    ("a\x01b\x1bc\x7fd\x9fe", "abcde"),  # C0, DEL and C1 controls
    ("line one\r\nline two\rthree", "line one\nline two\nthree"),
    ("tab\there", "tab\there"),
    ("page\fbreak", "page\nbreak"),  # a form feed does not glue two words
    ("  \u200b padded \ufeff ", "padded"),
    ("Cafe\u0301", "Café"),  # NFC: one code point, as typed on another keyboard
    ("bad \ud800 surrogate", "bad  surrogate"),
    ("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"),  # joiners inside visible text stay
    ("می\u200cخواهم", "می\u200cخواهم"),  # a Persian zero-width non-joiner stays
    ("नमस्ते", "नमस्ते"),  # a trailing vowel sign is part of the word
])
def test_clean_text_keeps_what_is_visible(typed: str, kept: str) -> None:
    assert clean_text(typed) == kept
    assert require_text(typed) == kept


def test_one_line_fields_turn_breaks_and_tabs_into_spaces() -> None:
    assert clean_text("Willow\nVillage\tOffice\u2028B", multiline=False) == (
        "Willow Village Office B")


@pytest.mark.parametrize("typed", [
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u200b\u200c\u200d\u2060\ufeff",
    "\x00", "\x00\x01\x02", " \u200e\u200f\u202e ", "\u00ad", "\u180e", "\u3164", "\u115f\u1160",
    "\uffa0", "\u2800", "\ufe0f", "\u034f", "\u0301", "\U000e0041\U000e007f", "\u2028\u2029",
    "\u3000\u00a0\u2003",
])
def test_text_with_nothing_visible_is_refused_as_invisible(typed: str) -> None:
    assert clean_text(typed) == ""
    with pytest.raises(BlankText) as caught:
        require_text(typed)
    expected = EMPTY if not typed.strip() else INVISIBLE
    assert caught.value.reason == expected


def reason(typed: str) -> str | None:
    try:
        require_text(typed)
    except BlankText as blank:
        return blank.reason
    return None


def test_nothing_or_spaces_is_empty_not_invisible() -> None:
    for typed in ("", "   ", "\n\t "):
        assert reason(typed) == EMPTY
    assert reason("\u200b") == INVISIBLE
    assert reason("ok") is None


# --- spreadsheet cells ----------------------------------------------------------------------


@pytest.mark.parametrize(("value", "written"), [
    ('=HYPERLINK("http://evil.example","click")', '\'=HYPERLINK("http://evil.example","click")'),
    ("+1+1", "'+1+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("\x00=1", "'\x00=1"),
    ("-5", "'-5"),  # a text that looks like a number is still text
    ("fine = good", "fine = good"), ("a-b", "a-b"), ("", ""), ("'quoted", "'quoted"),
    (-3, -3), (-2.5, -2.5), (0, 0), (4.25, 4.25), (None, None), (True, True),
])
def test_spreadsheet_cell_prefixes_formula_text_and_keeps_numbers(value: object,
                                                                  written: object) -> None:
    assert spreadsheet_cell(value) == written
    assert type(spreadsheet_cell(value)) is type(written)


# --- text files -----------------------------------------------------------------------------


def test_utf8_with_or_without_a_bom_is_read() -> None:
    assert decode_utf8("code,name\nZ1,Zürich\n".encode()) == "code,name\nZ1,Zürich\n"
    assert decode_utf8("\ufeffcode,name\nB1,北京\n".encode()) == "code,name\nB1,北京\n"


@pytest.mark.parametrize(("raw", "line", "problem"), [
    ("code,name\nZ1,Zürich\n".encode("latin-1"), 2,
     "byte 0xFC is not UTF-8 (invalid start byte): it looks like Latin-1 or Windows-1252"),
    ("code,name\nc1,Façade\nc2,Bäckerei\n".encode("cp1252"), 2,
     "byte 0xE7 is not UTF-8 (invalid continuation byte): it looks like Latin-1 or "
     "Windows-1252"),
    ("code,name\n\nB1,北京市\n".encode("gb18030"), 3,
     "byte 0xB1 is not UTF-8 (invalid start byte): it looks like GBK/GB18030"),
    ("code,name\n".encode("utf-16"), 1, "the file is UTF-16 text, not UTF-8"),
    (b"PK\x03\x04\x14\x00", 1, "this is an Excel workbook, not a text file"),
])
def test_other_encodings_are_refused_with_the_line_and_the_problem(raw: bytes, line: int,
                                                                   problem: str) -> None:
    with pytest.raises(NotUtf8) as caught:
        decode_utf8(raw)
    assert caught.value.line == line
    assert caught.value.problem.startswith(problem), caught.value.problem
