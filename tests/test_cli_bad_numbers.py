"""Command-line ids that no record can have get the command's own "no such ..." answer, never
"cannot use the database" (PostgreSQL refuses a number past its column's range); what is no
number at all is refused by the option itself. Either way nothing changes."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.cli import main
from storage.ids import shown_id
from storage.models import Base
from storage.uow import Database
from tests.test_cli import TEMPLATE, UNITS_CSV, env, write
from tests.test_cli_appraisal import seed_answers

__all__ = ["env"]  # the fixture, used by name

# Past int32, past 2**53, past int64, far past it, zero and below.
IMPOSSIBLE = [str(2**31), str(2**53), str(2**63), str(10**20), "9" * 40, "0", "-1"]
NOT_NUMBERS = ["12abc", "٣", "1_0", "²", "1e3", ""]


def everything() -> dict[str, list[tuple[Any, ...]]]:
    async def read() -> dict[str, list[tuple[Any, ...]]]:
        db = Database.from_url(os.environ["DATABASE_URL"])
        try:
            async with db.reading() as uow:
                return {t.name: sorted((tuple(r) for r in
                                        (await uow.session.execute(select(t))).all()), key=repr)
                        for t in Base.metadata.sorted_tables}
        finally:
            await db.dispose()

    return asyncio.run(read())


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run a command that must refuse with one plain line (exit 1); returns that line."""
    assert main(argv) == 1, argv
    err = capsys.readouterr().err
    assert err.startswith("civicpulse: ") and err.count("\n") == 1, err
    assert "database" not in err and "Traceback" not in err, err
    return err


def bad_option(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run a command whose option is no number: argparse's usage error (exit 2)."""
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2, argv
    return capsys.readouterr().err


@pytest.fixture
def profile(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Units, one cadre profile (id 1) with one key task."""
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    assert main(["cadre", "invite", "--name", "Zhang Li", "--unit", "V1", "--position", "Head",
                 "--task", "Roads"]) == 0
    capsys.readouterr()


def test_cadre_invite_and_task_add_say_no_such_profile(
    profile: None, capsys: pytest.CaptureFixture[str]
) -> None:
    before = everything()
    for value in IMPOSSIBLE:
        err = refused(["cadre", "invite", "--person", value], capsys)
        assert f"no profile with id {shown_id(int(value))}" in err
        err = refused(["cadre", "task", "add", value, "Parks"], capsys)
        assert f"no profile with id {shown_id(int(value))}" in err
    for value in NOT_NUMBERS:
        assert "not an id" in bad_option(["cadre", "invite", "--person", value], capsys)
        assert "not an id" in bad_option(["cadre", "task", "add", value, "Parks"], capsys)
    assert everything() == before


def test_anomalies_dismiss_and_restore_say_no_flag(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    seed_answers(3, rating=5)
    strict = str(write(env, "strict.yaml", "anomalies:\n  too_fast_seconds_per_answer: 20\n"))
    assert main(["--config", strict, "appraisal", "run", "--period", "2026-Q4"]) == 0
    capsys.readouterr()
    before = everything()
    for value in IMPOSSIBLE:
        # With a flagged response beside it: all or nothing, so that one is not dismissed.
        err = refused(["anomalies", "dismiss", "--response", "1", "--response", value,
                       "--reason", "a meeting"], capsys)
        assert f"response(s) {shown_id(int(value))}: no flag to dismiss" in err
        err = refused(["anomalies", "restore", "--response", value], capsys)
        assert f"response(s) {shown_id(int(value))}: no dismissed flag to restore" in err
    for value in NOT_NUMBERS:
        assert "not an id" in bad_option(["anomalies", "dismiss", "--response", value,
                                          "--reason", "a meeting"], capsys)
    assert everything() == before


def test_admin_add_refuses_what_cannot_be_a_telegram_id(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    capsys.readouterr()
    before = everything()
    for value in (str(2**63), str(10**20), "9" * 40, "0", "-1"):
        err = refused(["admin", "add", "--telegram-id", value], capsys)
        assert f"{int(value)} is not a Telegram user id" in err
    for value in NOT_NUMBERS:
        assert "not an id" in bad_option(["admin", "add", "--telegram-id", value], capsys)
    assert everything() == before
    # Telegram ids do go past int32: such an account is added.
    assert main(["admin", "add", "--telegram-id", str(2**40), "--name", "Big Id"]) == 0
    assert f"Big Id (Telegram {2**40}) is now admin" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [
    ["audit", "show", "note", "--limit"],
    ["anomalies", "list", "--period", "2026-Q4", "--limit"],
])
def test_counts_past_the_column_are_refused_by_the_option(
    env: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    for value in (str(2**31), str(10**20), "0", "-1", "ten"):
        assert "give a whole number from 1 to 2147483647" in bad_option([*argv, value], capsys)


def test_a_target_past_the_column_is_refused_and_creates_nothing(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    capsys.readouterr()
    before = everything()
    for value in (str(2**31), str(10**20), "0", "-1"):
        err = refused(["campaign", "create", "--survey", str(TEMPLATE), "--unit", "V1",
                       "--code", "plan", "--target", value], capsys)
        assert "the target number of responses must be at least 1 and at most 2147483647" in err
    assert everything() == before


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--closes", "99999999999999d", "too long: at most 3660 days"),
    ("--closes", f"{10**20}h", "too long: at most 3660 days"),
    ("--opens", "3661d", "too long: at most 3660 days"),
    ("--closes", "9999-12-31", "cannot read the time '9999-12-31'"),
    ("--opens", "0001-01-01T00:00+08:00", "cannot read the time"),
    ("--remind", "99999999999999d", "too long: at most 3660 days"),
])
def test_times_and_durations_past_the_calendar_are_refused(
    env: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str, message: str
) -> None:
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    capsys.readouterr()
    before = everything()
    err = refused(["campaign", "create", "--survey", str(TEMPLATE), "--unit", "V1",
                   "--code", "plan", flag, value], capsys)
    assert message in err
    assert everything() == before


def test_a_population_past_the_column_is_refused_and_nothing_is_imported(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = everything()
    for population in ("3000000000", "1e10000000"):
        units = write(env, "u.csv", UNITS_CSV.replace("Willow Village,T1,village,1200",
                                                      f"Willow Village,T1,village,{population}"))
        assert main(["units", "import", str(units)]) == 1
        err = capsys.readouterr().err
        assert f"population '{population}' is more than 2147483647" in err, err
        assert "nothing was imported" in err and "database" not in err
    assert everything() == before
