"""The operator's addresses on the bot's HTTP server: ``/healthz`` (the process answers),
``/readyz`` (it can take updates: the database answers and it is not stopping) and
``/metrics`` (Prometheus's text format)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.metrics import CONTENT_TYPE, Metrics

log = logging.getLogger(__name__)

# A readiness probe that waits longer than this on the database says "not ready".
READY_TIMEOUT_S = 2.0

# What is not ready, or None when ready.
ReadyCheck = Callable[[], Awaitable[str | None]]
# Brings the gauges read from elsewhere (the outbox, the scoring job) up to date.
Refresh = Callable[[], Awaitable[None]]


def ops_routes(metrics: Metrics, ready: ReadyCheck, refresh: Refresh | None = None,
               ) -> list[web.RouteDef]:
    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(request: web.Request) -> web.Response:
        try:
            problem = await asyncio.wait_for(ready(), READY_TIMEOUT_S)
        except TimeoutError:
            problem = "the database did not answer in time"
        if problem is not None:
            return web.Response(status=503, text=f"not ready: {problem}\n")
        return web.Response(text="ready\n")

    async def exposition(request: web.Request) -> web.Response:
        if refresh is not None:
            try:
                await asyncio.wait_for(refresh(), READY_TIMEOUT_S)
            except Exception as exc:  # noqa: BLE001 - the counters are still worth serving
                log.warning("metrics: could not refresh the gauges: %s", exc)
        response = web.Response(body=metrics.exposition())
        response.headers["Content-Type"] = CONTENT_TYPE
        return response

    return [web.get("/healthz", healthz), web.get("/readyz", readyz),
            web.get("/metrics", exposition)]
