"""The command line and text that is not what it seems: exports read back as a spreadsheet
would read them (no cell runs as a formula, numbers stay numbers), unit and KPI files in
another encoding refused with the line, and typed names and titles cleaned by the one rule."""

from __future__ import annotations

import asyncio
import csv
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from storage.models import KeyTask, Person, Role, Unit
from storage.responses import Completion
from storage.uow import Database
from surveys.campaigns.admin import create_campaign
from surveys.questionnaire.answers import to_row
from surveys.questionnaire.loader import load_template
from surveys.questionnaire.schema import AnswerValue, Survey
from tests.test_cli import UNITS_CSV, env, write

__all__ = ["env"]  # the fixture, shared with tests/test_cli.py

FORMULAS = ['=HYPERLINK("http://evil.example","click")', "+1+1", "-2+3", "@SUM(A1:A9)",
            "\t=1+2", "\r=1+2"]
SURVEY = {
    "id": "frost", "audience": "residents", "anonymous": True,
    "title": {"en": "Frost", "zh": "霜冻"}, "intro": {"en": "Two questions.", "zh": "两个问题。"},
    "questions": [
        {"id": "low", "type": "number", "min": -50, "max": 50,
         "text": {"en": "Lowest temperature?", "zh": "最低气温？"}},
        {"id": "comment", "type": "text", "required": False,
         "text": {"en": "Anything else?", "zh": "还有什么？"}},
    ],
}


def run_db(work: Callable[[Database], Awaitable[None]]) -> None:
    async def wrapped() -> None:
        db = Database.from_url(os.environ["DATABASE_URL"])
        try:
            await work(db)
        finally:
            await db.dispose()

    asyncio.run(wrapped())


def seed_responses(answers: list[tuple[int, str]]) -> None:
    """A campaign of the frost survey in V1 with one completed response per answer pair."""

    async def seed(db: Database) -> None:
        survey = Survey.model_validate(SURVEY)
        at = datetime.now(UTC) - timedelta(hours=1)
        async with db.transaction() as uow:
            campaign = await create_campaign(uow, survey=survey, unit_code="V1", code="frost",
                                             opens_at=at, closes_at=at + timedelta(days=5),
                                             now=at, actor="test")
            for index, (low, comment) in enumerate(answers):
                response = await uow.responses.create(campaign.id, campaign.survey_id,
                                                      f"{index:064d}", "en", None,
                                                      started_at=at)
                assert response is not None
                values: dict[str, AnswerValue] = {"low": low, "comment": comment}
                for question in survey.questions:
                    await uow.responses.save_answer(response,
                                                    to_row(question, values[question.id]))
                assert await uow.responses.advance(response, current_question=None,
                                                   draft=None, completed=Completion(at, 60))

    run_db(seed)


