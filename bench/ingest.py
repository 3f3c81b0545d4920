"""Ingest benchmark: simulated residents answering the shipped poll through the sandbox.

Three processes, as in production: the sandbox (standing in for Telegram), the bot
(`civicpulse run` with a token, polling the sandbox), and this driver acting as residents
through the sandbox's client API. Every step is end to end: a Telegram update goes in, the
answer is stored, the next question comes back.

Two phases per system:
- saturation: residents act as fast as they can (no pause): the most steps per second
  (the median of three rounds after a warm-up, the systems' rounds interleaved);
- paced: residents pause 2-6 s before each step (reading a question and tapping takes people
  a few seconds): the latency residents see with that many answering at once.

The same driver runs against a bare echo bot (bench/echo_bot.py) on the same sandbox, whose
saturation throughput is the ceiling. Flood control is off in the sandbox so the figures
measure software, not Telegram's policy.

    python bench/ingest.py [--residents 200] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
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
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.steps / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
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


async def timed(latencies: list[float], action: Awaitable[object],
                waiting: Callable[[], Awaitable[object]]) -> None:
    started = time.perf_counter()
    await action
    await waiting()
    latencies.append(time.perf_counter() - started)


async def poll_resident(user: SandboxUser, code: str, think: tuple[float, float],
                        latencies: list[float], rng: random.Random) -> int:
    await pause(think, rng)  # residents arrive spread out, not all in the same instant
    await timed(latencies, user.send(f"/start {code}"),
                lambda: user.wait_for_message("1/5", timeout=STEP_TIMEOUT))
    for button, expect in POLL:
        await pause(think, rng)
        await timed(latencies, user.tap(button),
                    lambda e=expect: user.wait_for_message(e, timeout=STEP_TIMEOUT))
    await pause(think, rng)
    await timed(latencies, user.send("Quick service, friendly staff. 服务很好"),
                lambda: user.wait_for_message("Your answers", timeout=STEP_TIMEOUT))
    await pause(think, rng)
    await timed(latencies, user.tap("✅ Submit"),
                lambda: user.wait_for_message("Thank you", timeout=STEP_TIMEOUT))
    return 7


async def echo_resident(user: SandboxUser, code: str, think: tuple[float, float],
                        latencies: list[float], rng: random.Random) -> int:
    await pause(think, rng)  # residents arrive spread out, not all in the same instant
    await timed(latencies, user.send(f"/start {code}"),
                lambda: user.wait_for_message("echo: /start", timeout=STEP_TIMEOUT))
    for n, (button, _) in enumerate([("4", ""), ("1", ""), ("5", ""), ("4", "")], 1):
        await pause(think, rng)
        await timed(latencies, user.tap(button),
                    lambda k=n: user.wait_for_message(f"#{k}", timeout=STEP_TIMEOUT))
    await pause(think, rng)
    await timed(latencies, user.send("Quick service, friendly staff. 服务很好"),
                lambda: user.wait_for_message("echo: Quick", timeout=STEP_TIMEOUT))
    await pause(think, rng)
    await timed(latencies, user.tap("3"),
                lambda: user.wait_for_message("#5", timeout=STEP_TIMEOUT))
    return 7


Resident = Callable[[SandboxUser, str, tuple[float, float], list[float], random.Random],
                    Awaitable[int]]


async def run_phase(client: SandboxClient, system: str, phase: str, resident: Resident,
                    residents: int, first_user: int, code: str,
                    think: tuple[float, float]) -> PhaseResult:
    users = [await client.user(first_user + i, f"Resident {i}") for i in range(residents)]
    latencies: list[float] = []
    rng = random.Random(first_user)
    started = time.perf_counter()
    steps = await asyncio.gather(*(resident(u, code, think, latencies, rng) for u in users))
    elapsed = time.perf_counter() - started
    return PhaseResult(system, phase, residents, sum(steps), elapsed, latencies)


# --- systems --------------------------------------------------------------------------------

ROUNDS = 3


class Stack:
    """One system under test: its own sandbox process and bot process (echo or CivicPulse)."""

    def __init__(self, system: str, db_url: str | None, log_dir: Path) -> None:
        self.system = system
        port = free_port()
        self.api = f"http://127.0.0.1:{port}"
        env = {**os.environ, "PTB_TIMEDELTA": "1"}
        self.sandbox = Process(f"sandbox-{system}", [PYTHON, "-m", "sandbox", "--port",
                                                     str(port), "--token", TOKEN, "--no-limits"],
                               env, log_dir / f"sandbox-{system}.log")
        self.codes = ["warmup", *(f"satur{n}" for n in range(1, ROUNDS + 1)), "paced"]
        self.db_url = db_url
        self.resident: Resident
        if db_url is None:
            self.bot = Process("echo", [PYTHON, "bench/echo_bot.py", self.api, TOKEN, "256"],
                               env, log_dir / "echo.log")
            self.resident = echo_resident
        else:
            config = log_dir / f"config-{system}.yaml"
            # Sandbox flood control is off here, so the bot's own pacing is lifted as well.
            config.write_text("bot:\n  concurrent_updates: 256\n  poll_timeout_s: 10\n"
                              "  max_messages_per_second: 100000\n"
                              "database:\n  pool_size: 20\n")
            bot_env = {**env, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": self.api,
                       "DATABASE_URL": db_url,
                       "CIVICPULSE_SECRET_KEY": "bench-secret-key-0123456789",
                       "CIVICPULSE_CONFIG": str(config)}
            self.bot = Process(f"bot-{system}", [PYTHON, "-m", "bot.cli", "run"], bot_env,
                               log_dir / f"bot-{system}.log")
            self.resident = poll_resident
        self.client = SandboxClient(self.api)

    async def start(self) -> None:
        if self.db_url is not None:
            await seed(self.db_url, self.codes)
        await self.sandbox.start()
        await wait_until(lambda: _ok(self.client), f"the {self.system} sandbox")
        await self.bot.start()
        await wait_until(lambda: _polling(self.client), f"{self.system} to poll")
        # Warm up (connections, caches, first code paths); not reported.
        await self.phase("warmup", 20, 5_000, self.codes[0], (0.0, 0.0))

    async def phase(self, name: str, residents: int, first_user: int, code: str,
                    think: tuple[float, float]) -> PhaseResult:
        return await run_phase(self.client, self.system, name, self.resident, residents,
                               first_user, code, think)

    async def stop(self) -> None:
        await self.client.close()
        await self.bot.stop()
        await self.sandbox.stop()


async def measure(stacks: list[Stack], residents: int,
                  think: tuple[float, float]) -> list[PhaseResult]:
    """Saturation rounds interleaved across systems, then one paced phase per system.

    Interleaving makes slow drifts of the machine (this is a shared VM) hit every system
    alike, so the ratios hold even when absolute figures wander.
    """
    rounds: dict[str, list[PhaseResult]] = {s.system: [] for s in stacks}
    for n in range(1, ROUNDS + 1):
        for stack in stacks:
            rounds[stack.system].append(
                await stack.phase("saturation", residents, 10_000 * n, stack.codes[n], (0, 0)))
    results = []
    for stack in stacks:
        ordered = sorted(rounds[stack.system], key=lambda r: r.rate)
        results.append(ordered[len(ordered) // 2])
        print(f"{stack.system:<12} saturation rounds: "
              + ", ".join(f"{r.rate:.0f}" for r in rounds[stack.system]) + " steps/s")
    for stack in stacks:
        results.append(await stack.phase("paced", residents, 50_000, stack.codes[-1], think))
    return results


async def _ok(client: SandboxClient) -> bool:
    await client.stats()
    return True


async def _polling(client: SandboxClient) -> bool:
    return int((await client.stats())["calls"].get("getUpdates", 0)) > 0


def report(results: list[PhaseResult]) -> None:
    print(f"\n{'system':<12}{'phase':<12}{'residents':>10}{'steps':>8}{'steps/s':>10}"
          f"{'p50 ms':>9}{'p99 ms':>9}")
    for r in results:
        print(f"{r.system:<12}{r.phase:<12}{r.residents:>10}{r.steps:>8}{r.rate:>10.1f}"
              f"{r.pct(0.5):>9.1f}{r.pct(0.99):>9.1f}")
    ceiling = next((r.rate for r in results if r.system == "echo" and r.phase == "saturation"), 0)
    print()
    for r in results:
        if r.system != "echo" and r.phase == "saturation" and ceiling:
            print(f"{r.system}: {r.rate:.0f} steps/s = {100 * r.rate / ceiling:.0f}% of the echo "
                  f"ceiling ({ceiling:.0f}/s); target >= 50% on PostgreSQL")
    for r in results:
        if r.system != "echo" and r.phase == "paced":
            print(f"{r.system}: p99 {r.pct(0.99):.1f} ms with {r.residents} paced residents; "
                  "target < 100 ms")
    print("\nA step is one resident action end to end (update in, answer stored, next question"
          " out); each resident makes 7: /start, 5 answers, Submit.")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/civicpulse_bench"))
    parser.add_argument("--think", default="2,6",
                        help="pause before each step in the paced phase, seconds (low,high)")
    args = parser.parse_args()
    low, high = (float(x) for x in args.think.split(","))
    log_dir = Path(tempfile.mkdtemp(prefix="civicpulse-bench-"))
    print(f"{args.residents} residents; logs in {log_dir}; {os.cpu_count()} CPUs")
    stacks = [Stack("echo", None, log_dir)]
    for backend in [b for b in args.backends.split(",") if b and b != "none"]:
        if backend == "sqlite":
            url: str | None = f"sqlite+aiosqlite:///{log_dir / 'bench.db'}"
        elif backend == "postgresql":
            url = await reset_postgres(args.pg_url)
            if url is None:
                continue
        else:
            raise SystemExit(f"unknown backend {backend}")
        stacks.append(Stack(backend, url, log_dir))
    try:
        for stack in stacks:
            await stack.start()
        results = await measure(stacks, args.residents, (low, high))
    finally:
        for stack in stacks:
            await stack.stop()
    report(results)


if __name__ == "__main__":
    asyncio.run(main())
