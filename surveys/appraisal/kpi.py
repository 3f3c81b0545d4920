"""Objective results per unit and period, imported with ``civicpulse kpi import FILE.csv``.

A KPI file is UTF-8 CSV (with or without a byte-order mark), comma separated, with the header
``unit,period,kpi,value`` (in any order, any case) and one value per line::

    unit,period,kpi,value
    V1,2026-Q4,waste_collection_rate,92.5

The import is all or nothing, like the unit import: :func:`parse_kpi_csv` collects every
problem with its line number into one :class:`KpiImportError`, and :func:`import_kpis` writes
inside the caller's transaction, so a file is never half-imported.

Decisions:

- Other columns are rejected, not ignored: a column the import would silently drop (a
  ``target``, a misspelt ``vaule``) usually means the file is not what the admin thinks.
- Values use a dot for decimals (``92.5``), no thousands separators, no percent sign;
  ``92,5``, ``1,200``, ``92%``, ``nan`` and ``inf`` are rejected with their line.
- Blank lines are skipped. Periods are read by :func:`surveys.appraisal.periods.parse_period` and
  stored by their canonical label (``2026-q4`` becomes ``2026-Q4``).
- A unit, period and KPI given twice in one file is an error naming both lines, even when
  the values agree: the file must say one thing.

The pure parser never touches the database; :func:`import_kpis` is the use case and
:func:`import_kpi_file` reads a file and imports it in one transaction, for the CLI.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from storage.models import KpiValue
from surveys.appraisal.periods import PeriodError, parse_period
from surveys.text import UTF16_BOMS, NotUtf8, decode_utf8

if TYPE_CHECKING:
    from storage.uow import Database, UnitOfWork

COLUMNS = ("unit", "period", "kpi", "value")
MAX_FILE_BYTES = 10 * 1024 * 1024
# A line holds a unit code and a KPI name (64 characters each), a period and a number.
MAX_LINE_CHARS = 1000
MAX_NAME_LENGTH = 64  # kpi_values.kpi and units.code
# Problems listed in full; past this, one line says how many more there are.
MAX_ISSUES = 500
# Kept in kpi_values.source: the file's name and SHA-256.
MAX_SOURCE_LENGTH = 300
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True)
class KpiRow:
    """One value of a KPI file.

    Attributes:
        unit: The unit's code.
        period: The canonical period label, e.g. ``"2026-Q4"``.
        kpi: The KPI name, as configured under ``kpi:`` in an indicator with source kpi.
        value: The value, a finite number.
        line: The 1-based line it is on.
    """

    unit: str
    period: str
    kpi: str
    value: float
    line: int


@dataclass(frozen=True)
class KpiChange:
    """A stored value that an import replaced."""

    unit: str
    period: str
    kpi: str
    before: float
    after: float
    line: int


@dataclass(frozen=True)
class KpiImportReport:
    """What an import did. ``changes`` lists each updated value with its old one."""

    inserted: int
    updated: int
    unchanged: int
    periods: tuple[str, ...]
    changes: tuple[KpiChange, ...]
    sha256: str

    @property
    def rows(self) -> int:
        return self.inserted + self.updated + self.unchanged


class KpiImportError(Exception):
    """A KPI file that cannot be imported; ``issues`` holds one message per problem."""

    def __init__(self, issues: list[str]) -> None:
        if len(issues) > MAX_ISSUES:
            issues = [*issues[:MAX_ISSUES],
                      f"... and {len(issues) - MAX_ISSUES} more problem(s)"]
        super().__init__("\n".join(issues))
        self.issues = issues


class _IndicatorLike(Protocol):
    @property
    def source(self) -> str: ...

    @property
    def kpi(self) -> str | None: ...


class _AppraisalLike(Protocol):
    @property
    def unit_types(self) -> Mapping[str, Sequence[_IndicatorLike]]: ...


def kpi_names(appraisal: _AppraisalLike) -> set[str]:
    """The KPI names the configuration uses: ``kpi`` of every indicator with source kpi, over
    all unit types. Pass ``settings.appraisal``."""
    return {indicator.kpi for indicators in appraisal.unit_types.values()
            for indicator in indicators if indicator.source == "kpi" and indicator.kpi}


# --- reading and parsing -------------------------------------------------------------------


def decode_kpi_bytes(raw: bytes, name: str = "kpis") -> str:
    """The text of a KPI file's bytes: UTF-8, with or without a byte-order mark.

    Raises:
        KpiImportError: binary content (an Excel workbook, NUL bytes) or not UTF-8.
    """
    if raw.startswith(b"PK\x03\x04") or raw.startswith(b"\xd0\xcf\x11\xe0"):
        raise KpiImportError([f"{name}: this is an Excel workbook, not CSV: save it as "
                              "'CSV UTF-8 (comma delimited)'"])
    if b"\x00" in raw and not raw.startswith(UTF16_BOMS):  # UTF-16 is told as such below
        raise KpiImportError([f"{name}: binary data (NUL bytes), not a CSV text file"])
    try:
        return decode_utf8(raw)  # the same rule as unit files: UTF-8, nothing guessed
    except NotUtf8 as exc:
        raise KpiImportError([f"{name} line {exc.line}: {exc.problem}"]) from None


def read_kpi_file(path: Path) -> tuple[str, str]:
    """Read a KPI file: its text and the SHA-256 of its bytes.

    Raises:
        KpiImportError: missing, unreadable, larger than 10 MB, binary or not UTF-8.
    """
    label = str(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise KpiImportError([f"{label}: file is larger than 10 MB"])
        raw = path.read_bytes()
    except FileNotFoundError:
        raise KpiImportError([f"{label}: no such file"]) from None
    except OSError as exc:
        raise KpiImportError([f"{label}: cannot read: {exc.strerror}"]) from None
    return decode_kpi_bytes(raw, label), hashlib.sha256(raw).hexdigest()


def _value(raw: str) -> float | str:
    """The number in a value cell, or the reason it is not one."""
    if not raw:
        return "missing value"
    if not _NUMBER.match(raw):
        if raw.strip().lower().lstrip("+-") in ("nan", "inf", "infinity"):
            return f"value {raw!r} is not a finite number"
        return (f"value {raw!r} is not a number (write it like 92.5: a dot for decimals, "
                "no thousands separators, no % sign)")
    number = float(raw)
    if not math.isfinite(number):
        return f"value {raw!r} is too large"
    return number


def _check_header(header: list[str], where: str) -> list[str] | str:
    """The header's column names, or what is wrong with it."""
    columns = [h.strip().lower() for h in header]
    missing = [c for c in COLUMNS if c not in columns]
    unknown = [c for c in columns if c not in COLUMNS]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if not (missing or unknown or repeated):
        return columns
    problems = [f"missing column(s) {', '.join(missing)}"] if missing else []
    problems += [f"unknown column(s) {', '.join(repr(c) for c in unknown)}"] if unknown else []
    problems += [f"repeated column(s) {', '.join(repeated)}"] if repeated else []
    hint = ""
    joined = ",".join(header)
    if len(header) == 1 and (";" in joined or "\t" in joined):
        hint = "; separate values with commas, not semicolons or tabs"
    elif missing and not any(c in COLUMNS for c in columns):
        hint = "; the first line must be the header"
    return (f"{where}: header {'; '.join(problems)} (expected {','.join(COLUMNS)}){hint}")


