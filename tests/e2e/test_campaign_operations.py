"""Campaign operations seen by residents: choosing units, invitations, reminders, opting out,
blocked accounts and missed steps after downtime. Real Application, sandbox and database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.app import background_of
from sandbox import SandboxClient, SandboxUser
from storage.models import AuditEvent, CampaignStatus, OutboxMessage, OutboxStatus, Response
from storage.uow import Database
from surveys.campaigns.admin import create_campaign
from surveys.questionnaire.loader import load_template
from tests.e2e.conftest import Bot, Clock
from tests.e2e.test_resident_journey import tap_and_wait
from tests.e2e.test_telegram_limits import eventually

pytestmark = pytest.mark.e2e


async def choose(user: SandboxUser, *path: str) -> None:
    """In the unit picker, go down through ``path[:-1]`` (their › buttons), tick the last."""
    for name in path[:-1]:
        message = await user.last_bot_message()
        assert message is not None
        [down] = [row[1][1] for row in message.buttons
                  if row[0][0].removeprefix("✓ ") == name and len(row) == 2]
        assert down is not None
        await user.tap_data(message.message_id, down, forge=False)
        await user.wait_for_message(name)
    await user.tap(path[-1])


async def leading(bot: Bot) -> None:
    assert bot.application is not None
    background = background_of(bot.application)
    await eventually(lambda: background.leading)
    assert background.leading, "the only bot process runs the scheduler and sender"


async def newcomer(bot: Bot, client: SandboxClient, user_id: int, name: str) -> SandboxUser:
    """A resident who has just said /start, once the seeded poll's invitations are done
    with (they would otherwise reach whoever follows its unit)."""
    await leading(bot)
    await sync(bot)
    user = await client.user(user_id, name, language_code="en")
    await user.send("/start")
    await user.wait_for_message("Which places")
    return user


async def sync(bot: Bot) -> int:
    assert bot.application is not None
    return await background_of(bot.application).scheduler.sync()


async def open_campaign(db: Database, code: str, unit: str = "V1", closes_in: timedelta =
                        timedelta(days=7), reminders: tuple[timedelta, ...] = ()) -> None:
    at = datetime.now(UTC)
    async with db.transaction() as uow:
        await create_campaign(
            uow, survey=load_template("resident_satisfaction"), unit_code=unit, code=code,
            opens_at=at - timedelta(minutes=1), closes_at=at + closes_in, now=at,
            actor="test", reminders=list(reminders),
        )


async def outbox(db: Database, code: str) -> list[tuple[str, OutboxStatus]]:
    """The campaign's messages: (kind, status) in the order they were queued."""
    async with db.reading() as uow:
        campaign = await uow.campaigns.by_code(code)
        assert campaign is not None
        rows = await uow.session.execute(
            select(OutboxMessage.kind, OutboxMessage.status)
            .where(OutboxMessage.campaign_id == campaign.id).order_by(OutboxMessage.id)
        )
        return [(kind, status) for kind, status in rows]


