"""Telegram says 429 (flood control) or 403 (blocked): the bot copes and loses nothing."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import pytest

from sandbox import BotApiSandbox, RateLimit, SandboxClient
from storage.uow import Database
from tests.e2e.conftest import Bot
from tests.e2e.test_resident_journey import answers_of, begin, tap_and_wait

pytestmark = pytest.mark.e2e


async def eventually(
    probe: Callable[[], Any], until: Callable[[Any], bool] = bool, within: float = 5.0
) -> None:
    """Wait until ``until(probe())`` holds (the bot handles updates asynchronously);
    the caller asserts afterwards, so a timeout fails there with the real values."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        value = probe()
        if inspect.isawaitable(value):
            value = await value
        if until(value):
            return
        await asyncio.sleep(0.05)


@pytest.mark.parametrize(
    "limits", [(RateLimit(rate=1000, burst=1000), RateLimit(rate=2, burst=2))]
)
async def test_flood_control_is_waited_out(
    bot: Bot, client: SandboxClient, sandbox: BotApiSandbox, db: Database
) -> None:
    user = await client.user(4001, "Qian")
    await begin(user)  # intro and first question use up the chat's burst
    await tap_and_wait(user, "4", "2/5")
    await tap_and_wait(user, "Yes", "3/5")
    await tap_and_wait(user, "5", "4/5")
    stats = sandbox.stats()
    assert stats["responses_429"] >= 1, "the test must actually hit flood control"
    stored = await answers_of(db)
    assert {k: v.value_number for k, v in stored.items()} == {
        "overall": 4, "resolved": 1, "timeliness": 5,
    }


async def test_a_blocked_user_loses_nothing(
    bot: Bot, client: SandboxClient, sandbox: BotApiSandbox, db: Database
) -> None:
    user = await client.user(4002, "Kong")
    await begin(user)
    await user.block()
    # An answer typed just before blocking still arrives; the reply to it gets 403.
    await user.send("4")
    await eventually(lambda: sandbox.stats()["responses_403"] >= 1)
    assert sandbox.stats()["responses_403"] >= 1
    assert (await answers_of(db))["overall"].value_number == 4
    await user.unblock()
    await user.send("/start willow")
    resumed = await user.wait_for_message("Welcome back")
    assert "2/5" in resumed.text


async def contact_flags(db: Database, user_id: int) -> tuple[bool, bool]:
    async with db.transaction() as uow:
        contact = await uow.contacts.by_user(user_id)
        assert contact is not None
        return contact.opted_out, contact.unreachable


async def test_blocking_and_unblocking_mark_the_contact(
    bot: Bot, client: SandboxClient, db: Database
) -> None:
    user = await client.user(4003, "Fang")
    await user.send("/help")
    await user.wait_for_message("/stop")
    await user.block()
    await eventually(lambda: contact_flags(db, 4003), until=lambda flags: flags[1])
    assert await contact_flags(db, 4003) == (False, True)
    await user.unblock()
    await eventually(lambda: contact_flags(db, 4003), until=lambda flags: not flags[1])
    assert await contact_flags(db, 4003) == (False, False)


async def test_stop_and_start_again(bot: Bot, client: SandboxClient, db: Database) -> None:
    user = await client.user(4004, "Bo")
    await user.send("/stop")
    reply = await user.wait_for_message("no more invitations")
    assert "links still work" in reply.text
    assert await contact_flags(db, 4004) == (True, False)
    await begin(user)  # a poll link still works after /stop
    assert await contact_flags(db, 4004) == (False, False), "/start turns invitations back on"
    await user.send("/stop")
    await user.wait_for_message("no more invitations")
    await user.send("/start")
    await user.wait_for_message("invitations again")
    assert await contact_flags(db, 4004) == (False, False)
