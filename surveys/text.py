"""What free text a person types may be stored, and what text a spreadsheet may be given.

One rule for every text a person types (a resident's comment, a note and its caption, an
inspection remark, an appeal and its answer, an entry point's label, a key task's title, a
profile's name, a unit's name, a dismissal's reason...), applied in the use cases so that
chat, the command line and web pages all get it:

- Unicode NFC, so the same word typed on two keyboards is stored (and compared) the same.
- NUL and the other control characters are removed: PostgreSQL refuses NUL in text columns
  (the whole transaction fails), and the others come from broken clients or copy-paste.
  Newlines and tabs stay where the field may span lines; elsewhere they become spaces.
  Lone surrogates cannot be encoded as UTF-8 and are removed too.
- Text with nothing visible left (empty, spaces, zero-width characters, joiners, direction
  marks, byte-order marks, fillers) is no text: :func:`require_text` refuses it with the
  reason (:data:`EMPTY` or :data:`INVISIBLE`) for the caller's own refusal in the person's
  language. Format characters inside visible text are kept: a zero-width joiner builds
  family emoji and a non-joiner is part of Persian and Indic spelling.

And one rule for text handed to a spreadsheet (:func:`spreadsheet_cell`), OWASP's against
CSV injection: a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is prefixed with ``'`` so no spreadsheet runs it as a formula; numbers stay numbers.

Also the reading of text files people prepare in a spreadsheet (:func:`decode_utf8`): UTF-8
with or without a byte-order mark, anything else refused with the line and the problem
rather than guessed (a guess turns "Zürich" into "Z黵ich").
"""

from __future__ import annotations

import unicodedata

EMPTY, INVISIBLE = "empty", "invisible"

# Line breaks other than \n: a form feed or vertical tab between words must not glue them.
_BREAKS = {"\r\n": "\n", "\r": "\n", "\v": "\n", "\f": "\n", "\x85": "\n", "\u2028": "\n",
           "\u2029": "\n"}
# Characters that show nothing on their own: control, format (zero-width space, joiners,
# word joiner, BOM, direction marks, tags), surrogates, spaces and separators, combining
# marks and variation selectors without a base, and the fillers that are letters or
# symbols by category but render blank.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp", "Mn", "Me"})
_BLANK_FILLERS = frozenset({"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"})
# Stripped at either end: spaces and format characters (a zero-width space or a BOM there
# carries nothing). Combining marks are not: a trailing vowel sign is part of the word.
_EDGE_CATEGORIES = frozenset({"Cf", "Zs", "Zl", "Zp"})


class BlankText(ValueError):
    """The text has nothing visible: ``reason`` is :data:`EMPTY` (nothing, or only
    spaces) or :data:`INVISIBLE` (only invisible or control characters)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _visible(ch: str) -> bool:
    return unicodedata.category(ch) not in _INVISIBLE_CATEGORIES and ch not in _BLANK_FILLERS


def _at_edge(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) in _EDGE_CATEGORIES


def clean_text(text: str, *, multiline: bool = True) -> str:
    """``text`` as it may be stored: NFC, without control characters (newlines and tabs
    kept if ``multiline``, else turned into spaces), without lone surrogates, stripped of
    spaces and format characters at both ends; ``""`` if nothing visible is left."""
    if text.isprintable() and unicodedata.is_normalized("NFC", text):
        # The common case (a name, an answer; a province's units file is 100,000 rows of
        # them): no control, format or separator character but the space, nothing to
        # normalise, so only spaces at the ends to drop, as the long way would.
        cleaned = text.strip(" ")
        if cleaned.isascii():
            return cleaned  # printable ASCII, not starting with a space: visible
        return cleaned if any(_visible(ch) for ch in cleaned) else ""
    # Lone surrogates (from broken clients) cannot be encoded as UTF-8, so cannot be stored.
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cs")
    text = unicodedata.normalize("NFC", text)
    for old, new in _BREAKS.items():
        text = text.replace(old, new)
    kept: list[str] = []
    for ch in text:
        if ch in "\n\t":
            kept.append(ch if multiline else " ")
        elif unicodedata.category(ch) != "Cc":
            kept.append(ch)
    start, end = 0, len(kept)
    while start < end and _at_edge(kept[start]):
        start += 1
    while end > start and _at_edge(kept[end - 1]):
        end -= 1
    cleaned = "".join(kept[start:end])
    return cleaned if any(_visible(ch) for ch in cleaned) else ""


def require_text(text: str, *, multiline: bool = True) -> str:
    """:func:`clean_text`, refusing text with nothing visible.

    Raises:
        BlankText: With :data:`EMPTY` for nothing or only spaces, :data:`INVISIBLE` for
            text made only of invisible or control characters.
    """
    cleaned = clean_text(text, multiline=multiline)
    if not cleaned:
        raise BlankText(INVISIBLE if text.strip() else EMPTY)
    return cleaned


# --- spreadsheets ---------------------------------------------------------------------------

# A text cell starting with one of these runs as a formula in Excel, LibreOffice or Sheets
# (OWASP's list; OWASP ASVS 1.2.10 adds NUL, which a reader may drop before an "=").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\x00")


def spreadsheet_cell(value: object) -> object:
    """A value for a CSV or XLSX cell: text that a spreadsheet would run as a formula is
    prefixed with ``'`` (OWASP's rule against CSV injection). Numbers are not text and stay
    as they are, negative ones included; every exporter passes each cell through here."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


# --- text files ------------------------------------------------------------------------------


UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_WORKBOOKS = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # .xlsx (a zip) and the older .xls


class NotUtf8(ValueError):
    """A file that is not UTF-8 text: ``line`` (from 1) and ``problem`` say where and why."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line}: {problem}")
        self.line = line
        self.problem = problem


def decode_utf8(raw: bytes) -> str:
    """The text of a file's bytes: UTF-8, with or without a byte-order mark (dropped).

    Nothing else is guessed: Latin-1 and GB18030 share byte values with each other and
    with UTF-8's lead bytes, so a guess imports wrong names without a word.

    Raises:
        NotUtf8: The first undecodable byte's line and what it looks like.
    """
    if raw.startswith(_WORKBOOKS):
        raise NotUtf8(1, "this is an Excel workbook, not a text file: save it as "
                         "'CSV UTF-8 (comma delimited)'")
    if raw.startswith(UTF16_BOMS):
        raise NotUtf8(1, "the file is UTF-16 text, not UTF-8: save it as "
                         "'CSV UTF-8 (comma delimited)'")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        shown = " ".join(f"0x{b:02X}" for b in raw[exc.start:exc.end])
        raise NotUtf8(line, f"byte {shown} is not UTF-8 ({exc.reason}){_encoding_hint(raw)}; "
                            "save the file as 'CSV UTF-8 (comma delimited)' (or UTF-8 "
                            "text) and import it again") from None


def _encoding_hint(raw: bytes) -> str:
    # Only a hint for the message: which encoding the file is probably in. Latin-1 accents
    # (é, ü, ß) mostly stand alone between ASCII letters; GBK writes every Chinese character
    # as two high bytes.
    high = [i for i, b in enumerate(raw) if b >= 0x80]
    alone = sum(1 for i in high if (i == 0 or raw[i - 1] < 0x80)
                and (i + 1 == len(raw) or raw[i + 1] < 0x80))
    if alone * 2 > len(high):
        return ": it looks like Latin-1 or Windows-1252"
    try:
        raw.decode("gb18030")
    except UnicodeDecodeError:
        return ""
    return ": it looks like GBK/GB18030"
