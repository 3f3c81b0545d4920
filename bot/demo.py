"""Demo data for `make run` without a token: a small unit tree with centres, a few cadres with
key tasks (for /inspect), and one open campaign."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from storage.models import Answer, Campaign, CampaignStatus, Response, ResponseStatus
from storage.uow import Database, UnitOfWork
from surveys.appraisal.periods import QUARTER, period_of
from surveys.appraisal.run import AppraisalOptions, publish_appraisal, run_appraisal
from surveys.appraisal.textscoring import score_pending
from surveys.campaigns.admin import create_campaign
from surveys.fieldwork.cadres import check_profile, create_profile, issue_invite
from surveys.people.units import UnitRow, import_units
from surveys.questionnaire.loader import load_template
from surveys.respondents.anonymity import coarse

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


# How residents felt about each demo village last quarter (mean rating) and how many answered:
# enough for a graded result, a small village that is not graded, and a spread of grades.
DEMO_FEELINGS = {"RIVER-N-WILLOW": (3.9, 24), "RIVER-N-PINE": (3.1, 16),
                 "RIVER-S-LOTUS": (4.4, 30), "RIVER-S": (3.6, 4)}
DEMO_COMMENTS = {
    True: ["Staff were patient and explained every step", "办事效率很高，工作人员态度很好",
           "The new evening hours helped a lot", "Quick and friendly service"],
    False: ["I waited almost two hours in the queue", "排队时间太长，窗口太少",
            "Nobody told me which documents to bring", "The road to the school is still broken"],
}


async def seed_demo_appraisal(db: Database, now: datetime, options: AppraisalOptions) -> str:
    """Last quarter's answers for the demo villages, computed and published once, so /myscore
    and /results have something to show. Returns the period's label."""
    period = period_of(period_of(now, QUARTER).start - timedelta(days=1), QUARTER)
    async with db.reading() as uow:
        if await uow.appraisal.runs(period.label):
            return period.label
    rng = random.Random(2026)
    async with db.transaction() as uow:
        template = await uow.campaigns.by_code(DEMO_CAMPAIGN)
        if template is None:
            return period.label
        for unit_code, (mean, count) in DEMO_FEELINGS.items():
            unit = await uow.units.by_code(unit_code)
            if unit is None:
                continue
            campaign = Campaign(code=f"demo-{period.label.lower()}-{unit_code.lower()}",
                                survey_id=template.survey_id, unit_id=unit.id,
                                status=CampaignStatus.CLOSED, opens_at=period.start,
                                closes_at=period.end, closed_at=period.end,
                                audience="residents", timezone="UTC", reminders=[])
            uow.session.add(campaign)
            await uow.session.flush()
            for i in range(count):
                done = coarse(period.start + timedelta(days=rng.uniform(1, 88)))
                ratings = [min(5, max(1, round(rng.gauss(mean, 0.8)))) for _ in range(3)]
                response = Response(
                    campaign_id=campaign.id, survey_id=campaign.survey_id,
                    respondent_key=f"demo-{unit_code}-{i}", status=ResponseStatus.COMPLETED,
                    current_question=None, step=6, language="en",
                    started_at=done, completed_at=done, duration_s=round(rng.uniform(35, 120)))
                uow.session.add(response)
                await uow.session.flush()
                rows = [("overall", "rating", "overall_satisfaction", ratings[0]),
                        ("resolved", "yesno", "problem_solved", int(rng.random() < mean / 5)),
                        ("timeliness", "rating", "responsiveness", ratings[1]),
                        ("courtesy", "rating", "attitude", ratings[2])]
                for question, kind, indicator, value in rows:
                    uow.session.add(Answer(response_id=response.id, question_id=question,
                                           question_type=kind, indicator=indicator,
                                           skipped=False, value_number=float(value)))
                if rng.random() < 0.4:
                    text = rng.choice(DEMO_COMMENTS[ratings[0] >= 4])
                    uow.session.add(Answer(response_id=response.id, question_id="comment",
                                           question_type="text", indicator="comments",
                                           skipped=False, value_text=f"{text} ({i})"))
    await score_pending(db)
    await run_appraisal(db, period.label, options, actor="demo")
    await publish_appraisal(db, period.label, actor="demo")
    return period.label
