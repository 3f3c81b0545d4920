"""Benchmark: the dashboard's pages on the 1,000,000-response bench database (PostgreSQL).

1. Seeds what ``bench/appraisal.py`` seeds (2,000 units, one cadre per village, 1,000,000
   completed responses, ~100,000 comments), then, through the real CLI in its own processes:
   ``sentiment backfill``, ``admin add`` (county admins, township admins, an auditor),
   ``appraisal run --by`` an admin, ``appraisal publish --by`` the same admin and
   ``appraisal approve --by`` the auditor (four eyes on, as shipped: the approval step is
   taken, not configured away). ``--reuse`` keeps a database seeded by an earlier run.
2. Starts the sandbox and the real bot (``python -m bot.cli run`` with a token, polling the
   sandbox), whose process serves the dashboard, as in production.
3. Signs readers in the real way: each opens ``/tg`` and posts ``initData`` signed with the
   bench's bot token, as a Mini App opened from Telegram does; the session cookie it gets
   back is its browser's. The viewers are a mix: county admins, township admins, cadres.
4. For each page (``PAGES``), 20 concurrent readers fetch it over and over; the time to first
   byte (request sent to status line and headers in) is recorded. A static file served by
   the same app, measured in the same run, is the baseline: the machine is shared and noisy.
   Each page is also read by one reader alone first ("alone p50"): its own cost, without the
   queue that 20 readers asking back to back make in front of one process.

Target: every page's p95 under 200 ms. Run:
    .venv/bin/python bench/dashboard.py                # seeds afresh (about 5 minutes)
    .venv/bin/python bench/dashboard.py --reuse        # the database of an earlier run
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.appraisal import PERIOD, cli, reset_postgres, seed_postgres  # noqa: E402
from bench.processes import Process, free_port, wait_until  # noqa: E402
from sandbox.webapp import init_data  # noqa: E402
from storage.models import Role  # noqa: E402

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/civicpulse_bench_dashboard"
TOKEN = "424242:dashboard-bench-token"
SECRET = "bench-secret-0123456789"  # bench/appraisal.py's, which its cli() sets
PYTHON = str(ROOT / ".venv/bin/python")
TARGET_MS = 200.0
# The people the bench adds (Telegram ids); the seeded cadres' are 10,000,000 + village index.
COUNTY_ADMINS = (900_001, 900_002)
TOWNSHIP_ADMINS = {900_101: "T00", 900_102: "T01", 900_103: "T02", 900_104: "T03"}
AUDITOR = 900_201
CADRE_IDS = 10_000_000  # + the village's index, as bench/appraisal.py seeds them
COUNTY, TOWNSHIP, CADRE, AUDIT = "county admin", "township admin", "cadre", "auditor"


@dataclass
class Reader:
    """A signed-in browser: its viewer kind, its cookie jar, and the addresses it found by
    following the pages' own links (a cadre's result, a drill-down, a result in a ranking)."""

    kind: str
    telegram_id: int
    session: aiohttp.ClientSession
    found: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    """A page to measure: who reads it and the address each reader asks for (None: this
    reader has no such page, e.g. a cadre without a result)."""

    name: str
    kinds: tuple[str, ...]
    path: Callable[[Reader], str | None]


ALL = (COUNTY, TOWNSHIP, CADRE, AUDIT)
ADMINS = (COUNTY, TOWNSHIP)
# One line per page; the first is the baseline. ``found`` keys are filled by discover().
PAGES: list[Page] = [
    Page("baseline: /static/dashboard.css", ALL, lambda r: "/static/dashboard.css"),
    Page("home", ALL, lambda r: "/"),
    Page("result: a cadre's own", (CADRE,), lambda r: r.found.get("own_result")),
    Page("result: opened from a ranking", ADMINS, lambda r: r.found.get("ranked_result")),
    Page("ranking (whole scope)", ADMINS, lambda r: "/ranking"),
    Page("ranking: drill-down one level", ADMINS, lambda r: r.found.get("drill_down")),
    Page("public page of a township", ALL, lambda r: "/p/t01"),
    Page("public page of the county", ALL, lambda r: "/p/c"),
    Page("campaigns (county: 2,000)", ADMINS, lambda r: "/campaigns"),
    Page("a campaign's progress", ADMINS, lambda r: r.found.get("campaign")),
    Page("cases", (*ADMINS, CADRE), lambda r: "/cases"),
    Page("cadres", ADMINS, lambda r: "/cadres"),
    Page("anomaly flags", (AUDIT,), lambda r: f"/audit/flags?period={PERIOD}"),
    Page("appeals", (AUDIT,), lambda r: "/audit/appeals"),
    Page("audit log", (AUDIT,), lambda r: "/audit/log"),
]


# --- the database ---------------------------------------------------------------------------


def prepare(url: str, args: argparse.Namespace) -> None:
    """Seed, appraise and publish with approval, all through the real CLI but the seeding."""
    started = time.perf_counter()
    cli(url, "db", "upgrade")
    asyncio.run(seed_postgres(url, args))
    print(f"seeded {args.responses:,} responses, {args.units:,} units in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    seconds, _mb, _out = cli(url, "sentiment", "backfill")
    print(f"sentiment backfill: {seconds:.0f} s", flush=True)
    for tid in COUNTY_ADMINS:
        cli(url, "admin", "add", "--telegram-id", str(tid), "--name", f"County admin {tid}")
    for tid, code in TOWNSHIP_ADMINS.items():
        cli(url, "admin", "add", "--telegram-id", str(tid), "--unit", code,
            "--name", f"Township admin {code}")
    cli(url, "admin", "add", "--telegram-id", str(AUDITOR), "--role", Role.AUDITOR.value,
        "--name", "Bench auditor")
    admin = str(COUNTY_ADMINS[0])
    seconds, _mb, _out = cli(url, "appraisal", "run", "--period", PERIOD, "--by", admin)
    print(f"appraisal run: {seconds:.0f} s", flush=True)
    _s, _mb, out = cli(url, "appraisal", "publish", "--period", PERIOD, "--by", admin)
    print(out, flush=True)
    _s, _mb, out = cli(url, "appraisal", "approve", "--period", PERIOD, "--by", str(AUDITOR))
    print(out, flush=True)


async def shipped_survey(url: str) -> None:
    """The seeded campaigns' survey as the shipped template stores it: the appraisal bench
    seeds a stub (the appraisal reads answers, not the questionnaire), and a campaign's page
    shows the survey's title and questions. Idempotent, so ``--reuse`` mends older seeds."""
    from sqlalchemy import update

    from storage.db import create_engine
    from storage.models import SurveyVersion
    from surveys.questionnaire.loader import load_template, survey_checksum

    survey = load_template("resident_satisfaction")
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(update(SurveyVersion).where(SurveyVersion.id == 1).values(
                definition=survey.model_dump(mode="json", by_alias=True, exclude_none=True),
                checksum=survey_checksum(survey)))
    finally:
        await engine.dispose()


