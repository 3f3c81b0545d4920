"""How much a cadre's reporting costs them: taps, typing and seconds, through the sandbox.

Three processes, as in production: the sandbox Bot API (Telegram's flood limits on), the bot
(`civicpulse run` with a token, polling the sandbox, on a fresh SQLite database) and this
driver, which plays the cadre with the sandbox's client API. It links the cadre with a real
one-time invite link from `civicpulse cadre invite`, then measures three journeys:

1. a progress note with one photo: `/note`, a photo with the note as its caption, tap the task;
2. the same without `/note` (a captioned photo starts a note by itself);
3. the shipped self-assessment, delivered through the outbox by a campaign for cadres, from
   the invitation's Start button to Submit.

For each journey it counts what the cadre does (taps, messages, characters typed) and measures
the bot's part: from each action to the reply the cadre waits for. A person's part cannot be
measured by a program, so it is estimated with the keystroke-level model, with the operators
printed below (Card, Moran and Newell's 1.35 s "mental act" before each action; touch taps and
phone typing at about 36 words a minute; reading at 240 words a minute over the texts and
buttons the bot really sent, less the cadre's own words it echoes). Two estimates: the first
time, reading every word; and, for notes, routine use, once the prompts are familiar,
scanning only the buttons. The total is the measured bot time plus that estimate. Targets
(issue 4): under 30 s for a note and under 2 minutes for the self-assessment.

    .venv/bin/python bench/cadre_effort.py
"""

from __future__ import annotations

import argparse
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
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.processes import ROOT, Process, free_port, wait_until
from sandbox.client import Message, SandboxClient, SandboxUser

PYTHON = sys.executable
TOKEN = "424242:cadre-effort-bench"
CADRE_ID = 5_100_001

# Keystroke-level model operators, in seconds.
MENTAL = 1.35  # deciding what to do next (Card, Moran & Newell)
TAP = 0.5  # moving a thumb to a button and tapping it
TYPE_PER_CHAR = 0.33  # phone typing, about 36 words a minute
READ_PER_WORD = 0.25  # reading, 240 words a minute
PICK_PHOTO = 3 * TAP + MENTAL  # open the attachment menu, choose the photo, send

UNITS = """\
units:
  - {code: RIVER, name: Riverside County, type: county, latitude: 30.0, longitude: 120.0,
     radius_km: 40}
  - {code: RIVER-N, name: North Township, parent: RIVER, type: township, latitude: 30.08,
     longitude: 120.02, radius_km: 10}
  - {code: RIVER-N-WILLOW, name: Willow Village, parent: RIVER-N, type: village,
     latitude: 30.1, longitude: 120.05, radius_km: 2, population: 1450}
"""
CAPTION = "Culvert on the east road cleared"


