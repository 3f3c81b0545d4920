"""Cadre profiles and one-time invite links: the use cases against a real database."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from storage.models import AuditEvent, CadreInvite, Contact, KeyTask, Person, PersonRole, Role
from storage.uow import Database
from surveys.campaigns.rules import CampaignRuleError, check_code, parse_start_payload
from surveys.fieldwork import cadres
from surveys.fieldwork.cadres import CadreError, check_profile, parse_invite_request
from surveys.people.roles import grant_role
from surveys.people.units import import_units
from tests.conftest import TEST_UNITS

WEEK = timedelta(days=7)
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


# --- pure checks ----------------------------------------------------------------------------


def test_a_one_line_invite_request_is_read_with_either_punctuation() -> None:
    draft = parse_invite_request("V1 Zhang  Li; Village head; roads, water supply")
    assert draft == cadres.ProfileDraft("Zhang Li", "Village head", ("V1",),
                                        ("roads", "water supply"))
    chinese = parse_invite_request("V1,V2 王芳；村主任；道路养护，饮水安全、垃圾清运")
    assert chinese.unit_codes == ("V1", "V2")
    assert chinese.tasks == ("道路养护", "饮水安全", "垃圾清运")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("V1", "empty_name"),
        ("V1 ;Village head", "empty_name"),
        ("V1 Zhang Li", "empty_position"),
        ("V1 Zhang Li;  ", "empty_position"),
        ("V1 Zhang Li; Head; roads, Roads", "duplicate_task"),
        ("V1 " + "x" * 201 + "; Head", "name_too_long"),
        ("V1 Zhang Li; Head; " + "t" * 121, "task_too_long"),
        ("V1 Zhang Li; Head; " + ", ".join(f"task {n}" for n in range(13)), "too_many_tasks"),
    ],
)
def test_bad_invite_requests_are_refused_with_a_reason(text: str, key: str) -> None:
    with pytest.raises(CadreError) as caught:
        parse_invite_request(text)
    assert caught.value.key == key


def test_a_profile_needs_a_unit() -> None:
    with pytest.raises(CadreError, match="at least one unit"):
        check_profile("Zhang Li", "Head", [" "])


def test_campaign_codes_may_not_take_the_invite_prefix() -> None:
    for code in ("cadre-2026", "CADRE-x1", "Cadre-abc"):
        with pytest.raises(CampaignRuleError, match="cadres' invite links"):
            check_code(code)
    assert check_code("cadres-q4") == "cadres-q4", "only the exact prefix is reserved"
    token_payload = "cadre-" + "a" * 43
    assert parse_start_payload(token_payload) is None, "an invite is never a campaign code"


@pytest.mark.parametrize("days", [0, -1, 91])
def test_link_validity_is_bounded(days: int) -> None:
    with pytest.raises(CadreError, match="1 to 90 days"):
        cadres.check_valid_for(days, WEEK)
    assert cadres.check_valid_for(None, WEEK) == WEEK


def test_link_status_lines() -> None:
    assert cadres.LinkStatus(False, cadres.PENDING, NOW).summary == (
        "link pending until 2026-11-02 09:00 UTC")
    assert cadres.LinkStatus(True, cadres.USED, NOW).summary == "linked"
    assert cadres.LinkStatus(True, cadres.PENDING, NOW).summary == (
        "linked; new link pending until 2026-11-02 09:00 UTC")
    assert cadres.LinkStatus(False, cadres.NO_LINK).summary == "no link"
    assert cadres.LinkStatus(False, cadres.EXPIRED, NOW).summary.startswith("link expired")


# --- against the database -------------------------------------------------------------------


@pytest.fixture
async def units(db: Database) -> Database:
    async with db.transaction() as uow:
        await import_units(uow, TEST_UNITS, actor="test")
    return db


async def invite(db: Database, text: str = "V1 Zhang Li; Village head; roads, water",
                 at: datetime = NOW) -> cadres.IssuedInvite:
    async with db.transaction() as uow:
        return await cadres.create_profile(uow, parse_invite_request(text), actor="cli",
                                           now=at, valid_for=WEEK)


async def redeem(db: Database, user_id: int, payload: str,
                 at: datetime = NOW + timedelta(hours=1)) -> cadres.Redemption:
    async with db.transaction() as uow:
        return await cadres.redeem_invite(uow, user_id, user_id, payload, at)


async def snapshot(db: Database) -> dict[str, Any]:
    """Everything a link could change."""
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


async def test_creating_a_profile_keeps_only_the_link_hash(units: Database) -> None:
    issued = await invite(units)
    assert len(issued.token) == 43 and issued.payload == f"cadre-{issued.token}"
    assert len(issued.payload) <= 64, "Telegram's start payload limit"
    assert issued.expires_at == NOW + WEEK and issued.new_profile
    profile = issued.profile
    assert (profile.name, profile.position) == ("Zhang Li", "Village head")
    assert [u.code for u in profile.units] == ["V1"]
    assert [t.title for t in profile.tasks] == ["roads", "water"]
    assert profile.link.summary == "link pending until 2026-11-09 09:00 UTC"
    async with units.reading() as uow:
        [stored] = (await uow.session.scalars(select(CadreInvite))).all()
        assert stored.token_hash == hashlib.sha256(issued.token.encode()).hexdigest()
        roles = (await uow.session.scalars(select(PersonRole))).all()
        assert [(r.role, r.person_id) for r in roles] == [(Role.CADRE, profile.person_id)]
        events = (await uow.session.scalars(select(AuditEvent).order_by(AuditEvent.id))).all()
    assert [e.action for e in events[-2:]] == ["cadre.create", "cadre.invite"]
    assert all(issued.token not in str(e.after) for e in events), "the token is never logged"
    assert events[-1].actor == "cli"


async def test_an_unknown_unit_creates_nothing(units: Database) -> None:
    before = await snapshot(units)
    with pytest.raises(CadreError, match="unknown unit 'V9'"):
        await invite(units, "V1,V9 Zhang Li; Head")
    assert await snapshot(units) == before
    async with units.reading() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(KeyTask)) == 0


async def test_a_scoped_admin_may_only_invite_in_scope(units: Database) -> None:
    def only_v2(tree: Any, unit_id: int) -> bool:
        return tree.by_id[unit_id].code == "V2"

    async with units.transaction() as uow:
        with pytest.raises(CadreError) as caught:
            await cadres.create_profile(uow, parse_invite_request("V1 Zhang Li; Head"),
                                        actor="x", now=NOW, valid_for=WEEK, scope=only_v2)
    assert caught.value.key == "out_of_scope"


async def test_a_link_works_once_and_greets_the_cadre(units: Database) -> None:
    issued = await invite(units)
    done = await redeem(units, 9001, issued.payload)
    assert done.outcome == cadres.LINKED_NOW
    assert done.profile is not None and done.profile.link.linked
    async with units.reading() as uow:
        person = await uow.people.by_user(9001)
        assert person is not None and person.id == issued.profile.person_id
        [stored] = (await uow.session.scalars(select(CadreInvite))).all()
        assert stored.used_at is not None and stored.used_by_contact_id == person.contact_id
        [event] = (await uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "cadre.link"))).all()
        assert event.actor == f"person:{person.id}"
        assert event.after == {"contact": person.contact_id, "invite": stored.id}

    before = await snapshot(units)
    again = await redeem(units, 9001, issued.payload)
    assert again.outcome == cadres.ALREADY_LINKED and again.profile is not None
    other = await redeem(units, 9002, issued.payload)
    assert other.outcome == cadres.USED_LINK and other.profile is None
    assert await snapshot(units) == before, "neither changed anything"


@pytest.mark.parametrize(
    "payload",
    ["cadre-", "cadre-short", "cadre-" + "a" * 44, "cadre-" + "!" * 43, "cadre-" + "A" * 43],
)
async def test_forged_and_malformed_links_change_nothing(units: Database, payload: str) -> None:
    await invite(units)
    before = await snapshot(units)
    assert (await redeem(units, 9003, payload)).outcome == cadres.INVALID
    assert await snapshot(units) == before, "not even a contact for the stranger"


async def test_an_expired_link_says_when_and_changes_nothing(units: Database) -> None:
    issued = await invite(units)
    before = await snapshot(units)
    done = await redeem(units, 9004, issued.payload, at=NOW + WEEK)
    assert done.outcome == cadres.EXPIRED_LINK and done.expired_at == NOW + WEEK
    assert await snapshot(units) == before


async def test_a_fresh_link_revokes_the_older_one(units: Database) -> None:
    first = await invite(units)
    async with units.transaction() as uow:
        second = await cadres.issue_invite(uow, first.profile.person_id, actor="cli",
                                           now=NOW + timedelta(minutes=5), valid_for=WEEK)
    assert not second.new_profile and second.token != first.token
    before = await snapshot(units)
    assert (await redeem(units, 9005, first.payload)).outcome == cadres.REVOKED_LINK
    assert await snapshot(units) == before
    assert (await redeem(units, 9005, second.payload)).outcome == cadres.LINKED_NOW


async def test_an_account_of_another_person_is_refused(units: Database) -> None:
    async with units.transaction() as uow:
        await grant_role(uow, telegram_user_id=9006, role=Role.ADMIN, unit_code=None,
                         name="Admin Liu", actor="test")
    issued = await invite(units)
    before = await snapshot(units)
    assert (await redeem(units, 9006, issued.payload)).outcome == cadres.TAKEN
    assert await snapshot(units) == before, "the link stays usable by the cadre"
    assert (await redeem(units, 9007, issued.payload)).outcome == cadres.LINKED_NOW


async def test_a_new_link_moves_the_profile_to_a_new_account(units: Database) -> None:
    issued = await invite(units)
    await redeem(units, 9008, issued.payload)
    async with units.transaction() as uow:
        fresh = await cadres.issue_invite(uow, issued.profile.person_id, actor="cli",
                                          now=NOW + timedelta(days=1), valid_for=WEEK)
    assert fresh.profile.link.summary.startswith("linked; new link pending until")
    done = await redeem(units, 9009, fresh.payload, at=NOW + timedelta(days=1, hours=1))
    assert done.outcome == cadres.LINKED_NOW
    async with units.reading() as uow:
        assert await uow.people.by_user(9008) is None, "the old phone is no longer the cadre"
        moved = await uow.people.by_user(9009)
        assert moved is not None and moved.id == issued.profile.person_id


async def test_two_accounts_opening_one_link_at_once_cannot_both_win(units: Database) -> None:
    issued = await invite(units)
    outcomes = await asyncio.gather(redeem(units, 9010, issued.payload),
                                    redeem(units, 9011, issued.payload))
    assert sorted(o.outcome for o in outcomes) == [cadres.LINKED_NOW, cadres.USED_LINK]
    async with units.reading() as uow:
        linked = (await uow.session.scalars(
            select(Person).where(Person.contact_id.is_not(None)))).all()
    assert len(linked) == 1


async def test_profiles_list_with_link_status(units: Database) -> None:
    linked = await invite(units, "V1 Zhang Li; Village head; roads")
    await redeem(units, 9012, linked.payload)
    await invite(units, "V2 Wang Fang; Clerk", at=NOW - timedelta(days=8))  # expired
    await invite(units, "T1 Chen Jie; Township head")
    async with units.reading() as uow:
        everyone = await cadres.list_profiles(uow, NOW + timedelta(hours=2))
        township = await cadres.list_profiles(uow, NOW, "V2")
        with pytest.raises(CadreError, match="unknown unit 'NOPE'"):
            await cadres.list_profiles(uow, NOW, "NOPE")
    shown = {p.name: p.link.summary for p in everyone}
    assert shown == {"Chen Jie": "link pending until 2026-11-09 09:00 UTC",
                     "Wang Fang": "link expired 2026-11-01 09:00 UTC", "Zhang Li": "linked"}
    assert [p.name for p in everyone] == ["Chen Jie", "Wang Fang", "Zhang Li"]
    assert [p.name for p in township] == ["Wang Fang"]


async def test_key_tasks_are_added_once_and_audited(units: Database) -> None:
    issued = await invite(units)
    person_id = issued.profile.person_id
    async with units.transaction() as uow:
        task = await cadres.add_task(uow, person_id, "  Waste  collection ", "waste",
                                     actor="cli")
    assert (task.title, task.indicator) == ("Waste collection", "waste")
    for title, indicator, key in [("ROADS", None, "duplicate_task"),
                                  ("", None, "empty_task"),
                                  ("Parks", "Bad Indicator", "bad_indicator")]:
        async with units.transaction() as uow:
            with pytest.raises(CadreError) as caught:
                await cadres.add_task(uow, person_id, title, indicator, actor="cli")
        assert caught.value.key == key
    async with units.transaction() as uow:
        with pytest.raises(CadreError, match="no profile with id 999"):
            await cadres.add_task(uow, 999, "x", None, actor="cli")
        admin, _ = await grant_role(uow, telegram_user_id=9013, role=Role.ADMIN,
                                    unit_code=None, name="Admin", actor="test")
        with pytest.raises(CadreError, match="is not a cadre"):
            await cadres.add_task(uow, admin.id, "x", None, actor="cli")
    async with units.reading() as uow:
        events = (await uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "cadre.task.add"))).all()
    assert [e.after and e.after["title"] for e in events] == ["Waste collection"]


async def test_a_link_to_a_profile_that_lost_the_cadre_role_changes_nothing(
    units: Database,
) -> None:
    issued = await invite(units)
    async with units.transaction() as uow:
        person = await uow.cadres.get(issued.profile.person_id)
        assert person is not None
        for role in list(person.roles):
            await uow.session.delete(role)
    before = await snapshot(units)
    assert (await redeem(units, 9014, issued.payload)).outcome == cadres.REVOKED_LINK
    assert await snapshot(units) == before