def _lines(text: str, label: str, issues: list[tuple[int, str]]) -> list[str]:
    """The physical lines, with any too long to be a KPI line reported and blanked (so the
    others keep their numbers)."""
    # Only \r\n, \n and \r end a line, as for the csv module (str.splitlines also splits
    # on form feeds and Unicode separators, which would shift the numbers).
    lines = _LINE.findall(text)
    for index, line in enumerate(lines):
        if len(line.rstrip("\r\n")) > MAX_LINE_CHARS:
            issues.append((index + 1, f"{label} line {index + 1}: longer than "
                                      f"{MAX_LINE_CHARS} characters"))
            lines[index] = "\n"
    return lines


def parse_kpi_csv(text: str, known_units: AbstractSet[str], known_kpis: AbstractSet[str] | None,
                  *, name: str = "kpis") -> list[KpiRow]:
    """Read a KPI file's text into rows, checking every line.

    Args:
        text: The file's text (see :func:`decode_kpi_bytes`; a leading BOM is dropped).
        known_units: The codes of the units in the database.
        known_kpis: The KPI names in the configuration (:func:`kpi_names`); None accepts
            any name of at most 64 characters.
        name: The file name to use in messages.

    Returns:
        The rows in file order.

    Raises:
        KpiImportError: With every problem, in line order: an empty file or one with no
            values, a header without the four columns (or with others), a line with the
            wrong number of values or longer than 1000 characters, binary data, an unknown
            unit or KPI, a period that cannot be read, a value that is not a finite number
            with a dot for decimals, and a unit, period and KPI given twice (both lines).
    """
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise KpiImportError([f"{name}: binary data (NUL characters), not a CSV text file"])
    if not text.strip():
        raise KpiImportError([f"{name}: the file is empty (expected the header "
                              f"{','.join(COLUMNS)} and one line per value)"])
    issues: list[tuple[int, str]] = []
    reader = csv.reader(_lines(text, name, issues))
    rows: list[KpiRow] = []
    first_line: dict[tuple[str, str, str], int] = {}
    lower_units = {code.lower(): code for code in known_units}
    lower_kpis = {kpi.lower(): kpi for kpi in known_kpis or ()}
    try:
        header: list[str] | None = None
        previous_end = 0
        for cells in reader:
            line, previous_end = previous_end + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue  # blank lines (and blanked long ones) are skipped
            if header is None:
                checked = _check_header(cells, f"{name} line {line}")
                if isinstance(checked, str):
                    issues.append((line, checked))
                    break
                header = checked
                continue
            where = f"{name} line {line}"
            if len(cells) != len(header):
                hint = (" (a decimal comma? write 92.5)" if len(cells) == len(header) + 1
                        else "")
                issues.append((line, f"{where}: expected {len(header)} values, found "
                                     f"{len(cells)}{hint}"))
                continue
            row = _row(dict(zip(header, (c.strip() for c in cells), strict=True)), line, where,
                       known_units, lower_units, known_kpis, lower_kpis, issues)
            if row is None:
                continue
            key = (row.unit, row.period, row.kpi)
            if key in first_line:
                issues.append((line, f"{where}: unit {row.unit}, period {row.period}, kpi "
                                     f"{row.kpi} is given twice (lines {first_line[key]} "
                                     f"and {line})"))
                continue
            first_line[key] = line
            rows.append(row)
    except csv.Error as exc:
        issues.append((reader.line_num, f"{name} line {reader.line_num}: invalid CSV: {exc}"))
    if header is None and not issues:
        issues.append((1, f"{name}: the file is empty (expected the header "
                          f"{','.join(COLUMNS)} and one line per value)"))
    if not rows and not issues:
        issues.append((previous_end, f"{name}: the file has a header but no values"))
    if issues:
        raise KpiImportError([text for _, text in sorted(issues, key=lambda item: item[0])])
    return rows


