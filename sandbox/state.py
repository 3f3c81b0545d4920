"""The sandbox's memory across restarts: one SQLite file, written behind the request path.

Without it, a restarted sandbox starts its update ids at 1000 again and forgets its users, so a
bot that remembers the update ids it handled ignores the new messages, and an open chat page
loses its user. With a state directory the sandbox keeps its users, chats, messages (as the chat
page shows them), chat logs, files, unconfirmed updates, unanswered callback queries and its
counters in ``<state_dir>/sandbox.sqlite3``.

Writes never happen on the request path: the sandbox's parts note what changed in a
:class:`Changes`, and a :class:`StateWriter` collects the changes (:mod:`sandbox.persistence`
turns them into rows) every ``interval`` seconds (or when the sandbox stops) and commits them
in one transaction on a worker thread. SQLite's write-ahead log makes each
batch all or nothing, so a crash loses at most the last interval and never corrupts the file.
Because a crash may lose the counters' last values too, a sandbox that did not stop cleanly skips
its counters ahead on the next start (:data:`CRASH_GAP`): an update id or a chat cursor handed
out just before the crash is never handed out again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sandbox.media import StoredFile

__all__ = [
    "CRASH_GAP",
    "STATE_FILE",
    "Batch",
    "Changes",
    "SavedState",
    "StateDirBusy",
    "StateWriter",
    "discard_state",
    "load_state",
    "lock_state_dir",
]

_LOG = logging.getLogger(__name__)

STATE_FILE = "sandbox.sqlite3"
SCHEMA_VERSION = "1"

# How far the counters jump after a crash: more ids than the sandbox can hand out between two
# writes (it serves a few thousand requests a second; a write happens every fraction of one).
CRASH_GAP = 100_000
# The same for message ids, per chat (flood control keeps one chat far slower).
CRASH_GAP_MESSAGES = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    position INTEGER PRIMARY KEY, id INTEGER NOT NULL UNIQUE, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    chat_id INTEGER NOT NULL, message_id INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (chat_id, message_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY, chat_id INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS updates (
    update_id INTEGER PRIMARY KEY, kind TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS queries (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (file_id TEXT PRIMARY KEY, meta TEXT NOT NULL, data BLOB NOT NULL);
"""


class StateDirBusy(RuntimeError):
    """Another sandbox (another `make run`, say) is using the state directory."""