# --- the bot --------------------------------------------------------------------------------


def bot_config(path: Path, web_port: int) -> Path:
    """The shipped config.yaml (indicators, privacy minimum) with the bench's web port."""
    from bot.settings import _Loader

    data = yaml.load((ROOT / "config.yaml").read_text(encoding="utf-8"), _Loader) or {}
    data.setdefault("web", {})
    data["web"].update({"enabled": True, "host": "127.0.0.1", "port": web_port,
                        "public_url": None})
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return path


class Servers:
    """The sandbox and the bot, each its own process, logs under ``log_dir``."""

    def __init__(self, url: str, log_dir: Path) -> None:
        self.api_port, self.web_port = free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.web_port}"
        env = dict(os.environ)
        self.sandbox = Process("sandbox", [PYTHON, "-m", "sandbox", "--port",
                                           str(self.api_port), "--token", TOKEN],
                               env, log_dir / "sandbox.log")
        config = bot_config(log_dir / "config.yaml", self.web_port)
        self.bot_log = log_dir / "bot.log"
        self.bot = Process("bot", [PYTHON, "-m", "bot.cli", "run"],
                           {**env, "TELEGRAM_BOT_TOKEN": TOKEN,
                            "TELEGRAM_API_URL": f"http://127.0.0.1:{self.api_port}",
                            "DATABASE_URL": url, "CIVICPULSE_SECRET_KEY": SECRET,
                            "CIVICPULSE_CONFIG": str(config),
                            "CIVICPULSE_VAR_DIR": str(log_dir / "var")},
                           self.bot_log)

    async def start(self, http: aiohttp.ClientSession) -> None:
        await self.sandbox.start()

        async def api_up() -> bool:
            async with http.get(f"http://127.0.0.1:{self.api_port}/bot{TOKEN}/getMe") as r:
                return r.status == 200

        await wait_until(api_up, "the sandbox")
        await self.bot.start()

        async def web_up() -> bool:
            assert self.bot.proc is not None
            if self.bot.proc.returncode is not None:
                raise RuntimeError(f"the bot exited; see {self.bot_log}")
            async with http.get(f"{self.base}/static/dashboard.css") as r:
                return r.status == 200

        await wait_until(web_up, "the bot's web server", limit=60)

    async def settled(self, limit_s: float = 300) -> None:
        """Wait for the bot's start-up round of command menus (one setMyCommands per role
        holder, about 2,000 here, paced at Telegram's 30 a second): it is work of a restart,
        not of the pages, and would otherwise share the process with the readers."""
        started = time.perf_counter()

        async def menus_set() -> bool:
            return "command menus updated" in self.bot_log.read_text(errors="replace")

        await wait_until(menus_set, "the bot's start-up menus", limit=limit_s)
        print(f"the bot's start-up menus were set after "
              f"{time.perf_counter() - started:.0f} s more", flush=True)

    async def stop(self) -> None:
        await self.bot.stop()
        await self.sandbox.stop()


