"""The appraisal commands of `civicpulse`, in-process against a real database."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.cli import main
from storage.models import Answer, Response, ResponseStatus
from storage.uow import Database
from surveys.campaigns.admin import create_campaign
from surveys.questionnaire.loader import load_template
from tests.test_cli import UNITS_CSV, env, write

__all__ = ["env"]  # the fixture, imported for these tests

MID = datetime(2026, 11, 10, 9, tzinfo=UTC)


def seed_answers(count: int, rating: int = 4) -> None:
    """A residents' campaign for V1 with ``count`` completed responses, as the bot stores them."""

    async def work() -> None:
        db = Database.from_url(os.environ["DATABASE_URL"])
        try:
            async with db.transaction() as uow:
                await create_campaign(uow, survey=load_template("resident_satisfaction"),
                                      unit_code="V1", code="willow-q4",
                                      opens_at=MID - timedelta(days=20),
                                      closes_at=MID + timedelta(days=20),
                                      now=MID - timedelta(days=21), actor="test")
                campaign = await uow.campaigns.by_code("willow-q4")
                assert campaign is not None
                for i in range(count):
                    at = MID + timedelta(hours=i)
                    # Ids 1, 2, … (the bot's are random) so the CLI can be given them.
                    response = Response(
                        id=i + 1, campaign_id=campaign.id, survey_id=campaign.survey_id,
                        respondent_key=f"{i:064d}", status=ResponseStatus.COMPLETED,
                        current_question=None, step=5, language="en",
                        started_at=at - timedelta(seconds=50), completed_at=at, duration_s=50)
                    uow.session.add(response)
                    await uow.session.flush()
                    for question, kind, indicator, value in (
                            ("overall", "rating", "overall_satisfaction", rating),
                            ("resolved", "yesno", "problem_solved", 1),
                            ("timeliness", "rating", "responsiveness", rating),
                            ("courtesy", "rating", "attitude", 5)):
                        uow.session.add(Answer(
                            response_id=response.id, question_id=question,
                            question_type=kind, indicator=indicator, skipped=False,
                            value_number=float(value)))
                    uow.session.add(Answer(
                        response_id=response.id, question_id="comment", question_type="text",
                        indicator="comments", skipped=False,
                        value_text=f"The queue was short and staff were helpful, visit {i}"))
        finally:
            await db.dispose()

    asyncio.run(work())


