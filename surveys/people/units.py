"""Units: parsing, checking and importing a unit file (``civicpulse units import FILE``).

A unit file lists the organisational tree (county > township > village, or departments) as
YAML or CSV. The import is all or nothing: every problem is collected, with its line number,
into one :class:`UnitFileError`, so an admin can fix the file in one pass and a half-imported
tree never exists; :func:`import_units` then stores the checked tree, audited.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from storage.ids import INTEGER_MAX
from surveys._yaml import LineDict, StrictTextLoader, describe_yaml_error, expands_beyond
from surveys.text import NotUtf8, clean_text, decode_utf8

if TYPE_CHECKING:
    from storage.audit import Change
    from storage.uow import UnitOfWork

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
COLUMNS = ("code", "name", "name_zh", "parent", "type", "population",
           "latitude", "longitude", "radius_km")
REQUIRED_COLUMNS = ("code", "name", "type")
# Where a unit is (optional): evidence located farther than radius_km from it is flagged.
CENTRE_COLUMNS = ("latitude", "longitude", "radius_km")
MAX_RADIUS_KM = 5000.0
MAX_NAME_LENGTH = 200
MAX_TYPE_LENGTH = 64
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_YAML_VALUES = 2_000_000  # about 300,000 units; guards against YAML alias bombs
_NULLS = {"", "~", "null", "none"}

UnitFormat = Literal["yaml", "csv"]


@dataclass(frozen=True)
class UnitRow:
    """One unit as read from a unit file.

    Attributes:
        code: The unit's stable code, e.g. ``"RIVER-N"``.
        name: Display name, as people see it unless a form for their language is given.
        parent: The parent unit's code, or None for a root.
        type: The unit type (which selects its indicator set), e.g. ``"village"``.
        population: Residents served, if known (used for margins of error).
        line: The 1-based line the unit starts on in its file.
        source: The file name, used in messages (empty for rows built in code).
        latitude: The unit's centre, in degrees (-90 to 90), given with ``longitude``.
        longitude: In degrees (-180 to 180), given with ``latitude``.
        radius_km: How far from the centre evidence still counts as taken in the unit;
            None uses the configured default.
        name_zh: The name in Chinese, for people who read Chinese (``surveys.people.names``);
            None: they see ``name``.
    """

    code: str
    name: str
    parent: str | None
    type: str
    population: int | None
    line: int
    source: str = ""
    latitude: float | None = None
    longitude: float | None = None
    radius_km: float | None = None
    name_zh: str | None = None


class UnitFileError(Exception):
    """A unit file that cannot be imported; ``issues`` holds one message per problem."""

    def __init__(self, issues: list[str]) -> None:
        super().__init__("\n".join(issues))
        self.issues = issues


def _where(source: str, line: int) -> str:
    return f"{source or 'units'} line {line}"


# --- reading -------------------------------------------------------------------------------


def _read_source(source: str | Path) -> tuple[str, str, str | None]:
    """Return ``(text, label, suffix)``; a ``str`` naming an existing file is read as a path."""
    path: Path | None = None
    if isinstance(source, Path):
        path = source
    elif "\n" not in source and len(source) < 4096:
        candidate = Path(source)
        try:
            if candidate.is_file():
                path = candidate
        except OSError:
            path = None
    if path is None:
        return str(source), "units", None
    label = str(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise UnitFileError([f"{label}: file is larger than 10 MB"])
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise UnitFileError([f"{label}: no such file"]) from exc
    except OSError as exc:
        raise UnitFileError([f"{label}: cannot read: {exc.strerror}"]) from exc
    try:
        # UTF-8 only (with or without a BOM): guessing another encoding imported
        # "Zürich" saved as Latin-1 as "Z黵ich" without a word.
        text = decode_utf8(raw)
    except NotUtf8 as exc:
        raise UnitFileError([f"{_where(label, exc.line)}: {exc.problem}"]) from None
    if "\x00" in text:
        line = text[:text.index("\x00")].count("\n") + 1
        raise UnitFileError([f"{_where(label, line)}: binary data (a NUL byte), not a text "
                             "file"])
    return text, label, path.suffix.lower()


def _guess_format(text: str, suffix: str | None) -> UnitFormat:
    if suffix == ".csv":
        return "csv"
    if suffix in (".yaml", ".yml"):
        return "yaml"
    first = next((line for line in text.splitlines() if line.strip()), "")
    return "csv" if first.replace(" ", "").lower().startswith("code,") else "yaml"


def _text(value: Any) -> str | None:
    """Return a cell as text cleaned by the rule for typed text (one line; ``""`` if
    nothing visible); None if it is not a scalar."""
    if value is None:
        return ""
    if isinstance(value, str):
        return clean_text(value, multiline=False)
    return None


def _population(raw: str) -> int | str | None:
    """Return the population, None if empty, or a reason string if it is not a whole number."""
    if raw.isascii() and raw.isdigit() and len(raw) < 10:
        return int(raw)  # the common case: plain digits, below INTEGER_MAX
    if raw.lower() in _NULLS:
        return None
    cleaned = raw.replace("_", "")
    # Thousands separators as spreadsheets write them: 1,200 or 1 200.
    if re.fullmatch(r"[+-]?\d{1,3}([, ]\d{3})+", cleaned):
        cleaned = re.sub(r"[, ]", "", cleaned)
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        return f"population {raw!r} is not a whole number"
    if not number.is_finite() or number != number.to_integral_value():
        return f"population {raw!r} is not a whole number"
    if number > INTEGER_MAX:
        # Before int(): "1e10000000" would take minutes to expand, and the column would refuse.
        return f"population {raw!r} is more than {INTEGER_MAX}"
    return int(number)


def _number(key: str, raw: str) -> float | str | None:
    """Return the number in a cell, None if empty, or a reason string if it is not one."""
    if raw.lower() in _NULLS:
        return None
    try:
        number = float(raw)
    except ValueError:
        return f"{key} {raw!r} is not a number"
    if not math.isfinite(number):
        return f"{key} {raw!r} is not a number"
    return number


def _row_from_mapping(
    data: Mapping[Any, Any], line: int, label: str, issues: list[str]
) -> UnitRow | None:
    where = _where(label, line)
    unknown = [str(k) for k in data if k not in COLUMNS]
    for key in unknown:
        issues.append(f"{where}: unknown column {key!r} (expected {', '.join(COLUMNS)})")
    values: dict[str, str] = {}
    for key in COLUMNS:
        text = _text(data.get(key))
        if text is None:
            issues.append(f"{where}: {key} must be a single value, not a list or mapping")
            return None
        values[key] = text
    population = _population(values["population"])
    if isinstance(population, str):
        issues.append(f"{where}: {population}")
        population = None
    before = len(issues)
    centre: dict[str, float | None] = {}
    for key in CENTRE_COLUMNS:
        number = _number(key, values[key])
        if isinstance(number, str):
            issues.append(f"{where}: {number}")
            number = None
        centre[key] = number
    if len(issues) > before:
        # An unreadable part is reported once; the rest of the centre is not checked again.
        centre = dict.fromkeys(CENTRE_COLUMNS)
    parent = values["parent"]
    return UnitRow(
        code=values["code"],
        name=values["name"],
        parent=None if parent.lower() in _NULLS else parent,
        type=values["type"],
        population=population,
        line=line,
        source=label,
        latitude=centre["latitude"],
        longitude=centre["longitude"],
        radius_km=centre["radius_km"],
        name_zh=values["name_zh"] or None,
    )


def _parse_yaml(text: str, label: str, issues: list[str]) -> list[UnitRow]:
    try:
        data = yaml.load(text, Loader=StrictTextLoader)
    except yaml.YAMLError as exc:
        issues.append(f"{label}: {describe_yaml_error(exc)}")
        return []
    if expands_beyond(data, MAX_YAML_VALUES):
        issues.append(f"{label}: too much data once YAML aliases (*name) are expanded")
        return []
    if isinstance(data, dict) and set(data) == {"units"}:
        data = data["units"]
    if not isinstance(data, list):
        issues.append(f"{label}: expected a list of units (or a mapping with a 'units:' list)")
        return []
    rows: list[UnitRow] = []
    for index, item in enumerate(data):
        if not isinstance(item, LineDict):
            issues.append(f"{label}: unit #{index + 1} must be a mapping with code, name, "
                          "parent, type and population")
            continue
        row = _row_from_mapping(item, item.line, label, issues)
        if row is not None:
            rows.append(row)
    return rows


def _parse_csv(text: str, label: str, issues: list[str]) -> list[UnitRow]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            issues.append(f"{label}: the file is empty")
            return []
        columns = [h.strip().lower() for h in header]
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        unknown = [c for c in columns if c not in COLUMNS]
        duplicated = sorted({c for c in columns if columns.count(c) > 1})
        if missing or unknown or duplicated:
            problems = [f"missing column(s) {', '.join(missing)}"] if missing else []
            problems += [f"unknown column(s) {', '.join(unknown)}"] if unknown else []
            problems += [f"repeated column(s) {', '.join(duplicated)}"] if duplicated else []
            issues.append(f"{_where(label, 1)}: header {'; '.join(problems)} "
                          f"(expected {','.join(COLUMNS)})")
            return []
        rows: list[UnitRow] = []
        previous_end = reader.line_num
        for cells in reader:
            # line_num is where the record ended; quoted fields may span several lines.
            line, previous_end = previous_end + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue  # blank lines are allowed, e.g. between groups
            if len(cells) != len(columns):
                issues.append(f"{_where(label, line)}: expected {len(columns)} values, "
                              f"found {len(cells)}")
                continue
            row = _row_from_mapping(dict(zip(columns, cells, strict=True)), line, label, issues)
            if row is not None:
                rows.append(row)
        return rows
    except csv.Error as exc:
        issues.append(f"{_where(label, reader.line_num)}: invalid CSV: {exc}")
        return []


def _parse(
    source: str | Path, fmt: UnitFormat | None, name: str | None
) -> tuple[list[UnitRow], list[str], str]:
    text, label, suffix = _read_source(source)
    label = name or label
    issues: list[str] = []
    kind = fmt or _guess_format(text, suffix)
    rows = _parse_csv(text, label, issues) if kind == "csv" else _parse_yaml(text, label, issues)
    if not rows and not issues:
        issues.append(f"{label}: the file lists no units")
    return rows, issues, label


def _field_issues(row: UnitRow) -> list[tuple[int, str]]:
    found: list[str] = []
    if not row.code:
        found.append("missing code")
    elif not CODE_PATTERN.match(row.code):
        found.append(f"code {row.code!r} is not valid (letters, digits, '_', '.', '-'; "
                     "at most 64; starting with a letter or digit)")
    if not row.name.strip():
        found.append("missing name")
    elif len(row.name) > MAX_NAME_LENGTH:
        found.append(f"name is longer than {MAX_NAME_LENGTH} characters")
    if row.name_zh is not None and len(row.name_zh) > MAX_NAME_LENGTH:
        found.append(f"name_zh is longer than {MAX_NAME_LENGTH} characters")
    if not row.type.strip():
        found.append("missing type")
    elif len(row.type) > MAX_TYPE_LENGTH:
        found.append(f"type is longer than {MAX_TYPE_LENGTH} characters")
    if row.population is not None:
        if isinstance(row.population, bool) or not isinstance(row.population, int):
            found.append(f"population {row.population!r} is not a whole number")
        elif row.population < 0:
            found.append(f"population {row.population} must not be negative")
        elif row.population > INTEGER_MAX:
            found.append(f"population {row.population} is more than {INTEGER_MAX}")
    found.extend(_centre_issues(row))
    if row.parent is not None and row.parent == row.code:
        found.append(f"unit {row.code!r} cannot be its own parent")
    if not found:
        return []
    where = _where(row.source, row.line)
    return [(row.line, f"{where}: {text}") for text in found]


def _centre_issues(row: UnitRow) -> list[str]:
    """Ranges, and the centre's parts given together (a radius alone locates nothing)."""
    found: list[str] = []
    limits = {"latitude": 90.0, "longitude": 180.0}
    for key, limit in limits.items():
        value = getattr(row, key)
        if value is None:
            continue
        if not _is_number(value):
            found.append(f"{key} {value!r} is not a number")
        elif not -limit <= value <= limit:
            found.append(f"{key} {value:g} is out of range (-{limit:g} to {limit:g})")
    radius = row.radius_km
    if radius is not None:
        if not _is_number(radius):
            found.append(f"radius_km {radius!r} is not a number")
        elif not 0 < radius <= MAX_RADIUS_KM:
            found.append(f"radius_km {radius:g} must be greater than 0 and at most "
                         f"{MAX_RADIUS_KM:g}")
    if (row.latitude is None) != (row.longitude is None):
        given, missing = (("latitude", "longitude") if row.longitude is None
                          else ("longitude", "latitude"))
        found.append(f"{given} is given without {missing}: give both, or neither")
    elif radius is not None and row.latitude is None:
        found.append("radius_km is given without latitude and longitude")
    return found