# --- readers --------------------------------------------------------------------------------

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_RESULT = re.compile(r'href="(/result/[0-9]+)"')
_DRILL = re.compile(r'href="(/ranking/[^"/?]+\?unit=[0-9]+)"')
_CAMPAIGN = re.compile(r'href="(/campaign/[^"/?]+)"')


async def sign_in(base: str, kind: str, telegram_id: int) -> Reader:
    """A browser opening the Mini App: /tg, then its initData posted back (with the page's
    CSRF token), which starts a session."""
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.get(f"{base}/tg?next=/") as r:
        page = await r.text()
    match = _CSRF.search(page)
    if match is None:
        raise RuntimeError("no CSRF token on /tg")
    user = {"id": telegram_id, "first_name": kind.title(), "language_code": "en"}
    form = {"init_data": init_data(user, TOKEN), "next": "/", "csrf": match.group(1)}
    async with session.post(f"{base}/tg", data=form, allow_redirects=False) as r:
        if r.status != 303:
            raise RuntimeError(f"{kind} {telegram_id} not signed in: {r.status} "
                               f"{(await r.text())[:300]}")
    return Reader(kind, telegram_id, session)


async def discover(base: str, reader: Reader) -> None:
    """Find the reader's addresses by following links, as a person clicks them."""
    async with reader.session.get(f"{base}/") as r:
        home = await r.text()
        if r.status != 200:
            raise RuntimeError(f"{reader.kind} home: {r.status}")
    if reader.kind in (CADRE, AUDIT):
        if found := _RESULT.search(home):
            reader.found["own_result"] = found.group(1)
        return
    async with reader.session.get(f"{base}/ranking") as r:
        ranking = await r.text()
    results = _RESULT.findall(ranking)
    if results:
        reader.found["ranked_result"] = results[len(results) // 2]
    if drills := _DRILL.findall(ranking):
        reader.found["drill_down"] = drills[0]
    async with reader.session.get(f"{base}/campaigns") as r:
        if campaigns := _CAMPAIGN.findall(await r.text()):
            reader.found["campaign"] = campaigns[len(campaigns) // 2]


async def readers(base: str, units: int, pool: list[Reader]) -> None:
    """Sign in two county admins, four township admins, an auditor and ten cadres (of
    villages in ten townships) into ``pool``."""
    villages = units - 1 - min(40, max(1, units // 50))
    people = ([(COUNTY, tid) for tid in COUNTY_ADMINS]
              + [(TOWNSHIP, tid) for tid in TOWNSHIP_ADMINS] + [(AUDIT, AUDITOR)]
              + [(CADRE, CADRE_IDS + i) for i in range(0, villages, max(1, villages // 50))][:10])
    for kind, tid in people:
        pool.append(await sign_in(base, kind, tid))
    for reader in pool:
        await discover(base, reader)


# --- measuring ------------------------------------------------------------------------------


@dataclass
class Figures:
    page: str
    times_ms: list[float]
    errors: int
    viewers: str
    alone_ms: float = float("nan")  # p50 with one reader alone

    def pct(self, q: float) -> float:
        if not self.times_ms:
            return float("nan")
        ordered = sorted(self.times_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(base: str, page: Page, pool: list[Reader], concurrency: int,
                  per_reader: int, limit_s: float) -> Figures:
    """``concurrency`` readers at once, each a session of a viewer who has the page, each
    asking ``per_reader`` times in a row (or until ``limit_s``); time to first byte."""
    eligible = [(r, p) for r in pool if r.kind in page.kinds and (p := page.path(r))]
    if not eligible:
        return Figures(page.name, [], 0, "nobody has it")
    times: list[float] = []
    errors = 0
    deadline = time.perf_counter() + limit_s

    async def one(worker: int) -> None:
        nonlocal errors
        reader, path = eligible[worker % len(eligible)]
        for _ in range(per_reader):
            if time.perf_counter() > deadline:
                return
            started = time.perf_counter()
            async with reader.session.get(f"{base}{path}", allow_redirects=False) as r:
                first_byte = time.perf_counter()  # status line and headers in
                await r.read()
                if r.status != 200:
                    errors += 1
                    continue
            times.append((first_byte - started) * 1000)

    await asyncio.gather(*(one(w) for w in range(concurrency)))
    kinds = sorted({r.kind for r, _p in eligible})
    return Figures(page.name, times, errors, ", ".join(kinds))


def report(rows: list[Figures]) -> None:
    print()
    print(f"{'page':34} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  "
          f"target p95 < {TARGET_MS:.0f} ms  {'alone p50':>9}   viewers")
    for f in rows:
        verdict = "–" if f.page.startswith("baseline") else (
            "met" if f.pct(0.95) < TARGET_MS else "MISSED")
        errors = f" ({f.errors} errors)" if f.errors else ""
        print(f"{f.page:34} {len(f.times_ms):>8} {f.pct(0.5):>8.1f} {f.pct(0.95):>8.1f} "
              f"{max(f.times_ms, default=float('nan')):>8.1f}  {verdict:21} "
              f"{f.alone_ms:>9.1f}   {f.viewers}{errors}")


async def bench(url: str, args: argparse.Namespace, log_dir: Path) -> list[Figures]:
    servers = Servers(url, log_dir)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        await servers.start(http)
        pool: list[Reader] = []
        try:
            await readers(servers.base, args.units, pool)
            print(f"signed in {len(pool)} readers; the bot's log: {servers.bot_log}",
                  flush=True)
            await servers.settled()
            # Warm up: the bot's start-up work (menus of every role holder) settles, caches
            # and connections fill.
            for page in PAGES:
                await measure(servers.base, page, pool, args.concurrency, 2, 30)
            await asyncio.sleep(args.settle)
            rows = []
            for page in PAGES:
                # One reader alone first: the page's own cost, without the queue of 20.
                alone = await measure(servers.base, page, pool, 1, args.requests, args.limit)
                rows.append(await measure(servers.base, page, pool, args.concurrency,
                                          args.requests, args.limit))
                rows[-1].alone_ms = alone.pct(0.5)
                print(f"  {page.name}: done", flush=True)
            return rows
        finally:
            for reader in pool:
                await reader.session.close()
            await servers.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", default=PG_URL)
    parser.add_argument("--reuse", action="store_true",
                        help="keep the database an earlier run seeded and published")
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--units", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--requests", type=int, default=15,
                        help="requests per reader and page")
    parser.add_argument("--limit", type=float, default=60,
                        help="seconds at most per page (a slow page gets fewer requests)")
    parser.add_argument("--settle", type=float, default=5)
    parser.add_argument("--pages", default="",
                        help="measure only the pages whose names contain one of these "
                             "comma-separated words (the baseline always)")
    args = parser.parse_args()
    if args.pages:
        words = [w.strip() for w in args.pages.split(",") if w.strip()]
        PAGES[1:] = [p for p in PAGES[1:] if any(w in p.name for w in words)]
    url = args.postgres_url
    if not args.reuse:
        if not asyncio.run(reset_postgres(url)):
            return 1
        prepare(url, args)
    else:
        cli(url, "db", "upgrade")  # a database seeded before the newest migrations
    asyncio.run(shipped_survey(url))
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        log_dir = Path(tmp)
        try:
            rows = asyncio.run(bench(url, args, log_dir))
        except Exception:
            print((log_dir / "bot.log").read_text(errors="replace")[-3000:], file=sys.stderr)
            raise
    report(rows)
    missed = [f.page for f in rows[1:] if not f.pct(0.95) < TARGET_MS]
    print(f"target: every page's p95 under {TARGET_MS:.0f} ms with {args.concurrency} "
          f"concurrent readers: {'met' if not missed else 'MISSED by ' + ', '.join(missed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
