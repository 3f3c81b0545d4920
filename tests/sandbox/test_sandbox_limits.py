"""Flood control (429 with retry_after) and blocked users (403), with a fake clock."""

from __future__ import annotations

import datetime as dtm
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import Forbidden, RetryAfter

from sandbox import BotApiSandbox, RateLimit, SandboxClient
from sandbox.ratelimit import FloodControl, ManualClock

SandboxFactory = Callable[..., Awaitable[BotApiSandbox]]


@pytest.fixture(autouse=True)
def timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 warns (an error here) when RetryAfter.retry_after is read as an int; opt in to the
    # timedelta it will return in the next major version.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


async def test_per_chat_burst_then_retry_after(
    make_sandbox: SandboxFactory, clock: ManualClock
) -> None:
    sandbox = await make_sandbox(
        global_limit=None, chat_limit=RateLimit(rate=1, burst=5), clock=clock
    )
    async with (
        SandboxClient(sandbox.base_url) as client,
        Bot(sandbox.token, base_url=sandbox.api_url) as bot,
    ):
        alice = await client.user(1001)
        bob = await client.user(1002)
        for i in range(5):
            await bot.send_message(1001, f"m{i}")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(1001, "one too many")
        assert caught.value.retry_after == dtm.timedelta(seconds=1)
        # The refused call had no effect, and other chats are not affected.
        assert len(await alice.bot_messages()) == 5
        await bot.send_message(1002, "to bob")
        assert len(await bob.bot_messages()) == 1
        # Edits are charged too.
        first = (await alice.bot_messages())[0]
        with pytest.raises(RetryAfter):
            await bot.edit_message_text("edited", 1001, first.message_id)

        clock.advance(1.0)
        await bot.send_message(1001, "after a second")
        with pytest.raises(RetryAfter):
            await bot.send_message(1001, "again too soon")
        stats = await client.stats()
        assert stats["responses_429"] == 3
        assert stats["messages_sent"] == 7


async def test_global_bucket(make_sandbox: SandboxFactory, clock: ManualClock) -> None:
    sandbox = await make_sandbox(
        global_limit=RateLimit(rate=0.25, burst=3),
        chat_limit=RateLimit(rate=1, burst=5),
        clock=clock,
    )
    async with (
        SandboxClient(sandbox.base_url) as client,
        Bot(sandbox.token, base_url=sandbox.api_url) as bot,
    ):
        for user_id in range(1, 5):
            await client.user(user_id)
        for user_id in range(1, 4):
            await bot.send_message(user_id, "hello")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(4, "hello")
        # One token every 4 seconds.
        assert caught.value.retry_after == dtm.timedelta(seconds=4)
        clock.advance(3.5)
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(4, "hello")
        assert caught.value.retry_after == dtm.timedelta(seconds=1)  # 0.5 s rounds up to 1
        clock.advance(0.5)
        await bot.send_message(4, "hello")


async def test_429_raw_shape(make_sandbox: SandboxFactory, clock: ManualClock) -> None:
    sandbox = await make_sandbox(global_limit=None, chat_limit=RateLimit(1, 1), clock=clock)
    sandbox.add_user(7)

    async with aiohttp.ClientSession() as http:
        url = f"{sandbox.api_url}{sandbox.token}/sendMessage"
        async with http.post(url, json={"chat_id": 7, "text": "a"}) as response:
            assert response.status == 200
        async with http.post(url, json={"chat_id": 7, "text": "b"}) as response:
            assert response.status == 429
            assert await response.json() == {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            }


async def test_blocked_user_gives_403_and_my_chat_member(bot: Bot, client: SandboxClient) -> None:
    alice = await client.user(1001, "Alice")
    sent = await bot.send_message(1001, "hello")
    blocked_update = await alice.block()
    assert blocked_update is not None
    assert await alice.block() is None  # already blocked: nothing new
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(1001, "are you there?")
    with pytest.raises(Forbidden):
        await bot.edit_message_text("edited", 1001, sent.message_id)
    with pytest.raises(Forbidden):
        await bot.send_chat_action(1001, "typing")

    updates = await bot.get_updates()
    member = updates[-1].my_chat_member
    assert member is not None and updates[-1].update_id == blocked_update
    assert (member.old_chat_member.status, member.new_chat_member.status) == ("member", "kicked")
    assert member.chat.id == 1001 and member.from_user.id == 1001
    assert member.new_chat_member.user.id == bot.id

    await alice.unblock()
    updates = await bot.get_updates(offset=updates[-1].update_id + 1)
    member = updates[-1].my_chat_member
    assert member is not None
    assert (member.old_chat_member.status, member.new_chat_member.status) == ("kicked", "member")
    await bot.send_message(1001, "welcome back")
    assert (await client.stats())["responses_403"] == 3


async def test_a_blocked_users_late_message_still_arrives(bot: Bot, client: SandboxClient) -> None:
    alice = await client.user(1001)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    await bot.send_message(1001, "Q", reply_markup=markup)
    await alice.block()
    # Sent just before blocking (or from another device): delivered, and the user stays blocked.
    sent = await alice.send("4")
    tap = await alice.tap("A")
    updates = await bot.get_updates()
    assert [u.update_id for u in updates][-2:] == [sent.update_id, tap.update_id]
    assert await bot.answer_callback_query(tap.callback_query_id, "noted")
    with pytest.raises(Forbidden):
        await bot.send_message(1001, "reply")
    await alice.unblock()
    await bot.send_message(1001, "hi")


def test_rate_limit_validation() -> None:
    with pytest.raises(ValueError):
        RateLimit(rate=0, burst=1)
    with pytest.raises(ValueError):
        RateLimit(rate=1, burst=0)


@settings(max_examples=60, deadline=None)
@given(
    rate=st.floats(min_value=0.2, max_value=50),
    burst=st.integers(min_value=1, max_value=40),
    gaps=st.lists(st.floats(min_value=0, max_value=0.5), min_size=1, max_size=200),
)
def test_bucket_never_exceeds_burst_plus_rate(rate: float, burst: int, gaps: list[float]) -> None:
    clock = ManualClock(0.0)
    flood = FloodControl(RateLimit(rate, burst), None, clock)
    admitted = 0
    for gap in gaps:
        clock.advance(gap)
        retry_after = flood.acquire(1)
        if retry_after == 0:
            admitted += 1
        else:
            assert retry_after >= 1
    # Over the whole run no more than the burst plus what the rate refilled got through.
    assert admitted <= burst + rate * clock.now + 1e-6


def test_retry_after_is_honest() -> None:
    clock = ManualClock(0.0)
    flood = FloodControl(None, RateLimit(rate=0.5, burst=2), clock)
    assert flood.acquire(1) == 0
    assert flood.acquire(1) == 0
    retry_after = flood.acquire(1)
    assert retry_after == 2
    clock.advance(retry_after)
    assert flood.acquire(1) == 0


def test_idle_chat_buckets_are_pruned() -> None:
    clock = ManualClock(0.0)
    flood = FloodControl(None, RateLimit(rate=1, burst=1), clock)
    for chat_id in range(25_000):
        assert flood.acquire(chat_id) == 0
        clock.advance(0.01)
    assert len(flood._chats) < 25_000
    # A pruned chat starts with a full bucket, which is what it had anyway.
    assert flood.acquire(0) == 0
