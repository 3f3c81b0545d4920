"""Running campaigns against a real database: invitations, the burden budget, reminders,
recurrences, closing, and the outbox's bookkeeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from storage.models import AuditEvent, CampaignStatus, OutboxMessage, OutboxStatus, Role
from storage.responses import Completion
from storage.uow import Database
from surveys.campaigns import delivery, operations
from surveys.campaigns.admin import close_campaign, create_campaign
from surveys.campaigns.delivery import Outcome, Result
from surveys.campaigns.operations import Burden
from surveys.campaigns.rules import CampaignRuleError, Recurrence
from surveys.people.roles import grant_role
from surveys.people.units import import_units
from surveys.questionnaire.catalog import SurveyCatalog
from surveys.questionnaire.loader import load_template
from surveys.respondents.anonymity import respondent_key
from tests.conftest import SECRET, TEST_UNITS, seed_campaign

BURDEN = Burden(max_prompts_per_month=4, max_questionnaires_per_month=2,
                min_gap_between_reminders=timedelta(hours=24))


def now() -> datetime:
    return datetime.now(UTC)


async def resident(db: Database, user_id: int, unit: str | None = "V1", *,
                   opted_out: bool = False, unreachable: bool = False) -> int:
    async with db.transaction() as uow:
        contact = await uow.contacts.get_or_create(user_id, user_id)
        contact.opted_out, contact.unreachable = opted_out, unreachable
        if unit is not None:
            found = await uow.units.by_code(unit)
            assert found is not None
            await uow.subscriptions.add(contact.id, found.id)
        return contact.id


async def run(db: Database, code: str, job: str, at: datetime | None = None
              ) -> operations.StepResult | None:
    async with db.transaction() as uow:
        campaign = await uow.campaigns.by_code(code)
        assert campaign is not None
        return await operations.run_step(uow, campaign.id, job, at or now(), secret=SECRET,
                                         burden=BURDEN)


async def queued(db: Database, code: str, kind: str = "invite") -> dict[int, OutboxStatus]:
    """Telegram user id → status of the campaign's messages of that kind."""
    async with db.reading() as uow:
        campaign = await uow.campaigns.by_code(code)
        assert campaign is not None
        rows = await uow.session.execute(
            select(OutboxMessage.contact_id, OutboxMessage.status)
            .where(OutboxMessage.campaign_id == campaign.id, OutboxMessage.kind == kind)
        )
        result = {}
        for contact_id, status in rows:
            contact = await uow.contacts.get(contact_id)
            assert contact is not None
            result[contact.telegram_user_id] = status
        return result


async def deliver_all(db: Database) -> None:
    """What the sender does when every message gets through."""
    async with db.transaction() as uow:
        ids = list((await uow.session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.status == OutboxStatus.PENDING)
        )).all())
        await uow.outbox.mark(ids, OutboxStatus.SENT, now=now())


async def test_invitations_go_to_residents_who_chose_the_unit_or_a_unit_around_it(
    db: Database,
) -> None:
    await seed_campaign(db, code="willow", unit="V1")
    await resident(db, 1, "V1")
    await resident(db, 2, "T1")  # chose the whole township
    await resident(db, 3, "V2")  # another village: not asked about Willow
    await resident(db, 4, None)  # chose nothing
    await resident(db, 5, "V1", opted_out=True)
    await resident(db, 6, "V1", unreachable=True)
    result = await run(db, "willow", "invite")
    assert result is not None
    assert result.outcome == {"queued": 2, "skipped": {"opted_out": 1, "unreachable": 1}}
    assert await queued(db, "willow") == {1: OutboxStatus.PENDING, 2: OutboxStatus.PENDING}
    # Nothing runs twice, however often the scheduler asks.
    assert await run(db, "willow", "invite") is None
    assert len(await queued(db, "willow")) == 2


