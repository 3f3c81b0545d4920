"""Seeding for the auditors' pages' tests (end to end and in the browser): a second township
with its own campaign, flagged responses in both, and a publication awaiting approval."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from storage.models import AnomalyFlag
from storage.uow import Database
from surveys.appraisal.publication import Requested, publish
from surveys.appraisal.run import run_appraisal
from surveys.campaigns.admin import create_campaign
from surveys.people.units import UnitRow, import_units
from surveys.questionnaire.loader import load_template
from tests.storage.test_appraisal_run import MID, campaign_of, options, respond

PERIOD = "2026-Q4"
SOUTH = [UnitRow("T2", "South Township", "C1", "township", 15_000, 5),
         UnitRow("V3", "Birch Village", "T2", "village", 900, 6)]


@dataclass(frozen=True)
class Flags:
    north: int  # a flag on a response to Willow Village's campaign (North Township)
    north_response: int
    south: int  # one on Birch Village's (South Township)


async def south_township(db: Database) -> None:
    async with db.transaction() as uow:
        await import_units(uow, SOUTH, actor="test")
        await create_campaign(uow, survey=load_template("resident_satisfaction"),
                              unit_code="V3", code="birch", opens_at=MID - timedelta(days=30),
                              closes_at=MID + timedelta(days=30),
                              now=MID - timedelta(days=31), actor="test")


async def flags(db: Database) -> Flags:
    """One too-fast response in each township, flagged (``seed_campaign``'s willow first)."""
    await south_township(db)
    north = await respond(db, await campaign_of(db, "willow"), (5, 5, 5), seconds=2,
                          entry="window")
    south = await respond(db, await campaign_of(db, "birch"), (5, 5, 5), seconds=2)
    ids = []
    async with db.transaction() as uow:
        for response_id in (north, south):
            flag = AnomalyFlag(response_id=response_id, kind="too_fast",
                               reason="answered in 2 s", detected_at=MID)
            uow.session.add(flag)
            await uow.session.flush()
            ids.append(flag.id)
    return Flags(ids[0], north, ids[1])


async def awaiting(db: Database, admin_user: int, computed_by: str) -> Requested:
    """A draft of PERIOD computed by ``computed_by`` that ``admin_user`` asked to publish."""
    await run_appraisal(db, PERIOD, options(), actor=computed_by)
    asked = await publish(db, PERIOD, by=admin_user, requires_approval=True)
    assert isinstance(asked, Requested)
    return asked