def lock_state_dir(state_dir: Path) -> IO[bytes] | None:
    """Hold the state directory for this sandbox until the returned file is closed.

    Two sandboxes writing one state file would undo each other's counters, and a crash of
    either could then hand out update ids twice. Where ``fcntl`` is missing (Windows), no lock.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl  # POSIX only
    except ImportError:  # pragma: no cover - Windows
        return None
    handle = (state_dir / "sandbox.lock").open("a+b")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise StateDirBusy(
            f"another sandbox is using {state_dir}; stop it first (is `make run` already "
            "running?), or give this one another state directory"
        ) from None
    return handle


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(slots=True)
class SavedState:
    """What a previous run left: plain dicts, turned back into objects by the server.

    ``clean`` tells whether that run stopped cleanly (its counters are exact then).
    """

    clean: bool
    counters: dict[str, int]
    users: list[dict[str, Any]]  # creation order; each with its chat's fields
    messages: list[tuple[int, dict[str, Any]]]  # (chat id, message fields)
    events: list[dict[str, Any]]  # by seq
    updates: list[tuple[int, str, dict[str, Any]]]  # unconfirmed, by update id
    queries: list[dict[str, Any]]
    files: list[tuple[dict[str, Any], bytes]]


@dataclass(slots=True)
class Batch:
    """One transaction's worth of changes, built on the event loop from what changed."""

    counters: dict[str, int] = field(default_factory=dict)
    users: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    messages: list[tuple[int, int, dict[str, Any]]] = field(default_factory=list)
    deleted_messages: list[tuple[int, int]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    updates: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    confirmed_updates: list[int] = field(default_factory=list)
    queries: list[dict[str, Any]] = field(default_factory=list)
    answered_queries: list[str] = field(default_factory=list)
    files: list[tuple[dict[str, Any], bytes]] = field(default_factory=list)


class Changes:
    """What changed since the last write, noted by the sandbox's parts as they change it.

    Only ids and new events are noted here: the collector reads their current state from the
    parts when it builds a :class:`Batch`. Nothing is noted until a :class:`StateWriter` is
    attached (a sandbox without a state directory keeps nothing for later).
    """

    def __init__(self) -> None:
        self.writer: StateWriter | None = None
        self.users: dict[int, None] = {}  # an ordered set: new users keep their order
        self.messages: dict[tuple[int, int], None] = {}
        self.events: list[dict[str, Any]] = []
        self.queries: set[str] = set()
        self.files: list[StoredFile] = []
        self.updates_changed = False
        self.saved_updates: set[int] = set()  # the unconfirmed updates the state file holds

    def __bool__(self) -> bool:
        return bool(
            self.users
            or self.messages
            or self.events
            or self.queries
            or self.files
            or self.updates_changed
        )

    def user(self, user_id: int) -> None:
        if self.writer is not None:
            self.users[user_id] = None
            self.writer.touch()

    def event(self, chat_id: int, event: dict[str, Any]) -> None:
        """Every change to a chat goes through its log, so this is where changes are noted."""
        if self.writer is None:
            return
        self.users[chat_id] = None  # its next message id or reply keyboard may change
        message_id = event["message"]["message_id"] if "message" in event else None
        if message_id is None and event["kind"] == "delete":
            message_id = event["message_id"]
        if message_id is not None:
            self.messages[(chat_id, message_id)] = None
        # "typing…" matters only while it shows; a restarted chat does not replay it.
        if event["kind"] != "chat_action":
            self.events.append(event)
        self.writer.touch()

    def query(self, query_id: str) -> None:
        if self.writer is not None:
            self.queries.add(query_id)
            self.writer.touch()

    def file(self, stored: StoredFile) -> None:
        if self.writer is not None:
            self.files.append(stored)
            self.writer.touch()

    def updates(self) -> None:
        """The unconfirmed updates changed (added, confirmed, dropped or back from a webhook)."""
        if self.writer is not None:
            self.updates_changed = True
            self.writer.touch()


def _slim(event: dict[str, Any]) -> dict[str, Any]:
    """A chat log entry as saved: a new message is saved by its id only.

    The messages table holds each message as it is now, and the server puts that back into its
    log entry on loading, which shows what the chat page shows after replaying the edits. So
    the log need not hold the message twice, and edits need no entry at all.
    """
    if event["kind"] != "message":
        return event
    slim = {k: v for k, v in event.items() if k != "message"}
    slim["message_id"] = event["message"]["message_id"]
    return slim


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=5.0)
    # WAL: a commit is one append, and a crash mid-write leaves the last whole commit.
    # synchronous=NORMAL skips the fsync per commit; WAL stays consistent after a crash.
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def _set_aside(path: Path) -> Path:
    """Move a damaged state file (and its WAL) out of the way, keeping it for a look."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        source = path.with_name(path.name + suffix)
        if source.exists():
            with contextlib.suppress(OSError):
                source.replace(target.with_name(target.name + suffix))
    return target


def _read(conn: sqlite3.Connection) -> SavedState:
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    if meta.get("version") != SCHEMA_VERSION:
        raise ValueError(f"unknown state version {meta.get('version')!r}")
    counters = {k[len("counter.") :]: int(v) for k, v in meta.items() if k.startswith("counter.")}
    users = [json.loads(d) for (d,) in conn.execute("SELECT data FROM users ORDER BY position")]
    messages = [
        (int(c), json.loads(d))
        for c, d in conn.execute("SELECT chat_id, data FROM messages ORDER BY chat_id, message_id")
    ]
    events = [json.loads(d) for (d,) in conn.execute("SELECT data FROM events ORDER BY seq")]
    updates = [
        (int(u), str(k), json.loads(b))
        for u, k, b in conn.execute("SELECT update_id, kind, body FROM updates ORDER BY update_id")
    ]
    queries = [json.loads(d) for (d,) in conn.execute("SELECT data FROM queries ORDER BY id")]
    files = [(json.loads(m), bytes(d)) for m, d in conn.execute("SELECT meta, data FROM files")]
    for item in (*users, *queries, *events):
        if not isinstance(item, dict):
            raise ValueError("a saved row is not an object")
    return SavedState(
        clean=meta.get("clean") == "1",
        counters=counters,
        users=users,
        messages=messages,
        events=events,
        updates=updates,
        queries=queries,
        files=files,
    )


def discard_state(state_dir: Path, reason: object) -> None:
    """Start afresh after all: the saved state loaded but made no sense (``reason``)."""
    path = state_dir / STATE_FILE
    moved = _set_aside(path)
    _LOG.warning(
        "sandbox: the saved state at %s cannot be read (%s); starting with no simulated users. "
        "The damaged file was moved to %s.",
        path,
        reason,
        moved,
    )
    _create(path)


def _create(path: Path) -> None:
    with contextlib.closing(_connect(path)) as conn:
        conn.executescript(_SCHEMA)
        conn.execute("BEGIN")
        conn.execute(
            "INSERT OR REPLACE INTO meta VALUES ('version', ?), ('clean', '0')", (SCHEMA_VERSION,)
        )
        conn.execute("COMMIT")


def load_state(state_dir: Path) -> SavedState | None:
    """Read the saved state (None to start afresh) and mark the file as in use.

    A missing file starts afresh; so does a damaged or unreadable one, after moving it aside.
    Both are logged as warnings that say what happens next. Marking the file "in use" before
    the sandbox hands out anything is what lets the next start notice a crash; after a crash
    the counters are moved ahead by :data:`CRASH_GAP`, in the file too, so that a second crash
    before the first write cannot hand the same ids out a third time.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / STATE_FILE
    saved: SavedState | None = None
    if not path.exists():
        _LOG.warning(
            "sandbox: no saved state at %s; starting with no simulated users (normal on a "
            "first run; they are saved from now on)",
            path,
        )
    else:
        try:
            with contextlib.closing(_connect(path)) as conn:
                if conn.execute("PRAGMA quick_check").fetchone() != ("ok",):
                    raise sqlite3.DatabaseError("integrity check failed")
                saved = _read(conn)
                if not saved.clean:
                    _skip_ahead(conn, saved)
        except (sqlite3.Error, ValueError, KeyError, TypeError) as exc:
            discard_state(state_dir, exc)
            return None
    _create(path)
    return saved