def _is_number(value: object) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def parse_units(
    source: str | Path, fmt: UnitFormat | None = None, *, name: str | None = None
) -> list[UnitRow]:
    """Read a unit file (YAML or CSV) into rows, checking each row on its own.

    YAML is a list of mappings, or a mapping with a ``units:`` list; CSV has the header
    ``code,name,name_zh,parent,type,population,latitude,longitude,radius_km`` (all but code,
    name and type may be empty or omitted; latitude and longitude go together; name_zh is
    the name shown to people who read Chinese).
    Every YAML value is read as text, so a code like ``0101`` keeps its leading zero.

    Args:
        source: A ``Path``, a ``str`` naming an existing file, or the file's text itself.
        fmt: ``"yaml"`` or ``"csv"``; None guesses from the suffix, else from the content.
        name: The file name to use in messages (defaults to the path, or ``"units"``).

    Returns:
        The rows in file order. Tree-wide problems (unknown parents, duplicates, cycles) are
        left to :func:`check_tree`, which knows the units already in the database.

    Raises:
        UnitFileError: If the file cannot be read or parsed, or a row is invalid on its own
            (bad code, missing name or type, population not a non-negative whole number,
            a centre out of range or half given, a radius not above 0).
    """
    rows, issues, _ = _parse(source, fmt, name)
    row_issues = [issue for row in rows for issue in _field_issues(row)]
    if issues or row_issues:
        raise UnitFileError(issues + [text for _, text in sorted(row_issues)])
    return rows


