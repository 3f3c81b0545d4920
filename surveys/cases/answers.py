"""The resident's side of an open case: replying to the handler, and "Was this solved?".

A staff question reaches the resident through the relay with a "Reply" button (``cq:``); a
tap starts a reply draft, and the resident's next text (or photo) joins the case's timeline
for the handler. A resolution reaches them with "Yes / Partly / No" (``ca:``): the answer
closes the case (confirmed, partly, or not solved after one reopening), or reopens it once
and escalates it to the unit's admins and inspectors. Either way a comment may follow (an
"answer" draft: the next text goes to the handler with the answer).

Only the resident who raised a case may do either: the tap's account must be the one the
case's seal names (its quota key, an HMAC of the Telegram id, and its chat when it has one),
which only the bot can read. The resident's entries have a coarse time and are audited later
(:mod:`surveys.cases.timeline`); closing drops the seal.

Pure use cases: no Telegram. Refusals are raised as :class:`~surveys.people.caller.Refused`
with a text key (``case.<key>``); the transaction then rolls back, so nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from storage.evidence import StoredFile
from storage.ids import RANDOM_ID_MAX, parse_id
from storage.models import Case, CaseDraft, CaseOutcome, CaseStatus
from surveys.cases import drafts, holding, sealing, timeline
from surveys.cases.closing import close
from surveys.cases.drafts import ANSWER, REPLY, Reporting, TooLong
from surveys.cases.rules import (
    ANSWERED_OUTCOMES,
    NO,
    NOT_SOLVED,
    PARTLY,
    RESIDENT,
    YES,
    normalise_number,
    outcome_of_answer,
)
from surveys.people.caller import Caller, Refused
from surveys.respondents.anonymity import coarse

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

# The buttons' letters for the answers.
ANSWER_CODES = {"y": YES, "p": PARTLY, "n": NO}


# --- whose case ------------------------------------------------------------------------------


async def _case(uow: UnitOfWork, number: str, lang: str, *, lock: bool = False) -> Case:
    """Raises:
        Refused: ``forged`` (no case has this number).
    """
    normal = normalise_number(number)
    case = await uow.cases.by_number(normal, lock=lock) if normal is not None else None
    if case is None:
        raise Refused("forged", lang)
    return case


async def _owner(uow: UnitOfWork, caller: Caller, chat_id: int, case: Case,
                 desk: Reporting, lang: str) -> sealing.Reporter:
    """The reporter of ``case``, if the caller is them.

    The seal's quota key is an HMAC of the Telegram id, so it names the person even after
    the relay resealed the case without a chat (they had blocked the bot); a chat it has
    must be the caller's. Back from a block, a resident who asked to be told gets their chat
    back in the seal.

    Raises:
        Refused: ``forged`` (someone else's case, or its seal is gone).
    """
    sealed = await uow.cases.seal_of(case.id)
    reporter = sealing.unseal(desk.secret, case.id, sealed) if sealed is not None else None
    if (reporter is None
            or reporter.quota_key != sealing.quota_key(desk.secret, caller.telegram_user_id)
            or reporter.chat_id not in (None, chat_id)):
        raise Refused("forged", lang)
    if reporter.chat_id is None and case.wants_reply:
        reporter = sealing.Reporter(reporter.quota_key, chat_id, reporter.language)
        await uow.cases.put_seal(case.id, sealing.seal(desk.secret, case.id, reporter))
    return reporter


async def _open_for_relay(uow: UnitOfWork, caller: Caller, chat_id: int, number: str,
                          desk: Reporting, lang: str) -> tuple[Case, Case]:
    """The caller's case, and the case (as handled: a merged one's primary) their message
    goes to; both locked, so neither closes before the message is on its timeline.

    Raises:
        Refused: ``forged``, ``closed`` (the case is over: nothing is relayed any more).
    """
    case = await _case(uow, number, lang, lock=True)
    target = await uow.cases.handled_as(case, lock=True)
    if CaseStatus.CLOSED in (case.status, target.status):
        raise Refused("closed", lang, {"number": case.number})
    await _owner(uow, caller, chat_id, case, desk, lang)
    return case, target


# --- replying to a staff message -------------------------------------------------------------


@dataclass(frozen=True)
class ReplyPrompt:
    """A reply draft begun: the case it goes to, and its prompt's buttons."""

    lang: str
    number: str
    nonce: str
    version: int
    limit: int
    replaced: str | None = None  # the kind of unsent draft this one replaced
    retire: int | None = None

    def choice(self, value: str) -> str:
        return drafts.choice_data(self.nonce, self.version, value)


