"""The case relay: hands each timeline entry of a case to whom it must reach, and runs the
cases' supervision every minute.

Use cases never send: they add timeline entries (surveys.cases.timeline) and the handler
wakes the relay after the commit (``deps.cases_changed``). Each round claims undelivered
entries, works out their recipients and texts in one short transaction, sends (one chat's
messages in order, the chats concurrently) and records the outcome in another:

- sent to everyone: delivered. A crash between the send and the record sends it again at the
  next start (at least once; within one process a retried entry skips the chats it reached,
  and the photos a chat already got);
- 403 from a resident (they blocked the bot): their seal loses the chat and the handler is
  told they can no longer be reached; from a staff member: logged, nothing more to do;
- 429: the relay pauses for Telegram's ``retry_after`` and the entry waits, losing nothing;
- a network failure: retried with a growing pause, given up (logged) after
  ``broadcast.max_attempts`` rounds.

An entry's photos (a resolution's, a resident's reply's) are uploaded from the evidence store
before its text, which keeps the buttons. A photo that cannot be sent (its file is gone,
Telegram refuses it) is left out with a warning and the text goes all the same; flood control
or a blocked chat stop a photo as they stop a text; a network failure retries the photos with
the text, except in the entry's last attempt, when the text goes without them rather than
not at all.

It runs in the process that leads (bot/background.py), like the outbox sender, and also
polls every few seconds for entries left by the command line or by a crash, and for
residents' entries whose hold has ended (surveys/cases/holding.py): those of one window are
handed out together, in the order of their cases' random ids.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import KW_ONLY, dataclass, field
from datetime import timedelta
from functools import partial

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from analysis.themes import DEFAULT_TOPICS, Topics
from bot.loops import WakeableLoop
from bot.settings import BroadcastSection
from handlers.relay_render import photo_caption, relay_message
from storage.clock import Clock
from storage.db import DatabaseUnavailable
from storage.evidence import EvidenceStore
from storage.uow import Database, UnitOfWork
from surveys.campaigns.delivery import Outcome
from surveys.cases import comments, drafts, relaying, supervision
from surveys.cases.relaying import Parcel, Recipient, Settled
from surveys.cases.rules import CaseRules
from surveys.respondents.anonymity import DEFAULT_RESOLUTION

log = logging.getLogger(__name__)

# How often the relay looks for entries nobody woke it for (the CLI's, a crash's).
POLL_S = 3.0
# How often supervision runs (poll comments moved into cases, reminders, escalations,
# time-outs, the batch audit, seals).
SWEEP_S = 60.0
# Entries claimed per round.
BATCH = 50
# A network failure is retried after 2, 4, 8... seconds, at most this long.
MAX_BACKOFF_S = 120.0


@dataclass(eq=False)
class CaseRelay(WakeableLoop):
    db: Database
    bot: Bot
    _: KW_ONLY
    secret: bytes
    rules: CaseRules
    settings: BroadcastSection
    clock: Clock
    time_resolution: timedelta = DEFAULT_RESOLUTION
    topics: Topics = field(default_factory=lambda: DEFAULT_TOPICS)
    default_language: str = "en"
    # Where the photos sent with entries are kept; None: entries go without their photos.
    evidence: EvidenceStore | None = None
    poll_s: float = POLL_S
    # None: supervision runs only when :meth:`sweep` is called. The end-to-end tests that
    # freeze the clock run it themselves at the point of their story it belongs to: a sweep
    # every minute of real time would land wherever a loaded machine has got the test to.
    sweep_s: float | None = SWEEP_S
    _pause_until: float = field(default=0.0, init=False)
    _next_sweep: float = field(default=0.0, init=False)
    # Entry id -> chats it reached in an earlier round that did not finish it.
    _reached: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set), init=False)
    # Entry id -> when to try it again after a network failure (monotonic seconds).
    _retry_at: dict[int, float] = field(default_factory=dict, init=False)
    # Entry id -> chat -> how many of its photos the chat got, so that a text which has to
    # wait (flood control, a network failure) does not bring its photos twice.
    _photos_sent: dict[int, dict[int, int]] = field(
        default_factory=lambda: defaultdict(dict), init=False)

    async def start(self) -> None:
        self._next_sweep = 0.0
        self._begin("case-relay")

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                pause = self._pause_until - time.monotonic()
                if pause > 0:
                    # Telegram asked the bot to wait: sending now would only extend it.
                    await self._idle(pause)
                    continue
                if self.sweep_s is not None and time.monotonic() >= self._next_sweep:
                    self._next_sweep = time.monotonic() + self.sweep_s
                    await self.sweep()
                if not await self.deliver():
                    await self._idle(self.poll_s)
            except asyncio.CancelledError:
                raise
            except DatabaseUnavailable as exc:
                log.warning("case relay: database unavailable, retrying: %s", exc)
                await asyncio.sleep(1)
            except Exception:  # a bug must not stop the relay; log and go on
                log.exception("case relay round failed")
                await asyncio.sleep(1)

    # --- supervision ---------------------------------------------------------------------------

    async def sweep(self) -> None:
        """One round of supervision, each step in its own transaction (one failing does not
        hold up the others); wakes the relay for what it recorded."""
        now = self.clock()
        steps: list[tuple[str, str, Callable[[UnitOfWork], Awaitable[int]]]] = [
            ("moved comments", "%d poll comment(s) moved into their cases",
             partial(comments.move, secret=self.secret)),
            ("reminders", "%d case(s) reminded of their deadline",
             partial(supervision.remind, rules=self.rules, now=now)),
            ("escalations", "%d overdue case(s) escalated",
             partial(supervision.escalate_overdue, now=now)),
            ("answer time-outs", "%d case(s) closed as not confirmed",
             partial(supervision.time_out_answers, now=now)),
            ("the batch audit", "%d resident entries audited",
             partial(supervision.audit_residents, now=now, resolution=self.time_resolution)),
            ("seals", "%d seal(s) of closed cases dropped", supervision.release_seals),
            ("expired drafts", "%d reply or comment draft(s) expired",
             partial(drafts.drop_expired, secret=self.secret, now=now,
                     after=self.rules.draft_expires_after)),
            ("stale seals", "%d seal(s) of cases closed over a day ago dropped",
             partial(supervision.drop_stale_seals, now=now)),
        ]
        for name, done, step in steps:
            try:
                async with self.db.transaction() as uow:
                    count = await step(uow)
            except DatabaseUnavailable:
                raise
            except Exception:  # the other steps still run
                log.exception("case supervision: %s failed", name)
                continue
            if count:
                log.info("case supervision: " + done, count)
                self._wake.set()

    # --- delivery ------------------------------------------------------------------------------

    async def deliver(self) -> bool:
        """One round: claim, send, record. Returns whether there was anything to deliver."""
        parcels = await self._claim()
        if not parcels:
            return False
        settled = await self._send_all(parcels)
        given_up = await self._record(settled)
        for parcel in given_up:
            log.error("case relay: gave up timeline entry %s (%s of case %s) after %d "
                      "failed attempts", parcel.entry.id, parcel.entry.kind, parcel.case.number,
                      self.settings.max_attempts)
        self._forget([s.parcel for s in settled if s.done] + given_up)
        return True

    async def _record(self, settled: list[Settled]) -> list[Parcel]:
        """Record the round, waiting for the database if it is away: what was sent must not
        be sent again for want of the record."""
        delay = 0.5
        while True:
            try:
                async with self.db.transaction() as uow:
                    return await relaying.record(uow, self.secret, settled, self.clock(),
                                                 max_attempts=self.settings.max_attempts)
            except DatabaseUnavailable as exc:
                log.warning("case relay: database unavailable, recording again in %.0fs: %s",
                            delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)

    async def _claim(self) -> list[Parcel]:
        now = time.monotonic()
        waiting = [entry for entry, at in self._retry_at.items() if at > now]
        async with self.db.transaction() as uow:
            # Residents' entries still held (surveys.cases.holding) wait for their release,
            # which the next poll after it finds: the state is theirs, in the database.
            entries = await uow.cases.undelivered(BATCH, exclude=waiting, now=self.clock())
            return await relaying.plan(uow, self.secret, entries,
                                       max_attempts=self.settings.max_attempts,
                                       default_language=self.default_language,
                                       topics=self.topics)

    async def _send_all(self, parcels: list[Parcel]) -> list[Settled]:
        """Send every parcel's messages: one chat's in the order of the entries, the chats
        side by side; a chat that met flood control gets nothing more this round."""
        by_chat: dict[int, list[tuple[Parcel, Recipient]]] = defaultdict(list)
        for parcel in parcels:
            for recipient in parcel.recipients:
                if recipient.chat_id not in self._reached[parcel.entry.id]:
                    by_chat[recipient.chat_id].append((parcel, recipient))
        outcomes: dict[tuple[int, int], Outcome] = {}

        async def send_chat(queue: list[tuple[Parcel, Recipient]]) -> None:
            for parcel, recipient in queue:
                outcome = await self._send(parcel, recipient)
                outcomes[parcel.entry.id, recipient.chat_id] = outcome
                if outcome == Outcome.FLOOD:
                    break

        await asyncio.gather(*(send_chat(queue) for queue in by_chat.values()))
        return [self._settle(parcel, outcomes) for parcel in parcels]

    def _settle(self, parcel: Parcel, outcomes: dict[tuple[int, int], Outcome]) -> Settled:
        entry_id = parcel.entry.id
        reached = self._reached[entry_id]
        waiting = failed = False
        blocked = []
        for recipient in parcel.recipients:
            if recipient.chat_id in reached:
                continue
            outcome = outcomes.get((entry_id, recipient.chat_id))
            if outcome == Outcome.SENT:
                reached.add(recipient.chat_id)
            elif outcome == Outcome.BLOCKED and recipient.resident:
                blocked.append(recipient)
            elif outcome in (None, Outcome.FLOOD):
                waiting = True  # not tried this round: the chat met flood control
            elif outcome == Outcome.NETWORK:
                failed = waiting = True
        if failed:
            attempt = parcel.entry.attempts + 1
            self._retry_at[entry_id] = time.monotonic() + min(2.0 ** attempt, MAX_BACKOFF_S)
        return Settled(parcel, done=not waiting, failed=failed, blocked=tuple(blocked))

    def _forget(self, parcels: list[Parcel]) -> None:
        for parcel in parcels:
            self._reached.pop(parcel.entry.id, None)
            self._retry_at.pop(parcel.entry.id, None)
            self._photos_sent.pop(parcel.entry.id, None)

    async def _send(self, parcel: Parcel, recipient: Recipient) -> Outcome:
        entry = parcel.entry
        try:
            await self._send_photos(parcel, recipient)
            message = relay_message(parcel, recipient, self.rules)
            await self.bot.send_message(recipient.chat_id, message.text,
                                        parse_mode=ParseMode.HTML, reply_markup=message.keyboard)
        except Forbidden:
            if not recipient.resident:
                log.warning("case relay: %s of case %s: person %s has blocked the bot",
                            entry.kind, parcel.case.number, recipient.person_id)
            return Outcome.BLOCKED
        except RetryAfter as exc:
            wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            self._pause_until = max(self._pause_until, time.monotonic() + seconds)
            return Outcome.FLOOD
        except BadRequest as exc:
            log.warning("case relay: %s of case %s refused: %s", entry.kind,
                        parcel.case.number, exc)
            return Outcome.REFUSED
        except (NetworkError, TelegramError) as exc:
            log.warning("case relay: %s of case %s not sent (will retry): %s", entry.kind,
                        parcel.case.number, exc)
            return Outcome.NETWORK
        except Exception:  # a bug in one message must not lose the round's results
            log.exception("case relay: cannot send entry %s", entry.id)
            return Outcome.REFUSED
        return Outcome.SENT

    async def _send_photos(self, parcel: Parcel, recipient: Recipient) -> None:
        """The entry's photos the chat has not had yet, in order, before the text (see the
        module's docstring for what a failure does). Raises what stops the text too."""
        photos = parcel.photos
        if not photos or self.evidence is None:
            return
        sent = self._photos_sent[parcel.entry.id]
        last_attempt = parcel.entry.attempts + 1 >= self.settings.max_attempts
        for index in range(sent.get(recipient.chat_id, 0), len(photos)):
            photo = photos[index]
            try:
                data = await asyncio.to_thread(self.evidence.read, photo.path)
                await self.bot.send_photo(
                    recipient.chat_id, data,
                    caption=photo_caption(parcel, recipient, index + 1, len(photos)))
            except (Forbidden, RetryAfter):
                raise
            except BadRequest as exc:  # before NetworkError, of which it is a kind
                self._photo_lost(parcel, photo.sha256, f"refused: {exc}")
            except NetworkError as exc:
                if not last_attempt:
                    raise
                self._photo_lost(parcel, photo.sha256, f"not sent in the last attempt: {exc}")
            except OSError as exc:
                self._photo_lost(parcel, photo.sha256, f"cannot be read: {exc}")
            except Exception:  # a bug with one photo must not hold up the text
                log.exception("case relay: photo %s of case %s failed", photo.sha256,
                              parcel.case.number)
            sent[recipient.chat_id] = index + 1

    @staticmethod
    def _photo_lost(parcel: Parcel, sha256: str, why: str) -> None:
        log.warning("case relay: photo %s of %s of case %s %s; the text goes without it",
                    sha256, parcel.entry.kind, parcel.case.number, why)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()
