"""Cadre profiles in chat through the real Application, the sandbox and a real database:
/invite for admins (link, expiry, QR code, scope), and /start cadre-<token> for the cadre
(linked once; used, expired, replaced, forged and someone else's account refused)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from telegram import BotCommandScopeChat, Update

from bot.app import background_of
from sandbox import SandboxClient, SandboxUser
from storage.models import AuditEvent, CadreInvite, Contact, Person, Role
from storage.uow import Database
from tests.e2e.conftest import Bot, Clock
from tests.e2e.test_admin_chat import ADMIN, REFUSAL, assert_printable_qr, audit, photo, staff

pytestmark = pytest.mark.e2e

LINK = re.compile(r"https://t\.me/\w+\?start=(cadre-[A-Za-z0-9_-]{43})")
OUT_OF_SCOPE = "Sorry, that unit is outside the area you administer."


async def invite(admin: SandboxUser, request: str) -> str:
    """Send ``/invite request``; return the link's start payload (``cadre-…``)."""
    await admin.send(f"/invite {request}")
    reply = await admin.wait_for_message("One-time link")
    found = LINK.search(reply.text)
    assert found is not None, reply.text
    return found.group(1)


async def state(db: Database) -> dict[str, Any]:
    """Everything opening a link could change."""
    async with db.reading() as uow:
        invites = (await uow.session.execute(
            select(CadreInvite.id, CadreInvite.used_at, CadreInvite.used_by_contact_id,
                   CadreInvite.revoked_at).order_by(CadreInvite.id))).all()
        people = (await uow.session.execute(
            select(Person.id, Person.contact_id).order_by(Person.id))).all()
        return {
            "invites": invites, "people": people,
            "contacts": await uow.session.scalar(select(func.count()).select_from(Contact)),
            "audit": await uow.session.scalar(select(func.count()).select_from(AuditEvent)),
        }


