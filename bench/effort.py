"""What the effort benches share (bench/cadre_effort.py, bench/case_effort.py): the
keystroke-level model of a person's part, journeys and their tables, a person's actions timed
through the sandbox, and the stage they run on (the sandbox and `civicpulse run` as child
processes, the command line, a work folder).

A person's part cannot be measured by a program, so it is estimated with the keystroke-level
model (Card, Moran and Newell): a 1.35 s "mental act" before each action, touch taps and phone
typing at about 36 words a minute, reading at 240 words a minute. Two estimates: the first
time, reading every word the bot sent; and routine use, once the prompts are familiar,
scanning only the buttons. The total is the bot's measured part plus the estimate.
"""

from __future__ import annotations

import asyncio
import io
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import aiohttp
from PIL import Image

from bench.processes import ROOT, Process, free_port, wait_until
from sandbox.client import Message, SandboxClient, SandboxUser

PYTHON = sys.executable

# Keystroke-level model operators, in seconds.
MENTAL = 1.35  # deciding what to do next (Card, Moran & Newell)
TAP = 0.5  # moving a thumb to a button and tapping it
TYPE_PER_CHAR = 0.33  # phone typing, about 36 words a minute
READ_PER_WORD = 0.25  # reading, 240 words a minute
PICK_PHOTO = 3 * TAP + MENTAL  # open the attachment menu, choose the photo, send

# The benches' unit tree: a county, a township, a village (with a centre and a radius).
UNITS = """\
units:
  - {code: RIVER, name: Riverside County, type: county, latitude: 30.0, longitude: 120.0,
     radius_km: 40}
  - {code: RIVER-N, name: North Township, parent: RIVER, type: township, latitude: 30.08,
     longitude: 120.02, radius_km: 10}
  - {code: RIVER-N-WILLOW, name: Willow Village, parent: RIVER-N, type: village,
     latitude: 30.1, longitude: 120.05, radius_km: 2, population: 1450}
"""

FIRST_TIME, ROUTINE = "first time", "routine"

# A person never acts twice within a second; without this pause the driver itself would trip
# Telegram's one-message-a-second flood limit per chat and measure that instead of the bot.
PAUSE_S = 1.0


def model_line() -> str:
    return (f"person model: {MENTAL} s to decide each action, {TAP} s a tap, {TYPE_PER_CHAR} s "
            f"a typed character, {PICK_PHOTO:.2f} s to pick and send a photo, {READ_PER_WORD} s "
            "a word read")


@dataclass
class Step:
    action: str  # what the person does
    taps: int = 0
    messages: int = 0
    typed: int = 0  # characters
    photos: int = 0
    bot_s: float = 0.0  # measured: from the action to the reply waited for
    read_words: int = 0  # words of the reply read the first time (text and buttons)
    scan_words: int = 0  # words still read once the prompts are familiar (the buttons)
    # What was read, for --show: (words, line) for each new line and each message's buttons.
    read: list[tuple[int, str]] = field(default_factory=list)

    @property
    def actions(self) -> int:
        return self.taps + self.messages + self.photos

    def _acting_s(self) -> float:
        return (self.actions * MENTAL + self.taps * TAP + self.messages * TAP
                + self.typed * TYPE_PER_CHAR + self.photos * (PICK_PHOTO - MENTAL))

    @property
    def human_s(self) -> float:
        """The first time: every word of every reply is read."""
        return self._acting_s() + self.read_words * READ_PER_WORD

    @property
    def routine_s(self) -> float:
        """Once the prompts are familiar: only the buttons are scanned."""
        return self._acting_s() + self.scan_words * READ_PER_WORD


