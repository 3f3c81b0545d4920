"""`civicpulse cases list|show|export`, in-process against a real database: what is open and
how late, one case with its timeline and photos, and a period's cases as a table; never who
raised a case."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from openpyxl import load_workbook

from bot.cli import main
from storage.models import Case, CaseOutcome, CaseStatus
from storage.uow import Database
from surveys.cases import sealing, timeline
from surveys.cases.rules import HANDLER, RESIDENT
from tests.cases.test_supervision import add_entry, open_case
from tests.conftest import SECRET
from tests.test_cli import UNITS_CSV, env, write

__all__ = ["env"]  # the fixture, imported for these tests

T = TypeVar("T")
CHAT = 7_400_000_001
NOW = datetime.now(UTC)


def on_db(work: Callable[[Database], Awaitable[T]]) -> T:
    async def run() -> T:
        db = Database.from_url(os.environ["DATABASE_URL"])
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


@pytest.fixture
def cases(env: Path) -> dict[str, Case]:
    """Units, a cadre, and four cases: an open one, an overdue one taken by the cadre (with a
    conversation and a photo), a closed one in Pine Village and one opened long ago."""
    assert main(["units", "import", str(write(env, "units.csv", UNITS_CSV + "V2,Pine Village,"
                                              "T1,village,800\n"))]) == 0

    async def work(db: Database) -> dict[str, Case]:
        async with db.transaction() as uow:
            contact = await uow.contacts.get_or_create(7_400_000_009, 7_400_000_009)
            cadre = await uow.people.create("Cadre Wang", contact)
        made = {
            "open": await open_case(db, chat_id=CHAT, text="The lamp on Mill Road is dark"),
            "late": await open_case(db, chat_id=CHAT + 1, category="sanitation",
                                    due_in=timedelta(days=-2), status=CaseStatus.TAKEN,
                                    handler_id=cadre.id, photo=True,
                                    text="=HYPERLINK(\"http://x\") bins not emptied, 垃圾"),
            "closed": await open_case(db, unit="V2", status=CaseStatus.CLOSED,
                                      resolution="Repaired", outcome=CaseOutcome.CONFIRMED,
                                      resolved_at=NOW, resolved_on_time=True, closed_at=NOW),
            "old": await open_case(db, now=datetime(2025, 3, 4, 9, tzinfo=UTC),
                                   text="Old pothole", status=CaseStatus.CLOSED,
                                   resolution="Filled", outcome=CaseOutcome.NOT_CONFIRMED,
                                   reopened=1, escalation="not_solved", reports=3,
                                   resolved_on_time=False),
        }
        number = made["late"].number
        await add_entry(db, number, timeline.MESSAGE, timeline.TO_RESIDENT, author=HANDLER,
                        person_id=cadre.id, text="Which street?")
        await add_entry(db, number, timeline.MESSAGE, timeline.TO_HANDLER, author=RESIDENT,
                        text="Elm Street, by the school")
        return made

    return on_db(work)


def test_list_shows_cases_being_worked_on_with_time_left(
    cases: dict[str, Case], capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["cases", "list"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert [line.split()[0] for line in lines[:-1]] == [cases["late"].number,
                                                        cases["open"].number]
    assert "overdue by 2 day(s)" in lines[0] and "Cadre Wang" in lines[0]
    assert "day(s) left" in lines[1] and "The lamp on Mill Road" in lines[1]
    assert lines[-1] == "2 case(s)"
    assert str(CHAT) not in out

    assert main(["cases", "list", "--overdue"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith(cases["late"].number)
    assert main(["cases", "list", "--unit", "V2", "--status", "closed"]) == 0
    out = capsys.readouterr().out
    assert cases["closed"].number in out and "closed/confirmed" in out
    assert cases["old"].number not in out, "Willow Village's case is not Pine Village's"
    assert main(["cases", "list", "--unit", "T1", "--status", "closed"]) == 0
    assert "2 case(s)" in capsys.readouterr().out, "the township's includes its villages'"
    assert main(["cases", "list", "--unit", "V2"]) == 0
    assert capsys.readouterr().out == "no cases\n"


def test_list_refuses_an_unknown_unit_and_status(
    cases: dict[str, Case], capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["cases", "list", "--unit", "NOPE"]) == 1
    assert "no unit with the code 'NOPE'" in capsys.readouterr().err
    assert main(["cases", "list", "--unit", "N" * 5000]) == 1
    said = capsys.readouterr().err
    assert "no unit with the code 'NNNNNNNNNNNNNNNNNNNNNNN…'" in said and len(said) < 200
    with pytest.raises(SystemExit):
        main(["cases", "list", "--status", "lost"])


def test_show_gives_the_timeline_and_photos_but_never_who_raised_it(
    cases: dict[str, Case], capsys: pytest.CaptureFixture[str],
) -> None:
    late = cases["late"]
    # Typed loosely, as people do.
    assert main(["cases", "show", late.number.lower().replace("-", " ")]) == 0
    out = capsys.readouterr().out
    assert f"case {late.number}" in out
    assert "handler:" in out and "Cadre Wang" in out
    assert "reply handle:" in out and "sealed (who raised it is not shown)" in out
    assert "Which street?" in out and "Elm Street, by the school" in out
    timeline_lines = [line for line in out.splitlines() if re.match(r"  \d{4}-\d\d-\d\d ", line)]
    assert [line.split()[2] for line in timeline_lines] == ["resident", "Cadre", "resident"]
    assert f"sha256 {'ab' * 32}" in out
    async_seal = on_db(lambda db: _seal(db, late.id))
    assert async_seal is not None and async_seal not in out
    reporter = sealing.unseal(SECRET, late.id, async_seal)
    assert reporter is not None
    assert str(reporter.chat_id) not in out and reporter.quota_key not in out
    assert main(["cases", "show", "C-ZZZZZZ"]) == 1
    assert "no case 'C-ZZZZZZ'" in capsys.readouterr().err
    assert main(["cases", "show", "not a number"]) == 1
    assert "'not a number' is not a case number" in capsys.readouterr().err
    # An over-long argument is said back cut short, not whole.
    assert main(["cases", "show", "C-" + "Q" * 5000]) == 1
    said = capsys.readouterr().err
    assert "'C-QQQQQQQQQQQQQQQQQQQQQ…' is not a case number" in said
    assert len(said) < 200 and "Q" * 30 not in said


async def _seal(db: Database, case_id: int) -> str | None:
    async with db.reading() as uow:
        return await uow.cases.seal_of(case_id)


def test_export_writes_one_row_per_case_as_csv_and_xlsx(
    cases: dict[str, Case], env: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = env / "cases.csv"
    assert main(["cases", "export", "-o", str(path)]) == 0
    assert "4 case(s) exported" in capsys.readouterr().err
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert list(rows[0]) == ["number", "unit", "unit_name", "category", "origin", "status",
                             "outcome", "opened_on", "due", "resolved_at", "on_time",
                             "reopened", "reports", "escalation", "text"]
    by_number = {row["number"]: row for row in rows}
    old = by_number[cases["old"].number]
    assert (old["opened_on"], old["status"], old["outcome"], old["on_time"], old["reopened"],
            old["reports"], old["escalation"]) == (
        "2025-03-04", "closed", "not_confirmed", "no", "1", "3", "not_solved")
    late = by_number[cases["late"].number]
    assert late["text"].startswith("'=HYPERLINK"), "no spreadsheet runs it"
    assert late["text"].endswith("垃圾") and late["unit"] == "V1"
    assert by_number[cases["closed"].number]["on_time"] == "yes"
    assert not any(str(CHAT) in value for row in rows for value in row.values())

    xlsx = env / "cases.xlsx"
    assert main(["cases", "export", "--period", f"{NOW:%Y}", "--format", "xlsx",
                 "-o", str(xlsx)]) == 0
    assert f"3 case(s) opened in {NOW:%Y} exported" in capsys.readouterr().err
    sheet = load_workbook(xlsx, read_only=True)["cases"]
    table: list[Any] = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert table[0][0] == "number" and len(table) == 4
    assert cases["old"].number not in {row[0] for row in table}
    assert main(["cases", "export", "--period", "2026-13"]) == 1
    assert "the month must be 01 to 12" in capsys.readouterr().err


def test_a_case_whose_report_is_held_is_not_listed_shown_or_exported_yet(
    cases: dict[str, Case], env: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """The command line shows what staff see (surveys/cases/holding.py): a report still held
    is not there, and a resident's held reply is not in the timeline."""
    later = NOW + timedelta(hours=1)

    async def hold(db: Database) -> str:
        held = await open_case(db, text="Held pothole", held_until=later)
        async with db.transaction() as uow:
            case = await uow.cases.by_number(held.number, lock=True)
            assert case is not None
            for entry in await uow.cases.messages(case.id):
                entry.held_until = later
            late = await uow.cases.by_number(cases["late"].number, lock=True)
            assert late is not None
            await timeline.record(uow, late, timeline.MESSAGE, timeline.TO_HANDLER,
                                  author=RESIDENT, at=NOW, text="Held reply", held_until=later)
        return held.number

    number = on_db(hold)
    assert main(["cases", "list"]) == 0
    assert number not in capsys.readouterr().out
    assert main(["cases", "show", number]) == 1
    assert f"no case {number!r}" in capsys.readouterr().err
    assert main(["cases", "show", cases["late"].number]) == 0
    out = capsys.readouterr().out
    assert "Elm Street, by the school" in out and "Held reply" not in out
    path = env / "cases.csv"
    assert main(["cases", "export", "-o", str(path)]) == 0
    assert "4 case(s) exported" in capsys.readouterr().err
    assert number not in path.read_text(encoding="utf-8-sig")


def test_the_top_level_help_lists_cases(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "cases" in capsys.readouterr().out
