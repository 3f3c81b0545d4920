"""Broadcast benchmark: invite thousands of residents through the sandbox at Telegram's pace.

Three processes, as in production: the sandbox with Telegram's flood limits (30 messages/s
overall, 1/s per chat), the bot (`civicpulse run` with a token, polling the sandbox, on a fresh
database) and this driver, which seeds the residents, watches every message the sandbox
accepts and, in run B, SIGKILLs the bot halfway through and starts it again.

Each run seeds N residents subscribed to one unit (registered in the sandbox first: like real
Telegram, it only delivers to users who have started the bot) and one open campaign; the bot's
scheduler queues one invitation per resident at start and the outbox sender delivers them.

- run A: uninterrupted;
- run B: the bot is killed (SIGKILL, no clean shutdown) when half the residents have their
  invitation, then restarted; the rows it had marked ``sending`` are sent again, so up to
  ``broadcast.in_flight`` residents may get the invitation twice, and nobody may get none.

Figures per run: messages per second from the first delivery to the last and in steady state
(without the first second, when the flood buckets start full), the sandbox's 429 answers,
residents with no invitation (lost) and with more than one (duplicates).

    python bench/broadcast.py [--users 5000] [--backends sqlite,postgresql] [--runs A,B]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.processes import Process, free_port, wait_until  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import OutboxStatus  # noqa: E402
from storage.uow import Database  # noqa: E402
from surveys.campaigns.admin import create_campaign  # noqa: E402
from surveys.people.units import UnitRow, import_units  # noqa: E402
from surveys.questionnaire.loader import load_template  # noqa: E402

TOKEN = "123456:bench-token"
PYTHON = sys.executable
CAMPAIGN = "bcast"
FIRST_USER_ID = 10_000_000
# Telegram's limits as the sandbox models them (token buckets: rate per second, burst).
GLOBAL_RATE, GLOBAL_BURST = 30.0, 30
CHAT_RATE, CHAT_BURST = 1.0, 5
TARGET_SHARE = 0.95







class Sandbox:
    """The client API of the sandbox process, over one HTTP session."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def get(self, path: str, **params: Any) -> Any:
        async with self.session.get(self.base + path, params=params) as response:
            response.raise_for_status()
            return await response.json(content_type=None)

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        async with self.session.post(self.base + path, json=body or {}) as response:
            response.raise_for_status()
            return await response.json(content_type=None)

    async def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = await self.get("/sandbox/stats")
        return stats

    async def add_users(self, ids: list[int]) -> None:
        for at in range(0, len(ids), 200):
            await asyncio.gather(*(
                self.post("/sandbox/users", {"id": uid, "first_name": f"Resident {uid}",
                                             "language_code": "en"})
                for uid in ids[at:at + 200]
            ))

    async def bot_messages_per_user(self, ids: list[int]) -> Counter[int]:
        """Authoritative counts from each user's chat (the watcher's are cross-checked)."""
        counts: Counter[int] = Counter()

        async def one(uid: int) -> None:
            chat = await self.get(f"/sandbox/users/{uid}/chat")
            counts[uid] = sum(1 for e in chat["events"]
                              if e["kind"] == "message" and e["message"]["from"] == "bot")

        for at in range(0, len(ids), 200):
            await asyncio.gather(*(one(uid) for uid in ids[at:at + 200]))
        return counts

    async def close(self) -> None:
        await self.session.close()