async def test_a_new_resident_chooses_units_and_gets_a_one_tap_invitation(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    user = await client.user(501, "Mei", language_code="en")
    await user.send("/start")
    await user.wait_for_message("Hello!")
    picker = await user.wait_for_message("Which places")
    assert picker.button_texts[:2] == ["Riverside County", "›"]
    await choose(user, "Riverside County", "North Township", "Willow Village")
    ticked = await user.wait_for_message("North Township")
    assert "✓ Willow Village" in ticked.button_texts and "Pine Village" in ticked.button_texts
    await user.tap("Done ✓")
    saved = await user.wait_for_message("Saved")
    assert "Riverside County › North Township › Willow Village" in saved.text

    await leading(bot)
    await open_campaign(db, "spring")
    await sync(bot)  # or the background pass got there first: the invitation tells
    invitation = await user.wait_for_message("would like your opinion")
    assert "Willow Village" in invitation.text and "/stop" in invitation.text
    assert invitation.button_texts == ["▶ Start"]
    await user.tap("▶ Start")
    # The intro and the first question come as one message.
    first = await user.wait_for_message("1/5")
    assert "anonymous" in first.text
    async with db.reading() as uow:
        [entry] = (await uow.session.scalars(select(Response.entry_point))).all()
    assert entry == "invite", "answers that came through an invitation are told apart"
    await eventually(lambda: outbox(db, "spring"),
                     lambda rows: rows == [("invite", OutboxStatus.SENT)])
    assert await outbox(db, "spring") == [("invite", OutboxStatus.SENT)]


async def test_after_a_first_poll_a_resident_is_offered_invitations_once(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    from tests.e2e.test_resident_journey import answer_all

    user = await client.user(502, "Bo", language_code="en")
    await answer_all(user, comment=None)
    await user.tap("✅ Submit")
    offer = await user.wait_for_message("invited to future polls about Willow Village")
    assert offer.button_texts == ["Yes, invite me", "No, thanks"]
    await tap_and_wait(user, "Yes, invite me", "You will be invited to polls about Willow")
    async with db.reading() as uow:
        contact = await uow.contacts.by_user(502)
        assert contact is not None and contact.units_chosen
        assert len(await uow.subscriptions.unit_ids(contact.id)) == 1


async def test_stop_ends_invitations_and_start_resumes_them(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    # The seeded poll's invitations go out first, while this resident follows nothing: when
    # the bot came to lead only after the resident chose the county, that poll invited them
    # too, and the invitation, claimed before /stop, arrived after it (seen once in CI).
    user = await newcomer(bot, client, 503, "Chen")
    await choose(user, "Riverside County")
    await user.tap("Done ✓")
    await user.wait_for_message("Saved")
    await user.send("/stop")
    await user.wait_for_message("you will get no more invitations")
    await leading(bot)
    await open_campaign(db, "quiet")
    await sync(bot)
    await user.expect_no_message(within=1.0)
    assert await outbox(db, "quiet") == []
    async with db.reading() as uow:
        quiet = await uow.campaigns.by_code("quiet")
        assert quiet is not None
        runs = await uow.runs.outcomes(quiet.id)
    assert runs["invite"] == {"queued": 0, "skipped": {"opted_out": 1}}

    await user.send("/start")
    await user.wait_for_message()
    await open_campaign(db, "loud")
    await sync(bot)
    await user.wait_for_message("would like your opinion")


async def _sending(db: Database, user_id: int, code: str) -> int:
    """An invitation to the user that the sender has taken and is handing to Telegram."""
    async with db.transaction() as uow:
        contact = await uow.contacts.by_user(user_id)
        campaign = await uow.campaigns.by_code(code)
        assert contact is not None and campaign is not None
        row = OutboxMessage(campaign_id=campaign.id, contact_id=contact.id, kind="invite",
                            status=OutboxStatus.SENDING, due_at=datetime.now(UTC))
        uow.session.add(row)
        await uow.session.flush()
        return row.id


async def _sent(db: Database, outbox_id: int) -> None:
    async with db.transaction() as uow:
        await uow.outbox.mark([outbox_id], OutboxStatus.SENT, now=datetime.now(UTC))


async def test_the_reply_to_stop_comes_after_an_invitation_already_on_its_way(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    user = await newcomer(bot, client, 507, "Lan")
    await open_campaign(db, "racing")
    on_its_way = await _sending(db, 507, "racing")
    await user.send("/stop")
    await user.expect_no_message(within=0.6)  # the invitation is not through yet
    await _sent(db, on_its_way)
    await user.wait_for_message("you will get no more invitations")
    async with db.reading() as uow:
        contact = await uow.contacts.by_user(507)
        assert contact is not None and contact.opted_out


async def test_the_reply_to_stop_waits_only_so_long_for_an_invitation(
    bot: Bot, client: SandboxClient, db: Database, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import handlers.resident

    monkeypatch.setattr(handlers.resident, "STOP_WAITS_FOR_SEND_S", 0.5)
    user = await newcomer(bot, client, 508, "Hua")
    await open_campaign(db, "stuck")
    await _sending(db, 508, "stuck")  # Telegram never answers the sender
    await user.send("/stop")
    await user.wait_for_message("you will get no more invitations", timeout=3)


async def test_a_blocked_account_mid_broadcast_is_marked_and_the_rest_delivered(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    await leading(bot)
    await sync(bot)  # the seeded campaign's invitations are done with
    users = [await client.user(600 + n, f"R{n}", language_code="en") for n in range(6)]
    async with db.transaction() as uow:
        unit = await uow.units.by_code("V1")
        assert unit is not None
        for user in users:
            contact = await uow.contacts.get_or_create(user.id, user.id)
            await uow.subscriptions.add(contact.id, unit.id)
    await users[2].block()
    # Telegram tells the bot with a my_chat_member update; lose it (as when the bot was down
    # for longer than Telegram keeps updates), so only the 403 can reveal the block.
    async def flagged() -> bool:
        async with db.reading() as uow:
            contact = await uow.contacts.by_user(users[2].id)
            return contact is not None and contact.unreachable
    await eventually(flagged)
    async with db.transaction() as uow:
        contact = await uow.contacts.by_user(users[2].id)
        assert contact is not None
        contact.unreachable = False
    await leading(bot)
    await open_campaign(db, "mixed")
    await sync(bot)
    for n, user in enumerate(users):
        if n != 2:
            await user.wait_for_message("would like your opinion")
    await eventually(lambda: outbox(db, "mixed"), lambda rows: all(
        s in (OutboxStatus.SENT, OutboxStatus.FAILED) for _k, s in rows))
    statuses = [s for _k, s in await outbox(db, "mixed")]
    assert statuses.count(OutboxStatus.SENT) == 5 and statuses.count(OutboxStatus.FAILED) == 1
    async with db.reading() as uow:
        blocked = await uow.contacts.by_user(users[2].id)
        assert blocked is not None and blocked.unreachable


async def test_reminders_reach_only_those_who_have_not_answered(
    bot: Bot, client: SandboxClient, db: Database, clock: Clock,
) -> None:
    await leading(bot)
    await sync(bot)  # the seeded campaign's invitations are done with
    done, pending = await client.user(701, "Done"), await client.user(702, "Pending")
    async with db.transaction() as uow:
        unit = await uow.units.by_code("V1")
        assert unit is not None
        for user in (done, pending):
            contact = await uow.contacts.get_or_create(user.id, user.id)
            contact.units_chosen = True
            await uow.subscriptions.add(contact.id, unit.id)
    await leading(bot)
    await open_campaign(db, "willow2", closes_in=timedelta(days=3),
                        reminders=(timedelta(days=1),))
    await sync(bot)
    await done.wait_for_message("would like your opinion")
    await pending.wait_for_message("would like your opinion")
    await done.send("/start willow2")
    await done.wait_for_message("1/5")
    for button, nxt in [("4", "2/5"), ("Yes", "3/5"), ("5", "4/5"), ("4", "5/5"),
                        ("Skip ▶", "Your answers")]:
        await tap_and_wait(done, button, nxt)
    await tap_and_wait(done, "✅ Submit", "Thank you")

    clock.offset_s = timedelta(days=2, hours=1).total_seconds()  # the reminder is due
    assert await sync(bot) == 1
    reminder = await pending.wait_for_message("Reminder")
    assert "Willow Village" in reminder.text and reminder.button_texts == ["▶ Start"]
    await done.expect_no_message(within=1.0)


async def test_steps_missed_while_the_bot_was_down_run_once_at_start(
    bot: Bot, client: SandboxClient, db: Database, clock: Clock,
) -> None:
    await leading(bot)
    await open_campaign(db, "downtime", closes_in=timedelta(hours=1),
                        reminders=(timedelta(minutes=30),))
    await sync(bot)
    await bot.stop()
    clock.offset_s = timedelta(hours=3).total_seconds()  # closing passed while down
    await bot.start()
    await leading(bot)
    await sync(bot)
    await sync(bot)
    async with db.reading() as uow:
        campaign = await uow.campaigns.by_code("downtime")
        assert campaign is not None and campaign.status == CampaignStatus.CLOSED
        closes = await uow.session.scalar(
            select(func.count()).select_from(AuditEvent)
            .where(AuditEvent.action == "campaign.close", AuditEvent.entity_id == "downtime")
        )
        runs = await uow.runs.outcomes(campaign.id)
    assert closes == 1, "a missed closing runs exactly once"
    assert runs["close"] == {"status": "closed"}
    assert "closed" in str(runs["remind:1800"]), "a reminder for a closed poll is not sent"


async def test_invitations_due_at_start_go_out_at_once_not_at_the_next_resync(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    user = await client.user(801, "Early", language_code="en")
    await bot.stop()
    async with db.transaction() as uow:
        unit = await uow.units.by_code("V1")
        assert unit is not None
        contact = await uow.contacts.get_or_create(user.id, user.id)
        contact.units_chosen = True
        await uow.subscriptions.add(contact.id, unit.id)
    await open_campaign(db, "dawn")
    assert bot.settings.broadcast.resync_interval_s == 30
    await bot.start()  # no manual sync: the scheduler's first pass runs right away
    invitation = await user.wait_for_message("would like your opinion", timeout=10)
    assert "Willow Village" in invitation.text