async def start_reply(uow: UnitOfWork, caller: Caller, chat_id: int, number: str,
                      entry_id: int, *, desk: Reporting) -> ReplyPrompt:
    """The "Reply" button under a staff message: the next text (or photo) goes to the
    handler.

    Raises:
        Refused: ``forged`` (not the caller's case, or not a message to them),
            ``closed``.
    """
    lang = await drafts.language(uow, caller)
    case, target = await _open_for_relay(uow, caller, chat_id, number, desk, lang)
    known = parse_id(entry_id, RANDOM_ID_MAX)
    entry = await uow.cases.message(known) if known is not None else None
    if (entry is None or entry.kind != timeline.MESSAGE or entry.notify != timeline.TO_RESIDENT
            or entry.case_id not in (case.id, target.id)):
        raise Refused("forged", lang)
    draft, replaced, shown = await drafts.replace(
        uow, caller, desk.secret, REPLY, drafts.for_case(caller, desk.secret, case.number))
    return ReplyPrompt(lang, target.number, str(draft.data["nonce"]), draft.version,
                       desk.rules.max_text_length, replaced, shown)


@dataclass(frozen=True)
class Relayed:
    """What became of a reply or a comment: passed on (``number``), or not (too long,
    nothing visible, or the case closed meanwhile)."""

    lang: str
    number: str | None
    too_long: TooLong | None = None
    blank: bool = False
    closed: str | None = None  # the number of the case closed meanwhile
    retire: int | None = None  # the reply prompt, whose button should go


async def _writing(uow: UnitOfWork, caller: Caller, desk: Reporting, kind: str,
                   lang: str) -> CaseDraft:
    """Raises:
        Refused: ``no_draft`` (no draft of ``kind``, or it has expired).
    """
    draft = await drafts.locked(uow, caller, desk.secret)
    if (draft is None or draft.kind != kind
            or drafts.expired(draft, desk.secret, caller.now, desk.rules.draft_expires_after)):
        raise Refused("no_draft", lang)
    return draft


def _pointed(draft: CaseDraft, desk: Reporting, lang: str) -> str:
    """The number of the case the draft is for.

    Raises:
        Refused: ``no_draft`` (its pointer does not open: sealed under another secret).
    """
    number = drafts.case_of(draft, desk.secret)
    if number is None:
        raise Refused("no_draft", lang)
    return number


async def reply_text(uow: UnitOfWork, caller: Caller, chat_id: int, text: str, *,
                     desk: Reporting) -> Relayed:
    """The resident's reply, for the handler of the case. Over the limit, or with nothing
    visible, it is refused whole and the draft waits for another."""
    lang = await drafts.language(uow, caller)
    draft = await _writing(uow, caller, desk, REPLY, lang)
    kept, too_long = drafts.checked_text(text, desk.rules.max_text_length)
    if not kept:
        return Relayed(lang, None, too_long, blank=kept == "")
    return await _relay(uow, caller, chat_id, draft, kept, None, desk, lang)


async def reply_photo(uow: UnitOfWork, caller: Caller, chat_id: int, stored: StoredFile,
                      caption: str | None, *, desk: Reporting) -> Relayed:
    """A photo as the reply (already checked and kept under its SHA-256), with its caption
    as the text; a caption over the limit is refused, and the photo with it."""
    lang = await drafts.language(uow, caller)
    draft = await _writing(uow, caller, desk, REPLY, lang)
    kept, too_long = drafts.checked_text(caption or "", desk.rules.max_text_length)
    if too_long is not None:
        return Relayed(lang, None, too_long)
    return await _relay(uow, caller, chat_id, draft, kept or "", stored, desk, lang)


async def _relay(uow: UnitOfWork, caller: Caller, chat_id: int, draft: CaseDraft, text: str,
                 photo: StoredFile | None, desk: Reporting, lang: str) -> Relayed:
    number = _pointed(draft, desk, lang)
    retire = drafts.prompt_of(draft)
    try:
        _case_of, target = await _open_for_relay(uow, caller, chat_id, number, desk, lang)
    except Refused as refusal:
        if refusal.key != "closed":
            raise
        await uow.cases.drop_draft(draft.key)  # nothing more can go to a closed case
        return Relayed(lang, None, closed=str(refusal.params["number"]), retire=retire)
    params = None
    if photo is not None:
        await uow.cases.add_photo(target.id, "relay", sha256=photo.sha256, path=photo.path,
                                  size_bytes=photo.size_bytes, media_type=photo.media_type)
        params = {"photos": [photo.sha256]}
    await timeline.record(uow, target, timeline.MESSAGE, timeline.TO_HANDLER, author=RESIDENT,
                          at=coarse(caller.now, desk.resolution), text=text, params=params,
                          held_until=_held(caller, desk))
    await uow.cases.drop_draft(draft.key)
    return Relayed(lang, target.number, retire=retire)


# --- "Was this solved?" ----------------------------------------------------------------------


@dataclass(frozen=True)
class Answered:
    """The resident's answer, taken: the case closed with ``outcome``, or reopened (None);
    the comment draft that may follow."""

    lang: str
    number: str
    answer: str
    outcome: CaseOutcome | None
    nonce: str
    version: int
    limit: int

    def choice(self, value: str) -> str:
        return drafts.choice_data(self.nonce, self.version, value)


