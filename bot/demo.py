"""Demo data for `make run` without a token: a small unit tree with centres, a few cadres with
key tasks (for /inspect), one open campaign, last quarter's published appraisal, and residents'
cases (open, overdue, due soon, taken with a relay exchange, resolved, rejected, merged)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from storage.models import (
    Answer,
    Campaign,
    CampaignStatus,
    Case,
    CaseMessage,
    CaseOutcome,
    CaseStatus,
    Response,
    ResponseStatus,
)
from storage.uow import Database, UnitOfWork
from surveys.appraisal.periods import QUARTER, Period, period_of
from surveys.appraisal.publication import publish
from surveys.appraisal.run import AppraisalOptions, run_appraisal
from surveys.appraisal.textscoring import score_pending
from surveys.campaigns.admin import create_campaign
from surveys.cases import timeline
from surveys.cases.rules import ADMIN, HANDLER, RESIDENT, CaseRules, new_number
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
    # Made-up results for trying the bot: published without the four eyes that real ones
    # need (nobody holds a role yet to ask or approve), and named "demo" in the audit log.
    await publish(db, period.label, by=None, requires_approval=False, label="demo")
    return period.label


# --- cases ----------------------------------------------------------------------------------

# Where a demo case stands: closed last quarter (its ``outcome`` says how), or one of this
# quarter's still being worked on.
OVERDUE, DUE_SOON, TAKEN, AWAITING = "overdue", "due_soon", "taken", "awaiting"
SYSTEM = "system"


@dataclass(frozen=True)
class DemoCase:
    """A case as residents and staff would have left it. No resident is behind it, so it has
    no seal: whatever is sent to "the resident" reaches nobody."""

    unit: str
    category: str
    text: str
    state: str | None = None  # None: closed last quarter, ``day`` days into it
    day: int = 0
    handler: str | None = None  # a demo cadre's name
    outcome: CaseOutcome | None = None
    on_time: bool = True
    resolution: str | None = None
    summary: str | None = None
    quotable: bool = False
    wants_reply: bool = True
    reopened: int = 0
    merged: bool = False  # the same problem as the case before it, merged into that one
    reason: str | None = None  # why it was rejected
    relay: tuple[str, str] | None = None  # the handler's question, the resident's reply


C = CaseOutcome
DEMO_CASES = (
    DemoCase("RIVER-N-WILLOW", "roads", "The road to the primary school has deep potholes; "
             "children walk through mud whenever it rains.", day=9, handler="Wang Fang",
             outcome=C.CONFIRMED, quotable=True,
             resolution="Filled 14 potholes between the bridge and the school gate with "
             "asphalt; walked the road after Friday's rain: no standing water.",
             summary="Filled 14 potholes on the school road and checked it after rain."),
    DemoCase("RIVER-N-WILLOW", "roads", "学校门口那段路坑坑洼洼，下雨天全是积水。", day=11,
             merged=True),
    DemoCase("RIVER-N-WILLOW", "sanitation", "河边垃圾点三天没人清运，气味很大。", day=15,
             handler="Li Ming", outcome=C.CONFIRMED,
             resolution="联系镇环卫站，河边垃圾点改为每天清运；加装两个带盖垃圾桶。",
             summary="河边垃圾点改为每天清运，并加装了两个带盖垃圾桶。"),
    DemoCase("RIVER-N-WILLOW", "facilities", "The street lamp outside the clinic has been "
             "dark for two weeks.", day=20, handler="Wang Fang", outcome=C.PARTLY,
             on_time=False, quotable=True,
             resolution="Replaced the lamp outside the clinic; the second lamp needs a new "
             "pole, ordered from the county.",
             summary="Replaced the lamp outside the clinic; a new pole for the second lamp "
             "is on order."),
    DemoCase("RIVER-N-WILLOW", "roads", "Fallen branches block the river bank path.", day=27,
             handler="Wang Fang", outcome=C.NOT_CONFIRMED,
             resolution="Cleared the branches along 300 m of the river bank path.",
             summary="Cleared the fallen branches from the river bank path."),
    DemoCase("RIVER-N-WILLOW", "sanitation", "河道里漂着很多塑料垃圾。", day=33,
             handler="Li Ming", outcome=C.UNCONFIRMABLE, wants_reply=False,
             resolution="组织志愿者两次清理河道，打捞垃圾约两百公斤。",
             summary="组织志愿者清理河道垃圾两次。"),
    DemoCase("RIVER-N-WILLOW", "roads", "The drain by the market overflows every time it "
             "rains.", day=40, handler="Wang Fang", outcome=C.NOT_SOLVED, reopened=1,
             resolution="Cleared the drain by the market twice; it still needs a bigger pipe.",
             summary="Cleared the drain by the market."),
    DemoCase("RIVER-N-WILLOW", "waiting", "办证窗口只有一个人，等了一个多小时。", day=46,
             handler="Li Ming", outcome=C.CONFIRMED,
             resolution="周二、周四上午增开一个办证窗口，并在公告栏贴出办理时间。",
             summary="周二、周四上午增开一个办证窗口。"),
    DemoCase("RIVER-N-WILLOW", "roads", "The railing on the canal footbridge is broken.",
             day=52, handler="Wang Fang", outcome=C.CONFIRMED, quotable=True,
             resolution="Welded a new railing on both sides of the canal footbridge.",
             summary="Welded a new railing on the canal footbridge."),
    DemoCase("RIVER-N-WILLOW", "roads", "学校路口的井盖松了，踩上去会晃。", day=60,
             handler="Wang Fang", outcome=C.UNCONFIRMABLE, wants_reply=False,
             resolution="更换了学校路口松动的井盖，并检查了附近另外三个。",
             summary="更换了学校路口松动的井盖。"),
    DemoCase("RIVER-N-WILLOW", "other", "My neighbour's dog barks all night.", day=70,
             outcome=C.REJECTED, reason="A dispute between neighbours, not a public service: "
             "referred to the village mediation committee."),
    # This quarter: still being worked on.
    DemoCase("RIVER-N-WILLOW", "roads", "The bridge on the north road has a hole in its deck; "
             "cars swerve around it.", state=OVERDUE),
    DemoCase("RIVER-N-WILLOW", "sanitation", "路边的垃圾桶被风吹倒了，垃圾撒了一地。",
             state=DUE_SOON),
    DemoCase("RIVER-N-WILLOW", "roads", "Water pools on the road to the school after rain.",
             state=TAKEN, handler="Wang Fang",
             relay=("Which part of the road: before or after the bridge?",
                    "Just after the bridge, by the big willow tree.")),
    DemoCase("RIVER-N-PINE", "facilities", "主路上的路灯晚上一直闪。", state=AWAITING,
             handler="Chen Jing", resolution="更换了主路路口路灯的镇流器。",
             summary="修好了主路路口闪烁的路灯。"),
    DemoCase("RIVER-S-LOTUS", "facilities", "The flood drain behind the school is blocked "
             "with silt.", state=OVERDUE),
)


async def seed_demo_cases(db: Database, now: datetime, rules: CaseRules) -> int:
    """The demo cases, once (none are added while any case exists); returns how many."""
    last = period_of(period_of(now, QUARTER).start - timedelta(days=1), QUARTER)
    async with db.transaction() as uow:
        if await uow.cases.count_by_status():
            return 0
        units = {code: unit for code in {c.unit for c in DEMO_CASES}
                 if (unit := await uow.units.by_code(code)) is not None}
        people = {p.name: p.id for p in await uow.cadres.all()}
        previous: Case | None = None
        added = 0
        for spec in DEMO_CASES:
            unit = units.get(spec.unit)
            if unit is None:
                continue
            opened_on = _opened_on(spec, last, now, rules)
            previous = await _add_demo_case(uow, spec, unit.id, opened_on, now, rules,
                                            people.get(spec.handler or ""), previous)
            added += 1
    return added


def _opened_on(spec: DemoCase, last: Period, now: datetime, rules: CaseRules) -> date:
    """When the case was raised: ``day`` days into last quarter; for one still being worked
    on, two days ago, or the day that puts its deadline a day or more behind (overdue) or
    the soonest ahead (due soon)."""
    if spec.state is None:
        return last.start.date() + timedelta(days=spec.day)
    today = rules.today(now)
    days = [today - timedelta(days=back) for back in range(2, 60)]
    if spec.state == OVERDUE:
        return next(d for d in days if rules.due(spec.category, d) < now - timedelta(days=1))
    if spec.state == DUE_SOON:
        ahead = [d for d in [today, today - timedelta(days=1), *days]
                 if rules.due(spec.category, d) > now]
        return min(ahead, key=lambda d: rules.due(spec.category, d))
    return days[0]


async def _add_demo_case(uow: UnitOfWork, spec: DemoCase, unit_id: int, opened_on: date,
                         now: datetime, rules: CaseRules, handler: int | None,
                         previous: Case | None) -> Case:
    due = rules.due(spec.category, opened_on)
    opened = datetime.combine(opened_on, time(9), tzinfo=UTC)
    taken = opened + timedelta(days=1) if handler is not None else None
    resolved = None
    if spec.resolution is not None:
        resolved = min(now - timedelta(hours=3),
                       due - timedelta(days=1) if spec.on_time else due + timedelta(days=2))
    closing = _closed_at(spec, resolved, opened)
    case = await uow.cases.add(Case(
        unit_id=unit_id, category=spec.category, origin="report", text=spec.text,
        quotable=spec.quotable, wants_reply=spec.wants_reply, status=_status(spec),
        outcome=spec.outcome, opened_on=opened_on, due_at=due, handler_id=handler,
        taken_at=taken, resolution=spec.resolution, summary=spec.summary,
        resolved_at=resolved, resolved_on_time=None if resolved is None else resolved <= due,
        closed_at=closing, reopened=spec.reopened,
        escalation="not_solved" if spec.reopened else None,
        escalated_at=resolved - timedelta(days=2) if spec.reopened and resolved else None,
        reject_reason=spec.reason,
        answer_due_at=now + rules.answer_within if spec.state == AWAITING else None,
        merged_into_id=previous.id if spec.merged and previous is not None else None,
    ), [new_number() for _ in range(5)])
    if spec.merged and previous is not None:
        previous.reports += 1
    await _demo_timeline(uow, case, spec, opened, taken, resolved, closing, handler)
    return case


def _status(spec: DemoCase) -> CaseStatus:
    if spec.merged:
        return CaseStatus.MERGED
    if spec.outcome is not None:
        return CaseStatus.CLOSED
    if spec.state == AWAITING:
        return CaseStatus.RESOLVED
    return CaseStatus.TAKEN if spec.handler is not None else CaseStatus.OPEN


def _closed_at(spec: DemoCase, resolved: datetime | None, opened: datetime) -> datetime | None:
    if spec.outcome == CaseOutcome.REJECTED or spec.merged:
        return opened + timedelta(days=2)
    if spec.outcome is None or resolved is None:
        return None
    if spec.outcome == CaseOutcome.NOT_CONFIRMED:
        return resolved + timedelta(days=7)
    return resolved + timedelta(days=1 if spec.wants_reply else 0)


# The resident's answer that closed a case, and the last one of a case reopened once.
_ANSWERS = {CaseOutcome.CONFIRMED: "yes", CaseOutcome.PARTLY: "partly",
            CaseOutcome.NOT_SOLVED: "no"}


async def _demo_timeline(uow: UnitOfWork, case: Case, spec: DemoCase, opened: datetime,
                         taken: datetime | None, resolved: datetime | None,
                         closing: datetime | None, handler: int | None) -> None:
    """The case's history, every entry already delivered (it is the past: there is nobody
    to tell now)."""
    entries: list[CaseMessage] = []

    async def add(kind: str, notify: str, author: str, at: datetime, text: str = "",
                  params: dict[str, str] | None = None) -> None:
        staff = author != RESIDENT
        entries.append(await timeline.record(
            uow, case, kind, notify, author=author, at=at, text=text, params=params,
            person_id=handler if author == HANDLER else None,
            actor="demo" if staff else None))

    await add(timeline.OPENED, timeline.TO_UNIT, RESIDENT, opened, spec.text)
    if spec.merged:
        await add(timeline.MERGED, timeline.TO_NONE, SYSTEM, closing or opened)
    if spec.outcome == CaseOutcome.REJECTED:
        await add(timeline.REJECTED, timeline.TO_UNIT, ADMIN, closing or opened,
                  spec.reason or "")
    if taken is not None:
        await add(timeline.TAKEN, timeline.TO_NONE, HANDLER, taken)
        if spec.relay is not None:
            question, reply = spec.relay
            await add(timeline.MESSAGE, timeline.TO_RESIDENT, HANDLER,
                      taken + timedelta(hours=2), question)
            await add(timeline.MESSAGE, timeline.TO_HANDLER, RESIDENT,
                      taken + timedelta(hours=5), reply)
    if resolved is not None and spec.reopened:
        # The first resolution, and the resident's first "No", which reopened it.
        await add(timeline.RESOLUTION, timeline.TO_RESIDENT, HANDLER,
                  resolved - timedelta(days=3), spec.summary or spec.resolution or "")
        await add(timeline.ANSWER, timeline.TO_HANDLER, RESIDENT, resolved - timedelta(days=2),
                  params={"answer": "no"})
        await add(timeline.REOPENED, timeline.TO_ADMINS, SYSTEM, resolved - timedelta(days=2))
    if resolved is not None:
        await add(timeline.RESOLUTION,
                  timeline.TO_RESIDENT if spec.wants_reply else timeline.TO_NONE, HANDLER,
                  resolved, spec.resolution or "",
                  {"summary": spec.summary} if spec.summary else None)
    answer = _ANSWERS.get(spec.outcome) if spec.outcome is not None else None
    if answer is not None and closing is not None:
        await add(timeline.ANSWER, timeline.TO_HANDLER, RESIDENT, closing,
                  params={"answer": answer})
    if spec.outcome == CaseOutcome.NOT_CONFIRMED and closing is not None:
        await add(timeline.CLOSED, timeline.TO_HANDLER, SYSTEM, closing,
                  params={"outcome": str(spec.outcome)})
    for entry in entries:
        entry.delivered = True
