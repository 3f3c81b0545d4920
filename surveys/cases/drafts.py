"""What a resident is writing for the case loop: one draft at a time, kept across restarts.

A draft (``case_drafts``) is a report being put together (:mod:`surveys.cases.reporting`), a
reply to a staff message, or a comment on a "Was this solved?" answer
(:mod:`surveys.cases.answers`). It is keyed by an HMAC of the Telegram id
(:func:`surveys.cases.sealing.draft_key`) and holds no time, so without the secret it names
nobody; a reply's or a comment's draft names the case it is for only sealed
(:func:`for_case`), so neither does it name a case that its stamp could date. Each change
bumps its version; its buttons carry its nonce and version, so a tap on an older prompt, or on
a prompt of an earlier draft, changes nothing.

A reply or a comment does not wait for ever: its sealed pointer holds when it was begun, and
after ``rules.draft_expires_after`` it is no longer taken (:func:`expired`; the supervision
sweep drops it, :func:`drop_expired`); beginning a poll drops it at once
(:func:`drop_writing`). Otherwise a text typed much later, a new poll's comment say, would
go to a case that may have closed meanwhile. A report's draft shows its prompt, and stays.

Nothing here writes the ``contacts`` table: the language is read from it, never set, so no
transaction that writes a resident's case rows writes their contact too.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from storage.models import CaseDraft
from surveys.cases import sealing
from surveys.cases.rules import CaseRules
from surveys.people.caller import Caller, Refused, resolve_language
from surveys.text import clean_text

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

# The kinds of draft.
REPORT, REPLY, ANSWER = "report", "reply", "answer"
KINDS = (REPORT, REPLY, ANSWER)


@dataclass(frozen=True)
class Reporting:
    """What the residents' case use cases need beyond who is asking."""

    secret: bytes = field(repr=False)
    rules: CaseRules
    # How finely a resident's times are kept (surveys.respondents.anonymity.coarse).
    resolution: timedelta
    # Photos: at most this many per report (the same limit as notes' evidence).
    max_photos: int = 5
    # A unit without a radius of its own: how far from its centre a place is "near".
    default_radius_km: float = 10.0


@dataclass(frozen=True)
class TooLong:
    """A text over the limit: refused whole (nothing of it kept), said with the limit."""

    text: str
    length: int
    limit: int


def checked_text(text: str, limit: int) -> tuple[str | None, TooLong | None]:
    """The text to keep (``""`` if nothing visible is left), or why not: never cut."""
    cleaned = clean_text(text)
    if len(cleaned) > limit:
        return None, TooLong(cleaned, len(cleaned), limit)
    return cleaned, None


@dataclass(frozen=True)
class Peek:
    """A cheap read before claiming an update: whether the person has a draft, of which
    kind, with how many photos, and their language."""

    kind: str
    photos: int
    lang: str


async def language(uow: UnitOfWork, caller: Caller) -> str:
    contact = await uow.contacts.by_user(caller.telegram_user_id)
    return resolve_language(contact, caller.client_language, caller.default_language)


async def peek(uow: UnitOfWork, caller: Caller, secret: bytes,
               expires_after: timedelta | None = None) -> Peek | None:
    """The person's draft, if any (one read of it; the contact only when there is one); a
    reply or comment begun more than ``expires_after`` ago counts as none."""
    draft = await uow.cases.draft(sealing.draft_key(secret, caller.telegram_user_id))
    if draft is None or (expires_after is not None
                         and expired(draft, secret, caller.now, expires_after)):
        return None
    photos = len(draft.data.get("photos", [])) if draft.kind == REPORT else 0
    return Peek(draft.kind, photos, await language(uow, caller))


def key_of(caller: Caller, secret: bytes) -> str:
    return sealing.draft_key(secret, caller.telegram_user_id)


def for_case(caller: Caller, secret: bytes, number: str) -> dict[str, Any]:
    """A reply's or an answer's comment's draft data: the case it is for and when it was
    begun, sealed, so the row (written in the resident's transaction) names no case and
    keeps no time (:func:`sealing.seal_pointer`)."""
    pointer = json.dumps({"n": number, "t": int(caller.now.timestamp())})
    return {"to": sealing.seal_pointer(secret, key_of(caller, secret), pointer)}


def _pointer(draft: CaseDraft, secret: bytes) -> tuple[str, datetime | None] | None:
    opened = sealing.open_pointer(secret, draft.key, str(draft.data.get("to") or ""))
    if opened is None:
        return None
    if not opened.startswith("{"):
        return opened, None  # sealed before drafts expired: a bare number
    try:
        payload = json.loads(opened)
        return str(payload["n"]), datetime.fromtimestamp(int(payload["t"]), UTC)
    except (ValueError, KeyError, TypeError, OverflowError):
        return None