def _row(cells: dict[str, str], line: int, where: str, known_units: AbstractSet[str],
         lower_units: dict[str, str], known_kpis: AbstractSet[str] | None,
         lower_kpis: dict[str, str], issues: list[tuple[int, str]]) -> KpiRow | None:
    found: list[str] = []
    unit = cells["unit"]
    if not unit:
        found.append("missing unit")
    elif unit not in known_units:
        near = lower_units.get(unit.lower())
        hint = f" (did you mean {near!r}?)" if near else ""
        found.append(f"unknown unit {unit[:MAX_NAME_LENGTH]!r}{hint}")
    period = cells["period"]
    label = ""
    if not period:
        found.append("missing period")
    else:
        try:
            label = parse_period(period).label
        except PeriodError as exc:
            found.append(str(exc))
    kpi = cells["kpi"]
    if not kpi:
        found.append("missing kpi")
    elif known_kpis is not None and kpi not in known_kpis:
        near = lower_kpis.get(kpi.lower())
        hint = (f" (did you mean {near!r}?)" if near else
                f" (configured: {', '.join(sorted(known_kpis)) or 'none'})")
        found.append(f"unknown kpi {kpi[:MAX_NAME_LENGTH]!r}{hint}")
    elif len(kpi) > MAX_NAME_LENGTH:
        found.append(f"kpi name is longer than {MAX_NAME_LENGTH} characters")
    value = _value(cells["value"])
    if isinstance(value, str):
        found.append(value)
    issues.extend((line, f"{where}: {text}") for text in found)
    if found or isinstance(value, str):
        return None
    return KpiRow(unit=unit, period=label, kpi=kpi, value=value, line=line)


# --- the import ----------------------------------------------------------------------------


def _source(name: str, sha256: str) -> str:
    suffix = f" sha256:{sha256}"
    room = MAX_SOURCE_LENGTH - len(suffix)
    if len(name) > room:
        name = "…" + name[-(room - 1):]
    return name + suffix


