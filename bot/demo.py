"""Demo data for `make run` without a token: a small unit tree and one open campaign."""

from __future__ import annotations

from datetime import datetime, timedelta

from storage.uow import Database
from surveys.admin import create_campaign, import_units
from surveys.loader import load_template
from surveys.units import UnitRow

DEMO_CAMPAIGN = "demo"
DEMO_UNITS = [
    UnitRow("RIVER", "Riverside County", None, "county", 120_000, 1),
    UnitRow("RIVER-N", "North Township", "RIVER", "township", 18_000, 2),
    UnitRow("RIVER-S", "South Township", "RIVER", "township", 22_000, 3),
    UnitRow("RIVER-N-WILLOW", "Willow Village", "RIVER-N", "village", 1_450, 4),
    UnitRow("RIVER-N-PINE", "Pine Village", "RIVER-N", "village", 980, 5),
    UnitRow("RIVER-S-LOTUS", "Lotus Village", "RIVER-S", "village", 2_300, 6),
]


async def seed_demo(db: Database, now: datetime) -> str:
    """Create the demo units and campaign if missing; return the campaign code."""
    async with db.transaction() as uow:
        await import_units(uow, DEMO_UNITS, actor="demo")
        if await uow.campaigns.by_code(DEMO_CAMPAIGN) is None:
            await create_campaign(
                uow,
                survey=load_template("resident_satisfaction"),
                unit_code="RIVER-N-WILLOW",
                code=DEMO_CAMPAIGN,
                opens_at=now,
                closes_at=now + timedelta(days=365),
                now=now,
                actor="demo",
            )
    return DEMO_CAMPAIGN
