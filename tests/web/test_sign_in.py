"""The sign-in rules (surveys.people.sign_in) on a real database: a /dashboard link works
once and for a limited time, a new one replaces the old, attempts are rate-limited per client,
sessions end by expiry or sign-out, and only digests of the tokens are stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from storage.models import Role, SignInLink, WebSession
from storage.uow import Database
from surveys.people import sign_in
from surveys.people.caller import Caller, Refused
from surveys.people.roles import grant_role, revoke_role
from surveys.people.units import import_units
from tests.conftest import TEST_UNITS

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
CADRE, RESIDENT = 7001, 7002
RULES = sign_in.WebRules(link_valid_for=timedelta(minutes=10), session_for=timedelta(hours=2),
                         max_attempts=3, attempts_window=timedelta(minutes=10))


def caller(user_id: int, at: datetime = T0) -> Caller:
    return Caller(telegram_user_id=user_id, now=at, client_language="en")


@pytest.fixture
async def cadre(db: Database) -> None:
    async with db.transaction() as uow:
        await import_units(uow, TEST_UNITS, actor="test")
        await uow.contacts.get_or_create(CADRE, CADRE)
        await grant_role(uow, telegram_user_id=CADRE, role=Role.CADRE, unit_code="V1",
                         name="Cadre Wang", actor="test")


async def issue(db: Database, at: datetime = T0) -> str:
    async with db.transaction() as uow:
        return (await sign_in.issue_link(uow, caller(CADRE, at), RULES)).token


async def redeem(db: Database, token: str, at: datetime = T0, client: str = "c1"
                 ) -> sign_in.LinkCheck:
    async with db.transaction() as uow:
        return await sign_in.redeem_link(uow, token, client, at, RULES)


async def viewer(db: Database, token: str, at: datetime = T0) -> sign_in.Viewer | None:
    async with db.transaction() as uow:
        return await sign_in.viewer(uow, token, at)


async def test_a_link_signs_in_once(db: Database, cadre: None) -> None:
    token = await issue(db)
    first = await redeem(db, token)
    assert first.refusal is None and first.started is not None and first.name == "Cadre Wang"
    seen = await viewer(db, first.started.token)
    assert seen is not None and seen.name == "Cadre Wang" and Role.CADRE in seen.roles
    again = await redeem(db, token)
    assert (again.refusal, again.started) == (sign_in.USED, None)


async def test_only_digests_are_stored(db: Database, cadre: None) -> None:
    token = await issue(db)
    started = (await redeem(db, token)).started
    assert started is not None
    async with db.reading() as uow:
        links = (await uow.session.scalars(select(SignInLink))).all()
        sessions = (await uow.session.scalars(select(WebSession))).all()
    assert [link.token_hash for link in links] == [sign_in.digest(token)]
    assert [s.token_hash for s in sessions] == [sign_in.digest(started.token)]


async def test_a_link_expires(db: Database, cadre: None) -> None:
    token = await issue(db)
    late = await redeem(db, token, T0 + timedelta(minutes=10))
    assert late.refusal == sign_in.EXPIRED
    token = await issue(db)
    assert (await redeem(db, token, T0 + timedelta(minutes=9, seconds=59))).started


async def test_a_new_link_replaces_the_unused_ones(db: Database, cadre: None) -> None:
    old = await issue(db)
    new = await issue(db)
    assert (await redeem(db, old)).refusal == sign_in.UNKNOWN
    assert (await redeem(db, new)).started is not None


async def test_attempts_are_limited_per_client_and_window(db: Database, cadre: None) -> None:
    token = await issue(db)
    for guess in ("a" * 43, "b" * 43, "c" * 43):
        assert (await redeem(db, guess)).refusal == sign_in.UNKNOWN
    assert (await redeem(db, token)).refusal == sign_in.TOO_MANY
    # Another client is not held back, and the window moves on.
    async with db.transaction() as uow:
        check = await sign_in.check_link(uow, token, "c2", T0, RULES)
    assert check.refusal is None
    later_at = T0 + timedelta(minutes=10, seconds=1)
    later = await redeem(db, await issue(db, later_at), later_at)
    assert later.started is not None


async def test_sessions_end_by_expiry_sign_out_or_losing_the_role(
    db: Database, cadre: None,
) -> None:
    started = (await redeem(db, await issue(db))).started
    assert started is not None
    assert await viewer(db, started.token, T0 + timedelta(hours=1, minutes=59)) is not None
    assert await viewer(db, started.token, T0 + timedelta(hours=2)) is None
    assert await viewer(db, "") is None and await viewer(db, "nonsense") is None

    second = (await redeem(db, await issue(db))).started
    assert second is not None
    async with db.transaction() as uow:
        await sign_in.sign_out(uow, second.token)
    assert await viewer(db, second.token) is None

    third = (await redeem(db, await issue(db))).started
    assert third is not None
    async with db.transaction() as uow:
        await revoke_role(uow, telegram_user_id=CADRE, role=Role.CADRE, unit_code="V1",
                          actor="test")
    assert await viewer(db, third.token) is None


async def test_residents_get_no_link_and_no_session(db: Database, cadre: None) -> None:
    async with db.transaction() as uow:
        with pytest.raises(Refused) as refused:
            await sign_in.issue_link(uow, caller(RESIDENT), RULES)
        assert refused.value.key == sign_in.NO_ROLE
        with pytest.raises(Refused):
            await sign_in.sign_in_from_telegram(uow, caller(RESIDENT), RULES)
    async with db.transaction() as uow:
        started, lang = await sign_in.sign_in_from_telegram(uow, caller(CADRE), RULES)
    assert lang == "en" and await viewer(db, started.token) is not None
