"""The period's appraisal end to end on a real database: anomalies, aggregation, scoring,
versions, publication and the audit trail (SQLite, and PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from analysis.sentiment import ANALYSER_VERSION
from bot.settings import Settings
from storage.models import (
    Answer,
    AppraisalResult,
    AppraisalStatus,
    Campaign,
    Contact,
    Inspection,
    KpiValue,
    Person,
    PersonRole,
    Response,
    ResponseStatus,
    Role,
    TextScore,
    Verdict,
)
from storage.uow import Database
from surveys.appraisal.periods import parse_period
from surveys.appraisal.publication import approve_publication, publish
from surveys.appraisal.run import AppraisalError, AppraisalOptions, run_appraisal
from surveys.appraisal.textscoring import score_pending
from surveys.respondents.anonymity import respondent_key
from tests.conftest import SECRET, seed_campaign

PERIOD = "2026-Q4"
MID = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


def options(**appraisal: Any) -> AppraisalOptions:
    settings = Settings()
    if appraisal:
        section = settings.appraisal.model_copy(update=appraisal)
        settings = settings.model_copy(update={"appraisal": section})
    return AppraisalOptions(settings.appraisal_config(), SECRET)


async def campaign_of(db: Database, code: str) -> Campaign:
    async with db.reading() as uow:
        campaign = await uow.campaigns.by_code(code)
    assert campaign is not None
    return campaign


_keys = iter(range(10**6))


async def respond(db: Database, campaign: Campaign, ratings: tuple[int, int, int],
                  solved: bool = True, comment: str | None = None, *,
                  at: datetime = MID, seconds: float = 60, entry: str | None = None,
                  key: str | None = None, person_id: int | None = None) -> int:
    """One completed response as the resident journey stores it."""
    async with db.transaction() as uow:
        response = Response(
            campaign_id=campaign.id, survey_id=campaign.survey_id,
            respondent_key=key or f"{next(_keys):064d}", status=ResponseStatus.COMPLETED,
            current_question=None, step=6, language="en", started_at=at - timedelta(
                seconds=seconds), completed_at=at, duration_s=round(seconds), entry_point=entry,
            person_id=person_id)
        uow.session.add(response)
        await uow.session.flush()
        rows = [("overall", "rating", "overall_satisfaction", float(ratings[0])),
                ("resolved", "yesno", "problem_solved", 1.0 if solved else 0.0),
                ("timeliness", "rating", "responsiveness", float(ratings[1])),
                ("courtesy", "rating", "attitude", float(ratings[2]))]
        for question, kind, indicator, value in rows:
            uow.session.add(Answer(response_id=response.id, question_id=question,
                                   question_type=kind, indicator=indicator, skipped=False,
                                   value_number=value))
        if comment is not None:
            uow.session.add(Answer(response_id=response.id, question_id="comment",
                                   question_type="text", indicator="comments", skipped=False,
                                   value_text=comment))
        return response.id


async def two_villages(db: Database) -> tuple[Campaign, Campaign]:
    await seed_campaign(db, code="willow", unit="V1")
    async with db.transaction() as uow:
        from surveys.campaigns.admin import create_campaign
        from surveys.questionnaire.loader import load_template

        await create_campaign(uow, survey=load_template("resident_satisfaction"),
                              unit_code="V2", code="pine", opens_at=MID - timedelta(days=30),
                              closes_at=MID + timedelta(days=30), now=MID - timedelta(days=31),
                              actor="test")
    return await campaign_of(db, "willow"), await campaign_of(db, "pine")


async def results_by_name(db: Database, run_id: int) -> dict[str, AppraisalResult]:
    async with db.reading() as uow:
        return {r.detail["name"]: r for r in await uow.appraisal.results(run_id)}


async def test_a_period_with_no_data_grades_nobody_and_says_so(db: Database) -> None:
    await seed_campaign(db)
    report = await run_appraisal(db, "2031-Q1", options(), actor="test")
    assert report.responses == 0 and report.graded_units == 0
    results = await results_by_name(db, report.run.id)
    assert {r.status for r in results.values()} <= {"no_data", "not_enough_responses"}
    assert all(r.score is None and r.grade is None and r.rank is None for r in results.values())
    willow = results["Willow Village"]
    assert willow.detail["explanation"]


async def test_a_good_unit_ranks_above_a_poor_one_and_a_lone_answer_is_not_graded(
        db: Database) -> None:
    willow, pine = await two_villages(db)
    rng = random.Random(1)
    for i in range(15):
        await respond(db, willow, (5, rng.choice((4, 5)), 5), at=MID + timedelta(hours=i),
                      seconds=40 + i)
        await respond(db, pine, (2, rng.choice((1, 2)), 3), solved=False,
                      at=MID + timedelta(hours=i), seconds=40 + i)
    await seed_campaign_in_county(db)
    county = await campaign_of(db, "county")
    await respond(db, county, (5, 5, 5))
    report = await run_appraisal(db, PERIOD, options(), actor="test")
    results = await results_by_name(db, report.run.id)
    good, poor, lone = (results["Willow Village"], results["Pine Village"],
                        results["Riverside County"])
    assert good.status == poor.status == "graded"
    assert good.score is not None and poor.score is not None and good.score > poor.score
    assert good.rank is not None and poor.rank is not None and good.rank < poor.rank
    assert lone.status == "not_enough_responses" and lone.score is None and lone.grade is None
    assert "1" in lone.detail["explanation"] and "10" in lone.detail["explanation"]
    # Every component is explained with its weight, n and interval.
    satisfaction = next(c for c in good.detail["components"] if c["id"] == "satisfaction")
    assert satisfaction["n"] == 15 and satisfaction["weight"] == pytest.approx(0.30)
    assert satisfaction["interval"] is not None
    assert "Resident satisfaction" in good.detail["explanation"]
    stats = {s["question"]: s for s in good.detail["statistics"]}
    assert stats["overall"]["n"] == 15 and stats["overall"]["csat"] == pytest.approx(1.0)
    # Willow has 1,200 residents: the margin of error uses the finite-population correction.
    assert stats["overall"]["margin_of_error"] < 1.96 * (0.25 / 15) ** 0.5


async def seed_campaign_in_county(db: Database) -> None:
    async with db.transaction() as uow:
        from surveys.campaigns.admin import create_campaign
        from surveys.questionnaire.loader import load_template

        await create_campaign(uow, survey=load_template("resident_satisfaction"),
                              unit_code="C1", code="county", opens_at=MID - timedelta(days=30),
                              closes_at=MID + timedelta(days=30), now=MID - timedelta(days=31),
                              actor="test")


async def test_when_every_answer_is_flagged_the_unit_is_not_graded_and_nothing_is_lost(
        db: Database) -> None:
    willow, _ = await two_villages(db)
    ids = [await respond(db, willow, (5, 5, 5), at=MID + timedelta(hours=i), seconds=1)
           for i in range(12)]
    report = await run_appraisal(db, PERIOD, options(), actor="test")
    assert report.flagged.get("too_fast") == 12
    result = (await results_by_name(db, report.run.id))["Willow Village"]
    assert result.status == "not_enough_responses" and result.score is None
    assert result.detail["excluded"]["too_fast"] == 12
    assert "too fast" in result.detail["explanation"].replace("_", " ")
    async with db.reading() as uow:
        flags = await uow.anomalies.listed(parse_period(PERIOD).start, parse_period(PERIOD).end)
        kept = [await uow.responses.get(i) for i in ids]
    assert {f.response_id for f, _, _ in flags} == set(ids)
    assert all(r is not None and r.status == ResponseStatus.COMPLETED for r in kept)


async def test_ballot_stuffing_through_one_entry_point_is_caught_and_changes_no_grade(
        db: Database) -> None:
    willow, _ = await two_villages(db)
    rng = random.Random(7)
    for i in range(40):
        await respond(db, willow, (rng.choice((2, 3)), 2, 3), solved=False,
                      at=MID + timedelta(hours=3 * i, minutes=rng.randrange(60)),
                      seconds=rng.uniform(30, 90), entry=rng.choice((None, "window")))
    before = await run_appraisal(db, PERIOD, options(), actor="test")
    burst_at = MID + timedelta(days=5)
    for i in range(30):
        await respond(db, willow, (5, 5, 5), at=burst_at + timedelta(seconds=20 * i),
                      seconds=12, entry="window")
    after = await run_appraisal(db, PERIOD, options(), actor="test")
    assert after.flagged.get("entry_burst", 0) >= 29
    old = (await results_by_name(db, before.run.id))["Willow Village"]
    new = (await results_by_name(db, after.run.id))["Willow Village"]
    assert new.grade == old.grade and new.score == pytest.approx(old.score, abs=2)
    assert new.detail["excluded"]["entry_burst"] >= 29


async def test_a_cadre_answering_their_own_units_poll_is_counted_and_removed(db: Database) -> None:
    willow, _ = await two_villages(db)
    async with db.transaction() as uow:
        contact = Contact(telegram_user_id=4242, chat_id=4242, language="en")
        uow.session.add(contact)
        await uow.session.flush()
        person = Person(name="Wang Fang", position="Village head", contact_id=contact.id)
        uow.session.add(person)
        await uow.session.flush()
        unit = await uow.units.by_code("V1")
        assert unit is not None
        uow.session.add(PersonRole(person_id=person.id, role=Role.CADRE, unit_id=unit.id))
    own = await respond(db, willow, (5, 5, 5), comment="all fine",
                        key=respondent_key(SECRET, willow.id, 4242))
    other = await respond(db, willow, (4, 4, 4))
    report = await run_appraisal(db, PERIOD, options(), actor="test")
    # Counted, never pointed at: no flag names the response (in a unit with one cadre it
    # would be that cadre's answers), and the answers themselves are gone.
    assert report.flagged == {"cadre_respondent": 1}
    async with db.reading() as uow:
        assert await uow.anomalies.listed(parse_period(PERIOD).start,
                                          parse_period(PERIOD).end) == []
        assert await uow.responses.get(own) is None
        assert await uow.responses.get(other) is not None
        assert (await uow.session.scalars(select(TextScore))).all() == []
    assert report.run.summary["flagged"] == {"cadre_respondent": 1}


async def test_cadre_results_flag_exaggeration_and_suggest_training(db: Database) -> None:
    willow, _ = await two_villages(db)
    async with db.transaction() as uow:
        person = Person(name="Li Ming", position="Party secretary", contact_id=None)
        inspector = Person(name="Inspector", position=None, contact_id=None)
        uow.session.add_all([person, inspector])
        await uow.session.flush()
        unit = await uow.units.by_code("V1")
        assert unit is not None
        uow.session.add(PersonRole(person_id=person.id, role=Role.CADRE, unit_id=unit.id))
        uow.session.add(Inspection(inspector_id=inspector.id, unit_id=unit.id,
                                   cadre_id=person.id, verdict=Verdict.NOT_ACHIEVED,
                                   remark="The road is not repaired", inspected_at=MID))
        uow.session.add(KpiValue(unit_id=unit.id, period=PERIOD, kpi="waste_collection_rate",
                                 value=60, source="test.csv", imported_at=MID))
        person_id = person.id
    for i in range(12):
        await respond(db, willow, (2, 2, 2), solved=False, at=MID + timedelta(hours=i))
    self_campaign = await seed_self_assessment(db)
    await respond_self(db, self_campaign, person_id, progress=5)
    report = await run_appraisal(db, PERIOD, options(), actor="test")
    cadre = (await results_by_name(db, report.run.id))["Li Ming"]
    assert cadre.kind == "cadre" and cadre.person_id == person_id
    assert cadre.exaggeration is True
    assert cadre.detail["self_view"] == pytest.approx(100)
    assert cadre.detail["others_view"] < 40
    assert cadre.detail["training"] and all("en" in t and "zh" in t
                                            for t in cadre.detail["training"])
    kpi = next(c for c in cadre.detail["components"] if c["id"] == "waste_collection")
    assert kpi["score"] == pytest.approx(20)  # (60 - 50) / (100 - 50)


async def seed_self_assessment(db: Database) -> Campaign:
    async with db.transaction() as uow:
        from surveys.campaigns.admin import create_campaign
        from surveys.questionnaire.loader import load_template

        await create_campaign(uow, survey=load_template("cadre_self_assessment"),
                              unit_code="V1", code="self", opens_at=MID - timedelta(days=30),
                              closes_at=MID + timedelta(days=30), now=MID - timedelta(days=31),
                              actor="test", audience="cadres")
    return await campaign_of(db, "self")


async def respond_self(db: Database, campaign: Campaign, person_id: int, progress: int) -> None:
    async with db.transaction() as uow:
        response = Response(
            campaign_id=campaign.id, survey_id=campaign.survey_id,
            respondent_key=f"self-{person_id}", status=ResponseStatus.COMPLETED,
            current_question=None, step=3, language="en", started_at=MID - timedelta(minutes=2),
            completed_at=MID, duration_s=120, person_id=person_id)
        uow.session.add(response)
        await uow.session.flush()
        uow.session.add(Answer(response_id=response.id, question_id="task_progress",
                               question_type="rating", indicator="key_task_progress",
                               skipped=False, value_number=float(progress)))


async def test_versions_publication_and_the_audit_trail(db: Database) -> None:
    from tests.storage.test_publication import ADMIN, AUDITOR, staff

    willow, _ = await two_villages(db)
    await staff(db)
    for i in range(12):
        await respond(db, willow, (4, 4, 5), at=MID + timedelta(hours=i))
    with pytest.raises(AppraisalError, match="run"):
        await publish(db, PERIOD, by=ADMIN, requires_approval=True)
    first = await run_appraisal(db, PERIOD, options(), actor="test")
    second = await run_appraisal(db, PERIOD, options(), actor="test")
    assert (first.run.version, second.run.version) == (1, 2)
    assert first.run.results_hash == second.run.results_hash  # same data, same results
    # Four eyes: an admin asks, an auditor approves.
    await publish(db, PERIOD, by=ADMIN, requires_approval=True)
    published = await approve_publication(db, PERIOD, by=AUDITOR)
    assert published.run.version == 2 and published.superseded is None
    with pytest.raises(AppraisalError, match="nothing new to publish"):
        await publish(db, PERIOD, by=ADMIN, requires_approval=True)
    await respond(db, willow, (1, 1, 1), at=MID + timedelta(days=1))
    third = await run_appraisal(db, PERIOD, options(), actor="test")
    assert third.run.results_hash != second.run.results_hash
    await publish(db, PERIOD, by=ADMIN, requires_approval=True)
    published = await approve_publication(db, PERIOD, by=AUDITOR)
    assert published.run.version == 3 and published.superseded == 2
    async with db.reading() as uow:
        statuses = {r.version: r.status for r in await uow.appraisal.runs(PERIOD)}
        events = [e.action for e in await uow.audit.of("appraisal_run")]
        assert await uow.audit.verify() is None
    assert statuses == {1: AppraisalStatus.SUPERSEDED, 2: AppraisalStatus.SUPERSEDED,
                        3: AppraisalStatus.PUBLISHED}
    assert events.count("appraisal.run") == 3 and events.count("appraisal.publish") == 2
    assert events.count("appraisal.publish_request") == events.count("appraisal.approve") == 2


async def test_a_draft_changed_after_it_was_computed_is_not_published(db: Database) -> None:
    willow, _ = await two_villages(db)
    for i in range(12):
        await respond(db, willow, (3, 3, 3), at=MID + timedelta(hours=i))
    report = await run_appraisal(db, PERIOD, options(), actor="test")
    async with db.transaction() as uow:
        await uow.session.execute(update(AppraisalResult)
                                  .where(AppraisalResult.run_id == report.run.id)
                                  .values(score=99.0, grade="excellent"))
    # Refused with approval off too: the hash check is not the approver's to make.
    with pytest.raises(AppraisalError, match="no longer matches"):
        await publish(db, PERIOD, by=None, requires_approval=False, label="admin")
    async with db.reading() as uow:
        [run] = await uow.appraisal.runs(PERIOD)
    assert run.status == AppraisalStatus.DRAFT


async def test_comments_are_scored_with_the_analyser_version_and_contradictions_marked(
        db: Database) -> None:
    willow, _ = await two_villages(db)
    await respond(db, willow, (5, 5, 5), comment="Terrible, rude staff and I waited for hours")
    await respond(db, willow, (4, 4, 4), comment="Staff were kind and solved my problem quickly")
    await respond(db, willow, (3, 3, 3), comment="")
    assert await score_pending(db, batch_size=2) == 3
    assert await score_pending(db) == 0  # nothing left for this analyser
    async with db.reading() as uow:
        counts = await uow.text_scores.counts(ANALYSER_VERSION)
        contradictions = await uow.appraisal.contradictions(
            parse_period(PERIOD).start, parse_period(PERIOD).end, ANALYSER_VERSION)
    assert counts.get("negative") == 1 and counts.get("positive") == 1
    assert counts.get("neutral") == 1
    unit = await unit_id(db, "V1")
    assert contradictions == {unit: 1}


async def test_scores_of_an_older_analyser_are_rescored_and_never_mixed_in(
        db: Database) -> None:
    # A new analyser version (new weights, rules or lexicon) leaves the old scores stored
    # under their own version: the backfill scores every text again with the current one, and
    # the run counts only the current version's scores, never a mix of the two.
    willow, _ = await two_villages(db)
    await respond(db, willow, (5, 5, 5), comment="Terrible, rude staff and I waited for hours")
    start, end = parse_period(PERIOD).start, parse_period(PERIOD).end
    old = "s1+en-lexicon-logreg-2+0000000000+zh-lexicon-1+0000000000"
    assert old != ANALYSER_VERSION
    async with db.transaction() as uow:
        comment = (await uow.session.scalars(
            select(Answer).where(Answer.question_type == "text"))).one()
        uow.session.add(TextScore(source="answer", source_id=comment.id, analyser=old,
                                  language="en", polarity=0.9, label="positive",
                                  scored_at=MID, contradicts=False))
    async with db.reading() as uow:
        assert await uow.appraisal.sentiment_sums(start, end, ANALYSER_VERSION) == {}
    assert await score_pending(db) == 1
    assert await score_pending(db) == 0
    unit = await unit_id(db, "V1")
    async with db.reading() as uow:
        assert await uow.text_scores.counts(ANALYSER_VERSION) == {"negative": 1}
        assert await uow.text_scores.counts(old) == {"positive": 1}
        [(scored_unit, (count, total, _squares))] = (
            await uow.appraisal.sentiment_sums(start, end, ANALYSER_VERSION)).items()
        assert await uow.appraisal.contradictions(start, end, ANALYSER_VERSION) == {unit: 1}
    assert (scored_unit, count) == (unit, 1) and total < 0


async def unit_id(db: Database, code: str) -> int:
    async with db.reading() as uow:
        unit = await uow.units.by_code(code)
    assert unit is not None
    return unit.id


async def test_the_demo_publishes_last_quarters_appraisal_once(db: Database) -> None:
    from bot.demo import seed_demo, seed_demo_appraisal

    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    await seed_demo(db, now)
    assert await seed_demo_appraisal(db, now, options()) == "2026-Q3"
    assert await seed_demo_appraisal(db, now, options()) == "2026-Q3"  # a restart adds nothing
    async with db.reading() as uow:
        [run] = await uow.appraisal.runs("2026-Q3")
        results = {r.detail["name"]: r for r in await uow.appraisal.results(run.id)}
    assert run.status == AppraisalStatus.PUBLISHED
    assert results["Wang Fang"].kind == "cadre" and results["Wang Fang"].status == "graded"
    assert results["South Township"].status == "not_enough_responses"
