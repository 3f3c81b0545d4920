"""Fixtures for the sandbox tests: a running sandbox, a PTB bot pointed at it, a client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from telegram import Bot

from sandbox import BotApiSandbox, SandboxClient
from sandbox.ratelimit import ManualClock

SandboxFactory = Callable[..., Awaitable[BotApiSandbox]]


@pytest.fixture
def clock() -> ManualClock:
    """A fake clock for flood control."""
    return ManualClock()


@pytest.fixture
async def make_sandbox() -> AsyncIterator[SandboxFactory]:
    """Start sandboxes with any constructor arguments; all are stopped afterwards."""
    started: list[BotApiSandbox] = []

    async def make(**kwargs: Any) -> BotApiSandbox:
        sandbox = BotApiSandbox(**kwargs)
        await sandbox.start()
        started.append(sandbox)
        return sandbox

    yield make
    for sandbox in started:
        await sandbox.stop()


@pytest.fixture
async def sandbox(make_sandbox: SandboxFactory) -> BotApiSandbox:
    """A sandbox without flood limits (the limit tests build their own)."""
    return await make_sandbox(global_limit=None, chat_limit=None)


@pytest.fixture
async def bot(sandbox: BotApiSandbox) -> AsyncIterator[Bot]:
    """A real PTB bot talking HTTP to the sandbox (files too: getFile paths download from it)."""
    async with Bot(sandbox.token, base_url=sandbox.api_url, base_file_url=sandbox.file_url) as bot:
        yield bot


@pytest.fixture
async def client(sandbox: BotApiSandbox) -> AsyncIterator[SandboxClient]:
    async with SandboxClient(sandbox.base_url) as client:
        yield client


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP session for raw Bot API calls."""
    async with aiohttp.ClientSession() as session:
        yield session