async def test_an_admin_invites_a_cadre_who_links_with_one_tap(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    admin, admin_id = await staff(client, db)
    await admin.send("/invite V1 Zhang Li; Village head; road repairs, drinking water")
    reply = await admin.wait_for_message("One-time link")
    assert "Cadre profile 2 created: Zhang Li, Village head · Willow Village" in reply.text
    assert "Key tasks: road repairs, drinking water" in reply.text
    assert re.search(r"valid until \d{4}-\d\d-\d\d \d\d:\d\d UTC", reply.text)
    payload = LINK.search(reply.text)
    assert payload is not None
    qr = await photo(admin, "Zhang Li: one-time link as a QR code")
    assert_printable_qr(qr)

    cadre = await client.user(9101, "Zhang", language_code="en")
    await cadre.send(f"/start {payload.group(1)}")
    greeting = await cadre.wait_for_message("Welcome, Zhang Li!")
    for part in ("linked to your cadre profile", "Village head · Willow Village",
                 "Your key tasks:\n• road repairs\n• drinking water", "/note",
                 "Self-assessment questionnaires arrive here as invitations"):
        assert part in greeting.text, part
    assert "anonymous" not in greeting.text
    assert bot.application is not None
    telegram = bot.application.bot
    menu = await telegram.get_my_commands(scope=BotCommandScopeChat(9101))
    assert [c.command for c in menu][:2] == ["note", "notes"], "the cadre's own command menu"
    everyone = [c.command for c in await telegram.get_my_commands()]
    assert "units" in everyone and "note" not in everyone, "residents keep their menu"

    async with db.reading() as uow:
        person = await uow.people.by_user(9101)
        assert person is not None and person.name == "Zhang Li"
        assert [(r.role, r.unit_id is not None) for r in person.roles] == [(Role.CADRE, True)]
        [link] = (await uow.session.scalars(select(CadreInvite))).all()
        assert link.used_by_contact_id == person.contact_id and link.created_by == (
            f"person:{admin_id}")
    [created] = await audit(db, "cadre.create")
    assert created.actor == f"person:{admin_id}" and created.after is not None
    assert created.after["units"] == ["V1"]
    [issued] = await audit(db, "cadre.invite")
    assert payload.group(1).removeprefix("cadre-") not in str(issued.after)
    [linked] = await audit(db, "cadre.link")
    assert linked.actor == f"person:{person.id}"

    # The same account again: a friendly reminder, nothing new.
    before = await state(db)
    await cadre.send(f"/start {payload.group(1)}")
    again = await cadre.wait_for_message("You are already linked, Zhang Li")
    assert "road repairs" in again.text
    assert await state(db) == before


async def test_one_link_two_accounts_only_the_first_wins(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    admin, _ = await staff(client, db)
    payload = await invite(admin, "V2 Wang Fang; Clerk")
    first = await client.user(9111, "Wang")
    second = await client.user(9112, "Someone")
    await first.send(f"/start {payload}")
    await first.wait_for_message("Welcome, Wang Fang!")
    before = await state(db)
    await second.send(f"/start {payload}")
    used = await second.wait_for_message("already been used")
    assert "Nothing was changed" in used.text and "Wang Fang" not in used.text
    assert await state(db) == before
    async with db.reading() as uow:
        assert await uow.people.by_user(9112) is None


async def test_two_accounts_opening_one_link_at_once(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    admin, _ = await staff(client, db)
    payload = await invite(admin, "V2 Wang Fang; Clerk")
    users = [await client.user(9121, "A"), await client.user(9122, "B")]
    for user in users:
        await user.send(f"/start {payload}")  # both before either reply
    replies = [(await user.wait_for_message()).text for user in users]
    assert sum("Welcome, Wang Fang!" in text for text in replies) == 1, replies
    assert sum("already been used" in text for text in replies) == 1, replies


async def test_an_expired_link_is_refused_with_its_date(
    bot: Bot, client: SandboxClient, db: Database, clock: Clock,
) -> None:
    admin, _ = await staff(client, db)
    payload = await invite(admin, "V1 Chen Jie; Clerk")
    clock.offset_s = timedelta(days=7, minutes=1).total_seconds()
    before = await state(db)
    late = await client.user(9131, "Chen")
    await late.send(f"/start {payload}")
    expired = await late.wait_for_message("expired on")
    assert "Ask your administrator for a new one" in expired.text
    assert await state(db) == before


@pytest.mark.parametrize("payload", ["cadre-" + "x" * 43, "cadre-abc", "cadre-"])
async def test_forged_and_malformed_links_are_refused(
    bot: Bot, client: SandboxClient, db: Database, payload: str,
) -> None:
    admin, _ = await staff(client, db)
    await invite(admin, "V1 Chen Jie; Clerk")
    before = await state(db)
    stranger = await client.user(9141, "Stranger")
    await stranger.send(f"/start {payload}")
    refused = await stranger.wait_for_message("This invite link is not valid")
    assert "Nothing was changed" in refused.text
    assert await state(db) == before, "not even a contact row for the stranger"


async def test_a_fresh_link_replaces_the_old_one(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    admin, _ = await staff(client, db)
    old = await invite(admin, "V1 Chen Jie; Clerk")
    new = await invite(admin, "2")
    reply = await admin.bot_messages()
    assert any("New link for Chen Jie (profile 2)" in m.text for m in reply)
    cadre = await client.user(9151, "Chen")
    before = await state(db)
    await cadre.send(f"/start {old}")
    await cadre.wait_for_message("replaced by a newer one")
    assert await state(db) == before
    await cadre.send(f"/start {new}")
    await cadre.wait_for_message("Welcome, Chen Jie!")


async def test_an_account_that_is_someone_else_cannot_take_a_profile(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    admin, admin_id = await staff(client, db)
    payload = await invite(admin, "V1 Chen Jie; Clerk")
    before = await state(db)
    await admin.send(f"/start {payload}")
    refused = await admin.wait_for_message("already belongs to someone else's profile")
    assert "Nothing was changed" in refused.text
    assert await state(db) == before
    async with db.reading() as uow:
        person = await uow.people.by_user(7001)
        assert person is not None and person.id == admin_id, "still the admin"


async def test_invite_is_for_admins_within_their_scope(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    resident = await client.user(9161, "Resident")
    await resident.send("/invite V1 Zhang Li; Village head")
    await resident.wait_for_message(REFUSAL)
    await resident.send("/invite")
    await resident.wait_for_message(REFUSAL)

    scoped, _ = await staff(client, db, 9162, unit="V2", name="Admin Pine")
    before = await state(db)
    await scoped.send("/invite V1 Zhang Li; Village head")
    await scoped.wait_for_message(OUT_OF_SCOPE)
    await scoped.send("/invite V1,V2 Zhang Li; Village head")
    await scoped.wait_for_message(OUT_OF_SCOPE)
    assert await state(db) == before, "nothing created out of scope"
    payload = await invite(scoped, "V2 Zhang Li; Village head")
    assert payload.startswith("cadre-")

    county, _ = await staff(client, db, 9163, name="Admin County")
    await invite(county, "T1 Liu Yang; Township head")
    await scoped.send("/invite 4")  # the township's cadre: outside Pine Village
    await scoped.wait_for_message(OUT_OF_SCOPE)


async def test_no_link_from_chat_for_a_cadre_who_also_holds_another_role(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    # A county admin who is also a cadre of Willow Village: a link would hand whoever opens
    # it the admin's account, so a village-scoped admin may not issue one from chat.
    _boss, boss_id = await staff(client, db, 9171, name="Admin County")
    async with db.transaction() as uow:
        boss = await uow.cadres.get(boss_id)
        village = await uow.units.by_code("V1")
        assert boss is not None and village is not None
        await uow.people.grant(boss, Role.CADRE, village)
    scoped, _ = await staff(client, db, 9172, unit="V1", name="Admin Willow")
    before = await state(db)
    await scoped.send(f"/invite {boss_id}")
    refusal = await scoped.wait_for_message("also holds the admin role")
    assert f"civicpulse cadre invite --person {boss_id}" in refusal.text
    assert await state(db) == before, "no link issued, nothing revoked"


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("", "Usage: /invite UNIT Name; Position; key task, key task"),
        ("V1", "The cadre's name is missing"),
        ("V1 Zhang Li", "The position is missing"),
        ("V9 Zhang Li; Head", "There is no unit with the code “V9”"),
        ("V1 Zhang Li; Head; roads, roads", "The key task “roads” is listed twice"),
        ("V1 Zhang Li; Head; " + "x" * 130, "A key task is 130 characters; the limit is 120"),
        ("99", "There is no profile 99"),
    ],
)
async def test_bad_invite_requests_get_a_clear_reply_and_create_nothing(
    bot: Bot, client: SandboxClient, db: Database, request_text: str, expected: str,
) -> None:
    admin, _ = await staff(client, db)
    before = await state(db)
    await admin.send(f"/invite {request_text}".strip())
    reply = await admin.wait_for_message(expected)
    if not request_text:
        assert "valid for 7 days" in reply.text
    assert await state(db) == before


async def test_cadres_lists_the_profiles_in_scope_with_their_link_status(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    admin, _ = await staff(client, db)
    await admin.send("/cadres")
    await admin.wait_for_message("There are no cadre profiles")
    linked = await invite(admin, "V1 Zhang Li; Village head; road repairs")
    await invite(admin, "V2 Wang Fang; Clerk")
    cadre = await client.user(9171, "Zhang")
    await cadre.send(f"/start {linked}")
    await cadre.wait_for_message("Welcome")
    await admin.send("/cadres")
    listing = await admin.wait_for_message("Cadres (2)")
    assert "2 · Zhang Li · Village head · Willow Village · ✅ linked" in listing.text
    assert "key tasks: road repairs" in listing.text
    assert re.search(r"3 · Wang Fang · Clerk · Pine Village · link pending until \d{4}-",
                     listing.text)

    scoped, _ = await staff(client, db, 9172, unit="V2", name="Admin Pine")
    await scoped.send("/cadres")
    mine = await scoped.wait_for_message("Cadres (1)")
    assert "Wang Fang" in mine.text and "Zhang Li" not in mine.text
    resident = await client.user(9173, "Resident")
    await resident.send("/cadres")
    await resident.wait_for_message(REFUSAL)


async def test_an_edited_invite_message_creates_nothing(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    admin, _ = await staff(client, db)
    await invite(admin, "V1 Zhang Li; Village head")
    await admin.wait_for_message("one-time link as a QR code")
    before = await state(db)
    # The admin fixes a typo in the message they sent: Telegram delivers an edited_message.
    assert bot.application is not None
    edited = Update.de_json({
        "update_id": 990_001,
        "edited_message": {
            "message_id": 1, "date": 1_790_000_000, "edit_date": 1_790_000_060,
            "chat": {"id": ADMIN, "type": "private"},
            "from": {"id": ADMIN, "is_bot": False, "first_name": "Admin"},
            "text": "/invite V1 Zhang Lin; Village head",
            "entities": [{"type": "bot_command", "offset": 0, "length": 7}],
        },
    }, bot.application.bot)
    await bot.application.process_update(edited)
    assert await state(db) == before, "no second profile, no second link"
    await admin.expect_no_message(within=0.3)


async def test_a_restart_does_not_set_unchanged_menus_again(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    admin, _ = await staff(client, db)
    payload = await invite(admin, "V1 Wang Fang; Village clerk; records")
    cadre = await client.user(9102, "Wang", language_code="en")
    await cadre.send(f"/start {payload}")
    await cadre.wait_for_message("Welcome, Wang Fang!")
    assert bot.application is not None
    # The leader's round records what it set (the greeting set the cadre's menu already).
    await background_of(bot.application).menus.sync()
    assert await background_of(bot.application).menus.sync() == 0

    async def set_calls() -> int:
        return int((await client.stats())["calls"].get("setMyCommands", 0))

    before = await set_calls()
    await bot.restart()
    assert bot.application is not None
    assert await background_of(bot.application).menus.sync() == 0
    # Only the residents' default menu, at every start (English and Chinese): no chat's.
    assert await set_calls() == before + 2
    telegram = bot.application.bot
    menu = await telegram.get_my_commands(scope=BotCommandScopeChat(9102))
    assert [c.command for c in menu][:2] == ["note", "notes"], "and the cadre keeps theirs"
