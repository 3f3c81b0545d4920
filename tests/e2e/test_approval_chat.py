"""Four eyes in chat through the real Application, the sandbox and a real database: an admin
asks for a publication (as `civicpulse appraisal publish` does), the auditors who may approve
it are told, one approves with /approve and a confirmation, and every refusal (not an
auditor, a township's auditor, the one who computed the version, a stale or forged button)
leaves the draft a draft."""

from __future__ import annotations

import pytest

from bot.app import background_of
from sandbox import SandboxClient
from storage.models import AppraisalStatus, Role
from storage.uow import Database
from surveys.appraisal.publication import Requested, publish
from surveys.appraisal.run import run_appraisal
from tests.e2e.conftest import Bot
from tests.e2e.test_results_chat import audit, staff
from tests.storage.test_appraisal_run import options

pytestmark = pytest.mark.e2e

ADMIN, AUDITOR, COMPUTER, TOWN_AUDITOR, RESIDENT = 9501, 9502, 9503, 9504, 9505
NOTICE = "A publication awaits your approval"
REVIEW = "Approve 2026-Q4 v1…"
CONFIRM = "✅ Yes, publish 2026-Q4 v1"


async def run_status(db: Database) -> AppraisalStatus:
    async with db.reading() as uow:
        [run] = await uow.appraisal.runs("2026-Q4")
    return run.status


async def test_an_auditor_is_told_and_approves_with_a_confirmation(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    _admin, _ = await staff(client, db, ADMIN, Role.ADMIN, None, "Admin Li")
    auditor, auditor_id = await staff(client, db, AUDITOR, Role.AUDITOR, None, "Auditor Wang")
    computer, computer_id = await staff(client, db, COMPUTER, Role.AUDITOR, None, "Zhao Calc")
    town, _ = await staff(client, db, TOWN_AUDITOR, Role.AUDITOR, "T1", "Town Auditor")
    resident = await client.user(RESIDENT, "Resident")
    await run_appraisal(db, "2026-Q4", options(), actor=f"person:{computer_id}")
    asked = await publish(db, "2026-Q4", by=ADMIN, requires_approval=True)
    assert isinstance(asked, Requested)
    background_of(bot.application).notices.wake()

    told = await auditor.wait_for_message(NOTICE)
    assert "appraisal 2026-Q4, version 1, asked for by Admin Li" in told.text
    assert told.button_texts == [REVIEW]

    # Whoever may not approve it sees it without a button; a resident is refused.
    await computer.send("/approve")
    own = await computer.wait_for_message("Publications awaiting approval")
    assert "You asked for it or computed it" in own.text and own.button_texts == []
    await resident.send("/approve")
    await resident.wait_for_message("Only an auditor for all units can approve")
    # A township's auditor cannot vouch for every unit: refused, even with a forged tap.
    await town.send("/approve")
    refused = await town.wait_for_message("Only an auditor for all units can approve")
    await town.tap_data(refused.message_id, f"pa:y:{asked.request.id}")
    assert "Only an auditor for all units" in (await town.wait_for_answer()).text
    assert await run_status(db) == AppraisalStatus.DRAFT

    # The auditor reviews from the notice, confirms, and it is published.
    await auditor.tap(REVIEW, message_id=told.message_id)
    question = await auditor.wait_for_message("Approve and publish this version now?")
    assert "Asked for by Admin Li" in question.text and "computed by Zhao Calc" in question.text
    await auditor.tap(CONFIRM, message_id=question.message_id)
    done = await auditor.wait_for_message("is published")
    assert "Appraisal 2026-Q4, version 1, is published" in done.text
    assert "The audit log's head is recorded with it" in done.text
    async with db.reading() as uow:
        [run] = await uow.appraisal.runs("2026-Q4")
    assert run.status == AppraisalStatus.PUBLISHED
    assert run.approved_by == f"person:{auditor_id}" and run.audit_head_hash is not None
    [approval] = await audit(db, "appraisal.approve")
    assert approval.actor == f"person:{auditor_id}"

    # A second tap (a stale confirmation) and forged data change nothing.
    await auditor.tap(CONFIRM, message_id=question.message_id)
    assert "no longer awaits approval" in (await auditor.wait_for_answer()).text
    await auditor.tap_data(question.message_id, "pa:x:1")
    assert "not one of ours" in (await auditor.wait_for_answer()).text
    for forged in ("pa:y:99999", "pa:y:999999999999999999", "pa:a:0"):
        await auditor.tap_data(question.message_id, forged)
        assert "no longer awaits approval" in (await auditor.wait_for_answer()).text
    assert len(await audit(db, "appraisal.approve")) == 1
    await auditor.send("/approve")
    await auditor.wait_for_message("No publication awaits approval")
    # Only those who may approve it were told.
    for other in (computer, town, _admin):
        assert not [m for m in await other.bot_messages() if NOTICE in m.text]
