"""Ingest benchmark: simulated residents answering the shipped poll through the sandbox.

Processes as in production: the sandbox (standing in for Telegram), the bot (`civicpulse run`
with a token: polling the sandbox, or taking its webhook posts with 1 or 2 worker processes),
and this driver acting as residents through the sandbox's client API. Every step is end to
end: a Telegram update goes in, the answer is stored, the next question comes back.

Systems, each with its own sandbox and database: the bare echo bot (bench/echo_bot.py, PTB's
default request and Updater: the ceiling a bot framework sets), CivicPulse polling (SQLite,
PostgreSQL), CivicPulse by webhook on PostgreSQL with one worker and with two.

Phases per system:
- saturation: residents act as fast as they can (no pause): the most steps per second
  (the median of three rounds after a warm-up, the systems' rounds interleaved), and the CPU
  each process used per answered step (from /proc: every process's user + system time);
- paced: residents pause 2-6 s before each step (reading a question and tapping takes people
  a few seconds): the latency residents see with that many answering at once.
Flood control is off in the sandbox for those, so the figures measure software.

Then the poster case, with Telegram's limits on (30 messages/s overall, 1/s to a chat): 300
residents open the poll within the same second, and the bench prints when the first question
reached them (one message each at 30/s puts the 285th at about 9.5 s).

    python bench/ingest.py [--residents 200] [--systems echo,sqlite,postgresql,webhook1,webhook2]
                           [--phases saturation,paced] [--poster 300] [--profile]

Besides the table it prints the paced latency by kind of step (/start, answer, comment,
submit), each worker's CPU with two, and PostgreSQL's CPU, so a tail or a scaling limit can
be placed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.processes import Process, free_port, wait_until  # noqa: E402
from sandbox import SandboxClient, SandboxUser  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.uow import Database  # noqa: E402
from surveys.campaigns.admin import create_campaign  # noqa: E402
from surveys.people.units import UnitRow, import_units  # noqa: E402
from surveys.questionnaire.loader import load_template  # noqa: E402

TOKEN = "123456:bench-token"
PYTHON = sys.executable
STEP_TIMEOUT = 30.0




@dataclass
class PhaseResult:
    system: str
    phase: str
    residents: int
    steps: int
    seconds: float
    latencies: dict[str, list[float]]  # seconds, by kind of step (/start, tap, comment...)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per process

    @property
    def rate(self) -> float:
        return self.steps / self.seconds if self.seconds else 0.0

    @property
    def cpu_per_step_ms(self) -> float:
        return 1000 * self.cpu.get("bot", float("nan")) / self.steps if self.steps else 0.0

    def pct(self, q: float, kind: str | None = None) -> float:
        """The q-quantile in milliseconds, of every step or of one kind."""
        chosen = self.latencies[kind] if kind is not None else [
            x for each in self.latencies.values() for x in each]
        if not chosen:
            return float("nan")
        ordered = sorted(chosen)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000





async def seed(db_url: str, codes: list[str]) -> None:
    await asyncio.to_thread(upgrade, db_url)
    db = Database.from_url(db_url)
    now = db.clock()
    async with db.transaction() as uow:
        await import_units(uow, [UnitRow("B1", "Bench Village", None, "village", 5000, 1)], "bench")
        survey = load_template("resident_satisfaction")
        for code in codes:
            await create_campaign(uow, survey=survey, unit_code="B1", code=code,
                                  opens_at=now - timedelta(minutes=1),
                                  closes_at=now + timedelta(days=1), now=now, actor="bench")
    await db.dispose()


async def reset_postgres(url: str) -> str | None:
    """Create (or empty) a database for the benchmark; None if PostgreSQL is not reachable."""
    parsed = make_url(url)
    dsn = dict(host=parsed.host or "127.0.0.1", port=parsed.port or 5432,
               user=parsed.username or "postgres", password=parsed.password)
    name = parsed.database or "civicpulse_bench"
    try:
        admin = await asyncpg.connect(database="postgres", **dsn)
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"PostgreSQL not reachable at {parsed.host}:{parsed.port}: {exc}; skipping it")
        return None
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return parsed.render_as_string(hide_password=False)


# --- residents -----------------------------------------------------------------------------

POLL = [("4", "2/5"), ("Yes", "3/5"), ("5", "4/5"), ("4", "5/5")]


async def pause(think: tuple[float, float], rng: random.Random) -> None:
    if think[1] > 0:
        await asyncio.sleep(rng.uniform(*think))


Latencies = dict[str, list[float]]


async def timed(latencies: Latencies, kind: str, action: Awaitable[object],
                waiting: Callable[[], Awaitable[object]]) -> None:
    started = time.perf_counter()
    await action
    await waiting()
    latencies.setdefault(kind, []).append(time.perf_counter() - started)


async def poll_resident(user: SandboxUser, code: str, think: tuple[float, float],
                        latencies: Latencies, rng: random.Random) -> int:
    await pause(think, rng)  # residents arrive spread out, not all in the same instant
    await timed(latencies, "/start", user.send(f"/start {code}"),
                lambda: user.wait_for_message("1/5", timeout=STEP_TIMEOUT))
    for button, expect in POLL:
        await pause(think, rng)
        await timed(latencies, "answer", user.tap(button),
                    lambda e=expect: user.wait_for_message(e, timeout=STEP_TIMEOUT))
    await pause(think, rng)
    await timed(latencies, "comment", user.send("Quick service, friendly staff. 服务很好"),
                lambda: user.wait_for_message("Your answers", timeout=STEP_TIMEOUT))
    await pause(think, rng)
    await timed(latencies, "submit", user.tap("✅ Submit"),
                lambda: user.wait_for_message("Thank you", timeout=STEP_TIMEOUT))
    return 7


async def echo_resident(user: SandboxUser, code: str, think: tuple[float, float],
                        latencies: Latencies, rng: random.Random) -> int:
    await pause(think, rng)  # residents arrive spread out, not all in the same instant
    await timed(latencies, "/start", user.send(f"/start {code}"),
                lambda: user.wait_for_message("echo: /start", timeout=STEP_TIMEOUT))
    for n, (button, _) in enumerate([("4", ""), ("1", ""), ("5", ""), ("4", "")], 1):
        await pause(think, rng)
        await timed(latencies, "answer", user.tap(button),
                    lambda k=n: user.wait_for_message(f"#{k}", timeout=STEP_TIMEOUT))
    await pause(think, rng)
    await timed(latencies, "comment", user.send("Quick service, friendly staff. 服务很好"),
                lambda: user.wait_for_message("echo: Quick", timeout=STEP_TIMEOUT))
    await pause(think, rng)
    await timed(latencies, "submit", user.tap("3"),
                lambda: user.wait_for_message("#5", timeout=STEP_TIMEOUT))
    return 7


Resident = Callable[[SandboxUser, str, tuple[float, float], Latencies, random.Random],
                    Awaitable[int]]


def quiet_collector() -> None:
    """The driver times every step: a full collection of its own (50-80 ms over what earlier
    phases left, measured) would count as the bot's latency. What exists now is left out of
    full collections, and young objects are collected less often, as in the bot and the
    sandbox."""
    gc.set_threshold(50_000, 20, 100)
    gc.collect()
    gc.freeze()


async def run_phase(client: SandboxClient, system: str, phase: str, resident: Resident,
                    residents: int, first_user: int, code: str,
                    think: tuple[float, float]) -> PhaseResult:
    users = [await client.user(first_user + i, f"Resident {i}") for i in range(residents)]
    latencies: Latencies = {}
    rng = random.Random(first_user)
    quiet_collector()
    started = time.perf_counter()
    steps = await asyncio.gather(*(resident(u, code, think, latencies, rng) for u in users))
    elapsed = time.perf_counter() - started
    return PhaseResult(system, phase, residents, sum(steps), elapsed, latencies)


async def first_questions(client: SandboxClient, residents: int, first_user: int, code: str
                          ) -> list[float]:
    """Everyone sends /start at once; seconds until each sees the first question."""
    users = [await client.user(first_user + i, f"Poster {i}") for i in range(residents)]

    async def one(user: SandboxUser) -> float:
        started = time.perf_counter()
        await user.send(f"/start {code}")
        await user.wait_for_message("1/5", timeout=120)
        return time.perf_counter() - started

    return list(await asyncio.gather(*(one(u) for u in users)))


# --- CPU ------------------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    """The process and its descendants (the workers under `run --workers`)."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        todo.extend(int(c) for c in children)
    return pids


