"""Long polling that confirms to Telegram only the updates whose handling has finished.

``getUpdates`` confirms every update below its ``offset``. PTB's Updater asks for the next
batch (confirming the last one) before the handlers of the last batch have finished, so an
update being handled when the process dies is never delivered again. Here the offset only
moves past an update once its handling has finished (committed and answered, or failed and
told); an update in flight at a crash is delivered again after the restart, and the
duplicate check (``handlers.deps.Deps.run``) answers it again if its effect was committed.

Pipelined, so throughput does not drop: updates are handled concurrently (within the
application's ``concurrent_updates``) while the next ones are fetched. The offset is the
lowest id still in flight; the updates at or above it that Telegram returns again are
skipped while in flight or already done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, ExtBot

from bot.metrics import Metrics
from bot.turns import ChatTurns

log = logging.getLogger(__name__)

# With updates in flight, a new one can only be seen by asking again at once (a long poll
# would return the in-flight ones immediately); this pause between such polls bounds their
# rate while adding little to the time a new update waits.
BUSY_POLL_INTERVAL_S = 0.02
# Added to a long poll's timeout for the HTTP read, so a slow answer is not taken for a lost one.
READ_SLACK_S = 10.0
# An update handled for longer than this is reported (it holds the offset back).
STUCK_AFTER_S = 10.0
# Waiting between attempts while the Bot API is unreachable: doubling up to the maximum.
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0
# How long a clean stop waits for updates still being handled before giving up on them
# (they are then delivered again at the next start).
DRAIN_S = 15.0


class PollingStopped(Exception):
    """Polling cannot go on; the message says why and what to do."""


def conflict_message(exc: Conflict) -> str:
    detail = str(exc)
    if "webhook" in detail.lower():
        return (f"Telegram refuses long polling while a webhook is set for this bot ({detail}). "
                "Delete the webhook (deleteWebhook) or run the bot in webhook mode.")
    return (f"Telegram says another process is polling with this bot token ({detail}). "
            "Only one process may poll per token; this one stopped so the two do not keep "
            "taking updates from each other. Stop the other one (perhaps on another machine), "
            "or give this one its own bot token.")


class CommittedPolling:
    """Fetch updates, hand each to the application, confirm only finished ones."""

    def __init__(
        self, application: Application[Any, Any, Any, Any, Any, Any], *, timeout: int,
        allowed_updates: Sequence[str] | None = None, limit: int = 100,
        busy_interval: float = BUSY_POLL_INTERVAL_S, metrics: Metrics | None = None,
    ) -> None:
        self.application = application
        self.timeout = timeout
        self.allowed_updates = list(allowed_updates) if allowed_updates is not None else None
        self.limit = limit
        self.busy_interval = busy_interval
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._done: set[int] = set()  # finished, at or above the offset
        self._started: dict[int, float] = {}  # when each update in flight was taken
        self._abandoned: set[int] = set()  # cut short at stop: to be delivered again
        self._turns = ChatTurns(application, metrics)
        self._last_stuck_report = 0.0
        self._highest: int | None = None
        self._finished = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.failure: PollingStopped | None = None
        self.stopped = asyncio.Event()  # set when polling ended by itself (``failure``)

    @property
    def offset(self) -> int | None:
        """The next ``getUpdates`` offset: everything below it has been handled."""
        pending = self._in_flight.keys() | self._abandoned
        if pending:
            return min(pending)
        return None if self._highest is None else self._highest + 1

    async def settled(self) -> None:
        """Wait until no update is being handled."""
        while self._in_flight:
            await asyncio.wait(list(self._in_flight.values()))

    async def start(self) -> None:
        await self._leave_webhook()
        self._task = asyncio.create_task(self._run(), name="committed-polling")
        self._task.add_done_callback(self._ended)

    async def _leave_webhook(self) -> None:
        """Switching back from webhook mode: Telegram refuses getUpdates while a webhook is
        set, so it is deleted (updates waiting for it are kept, and come by polling)."""
        bot = self.application.bot
        try:
            info = await bot.get_webhook_info()
            if info.url:
                await bot.delete_webhook(drop_pending_updates=False)
                log.warning("deleted the webhook %s: updates come by long polling now",
                            info.url)
        except (NetworkError, TimedOut) as exc:
            # Polling retries on its own; if a webhook is still set it says so then.
            log.warning("could not check for a webhook: %s", exc)

    def _ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (error := task.exception()) is not None:
            log.critical("polling failed", exc_info=error)
            self._fail(PollingStopped(f"polling failed: {error!r}"))

    async def stop(self) -> None:
        """Stop fetching, let the updates in flight finish, then confirm them."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        pending = list(self._in_flight.values())
        if pending:
            _done, late = await asyncio.wait(pending, timeout=DRAIN_S)
            for task in late:
                task.cancel()
            if late:
                log.warning("%d update(s) still being handled at stop: they will be "
                            "delivered again at the next start", len(late))
                await asyncio.wait(late)
        if self.failure is None:  # after a Conflict, another getUpdates would only fight on
            await self._confirm()

    async def _confirm(self) -> None:
        """Tell Telegram what was handled (a short poll at the offset), as PTB does at stop."""
        offset = self.offset
        if offset is None:
            return
        try:
            # The long poll just cancelled may hold the connection for a moment.
            await self.application.bot.get_updates(offset=offset, limit=1, timeout=0,
                                                   pool_timeout=5)
        except Exception as exc:  # noqa: BLE001 - unconfirmed updates come again; no harm
            log.info("could not confirm the last updates: %s", exc)

    async def _run(self) -> None:
        retry = RETRY_FIRST_S
        while not self._stopping:
            busy = bool(self._in_flight)
            offset = self.offset
            if offset is not None:
                # Telegram returns nothing below the offset: what is done there is forgotten.
                self._done = {done for done in self._done if done >= offset}
            try:
                raw = await self._fetch(offset, 0 if busy else self.timeout)
            except Conflict as exc:
                self._fail(PollingStopped(conflict_message(exc)))
                return
            except InvalidToken as exc:
                self._fail(PollingStopped(f"Telegram does not accept the bot token ({exc})."))
                return
            except RetryAfter as exc:
                wait = exc.retry_after
                await asyncio.sleep(wait if isinstance(wait, int | float)
                                    else wait.total_seconds())
                continue
            except (TimedOut, NetworkError) as exc:
                log.warning("getUpdates failed (%s); trying again in %.1f s", exc, retry)
                await asyncio.sleep(retry)
                retry = min(RETRY_MAX_S, retry * 2)
                continue
            retry = RETRY_FIRST_S
            self._report_stuck()
            fresh = 0
            for data in raw:
                if self._take(data):
                    fresh += 1
            # While updates are in flight every answer repeats them, so ask again at once
            # only when a full page brought new ones (more may wait behind it); otherwise
            # after the busy interval, or when nothing is in flight any more. Asking again
            # after every answer with a new update made a polling bot at saturation decode
            # a hundred repeated updates a few hundred times a second.
            if self._in_flight and not (fresh and len(raw) >= self.limit):
                await self._wait_while_busy()

    def _report_stuck(self) -> None:
        """Say so when the oldest update in flight holds the offset back for long: Telegram
        shows at most ``limit`` updates from the offset, so a stuck one stalls the rest."""
        if not self._in_flight:
            return
        now = asyncio.get_running_loop().time()
        oldest = min(self._in_flight)
        started = self._started.get(oldest, now)
        if now - started > STUCK_AFTER_S and now - self._last_stuck_report > STUCK_AFTER_S:
            self._last_stuck_report = now
            task = self._in_flight[oldest]
            frames = "".join(f"\n  {f.f_code.co_filename}:{f.f_lineno} {f.f_code.co_name}"
                             for f in task.get_stack())
            log.warning("update %s has been handled for %.0f s; %d update(s) in flight wait "
                        "behind it to be confirmed:%s", oldest, now - started,
                        len(self._in_flight), frames)

    async def _fetch(self, offset: int | None, wait_s: int) -> list[dict[str, Any]]:
        """getUpdates, as the raw JSON: while busy most of each answer is updates already in
        flight or done, and turning them into ``Update`` objects only to skip them would cost
        more than handling the new ones."""
        bot = self.application.bot
        # Bot.get_updates without its parsing (the same request, through the same client).
        result = await bot._post(
            "getUpdates",
            {"offset": offset, "limit": self.limit, "timeout": wait_s,
             "allowed_updates": self.allowed_updates},
            read_timeout=wait_s + READ_SLACK_S,
        )
        return list(result) if isinstance(result, list) else []

    def _take(self, data: dict[str, Any]) -> bool:
        """Start handling an update unless it is in flight or done; True if started."""
        update_id = int(data["update_id"])
        if update_id in self._in_flight or update_id in self._done:
            return False
        bot = self.application.bot
        update = Update.de_json(data, bot)
        if isinstance(bot, ExtBot):
            bot.insert_callback_data(update)  # as ExtBot.get_updates does
        if self._highest is None or update_id > self._highest:
            self._highest = update_id
        self._in_flight[update_id] = asyncio.create_task(
            self._handle(update), name=f"update-{update_id}")
        self._started[update_id] = asyncio.get_running_loop().time()
        return True

    async def _handle(self, update: Update) -> None:
        try:
            await self._turns.process(update)
        except asyncio.CancelledError:
            # Stopping before it finished: leave it unconfirmed, to be delivered again.
            del self._in_flight[update.update_id]
            self._started.pop(update.update_id, None)
            self._abandoned.add(update.update_id)
            raise
        except Exception:
            # process_update hands handler errors to the error handler; this is PTB itself.
            log.exception("update %s could not be processed", update.update_id)
        self._finish(update.update_id)

    def _finish(self, update_id: int) -> None:
        self._in_flight.pop(update_id, None)
        self._started.pop(update_id, None)
        # Kept until a request is sent with an offset past it: a request already on its way
        # (sent with a lower offset) brings it back.
        self._done.add(update_id)
        self._finished.set()

    async def _wait_while_busy(self) -> None:
        """Everything fetched is in flight: ask again after a short pause, or as soon as
        nothing is in flight (then a long poll waits for new updates without asking again)."""
        self._finished.clear()
        deadline = asyncio.get_running_loop().time() + self.busy_interval
        while self._in_flight:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._finished.wait(), remaining)
            self._finished.clear()

    def _fail(self, failure: PollingStopped) -> None:
        log.error("%s", failure)
        self.failure = failure
        self.stopped.set()