async def answer(uow: UnitOfWork, caller: Caller, chat_id: int, number: str, version: int,
                 code: str, *, desk: Reporting) -> Answered:
    """"Was this solved?" answered (``code`` y, p or n) on the case at ``version``.

    Raises:
        Refused: ``forged`` (not the caller's case, or no such answer), ``stale`` (answered
            already, or the case has changed since the question was asked).
    """
    lang = await drafts.language(uow, caller)
    choice = ANSWER_CODES.get(code)
    if choice is None:
        raise Refused("forged", lang)
    case = await _case(uow, number, lang, lock=True)
    target = await uow.cases.handled_as(case, lock=True)
    if target.status != CaseStatus.RESOLVED or target.version != version:
        raise _moved_on(case, target, lang)
    await _owner(uow, caller, chat_id, case, desk, lang)
    at, held = coarse(caller.now, desk.resolution), _held(caller, desk)
    outcome = outcome_of_answer(choice, target.reopened)
    if outcome is None:
        await timeline.record(uow, target, timeline.ANSWER, timeline.TO_HANDLER,
                              author=RESIDENT, at=at, params={"answer": choice},
                              held_until=held)
        await _reopen(uow, target, at, held)
    else:  # the answer is the closing entry
        await close(uow, target, outcome, at=at, kind=timeline.ANSWER,
                    notify=timeline.TO_HANDLER, author=RESIDENT, params={"answer": choice},
                    held_until=held)
    draft, _replaced, _shown = await drafts.replace(
        uow, caller, desk.secret, ANSWER, drafts.for_case(caller, desk.secret, target.number))
    return Answered(lang, target.number, choice, outcome, str(draft.data["nonce"]),
                    draft.version, desk.rules.max_text_length)


def _held(caller: Caller, desk: Reporting) -> datetime | None:
    """Until when staff may not see what the resident writes now (surveys.cases.holding)."""
    return holding.held_until(caller.now, desk.resolution, desk.rules.hold_window)


def _moved_on(case: Case, target: Case, lang: str) -> Refused:
    """Why "Was this solved?" cannot be answered any more, said plainly where the case has
    moved on: closed (by this resident's answer, by another's whose report was merged with
    theirs, or by the time to answer running out) or reopened by a "No"; else a stale
    button. A case's status is no secret: nothing here says who answered."""
    params = {"number": case.number}
    if target.status == CaseStatus.CLOSED:
        return Refused("answered_closed", lang, params)
    if target.reopened and target.status in (CaseStatus.OPEN, CaseStatus.TAKEN):
        return Refused("answered_reopened", lang, params)
    return Refused("stale", lang, params)


async def _reopen(uow: UnitOfWork, case: Case, at: datetime, held: datetime | None) -> None:
    """A first "No": back to the handler, and up to the unit's admins and inspectors. The
    resolution that was not one goes (the timeline keeps it)."""
    case.status = CaseStatus.TAKEN
    case.reopened += 1
    case.escalation, case.escalated_at = NOT_SOLVED, at
    case.resolution = case.summary = None
    case.resolved_at = case.resolved_on_time = case.answer_due_at = None
    case.version += 1
    # Audited with the resident's entries: an entry now would time their answer.
    await timeline.record(uow, case, timeline.ESCALATED, timeline.TO_ADMINS, author="system",
                          at=at, params={"escalation": NOT_SOLVED}, audit_later=True,
                          held_until=held)


async def answer_comment(uow: UnitOfWork, caller: Caller, text: str, *,
                         desk: Reporting) -> Relayed:
    """A comment on the answer just given, for the handler: the draft itself shows the
    caller answered (it was made when the seal still named them). Refused as ``closed``
    (nothing relayed, the draft gone) if the case has closed since by anything but an
    answer."""
    lang = await drafts.language(uow, caller)
    draft = await _writing(uow, caller, desk, ANSWER, lang)
    kept, too_long = drafts.checked_text(text, desk.rules.max_text_length)
    if not kept:
        return Relayed(lang, None, too_long, blank=kept == "")
    # Locked: a case closed meanwhile by anything but a resident's answer (a rejection, a
    # time-out after a later resolution) takes no more comments.
    case = await _case(uow, _pointed(draft, desk, lang), lang, lock=True)
    if case.status == CaseStatus.CLOSED and case.outcome not in ANSWERED_OUTCOMES:
        await uow.cases.drop_draft(draft.key)
        return Relayed(lang, None, closed=case.number, retire=drafts.prompt_of(draft))
    await timeline.record(uow, case, timeline.ANSWER, timeline.TO_HANDLER, author=RESIDENT,
                          at=coarse(caller.now, desk.resolution), text=kept,
                          params={"comment": True}, held_until=_held(caller, desk))
    await uow.cases.drop_draft(draft.key)
    return Relayed(lang, case.number, retire=drafts.prompt_of(draft))
