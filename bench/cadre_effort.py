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
(issue 4): under 30 s for a note and under 2 minutes for the self-assessment. The model,
the journeys' tables and the stage are shared with bench/case_effort.py (bench/effort.py).

    .venv/bin/python bench/cadre_effort.py
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.effort import (
    PAUSE_S,
    Journey,
    Stage,
    Step,
    announce,
    buttons,
    invite_cadre,
    link_cadre,
    phone_photo,
    tap,
    timed,
    words,
)
from bench.processes import ROOT
from sandbox.client import SandboxClient, SandboxUser

TOKEN = "424242:cadre-effort-bench"
CADRE_ID = 5_100_001

CAPTION = "Culvert on the east road cleared"


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


async def main(keep: bool) -> None:
    stage = Stage("cadre-effort-", TOKEN, keep=keep)
    cli = stage.cli
    payload = invite_cadre(stage, ["Road repair", "Water supply", "Waste collection"])
    photo = phone_photo()
    announce("cadre effort", stage, photo)
    async with stage, SandboxClient(stage.base) as client:
        cadre = await link_cadre(client, CADRE_ID, payload)
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the work folder and logs")
    asyncio.run(main(parser.parse_args().keep))