async def test_a_township_poll_reaches_the_villages_within_it(db: Database) -> None:
    await seed_campaign(db, code="north", unit="T1")
    for user, unit in [(1, "V1"), (2, "V2"), (3, "T1"), (4, "C1")]:
        await resident(db, user, unit)
    await run(db, "north", "invite")
    assert sorted(await queued(db, "north")) == [1, 2, 3, 4]


async def test_the_monthly_prompt_budget_is_never_exceeded(db: Database) -> None:
    await seed_campaign(db, code="willow")
    await resident(db, 1, "V1")
    await resident(db, 2, "V1")
    async with db.transaction() as uow:
        campaign = await uow.campaigns.by_code("willow")
        assert campaign is not None
        contact = await uow.contacts.by_user(1)
        assert contact is not None
        # Four prompts already this month for person 1 (from earlier kinds of message).
        for n in range(4):
            await uow.outbox.enqueue(campaign.id, f"remind:now{n}", now(), [contact.id])
        # One last month does not count.
        await uow.outbox.enqueue(campaign.id, "remind:old", now() - timedelta(days=40),
                                 [contact.id])
    result = await run(db, "willow", "invite")
    assert result is not None
    assert result.outcome == {"queued": 1, "skipped": {"prompt_budget": 1}}
    assert list(await queued(db, "willow")) == [2]


async def test_cadres_are_named_when_their_questionnaire_budget_would_be_exceeded(
    db: Database,
) -> None:
    async with db.transaction() as uow:
        await import_units(uow, TEST_UNITS, actor="test")
        await grant_role(uow, telegram_user_id=11, role=Role.CADRE, unit_code="V1",
                         name="Li Wei", actor="test")
        await grant_role(uow, telegram_user_id=12, role=Role.CADRE, unit_code="V2",
                         name="Wang Fang", actor="test")
        await grant_role(uow, telegram_user_id=13, role=Role.CADRE, unit_code="C1",
                         name="County Head", actor="test")
        for n in range(3):
            await create_campaign(
                uow, survey=load_template("cadre_self_assessment"), unit_code="T1",
                code=f"self{n}", opens_at=now(), closes_at=now() + timedelta(days=7),
                now=now(), actor="test",
            )
    for n in range(2):
        await run(db, f"self{n}", "invite")
    async with db.reading() as uow:
        tree = await operations.UnitTree.load(uow)
        plan = await operations.plan_invitations(
            uow, unit_id=tree.by_code["T1"].id, audience="cadres", opens_at=now(),
            burden=BURDEN,
        )
    # The county's cadre is not a cadre of the township's units.
    assert plan.recipients == []
    assert plan.skipped_names("questionnaire_budget") == ["Li Wei", "Wang Fang"]


async def test_reminders_go_only_to_those_invited_or_started_who_have_not_completed(
    db: Database,
) -> None:
    await seed_campaign(db, code="willow")
    for user in (1, 2, 3):
        await resident(db, user, "V1")
    await resident(db, 4, None)  # came by QR code, has started
    await run(db, "willow", "invite")
    await deliver_all(db)
    async with db.transaction() as uow:
        campaign = await uow.campaigns.by_code("willow")
        assert campaign is not None
        done = await uow.responses.create(campaign.id, campaign.survey_id,
                                          respondent_key(SECRET, campaign.id, 1), "en", None,
                                          started_at=now())
        assert done is not None
        await uow.responses.advance(done, current_question=None, draft=None,
                                    completed=Completion(now(), 60))
        # The walk-in began answering: nothing but their respondent key says so.
        walk_in = await uow.responses.create(campaign.id, campaign.survey_id,
                                             respondent_key(SECRET, campaign.id, 4), "en", "q1",
                                             started_at=now())
        assert walk_in is not None
        opted = await uow.contacts.by_user(3)
        assert opted is not None
        opted.opted_out = True
    result = await run(db, "willow", "remind:7200")
    assert result is not None
    assert sorted(await queued(db, "willow", "remind:7200")) == [2, 4]
    assert result.outcome["skipped"] == {"opted_out": 1}