def _find_cycles(
    rows: Sequence[UnitRow], parents: Mapping[str, str | None]
) -> list[tuple[UnitRow, list[str]]]:
    """Return each parent cycle once, with the first file row whose parent chain reaches it."""
    cycles: list[tuple[UnitRow, list[str]]] = []
    in_cycle: set[str] = set()
    cleared: set[str] = set()  # codes whose parent chain is known to end (at a root or cycle)
    for row in rows:
        path: list[str] = []
        code: str | None = row.code
        while code is not None and code not in cleared and code not in in_cycle:
            if code in path:
                cycle = path[path.index(code):]
                cycles.append((row, cycle))
                in_cycle.update(cycle)
                break
            path.append(code)
            code = parents.get(code)
        cleared.update(c for c in path if c not in in_cycle)
    return cycles


def check_tree(
    rows: Sequence[UnitRow],
    existing: Mapping[str, str | None] | None = None,
    *,
    source: str | None = None,
) -> list[UnitRow]:
    """Check that the rows form a valid tree together with the units already stored.

    Rows whose code is already stored update that unit, so their parent replaces the stored
    one when looking for cycles.

    Args:
        rows: The rows to import.
        existing: Codes already in the database, mapped to their parent codes.
        source: The file name for messages, for rows that do not carry one.

    Returns:
        The rows ordered so that every parent in the file precedes its children (otherwise in
        file order).

    Raises:
        UnitFileError: With every problem found: invalid or missing codes, names or types,
            negative or non-integer populations, duplicate codes, a unit that is its own
            parent, unknown parents and parent cycles (also through stored units).
    """
    stored: Mapping[str, str | None] = existing or {}
    if source:
        rows = [r if r.source else _with_source(r, source) for r in rows]
    found: list[tuple[int, str]] = []
    first_line: dict[str, int] = {}
    for row in rows:
        found.extend(_field_issues(row))
        if row.code in first_line:
            where = _where(row.source, row.line)
            again = f"defined more than once (first on line {first_line[row.code]})"
            found.append((row.line, f"{where}: code {row.code!r} is {again}"))
        elif row.code:
            first_line[row.code] = row.line
    for row in rows:
        parent = row.parent
        known = parent is None or parent in first_line or parent in stored
        if not known and parent != row.code:
            found.append((row.line, f"{_where(row.source, row.line)}: parent "
                                    f"{parent!r} is not defined"))
    # The tree after the import: stored units, overridden by the file's rows.
    parents: dict[str, str | None] = dict(stored)
    by_code: dict[str, UnitRow] = {}
    for row in rows:
        if row.code and row.code not in by_code:
            by_code[row.code] = row
            parents[row.code] = row.parent
    for start, cycle in _find_cycles(list(by_code.values()), parents):
        if len(cycle) == 1 and cycle[0] in by_code:
            continue  # a unit that is its own parent is already reported
        chain = " → ".join([*cycle, cycle[0]])
        in_file = [by_code[c] for c in cycle if c in by_code]
        if in_file:
            row = min(in_file, key=lambda r: r.line)
            found.append((row.line, f"{_where(row.source, row.line)}: parent cycle {chain}"))
        else:
            # Only stored units form the loop; the row is reported because it would hang on it.
            found.append((start.line, f"{_where(start.source, start.line)}: parent chain of "
                                      f"{start.code!r} runs into the stored cycle {chain}"))
    if found:
        raise UnitFileError([text for _, text in sorted(found, key=lambda item: item[0])])
    return _parents_first(list(by_code.values()))