@dataclass
class Step:
    action: str  # what the cadre does
    taps: int = 0
    messages: int = 0
    typed: int = 0  # characters
    photos: int = 0
    bot_s: float = 0.0  # measured: from the action to the reply waited for
    read_words: int = 0  # words of the reply read the first time (text and buttons)
    scan_words: int = 0  # words still read once the prompts are familiar (the buttons)

    def _acting_s(self) -> float:
        actions = self.taps + self.messages + self.photos
        return (actions * MENTAL + self.taps * TAP + self.messages * TAP
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
    steps: list[Step] = field(default_factory=list)

    def total(self, attr: str) -> float:
        return sum(getattr(step, attr) for step in self.steps)

    def report(self) -> str:
        bot = self.total("bot_s")
        lines = [f"\n{self.name}"]
        for step in self.steps:
            routine = f", ~{step.routine_s:5.1f} s routine" if self.routine else ""
            lines.append(f"  {step.action:<40} bot {step.bot_s:5.2f} s   person ~"
                         f"{step.human_s:5.1f} s first time{routine}")
        lines.append(
            f"  = {int(self.total('taps'))} taps, {int(self.total('messages'))} typed "
            f"message(s) ({int(self.total('typed'))} characters), {int(self.total('photos'))} "
            f"photo(s); bot {bot:.2f} s measured")
        estimates = [("first time", "human_s")] + ([("routine", "routine_s")]
                                                   if self.routine else [])
        for label, attr in estimates:
            total = bot + self.total(attr)
            verdict = "meets" if total < self.target_s else "MISSES"
            lines.append(f"  {label:>10}: bot {bot:.2f} s + person ~{self.total(attr):.1f} s "
                         f"= ~{total:.1f} s ({verdict} the {self.target_s:g} s target)")
        return "\n".join(lines)


def buttons(message: Message) -> int:
    return sum(len(re.findall(r"\w+", label)) for label in message.button_texts)


def words(message: Message, own: str = "") -> int:
    """Words the cadre reads: the message and its buttons, less what they typed themselves."""
    count = len(re.findall(r"\w+", message.body)) + sum(
        len(re.findall(r"\w+", label)) for label in message.button_texts)
    if own and own in message.body:
        count -= len(re.findall(r"\w+", own))
    return count


def phone_photo(seed: int = 7) -> bytes:
    """A 12-megapixel-class photo as a phone sends it: a noisy 1600x1200 JPEG (about 1 MB)."""
    rng = random.Random(seed)
    image = Image.frombytes("RGB", (1600, 1200), rng.randbytes(1600 * 1200 * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


class Cli:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(self, *args: str) -> str:
        done = subprocess.run([PYTHON, "-m", "bot.cli", *args], env=self.env, cwd=ROOT,
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"civicpulse {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout


# A person never acts twice within a second; without this pause the driver itself would trip
# Telegram's one-message-a-second flood limit per chat and measure that instead of the bot.
PAUSE_S = 1.0


async def timed(user: SandboxUser, act: asyncio.Future[object] | object,
                wait_for: str) -> tuple[float, Message]:
    await asyncio.sleep(PAUSE_S)
    started = time.monotonic()
    await act  # type: ignore[misc]
    reply = await user.wait_for_message(wait_for, timeout=30)
    return time.monotonic() - started, reply


async def tap(user: SandboxUser, text: str, wait_for: str, action: str | None = None) -> Step:
    seconds, reply = await timed(user, user.tap(text), wait_for)
    return Step(action or f"tap {text!r}", taps=1, bot_s=seconds, read_words=words(reply),
                scan_words=buttons(reply))


async def note_journey(user: SandboxUser, photo: bytes, with_command: bool) -> Journey:
    name = ("Progress note with one photo: /note, captioned photo, task" if with_command
            else "Progress note with one photo, shortcut: captioned photo, task")
    journey = Journey(name, 30)
    if with_command:
        seconds, reply = await timed(user, user.send("/note"), "Progress note")
        journey.steps.append(Step("type /note and send", messages=1, typed=len("/note"),
                                  bot_s=seconds, read_words=words(reply),
                                  scan_words=buttons(reply)))
    await asyncio.sleep(PAUSE_S)
    started = time.monotonic()
    await user.send_photo(photo, caption=CAPTION, filename="IMG_2041.jpg")
    while True:  # the draft's prompt with the task buttons
        reply = await user.wait_for_message("Photo added", timeout=30)
        if reply.buttons:
            break
    journey.steps.append(Step(f"pick a photo, caption it ({len(CAPTION)} chars)", photos=1,
                              typed=len(CAPTION), bot_s=time.monotonic() - started,
                              read_words=words(reply, own=CAPTION),
                              scan_words=buttons(reply)))
    journey.steps.append(await tap(user, "Road repair", "Saved note #", "tap the key task"))
    return journey


async def self_assessment_journey(user: SandboxUser) -> Journey:
    journey = Journey("Self-assessment (shipped questionnaire, 6 questions)", 120, routine=False)
    invitation = await user.wait_for_message("Self-assessment", timeout=90)
    await asyncio.sleep(PAUSE_S)
    started = time.monotonic()
    await user.tap("▶ Start")
    first = await user.wait_for_message("How would you rate", timeout=30)
    journey.steps.append(Step("read the invitation, tap Start", taps=1,
                              bot_s=time.monotonic() - started,
                              read_words=words(invitation) + words(first),
                              scan_words=buttons(invitation) + buttons(first)))
    journey.steps.append(await tap(user, "4", "How many tasks", "rate progress on key tasks"))
    seconds, reply = await timed(user, user.send("12"), "held your work back")
    journey.steps.append(Step("type the number of tasks done", messages=1, typed=2,
                              bot_s=seconds, read_words=words(reply)))
    journey.steps.append(await tap(user, "Too many reports, forms and meetings",
                                   "Would training help", "choose the main obstacle"))
    journey.steps.append(await tap(user, "Yes", "Which topics", "training would help: Yes"))
    journey.steps.append(await tap(user, "☐ Digital tools", "Which topics", "tick a topic"))
    journey.steps.append(await tap(user, "Done ✓", "Anything else", "Done with topics"))
    journey.steps.append(await tap(user, "Skip ▶", "Your answers", "skip the optional comment"))
    journey.steps.append(await tap(user, "✅ Submit", "Your self-assessment", "Submit"))
    return journey


async def ok(base: str) -> bool:
    async with aiohttp.ClientSession() as session, session.get(f"{base}/sandbox/info") as r:
        return r.status == 200


async def main(keep: bool) -> None:
    work = Path(tempfile.mkdtemp(prefix="cadre-effort-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = work / "config.yaml"
    config.write_text("bot:\n  poll_timeout_s: 10\nbroadcast:\n  resync_interval_s: 1\n")
    (work / "units.yaml").write_text(UNITS)
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": base,
           "DATABASE_URL": f"sqlite+aiosqlite:///{work / 'bench.db'}",
           "CIVICPULSE_SECRET_KEY": "bench-secret-key-0123456789", "CIVICPULSE_CONFIG": str(config),
           "CIVICPULSE_VAR_DIR": str(work / "var"), "PTB_TIMEDELTA": "1"}
    cli = Cli(env)
    cli("db", "upgrade")
    cli("units", "import", str(work / "units.yaml"))
    invited = cli("cadre", "invite", "--name", "Li Wei", "--unit", "RIVER-N-WILLOW",
                  "--position", "Village head", "--task", "Road repair", "--task",
                  "Water supply", "--task", "Waste collection")
    payload = re.search(r"start=(cadre-[A-Za-z0-9_-]+)", invited)
    assert payload is not None, invited
    sandbox = Process("sandbox", [PYTHON, "-m", "sandbox", "--port", str(port), "--token", TOKEN],
                      env, work / "sandbox.log")
    bot = Process("bot", [PYTHON, "-m", "bot.cli", "run"], env, work / "bot.log")
    photo = phone_photo()
    print(f"cadre effort benchmark (work folder {work}); photo {len(photo) / 1e6:.1f} MB JPEG")
    print(f"person model: {MENTAL} s to decide each action, {TAP} s a tap, {TYPE_PER_CHAR} s a "
          f"typed character, {PICK_PHOTO:.2f} s to pick and send a photo, {READ_PER_WORD} s a "
          "word read")
    await sandbox.start()
    try:
        await wait_until(lambda: ok(base), "the sandbox")
        await bot.start()
        async with SandboxClient(base) as client:
            cadre = await client.user(CADRE_ID, "Li Wei", language_code="en")
            await cadre.send(f"/start {payload.group(1)}")
            await cadre.wait_for_message("Li Wei", timeout=60)  # the bot polls once it is up
            journeys = [await note_journey(cadre, photo, with_command=True),
                        await note_journey(cadre, photo, with_command=False)]
            await asyncio.to_thread(
                cli, "campaign", "create", "--survey",
                str(ROOT / "surveys" / "templates" / "cadre_self_assessment.yaml"),
                "--unit", "RIVER-N-WILLOW", "--code", "self-2026-11", "--audience", "cadres",
                "--closes", "7d")
            journeys.append(await self_assessment_journey(cadre))
        for journey in journeys:
            print(journey.report())
    finally:
        await bot.stop()
        await sandbox.stop()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the work folder and logs")
    asyncio.run(main(parser.parse_args().keep))