def test_export_responses_neutralises_formulas_and_keeps_negative_numbers(
    env: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    seed_responses([(-12, FORMULAS[0]), (-35, FORMULAS[1]), (4, FORMULAS[2]),
                    (0, FORMULAS[3]), (-1, FORMULAS[4]), (2, FORMULAS[5]),
                    (-7, "-5 degrees, no heating"), (1, "fine = good")])
    capsys.readouterr()
    out_file = env / "frost.csv"
    assert main(["export", "responses", "--campaign", "frost", "-o", str(out_file)]) == 0
    with out_file.open(encoding="utf-8", newline="") as read:
        rows = list(csv.DictReader(read))
    assert len(rows) == 8
    # Rows come in no particular order (responses have random ids): pair each comment with
    # its number. Numbers are numbers: a negative one is written as it is, not as text.
    assert sorted((row["comment"], row["low"]) for row in rows) == sorted([
        ('\'=HYPERLINK("http://evil.example","click")', "-12"), ("'+1+1", "-35"),
        ("'-2+3", "4"), ("'@SUM(A1:A9)", "0"), ("'\t=1+2", "-1"), ("'\r=1+2", "2"),
        ("'-5 degrees, no heating", "-7"), ("fine = good", "1")])
    for row in rows:
        for column, cell in row.items():
            if column != "low":
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (column, cell)
    # JSON lines are data, not a spreadsheet: exactly what was typed.
    assert main(["export", "responses", "--campaign", "frost", "--format", "jsonl"]) == 0
    out = capsys.readouterr().out
    assert '"comment": "=HYPERLINK(\\"http://evil.example\\",\\"click\\")"' in out


def test_export_self_assessments_neutralises_names_and_answers(
    env: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    opened = datetime(2026, 11, 3, 9, tzinfo=UTC)

    async def seed(db: Database) -> None:
        survey = load_template("cadre_self_assessment")
        async with db.transaction() as uow:
            # A name stored before names were cleaned, or typed so on purpose.
            person = await uow.cadres.create("=cmd|' /C calc'!A0", "Village head")
            await uow.people.grant(person, Role.CADRE, await uow.units.by_code("V1"))
            campaign = await create_campaign(
                uow, survey=survey, unit_code="T1", code="self-202611", opens_at=opened,
                closes_at=opened + timedelta(days=10), now=opened, actor="test")
            response = await uow.responses.create(campaign.id, campaign.survey_id, "k" * 64,
                                                  "en", None, started_at=opened)
            assert response is not None
            response.person_id = person.id
            values: dict[str, AnswerValue] = {
                "task_progress": 4, "tasks_completed": 12, "main_obstacle": "paperwork",
                "need_training": True, "training_topics": ["digital"],
                "comment": "@SUM(1+1)*cmd|' /C calc'!A0"}
            for question in survey.questions:
                await uow.responses.save_answer(response, to_row(question, values[question.id]))
            assert await uow.responses.advance(
                response, current_question=None, draft=None,
                completed=Completion(opened + timedelta(days=1), 120))

    run_db(seed)
    out_file = env / "self.csv"
    assert main(["export", "self-assessments", "--period", "2026-11", "-o", str(out_file)]) == 0
    with out_file.open(encoding="utf-8", newline="") as read:
        rows = list(csv.DictReader(read))
    by_question = {row["question_id"]: row for row in rows}
    assert {row["name"] for row in rows} == {"'=cmd|' /C calc'!A0"}
    assert by_question["comment"]["value"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert by_question["tasks_completed"]["value"] == "12", "a number stays a number"


# --- unit and KPI files ---------------------------------------------------------------------


async def _unit_names(db: Database) -> dict[str, str]:
    async with db.reading() as uow:
        return {u.code: u.name for u in (await uow.session.scalars(select(Unit))).all()}


def unit_names() -> dict[str, str]:
    found: dict[str, str] = {}

    async def read(db: Database) -> None:
        found.update(await _unit_names(db))

    run_db(read)
    return found


LATIN_UNITS = "code,name,parent,type\nCH,Schweiz,,county\nZH,Zürich,CH,township\n"


def test_a_latin1_units_file_is_refused_with_the_line_and_nothing_imported(
    env: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    latin = env / "units.csv"
    latin.write_bytes(LATIN_UNITS.encode("latin-1"))
    assert main(["units", "import", str(latin)]) == 1
    err = capsys.readouterr().err
    assert (f"{latin} line 3: byte 0xFC is not UTF-8 (invalid start byte): it looks like "
            "Latin-1 or Windows-1252; save the file as 'CSV UTF-8 (comma delimited)'") in err
    assert "nothing was imported" in err
    assert unit_names() == {}, "no garbled names such as 'Z黵ich'"


def test_a_gb18030_units_file_is_refused_too(env: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    gbk = env / "units.csv"
    gbk.write_bytes("code,name,type\nC1,河西县,county\n".encode("gb18030"))
    assert main(["units", "import", str(gbk)]) == 1
    err = capsys.readouterr().err
    assert f"{gbk} line 2: byte 0xBA is not UTF-8" in err and "GBK/GB18030" in err
    assert unit_names() == {}


def test_a_units_file_with_a_bom_is_read_and_names_are_cleaned(
    env: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    bom = env / "units.csv"
    # Excel's "CSV UTF-8" starts with a byte-order mark; a name may carry invisible junk.
    bom.write_bytes(b"\xef\xbb\xbf" + (LATIN_UNITS + "BJ,\u200b北京\x1b市\u200b,CH,township\n"
                                       ).encode("utf-8"))
    assert main(["units", "import", str(bom)]) == 0
    assert "3 created" in capsys.readouterr().out
    assert unit_names() == {"CH": "Schweiz", "ZH": "Zürich", "BJ": "北京市"}
    bare = write(env, "bare.csv", LATIN_UNITS.replace("Schweiz", "Suisse"))
    assert main(["units", "import", str(bare)]) == 0
    assert unit_names()["CH"] == "Suisse"


def test_a_latin1_kpi_file_is_refused_with_the_line(
    env: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    kpis = env / "kpis.csv"
    kpis.write_bytes("unit,period,kpi,value\nV1,2026-Q4,waste,90\nVü,2026-Q4,waste,80\n"
                     .encode("latin-1"))
    assert main(["kpi", "import", str(kpis)]) == 1
    err = capsys.readouterr().err
    assert (f"{kpis} line 3: byte 0xFC is not UTF-8 (invalid start byte): it looks like "
            "Latin-1 or Windows-1252") in err


# --- names and titles typed on the command line ---------------------------------------------


def test_names_and_titles_typed_with_invisible_characters_are_cleaned_or_refused(
    env: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    capsys.readouterr()
    assert main(["cadre", "invite", "--name", "\u200b\u2060", "--unit", "V1",
                 "--position", "Head"]) == 1
    assert "the cadre's name is empty" in capsys.readouterr().err
    assert main(["cadre", "invite", "--name", "Zhang\x1b Li\u200b", "--unit", "V1",
                 "--position", "Village\thead", "--task", "Roads\x07"]) == 0
    capsys.readouterr()
    assert main(["cadre", "task", "add", "1", "\ufeff\u200d"]) == 1
    assert "a key task needs a title" in capsys.readouterr().err
    assert main(["admin", "add", "--telegram-id", "777", "--name", "Ad\x1bmin\u200b"]) == 0
    assert "Admin (Telegram 777)" in capsys.readouterr().out
    found: dict[str, object] = {}

    async def read(db: Database) -> None:
        async with db.reading() as uow:
            found["people"] = sorted(
                (p.name, p.position) for p in (await uow.session.scalars(select(Person))).all())
            found["tasks"] = [t.title for t in (await uow.session.scalars(select(KeyTask))).all()]

    run_db(read)
    assert found["people"] == [("Admin", None), ("Zhang Li", "Village head")]
    assert found["tasks"] == ["Roads"]


def test_entry_labels_and_dismissal_reasons_are_cleaned_or_refused(
    env: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    template = Path(__file__).parent.parent / "surveys" / "templates" / "resident_satisfaction.yaml"
    assert main(["campaign", "create", "--survey", str(template), "--unit", "V1",
                 "--code", "willow"]) == 0
    assert main(["campaign", "entry", "willow", "w1", "--label", "Window\x1b 1\u200b"]) == 0
    assert main(["campaign", "entry", "willow", "w2", "--label", "\u200b\u2060"]) == 0
    assert main(["campaign", "entry", "willow", "w3", "--label", "x" * 201]) == 1
    assert "the label is 201 characters; the limit is 200" in capsys.readouterr().err
    labels: dict[str, str | None] = {}

    async def read(db: Database) -> None:
        async with db.reading() as uow:
            campaign = await uow.campaigns.by_code("willow")
            assert campaign is not None
            for entry in await uow.entry_points.of(campaign.id):
                labels[entry.name] = entry.label

    run_db(read)
    assert labels == {"w1": "Window 1", "w2": None}, "a label of nothing visible is no label"
    for args, message in (
        (["--reason", "\u200b\u200d\ufeff"], "say why the flag is dismissed (--reason)"),
        (["--reason", "checked", "--by", "\u2060\x1b"], "say who decides (--by)"),
    ):
        assert main(["anomalies", "dismiss", "--response", "1", *args]) == 1
        assert message in capsys.readouterr().err
