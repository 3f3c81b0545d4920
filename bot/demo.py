"""Demo data for `make run` without a token: a small unit tree with centres, a few cadres with
key tasks (for /inspect), and one open campaign."""

from __future__ import annotations

from datetime import datetime, timedelta

from storage.uow import Database, UnitOfWork
from surveys.admin import create_campaign, import_units
from surveys.cadres import check_profile, create_profile, issue_invite
from surveys.loader import load_template
from surveys.units import UnitRow

DEMO_CAMPAIGN = "demo"
# A county around 30.0 N, 120.0 E: townships 6-7 km from its centre, villages a couple of km
# from theirs. A location shared from elsewhere (say 30.27 N, 120.15 E, about 25 km from
# Willow Village and its 1.5 km area) is kept but flagged as far from the unit.
DEMO_UNITS = [
    UnitRow("RIVER", "Riverside County", None, "county", 120_000, 1,
            latitude=30.0, longitude=120.0, radius_km=30.0),
    UnitRow("RIVER-N", "North Township", "RIVER", "township", 18_000, 2,
            latitude=30.06, longitude=120.01, radius_km=6.0),
    UnitRow("RIVER-S", "South Township", "RIVER", "township", 22_000, 3,
            latitude=29.945, longitude=119.99, radius_km=6.0),
    UnitRow("RIVER-N-WILLOW", "Willow Village", "RIVER-N", "village", 1_450, 4,
            latitude=30.072, longitude=120.025, radius_km=1.5),
    UnitRow("RIVER-N-PINE", "Pine Village", "RIVER-N", "village", 980, 5,
            latitude=30.05, longitude=119.995, radius_km=1.5),
    UnitRow("RIVER-S-LOTUS", "Lotus Village", "RIVER-S", "village", 2_300, 6,
            latitude=29.935, longitude=120.005, radius_km=1.5),
]
# Cadre profiles (not linked to any Telegram account) and the key tasks they answer for:
# (unit, name, position, tasks).
DEMO_CADRES = [
    ("RIVER-N-WILLOW", "Wang Fang", "Village head",
     ("Repair the road to the school", "Clear the river bank")),
    ("RIVER-N-WILLOW", "Li Ming", "Party secretary", ("Monthly open office hours",)),
    ("RIVER-N-PINE", "Chen Jing", "Village head", ("Street lighting on the main road",)),
    ("RIVER-S-LOTUS", "Zhao Lei", "Village head", ("Flood drainage before the rainy season",)),
]


async def seed_demo(db: Database, now: datetime) -> str:
    """Create the demo units, cadres and campaign if missing; return the campaign code."""
    async with db.transaction() as uow:
        await import_units(uow, DEMO_UNITS, actor="demo")
        await _seed_cadres(uow, now)
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


async def _seed_cadres(uow: UnitOfWork, now: datetime) -> None:
    for unit_code, name, position, tasks in DEMO_CADRES:
        unit = await uow.units.by_code(unit_code)
        if unit is None:
            continue
        if any(person.name == name for person in await uow.cadres.all([unit.id])):
            continue  # seeded on an earlier run
        # As `civicpulse cadre invite` would; nobody uses the link, so the profile stays
        # unlinked, which is all an inspection needs.
        draft = check_profile(name, position, [unit_code], tasks)
        await create_profile(uow, draft, actor="demo", now=now, valid_for=timedelta(days=7))


async def demo_cadre_invite(db: Database, now: datetime) -> str | None:
    """A fresh /start payload for the first demo cadre while nobody has taken the profile,
    so the cadre's side (/note, self-assessments) can be tried from the chat page."""
    unit_code, name, _position, _tasks = DEMO_CADRES[0]
    async with db.transaction() as uow:
        unit = await uow.units.by_code(unit_code)
        if unit is None:
            return None
        person = next((p for p in await uow.cadres.all([unit.id]) if p.name == name), None)
        if person is None or person.contact_id is not None:
            return None
        issued = await issue_invite(uow, person.id, actor="demo", now=now,
                                    valid_for=timedelta(days=7))
    return issued.payload
