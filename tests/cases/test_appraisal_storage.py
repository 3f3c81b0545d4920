"""A period's cases on a real database (SQLite, and PostgreSQL with TEST_DATABASE_URL): the
aggregates SQL hands to the analysis, the appraisal run and export with a `cases` indicator,
and "You said, we did"."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from analysis.cases import tally
from bot.settings import AppraisalSection, Settings
from storage.models import CaseOutcome, CaseStatus
from storage.uow import Database
from surveys.appraisal.exports import export_appraisal
from surveys.appraisal.periods import parse_period
from surveys.appraisal.run import AppraisalOptions, run_appraisal
from surveys.cases.summary import CategoryCount, you_said_we_did
from tests.cases.factories import add_case
from tests.conftest import SECRET, seed_campaign
from tests.e2e.fieldwork import make_cadre

PERIOD = parse_period("2026-Q3")
NOW = datetime(2026, 10, 20, 12, tzinfo=UTC)
PAST = datetime(2026, 9, 10, tzinfo=UTC)  # a deadline over by NOW
AHEAD = datetime(2026, 10, 25, tzinfo=UTC)  # a deadline still ahead at NOW
CLOSED = CaseStatus.CLOSED


async def seed(db: Database) -> dict[str, int]:
    """Willow (V1): 6 settled cases (4 on time; answers 2 yes, 1 partly, 1 no), 1 within its
    deadline, 1 rejected, 1 merged; Pine (V2): 1 overdue. Cases of other periods around."""
    await seed_campaign(db)
    db.clock = lambda: NOW
    wang = await make_cadre(db, 5101, "V1", "Wang")
    day = date(2026, 8, 3)
    primary = await add_case(db, "V1", opened_on=day, due_at=PAST, status=CLOSED,
                             outcome=CaseOutcome.CONFIRMED, on_time=True, handler_id=wang,
                             summary="Replaced the lamp by the school gate", reports=2,
                             text="The lamp by the school gate is out", quotable=True)
    await add_case(db, "V1", opened_on=day, due_at=PAST, status=CaseStatus.MERGED,
                   merged_into=primary.id)
    await add_case(db, "V1", opened_on=date(2026, 7, 1), due_at=datetime(2026, 9, 5, tzinfo=UTC),
                   status=CLOSED,
                   outcome=CaseOutcome.CONFIRMED, on_time=True, handler_id=wang,
                   category="sanitation", summary="Emptied the bins on Mill Road",
                   text="My neighbour at No. 5 leaves rubbish out")  # not quotable
    await add_case(db, "V1", opened_on=day, due_at=PAST, status=CLOSED,
                   outcome=CaseOutcome.PARTLY, on_time=False, handler_id=wang,
                   summary="Filled the worst potholes")
    await add_case(db, "V1", opened_on=day, due_at=PAST, status=CLOSED,
                   outcome=CaseOutcome.NOT_SOLVED, on_time=True, reopened=1, handler_id=wang,
                   summary="Cleared the drain", category="sanitation")
    await add_case(db, "V1", opened_on=day, due_at=PAST, status=CLOSED,
                   outcome=CaseOutcome.UNCONFIRMABLE, on_time=True, handler_id=wang)
    await add_case(db, "V1", opened_on=date(2026, 9, 30), due_at=PAST, status=CaseStatus.TAKEN,
                   handler_id=wang)  # overdue
    await add_case(db, "V1", opened_on=date(2026, 9, 29), due_at=AHEAD)  # not yet due
    await add_case(db, "V1", opened_on=day, due_at=PAST, status=CLOSED,
                   outcome=CaseOutcome.REJECTED, category="fees")
    await add_case(db, "V2", opened_on=day, due_at=PAST)  # overdue, nobody took it
    # Other periods.
    await add_case(db, "V1", opened_on=date(2026, 10, 1), due_at=PAST, status=CLOSED,
                   outcome=CaseOutcome.CONFIRMED, on_time=True, summary="Next quarter's")
    await add_case(db, "V1", opened_on=date(2026, 6, 30), due_at=PAST)
    async with db.reading() as uow:
        units = {code: (await uow.units.by_code(code)) for code in ("V1", "V2")}
    return {"wang": wang, **{code: unit.id for code, unit in units.items() if unit}}


async def test_the_periods_aggregates(db: Database) -> None:
    ids = await seed(db)
    async with db.reading() as uow:
        groups = await uow.cases.period_groups(PERIOD.start.date(), PERIOD.end.date(), NOW)
        willow_only = await uow.cases.period_groups(PERIOD.start.date(), PERIOD.end.date(),
                                                    NOW, [ids["V1"]])
    assert sum(g.count for g in groups) == 10, "the period's cases, merged and rejected too"
    assert {g.unit_id for g in willow_only} == {ids["V1"]}
    willow = tally(g for g in groups if g.unit_id == ids["V1"])
    assert (willow.raised, willow.cases, willow.on_time, willow.pending) == (7, 6, 3, 1)
    assert (willow.confirmed, willow.partly, willow.not_solved) == (2, 1, 1)
    assert tally(willow_only) == willow
    pine = tally(g for g in groups if g.unit_id == ids["V2"])
    assert (pine.raised, pine.cases, pine.on_time) == (1, 1, 0)
    overdue = [g for g in groups if g.status == "taken"]
    assert len(overdue) == 1 and overdue[0].past_due and overdue[0].handler_id == ids["wang"]
    assert [g.past_due for g in groups if g.status == "open" and g.unit_id == ids["V1"]] == [
        False]
    # Later, the case within its deadline is overdue too.
    async with db.reading() as uow:
        later = await uow.cases.period_groups(PERIOD.start.date(), PERIOD.end.date(),
                                              datetime(2026, 11, 1, tzinfo=UTC), [ids["V1"]])
    assert tally(later).cases == 7


def settings_with_cases() -> Settings:
    indicators = [
        {"id": "satisfaction", "source": "residents", "answers": "overall_satisfaction",
         "weight": 0.6},
        {"id": "key_tasks", "source": "inspections", "weight": 0.2},
        {"id": "cases", "label": "Cases solved", "source": "cases", "weight": 0.2}]
    section = AppraisalSection.model_validate({"min_responses": 1,
                                               "unit_types": {"*": indicators}})
    return Settings().model_copy(update={"appraisal": section})


async def test_the_run_scores_and_explains_cases_and_the_export_has_them(db: Database) -> None:
    ids = await seed(db)
    options = AppraisalOptions(settings_with_cases().appraisal_config(), SECRET)
    report = await run_appraisal(db, "2026-Q3", options, actor="test")
    async with db.reading() as uow:
        results = {(r.kind, r.unit_id, r.person_id): r
                   for r in await uow.appraisal.results(report.run.id)}
    willow = results[("unit", ids["V1"], None)].detail
    assert willow["cases"]["cases"] == 6 and willow["cases"]["on_time"] == 3
    component = {c["id"]: c for c in willow["components"]}["cases"]
    assert component["n"] == 6 and component["figures"].startswith("6 cases: 3 solved on time")
    assert ("6 cases: 3 solved on time, 2.5 of 4 confirmed by residents (2 yes, 1 partly"
            " counting as half, 1 no); 1 more still within the deadline is not counted yet"
            in willow["explanation"])
    cadre = results[("cadre", ids["V1"], ids["wang"])].detail
    assert cadre["cases"]["cases"] == 6, "Wang handled them all"
    assert results[("unit", ids["V2"], None)].detail["cases"]["on_time"] == 0

    out = io.BytesIO()
    async with db.reading() as uow:
        await export_appraisal(uow, "2026-Q3", "csv", out, version=report.run.version)
    rows = list(csv.DictReader(io.StringIO(out.getvalue().decode("utf-8-sig"), newline="")))
    header = list(rows[0])
    assert header[-10:] == ["cases_raised", "cases", "cases_on_time", "cases_on_time_share",
                            "cases_answered", "cases_confirmed", "cases_partly",
                            "cases_not_solved", "cases_confirmed_share", "explanation"]
    row = next(r for r in rows if r["kind"] == "unit" and r["unit_code"] == "V1")
    assert [row[c] for c in header[-10:-1]] == ["7", "6", "3", "0.5", "4", "2", "1", "1",
                                                "0.625"]
    county = next(r for r in rows if r["kind"] == "unit" and r["unit_code"] == "C1")
    assert county["cases"] == "", "no cases: empty cells"


async def test_you_said_we_did(db: Database) -> None:
    ids = await seed(db)
    async with db.reading() as uow:
        said = await you_said_we_did(uow, [ids["V1"], ids["V2"]], PERIOD, min_cell=3, now=NOW)
        strict = await you_said_we_did(uow, [ids["V1"]], PERIOD, min_cell=5, limit=1, now=NOW)
        pine = await you_said_we_did(uow, [ids["V2"]], PERIOD, min_cell=3, now=NOW)
    assert (said.raised, said.cases, said.on_time, said.pending) == (8, 7, 3, 1)
    assert (said.answered, said.confirmed) == (4, 2.5)
    assert said.categories == (CategoryCount("roads", 6), CategoryCount("other", 2))
    # Closed as solved with a summary only (never the "not solved" one), confirmed first.
    assert [s.did for s in said.summaries] == [
        "Replaced the lamp by the school gate", "Emptied the bins on Mill Road",
        "Filled the worst potholes"]
    lamp, bins, potholes = said.summaries
    assert lamp.said == "The lamp by the school gate is out" and lamp.reports == 2
    assert bins.said is None, "the resident did not agree to be quoted"
    assert (lamp.on_time, potholes.on_time, potholes.outcome) == (True, False, "partly")
    assert lamp.unit_code == "V1" and lamp.unit.name == "Willow Village"
    # Fewer answers than the cell size: not shown; fewer cases: no categories.
    assert strict.answered is None and strict.confirmed is None
    assert strict.categories == (CategoryCount("roads", 5), CategoryCount("other", 2))
    assert len(strict.summaries) == 1
    assert (pine.raised, pine.categories, pine.summaries) == (1, (), ())