@dataclass
class Journey:
    name: str
    target_s: float
    # Whether "routine" use means anything: a questionnaire is read afresh each period.
    routine: bool = True
    # The estimate the target is judged by (the exit status of a bench that checks targets);
    # None: shown beside the others for what it costs, not judged.
    judged: str | None = FIRST_TIME
    steps: list[Step] = field(default_factory=list)

    def total(self, attr: str) -> float:
        return sum(getattr(step, attr) for step in self.steps)

    def estimates(self) -> list[tuple[str, float]]:
        """(label, total seconds: the bot's measured part plus the person's estimate)."""
        bot = self.total("bot_s")
        found = [(FIRST_TIME, bot + self.total("human_s"))]
        if self.routine:
            found.append((ROUTINE, bot + self.total("routine_s")))
        return found

    def meets(self) -> bool:
        """Whether the estimate it is judged by is under the target (one not judged: True)."""
        return self.judged is None or dict(self.estimates())[self.judged] < self.target_s

    def report(self, show: bool = False) -> str:
        """The journey step by step; with ``show``, each step's words read, line by line."""
        bot = self.total("bot_s")
        lines = [f"\n{self.name}"]
        for step in self.steps:
            routine = f", ~{step.routine_s:5.1f} s routine" if self.routine else ""
            lines.append(f"  {step.action:<40} bot {step.bot_s:5.2f} s   person ~"
                         f"{step.human_s:5.1f} s first time{routine}")
            if show:
                lines += [f"      {count:3} | {text}" for count, text in step.read]
        lines.append(
            f"  = {int(self.total('taps'))} taps, {int(self.total('messages'))} typed "
            f"message(s) ({int(self.total('typed'))} characters), {int(self.total('photos'))} "
            f"photo(s); bot {bot:.2f} s measured")
        for label, total in self.estimates():
            verdict = "meets" if total < self.target_s else "MISSES"
            person = total - bot
            lines.append(f"  {label:>10}: bot {bot:.2f} s + person ~{person:.1f} s "
                         f"= ~{total:.1f} s ({verdict} the {self.target_s:g} s target)")
        return "\n".join(lines)


def summary(journeys: Sequence[Journey]) -> str:
    """One row per journey: what the person does, the bot's part, both estimates, the target
    and whether the estimate it is judged by meets it."""
    width = max(len(journey.name) for journey in journeys)
    head = (f"{'journey':<{width}} actions taps typed messages chars photos  bot s "
            "first time  routine  target  verdict")
    rows = [head, "-" * len(head)]
    for journey in journeys:
        totals = dict(journey.estimates())
        routine = f"{totals[ROUTINE]:6.1f} s" if ROUTINE in totals else f"{'–':>8}"
        verdict = ("not judged" if journey.judged is None
                   else f"{'pass' if journey.meets() else 'FAIL'} ({journey.judged})")
        rows.append(
            f"{journey.name:<{width}} {int(journey.total('actions')):>7} "
            f"{int(journey.total('taps')):>4} {int(journey.total('messages')):>14} "
            f"{int(journey.total('typed')):>5} {int(journey.total('photos')):>6} "
            f"{journey.total('bot_s'):6.2f} {totals[FIRST_TIME]:8.1f} s {routine} "
            f"{journey.target_s:5g} s  {verdict}")
    return "\n".join(rows)


# --- what a person reads --------------------------------------------------------------------


def _count(text: str) -> int:
    return len(re.findall(r"\w+", text))


def buttons(message: Message) -> int:
    return sum(_count(label) for label in message.button_texts)


def words(message: Message, own: str = "") -> int:
    """Words the person reads: the message and its buttons, less what they typed themselves."""
    count = _count(message.body) + buttons(message)
    if own and own in message.body:
        count -= _count(own)
    return count


@dataclass
class Reader:
    """What a person has read so far in one journey. A line they read before (a prompt that
    shows the draft again, a message edited in place) is recognised at a glance, not read
    again; buttons are always scanned, to find the one to tap."""

    seen: set[str] = field(default_factory=set)
    # The lines and buttons counted by the last read, with their words (for --show).
    last: list[tuple[int, str]] = field(default_factory=list)

    def read(self, messages: Sequence[Message], texts: Sequence[str] = (),
             own: str = "") -> tuple[int, int]:
        """(words read the first time, words scanned in routine use) of the messages and
        other ``texts`` (toasts) that arrived."""
        first = scan = 0
        self.last = []
        for text in [*(m.body for m in messages), *texts]:
            for line in (raw.strip() for raw in text.splitlines()):
                if not line or line in self.seen:
                    continue
                self.seen.add(line)
                count = _count(line) - (_count(own) if own and own in line else 0)
                first += count
                self.last.append((count, line))
        for message in messages:
            first += buttons(message)
            scan += buttons(message)
            if message.button_texts:
                self.last.append((buttons(message), "[" + "] [".join(message.button_texts)
                                  + "]"))
        return first, scan


async def arrived(user: SandboxUser, after_seq: int,
                  reply: Message) -> tuple[list[Message], list[str]]:
    """The bot's messages (new or edited) and toasts in the user's chat after ``after_seq``
    up to ``reply``: everything an action brought."""
    messages, toasts = [], []
    for event in await user.chat(after_seq):
        if event.seq > reply.seq:
            break
        if event.is_bot_message and event.message is not None:
            messages.append(event.message)
        elif event.answer is not None and event.answer.text:
            toasts.append(event.answer.text)
    return messages, toasts


# --- acting through the sandbox -------------------------------------------------------------