def _with_source(row: UnitRow, source: str) -> UnitRow:
    return dataclasses.replace(row, source=source)


def _parents_first(rows: list[UnitRow]) -> list[UnitRow]:
    by_code = {row.code: row for row in rows}
    ordered: list[UnitRow] = []
    placed: set[str] = set()
    for row in rows:
        # Walk up to the first ancestor not yet placed, then place the chain top-down.
        chain: list[UnitRow] = []
        current: UnitRow | None = row
        while current is not None and current.code not in placed:
            chain.append(current)
            placed.add(current.code)
            current = by_code.get(current.parent) if current.parent else None
        ordered.extend(reversed(chain))
    return ordered


def load_units(
    source: str | Path,
    existing: Mapping[str, str | None] | None = None,
    fmt: UnitFormat | None = None,
    *,
    name: str | None = None,
) -> list[UnitRow]:
    """Parse a unit file and check its tree, reporting all problems of both steps at once.

    Args:
        source: As for :func:`parse_units`.
        existing: As for :func:`check_tree`.
        fmt: As for :func:`parse_units`.
        name: As for :func:`parse_units`.

    Returns:
        The rows, parents first.

    Raises:
        UnitFileError: With every problem found.
    """
    rows, issues, label = _parse(source, fmt, name)
    try:
        ordered = check_tree(rows, existing, source=label)
    except UnitFileError as exc:
        raise UnitFileError(issues + exc.issues) from None
    if issues:
        raise UnitFileError(issues)
    return ordered


