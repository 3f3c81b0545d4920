"""Updates by webhook: Telegram posts each update to the bot's HTTP server.

The answer to Telegram's post is what confirms an update: it is sent only when the update has
been handled (committed and answered, or failed and told), so an update in flight when the
process dies is posted again by Telegram (to this worker after a restart, or to another one),
and the duplicate check (``handlers.deps.Deps.run``) keeps it from being processed twice. A
stopping worker answers new posts with 503, which Telegram retries, and finishes the ones in
flight first.

The answer to a post may carry one Bot API call, which Telegram then makes: a tap's answer
(``answerCallbackQuery``) goes there rather than in a request of its own (see
``handlers.common.InAnswer``).

Only posts carrying the secret header given to ``setWebhook`` are taken; others are refused
with 401 and counted (``civicpulse_webhook_refused_total``), without reading their body.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from base64 import urlsafe_b64encode
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from telegram import Bot, Update
from telegram.ext import Application, ExtBot

from bot.metrics import Metrics
from bot.turns import ChatTurns
from handlers.common import InAnswer

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# How long a clean stop waits for updates being handled (Telegram posts the rest again).
DRAIN_S = 15.0


def webhook_secret(secret: bytes) -> str:
    """The ``secret_token`` for setWebhook, derived from the secret key: the same in every
    worker and across restarts, and nothing to configure. Telegram allows A-Z a-z 0-9 _ -."""
    digest = hmac.new(secret, b"civicpulse telegram webhook", hashlib.sha256).digest()
    return urlsafe_b64encode(digest).decode().rstrip("=")


async def set_webhook(bot: Bot, url: str, *, secret_token: str, max_connections: int,
                      allowed_updates: Sequence[str]) -> None:
    """Have Telegram post updates to ``url`` with ``secret_token`` in their header."""
    await bot.set_webhook(url, secret_token=secret_token, max_connections=max_connections,
                          allowed_updates=list(allowed_updates))
    log.info("webhook set: Telegram posts updates to %s", url)


class WebhookFeed:
    """Sets the webhook, takes Telegram's posts at ``path`` and hands them to the application."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any], *, url: str,
                 path: str, secret_token: str, max_connections: int,
                 allowed_updates: Sequence[str], metrics: Metrics,
                 drain_s: float = DRAIN_S) -> None:
        self.application = application
        self.metrics = metrics
        self.url = url
        self.path = path
        self.secret_token = secret_token
        self.max_connections = max_connections
        self.allowed_updates = list(allowed_updates)
        self.drain_s = drain_s
        self._turns = ChatTurns(application, metrics)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._apart: set[asyncio.Task[None]] = set()  # answers sent apart from their post
        self._open = False
        # Setting the webhook again cuts Telegram's posts in flight short and has them posted
        # again (so answered twice): the workers of ``--workers`` leave it to their parent,
        # which sets it once, also for a worker it restarts.
        self.sets_webhook = True

    @property
    def open(self) -> bool:
        """Taking posts: started and not stopping."""
        return self._open

    async def start(self) -> None:
        """Tell Telegram where to post (unless the parent of ``--workers`` did), then take
        posts. Updates that waited while no worker answered are kept (Telegram posts them
        now)."""
        self._open = True
        if not self.sets_webhook:
            log.info("taking the posts of the webhook at %s", self.url)
            return
        await set_webhook(self.application.bot, self.url, secret_token=self.secret_token,
                          max_connections=self.max_connections,
                          allowed_updates=self.allowed_updates)

    async def stop(self) -> None:
        """Refuse new posts (Telegram retries them), finish those being handled. The webhook
        stays set: other workers go on, and a restarted one is posted what waited."""
        self._open = False
        if not self._in_flight:
            return
        _, pending = await asyncio.wait(set(self._in_flight), timeout=self.drain_s)
        if pending:
            log.warning("stopping with %d update(s) still being handled; Telegram posts "
                        "them again", len(pending))
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret_token.encode()):
            self.metrics.webhook_refused.labels("missing" if not given else "wrong").inc()
            log.warning("webhook post refused: %s secret header",
                        "no" if not given else "a wrong")
            return web.Response(status=401, text="wrong secret token")
        if not self._open:
            return web.Response(status=503, text="stopping", headers={"Retry-After": "1"})
        update = await self._read(request)
        if update is None:
            return web.Response(status=400, text="not an update")
        in_answer = InAnswer()
        task = asyncio.create_task(self._turns.process(update, in_answer),
                                   name=f"update-{update.update_id}")
        self._in_flight.add(task)
        try:
            # Shielded: a post Telegram gives up on (the connection closes) still finishes.
            await asyncio.shield(task)
        except asyncio.CancelledError:
            # Nobody reads this post's answer: a tap answered meanwhile, or still to be, is
            # answered by a request of its own once the update is handled.
            task.add_done_callback(lambda _: self._send_apart(in_answer))
            raise
        except Exception:
            # process_update hands handler errors to the error handler; this is PTB itself.
            log.exception("update %s could not be processed", update.update_id)
            self._send_apart(in_answer)
            return web.Response(status=500, text="not processed")
        finally:
            if task.done():
                self._in_flight.discard(task)
            else:
                task.add_done_callback(self._in_flight.discard)
        call = in_answer.take()
        if call is None:
            return web.Response(status=200)
        self.metrics.telegram_calls.labels(call["method"], "in_answer").inc()
        return web.json_response(call)

    def _send_apart(self, in_answer: InAnswer) -> None:
        """Make the call ``in_answer`` holds as a request (the post's answer will not carry
        it), in the background."""
        if in_answer.closed:
            return
        task = asyncio.get_running_loop().create_task(in_answer.send_apart())
        self._apart.add(task)
        task.add_done_callback(self._apart.discard)

    async def _read(self, request: web.Request) -> Update | None:
        try:
            data = json.loads(await request.read())
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                return None
            bot = self.application.bot
            update = Update.de_json(data, bot)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("webhook post is not an update: %s", exc.__class__.__name__)
            return None
        if isinstance(bot, ExtBot):
            bot.insert_callback_data(update)  # as ExtBot.get_updates does
        return update
