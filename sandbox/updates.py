"""Update delivery: the queue of updates for the bot, by long polling or by webhook.

An update waits in ``pending`` until the bot confirms it (the ``offset`` of its next getUpdates)
or a webhook delivery is answered with 2xx (an answer whose JSON body names a ``method`` has it
made, as Telegram does, with nothing told back); a redelivered update (Telegram retrying) goes out
again whatever the offset. As on Telegram, only one consumer at a time: a newer getUpdates ends
an older one with 409, and getUpdates is refused while a webhook is set.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from sandbox.protocol import ApiError, Described, Handler, Params, SandboxError, bad, dumps
from sandbox.state import Changes
from sandbox.waiting import Waiters

__all__ = ["Update", "UpdateQueue", "fresh_update_id"]

# Update types Telegram sends when allowed_updates is empty or was never set.
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)


@dataclass(slots=True)
class Update:
    update_id: int
    kind: str
    body: dict[str, Any]
    encoded: bytes | None = None  # the webhook body, built once even if retried


@dataclass(slots=True)
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None
    task: asyncio.Task[None] | None = None
    deliveries: set[asyncio.Task[None]] = field(default_factory=set)


def fresh_update_id() -> int:
    """Where update ids start in a new state directory.

    The bot remembers the update ids it handled for days, and an empty state directory may
    follow a run whose ids it still remembers: starting from the seconds since late 2023 puts
    the first id past every id of an earlier run, unless that one handed out more than one
    update a second on average since it started.
    """
    return max(1000, int(time.time()) - 1_700_000_000)


class UpdateQueue:
    """The bot's updates, from creation to confirmation, and the methods that fetch them.

    Args:
        changes: where confirmations and new updates are noted for the state directory.
        counters: the sandbox's statistics, counted into.
        history_limit: how many past updates are kept for redelivery.
        retry_delay: first pause before re-sending a failed webhook delivery; doubles up to
            ``max_retry_delay``.
    """

    def __init__(
        self,
        changes: Changes,
        counters: Counter[str],
        history_limit: int,
        retry_delay: float,
        max_retry_delay: float,
    ) -> None:
        self._changes = changes
        self._counters = counters
        self._history_limit = history_limit
        self._retry_delay = retry_delay
        self._max_retry_delay = max_retry_delay
        self.next_update_id = 1000
        self.pending: deque[Update] = deque()
        self._redeliveries: deque[Update] = deque()  # delivered again whatever the offset
        self.history: OrderedDict[int, Update] = OrderedDict()
        self.waiters = Waiters()
        self._allowed_updates: list[str] = []
        self._poll_generation = 0
        self.webhook: _Webhook | None = None
        self.inflight: dict[int, Update] = {}  # being delivered to the webhook
        self._session: aiohttp.ClientSession | None = None
        self.closing = False
        # Makes the Bot API call that a webhook's answer carries (set by the server).
        self.on_answer_call: Callable[[dict[str, Any]], Awaitable[None]] | None = None

    def methods(self) -> dict[str, Handler]:
        return {
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
        }

    @property
    def webhook_url(self) -> str | None:
        return self.webhook.url if self.webhook else None

    def pending_count(self) -> int:
        return len(self.pending) + len(self._redeliveries) + len(self.inflight)

    def enqueue(self, kind: str, body: dict[str, Any]) -> int:
        """A new update for the bot; its update_id."""
        update_id = self.next_update_id
        self.next_update_id += 1
        update = Update(update_id, kind, {"update_id": update_id, kind: body})
        self.pending.append(update)
        self.history[update_id] = update
        if len(self.history) > self._history_limit:
            self.history.popitem(last=False)
        self._counters["updates_created"] += 1
        self._changes.updates()
        self.waiters.wake()
        return update_id

    def restore(self, update: Update) -> None:
        """Put back an update an earlier run had not seen confirmed."""
        self.pending.append(update)
        self.history[update.update_id] = update

    def redeliver(self, update_id: int) -> dict[str, Any]:
        """Deliver an update again with the same update_id, as Telegram does when it retries."""
        update = self.history.get(update_id)
        if update is None:
            raise SandboxError(404, f"no update {update_id} (or it is too old)")
        self._redeliveries.append(update)
        self._counters["redeliveries"] += 1
        self.waiters.wake()
        return {"update_id": update_id}

    async def close(self) -> None:
        """Stop delivering to the webhook (unsent updates stay queued) and close the client."""
        if self.webhook is not None:
            await self._stop_webhook_delivery(self.webhook, drop=False)
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- long polling -------------------------------------------------------------------------

    @staticmethod
    def _is_allowed(update: Update, allowed: list[str] | None) -> bool:
        if allowed:
            return update.kind in allowed
        return update.kind not in _DEFAULT_EXCLUDED_UPDATES

    def _batch(self, limit: int) -> list[dict[str, Any]]:
        allowed = self._allowed_updates
        batch: list[dict[str, Any]] = []
        # Redeliveries go first so that the batch's last update_id, which PTB confirms with the
        # next offset, is still the newest genuine one.
        while self._redeliveries and len(batch) < limit:
            update = self._redeliveries.popleft()
            if self._is_allowed(update, allowed):
                batch.append(update.body)
        for update in self.pending:
            if len(batch) >= limit:
                break
            if self._is_allowed(update, allowed):
                batch.append(update.body)
        return batch

    async def _get_updates(self, p: Params) -> Any:
        if self.webhook is not None:
            raise ApiError(409, CONFLICT_WEBHOOK)
        offset = p.get_int("offset")
        limit = max(1, min(100, p.get_int("limit") or 100))
        timeout = p.get_int("timeout") or 0
        allowed = p.get_json("allowed_updates")
        if isinstance(allowed, list):
            # Remembered like Telegram does: later calls without the field keep the setting.
            self._allowed_updates = [str(kind) for kind in allowed]
        if offset is not None:
            self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        # A newer getUpdates ends an older long poll with 409, as Telegram does; wake it.
        self.waiters.wake()
        self._counters["get_updates"] += 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0, timeout)
        while True:
            batch = self._batch(limit)
            if batch or self.closing:
                self._counters["updates_delivered"] += len(batch)
                return batch
            remaining = deadline - loop.time()
            if remaining <= 0:
                return batch
            await self.waiters.wait(remaining)
            if generation != self._poll_generation:
                raise ApiError(409, CONFLICT_POLL)
            if self.webhook is not None:
                raise ApiError(409, CONFLICT_WEBHOOK)

    def _confirm(self, offset: int) -> None:
        pending = self.pending
        before = len(pending)
        if offset < 0:
            keep = -offset
            while len(pending) > keep:
                pending.popleft()
        else:
            while pending and pending[0].update_id < offset:
                pending.popleft()
        if len(pending) != before:
            self._changes.updates()

    def _drop_pending(self) -> None:
        self.pending.clear()
        self._redeliveries.clear()
        self._changes.updates()

    # --- webhooks -----------------------------------------------------------------------------

    async def _set_webhook(self, p: Params) -> Any:
        url = p.get_str("url") or ""
        if not url:
            return await self._delete_webhook(p)
        if not url.startswith(("http://", "https://")):
            # Telegram insists on HTTPS; the sandbox also accepts plain HTTP for local servers.
            raise bad("bad webhook: An HTTPS URL must be provided for webhook")
        max_connections = p.get_int("max_connections")
        if max_connections is None:
            max_connections = 40
        if not 1 <= max_connections <= 100:
            raise bad("bad webhook: max_connections must be between 1 and 100")
        secret = p.get_str("secret_token")
        if secret is not None and not _SECRET_TOKEN.match(secret):
            raise bad("secret token contains unallowed characters")
        allowed = p.get_json("allowed_updates")
        allowed_list = [str(k) for k in allowed] if isinstance(allowed, list) else None
        drop = p.get_bool("drop_pending_updates")
        old = self.webhook
        if old is not None:
            await self._stop_webhook_delivery(old, drop=drop)
        elif drop:
            self._drop_pending()
        if allowed_list is not None:
            self._allowed_updates = allowed_list
        hook = _Webhook(url, secret or None, max_connections, allowed_list)
        self.webhook = hook
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        hook.task = asyncio.get_running_loop().create_task(self._webhook_loop(hook))
        self.waiters.wake()  # a pending getUpdates now ends with 409
        return Described(True, "Webhook was set")

    async def _delete_webhook(self, p: Params) -> Any:
        drop = p.get_bool("drop_pending_updates")
        hook = self.webhook
        if hook is None:
            if drop:
                self._drop_pending()
            return Described(True, "Webhook is already deleted")
        await self._stop_webhook_delivery(hook, drop=drop)
        return Described(True, "Webhook was deleted")

    async def _stop_webhook_delivery(self, hook: _Webhook, drop: bool) -> None:
        if self.webhook is hook:
            self.webhook = None
        unsent = list(self.inflight.values())
        tasks = [t for t in (hook.task, *hook.deliveries) if t is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self.inflight.clear()
        if drop:
            self._drop_pending()
        elif unsent:
            # Deliveries cut short go back in line for getUpdates, in update order.
            merged = sorted([*unsent, *self.pending], key=lambda u: u.update_id)
            self.pending = deque(merged)

    async def _get_webhook_info(self, p: Params) -> Any:
        hook = self.webhook
        info: dict[str, Any] = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": self.pending_count(),
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            info["ip_address"] = "127.0.0.1"
            if hook.allowed_updates is not None:
                info["allowed_updates"] = hook.allowed_updates
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        return info

    def _take_for_webhook(self, hook: _Webhook) -> Update | None:
        allowed = hook.allowed_updates or self._allowed_updates
        for queue in (self._redeliveries, self.pending):
            while queue:
                update = queue.popleft()
                if self._is_allowed(update, allowed):
                    return update
        return None

    async def _webhook_loop(self, hook: _Webhook) -> None:
        slots = asyncio.Semaphore(hook.max_connections)
        loop = asyncio.get_running_loop()
        while not self.closing:
            await slots.acquire()
            update = self._take_for_webhook(hook)
            if update is None:
                slots.release()
                await self.waiters.wait(3600.0)
                continue
            self.inflight[update.update_id] = update
            task = loop.create_task(self._deliver(hook, update, slots))
            hook.deliveries.add(task)
            task.add_done_callback(hook.deliveries.discard)

    async def _deliver(self, hook: _Webhook, update: Update, slots: asyncio.Semaphore) -> None:
        """POST the update until the webhook answers 2xx, backing off between failures."""
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        if update.encoded is None:
            update.encoded = dumps(update.body)
        delay = self._retry_delay
        try:
            while (error := await self._post(hook, update.encoded, headers)) is not None:
                hook.last_error_date = int(time.time())
                hook.last_error_message = error
                self._counters["webhook_failures"] += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_retry_delay)
            self._counters["updates_delivered"] += 1
            self._counters["webhook_deliveries"] += 1
        finally:
            self.inflight.pop(update.update_id, None)
            slots.release()
            self._changes.updates()

    async def _answer_call(self, answer: bytes) -> None:
        """The Bot API call in a webhook's answer, if it names one; what it was not is
        ignored, as Telegram ignores it."""
        try:
            call = json.loads(answer)
        except ValueError:
            return
        if isinstance(call, dict) and isinstance(call.get("method"), str) \
                and self.on_answer_call is not None:
            self._counters["webhook_answer_calls"] += 1
            await self.on_answer_call(call)

    async def _post(self, hook: _Webhook, body: bytes, headers: dict[str, str]) -> str | None:
        """One delivery attempt: None when the webhook took it, else what went wrong."""
        assert self._session is not None
        try:
            async with self._session.post(hook.url, data=body, headers=headers) as response:
                answer = await response.read()
                if 200 <= response.status < 300:
                    if answer and response.content_type == "application/json":
                        await self._answer_call(answer)
                    return None
                return (
                    f"Wrong response from the webhook: {response.status} "
                    f"{response.reason or ''}".rstrip()
                )
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return f"Connection failed: {exc.__class__.__name__}: {exc}"
