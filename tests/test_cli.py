"""The `civicpulse` command line, run in-process against a real database."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import os
import re
import socket
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import qrcode
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M
from sqlalchemy import select

from bot.cli import main
from sandbox import png_bytes
from storage.evidence import EvidenceStore
from storage.models import CadreInvite, Role
from storage.responses import Completion
from storage.uow import Database
from surveys.campaigns.admin import create_campaign
from surveys.questionnaire.answers import to_row
from surveys.questionnaire.loader import load_template
from surveys.questionnaire.schema import AnswerValue
from tests.conftest import PG_URL, _truncate

UNITS_CSV = """code,name,parent,type,population
C1,Riverside County,,county,100000
T1,North Township,C1,township,20000
V1,Willow Village,T1,village,1200
"""
TEMPLATE = Path(__file__).parent.parent / "surveys" / "templates" / "resident_satisfaction.yaml"


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A clean database behind DATABASE_URL and an empty config in a scratch folder."""

    async def clean() -> None:
        db = Database.from_url(db_url)
        if db.dialect == "postgresql":
            await _truncate(db)
        await db.dispose()

    asyncio.run(clean())
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    config = tmp_path / "config.yaml"
    config.write_text("bot:\n  username: WillowPollBot\n")
    monkeypatch.setenv("CIVICPULSE_CONFIG", str(config))
    return tmp_path


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_db_upgrade(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_units_import_then_reimport(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    units = write(env, "units.csv", UNITS_CSV)
    assert main(["units", "import", str(units)]) == 0
    assert "3 created" in capsys.readouterr().out
    write(env, "units.csv", UNITS_CSV.replace("Willow Village,T1,village,1200",
                                              "Willow Village,T1,village,1300"))
    assert main(["units", "import", str(units)]) == 0
    assert "0 created, 1 updated, 2 unchanged" in capsys.readouterr().out


def test_a_broken_unit_file_is_rejected_whole(env: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    broken = write(env, "units.csv", UNITS_CSV + "V2,Pine,NOPE,village,10\nV3,Oak,V4,village,5\n"
                   "V4,Elm,V3,village,5\n")
    assert main(["units", "import", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "line 5" in err and "NOPE" in err and "nothing was imported" in err
    good = write(env, "ok.csv", UNITS_CSV)
    assert main(["units", "import", str(good)]) == 0
    assert "3 created" in capsys.readouterr().out, "the broken file left nothing behind"


def test_surveys_validate(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["surveys", "validate", str(TEMPLATE.parent)]) == 0
    bad = write(env, "bad.yaml", TEMPLATE.read_text().replace("type: yesno", "type: yesno\n"
                                                               "    optons: [a]"))
    malformed = write(env, "malformed.yaml", "id: x\nquestions: [\n")
    assert main(["surveys", "validate", str(bad), str(malformed), str(env / "none.yaml")]) == 1
    err = capsys.readouterr().err
    assert "bad.yaml: question resolved: unknown key 'optons'" in err
    assert "malformed.yaml" in err and "line" in err
    assert "none.yaml" in err


def test_campaign_create_prints_the_deep_link(env: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    code = main(["campaign", "create", "--survey", str(TEMPLATE), "--unit", "V1",
                 "--code", "willow-q4", "--closes", "30d"])
    out = capsys.readouterr().out
    assert code == 0
    assert "https://t.me/WillowPollBot?start=willow-q4" in out
    assert main(["campaign", "create", "--survey", str(TEMPLATE), "--unit", "V1",
                 "--code", "willow-q4"]) == 1
    assert "already taken" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--unit", "NOPE", "--code", "abc"], "unknown unit"),
        (["--unit", "V1", "--code", "bad code!"], "must be 3-40 characters"),
        (["--unit", "V1", "--code", "past", "--closes", "2001-01-01"], "in the past"),
        (["--unit", "V1", "--code", "order", "--opens", "2031-02-01", "--closes", "2031-01-01"],
         "after the opening"),
        (["--unit", "V1", "--code", "when", "--closes", "next tuesday"], "cannot read the time"),
    ],
)
def test_campaign_create_refuses_bad_requests(
    env: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    assert main(["campaign", "create", "--survey", str(TEMPLATE), *extra]) == 1
    assert message in capsys.readouterr().err


def test_export_of_an_empty_and_an_unknown_campaign(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    assert main(["campaign", "create", "--survey", str(TEMPLATE), "--unit", "V1",
                 "--code", "empty"]) == 0
    capsys.readouterr()
    out_file = env / "out.csv"
    assert main(["export", "responses", "--campaign", "empty", "-o", str(out_file)]) == 0
    rows = list(csv.reader(io.StringIO(out_file.read_text())))
    assert rows[0][:3] == ["row", "campaign", "survey"] and len(rows) == 1
    assert main(["export", "responses", "--campaign", "nope"]) == 1
    assert "unknown campaign" in capsys.readouterr().err


def test_audit_verify(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    assert main(["audit", "verify"]) == 0
    assert "intact" in capsys.readouterr().out


def test_audit_show_lists_every_version_of_a_record(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def record() -> None:
        db = Database.from_url(os.environ["DATABASE_URL"])
        try:
            async with db.transaction() as uow:
                await uow.audit.record("person:3", "note.create", "note", 12,
                                       after={"text": "Culvert cleared", "version": 1})
                await uow.audit.record("person:3", "note.create", "note", 13,
                                       after={"text": "Another note", "version": 1})
                await uow.audit.record("person:3", "note.correct", "note", 12,
                                       before={"text": "Culvert cleared", "version": 1},
                                       after={"text": "East culvert cleared", "version": 2})
        finally:
            await db.dispose()

    assert main(["db", "upgrade"]) == 0
    asyncio.run(record())
    capsys.readouterr()
    assert main(["audit", "show", "note", "12"]) == 0
    out = capsys.readouterr().out
    assert "Another note" not in out
    created, corrected = out.index("note.create"), out.index("note.correct")
    assert created < corrected, "oldest first"
    assert 'before: {"text": "Culvert cleared", "version": 1}' in out
    assert 'after: {"text": "East culvert cleared", "version": 2}' in out
    assert main(["audit", "show", "note", "99"]) == 0
    assert "no audit events about note 99" in capsys.readouterr().out


def test_an_invalid_config_stops_with_one_clear_message(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(env, "bad.yaml", "bot:\n  concurrent_updates: lots\n")
    monkeypatch.setenv("CIVICPULSE_CONFIG", str(config))
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert f"{config}: bot.concurrent_updates:" in err and "integer" in err


def test_an_unreachable_database_is_one_clear_line(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("DATABASE_URL", f"postgresql+asyncpg://postgres@127.0.0.1:{port}/x")
    assert main(["db", "upgrade"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("civicpulse: cannot use the database:") and "Traceback" not in err


def test_run_says_when_the_sandbox_port_is_taken(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write(env, "run.yaml", f"sandbox:\n  port: {port}\n")
        monkeypatch.setenv("CIVICPULSE_CONFIG", str(config))
        monkeypatch.setenv("CIVICPULSE_VAR_DIR", str(env / "var"))
        assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert f"sandbox.port: cannot listen on 127.0.0.1:{port}" in err


def test_campaign_list_show_and_close(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["campaign", "list"]) == 0
    assert "no campaigns yet" in capsys.readouterr().out
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    assert main(["campaign", "create", "--survey", str(TEMPLATE), "--unit", "V1",
                 "--code", "willow-q4", "--closes", "10d"]) == 0
    capsys.readouterr()
    assert main(["campaign", "list"]) == 0
    listing = capsys.readouterr().out
    assert "willow-q4" in listing and "open" in listing and "V1" in listing
    assert main(["campaign", "show", "willow-q4"]) == 0
    shown = capsys.readouterr().out
    assert "0 completed of 0 started" in shown and "9d 23h left" in shown
    assert "https://t.me/WillowPollBot?start=willow-q4" in shown
    assert main(["campaign", "close", "willow-q4"]) == 0
    assert "closed" in capsys.readouterr().out
    assert main(["campaign", "close", "willow-q4"]) == 1
    assert "already closed" in capsys.readouterr().err
    assert main(["campaign", "show", "nope"]) == 1
    assert "unknown campaign" in capsys.readouterr().err
    assert main(["audit", "verify"]) == 0


def test_admin_add(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    assert main(["admin", "add", "--telegram-id", "777", "--name", "Zhang Wei"]) == 0
    assert "Zhang Wei (Telegram 777) is now admin for all units" in capsys.readouterr().out
    assert main(["admin", "add", "--telegram-id", "777"]) == 0
    assert "is already admin" in capsys.readouterr().out
    assert main(["admin", "add", "--telegram-id", "777", "--unit", "T1",
                 "--role", "auditor"]) == 0
    assert "auditor for unit T1 and below" in capsys.readouterr().out
    assert main(["admin", "add", "--telegram-id", "778", "--unit", "NOPE"]) == 1
    assert "unknown unit" in capsys.readouterr().err


def test_campaign_qr_encodes_the_deep_link(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    assert main(["campaign", "create", "--survey", str(TEMPLATE), "--unit", "V1",
                 "--code", "window-3"]) == 0
    png = env / "poster.png"
    assert main(["campaign", "qr", "window-3", "-o", str(png)]) == 0
    link = "https://t.me/WillowPollBot?start=window-3"
    assert link in capsys.readouterr().out
    # Read the modules back from the picture and compare with the code for the link.
    expected = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    expected.add_data(link)
    expected.make(fit=True)
    matrix = expected.get_matrix()
    with Image.open(png) as image:
        pixels = image.convert("L")
        box, border = 12, 4
        assert image.size == ((len(matrix) + 2 * border) * box,) * 2
        seen = [[pixels.getpixel(((border + x) * box + box // 2, (border + y) * box + box // 2))
                 < 128 for x in range(len(matrix))] for y in range(len(matrix))]
    assert seen == matrix
    assert main(["campaign", "qr", "nope"]) == 1


def test_campaign_plan_flags(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    assert main(["campaign", "create", "--survey", str(TEMPLATE), "--unit", "V1",
                 "--code", "monthly-pulse", "--opens", "2031-01-01T09:00",
                 "--closes", "2031-01-14", "--timezone", "Asia/Shanghai",
                 "--remind", "2h,2d", "--every", "monthly", "--target", "120"]) == 0
    created = capsys.readouterr().out
    assert "(scheduled)" in created
    # 2031-01-14 in Shanghai ends at 2031-01-14T16:00 UTC.
    assert "closes 2031-01-14 16:00 UTC" in created
    assert main(["campaign", "show", "monthly-pulse"]) == 0
    shown = capsys.readouterr().out
    assert "opens 2031-01-01 01:00 UTC" in shown
    assert "reminders: 2d, 2h before closing" in shown
    assert "repeats: monthly" in shown and "(target 120)" in shown
    assert "audience: residents; time zone Asia/Shanghai" in shown


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--every", "61 9 * *"], "Wrong number of fields"),
        (["--every", "0 99 * * *"], "higher than the maximum"),
        (["--every", "fortnightly"], "use monthly, quarterly or a cron expression"),
        (["--remind", "3x"], "cannot read the duration"),
        (["--remind", "40d", "--closes", "30d"], "before the campaign opens"),
        (["--remind", "1d,2d,3d,4d"], "at most 3 reminders"),
        (["--timezone", "Mars/Olympus"], "unknown time zone"),
        (["--audience", "cadres"], "written for residents, not cadres"),
        (["--target", "0"], "at least 1"),
    ],
)
def test_campaign_plan_refuses_bad_plans(
    env: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    assert main(["campaign", "create", "--survey", str(TEMPLATE), "--unit", "V1",
                 "--code", "plan", *extra]) == 1
    assert message in capsys.readouterr().err
    assert main(["campaign", "list"]) == 0
    assert "plan" not in capsys.readouterr().out.split("\n", 1)[1], "nothing was created"


def test_a_dry_run_shows_the_audience_and_creates_nothing(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    capsys.readouterr()
    assert main(["campaign", "create", "--survey", str(TEMPLATE), "--unit", "V1",
                 "--code", "preview", "--remind", "2d,2h", "--every", "monthly",
                 "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "invitations: 0 residents (a broadcast to 0 recipients" in out
    assert "nothing was created" in out
    assert main(["campaign", "show", "preview"]) == 1
    assert "unknown campaign" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--every", "every tuesday"], "monthly, quarterly or a cron expression"),
        (["--remind", "2x"], "cannot read the duration"),
        (["--remind", "40d", "--closes", "30d"], "before the campaign opens"),
        (["--timezone", "Mars/Olympus"], "unknown time zone"),
        (["--opens", "2001-01-01T00:00", "--closes", "2001-02-01"], "in the past"),
    ],
)
def test_a_bad_plan_is_refused_with_the_reason(
    env: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    assert main(["campaign", "create", "--survey", str(TEMPLATE), "--unit", "V1",
                 "--code", "plan", *extra]) == 1
    assert message in capsys.readouterr().err


def test_entry_points_get_their_own_link_and_poster(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    assert main(["campaign", "create", "--survey", str(TEMPLATE), "--unit", "V1",
                 "--code", "willow"]) == 0
    capsys.readouterr()
    assert main(["campaign", "entry", "willow", "window3", "--label", "Service window 3"]) == 0
    assert "https://t.me/WillowPollBot?start=willow--window3" in capsys.readouterr().out
    assert main(["campaign", "entry", "willow", "window3"]) == 1
    assert "already has an entry point" in capsys.readouterr().err
    assert main(["campaign", "entry", "willow", "bad-name"]) == 1
    assert "must be 1-20 letters" in capsys.readouterr().err
    poster = env / "w3.png"
    assert main(["campaign", "qr", "willow", "--entry", "window3", "-o", str(poster)]) == 0
    assert poster.read_bytes().startswith(b"\x89PNG")
    assert main(["campaign", "qr", "willow", "--entry", "nowhere"]) == 1
    assert "no entry point 'nowhere'" in capsys.readouterr().err


def test_remind_with_nobody_to_remind_says_so(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CIVICPULSE_SECRET_KEY", "x" * 32)
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    assert main(["campaign", "create", "--survey", str(TEMPLATE), "--unit", "V1",
                 "--code", "willow"]) == 0
    assert main(["campaign", "remind", "willow"]) == 1
    assert "nobody to remind" in capsys.readouterr().err


def test_read_only_commands_never_migrate_and_say_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{empty}")
    monkeypatch.setenv("CIVICPULSE_CONFIG", str(write(tmp_path, "c.yaml", "{}\n")))
    for command in (["campaign", "list"], ["audit", "verify"],
                    ["export", "responses", "--campaign", "x"]):
        assert main(command) == 1
        assert "run `civicpulse db upgrade`" in capsys.readouterr().err
    with sqlite3.connect(empty) as connection:
        tables = connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        assert tables.fetchall() == [], "nothing was migrated"
    assert main(["db", "upgrade"]) == 0
    assert main(["campaign", "list"]) == 0


# --- cadres, evidence, self-assessments -----------------------------------------------------

LINK = re.compile(r"https://t\.me/WillowPollBot\?start=cadre-([A-Za-z0-9_-]{43})$", re.M)


def cadre_invite(*extra: str) -> int:
    return main(["cadre", "invite", *extra])


def test_cadre_invite_prints_a_one_time_link_and_list_shows_it(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    capsys.readouterr()
    qr = env / "link.png"
    assert cadre_invite("--name", "Zhang Li", "--unit", "V1", "--position", "Village head",
                        "--task", "Road repairs", "--task", "Drinking water",
                        "--valid-days", "3", "--qr", str(qr)) == 0
    out = capsys.readouterr().out
    assert ("cadre profile 1 created: Zhang Li, Village head, Willow Village [V1]; key tasks: "
            "Road repairs, Drinking water") in out
    match = LINK.search(out)
    assert match is not None, out
    assert "valid until" in out and qr.read_bytes().startswith(b"\x89PNG")

    async def stored_hash() -> list[str]:
        db = Database.from_url(os.environ["DATABASE_URL"])
        try:
            async with db.reading() as uow:
                rows = await uow.session.scalars(select(CadreInvite.token_hash))
                return list(rows)
        finally:
            await db.dispose()

    assert asyncio.run(stored_hash()) == [hashlib.sha256(match.group(1).encode()).hexdigest()]

    assert main(["cadre", "task", "add", "1", "Waste collection", "--indicator", "waste"]) == 0
    assert "key task Waste collection (#3, waste) added to Zhang Li (profile 1)" in (
        capsys.readouterr().out)
    assert main(["cadre", "list"]) == 0
    listing = capsys.readouterr().out
    assert "Zhang Li" in listing and "Village head" in listing and "V1" in listing
    assert "link pending until" in listing
    assert "key tasks: Road repairs (#1); Drinking water (#2); Waste collection (#3, waste)" in (
        listing)

    assert cadre_invite("--person", "1") == 0
    fresh = capsys.readouterr().out
    assert "new link for Zhang Li (profile 1); earlier unused links no longer work" in fresh
    second = LINK.search(fresh)
    assert second is not None and second.group(1) != match.group(1)
    assert main(["cadre", "list", "--unit", "T1"]) == 0
    assert "Zhang Li" in capsys.readouterr().out, "the township's list includes its villages"
    assert main(["cadre", "list", "--unit", "NOPE"]) == 1
    assert "unknown unit 'NOPE'" in capsys.readouterr().err
    assert main(["audit", "verify"]) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "Zhang Li", "--unit", "NOPE", "--position", "Head"], "unknown unit 'NOPE'"),
        (["--name", "  ", "--unit", "V1", "--position", "Head"], "the cadre's name is empty"),
        (["--name", "Zhang Li", "--unit", "V1"], "a new profile needs --position"),
        (["--name", "Zhang Li", "--unit", "V1", "--position", ""], "position is empty"),
        (["--name", "Zhang Li", "--unit", "V1", "--position", "Head", "--task", "x" * 121],
         "the limit is 120"),
        (["--name", "Zhang Li", "--unit", "V1", "--position", "Head", "--valid-days", "0"],
         "1 to 90 days"),
        (["--person", "1", "--name", "Zhang Li"], "not both"),
        (["--person", "99"], "no profile with id 99"),
    ],
)
def test_cadre_invite_refuses_bad_requests(
    env: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    capsys.readouterr()
    assert cadre_invite(*args) == 1
    err = capsys.readouterr().err
    assert err.startswith("civicpulse: ") and message in err and err.count("\n") == 1
    assert main(["cadre", "list"]) == 0
    assert "no cadre profiles yet" in capsys.readouterr().out, "nothing was created"


def test_cadre_task_add_refuses_bad_input(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    assert cadre_invite("--name", "Zhang Li", "--unit", "V1", "--position", "Head",
                        "--task", "Roads") == 0
    assert main(["admin", "add", "--telegram-id", "777", "--name", "Admin"]) == 0
    capsys.readouterr()
    for args, message in [(["1", "roads"], "already has the key task 'roads'"),
                          (["1", "Parks", "--indicator", "Parks!"], "indicator 'Parks!'"),
                          (["1", " "], "a key task needs a title"),
                          (["42", "Parks"], "no profile with id 42"),
                          (["2", "Parks"], "person 2 (Admin) is not a cadre")]:
        assert main(["cadre", "task", "add", *args]) == 1
        assert message in capsys.readouterr().err


def test_a_cadre_profile_takes_a_chinese_name(env: Path, capsys: pytest.CaptureFixture[str]
                                              ) -> None:
    units = "code,name,name_zh,parent,type\nC1,Riverside County,河畔县,,county\n" \
            "V1,Willow Village,柳村,C1,village\n"
    assert main(["units", "import", str(write(env, "u.csv", units))]) == 0
    assert cadre_invite("--name", "Zhang Li", "--name-zh", "张丽", "--unit", "V1",
                        "--position", "Village head") == 0
    assert "cadre profile 1 created: Zhang Li (张丽), Village head, Willow Village [V1]" in (
        capsys.readouterr().out)
    assert main(["cadre", "list"]) == 0
    assert "Zhang Li (张丽)" in capsys.readouterr().out
    assert main(["cadre", "name-zh", "1"]) == 0
    assert "profile 1 (Zhang Li): Chinese name none" in capsys.readouterr().out
    assert main(["cadre", "name-zh", "1", "张莉"]) == 0
    assert "profile 1 (Zhang Li): Chinese name 张莉" in capsys.readouterr().out
    assert main(["cadre", "name-zh", "42", "张莉"]) == 1
    assert "no profile with id 42" in capsys.readouterr().err
    assert cadre_invite("--person", "1", "--name-zh", "张莉") == 1
    assert "not both" in capsys.readouterr().err
    assert main(["audit", "verify"]) == 0

def _evidence_config(env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = env / "evidence"
    config = write(env, "evidence.yaml", f"bot:\n  username: WillowPollBot\nevidence:\n"
                   f"  dir: {folder}\n")
    monkeypatch.setenv("CIVICPULSE_CONFIG", str(config))
    return folder


async def _store_evidence(folder: Path, images: list[bytes]) -> list[str]:
    """Photos kept as a cadre's evidence; returns their relative paths."""
    store = EvidenceStore(folder)
    db = Database.from_url(os.environ["DATABASE_URL"])
    paths = []
    try:
        async with db.transaction() as uow:
            person = await uow.cadres.create("Zhang Li", "Head")
            for image in images:
                stored = store.put(image, "image/png", "png")
                await uow.evidence.add(person.id, stored, None, datetime.now(UTC))
                paths.append(stored.path)
    finally:
        await db.dispose()
    return paths


def test_evidence_verify_reports_altered_and_missing_files(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _evidence_config(env, monkeypatch)
    assert main(["db", "upgrade"]) == 0
    assert main(["evidence", "verify"]) == 0
    assert "evidence intact: 0 file(s)" in capsys.readouterr().out
    paths = asyncio.run(_store_evidence(folder, [png_bytes(2, 2), png_bytes(3, 3),
                                                 png_bytes(4, 4)]))
    assert main(["evidence", "verify"]) == 0
    assert "evidence intact: 3 file(s) match their recorded SHA-256" in capsys.readouterr().out

    swapped = folder / paths[0]
    swapped.chmod(0o644)  # the store keeps files read-only; a tamperer would not care
    swapped.write_bytes(png_bytes(2, 2, rgb=(255, 0, 0)))
    (folder / paths[2]).unlink()
    assert main(["evidence", "verify"]) == 1
    err = capsys.readouterr().err
    assert f"evidence 1 (not attached, person 1): {swapped} altered" in err
    assert f"evidence 3 (not attached, person 1): {folder / paths[2]} missing" in err
    assert "evidence 2" not in err
    assert "2 of 3 evidence file(s) missing or altered" in err


def _self_assessment_db(opened: datetime) -> None:
    """Units, a cadre, a self-assessment campaign opened at ``opened`` and the cadre's
    completed answers, as the chat would leave them."""

    async def seed() -> None:
        db = Database.from_url(os.environ["DATABASE_URL"])
        survey = load_template("cadre_self_assessment")
        try:
            async with db.transaction() as uow:
                person = await uow.cadres.create("Zhang Li", "Village head")
                await uow.people.grant(person, Role.CADRE, await uow.units.by_code("V1"))
                campaign = await create_campaign(
                    uow, survey=survey, unit_code="T1", code=f"self-{opened:%Y%m}",
                    opens_at=opened, closes_at=opened + timedelta(days=10),
                    now=opened, actor="test",
                )
                response = await uow.responses.create(campaign.id, campaign.survey_id, "k" * 64,
                                                      "en", None, started_at=opened)
                assert response is not None
                response.person_id = person.id
                values: dict[str, AnswerValue] = {
                    "task_progress": 4, "tasks_completed": 12, "main_obstacle": "paperwork",
                    "need_training": True, "training_topics": ["digital", "law"],
                    "comment": None,
                }
                for question in survey.questions:
                    await uow.responses.save_answer(response,
                                                    to_row(question, values[question.id]))
                assert await uow.responses.advance(
                    response, current_question=None, draft=None,
                    completed=Completion(opened + timedelta(days=1), 120))
        finally:
            await db.dispose()

    asyncio.run(seed())


def test_export_self_assessments_by_period(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    _self_assessment_db(datetime(2026, 11, 3, 9, tzinfo=UTC))
    _self_assessment_db(datetime(2026, 12, 1, 9, tzinfo=UTC))
    capsys.readouterr()
    out_file = env / "self.csv"
    assert main(["export", "self-assessments", "--period", "2026-11", "-o", str(out_file)]) == 0
    assert "1 self-assessment(s) of campaigns opened in 2026-11" in capsys.readouterr().err
    rows = list(csv.reader(io.StringIO(out_file.read_text())))
    assert rows[0] == ["person_id", "name", "unit", "campaign", "question_id", "indicator",
                       "value", "completed_at"]
    by_question = {row[4]: row for row in rows[1:]}
    assert by_question["task_progress"][:7] == ["1", "Zhang Li", "V1", "self-202611",
                                                "task_progress", "key_task_progress", "4"]
    assert by_question["need_training"][6] == "yes"
    assert by_question["training_topics"][6] == "digital;law"
    assert by_question["comment"][6] == "", "a skipped answer is an empty cell"
    assert by_question["tasks_completed"][7].startswith("20")

    assert main(["export", "self-assessments", "--period", "2026-Q4"]) == 0
    both = capsys.readouterr()
    assert "2 self-assessment(s)" in both.err and "self-202612" in both.out
    assert main(["export", "self-assessments", "--period", "2027"]) == 0
    assert capsys.readouterr().out.strip().count("\n") == 0, "a header and no rows"


@pytest.mark.parametrize("period", ["2026-13", "2026-Q5", "November", "26-11"])
def test_export_self_assessments_refuses_a_bad_period(
    env: Path, capsys: pytest.CaptureFixture[str], period: str
) -> None:
    assert main(["export", "self-assessments", "--period", period]) == 1
    err = capsys.readouterr().err
    assert err.startswith("civicpulse: ") and "period" in err and err.count("\n") == 1


def test_new_read_only_commands_never_migrate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{empty}")
    monkeypatch.setenv("CIVICPULSE_CONFIG", str(write(tmp_path, "c.yaml", "{}\n")))
    for command in (["cadre", "list"], ["evidence", "verify"],
                    ["export", "self-assessments", "--period", "2026-11"]):
        assert main(command) == 1
        assert "run `civicpulse db upgrade`" in capsys.readouterr().err
    with sqlite3.connect(empty) as connection:
        tables = connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        assert tables.fetchall() == [], "nothing was migrated"


# --- a database that is missing, empty, behind or ahead (never created by a command) -------


def test_outside_the_project_no_database_is_created_and_the_message_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new user runs the CLI from another folder: nothing appears there, and it says why."""
    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "CIVICPULSE_CONFIG", "CIVICPULSE_VAR_DIR"):
        monkeypatch.delenv(name, raising=False)
    units = write(tmp_path, "u.csv", UNITS_CSV)
    for command in (["campaign", "list"], ["audit", "verify"], ["units", "import", str(units)],
                    ["admin", "add", "--telegram-id", "777"], ["admin", "list"]):
        assert main(command) == 1, command
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert f"no database at {tmp_path / 'var' / 'civicpulse.db'}" in err
        assert "the default" in err and "no config.yaml was found there" in err
        assert "nothing was created" in err and "run `civicpulse db upgrade`" in err
        assert "DATABASE_URL" in err and "CIVICPULSE_CONFIG" in err
        assert "at nothing" not in err
        assert not (tmp_path / "var").exists(), f"{command} created {tmp_path / 'var'}"
    assert main(["db", "upgrade"]) == 0, "db upgrade is how a database is created"
    assert (tmp_path / "var" / "civicpulse.db").exists()
    capsys.readouterr()
    assert main(["campaign", "list"]) == 0
    assert "no campaigns yet" in capsys.readouterr().out


def test_a_wrong_url_in_a_config_file_is_named_with_its_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "elsewhere" / "cp.db"
    config = write(tmp_path, "c.yaml", f"database:\n  url: sqlite+aiosqlite:///{missing}\n")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("CIVICPULSE_CONFIG", str(config))
    assert main(["campaign", "list"]) == 1
    err = capsys.readouterr().err
    assert f"no database at {missing}" in err and f"from database.url in {config}" in err
    assert not missing.parent.exists()
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{missing}")
    assert main(["admin", "list"]) == 1
    assert "from DATABASE_URL" in capsys.readouterr().err


@pytest.mark.skipif(not PG_URL, reason="needs TEST_DATABASE_URL (PostgreSQL)")
def test_a_postgresql_database_that_does_not_exist_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sqlalchemy.engine import make_url

    assert PG_URL is not None
    wrong = make_url(PG_URL).set(database="civicpulse_no_such_db").render_as_string(
        hide_password=False)
    monkeypatch.setenv("DATABASE_URL", wrong)
    monkeypatch.setenv("CIVICPULSE_CONFIG", str(write(tmp_path, "c.yaml", "{}\n")))
    assert main(["admin", "add", "--telegram-id", "7"]) == 1
    err = capsys.readouterr().err
    assert "civicpulse_no_such_db" in err and "does not exist" in err
    assert "(from DATABASE_URL)" in err and "check DATABASE_URL" in err
    assert "Traceback" not in err and err.count("\n") == 1


def _tables(path: Path) -> list[str]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        return sorted(name for (name,) in rows.fetchall())


def test_an_empty_database_is_not_migrated_by_a_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{empty}")
    monkeypatch.setenv("CIVICPULSE_CONFIG", str(write(tmp_path, "c.yaml", "{}\n")))
    units = write(tmp_path, "u.csv", UNITS_CSV)
    for command in (["units", "import", str(units)], ["admin", "add", "--telegram-id", "7"],
                    ["campaign", "list"]):
        assert main(command) == 1
        err = capsys.readouterr().err
        assert f"the database sqlite+aiosqlite:///{empty} (from DATABASE_URL) has no " \
            "CivicPulse tables (it was never migrated)" in err
        assert "run `civicpulse db upgrade`" in err
    assert _tables(empty) == [], "no command but db upgrade creates tables"


def test_a_database_behind_or_ahead_of_the_code_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from storage.migrate import head_revision, upgrade

    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url, "0006")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("CIVICPULSE_CONFIG", str(write(tmp_path, "c.yaml", "{}\n")))
    units = write(tmp_path, "u.csv", UNITS_CSV)
    for command in (["units", "import", str(units)], ["campaign", "list"]):
        assert main(command) == 1
        err = capsys.readouterr().err
        assert f"has the schema of migration 0006, older than this code's {head_revision()}" \
            in err and "run `civicpulse db upgrade`" in err
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [
            ("0006",)], "left as it was"
    assert main(["db", "upgrade"]) == 0
    assert main(["units", "import", str(units)]) == 0
    capsys.readouterr()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    assert main(["campaign", "list"]) == 1
    err = capsys.readouterr().err
    assert "migration 9999, which this code does not know" in err


# --- admin list and admin remove -----------------------------------------------------------


def test_admin_list_shows_everyone_with_roles_and_their_scopes(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["admin", "list"]) == 0
    assert "nobody has a role yet" in capsys.readouterr().out
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    assert main(["admin", "add", "--telegram-id", "777", "--name", "Zhang Wei"]) == 0
    assert main(["admin", "add", "--telegram-id", "777", "--unit", "T1",
                 "--role", "auditor"]) == 0
    assert main(["admin", "add", "--telegram-id", "888", "--name", "Li Na", "--unit", "V1",
                 "--role", "inspector"]) == 0
    assert main(["cadre", "invite", "--name", "Wang Fang", "--unit", "V1",
                 "--position", "Village head"]) == 0
    capsys.readouterr()
    assert main(["admin", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["telegram", "id", "name", "roles"]
    assert any("777" in line and "Zhang Wei" in line
               and "admin for all units, auditor for unit T1 and below" in line
               for line in lines), lines
    assert any("888" in line and "inspector for unit V1 and below" in line for line in lines)
    assert any("not linked" in line and "Wang Fang" in line and "cadre for unit V1 and below"
               in line for line in lines), "an unlinked cadre profile is shown as such"
    assert main(["admin", "list", "--role", "inspector"]) == 0
    only = capsys.readouterr().out
    assert "Li Na" in only and "Zhang Wei" not in only
    assert main(["admin", "list", "--role", "auditor"]) == 0
    assert "Zhang Wei" in capsys.readouterr().out


def test_admin_remove_takes_one_scoped_role_and_is_audited(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    assert main(["admin", "add", "--telegram-id", "777", "--name", "Zhang Wei"]) == 0
    assert main(["admin", "add", "--telegram-id", "777", "--unit", "T1",
                 "--role", "auditor"]) == 0
    capsys.readouterr()

    assert main(["admin", "remove", "--telegram-id", "777", "--role", "auditor"]) == 1
    err = capsys.readouterr().err
    assert "Zhang Wei (Telegram 777) is not auditor for all units; they are admin for all " \
        "units, auditor for unit T1 and below" in err
    assert main(["admin", "remove", "--telegram-id", "777", "--role", "auditor",
                 "--unit", "T1"]) == 0
    out = capsys.readouterr().out
    assert "Zhang Wei (Telegram 777) is no longer auditor for unit T1 and below; still admin " \
        "for all units" in out
    assert main(["admin", "remove", "--telegram-id", "777"]) == 0
    assert "no longer admin for all units; no roles left" in capsys.readouterr().out
    assert main(["admin", "list"]) == 0
    assert "nobody has a role yet" in capsys.readouterr().out

    async def audited() -> list[tuple[str, str, dict[str, object] | None]]:
        db = Database.from_url(os.environ["DATABASE_URL"])
        try:
            async with db.reading() as uow:
                return [(e.actor, e.action, e.before)
                        for e in await uow.audit.of("person", None, limit=50)
                        if e.action == "role.revoke"]
        finally:
            await db.dispose()

    assert asyncio.run(audited()) == [
        ("cli", "role.revoke", {"role": "auditor", "unit": "T1", "name": "Zhang Wei"}),
        ("cli", "role.revoke", {"role": "admin", "unit": None, "name": "Zhang Wei"}),
    ]
    assert main(["audit", "verify"]) == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--telegram-id", "424242"], "nobody with Telegram id 424242 has a role"),
        (["--telegram-id", str(2**64)], f"nobody with Telegram id {2**64} has a role"),
        (["--telegram-id", "-5"], "nobody with Telegram id -5 has a role"),
        (["--telegram-id", "777", "--unit", "NOPE"], "unknown unit 'NOPE'"),
        (["--telegram-id", "777", "--role", "inspector"],
         "Zhang Wei (Telegram 777) is not inspector for all units; they are admin"),
    ],
)
def test_admin_remove_refuses_unknown_people_and_roles_they_do_not_hold(
    env: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    assert main(["admin", "add", "--telegram-id", "777", "--name", "Zhang Wei"]) == 0
    capsys.readouterr()
    assert main(["admin", "remove", *extra]) == 1
    err = capsys.readouterr().err
    assert err.startswith("civicpulse: ") and message in err and err.count("\n") == 1
    assert main(["admin", "list"]) == 0
    assert "admin for all units" in capsys.readouterr().out, "nothing was taken"