def cpu_by_process(pid: int) -> dict[int, float]:
    """User + system CPU so far of the process and of each of its descendants."""
    found = {}
    for each in _tree(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[each] = (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (14, 15)
    return found


def postgres_cpu_seconds() -> float:
    """CPU so far of the PostgreSQL server on this machine: its live processes, and through
    the postmaster's children's time those that ended (a connection closed is a backend gone).
    The other systems' databases sit idle meanwhile."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, _, rest = text.partition("(")[2].rpartition(")")
        if name != "postgres":
            continue
        fields = rest.split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
        if not _is_postgres(int(fields[1])):  # the postmaster: add its ended children
            total += int(fields[13]) + int(fields[14])  # cutime, cstime
    return total / TICK


def _is_postgres(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "postgres"
    except OSError:
        return False


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process and its descendants so far."""
    return sum(cpu_by_process(pid).values())


# --- systems --------------------------------------------------------------------------------

ROUNDS = 3


class Stack:
    """One system under test: its own sandbox process and bot process (echo or CivicPulse)."""

    def __init__(self, system: str, db_url: str | None, log_dir: Path, workers: int = 0,
                 limits: bool = False, profile: bool = False) -> None:
        self.system = system
        self.workers = workers
        port = free_port()
        self.api = f"http://127.0.0.1:{port}"
        env = {**os.environ, "PTB_TIMEDELTA": "1"}
        self.sandbox = Process(f"sandbox-{system}", [PYTHON, "-m", "sandbox", "--port",
                                                     str(port), "--token", TOKEN,
                                                     *([] if limits else ["--no-limits"])],
                               env, log_dir / f"sandbox-{system}.log")
        self.codes = ["warmup", *(f"satur{n}" for n in range(1, ROUNDS + 1)), "paced", "poster"]
        self.db_url = db_url
        self.resident: Resident
        if db_url is None:
            self.bot = Process("echo", [PYTHON, "bench/echo_bot.py", self.api, TOKEN, "256"],
                               env, log_dir / "echo.log")
            self.resident = echo_resident
        else:
            config = log_dir / f"config-{system}.yaml"
            hook_port = free_port()
            # Without flood control in the sandbox the bot's own pacing is lifted as well;
            # with it, the bot paces itself as for Telegram (the shipped default).
            pace = "" if limits else "  max_messages_per_second: 100000\n"
            # Ten connections a process: the PostgreSQL systems' four bot processes stay
            # alive together, well under PostgreSQL's default of 100.
            config.write_text("bot:\n  concurrent_updates: 256\n  poll_timeout_s: 10\n"
                              f"{pace}database:\n  pool_size: 10\n"
                              f"web:\n  enabled: false\n  port: {hook_port}\n")
            bot_env = {**env, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": self.api,
                       "DATABASE_URL": db_url,
                       "CIVICPULSE_SECRET_KEY": "bench-secret-key-0123456789",
                       "CIVICPULSE_CONFIG": str(config)}
            args = [PYTHON, "-m", "bot.cli", "run"]
            if profile:  # the bot's CPU by function, in the log folder (one process only)
                args[1:3] = ["-m", "bench.profile_bot", str(log_dir / f"{system}.prof")]
            if workers:
                args += ["--webhook", f"http://127.0.0.1:{hook_port}/telegram/updates",
                         "--workers", str(workers)]
            self.bot = Process(f"bot-{system}", args, bot_env, log_dir / f"bot-{system}.log")
            self.resident = poll_resident
        self.client = SandboxClient(self.api)

    async def start(self) -> None:
        if self.db_url is not None:
            await seed(self.db_url, self.codes)
        await self.sandbox.start()
        await wait_until(lambda: _ok(self.client), f"the {self.system} sandbox")
        await self.bot.start()
        ready = _webhook_set if self.workers else _polling
        await wait_until(lambda: ready(self.client), f"{self.system} to take updates")
        # Warm up (connections, caches, first code paths); not reported.
        await self.phase("warmup", 20, 5_000, self.codes[0], (0.0, 0.0))

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far: the sandbox, the bot (all its workers; with several, each
        worker too, the parent that watches them left out)."""
        assert self.sandbox.proc is not None and self.bot.proc is not None
        bot = cpu_by_process(self.bot.proc.pid)
        found = {"sandbox": cpu_seconds(self.sandbox.proc.pid), "bot": sum(bot.values())}
        if self.db_url is not None and self.db_url.startswith("postgresql"):
            found["postgres"] = postgres_cpu_seconds()
        if self.workers > 1:
            workers = sorted(pid for pid in bot if pid != self.bot.proc.pid)
            found.update({f"worker{n}": bot[pid] for n, pid in enumerate(workers, 1)})
        return found

    async def phase(self, name: str, residents: int, first_user: int, code: str,
                    think: tuple[float, float]) -> PhaseResult:
        before, driver = self.cpu(), time.process_time()
        result = await run_phase(self.client, self.system, name, self.resident, residents,
                                 first_user, code, think)
        after = self.cpu()
        result.cpu = {k: after[k] - before.get(k, 0.0) for k in after}
        result.cpu["driver"] = time.process_time() - driver
        return result

    async def stop(self) -> None:
        await self.client.close()
        await self.bot.stop()
        await self.sandbox.stop()


async def measure(stacks: list[Stack], residents: int, think: tuple[float, float],
                  phases: set[str]) -> list[PhaseResult]:
    """Saturation rounds interleaved across systems, then one paced phase per system.

    Interleaving makes slow drifts of the machine (this is a shared VM) hit every system
    alike, so the ratios hold even when absolute figures wander.
    """
    rounds: dict[str, list[PhaseResult]] = {s.system: [] for s in stacks}
    for n in range(1, ROUNDS + 1 if "saturation" in phases else 1):
        for stack in stacks:
            rounds[stack.system].append(
                await stack.phase("saturation", residents, 10_000 * n, stack.codes[n], (0, 0)))
    results = []
    for stack in stacks:
        if not rounds[stack.system]:
            continue
        ordered = sorted(rounds[stack.system], key=lambda r: r.rate)
        results.append(ordered[len(ordered) // 2])
        print(f"{stack.system:<12} saturation rounds: "
              + ", ".join(f"{r.rate:.0f}" for r in rounds[stack.system]) + " steps/s")
    for stack in stacks if "paced" in phases else []:
        results.append(await stack.phase("paced", residents, 50_000, stack.codes[-2], think))
    return results


async def _ok(client: SandboxClient) -> bool:
    await client.stats()
    return True


async def _polling(client: SandboxClient) -> bool:
    return int((await client.stats())["calls"].get("getUpdates", 0)) > 0


async def _webhook_set(client: SandboxClient) -> bool:
    return int((await client.stats())["calls"].get("setWebhook", 0)) > 0


def report(results: list[PhaseResult], poster: list[float] | None) -> None:
    print(f"\n{'system':<12}{'phase':<12}{'residents':>10}{'steps':>8}{'steps/s':>10}"
          f"{'p50 ms':>9}{'p99 ms':>9}{'bot CPU/step':>14}  CPU, share of one core")
    for r in results:
        shares = ", ".join(f"{k} {v / r.seconds:.0%}" for k, v in r.cpu.items())
        print(f"{r.system:<12}{r.phase:<12}{r.residents:>10}{r.steps:>8}{r.rate:>10.1f}"
              f"{r.pct(0.5):>9.1f}{r.pct(0.99):>9.1f}{r.cpu_per_step_ms:>11.1f} ms  {shares}")
    saturated = {r.system: r for r in results if r.phase == "saturation"}
    echo = saturated.get("echo")
    print()
    for r in saturated.values():
        if r.system == "echo":
            continue
        line = f"{r.system}: {r.rate:.0f} steps/s, {r.cpu_per_step_ms:.1f} ms of bot CPU a step"
        if echo is not None:
            line += f" = {r.rate / echo.rate:.2f}x the echo bot ({echo.rate:.0f}/s)"
        print(line + "; target CPU <= 7 ms a step")
    one, two = saturated.get("webhook1"), saturated.get("webhook2")
    if one is not None and echo is not None:
        print(f"webhook, 1 worker: {one.rate / echo.rate:.2f}x the echo bot; target >= 1.0x")
    if one is not None and two is not None:
        print(f"webhook, 2 workers: {two.rate / one.rate:.2f}x 1 worker; target >= 1.3x")
        # Every process of the run shares the cores: with one worker's CPU a step (bot,
        # sandbox, PostgreSQL, driver), all the cores busy give at most this many steps/s.
        cores = os.cpu_count() or 1
        total_ms = sum(one.cpu.values()) * 1000 / one.steps
        bound = cores * 1000 / total_ms
        print(f"  the {cores} cores' bound at one worker's CPU a step (all processes "
              f"{total_ms:.1f} ms): {bound:.0f} steps/s = {bound / one.rate:.2f}x 1 worker; "
              f"2 workers reach {two.rate / bound:.0%} of it")
    for r in results:
        if r.system != "echo" and r.phase == "paced":
            print(f"{r.system}: p99 {r.pct(0.99):.1f} ms with {r.residents} paced residents; "
                  "target < 50 ms")
    paced = [r for r in results if r.phase == "paced"]
    if paced:
        print("\npaced latency by kind of step, p50 / p99 ms:")
        kinds = list(paced[0].latencies)
        print(f"{'system':<12}" + "".join(f"{k:>18}" for k in kinds))
        for r in paced:
            print(f"{r.system:<12}" + "".join(
                f"{f'{r.pct(0.5, k):.0f} / {r.pct(0.99, k):.0f}':>18}" for k in kinds))
    if poster:
        ordered = sorted(poster)
        p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
        print(f"poster: {len(ordered)} residents starting at once, Telegram's limits on: first "
              f"question after p50 {p(0.5):.1f} s, p95 {p(0.95):.1f} s, last {ordered[-1]:.1f} s;"
              " target p95 < 10.5 s")
    print("\nA step is one resident action end to end (update in, answer stored, next question"
          " out); each resident makes 7: /start, 5 answers, Submit.")


SYSTEMS = "echo,sqlite,postgresql,webhook1,webhook2"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--systems", default=SYSTEMS,
                        help=f"which to measure, of {SYSTEMS}")
    parser.add_argument("--poster", type=int, default=300,
                        help="residents opening the poll at once with flood limits on (0: skip)")
    parser.add_argument("--pg-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/civicpulse_bench"))
    parser.add_argument("--profile", action="store_true",
                        help="write a CPU profile of each CivicPulse bot (one worker) to the logs")
    parser.add_argument("--phases", default="saturation,paced",
                        help="which phases to run, of saturation,paced (the poster: --poster)")
    parser.add_argument("--think", default="2,6",
                        help="pause before each step in the paced phase, seconds (low,high)")
    args = parser.parse_args()
    low, high = (float(x) for x in args.think.split(","))
    log_dir = Path(tempfile.mkdtemp(prefix="civicpulse-bench-"))
    print(f"{args.residents} residents; logs in {log_dir}; {os.cpu_count()} CPUs")
    stacks: list[Stack] = []
    for system in [s for s in args.systems.split(",") if s]:
        if system == "echo":
            stacks.append(Stack("echo", None, log_dir))
        elif system == "sqlite":
            stacks.append(Stack(system, f"sqlite+aiosqlite:///{log_dir / 'bench.db'}", log_dir,
                                profile=args.profile))
        elif system in ("postgresql", "webhook1", "webhook2"):
            url = await reset_postgres(_database(args.pg_url, system))
            if url is not None:
                workers = {"postgresql": 0, "webhook1": 1, "webhook2": 2}[system]
                stacks.append(Stack(system, url, log_dir, workers=workers,
                                    profile=args.profile and workers < 2))
        else:
            raise SystemExit(f"unknown system {system}; choose from {SYSTEMS}")
    poster: list[float] | None = None
    try:
        for stack in stacks:
            await stack.start()
        results = await measure(stacks, args.residents, (low, high),
                                set(args.phases.split(",")))
        for stack in stacks:
            await stack.stop()
        stacks = []
        if args.poster:
            poster = await measure_poster(args, log_dir)
    finally:
        for stack in stacks:
            await stack.stop()
    report(results, poster)


def _database(url: str, system: str) -> str:
    """Each PostgreSQL system its own database (civicpulse_bench_webhook1...)."""
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{system}").render_as_string(False)


async def measure_poster(args: argparse.Namespace, log_dir: Path) -> list[float] | None:
    """300 residents at once with Telegram's limits on, one webhook worker on PostgreSQL."""
    url = await reset_postgres(_database(args.pg_url, "poster"))
    if url is None:
        return None
    stack = Stack("poster", url, log_dir, workers=1, limits=True)
    try:
        await stack.start()
        await asyncio.sleep(5)  # the warm-up's messages leave the chat limits' buckets
        return await first_questions(stack.client, args.poster, 90_000, stack.codes[-1])
    finally:
        await stack.stop()


if __name__ == "__main__":
    asyncio.run(main())