def _skip_ahead(conn: sqlite3.Connection, saved: SavedState) -> None:
    _LOG.warning(
        "sandbox: it did not stop cleanly last time; the last fraction of a second before that "
        "may be missing, and its update ids and message ids continue after a gap"
    )
    for name in saved.counters:
        saved.counters[name] += CRASH_GAP
    for user in saved.users:
        user["next_message_id"] = int(user["next_message_id"]) + CRASH_GAP_MESSAGES
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT OR REPLACE INTO meta VALUES (?, ?)",
        [(f"counter.{k}", str(v)) for k, v in saved.counters.items()],
    )
    conn.executemany(
        "UPDATE users SET data = ? WHERE id = ?", [(_dumps(u), u["id"]) for u in saved.users]
    )
    conn.execute("COMMIT")


class StateWriter:
    """Writes changes collected by ``collect`` to the state file, behind the request path.

    ``collect(force)`` returns the changes since its last call (None for none, unless
    ``force``). ``touch()`` (cheap, called on every change) makes sure a write happens within
    ``interval`` seconds; writes run one at a time on a private thread that owns the SQLite
    connection.
    """

    def __init__(
        self,
        state_dir: Path,
        collect: Callable[[bool], Batch | None],
        interval: float = 0.5,
        lock: IO[bytes] | None = None,
    ) -> None:
        self.path = state_dir / STATE_FILE
        self._lock = lock  # released by close()
        self._collect = collect
        self.interval = interval
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None  # used on the executor's thread only
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._more = False
        self._failed = False

    def touch(self) -> None:
        """Something changed: write it soon."""
        self._more = True
        if self._timer is not None or self._task is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a change made outside the loop: close() writes it
            return
        self._timer = loop.call_later(self.interval, self._start)

    def _start(self) -> None:
        self._timer = None
        self._task = asyncio.get_running_loop().create_task(self._write_pending())

    async def _write_pending(self) -> None:
        try:
            self._more = False
            batch = self._collect(False)
            if batch is not None:
                await self._submit(batch)
        finally:
            self._task = None
            if self._more:
                self.touch()

    async def _submit(self, batch: Batch, clean: bool = False) -> None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="sandbox-state")
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._write, batch, clean)
        except Exception as exc:  # noqa: BLE001 (a full disk, a value JSON cannot take, ...)
            # The sandbox keeps serving from memory; only this batch is not saved (the file
            # keeps the previous one whole). Say it once, not at every write.
            if not self._failed:
                _LOG.error("sandbox: cannot save its state to %s (%s)", self.path, exc)
            self._failed = True
        else:
            self._failed = False

    async def flush(self) -> None:
        """Write everything changed so far, and wait for it."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._task is not None:
            await asyncio.shield(self._task)
        self._more = False
        batch = self._collect(False)
        if batch is not None:
            await self._submit(batch)

    async def close(self) -> None:
        """Write everything, mark the file as cleanly closed, and release the thread."""
        await self.flush()
        await self._submit(self._collect(True) or Batch(), clean=True)
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.get_running_loop().run_in_executor(executor, self._close_connection)
            executor.shutdown(wait=True)
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.close()

    def _close_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _write(self, batch: Batch, clean: bool) -> None:
        if self._conn is None:
            self._conn = _connect(self.path)
        conn = self._conn
        try:
            conn.execute("BEGIN")
            meta = [(f"counter.{k}", str(v)) for k, v in batch.counters.items()]
            meta.append(("clean", "1" if clean else "0"))
            conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", meta)
            conn.executemany(
                "INSERT INTO users (id, data) VALUES (?, ?) "
                "ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                [(user_id, _dumps(data)) for user_id, data in batch.users],
            )
            conn.executemany(
                "INSERT OR REPLACE INTO messages VALUES (?, ?, ?)",
                [(c, m, _dumps(data)) for c, m, data in batch.messages],
            )
            conn.executemany(
                "DELETE FROM messages WHERE chat_id = ? AND message_id = ?",
                batch.deleted_messages,
            )
            conn.executemany(
                "INSERT OR REPLACE INTO events VALUES (?, ?, ?)",
                [(e["seq"], e["chat_id"], _dumps(_slim(e))) for e in batch.events
                 if e["kind"] != "edit"],
            )
            conn.executemany(
                "INSERT OR REPLACE INTO updates VALUES (?, ?, ?)",
                [(u, kind, _dumps(body)) for u, kind, body in batch.updates],
            )
            conn.executemany(
                "DELETE FROM updates WHERE update_id = ?", [(u,) for u in batch.confirmed_updates]
            )
            conn.executemany(
                "INSERT OR REPLACE INTO queries VALUES (?, ?)",
                [(q["id"], _dumps(q)) for q in batch.queries],
            )
            conn.executemany(
                "DELETE FROM queries WHERE id = ?", [(q,) for q in batch.answered_queries]
            )
            conn.executemany(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?)",
                [(m["file_id"], _dumps(m), data) for m, data in batch.files],
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