async def test_a_manual_reminder_respects_the_gap_and_refuses_an_empty_broadcast(
    db: Database,
) -> None:
    await seed_campaign(db, code="willow")
    with pytest.raises(CampaignRuleError, match="nobody to remind"):
        async with db.transaction() as uow:
            await operations.remind_now(uow, "willow", now(), secret=SECRET, burden=BURDEN,
                                        actor="person:1")
    await resident(db, 1, "V1")
    await run(db, "willow", "invite")
    with pytest.raises(CampaignRuleError, match="nobody to remind"):
        # The invitation has not gone out yet: no reminder right behind it.
        async with db.transaction() as uow:
            await operations.remind_now(uow, "willow", now(), secret=SECRET, burden=BURDEN,
                                        actor="person:1")
    await deliver_all(db)
    async with db.transaction() as uow:
        sent = await operations.remind_now(uow, "willow", now(), secret=SECRET, burden=BURDEN,
                                           actor="person:1")
    assert sent.queued == 1
    with pytest.raises(CampaignRuleError, match="the next can go after"):
        async with db.transaction() as uow:
            await operations.remind_now(uow, "willow", now() + timedelta(hours=2),
                                        secret=SECRET, burden=BURDEN, actor="person:1")
    async with db.reading() as uow:
        actions = [e.action for e in await uow.audit.recent()]
    assert "campaign.remind" in actions


async def test_a_recurrence_creates_the_next_campaign_of_the_series(db: Database) -> None:
    opens = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    async with db.transaction() as uow:
        await import_units(uow, TEST_UNITS, actor="test")
        await create_campaign(
            uow, survey=load_template("resident_satisfaction"), unit_code="V1", code="willow",
            opens_at=opens, closes_at=opens + timedelta(days=10), now=opens - timedelta(hours=1),
            actor="test", timezone="Asia/Shanghai", reminders=[timedelta(days=2)],
            recurrence=Recurrence("monthly"), target=100,
        )
    result = await run(db, "willow", "recur", at=opens)
    assert result is not None and result.outcome["next"] == "willow-20261202"
    async with db.reading() as uow:
        nxt = await uow.campaigns.by_code("willow-20261202")
        assert nxt is not None
        assert (nxt.status, nxt.series, nxt.reminders, nxt.target_responses) == (
            CampaignStatus.SCHEDULED, "willow", [172800], 100)
        assert nxt.opens_at == datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
        assert nxt.closes_at == nxt.opens_at + timedelta(days=10)
    # Its own recurrence continues the series under the same name, skipping runs that a long
    # downtime made pointless.
    late = datetime(2027, 3, 5, tzinfo=UTC)
    result = await run(db, "willow-20261202", "recur", at=late)
    assert result is not None
    assert result.outcome == {"next": "willow-20270302", "opens_at": "2027-03-02T01:00:00+00:00",
                              "periods_skipped": 2}


async def test_closing_drops_unsent_messages_and_is_audited(db: Database) -> None:
    await seed_campaign(db, code="willow")
    await resident(db, 1, "V1")
    await run(db, "willow", "invite")
    async with db.transaction() as uow:
        await close_campaign(uow, "willow", now(), actor="person:9")
    assert await queued(db, "willow") == {1: OutboxStatus.SKIPPED}
    assert await run(db, "willow", "close") is not None  # recorded, changes nothing
    async with db.reading() as uow:
        campaign = await uow.campaigns.by_code("willow")
        assert campaign is not None and campaign.status == CampaignStatus.CLOSED
        events = (await uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "campaign.close"))).all()
    assert [(e.actor, e.before, e.after["status"]) for e in events] == [
        ("person:9", {"status": "open"}, "closed")
    ]


