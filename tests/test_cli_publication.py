"""Publishing under four eyes from the command line, and `audit verify` against the heads the
publications recorded, in-process against a real database."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from bot.cli import main
from storage.models import AuditEvent
from storage.uow import Database
from tests.test_cli import UNITS_CSV, env, write
from tests.test_cli_appraisal import seed_answers

__all__ = ["env"]  # the fixture, imported for these tests

Q4 = ["--period", "2026-Q4"]
# Telegram ids: an admin, an auditor, someone who is both, an inspector, a township's auditor.
ADMIN, AUDITOR, BOTH, INSPECTOR, TOWN_AUDITOR = "7001", "7002", "7003", "7004", "7005"


def people(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The units, the people above with their roles, and 12 residents' answers in Q4."""
    assert main(["units", "import", str(write(env, "u.csv", UNITS_CSV))]) == 0
    for telegram_id, role, name, unit in (
            (ADMIN, "admin", "Admin Li", None), (AUDITOR, "auditor", "Auditor Wang", None),
            (BOTH, "admin", "Zhao Both", None), (BOTH, "auditor", "Zhao Both", None),
            (INSPECTOR, "inspector", "Inspector Chen", None),
            (TOWN_AUDITOR, "auditor", "Town Auditor", "T1")):
        assert main(["admin", "add", "--telegram-id", telegram_id, "--role", role,
                     "--name", name, *(["--unit", unit] if unit else [])]) == 0
    seed_answers(12)
    capsys.readouterr()


