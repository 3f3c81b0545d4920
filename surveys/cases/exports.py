"""Cases for supervisors at the command line (``civicpulse cases list|show|export``): lists,
one case with its timeline and photos, and a table of cases for a period (CSV or XLSX).

None of these ever opens a seal: they show what staff see (the case, its unit and handler,
the resident's own words) and never who raised it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from storage.models import Case, CaseMessage, CasePhoto, CaseStatus, Person
from surveys.appraisal.periods import Period
from surveys.cases import holding
from surveys.cases.rules import ACTIVE, CaseRules, normalise_number
from surveys.people.access import UnitTree
from surveys.text import spreadsheet_cell

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

CaseFormat = Literal["csv", "xlsx"]
EXPORT_COLUMNS = (
    "number", "unit", "unit_name", "category", "origin", "status", "outcome", "opened_on",
    "due", "resolved_at", "on_time", "reopened", "reports", "escalation", "text",
)


class CaseQueryError(ValueError):
    """A list or an export that cannot be made (an unknown unit, say); the message says
    why."""


def last_day(due_at: datetime, rules: CaseRules) -> str:
    """A deadline as people say it: the last day to solve it, in the cases' time zone (the
    deadline itself is that day's end)."""
    local = due_at.astimezone(ZoneInfo(rules.time_zone)) - timedelta(microseconds=1)
    return local.date().isoformat()


@dataclass(frozen=True)
class Listed:
    case: Case
    unit_code: str
    unit_name: str
    handler: str | None


async def find_cases(uow: UnitOfWork, *, unit_code: str | None = None,
                     statuses: Collection[CaseStatus] | None = None, overdue: bool = False,
                     now: datetime) -> list[Listed]:
    """Cases of a unit and the units below it (None: all), in these statuses (None: those
    still being worked on); ``overdue``: only unresolved ones past their deadline.

    Raises:
        CaseQueryError: an unknown unit code.
    """
    tree = await UnitTree.load(uow)
    unit_ids = None
    if unit_code is not None:
        unit = tree.by_code.get(unit_code)
        if unit is None:
            # Said back cut short: an over-long argument whole would bury the error.
            shown = unit_code if len(unit_code) <= 24 else unit_code[:23] + "…"
            raise CaseQueryError(f"no unit with the code {shown!r}")
        unit_ids = tree.subtree(unit.id)
    if overdue:
        wanted = set(statuses or ACTIVE) & {CaseStatus.OPEN, CaseStatus.TAKEN}
    else:
        wanted = set(statuses or ACTIVE)
    # As staff see them: not a case whose report is still held (surveys.cases.holding).
    cases = await uow.cases.listed(unit_ids, wanted, due_before=now if overdue else None,
                                   shown_at=now)
    names = await _names(uow, {c.handler_id for c in cases if c.handler_id is not None})
    return [Listed(c, tree.by_id[c.unit_id].code, tree.path(c.unit_id, "en"),
                   names.get(c.handler_id) if c.handler_id else None)
            for c in sorted(cases, key=lambda c: (c.due_at, c.number))]


@dataclass(frozen=True)
class Detail:
    listed: Listed
    timeline: Sequence[tuple[CaseMessage, str]]  # each entry with who wrote it
    photos: Sequence[CasePhoto]
    sealed: bool  # a reply handle is kept (what it holds is not shown)
    merged_into: str | None


async def case_detail(uow: UnitOfWork, number: str, now: datetime) -> Detail | None:
    """One case by its number as typed ("c-7k3f9q" too), as staff see it at ``now``, or None
    if there is none (or staff may not see it yet: surveys.cases.holding)."""
    normal = normalise_number(number)
    case = await uow.cases.by_number(normal) if normal else None
    if case is None or holding.is_held(case.held_until, now):
        return None
    tree = await UnitTree.load(uow)
    entries = holding.shown(await uow.cases.messages(case.id), now)
    names = await _names(uow, {i for i in [case.handler_id, *(e.person_id for e in entries)]
                               if i is not None})
    into = await uow.cases.get(case.merged_into_id) if case.merged_into_id else None
    listed = Listed(case, tree.by_id[case.unit_id].code, tree.path(case.unit_id, "en"),
                    names.get(case.handler_id) if case.handler_id else None)
    return Detail(
        listed,
        [(e, names.get(e.person_id, e.author) if e.person_id else e.author) for e in entries],
        await uow.cases.photos(case.id), await uow.cases.seal_of(case.id) is not None,
        into.number if into else None)


async def _names(uow: UnitOfWork, ids: Collection[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await uow.session.execute(select(Person.id, Person.name).where(
        Person.id.in_(list(ids))))
    return {person_id: name for person_id, name in rows}


async def case_table(uow: UnitOfWork, rules: CaseRules, period: Period | None = None, *,
                     now: datetime) -> list[list[object]]:
    """One row per case (opened in ``period``, by its day; None: all) that staff may see at
    ``now``, in :data:`EXPORT_COLUMNS` order: who handles it is not in it, nor (ever) who
    raised it."""
    tree = await UnitTree.load(uow)
    opened = (period.start.date(), period.end.date()) if period is not None else None
    rows: list[list[object]] = []
    for case in await uow.cases.listed(opened=opened, shown_at=now):
        unit = tree.by_id[case.unit_id]
        rows.append([
            case.number, unit.code, unit.name, case.category, case.origin, str(case.status),
            str(case.outcome) if case.outcome else None, case.opened_on.isoformat(),
            last_day(case.due_at, rules),
            case.resolved_at.isoformat(timespec="minutes") if case.resolved_at else None,
            case.resolved_on_time, case.reopened, case.reports, case.escalation, case.text,
        ])
    return rows


def write_cases(rows: Sequence[Sequence[object]], fmt: CaseFormat,
                out: Path | BinaryIO) -> None:
    """Write the table: CSV (UTF-8 with a byte-order mark, so Excel shows Chinese; flags as
    yes/no) or XLSX (text typed as text). In both, text that starts like a formula is
    prefixed with ' (:func:`surveys.text.spreadsheet_cell`)."""
    if isinstance(out, Path):
        with out.open("wb") as stream:
            write_cases(rows, fmt, stream)
        return
    if fmt == "csv":
        text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
        try:
            writer = csv.writer(text)
            writer.writerow(EXPORT_COLUMNS)
            writer.writerows([_csv_cell(value) for value in row] for row in rows)
            text.flush()
        finally:
            text.detach()  # the caller owns ``out``
        return
    _write_xlsx(rows, out)


def _csv_cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return spreadsheet_cell(value)


def _write_xlsx(rows: Sequence[Sequence[object]], out: BinaryIO) -> None:
    # Imported here: openpyxl takes a moment to load and only this export needs it.
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet("cases")
    sheet.freeze_panes = "A2"
    sheet.column_dimensions["O"].width = 60

    def cell(value: object, bold: bool = False) -> object:
        if not isinstance(value, str):
            return value
        made = WriteOnlyCell(sheet, value=spreadsheet_cell(ILLEGAL_CHARACTERS_RE.sub("", value)))
        made.data_type = "s"
        if bold:
            made.font = Font(bold=True)
        return made

    sheet.append([cell(name, bold=True) for name in EXPORT_COLUMNS])
    for row in rows:
        sheet.append([cell(value) for value in row])
    book.save(out)