class Watcher:
    """Follows every event in the sandbox and timestamps each message the bot sends."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.deliveries: list[tuple[float, int]] = []  # (monotonic time, chat id)
        self.per_user: Counter[int] = Counter()
        self.changed = asyncio.Event()
        self.task = asyncio.create_task(self._follow())

    async def _follow(self) -> None:
        after = 0
        while True:
            try:
                data = await self.sandbox.get("/sandbox/wait", after_seq=after, timeout=5)
            except (OSError, aiohttp.ClientError):
                await asyncio.sleep(0.1)
                continue
            now = time.monotonic()
            for event in data["events"]:
                if event["kind"] == "message" and event["message"]["from"] == "bot":
                    self.deliveries.append((now, int(event["chat_id"])))
                    self.per_user[int(event["chat_id"])] += 1
            after = int(data["last_seq"])
            self.changed.set()

    @property
    def reached(self) -> int:
        """Residents who have at least one message."""
        return len(self.per_user)

    async def until(self, check: Callable[[], bool], limit: float) -> bool:
        deadline = time.monotonic() + limit
        while not check():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(remaining, 1.0))
        return True

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


# --- the database ---------------------------------------------------------------------------


async def reset_postgres(url: str) -> str | None:
    """Create the database if needed and give it an empty public schema, as the test suite
    does; None if PostgreSQL is not reachable."""
    parsed = make_url(url).set(database=make_url(url).database or "civicpulse_bench_broadcast")
    name = parsed.database
    server = create_async_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with server.connect() as conn:
            exists = await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                       {"name": name})
            if not exists:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except (OSError, DBAPIError) as exc:
        print(f"PostgreSQL not reachable at {parsed.host}:{parsed.port}: {exc}; skipping it")
        return None
    finally:
        await server.dispose()
    engine = create_async_engine(parsed)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()
    return parsed.render_as_string(hide_password=False)


async def seed(db_url: str, user_ids: list[int]) -> None:
    """One unit, the residents subscribed to it, one campaign open since a minute ago."""
    await asyncio.to_thread(upgrade, db_url)
    db = Database.from_url(db_url)
    try:
        async with db.transaction() as uow:
            await import_units(uow, [UnitRow("B1", "Bench Village", None, "village",
                                             len(user_ids), 1)], "bench")
            unit = await uow.units.by_code("B1")
            assert unit is not None
            for uid in user_ids:
                contact = await uow.contacts.get_or_create(uid, uid)
                await uow.subscriptions.add(contact.id, unit.id)
            now = db.clock()
            await create_campaign(uow, survey=load_template("resident_satisfaction"),
                                  unit_code="B1", code=CAMPAIGN,
                                  opens_at=now - timedelta(minutes=1),
                                  closes_at=now + timedelta(days=7), now=now, actor="bench")
    finally:
        await db.dispose()


async def outbox_counts(db: Database) -> Counter[str]:
    """Invitation rows by status."""
    async with db.reading() as uow:
        campaign = await uow.campaigns.by_code(CAMPAIGN)
        assert campaign is not None
        progress = await uow.outbox.progress(campaign.id)
    counts: Counter[str] = Counter()
    for (_kind, status), n in progress.items():
        counts[OutboxStatus(status).value] += n
    return counts


# --- one run --------------------------------------------------------------------------------


@dataclass
class RunResult:
    run: str
    backend: str
    users: int
    in_flight: int
    deliveries: list[tuple[float, int]]
    per_user: Counter[int]
    stats: dict[str, Any]
    outbox: Counter[str]
    bot_started: float
    killed_at: float | None = None
    restarted_at: float | None = None
    in_flight_at_kill: int | None = None
    requeued_logged: int | None = None
    watcher_mismatch: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def first(self) -> float:
        return self.deliveries[0][0] if self.deliveries else float("nan")

    @property
    def last(self) -> float:
        return self.deliveries[-1][0] if self.deliveries else float("nan")

    @property
    def elapsed(self) -> float:
        return self.last - self.first if len(self.deliveries) > 1 else float("nan")

    @property
    def delivered(self) -> int:
        return sum(self.per_user.values())

    @property
    def rate(self) -> float:
        return self.delivered / self.elapsed if self.elapsed else float("nan")

    @property
    def downtime(self) -> float:
        """From the last delivery before the kill to the first after the restart."""
        if self.killed_at is None:
            return 0.0
        before = [t for t, _ in self.deliveries if t <= self.killed_at]
        after = [t for t, _ in self.deliveries if t > self.killed_at]
        if not before or not after:
            return float("nan")
        return after[0] - before[-1]

    @property
    def steady_rate(self) -> float:
        """Deliveries per second after the first second (whose burst the buckets allow), and
        without the time the sender was down in run B."""
        start = self.first + 1.0
        later = [t for t, _ in self.deliveries if t >= start]
        span = self.last - start - self.downtime
        return len(later) / span if span > 0 else float("nan")

    def per_second(self) -> list[int]:
        """Deliveries in each whole second from the first delivery."""
        if not self.deliveries:
            return []
        counts = Counter(int(t - self.first) for t, _ in self.deliveries)
        return [counts.get(s, 0) for s in range(max(counts) + 1)]

    @property
    def lost(self) -> int:
        return sum(1 for n in self.per_user.values() if n == 0)

    @property
    def duplicates(self) -> int:
        return sum(1 for n in self.per_user.values() if n > 1)

    @property
    def extra_messages(self) -> int:
        return sum(n - 1 for n in self.per_user.values() if n > 1)


def bot_config(path: Path, in_flight: int | None, max_rate: float | None) -> Path:
    lines = ["bot:", "  poll_timeout_s: 10"]
    if max_rate is not None:
        lines.append(f"  max_messages_per_second: {max_rate}")
    if in_flight is not None:
        lines += ["broadcast:", f"  in_flight: {in_flight}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def count_requeued(log: Path) -> int | None:
    found = re.findall(r"(\d+) message\(s\) were being sent when the bot stopped",
                       log.read_text(errors="replace"))
    return int(found[-1]) if found else None


async def run_once(run: str, backend: str, db_url: str, users: int, log_dir: Path,
                   in_flight: int | None, max_rate: float | None) -> RunResult:
    tag = f"{backend}-{run}"
    ids = [FIRST_USER_ID + i for i in range(users)]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PTB_TIMEDELTA": "1"}
    sandbox_proc = Process(
        f"sandbox-{tag}",
        [PYTHON, "-m", "sandbox", "--port", str(port), "--token", TOKEN,
         "--global-rate", str(GLOBAL_RATE), "--global-burst", str(GLOBAL_BURST),
         "--chat-rate", str(CHAT_RATE), "--chat-burst", str(CHAT_BURST)],
        env, log_dir / f"sandbox-{tag}.log")
    config = bot_config(log_dir / f"config-{tag}.yaml", in_flight, max_rate)
    settings = load_settings(config, {})
    bot_env = {**env, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": base,
               "DATABASE_URL": db_url, "CIVICPULSE_SECRET_KEY": "bench-secret-key-0123456789",
               "CIVICPULSE_CONFIG": str(config)}
    bot_log = log_dir / f"bot-{tag}.log"
    bot = Process(f"bot-{tag}", [PYTHON, "-m", "bot.cli", "run"], bot_env, bot_log)
    sandbox = Sandbox(base)
    watcher: Watcher | None = None
    db = Database.from_url(db_url)
    await sandbox_proc.start()
    try:
        await wait_until(lambda: _ok(sandbox), "the sandbox")
        started = time.monotonic()
        await sandbox.add_users(ids)
        await seed(db_url, ids)
        print(f"  [{tag}] {users} residents registered and seeded in "
              f"{time.monotonic() - started:.1f}s", flush=True)
        await sandbox.post("/sandbox/reset-stats")
        watcher = Watcher(sandbox)
        bot_started = time.monotonic()
        await bot.start()
        result = RunResult(run, backend, users, settings.broadcast.in_flight, [], Counter(),
                           {}, Counter(), bot_started)
        limit = 120 + 4 * users / GLOBAL_RATE
        if run == "B":
            half = users // 2
            if not await watcher.until(lambda: watcher.reached >= half, limit):
                raise RuntimeError(f"[{tag}] never reached half the residents; see {bot_log}")
            await bot.kill()
            result.killed_at = time.monotonic()
            counts = await outbox_counts(db)
            result.in_flight_at_kill = counts.get("sending", 0)
            print(f"  [{tag}] killed at {watcher.reached} residents reached, "
                  f"{result.in_flight_at_kill} rows left 'sending'", flush=True)
            result.restarted_at = time.monotonic()
            await bot.start()

        async def finished() -> bool:
            counts = await outbox_counts(db)
            return (sum(counts.values()) >= users and not counts.get("pending")
                    and not counts.get("sending"))

        deadline = time.monotonic() + limit
        while not await finished():
            if bot.proc is not None and bot.proc.returncode is not None:
                raise RuntimeError(f"[{tag}] the bot exited ({bot.proc.returncode}); "
                                   f"see {bot_log}")
            if time.monotonic() > deadline:
                result.notes.append(f"gave up waiting after {limit:.0f}s")
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(2.0)  # the last answers reach the watcher
        result.deliveries = list(watcher.deliveries)
        result.per_user = await sandbox.bot_messages_per_user(ids)
        result.watcher_mismatch = sum(
            1 for uid in ids if result.per_user[uid] != watcher.per_user.get(uid, 0))
        result.stats = await sandbox.stats()
        result.outbox = await outbox_counts(db)
        result.requeued_logged = count_requeued(bot_log)
        return result
    finally:
        if watcher is not None:
            await watcher.stop()
        await bot.stop()
        await sandbox.close()
        await sandbox_proc.stop()
        await db.dispose()


async def _ok(sandbox: Sandbox) -> bool:
    await sandbox.stats()
    return True


# --- report ---------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(results: list[RunResult], timeline: bool) -> None:
    target = TARGET_SHARE * GLOBAL_RATE
    print(f"\nSandbox limits: {GLOBAL_RATE:.0f}/s overall (burst {GLOBAL_BURST}), "
          f"{CHAT_RATE:.0f}/s per chat (burst {CHAT_BURST})")
    header = (f"{'run':<13}{'users':>6}{'sent':>7}{'secs':>8}{'msg/s':>7}{'steady':>8}"
              f"{'p10/s':>6}{'429s':>6}{'calls':>7}{'lost':>6}{'dup':>5}{'down s':>8}"
              f"{'in flight@kill':>15}")
    print(header)
    print("-" * len(header))
    for r in results:
        seconds = r.per_second()[1:-1] or r.per_second()
        p10 = sorted(seconds)[len(seconds) // 10] if seconds else 0
        calls = int(r.stats.get("calls", {}).get("sendMessage", 0))
        at_kill = "-" if r.in_flight_at_kill is None else str(r.in_flight_at_kill)
        down = "-" if r.killed_at is None else f"{r.downtime:.1f}"
        print(f"{r.backend + ' ' + r.run:<13}{r.users:>6}{r.delivered:>7}{r.elapsed:>8.1f}"
              f"{r.rate:>7.1f}{r.steady_rate:>8.1f}{p10:>6}{r.stats.get('responses_429', 0):>6}"
              f"{calls:>7}{r.lost:>6}{r.duplicates:>5}{down:>8}{at_kill:>15}")
    print("\nsent: invitations the sandbox accepted; secs: first to last delivery; msg/s: sent/"
          "secs; steady: without the first second (and, in run B, without the restart gap); "
          "p10/s: the 10th percentile of deliveries per whole second; 429s: flood-control "
          "answers; calls: sendMessage requests; down s: last delivery before the kill to the "
          "first after the restart.")
    for r in results:
        name = f"{r.backend} run {r.run}"
        print(f"\n{name}: outbox {dict(sorted(r.outbox.items()))}; bot start to first "
              f"delivery {r.first - r.bot_started:.1f}s")
        if r.run == "B" and r.restarted_at is not None:
            print(f"{name}: restarted; the new process re-queued {r.requeued_logged} row(s) "
                  f"left 'sending' ({r.in_flight_at_kill} counted right after the kill)")
        if r.watcher_mismatch:
            print(f"{name}: WARNING {r.watcher_mismatch} residents' counts differ between "
                  "the live watcher and their chats (the chats' counts are used)")
        for note in r.notes:
            print(f"{name}: WARNING {note}")
        share = r.steady_rate / GLOBAL_RATE
        print(f"{name}: throughput {r.steady_rate:.1f} msg/s steady = {100 * share:.0f}% of "
              f"{GLOBAL_RATE:.0f}/s (target >= {target:.1f}) -> {verdict(share >= TARGET_SHARE)}")
        print(f"{name}: lost {r.lost} of {r.users} (target 0) -> {verdict(r.lost == 0)}")
        # Only a crash can repeat a message, and only one of the round it interrupted.
        bound = r.in_flight if r.run == "B" else 0
        print(f"{name}: duplicates {r.duplicates} residents ({r.extra_messages} extra messages)"
              f" (target <= {bound}" + (" = broadcast.in_flight" if r.run == "B" else "")
              + f") -> {verdict(r.duplicates <= bound)}")
        print(f"{name}: 429 answers {r.stats.get('responses_429', 0)} (the bot paces itself, "
              f"so none are expected)")
        if timeline:
            print(f"{name}: deliveries per second: {r.per_second()}")
        seconds = r.per_second()[1:-1]
        if seconds:
            print(f"{name}: per-second deliveries min {min(seconds)}, median "
                  f"{statistics.median(seconds):.0f}, max {max(seconds)}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--backends", default="sqlite",
                        help="comma-separated: sqlite, postgresql")
    parser.add_argument("--runs", default="A,B", help="A (uninterrupted), B (killed halfway)")
    parser.add_argument("--pg-url", default=os.environ.get(
        "BENCH_DATABASE_URL",
        "postgresql+asyncpg://postgres@127.0.0.1:5432/civicpulse_bench_broadcast"),
        help="its public schema is dropped and recreated before each run")
    parser.add_argument("--in-flight", type=int, default=None,
                        help="broadcast.in_flight (default: the bot's default)")
    parser.add_argument("--max-rate", type=float, default=None,
                        help="bot.max_messages_per_second (default: the bot's default)")
    parser.add_argument("--timeline", action="store_true",
                        help="print deliveries per second")
    args = parser.parse_args()
    log_dir = Path(tempfile.mkdtemp(prefix="civicpulse-broadcast-"))
    print(f"{args.users} residents; logs in {log_dir}; {os.cpu_count()} CPUs", flush=True)
    results: list[RunResult] = []
    for backend in [b for b in args.backends.split(",") if b]:
        for run in [r.strip().upper() for r in args.runs.split(",") if r.strip()]:
            if run not in ("A", "B"):
                raise SystemExit(f"unknown run {run}")
            if backend == "sqlite":
                url = f"sqlite+aiosqlite:///{log_dir / f'broadcast-{run}.db'}"
            elif backend == "postgresql":
                reset = await reset_postgres(args.pg_url)
                if reset is None:
                    break
                url = reset
            else:
                raise SystemExit(f"unknown backend {backend}")
            print(f"run {run} on {backend}...", flush=True)
            results.append(await run_once(run, backend, url, args.users, log_dir,
                                          args.in_flight, args.max_rate))
    report(results, args.timeline)


if __name__ == "__main__":
    asyncio.run(main())