def test_an_admin_asks_an_auditor_refuses_then_another_request_is_approved(
        env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    people(env, capsys)
    assert main(["appraisal", "run", *Q4, "--by", BOTH]) == 0
    assert "publish it with: civicpulse appraisal publish --period 2026-Q4 --by" in (
        capsys.readouterr().out)
    assert main(["appraisal", "publish", *Q4, "--by", ADMIN]) == 0
    out = capsys.readouterr().out
    # Told: the auditor for all units; not Zhao, who computed it, nor the township's auditor.
    assert "version 1 awaits an auditor's approval; 1 auditor(s) are told in chat" in out
    assert main(["appraisal", "pending"]) == 0
    assert "2026-Q4 version 1: asked by Admin Li" in capsys.readouterr().out
    assert main(["appraisal", "show", *Q4]) == 0
    assert "awaits approval (asked by Admin Li" in capsys.readouterr().out

    # Not an auditor for all units, or the one who computed it: refused, nothing changes.
    for who, why in ((ADMIN, "Admin Li (Telegram 7001) is not auditor for all units"),
                     (INSPECTOR, "is not auditor for all units"),
                     (TOWN_AUDITOR, "Town Auditor (Telegram 7005) is not auditor for all "
                                    "units"),
                     ("424242", "Telegram 424242 is not auditor for all units"),
                     (BOTH, "Zhao Both computed version 1 of 2026-Q4, so cannot approve "
                            "it: another auditor must (four eyes)")):
        assert main(["appraisal", "approve", *Q4, "--by", who]) == 1
        assert why in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse's usage error: --reason is required
        main(["appraisal", "refuse", *Q4, "--by", AUDITOR])
    assert "--reason" in capsys.readouterr().err
    assert main(["appraisal", "refuse", *Q4, "--by", AUDITOR, "--reason",
                 "the KPI file is last year's"]) == 0
    assert "refused; it stays a draft" in capsys.readouterr().out
    assert main(["appraisal", "approve", *Q4, "--by", AUDITOR]) == 1
    assert "nothing awaits approval for 2026-Q4" in capsys.readouterr().err

    assert main(["appraisal", "publish", *Q4, "--by", ADMIN]) == 0
    assert main(["appraisal", "approve", *Q4, "--by", AUDITOR]) == 0
    out = capsys.readouterr().out
    assert "2026-Q4 version 1 published" in out and "audit log head recorded: " in out
    assert main(["appraisal", "show", *Q4]) == 0
    shown = capsys.readouterr().out
    assert "version 1: published" in shown and "by Admin Li, approved by Auditor Wang" in shown
    assert "computed" in shown and "by Zhao Both" in shown
    assert "audit log head at publication: " in shown
    # Already published: nothing to approve, and nothing new to ask for.
    assert main(["appraisal", "approve", *Q4, "--by", AUDITOR, "--version", "1"]) == 1
    assert "version 1 of 2026-Q4 is published; there is nothing to approve" in (
        capsys.readouterr().err)
    assert main(["audit", "verify"]) == 0
    assert "audit log intact" in capsys.readouterr().out
    assert main(["audit", "show", "appraisal_run"]) == 0
    log = capsys.readouterr().out
    for action in ("appraisal.publish_request", "appraisal.refuse", "appraisal.approve",
                   "appraisal.publish"):
        assert action in log
    assert "the KPI file is last year's" in log


def test_nobody_approves_their_own_request(
        env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    people(env, capsys)
    assert main(["appraisal", "run", *Q4, "--by", "424242"]) == 1
    assert "nobody with Telegram id 424242 has a role" in capsys.readouterr().err
    assert main(["appraisal", "run", *Q4]) == 0
    assert main(["appraisal", "publish", *Q4, "--by", BOTH]) == 0
    capsys.readouterr()
    assert main(["appraisal", "approve", *Q4, "--by", BOTH]) == 1
    assert "Zhao Both asked for version 1 of 2026-Q4, so cannot approve it" in (
        capsys.readouterr().err)
    assert main(["appraisal", "show", *Q4]) == 0
    assert "version 1: draft" in capsys.readouterr().out
    assert main(["appraisal", "approve", *Q4, "--by", AUDITOR]) == 0


def delete_events(which: str) -> int:
    """Delete the newest audit event, or all of them; how many are left."""

    async def work() -> int:
        db = Database.from_url(os.environ["DATABASE_URL"])
        try:
            async with db.transaction() as uow:
                newest = await uow.session.scalar(select(func.max(AuditEvent.id)))
                statement = delete(AuditEvent)
                if which == "last":
                    statement = statement.where(AuditEvent.id == newest)
                await uow.session.execute(statement)
                return int(await uow.session.scalar(
                    select(func.count()).select_from(AuditEvent)) or 0)
        finally:
            await db.dispose()

    return asyncio.run(work())


@pytest.mark.parametrize("which", ["last", "all"])
def test_audit_verify_sees_the_newest_events_deleted(
        env: Path, capsys: pytest.CaptureFixture[str], which: str) -> None:
    people(env, capsys)
    assert main(["appraisal", "run", *Q4]) == 0
    assert main(["appraisal", "publish", *Q4, "--by", ADMIN]) == 0
    assert main(["appraisal", "approve", *Q4, "--by", AUDITOR]) == 0
    capsys.readouterr()
    assert main(["audit", "verify"]) == 0
    intact = capsys.readouterr().out
    assert "it reaches all 1 head(s) recorded by publications" in intact
    left = delete_events(which)
    assert main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "audit log tampered with: when appraisal 2026-Q4 version 1 was published the log " \
           f"had {left + 1 if which == 'last' else ''}" in err
    assert f"the log now has {left} and no event has that hash any more: events were " \
           "deleted" in err
    assert "chain breaks" not in err, "the chain itself is intact: only its end is gone"


def test_with_approval_off_publishing_takes_effect_at_once(
        env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    config = write(env, "off.yaml", "appraisal:\n  publish_requires_approval: false\n")
    monkeypatch.setenv("CIVICPULSE_CONFIG", str(config))
    people(env, capsys)
    assert main(["appraisal", "run", *Q4]) == 0
    assert "publish it with: civicpulse appraisal publish --period 2026-Q4\n" in (
        capsys.readouterr().out)
    assert main(["appraisal", "publish", *Q4]) == 0
    out = capsys.readouterr().out
    assert "2026-Q4 version 1 published" in out and "audit log head recorded" in out
    assert main(["appraisal", "approve", *Q4, "--by", AUDITOR]) == 1
    assert "nothing awaits approval for 2026-Q4" in capsys.readouterr().err


@pytest.mark.parametrize("value", ['"false"', "0", "maybe"])
def test_the_approval_switch_is_true_or_false(
        env: Path, capsys: pytest.CaptureFixture[str], value: str) -> None:
    config = write(env, "bad.yaml", f"appraisal:\n  publish_requires_approval: {value}\n")
    assert main(["--config", str(config), "appraisal", "pending"]) == 2
    assert "publish_requires_approval" in capsys.readouterr().err