async def timed(user: SandboxUser, act: Awaitable[object],
                wait_for: str) -> tuple[float, Message]:
    await asyncio.sleep(PAUSE_S)
    started = time.monotonic()
    await act
    reply = await user.wait_for_message(wait_for, timeout=30)
    return time.monotonic() - started, reply


async def tap(user: SandboxUser, text: str, wait_for: str, action: str | None = None) -> Step:
    seconds, reply = await timed(user, user.tap(text), wait_for)
    return Step(action or f"tap {text!r}", taps=1, bot_s=seconds, read_words=words(reply),
                scan_words=buttons(reply))


def phone_photo(seed: int = 7) -> bytes:
    """A 12-megapixel-class photo as a phone sends it: a noisy 1600x1200 JPEG (about 1 MB)."""
    rng = random.Random(seed)
    image = Image.frombytes("RGB", (1600, 1200), rng.randbytes(1600 * 1200 * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


# --- the stage ------------------------------------------------------------------------------


class Cli:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(self, *args: str) -> str:
        done = subprocess.run([PYTHON, "-m", "bot.cli", *args], env=self.env, cwd=ROOT,
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"civicpulse {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout


async def _sandbox_up(base: str) -> bool:
    async with aiohttp.ClientSession() as session, session.get(f"{base}/sandbox/info") as r:
        return r.status == 200


class Stage:
    """A fresh world for one bench run: a work folder with a SQLite database, config and logs;
    the sandbox Bot API (Telegram's flood limits on) and `civicpulse run` polling it, each a
    child process (``async with stage:`` runs them); and the command line on the same
    database. The work folder goes at the end unless ``keep``."""

    def __init__(self, prefix: str, token: str, *, keep: bool = False) -> None:
        self.work = Path(tempfile.mkdtemp(prefix=prefix))
        self.keep = keep
        self.base = f"http://127.0.0.1:{free_port()}"
        config = self.work / "config.yaml"
        config.write_text("bot:\n  poll_timeout_s: 10\nbroadcast:\n  resync_interval_s: 1\n")
        self.env = {**os.environ, "TELEGRAM_BOT_TOKEN": token, "TELEGRAM_API_URL": self.base,
                    "DATABASE_URL": f"sqlite+aiosqlite:///{self.work / 'bench.db'}",
                    "CIVICPULSE_SECRET_KEY": "bench-secret-key-0123456789",
                    "CIVICPULSE_CONFIG": str(config),
                    "CIVICPULSE_VAR_DIR": str(self.work / "var"), "PTB_TIMEDELTA": "1"}
        self.cli = Cli(self.env)
        port = self.base.rsplit(":", 1)[1]
        self.sandbox = Process("sandbox", [PYTHON, "-m", "sandbox", "--port", port, "--token",
                                           token], self.env, self.work / "sandbox.log")
        self.bot = Process("bot", [PYTHON, "-m", "bot.cli", "run"], self.env,
                           self.work / "bot.log")

    async def __aenter__(self) -> Stage:
        await self.sandbox.start()
        try:
            await wait_until(lambda: _sandbox_up(self.base), "the sandbox")
            await self.bot.start()
        except BaseException:
            await self.sandbox.stop()
            raise
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        await self.bot.stop()
        await self.sandbox.stop()
        if self.keep or error is not None:
            print(f"logs and database kept in {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)


# --- the cadre both benches link ------------------------------------------------------------


def invite_cadre(stage: Stage, tasks: Sequence[str]) -> str:
    """The stage's database made, the bench's units imported and the cadre Li Wei invited to
    Willow Village with these key tasks; returns the start payload of their one-time link."""
    cli = stage.cli
    cli("db", "upgrade")
    (stage.work / "units.yaml").write_text(UNITS)
    cli("units", "import", str(stage.work / "units.yaml"))
    invited = cli("cadre", "invite", "--name", "Li Wei", "--unit", "RIVER-N-WILLOW",
                  "--position", "Village head", *(a for task in tasks for a in ("--task", task)))
    payload = re.search(r"start=(cadre-[A-Za-z0-9_-]+)", invited)
    assert payload is not None, invited
    return payload.group(1)


def announce(what: str, stage: Stage, photo: bytes) -> None:
    """The bench's first lines: what it measures, where its work folder is, the model."""
    print(f"{what} benchmark (work folder {stage.work}); photo {len(photo) / 1e6:.1f} MB JPEG")
    print(model_line())


async def link_cadre(client: SandboxClient, user_id: int, payload: str) -> SandboxUser:
    """The invited cadre opens their link (not timed: once in a cadre's life)."""
    cadre = await client.user(user_id, "Li Wei", language_code="en")
    await cadre.send(f"/start {payload}")
    await cadre.wait_for_message("Li Wei", timeout=60)  # the bot polls once it is up
    return cadre