def case_of(draft: CaseDraft, secret: bytes) -> str | None:
    """The number of the case a reply or comment draft is for; None if it does not open."""
    pointer = _pointer(draft, secret)
    return pointer[0] if pointer is not None else None


def expired(draft: CaseDraft, secret: bytes, now: datetime, after: timedelta) -> bool:
    """A reply or comment draft begun more than ``after`` before ``now`` (a report's never
    is; nor one sealed before drafts kept when they were begun)."""
    if draft.kind == REPORT:
        return False
    pointer = _pointer(draft, secret)
    begun = pointer[1] if pointer is not None else None
    return begun is not None and now - begun > after


async def drop_writing(uow: UnitOfWork, secret: bytes, telegram_user_id: int) -> bool:
    """A poll begins: the person's reply or comment being written, if any, goes (what they
    type now is for the poll). Returns whether one went."""
    key = sealing.draft_key(secret, telegram_user_id)
    draft = await uow.cases.draft(key, lock=True)
    if draft is None or draft.kind == REPORT:
        return False
    await uow.cases.drop_draft(key)
    return True


async def drop_expired(uow: UnitOfWork, *, secret: bytes, now: datetime,
                       after: timedelta) -> int:
    """The supervision step: drop replies and comments begun more than ``after`` ago."""
    gone = [d.key for d in await uow.cases.drafts_of((REPLY, ANSWER))
            if expired(d, secret, now, after)]
    for key in gone:
        await uow.cases.drop_draft(key)
    return len(gone)


def nonce() -> str:
    return secrets.token_hex(3)


def choice_data(draft_nonce: str, version: int, choice: str) -> str:
    """Button data of a draft's prompt (``cr:``), at this version of the draft."""
    return f"cr:{draft_nonce}:{version}:{choice}"


async def locked(uow: UnitOfWork, caller: Caller, secret: bytes) -> CaseDraft | None:
    return await uow.cases.draft(key_of(caller, secret), lock=True)


def current(draft: CaseDraft | None, draft_nonce: str, version: int, lang: str) -> CaseDraft:
    """The draft a tap is about, if it is still the one shown.

    Raises:
        Refused: ``stale`` (sent, cancelled, replaced or changed since).
    """
    if (draft is None or draft.data.get("nonce") != draft_nonce
            or draft.version != version):
        raise Refused("stale", lang)
    return draft


async def replace(uow: UnitOfWork, caller: Caller, secret: bytes, kind: str,
                  data: dict[str, Any]) -> tuple[CaseDraft, str | None, int | None]:
    """Start a draft of ``kind``, replacing the person's draft if they have one; returns it,
    the kind of the unsent draft it replaced (None: none) and that one's prompt message."""
    key = key_of(caller, secret)
    before = await uow.cases.draft(key, lock=True)
    replaced = before.kind if before is not None else None
    shown = prompt_of(before)
    return await uow.cases.save_draft(key, kind, {"nonce": nonce(), **data}), replaced, shown


def prompt_of(draft: CaseDraft | None) -> int | None:
    """The message showing the draft's prompt, whose buttons go when another replaces it."""
    shown = draft.data.get("msg") if draft is not None else None
    return int(shown) if shown is not None else None


async def remember_prompt(uow: UnitOfWork, caller: Caller, secret: bytes, draft_nonce: str,
                          version: int, message_id: int) -> int | None:
    """Note the message showing the draft's prompt at ``version``, without changing the
    version; returns the message whose buttons should go: the prompt it replaces or, when
    the draft has moved on meanwhile, this one."""
    draft = await locked(uow, caller, secret)
    if draft is None or draft.data.get("nonce") != draft_nonce or draft.version != version:
        return message_id
    before = prompt_of(draft)
    draft.data = {**draft.data, "msg": message_id}
    return before if before != message_id else None


async def open_cases(uow: UnitOfWork, secret: bytes, quota: str) -> int:
    """How many active cases this person raised: the seals that open to their quota key."""
    count = 0
    for case_id, sealed in await uow.cases.active_seals():
        reporter = sealing.unseal(secret, case_id, sealed)
        if reporter is not None and reporter.quota_key == quota:
            count += 1
    return count


async def refuse_at_limit(uow: UnitOfWork, caller: Caller, desk: Reporting, lang: str) -> None:
    """Raises:
        Refused: ``limit`` when the person has as many active cases as they may.
    """
    limit = desk.rules.max_open_per_person
    quota = sealing.quota_key(desk.secret, caller.telegram_user_id)
    if await open_cases(uow, desk.secret, quota) >= limit:
        raise Refused("limit", lang, {"limit": limit})