@dataclass(frozen=True)
class ImportSummary:
    created: int
    updated: int
    unchanged: int


async def import_units(uow: UnitOfWork, rows: Sequence[UnitRow], actor: str) -> ImportSummary:
    """Create or update units from a parsed file, all or nothing.

    The file describes each unit whole: a value left out (population, the centre) is cleared.
    A province's file (100,000 units) is one transaction of bulk statements: the stored units
    read once as rows, new ones inserted a level of the tree at a time (a parent's id before
    its children's), changed ones updated together, and every creation and change audited,
    chained in the file's order, as one unit at a time would be.

    Raises:
        UnitFileError: the tree is broken (cycle, unknown parent, duplicates...).
    """
    existing = await uow.units.parents_by_code()
    ordered = check_tree(rows, existing)
    stored = await uow.units.stored()
    ids = {code: unit["id"] for code, unit in stored.items()}
    waves: list[list[dict[str, Any]]] = []  # new units by depth below a stored one
    depth: dict[str, int] = {}
    changed: list[tuple[UnitRow, dict[str, Any]]] = []
    events: list[Change] = []
    unchanged = 0
    for row in ordered:
        after = _audited(row)
        unit = stored.get(row.code)
        if unit is None:
            level = depth[row.code] = depth.get(row.parent, -1) + 1 if row.parent else 0
            if level == len(waves):
                waves.append([])
            waves[level].append({"code": row.code, **_fields(row)})
            events.append(("unit.create", "unit", row.code, None, after))
            continue
        before = _audited_stored(unit, existing.get(row.code))
        if before == after:
            unchanged += 1
            continue
        changed.append((row, unit))
        events.append(("unit.update", "unit", row.code, before, after))
    for wave in waves:
        for new in wave:
            parent = new.pop("parent")
            new["parent_id"] = ids[parent] if parent else None
        ids.update(await uow.units.insert_many(wave))
    await uow.units.update_many([
        {"id": unit["id"], **_fields(row, parent_id=ids[row.parent] if row.parent else None)}
        for row, unit in changed])
    await uow.audit.record_many(actor, events)
    return ImportSummary(len(ids) - len(stored), len(changed), unchanged)


def _fields(row: UnitRow, **values: Any) -> dict[str, Any]:
    return {"name": row.name, "name_zh": row.name_zh, "type": row.type,
            "population": row.population, "latitude": row.latitude,
            "longitude": row.longitude, "radius_km": row.radius_km,
            **(values or {"parent": row.parent})}


def _audited(row: UnitRow) -> dict[str, Any]:
    return {"code": row.code, "name": row.name, "name_zh": row.name_zh, "type": row.type,
            "parent": row.parent, "population": row.population, "latitude": row.latitude,
            "longitude": row.longitude, "radius_km": row.radius_km}


def _audited_stored(unit: dict[str, Any], parent: str | None) -> dict[str, Any]:
    return {"code": unit["code"], "name": unit["name"], "name_zh": unit["name_zh"],
            "type": unit["type"], "parent": parent, "population": unit["population"],
            "latitude": unit["latitude"], "longitude": unit["longitude"],
            "radius_km": unit["radius_km"]}
