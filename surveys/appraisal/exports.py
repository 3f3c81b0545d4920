"""Exports: collected data (CSV or JSON lines, one row per completed response) and a period's
appraisal results (CSV or XLSX, one row per unit and cadre): every result for the command
line, those of the reader's scope for the dashboard's ranking page, with the same tables."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, TextIO

from storage.models import Answer, AppraisalResult, AppraisalRun, AppraisalStatus
from surveys.appraisal.periods import PeriodError, parse_period
from surveys.appraisal.published_rows import PublishedRows
from surveys.appraisal.results import results_scope
from surveys.people.caller import Caller, Refused
from surveys.questionnaire.answers import from_row
from surveys.questionnaire.schema import Question, Survey
from surveys.text import spreadsheet_cell

if TYPE_CHECKING:
    from storage.uow import UnitOfWork


class ExportError(Exception):
    """The export cannot be made (e.g. an unknown campaign)."""


def _cell(question: Question, answer: Answer | None) -> object:
    value = None if answer is None else from_row(question, answer)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ";".join(value)
    return value


async def export_responses(uow: UnitOfWork, campaign_code: str, fmt: str, out: TextIO) -> int:
    """Write the campaign's completed responses to ``out``; return how many.

    Respondents appear by row number only: the pseudonymous key is not exported, so rows
    from different exports cannot be joined on it.
    """
    campaign = await uow.campaigns.by_code(campaign_code)
    if campaign is None:
        raise ExportError(f"unknown campaign {campaign_code!r}")
    version = await uow.surveys.get(campaign.survey_id)
    assert version is not None  # a foreign key guarantees it
    survey = Survey.model_validate(version.definition)
    question_ids = [q.id for q in survey.questions]
    header = ["row", "campaign", "survey", "survey_version", "unit", "language", "completed_at",
              *question_ids]
    writer = csv.writer(out) if fmt == "csv" else None
    if writer is not None:
        writer.writerow(header)
    count = 0
    for count, response in enumerate(await uow.responses.completed_with_answers(campaign.id), 1):
        by_question = {a.question_id: a for a in response.answers}
        done = response.completed_at
        completed = done.isoformat(timespec="minutes") if done else None
        values = [count, campaign.code, survey.id, version.version, campaign.unit.code,
                  response.language, completed,
                  *(_cell(q, by_question.get(q.id)) for q in survey.questions)]
        if writer is not None:
            writer.writerow([_csv_cell(v) for v in values])
        else:
            out.write(json.dumps(dict(zip(header, values, strict=True)), ensure_ascii=False) + "\n")
    return count


# --- appraisal ---------------------------------------------------------------------------

AppraisalFormat = Literal["csv", "xlsx"]
RESULT_COLUMNS = (
    "period", "version", "run_status", "kind", "unit_code", "unit_name", "cadre", "status",
    "score", "grade", "rank", "ranked", "responses", "min_responses", "excluded_total",
    "recognition", "exaggeration", "self_view", "others_view", "training", "training_zh",
)
# Residents' cases of the period (analysis.cases), when the run has any: raised, counted
# (settled), solved on time and its share, answered, "yes", "partly", "no", and the confirmed
# share with "partly" as half.
CASE_COLUMNS = (
    "cases_raised", "cases", "cases_on_time", "cases_on_time_share", "cases_answered",
    "cases_confirmed", "cases_partly", "cases_not_solved", "cases_confirmed_share",
)
COMPONENT_COLUMNS = (
    "period", "version", "kind", "unit_code", "unit_name", "cadre", "component", "label",
    "source", "weight", "used_weight", "n", "raw_mean", "score", "interval_low",
    "interval_high", "note",
)


@dataclass(frozen=True)
class _Table:
    header: list[str]
    rows: list[list[object]]


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _csv_cell(value: object) -> object:
    """A CSV cell: flags as yes/no, and text that no spreadsheet would run as a formula
    (a comment ``=HYPERLINK(...)`` is written ``'=HYPERLINK(...)``); numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return spreadsheet_cell(value)


def _rounded(value: object, digits: int = 2) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return round(float(value), digits)


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _versions(runs: Sequence[AppraisalRun]) -> str:
    return ", ".join(f"{run.version} {run.status.value}" for run in runs)


def _published(runs: Sequence[AppraisalRun]) -> AppraisalRun | None:
    published = [run for run in runs if run.status == AppraisalStatus.PUBLISHED]
    return published[-1] if published else None


async def _run_to_export(uow: UnitOfWork, label: str, version: int | None) -> AppraisalRun:
    runs = await uow.appraisal.runs(label)
    if version is not None:
        for run in runs:
            if run.version == version:
                return run
        listed = f"versions: {_versions(runs)}" if runs else "it has not been run"
        raise ExportError(f"no version {version} of the {label} appraisal ({listed})")
    published = _published(runs)
    if published is not None:
        return published
    if not runs:
        raise ExportError(f"no appraisal for {label}; run `civicpulse appraisal run --period "
                          f"{label}` first")
    raise ExportError(f"no published appraisal for {label}; run `civicpulse appraisal publish "
                      f"--period {label}` (or export an unpublished run with --version N; "
                      f"versions: {_versions(runs)})")


def _who(result: AppraisalResult) -> tuple[str, str, str]:
    detail = result.detail or {}
    cadre = str(detail.get("name") or "") if result.kind == "cadre" else ""
    return str(detail.get("unit_code") or ""), str(detail.get("unit_name") or ""), cadre


def _order(result: AppraisalResult) -> tuple[bool, bool, int, str, str, int]:
    code, _, cadre = _who(result)
    return (result.kind != "unit", result.rank is None, result.rank or 0, code, cadre,
            result.id)


def _share(part: object, whole: object) -> float | None:
    found, total = _rounded(part, 4), _count(whole)
    return None if found is None or not total else round(found / total, 4)


def _case_cells(figures: object) -> list[object]:
    """The CASE_COLUMNS of one result (empty where it had no cases)."""
    if not isinstance(figures, dict):
        return [None] * len(CASE_COLUMNS)
    cases, answered = figures.get("cases"), figures.get("answered")
    return [_count(figures.get("raised")), _count(cases), _count(figures.get("on_time")),
            _share(figures.get("on_time"), cases), _count(answered),
            _count(figures.get("confirmed")), _count(figures.get("partly")),
            _count(figures.get("not_solved")),
            _share(figures.get("confirmed_value"), answered)]


def _tables(run: AppraisalRun, results: Sequence[AppraisalResult]) -> tuple[_Table, _Table]:
    """The results (one row each, one score and n column per component, the case figures
    when the run has any) and the components (one row per result and component)."""
    component_ids: list[str] = []
    for result in results:
        for component in (result.detail or {}).get("components") or []:
            if component.get("id") not in component_ids:
                component_ids.append(str(component.get("id")))
    with_cases = any(isinstance((r.detail or {}).get("cases"), dict) for r in results)
    header = [*RESULT_COLUMNS,
              *(f"{cid}_{part}" for cid in component_ids for part in ("score", "n")),
              *(CASE_COLUMNS if with_cases else ()), "explanation"]
    rows: list[list[object]] = []
    parts: list[list[object]] = []
    for result in sorted(results, key=_order):
        detail = result.detail or {}
        code, unit_name, cadre = _who(result)
        training = detail.get("training") or []
        by_id = {str(c.get("id")): c for c in detail.get("components") or []}
        row: list[object] = [
            run.period, run.version, run.status.value, result.kind, code,
            _text(unit_name), _text(cadre), result.status, _rounded(result.score),
            result.grade, result.rank, _count(detail.get("ranked")), result.responses,
            _count(detail.get("min_responses")), _count(detail.get("excluded_total")),
            result.recognition, result.exaggeration, _rounded(detail.get("self_view")),
            _rounded(detail.get("others_view")),
            _text("; ".join(str(t.get("en", t.get("id", ""))) for t in training)),
            _text("; ".join(str(t.get("zh", t.get("id", ""))) for t in training)),
        ]
        for cid in component_ids:
            component = by_id.get(cid) or {}
            row += [_rounded(component.get("score")), _count(component.get("n"))]
        if with_cases:
            row += _case_cells(detail.get("cases"))
        row.append(_text(detail.get("explanation")))
        rows.append(row)
        for cid, component in by_id.items():
            interval = component.get("interval") or [None, None]
            parts.append([
                run.period, run.version, result.kind, code, _text(unit_name),
                _text(cadre), cid, _text(component.get("label")),
                component.get("source"), _rounded(component.get("weight"), 4),
                _rounded(component.get("used_weight"), 4), _count(component.get("n")),
                _rounded(component.get("raw_mean"), 4), _rounded(component.get("score")),
                _rounded(interval[0]), _rounded(interval[1]),
                _text(component.get("note")),
            ])
    return _Table(header, rows), _Table(list(COMPONENT_COLUMNS), parts)


@dataclass(frozen=True)
class AppraisalTables:
    """What an appraisal export holds: the results (the CSV, and the XLSX's first sheet),
    the components and the run's facts (the XLSX's other sheets)."""

    period: str
    results: _Table
    components: _Table
    run: _Table
    count: int  # results (units and cadres)


def appraisal_tables(run: AppraisalRun, results: Sequence[AppraisalResult],
                     scope: tuple[str, ...] | None = None, whole: bool = True
                     ) -> AppraisalTables:
    """The export of ``results`` of ``run``. A scoped one (``scope``: the codes of its tops,
    () for everywhere) names its scope on the run sheet; the run's summary counts the whole
    run, so it is there only when ``whole`` (every result of the run is exported)."""
    table, components = _tables(run, results)
    facts = [row for row in _run_facts(run) if whole or row[0] != "summary"]
    if scope is not None:
        facts.append(["scope", ", ".join(scope) or "all"])
    return AppraisalTables(run.period, table, components, _Table(["field", "value"], facts),
                           len(results))


def write_appraisal(tables: AppraisalTables, fmt: AppraisalFormat, out: BinaryIO) -> None:
    """Write an export as CSV (the results) or XLSX (results, components and run sheets):
    CPU work for a large scope, so the dashboard runs it off its event loop."""
    if fmt == "csv":
        _write_csv(tables.results, out)
    else:
        _write_xlsx([("results", tables.results), ("components", tables.components),
                     ("run", tables.run)], out)


async def scoped_appraisal(uow: UnitOfWork, caller: Caller, period: str,
                           unit_id: int | None = None,
                           published: PublishedRows | None = None) -> AppraisalTables:
    """The published results of ``period`` that the caller's ranking shows (their units and
    those below, or under ``unit_id``), as ``civicpulse export appraisal`` exports them.

    Raises:
        Refused: ``not_staff``, ``unknown_unit``, ``out_of_scope``, ``bad_period``,
            ``no_published_period``.
    """
    scope = await results_scope(uow, caller, unit_id, published)
    try:
        label = parse_period(period).label
    except PeriodError as exc:
        raise Refused("bad_period", scope.lang, {"period": period}) from exc
    run = _published(await uow.appraisal.runs(label))
    if run is None:
        raise Refused("no_published_period", scope.lang, {"period": label, "periods": ""})
    every = await uow.appraisal.results(run.id)
    # As the ranking page: a result counts where its unit is (none: nobody's scope holds it).
    results = [r for r in every if r.unit_id is not None and r.unit_id in scope.units]
    return appraisal_tables(run, results, scope.codes, whole=len(results) == len(every))


def _write_csv(table: _Table, out: BinaryIO) -> None:
    # UTF-8 with a byte-order mark: Excel then opens Chinese names correctly on double-click.
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
    try:
        writer = csv.writer(text)
        writer.writerow(table.header)
        for row in table.rows:
            writer.writerow([_csv_cell(value) for value in row])
        text.flush()
    finally:
        text.detach()  # the caller owns ``out``


def _run_facts(run: AppraisalRun) -> list[list[object]]:
    def when(moment: datetime | None) -> str | None:
        return None if moment is None else moment.isoformat(timespec="seconds")

    return [["period", run.period], ["version", run.version], ["status", run.status.value],
            ["computed_at", when(run.computed_at)], ["computed_by", run.computed_by],
            ["published_at", when(run.published_at)], ["published_by", run.published_by],
            ["approved_by", run.approved_by],
            # The audit log's head at publication: `civicpulse audit verify` checks the log
            # still reaches it; printed here, a copy outside the database can be compared too.
            ["audit_head_events", run.audit_head_events],
            ["audit_head_hash", run.audit_head_hash],
            ["config_hash", run.config_hash], ["results_hash", run.results_hash],
            ["summary", json.dumps(run.summary, ensure_ascii=False, sort_keys=True)]]


def _write_xlsx(tables: Sequence[tuple[str, _Table]], out: BinaryIO) -> None:
    # Imported here: openpyxl takes a moment to load and only this export needs it.
    from openpyxl import Workbook
    from openpyxl.cell.cell import (
        ILLEGAL_CHARACTERS_RE,
        WriteOnlyCell,
    )
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    bold = Font(bold=True)

    def cell(sheet: Any, value: object, header: bool = False) -> object:
        if value == "":
            return None  # a blank cell rather than an empty text
        if not isinstance(value, str):
            return value
        # Typed as text, so Excel does not run it; and prefixed like the CSV, so it is not
        # run either once edited or saved again as CSV.
        text = ILLEGAL_CHARACTERS_RE.sub("", value)
        made = WriteOnlyCell(sheet, value=spreadsheet_cell(text))
        made.data_type = "s"
        if header:
            made.font = bold
        return made

    for title, table in tables:
        sheet = book.create_sheet(title)
        sheet.freeze_panes = "A2"
        for index, name in enumerate(table.header, 1):
            wide = name in ("unit_name", "cadre", "label", "explanation", "training",
                            "training_zh", "note", "value")
            sheet.column_dimensions[get_column_letter(index)].width = 40 if wide else 12
        if table.rows:
            sheet.auto_filter.ref = (f"A1:{get_column_letter(len(table.header))}"
                                     f"{len(table.rows) + 1}")
        sheet.append([cell(sheet, name, header=True) for name in table.header])
        for row in table.rows:
            sheet.append([cell(sheet, value) for value in row])
    book.save(out)


@contextmanager
def _binary(out: Path | BinaryIO) -> Iterator[BinaryIO]:
    if isinstance(out, Path):
        with out.open("wb") as stream:
            yield stream
    else:
        yield out


async def export_appraisal(uow: UnitOfWork, period: str, fmt: AppraisalFormat,
                           out: Path | BinaryIO, version: int | None = None) -> int:
    """Write a period's appraisal results; return how many (units and cadres).

    Without ``version`` the period's published run is exported; with it, that run whatever its
    status (so a draft can be checked before publishing): the ``run_status`` column says which.
    CSV is one row per result: who, status, score, grade, rank, responses, exclusions,
    recognition, exaggeration, training, then ``<component>_score`` and ``<component>_n`` for
    every component id of the run (empty where a unit type lacks it), the residents' cases of
    the period when the run has any (:data:`CASE_COLUMNS`: counts and shares, empty where a unit
    or cadre had none) and the explanation; it is UTF-8 with a byte-order mark so Excel shows
    Chinese correctly, and yes/no for flags. XLSX has the same "results" sheet, a "components"
    sheet (one row per result and component: weight, used weight, n, raw mean, score, interval,
    note) and a "run" sheet (version, who computed and published it, hashes, summary); numbers
    are numbers, flags are booleans, text cells are typed as text (never formulas), headers are
    frozen. Scores are rounded to 2 decimals. In both, text that starts like a formula (=, +, -,
    @, a tab or a carriage return) is prefixed with ' so no spreadsheet runs it
    (:func:`surveys.text.spreadsheet_cell`). Units come first, best rank first, then cadres.

    Args:
        uow: A (read-only) unit of work.
        period: The period label, e.g. ``"2026-Q4"``.
        fmt: ``"csv"`` or ``"xlsx"``.
        out: A file path (created only once the run is found) or a binary stream, which is
            left open.
        version: The run's version; None for the published run.

    Raises:
        ExportError: The period cannot be read, has no published run (and no version was
            given), or has no such version.
    """
    try:
        label = parse_period(period).label
    except PeriodError as exc:
        raise ExportError(str(exc)) from None
    if fmt not in ("csv", "xlsx"):
        raise ExportError(f"unknown format {fmt!r}: csv or xlsx")
    run = await _run_to_export(uow, label, version)
    tables = appraisal_tables(run, await uow.appraisal.results(run.id))
    with _binary(out) as stream:
        write_appraisal(tables, fmt, stream)
    return tables.count
