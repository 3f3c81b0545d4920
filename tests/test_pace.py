"""The pace towards Telegram: one budget, replies to people waiting before broadcasts."""

from __future__ import annotations

import asyncio
import datetime as dtm
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.pace import PriorityBucket, RepliesFirst


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_waiting_replies_go_before_waiting_broadcasts() -> None:
    clock = Clock()  # tokens come only when the test moves the clock
    bucket = PriorityBucket(rate=100, burst=1, clock=clock)
    order: list[str] = []
    await bucket.acquire(high=False)  # the saved token: everyone else waits

    async def take(name: str, high: bool) -> None:
        await bucket.acquire(high)
        order.append(name)

    tasks = [asyncio.create_task(take(f"invite{i}", False)) for i in range(5)]
    await asyncio.sleep(0)
    tasks += [asyncio.create_task(take(f"reply{i}", True)) for i in range(3)]
    await asyncio.sleep(0)
    assert bucket.waiting == (3, 5)
    while len(order) < 8:
        clock.now += 0.01  # one token
        await asyncio.sleep(0.02)
    await asyncio.gather(*tasks)
    assert order == ["reply0", "reply1", "reply2",
                     "invite0", "invite1", "invite2", "invite3", "invite4"]


async def test_a_cancelled_caller_gives_up_its_turn() -> None:
    clock = Clock()
    bucket = PriorityBucket(rate=100, burst=1, clock=clock)
    await bucket.acquire(high=True)
    gone = asyncio.create_task(bucket.acquire(high=True))
    later = asyncio.create_task(bucket.acquire(high=False))
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.gather(gone, return_exceptions=True)
    clock.now += 0.01
    await asyncio.wait_for(later, 1)
    assert bucket.waiting == (0, 0)


async def test_the_rate_holds() -> None:
    bucket = PriorityBucket(rate=100, burst=2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(12):
        await bucket.acquire(high=True)
    assert loop.time() - started >= 0.09  # two saved, ten at 100 a second


async def test_a_429_pauses_and_the_call_is_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    limiter = RepliesFirst(rate=1000, burst=10, max_retries=2)
    calls: list[float] = []

    async def send(**_: Any) -> bool:
        calls.append(asyncio.get_running_loop().time())
        if len(calls) == 1:
            raise RetryAfter(dtm.timedelta(seconds=0.2))
        return True

    assert await limiter.process_request(send, (), {}, "sendMessage", {"chat_id": 5}, None)
    assert len(calls) == 2 and calls[1] - calls[0] >= 0.25  # retry_after + 0.1 s


async def test_it_gives_up_after_the_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    limiter = RepliesFirst(rate=1000, burst=10, max_retries=1)

    async def refused(**_: Any) -> bool:
        raise RetryAfter(dtm.timedelta(seconds=0.01))

    with pytest.raises(RetryAfter):
        await limiter.process_request(refused, (), {}, "sendMessage", {"chat_id": -100}, None)