async def import_kpis(uow: UnitOfWork, rows: Sequence[KpiRow], source: str, actor: str,
                      now: datetime, *, sha256: str = "") -> KpiImportReport:
    """Store the rows: new values are inserted, changed ones updated, equal ones left alone.

    Runs inside the caller's transaction: an error raised here (or later in the same
    transaction) leaves nothing written. The audit log gets one ``kpi.import`` event (entity
    ``kpi_file``, id the file's SHA-256; after: file, counts, periods and KPIs) and, when
    stored values changed, one ``kpi.update`` event for the same file listing them: before
    ``{"values": [{unit, period, kpi, value, source}, ...]}``, after ``{file, sha256,
    "values": [{unit, period, kpi, value, line}, ...]}``, in the same order. One event per
    import, not per value, keeps the log readable (and a 6,000-value correction fast). New
    values are not listed: each keeps its file's name and SHA-256 in ``kpi_values.source``.

    Args:
        uow: The unit of work of the import.
        rows: Parsed rows (:func:`parse_kpi_csv`), each unit, period and KPI at most once.
        source: The file's name, kept with each value.
        actor: Who imports, for the audit log (e.g. ``"cli"``).
        now: The import time (timezone-aware).
        sha256: The SHA-256 of the file's bytes (hex).

    Raises:
        KpiImportError: a row names a unit that is not stored, or a unit, period and KPI
            repeats.
    """
    units = {unit.code: unit.id for unit in (await uow.units.snapshot()).units}
    issues = [f"{source} line {row.line}: unknown unit {row.unit!r}"
              for row in rows if row.unit not in units]
    seen: dict[tuple[str, str, str], int] = {}
    for row in rows:
        key = (row.unit, row.period, row.kpi)
        if key in seen:
            issues.append(f"{source} line {row.line}: unit {row.unit}, period {row.period}, "
                          f"kpi {row.kpi} is given twice (lines {seen[key]} and {row.line})")
        seen.setdefault(key, row.line)
    if issues:
        raise KpiImportError(issues)
    periods = tuple(sorted({row.period for row in rows}))
    stored: dict[tuple[int, str, str], KpiValue] = {}
    for period in periods:
        for value in await uow.kpis.of_period(period):
            stored[(value.unit_id, value.period, value.kpi)] = value
    kept_source = _source(source, sha256) if sha256 else source[:MAX_SOURCE_LENGTH]
    inserted = unchanged = 0
    changes: list[tuple[KpiValue, KpiChange]] = []
    for row in rows:
        existing = stored.get((units[row.unit], row.period, row.kpi))
        if existing is None:
            uow.kpis.add(KpiValue(unit_id=units[row.unit], period=row.period, kpi=row.kpi,
                                  value=row.value, source=kept_source, imported_at=now))
            inserted += 1
        elif existing.value == row.value:
            unchanged += 1
        else:
            changes.append((existing, KpiChange(row.unit, row.period, row.kpi,
                                                existing.value, row.value, row.line)))
    await uow.session.flush()
    report = KpiImportReport(inserted=inserted, updated=len(changes), unchanged=unchanged,
                             periods=periods, changes=tuple(change for _, change in changes),
                             sha256=sha256)
    await uow.audit.record(actor, "kpi.import", "kpi_file", sha256 or None, after={
        "file": source, "sha256": sha256, "rows": len(rows), "inserted": inserted,
        "updated": len(changes), "unchanged": unchanged, "periods": list(periods),
        "kpis": sorted({row.kpi for row in rows})})
    if changes:
        before: list[dict[str, object]] = []
        after: list[dict[str, object]] = []
        for value, change in changes:
            which = {"unit": change.unit, "period": change.period, "kpi": change.kpi}
            before.append({**which, "value": change.before, "source": value.source})
            after.append({**which, "value": change.after, "line": change.line})
            value.value, value.source, value.imported_at = change.after, kept_source, now
        await uow.audit.record(actor, "kpi.update", "kpi_file", sha256 or None,
                               before={"values": before},
                               after={"file": source, "sha256": sha256, "values": after})
    await uow.session.flush()
    return report


async def import_kpi_file(db: Database, path: Path, known_kpis: AbstractSet[str] | None,
                          actor: str, now: datetime | None = None) -> KpiImportReport:
    """Read, check and import a KPI file in one transaction (``civicpulse kpi import``).

    Args:
        db: The database.
        path: The CSV file.
        known_kpis: ``kpi_names(settings.appraisal)``; None accepts any KPI name.
        actor: For the audit log.
        now: The import time; the current time when None.

    Raises:
        KpiImportError: With every problem of the file; nothing was imported.
        DatabaseUnavailable: The database could not be reached; nothing was imported.
    """
    text, sha256 = read_kpi_file(path)
    when = now or db.clock()
    async with db.transaction() as uow:
        known_units = {unit.code for unit in (await uow.units.snapshot()).units}
        rows = parse_kpi_csv(text, known_units, known_kpis, name=path.name)
        return await import_kpis(uow, rows, path.name, actor, when, sha256=sha256)
