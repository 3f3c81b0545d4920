"""The offset CommittedPolling sends: only past updates whose handling has finished."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from types import SimpleNamespace
from typing import Any

import pytest

from bot import polling
from bot.polling import CommittedPolling


def message(update_id: int, chat: int = 1) -> dict[str, Any]:
    return {"update_id": update_id,
            "message": {"message_id": update_id, "date": 1_760_000_000, "text": "hi",
                        "chat": {"id": chat, "type": "private"}}}


class FakeBot:
    """Answers getUpdates like Telegram: everything at or above the offset, oldest first."""

    def __init__(self) -> None:
        self.queue: list[dict[str, Any]] = []
        self.offsets: list[int | None] = []
        self.fetched = asyncio.Event()

    async def _post(self, endpoint: str, data: dict[str, Any], **_: Any) -> list[Any]:
        offset = data["offset"]
        self.offsets.append(offset)
        if offset is not None:
            self.queue = [u for u in self.queue if u["update_id"] >= offset]
        self.fetched.set()
        await asyncio.sleep(0.005)
        return list(self.queue[: data["limit"]])

    async def get_webhook_info(self) -> SimpleNamespace:
        return SimpleNamespace(url="")  # no webhook set: nothing to delete

    async def get_updates(self, offset: int, **_: Any) -> tuple[()]:
        self.offsets.append(offset)
        self.queue = [u for u in self.queue if u["update_id"] >= offset]
        return ()


class Processor:
    async def process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await coroutine


class FakeApplication:
    """Handling an update waits until the test releases it; records the order per chat."""

    def __init__(self) -> None:
        self.bot = FakeBot()
        self.update_processor = Processor()
        self.release: dict[int, asyncio.Event] = {}
        self.handled: list[int] = []
        self.started: list[int] = []

    def gate(self, update_id: int) -> asyncio.Event:
        return self.release.setdefault(update_id, asyncio.Event())

    async def process_update(self, update: Any) -> None:
        self.started.append(update.update_id)
        await self.gate(update.update_id).wait()
        self.handled.append(update.update_id)


async def until(check: Any) -> None:
    async with asyncio.timeout(5):
        while not check():  # noqa: ASYNC110 - a fake with nothing to wait on
            await asyncio.sleep(0.005)


async def test_the_offset_waits_for_the_oldest_update_in_flight() -> None:
    app = FakeApplication()
    app.bot.queue = [message(10, chat=1), message(11, chat=2), message(12, chat=3)]
    poller = CommittedPolling(app, timeout=0, busy_interval=0.005)  # type: ignore[arg-type]
    await poller.start()
    app.gate(11).set()
    app.gate(12).set()
    await until(lambda: app.handled == [11, 12])
    app.bot.offsets.clear()
    await until(lambda: len(app.bot.offsets) >= 3)
    # 11 and 12 are done but 10 is not: nothing is confirmed, and nothing handled twice.
    assert set(app.bot.offsets) == {10}
    assert sorted(app.started) == [10, 11, 12]
    app.bot.queue.append(message(13, chat=4))
    app.gate(13).set()
    await until(lambda: 13 in app.handled)
    app.gate(10).set()
    await until(lambda: app.bot.offsets[-1] == 14)
    assert sorted(app.handled) == [10, 11, 12, 13] and len(app.started) == 4
    await poller.stop()


async def test_one_chats_updates_are_handled_in_order() -> None:
    app = FakeApplication()
    app.bot.queue = [message(20, chat=7), message(21, chat=7), message(22, chat=8)]
    poller = CommittedPolling(app, timeout=0, busy_interval=0.005)  # type: ignore[arg-type]
    await poller.start()
    app.gate(21).set()
    app.gate(22).set()
    await until(lambda: app.handled == [22])
    assert app.started == [20, 22], "21 waits for 20, same chat"
    app.gate(20).set()
    await until(lambda: app.handled == [22, 20, 21])
    await poller.stop()


async def test_an_update_cut_short_at_stop_is_not_confirmed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(polling, "DRAIN_S", 0.05)
    app = FakeApplication()
    app.bot.queue = [message(30, chat=1), message(31, chat=2)]
    poller = CommittedPolling(app, timeout=0, busy_interval=0.005)  # type: ignore[arg-type]
    await poller.start()
    app.gate(31).set()
    await until(lambda: app.handled == [31])
    await poller.stop()
    # The final confirmation stops at 30, which comes again at the next start.
    assert app.bot.offsets[-1] == 30
    assert [u["update_id"] for u in app.bot.queue] == [30, 31]


async def test_while_busy_it_asks_again_only_after_the_busy_interval() -> None:
    """An answer that brings one new update is not a reason to ask again at once: every
    answer also repeats the updates in flight (decoding them is the cost)."""
    app = FakeApplication()
    next_id = iter(range(41, 10_000))
    post = app.bot._post

    async def one_new_each_time(endpoint: str, data: dict[str, Any], **kw: Any) -> list[Any]:
        app.bot.queue.append(message(next(next_id), chat=2))
        return await post(endpoint, data, **kw)

    app.bot._post = one_new_each_time  # type: ignore[method-assign]
    app.bot.queue = [message(40, chat=1)]  # stays in flight: its gate is never opened
    poller = CommittedPolling(app, timeout=0, busy_interval=0.05)  # type: ignore[arg-type]
    await poller.start()
    await until(lambda: 40 in app.started)
    for update_id in range(41, 200):
        app.gate(update_id).set()
    app.bot.offsets.clear()
    await asyncio.sleep(0.5)
    asked = len(app.bot.offsets)
    # About one request per 50 ms interval (each answer's own 5 ms on top); asking again
    # after every answer with a new update would be about a hundred.
    assert 3 <= asked <= 12, asked
    assert set(app.bot.offsets) == {40}, "the update in flight holds the offset"
    assert len(app.handled) >= asked - 2, "the new updates were handled meanwhile"
    app.gate(40).set()
    await poller.stop()