def test_run_review_publish_and_export_a_period(
        env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    seed_answers(12)
    kpis = write(env, "kpis.csv", "unit,period,kpi,value\nV1,2026-Q4,waste_collection_rate,90\n")
    assert main(["kpi", "import", str(kpis)]) == 0
    assert "1 inserted" in capsys.readouterr().out

    assert main(["appraisal", "run", "--period", "2026-Q4"]) == 0
    out = capsys.readouterr().out
    assert "2026-Q4 version 1 computed (draft)" in out and "12 valid response(s)" in out
    assert main(["appraisal", "show", "--period", "2026-Q4", "--explain"]) == 0
    shown = capsys.readouterr().out
    assert "version 1: draft" in shown and "Willow Village" in shown
    assert "Resident satisfaction" in shown and "Riverside County" in shown

    # Nothing is published yet: the export says what to do.
    assert main(["export", "appraisal", "--period", "2026-Q4", "--format", "csv"]) == 1
    assert "appraisal publish --period 2026-Q4" in capsys.readouterr().err
    # Four eyes (on by default): an admin asks, an auditor approves.
    for telegram_id, role in (("7001", "admin"), ("7002", "auditor")):
        assert main(["admin", "add", "--telegram-id", telegram_id, "--role", role,
                     "--name", f"{role.title()} Li"]) == 0
    assert main(["appraisal", "publish", "--period", "2026-Q4", "--by", "7001"]) == 0
    assert "2026-Q4 version 1 awaits an auditor's approval" in capsys.readouterr().out
    assert main(["appraisal", "approve", "--period", "2026-Q4", "--by", "7002"]) == 0
    assert "2026-Q4 version 1 published" in capsys.readouterr().out
    assert main(["appraisal", "publish", "--period", "2026-Q4", "--by", "7001"]) == 1
    assert "nothing new to publish" in capsys.readouterr().err

    target = env / "appraisal.csv"
    assert main(["export", "appraisal", "--period", "2026-Q4", "-o", str(target)]) == 0
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    willow = next(r for r in rows if r["unit_code"] == "V1" and r["kind"] == "unit")
    assert willow["status"] == "graded" and float(willow["score"]) > 70
    xlsx = env / "appraisal.xlsx"
    assert main(["export", "appraisal", "--period", "2026-Q4", "--format", "xlsx",
                 "-o", str(xlsx)]) == 0
    sheet = load_workbook(xlsx, read_only=True)["results"]
    header = next(sheet.iter_rows(values_only=True))
    assert "score" in header and "explanation" in header

    assert main(["stats", "--period", "2026-Q4", "--unit", "V1"]) == 0
    stats = capsys.readouterr().out
    assert "overall [overall_satisfaction] n=12" in stats and "CSAT 100%" in stats
    assert main(["anomalies", "list", "--period", "2026-Q4"]) == 0
    assert "no flagged responses" in capsys.readouterr().out


def test_a_bad_kpi_file_is_refused_whole_with_line_numbers(
        env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    capsys.readouterr()
    bad = write(env, "bad.csv", "unit,period,kpi,value\n"
                "V1,2026-Q4,waste_collection_rate,91\n"
                "NOPE,2026-Q4,waste_collection_rate,80\n"
                "V1,2026-Q4,waste_collection_rate,lots\n")
    assert main(["kpi", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "line 3" in err and "NOPE" in err and "line 4" in err and "nothing was imported" in err
    missing = write(env, "missing.csv", "unit,kpi,value\nV1,waste_collection_rate,91\n")
    assert main(["kpi", "import", str(missing)]) == 1
    assert "period" in capsys.readouterr().err
    good = write(env, "good.csv", "unit,period,kpi,value\nV1,2026-Q4,waste_collection_rate,91\n")
    assert main(["kpi", "import", str(good)]) == 0
    assert "1 inserted" in capsys.readouterr().out, "the refused files left nothing behind"


def test_a_period_that_cannot_be_read_or_has_no_run(
        env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["appraisal", "run", "--period", "2026-Q5"]) == 1
    assert "period" in capsys.readouterr().err
    assert main(["appraisal", "publish", "--period", "2026-Q4"]) == 1
    assert "--by" in capsys.readouterr().err, "who asks is said before anything else"
    assert main(["admin", "add", "--telegram-id", "7001"]) == 0
    assert main(["appraisal", "publish", "--period", "2026-Q4", "--by", "7001"]) == 1
    assert "appraisal run --period 2026-Q4" in capsys.readouterr().err


def test_weights_that_do_not_sum_to_one_stop_with_a_clear_message(
        env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write(env, "weights.yaml", """appraisal:
  unit_types:
    "*":
      - {id: satisfaction, source: residents, answers: overall_satisfaction, weight: 0.6}
      - {id: key_tasks, source: inspections, weight: 0.3}
""")
    assert main(["--config", str(config), "appraisal", "run", "--period", "2026-Q4"]) == 2
    err = capsys.readouterr().err
    assert "appraisal" in err and "sum to 0.9, not 1" in err


def test_sentiment_score_reads_lines_and_writes_json_lines(
        env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    lines = ["Staff were kind and solved my problem quickly", "", "排队三个小时，还被推来推去",
             "😡😡😡", "x" * 10_000]
    stdin = io.TextIOWrapper(io.BytesIO("\n".join(lines).encode()), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(["sentiment", "score"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == len(lines)
    assert all(set(r) == {"language", "polarity", "label"} for r in rows)
    assert rows[0]["label"] == "positive" and rows[0]["language"] == "en"
    assert rows[1] == {"language": "und", "polarity": 0.0, "label": "neutral"}
    assert rows[2]["label"] == "negative" and rows[2]["language"] == "zh"
    assert rows[3]["label"] == "negative"
    assert all(-1 <= r["polarity"] <= 1 for r in rows)


def test_an_auditor_dismisses_flags_and_the_responses_count_again(
        env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 50 s for 5 answers is under the 20 s per answer asked here, and three equal ratings are
    # straight-lining from 3 items: every response gets both flags.
    strict = str(write(env, "strict.yaml", "anomalies:\n  too_fast_seconds_per_answer: 20\n"
                       "  straight_lining_min_items: 3\n"))
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    seed_answers(6, rating=5)

    def run(config: str) -> str:
        assert main(["--config", config, "appraisal", "run", "--period", "2026-Q4"]) == 0
        return capsys.readouterr().out

    assert "0 valid response(s); flagged: 6 straight_lining, 6 too_fast" in run(strict)

    # Unknown responses, missing or over-long reasons and names: refused whole.
    for argv, error in (
            (["dismiss", "--response", "1", "--response", "999", "--reason", "a meeting"],
             "response(s) 999: no flag to dismiss"),
            (["dismiss", "--response", "1", "--reason", "  "], "--reason"),
            (["dismiss", "--response", "1", "--reason", "x" * 301], "301 characters"),
            (["dismiss", "--response", "1", "--reason", "ok", "--by", "x" * 65],
             "at most 64 characters"),
            (["restore", "--response", "1"], "no dismissed flag to restore"),
            (["restore", "--response", "1", "--by", "x" * 65], "at most 64 characters")):
        assert main(["anomalies", *argv]) == 1
        assert error in capsys.readouterr().err
    assert "6 straight_lining, 6 too_fast" in run(strict), "nothing was changed"

    assert main(["anomalies", "dismiss", "--response", "1", "--response", "2", "--by",
                 "auditor Zhou", "--reason", "Checked the paper forms: typed in by a clerk"]) == 0
    assert "dismissed 4 flag(s): response 1 too_fast, response 1 straight_lining" in (
        capsys.readouterr().out)
    # Dismissing one of two flags leaves the response excluded by the other, and says so.
    assert main(["anomalies", "dismiss", "--response", "3", "--kind", "too_fast",
                 "--reason", "slow phone clock"]) == 0
    assert "response 3 is still excluded by its straight_lining flag" in (
        capsys.readouterr().out)
    assert main(["anomalies", "list", "--period", "2026-Q4"]) == 0
    listed = capsys.readouterr().out
    assert "dismissed by auditor Zhou" in listed and "(counts in scores)" in listed
    assert "slow phone clock (still excluded by its straight_lining flag)" in listed
    # A rerun keeps the dismissals and raises the other flags again.
    assert "2 valid response(s); flagged: 4 straight_lining, 3 too_fast" in run(strict)

    assert main(["anomalies", "restore", "--response", "2", "--reason", "seen again"]) == 0
    assert "restored 2 flag(s): response 2 too_fast, response 2 straight_lining" in (
        capsys.readouterr().out)
    assert main(["audit", "show", "anomaly_flag"]) == 0
    assert '"why": "seen again"' in capsys.readouterr().out
    assert "1 valid response(s); flagged: 5 straight_lining, 4 too_fast" in run(strict)

    # With the default thresholds nothing is raised: the dismissed flags go (the audit log
    # keeps them), and there is nothing left to restore.
    default = str(write(env, "default.yaml", "anomalies: {}\n"))
    assert "6 valid response(s); flagged: none" in run(default)
    assert main(["anomalies", "restore", "--response", "1"]) == 1
    assert "no dismissed flag to restore" in capsys.readouterr().err
    assert main(["audit", "verify"]) == 0


def test_output_piped_into_a_reader_that_stops_early_is_not_called_a_database_error(
        env: Path) -> None:
    # `civicpulse sentiment score < comments.txt | head -1`: the reader closes the pipe long
    # before the output ends (far more than a pipe's 64 KB buffer).
    import subprocess

    comments = write(env, "comments.txt", "The clerk was very helpful today\n" * 5000)
    with comments.open("rb") as stdin, (env / "stderr.txt").open("w+b") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())",
             "sentiment", "score"], stdin=stdin, stdout=subprocess.PIPE, stderr=stderr,
            env=dict(os.environ))
        assert process.stdout is not None
        first = process.stdout.readline()
        process.stdout.close()
        assert process.wait(timeout=120) == 1
        stderr.seek(0)
        assert b"database" not in stderr.read()
    assert b'"label"' in first
