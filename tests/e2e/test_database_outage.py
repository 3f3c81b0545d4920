"""The database goes away for a moment: the resident is told to try again and nothing is lost
(an answer to a poll, a photo that starts a report)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from sandbox import BotApiSandbox, SandboxClient
from sandbox.media import png_bytes
from storage.uow import Database
from surveys.cases import sealing
from tests.conftest import SECRET, seed_campaign
from tests.e2e.conftest import Bot, Clock
from tests.e2e.test_resident_journey import answers_of, begin, tap_and_wait

pytestmark = pytest.mark.e2e


class TcpProxy:
    """A loopback TCP relay that can be cut, as when a database server goes away."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@contextlib.asynccontextmanager
async def outage_switch(db_url: str) -> AsyncIterator[tuple[Database, Callable[[], Awaitable[None]],
                                                             Callable[[], Awaitable[None]]]]:
    """A database handle for the bot, and functions that take the database down and up."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        # Taking the lock waits (off the event loop, which the bot shares) for a write the bot
        # may still be finishing, such as noting the question's message id just after sending
        # it; once held, every writer times out.
        blocker = sqlite3.connect(str(url.database), timeout=10, isolation_level=None,
                                  check_same_thread=False)

        async def down() -> None:
            await asyncio.to_thread(blocker.execute, "BEGIN EXCLUSIVE")

        async def up() -> None:
            await asyncio.to_thread(blocker.execute, "COMMIT")

        db = Database.from_url(db_url, busy_timeout_ms=200)
        try:
            yield db, down, up
        finally:
            blocker.close()
            await db.dispose()
        return
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    db = Database.from_url(url.set(host="127.0.0.1", port=proxy.port).render_as_string(False))
    try:
        yield db, proxy.cut, proxy.start
    finally:
        await db.dispose()
        await proxy.cut()


async def test_a_database_outage_loses_nothing(
    sandbox: BotApiSandbox, db: Database, db_url: str, client: SandboxClient, clock: Clock
) -> None:
    await seed_campaign(db)
    async with outage_switch(db_url) as (bot_db, down, up):
        bot = Bot(sandbox, bot_db, clock)
        await bot.start()
        try:
            user = await client.user(3001, "Luo")
            await begin(user)
            await tap_and_wait(user, "4", "2/5")

            await down()
            await user.tap("Yes")
            alert = await user.wait_for_answer(timeout=10)
            assert alert.show_alert and "could not save" in alert.text
            assert "earlier answers are safe" in alert.text
            await user.send("/start willow")
            await user.wait_for_message("could not save", timeout=10)
            await up()

            await tap_and_wait(user, "Yes", "3/5")
        finally:
            await bot.stop()
    stored = await answers_of(db)
    assert {k: v.value_number for k, v in stored.items()} == {"overall": 4, "resolved": 1}


async def test_a_photo_report_during_an_outage_is_refused_and_sent_again(
    sandbox: BotApiSandbox, db: Database, db_url: str, client: SandboxClient, clock: Clock,
    tmp_path: Path,
) -> None:
    """A captioned photo (which starts a report) while the database is away: the resident is
    told to try again and nothing is half kept; sent again, it starts the report."""
    await seed_campaign(db)
    async with outage_switch(db_url) as (bot_db, down, up):
        bot = Bot(sandbox, bot_db, clock)
        bot.settings = bot.settings.model_copy(update={"var_dir": tmp_path / "var"})
        await bot.start()
        try:
            user = await client.user(3002, "Ma")
            await down()
            await user.send_photo(png_bytes(20, 20), caption="The gate is broken")
            await user.wait_for_message("could not save", timeout=10)
            await up()
            async with db.reading() as uow:
                assert await uow.cases.draft(sealing.draft_key(SECRET, 3002)) is None
            await user.send_photo(png_bytes(20, 20), caption="The gate is broken")
            await user.wait_for_message("Your photo starts a report", timeout=10)
        finally:
            await bot.stop()