async def test_the_outbox_claims_once_per_chat_and_drops_what_no_longer_makes_sense(
    db: Database,
) -> None:
    await seed_campaign(db, code="willow")
    for user in (1, 2, 3):
        await resident(db, user, "V1")
    await run(db, "willow", "invite")
    async with db.transaction() as uow:
        campaign = await uow.campaigns.by_code("willow")
        assert campaign is not None
        first, second = await uow.contacts.by_user(1), await uow.contacts.by_user(2)
        assert first is not None and second is not None
        # A second message to person 1 in the same round must wait (1 message/s per chat).
        await uow.outbox.enqueue(campaign.id, "remind:now1", now(), [first.id])
        second.opted_out = True
    catalog = SurveyCatalog()
    async with db.transaction() as uow:
        batch = await delivery.claim(uow, now(), limit=10, busy_chats={3}, secret=SECRET,
                                     catalog=catalog)
    assert [o.delivery.telegram_user_id for o in batch] == [1]
    statuses = await queued(db, "willow")
    assert statuses == {1: OutboxStatus.SENDING, 2: OutboxStatus.SKIPPED,
                        3: OutboxStatus.PENDING}
    assert (await queued(db, "willow", "remind:now1")) == {1: OutboxStatus.PENDING}
    # A crash now: the message in flight goes out again at the next start.
    async with db.transaction() as uow:
        assert await uow.outbox.requeue_in_flight() == 1
    assert (await queued(db, "willow"))[1] == OutboxStatus.PENDING


async def test_send_outcomes_are_recorded(db: Database) -> None:
    await seed_campaign(db, code="willow")
    for user in (1, 2, 3, 4):
        await resident(db, user, "V1")
    await run(db, "willow", "invite")
    at = now()
    async with db.transaction() as uow:
        batch = await delivery.claim(uow, at, limit=10, busy_chats=set(), secret=SECRET,
                                     catalog=SurveyCatalog())
    by_user = {o.delivery.telegram_user_id: o for o in batch}
    results = [
        Result(by_user[1], Outcome.SENT),
        Result(by_user[2], Outcome.BLOCKED, "Forbidden: bot was blocked by the user"),
        Result(by_user[3], Outcome.FLOOD, "429", timedelta(seconds=7)),
        Result(by_user[4], Outcome.NETWORK, "timed out"),
    ]
    async with db.transaction() as uow:
        await delivery.record(uow, results, at, max_attempts=2)
    assert await queued(db, "willow") == {
        1: OutboxStatus.SENT, 2: OutboxStatus.FAILED, 3: OutboxStatus.PENDING,
        4: OutboxStatus.PENDING,
    }
    async with db.reading() as uow:
        blocked = await uow.contacts.by_user(2)
        assert blocked is not None and blocked.unreachable
        rows = {r.contact_id: r for r in (await uow.session.scalars(select(OutboxMessage))).all()}
        flood = rows[by_user[3].delivery.contact_id]
        assert flood.attempts == 0 and flood.due_at >= at + timedelta(seconds=7)
        assert rows[by_user[4].delivery.contact_id].attempts == 1
    # The network failure is retried once more, then given up (max_attempts=2).
    async with db.transaction() as uow:
        retry = await delivery.claim(uow, at + timedelta(minutes=5), limit=10, busy_chats=set(),
                                     secret=SECRET, catalog=SurveyCatalog())
    assert sorted(o.delivery.telegram_user_id for o in retry) == [3, 4]
    by_user = {o.delivery.telegram_user_id: o for o in retry}
    async with db.transaction() as uow:
        await delivery.record(uow, [Result(by_user[4], Outcome.NETWORK, "timed out"),
                                    Result(by_user[3], Outcome.SENT)], at, max_attempts=2)
    assert await queued(db, "willow") == {
        1: OutboxStatus.SENT, 2: OutboxStatus.FAILED, 3: OutboxStatus.SENT,
        4: OutboxStatus.FAILED,
    }
