"""The case relay's loop: when it runs the cases' supervision by itself (bot/case_relay.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from bot.case_relay import CaseRelay
from bot.settings import BroadcastSection
from surveys.cases.rules import CaseRules

ROUNDS = 5


@dataclass(eq=False)
class CountingRelay(CaseRelay):
    """The real loop, with supervision and delivery counted instead of done."""

    swept: int = field(default=0, init=False)
    rounds: int = field(default=0, init=False)
    busy: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    async def sweep(self) -> None:
        self.swept += 1

    async def deliver(self) -> bool:
        self.rounds += 1
        if self.rounds >= ROUNDS:
            self.busy.set()
        await asyncio.sleep(0)  # a real round waits for the database and Telegram
        return True  # as if there were always more to deliver: no waiting between rounds


def relay(sweep_s: float | None) -> CountingRelay:
    return CountingRelay(cast(Any, None), cast(Any, None), secret=b"s" * 32,
                         rules=CaseRules(), settings=BroadcastSection(),
                         clock=lambda: datetime.now(UTC), sweep_s=sweep_s)


@pytest.mark.parametrize(("sweep_s", "swept"), [(60.0, 1), (None, 0)])
async def test_supervision_runs_at_start_and_every_sweep_s_or_only_when_called(
    sweep_s: float | None, swept: int,
) -> None:
    loop = relay(sweep_s)
    await loop.start()
    async with asyncio.timeout(10):
        await loop.busy.wait()
    await loop.stop()
    assert loop.rounds >= ROUNDS
    assert loop.swept == swept
    await loop.sweep()  # called: runs either way
    assert loop.swept == swept + 1
