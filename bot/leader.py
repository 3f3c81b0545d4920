"""Only one process runs the scheduler and the outbox sender.

Several bot processes may serve updates, but two schedulers would run steps twice and two
senders would together break Telegram's flood limit. PostgreSQL: a session advisory lock held
on a dedicated connection (released by the server if the process dies). SQLite: an exclusive
lock on a file next to the database (released by the kernel if the process dies).
"""

from __future__ import annotations

import contextlib
import fcntl
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
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY}
                )
                await self._connection.commit()
            # Never hand a connection that may still hold the session lock back to the pool.
            with contextlib.suppress(Exception):
                await self._connection.invalidate()
            self._connection = None
        if self._file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        self.held = False
