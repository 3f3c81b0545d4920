"""Only one process polls a bot token; only one runs the scheduler and the outbox sender.

Several bot processes may serve updates (in webhook mode), but two schedulers would run steps
twice and two senders would together break Telegram's flood limit. PostgreSQL: a session
advisory lock held on a dedicated connection (released by the server if the process dies).
SQLite: an exclusive lock on a file next to the database (released by the kernel if the
process dies).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.uow import Database

log = logging.getLogger(__name__)

# Any constant both processes agree on; "CP" "SC" in ASCII.
ADVISORY_KEY = 0x4350_5343


class Leadership:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._connection: AsyncConnection | None = None
        self._file: IO[bytes] | None = None
        self.held = False

    def _lock_path(self) -> Path | None:
        database = make_url(str(self.db.engine.url)).database
        if not database or database == ":memory:":
            return None
        return Path(f"{database}.scheduler.lock")

    async def acquire(self) -> bool:
        """Try once, without waiting; True if this process now leads."""
        if self.held:
            return True
        if self.db.dialect == "postgresql":
            connection = await self.db.engine.connect()
            try:
                got = await connection.scalar(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}
                )
                # End the implicit transaction; the session lock outlives it.
                await connection.commit()
            except BaseException:
                await connection.invalidate()
                raise
            if not got:
                await connection.close()
                return False
            self._connection = connection
        else:
            path = self._lock_path()
            if path is not None:
                # A local lock file: opening it cannot block for long.
                handle = open(path, "ab")  # noqa: SIM115, ASYNC230 - held open while leading
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    handle.close()
                    return False
                self._file = handle
        self.held = True
        log.info("this process runs the scheduler and the outbox sender (pid %d)", os.getpid())
        return True

    async def still_held(self) -> bool:
        """False if the PostgreSQL connection holding the lock was lost."""
        if not self.held or self._connection is None:
            return self.held
        try:
            await self._connection.execute(text("SELECT 1"))
            await self._connection.commit()
        except Exception as exc:  # noqa: BLE001 - any failure means the lock may be gone
            log.warning("lost the scheduler lock's connection: %s", exc)
            await self.release()
            return False
        return True

    async def release(self) -> None:
        await _release(self._connection, "SELECT pg_advisory_unlock(:key)",
                       {"key": ADVISORY_KEY}, self._file)
        self._connection, self._file = None, None
        self.held = False


# The first half of the two-integer advisory lock key for "polls this token" ("CP" "PL");
# the second half comes from the token. The one-bigint lock above lives in another key space.
POLLING_LOCK_CLASS = 0x4350_504C


def token_digest(token: str) -> bytes:
    """Names the token in a lock without writing the token itself anywhere."""
    return hashlib.sha256(b"civicpulse polling lock\0" + token.encode()).digest()


class PollingLock:
    """One polling process per bot token: Telegram serves getUpdates to one caller at a time,
    and two pollers keep ending each other's requests (409 Conflict).

    Held for the life of the process: on PostgreSQL a session advisory lock keyed on a digest
    of the token (so processes on other machines sharing the database see it too), on SQLite
    an exclusive lock on a file next to the database that records the holder's pid. Both go
    away with the process, however it ends.
    """

    def __init__(self, db: Database, token: str) -> None:
        self.db = db
        digest = token_digest(token)
        self._key = int.from_bytes(digest[:4], "big", signed=True)
        self._name = digest[:6].hex()
        self._connection: AsyncConnection | None = None
        self._file: IO[bytes] | None = None

    def lock_path(self) -> Path | None:
        database = make_url(str(self.db.engine.url)).database
        if not database or database == ":memory:":
            return None
        return Path(f"{database}.polling-{self._name}.lock")

    async def acquire(self) -> str | None:
        """Take the lock without waiting; None if taken, else why another process has it."""
        if self.db.dialect == "postgresql":
            return await self._acquire_advisory()
        return self._acquire_file()

    async def _acquire_advisory(self) -> str | None:
        connection = await self.db.engine.connect()
        try:
            got = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:cls, :key)"),
                {"cls": POLLING_LOCK_CLASS, "key": self._key},
            )
            holder = None
            if not got:
                holder = await connection.scalar(
                    text("SELECT coalesce(host(a.client_addr), 'a local socket') "
                         "|| ' (PostgreSQL backend pid ' || a.pid || ')' "
                         "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                         "WHERE l.locktype = 'advisory' AND l.classid::int = :cls "
                         "AND l.objid::int = :key AND l.objsubid = 2 AND l.granted"),
                    {"cls": POLLING_LOCK_CLASS, "key": self._key},
                )
            await connection.commit()  # the session lock outlives the implicit transaction
        except BaseException:
            await connection.invalidate()
            raise
        if not got:
            await connection.close()
            where = f" from {holder}" if holder else ""
            return (f"another process{where} is already polling Telegram with this bot token "
                    "(it holds the polling lock in this PostgreSQL database)")
        self._connection = connection
        return None

    def _acquire_file(self) -> str | None:
        path = self.lock_path()
        if path is None:
            return None  # an in-memory database: nothing another process could share
        handle = open(path, "a+b")  # noqa: SIM115 - held open while polling
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid = handle.read().decode(errors="replace").strip()
            handle.close()
            who = f" (pid {pid})" if pid.isdigit() else ""
            return (f"another process{who} is already polling Telegram with this bot token "
                    f"(it holds {path})")
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()).encode())
        handle.flush()
        self._file = handle
        return None

    async def release(self) -> None:
        await _release(self._connection, "SELECT pg_advisory_unlock(:cls, :key)",
                       {"cls": POLLING_LOCK_CLASS, "key": self._key}, self._file)
        self._connection, self._file = None, None


async def _release(connection: AsyncConnection | None, unlock: str, params: dict[str, int],
                   file: IO[bytes] | None) -> None:
    """Give up a lock taken by either kind: the advisory lock and its connection, or the
    file lock."""
    if connection is not None:
        with contextlib.suppress(Exception):
            await connection.execute(text(unlock), params)
            await connection.commit()
        # Never hand a connection that may still hold the session lock back to the pool.
        with contextlib.suppress(Exception):
            await connection.invalidate()
    if file is not None:
        with contextlib.suppress(OSError):
            fcntl.flock(file.fileno(), fcntl.LOCK_UN)
        file.close()
