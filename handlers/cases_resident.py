"""Residents in the case loop: /report, the report's draft, replies to staff messages and the
"Was this solved?" answer (after the role router, before the resident journey).

/report and the buttons (``cr:``, ``co:``, ``cq:``, ``ca:``, see
:mod:`handlers.cases_resident_render`) are always handled here. Typed text, /cancel, photos
and locations come here only while the person has a case draft (one read of it per update);
otherwise they go on to the resident journey (group 0) untouched, so a poll's typed answer
costs one cheap read more. A draft wins over a poll in progress: the prompt says what a text
will do, and /cancel drops it. One exception: a photo sent with no draft and no poll in
progress starts a report when it has a caption (the text), as a cadre's starts a note; one
without says how to report. A person with a report still open is told to use its Reply
button instead, or /report: the photo may be what its staff asked for.

Handlers are thin: decode the update, run one use case in one transaction (which also claims
the update id), send what it returned after the commit, then wake the relay
(``deps.cases_changed``) when the timeline changed. A photo is downloaded and kept under its
SHA-256 before that transaction (``handlers.evidence``), re-encoded without its metadata (EXIF:
when, and often where, it was taken) and its modification time set to the epoch (its change
time, which nothing can set back, still says when: docs/privacy.md).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Awaitable, Callable
from functools import partial

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import MessageLimit
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from handlers import cases_resident_render as render
from handlers.common import (
    Guard,
    Handlers,
    answer,
    edit,
    lang_guess,
    notice,
    peek,
    remember_prompt,
    retire,
    say,
)
from handlers.deps import Context, Deps
from handlers.evidence import (
    EvidenceRefused,
    ReceivedPhoto,
    forwarded,
    has_photo,
    receive_photo,
    refuse_forwarded,
)
from handlers.texts import t
from handlers.whose import whose
from storage.uow import UnitOfWork
from surveys.cases import answers, drafts, reporting
from surveys.cases.drafts import ANSWER, REPLY, REPORT, Peek, Reporting, TooLong
from surveys.cases.reporting import DraftOutcome
from surveys.people.caller import Refused

log = logging.getLogger(__name__)

# After the role router (handlers.router.ROLES_GROUP), before the resident journey (0).
CASES_GROUP = -1
# Refusals shown as a toast on a tap: an old or odd button, nothing to worry about.
# So is "Was this solved?" tapped once the case has moved on (answered, by this resident or
# another of the problem's, or timed out).
_TOASTS = ("stale", "forged", "answered_closed", "answered_reopened")


def case_resident_handlers(deps: Deps) -> Handlers:
    """The residents' case handlers, for :data:`CASES_GROUP`."""
    guard = Guard(deps, "resident", (Refused, EvidenceRefused), partial(_refuse, deps))
    new = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return [
        CommandHandler("report", guard(_on_report), new),
        CommandHandler("cancel", guard(_on_cancel), new),
        MessageHandler(new & filters.TEXT & ~filters.COMMAND, guard(_on_text)),
        MessageHandler(new & (filters.PHOTO | filters.Document.ALL | filters.LOCATION),
                       guard(_on_media)),
        CallbackQueryHandler(guard(_on_draft_button), pattern=r"^cr:"),
        CallbackQueryHandler(guard(_on_offer_button), pattern=r"^co:"),
        CallbackQueryHandler(guard(_on_reply_button), pattern=r"^cq:"),
        CallbackQueryHandler(guard(_on_answer_button), pattern=r"^ca:"),
    ]


def _desk(deps: Deps) -> Reporting:
    return Reporting(deps.secret, deps.cases, deps.time_resolution,
                     deps.fieldwork.max_photos, deps.fieldwork.default_radius_km)


async def _refuse(deps: Deps, update: Update, refusal: Exception) -> None:
    if isinstance(refusal, EvidenceRefused):
        key = "case.forwarded" if refusal.key == "evidence.forwarded" else refusal.key
        await notice(update, t(key, await _lang(deps, update), refusal.params))
        return
    assert isinstance(refusal, Refused)
    text = t(f"case.{refusal.key}", refusal.lang, refusal.params)
    if refusal.key in _TOASTS and update.callback_query is not None:
        await answer(update.callback_query, text)
    else:
        await notice(update, text)


async def _peek(deps: Deps, update: Update) -> Peek | None:
    """The person's case draft, if any: the one read that decides whether a message is ours."""
    caller = deps.caller(update)
    return await peek(deps, update, lambda uow, _user: drafts.peek(
        uow, caller, deps.secret, deps.cases.draft_expires_after))


async def _lang(deps: Deps, update: Update) -> str:
    found = await _peek(deps, update)
    return found.lang if found is not None else lang_guess(deps, update)


def _again(deps: Deps, update: Update) -> Callable[[UnitOfWork], Awaitable[DraftOutcome]]:
    """For a message handled before whose reply may have been lost: the report as it
    stands, changing nothing."""
    return partial(reporting.show_draft, caller=deps.caller(update), desk=_desk(deps))


def _chat_id(update: Update) -> int:
    chat = update.effective_chat
    assert chat is not None
    return chat.id


# --- /report and the draft ------------------------------------------------------------------


async def _on_report(deps: Deps, update: Update, context: Context) -> bool:
    message = update.effective_message
    assert message is not None
    # The text after the command as typed (context.args would lose its line breaks).
    parts = (message.text or "").split(maxsplit=1)
    outcome = await deps.run(update, partial(
        reporting.start_report, caller=deps.caller(update),
        text=parts[1] if len(parts) > 1 else "", desk=_desk(deps)), again=_again(deps, update))
    await _show(deps, update, outcome)
    return True


async def _on_text(deps: Deps, update: Update, context: Context) -> bool:
    found = (await whose(deps, update, context)).draft
    if found is None:
        return False  # no draft: the resident journey's (a poll's typed answer)
    message = update.effective_message
    assert message is not None
    text, caller, desk = message.text or "", deps.caller(update), _desk(deps)
    if found.kind == REPORT:
        outcome = await deps.run(update, partial(reporting.draft_text, caller=caller,
                                                 text=text, desk=desk),
                                 again=_again(deps, update))
        await _show(deps, update, outcome)
    elif found.kind == REPLY:
        relayed = await deps.run(update, partial(answers.reply_text, caller=caller,
                                                 chat_id=_chat_id(update), text=text,
                                                 desk=desk))
        await _show_relayed(deps, update, relayed, "case.reply.sent")
    else:
        relayed = await deps.run(update, partial(answers.answer_comment, caller=caller,
                                                 text=text, desk=desk))
        await _show_relayed(deps, update, relayed, "case.comment.sent")
    return True


async def _on_media(deps: Deps, update: Update, context: Context) -> bool:
    found = (await whose(deps, update, context)).draft
    message = update.effective_message
    assert message is not None
    if found is None:
        return await _photo_outside(deps, update, message)
    if found.kind == ANSWER or (found.kind == REPLY and not has_photo(message)):
        key = "case.answer.text_only" if found.kind == ANSWER else "case.reply.text_only"
        await say(update, t(key, found.lang))
        return True
    refuse_forwarded(message)
    caller, desk = deps.caller(update), _desk(deps)
    if found.kind == REPLY:
        received = await _receive(deps, message)
        relayed = await deps.run(update, partial(
            answers.reply_photo, caller=caller, chat_id=_chat_id(update),
            stored=received.stored, caption=message.caption, desk=desk))
        await _show_relayed(deps, update, relayed, "case.reply.sent")
        return True
    if message.location is not None:
        outcome = await deps.run(update, partial(
            reporting.draft_location, caller=caller, latitude=message.location.latitude,
            longitude=message.location.longitude, desk=desk), again=_again(deps, update))
    else:
        if found.photos >= desk.max_photos:
            # Checked again under lock; this only spares a pointless download.
            raise Refused("too_many_photos", found.lang, {"limit": desk.max_photos})
        received = await _receive(deps, message)
        outcome = await deps.run(update, partial(
            reporting.draft_photo, caller=caller, stored=received.stored,
            caption=message.caption, desk=desk), again=_again(deps, update))
    await _show(deps, update, outcome)
    return True


async def _photo_outside(deps: Deps, update: Update, message: Message) -> bool:
    """A photo sent while writing nothing: with a caption it starts a report, unless a poll
    is being answered (the resident journey's then) or a report of the person's is open."""
    if not has_photo(message) or forwarded(message):
        return False  # a location, or someone else's photo: the resident journey's
    caller = deps.caller(update)
    gate = await deps.query(update, partial(reporting.photo_gate, caller=caller,
                                            secret=deps.secret))
    if gate.why == reporting.IN_POLL:
        return False
    if gate.why == reporting.HAS_CASE:
        await say(update, t("case.photo.open_case", gate.lang))
        return True
    if not (message.caption or "").strip():
        await say(update, t("case.photo.caption", gate.lang))
        return True
    received = await _receive(deps, message)
    outcome = await deps.run(update, partial(
        reporting.start_from_photo, caller=caller, stored=received.stored,
        caption=message.caption or "", desk=_desk(deps)), again=_again(deps, update))
    await _show(deps, update, outcome)
    return True


async def _receive(deps: Deps, message: Message) -> ReceivedPhoto:
    """Download and keep the photo without its metadata, its modification time set to the
    epoch, so neither the photo nor the time a program can set says when (or where) a
    resident took or sent it."""
    received = await receive_photo(deps, message, strip_metadata=True)
    path = deps.evidence.root / received.stored.path
    await asyncio.to_thread(os.utime, path, (0, 0))
    return received


async def _on_cancel(deps: Deps, update: Update, context: Context) -> bool:
    if (await whose(deps, update, context)).draft is None:
        return False  # /cancel of a poll: the resident journey's
    outcome = await deps.run(update, partial(reporting.cancel, caller=deps.caller(update),
                                             desk=_desk(deps)))
    if outcome.cancelled is not None:
        await say(update, t(f"case.cancelled.{outcome.cancelled}", outcome.lang))
    if outcome.retire is not None:
        await retire(update, outcome.retire)
    return True


async def _show(deps: Deps, update: Update, outcome: DraftOutcome) -> None:
    """What became of the message, then the report's prompt, last so its buttons are at the
    bottom of the chat (unless nothing changed: the prompt shown still holds)."""
    lang = outcome.lang
    if outcome.replaced is not None:
        await say(update, t(f"case.replaced.{outcome.replaced}", lang))
    if outcome.too_long is not None:
        await _echo_too_long(update, outcome.too_long, lang)
    if outcome.blank:
        await say(update, t("case.blank", lang))
    if outcome.added == "text" and (outcome.too_long is not None or outcome.blank):
        return
    text, keyboard = render.card_message(outcome.card, lang, outcome.added)
    shown = await say(update, text, keyboard)
    await _remember(deps, update, outcome.card.nonce, outcome.card.version, shown.message_id,
                    outcome.retire)


async def _echo_too_long(update: Update, too_long: TooLong, lang: str) -> None:
    await say(update, t("case.too_long", lang, {"length": too_long.length,
                                                "limit": too_long.limit}))
    chat = update.effective_chat
    assert chat is not None
    # Plain text, exactly as sent (nothing of it is kept), so it can be shortened and resent.
    size = MessageLimit.MAX_TEXT_LENGTH
    for start in range(0, len(too_long.text), size):
        await chat.send_message(too_long.text[start:start + size])


async def _remember(deps: Deps, update: Update, nonce: str, version: int, message_id: int,
                    fallback: int | None = None) -> None:
    """Record the prompt just shown and take the buttons off the one it replaces."""
    retire_id = await remember_prompt(deps, "report", lambda uow: reporting.remember_prompt(
        uow, deps.caller(update), nonce, version, message_id, desk=_desk(deps)), fallback)
    if retire_id is not None:
        await retire(update, retire_id)


# --- buttons --------------------------------------------------------------------------------


async def _tapped(deps: Deps, update: Update,
                  pattern: re.Pattern[str]) -> tuple[CallbackQuery, re.Match[str]]:
    """The tapped button and its data as ``pattern`` reads it.

    Raises:
        Refused: ``forged`` (data none of our buttons carries).
    """
    query = update.callback_query
    assert query is not None
    match = pattern.fullmatch(query.data or "")
    if match is None:
        raise Refused("forged", await _lang(deps, update))
    return query, match


async def _ask(deps: Deps, update: Update, text: str, button: str, data: str, nonce: str,
               version: int, retire_id: int | None = None) -> None:
    """A prompt for the next text (a reply, a comment) with its one button (Cancel, No
    comment), remembered so that its button goes when another prompt replaces it."""
    shown = await say(update, text, InlineKeyboardMarkup([[InlineKeyboardButton(
        button, callback_data=data)]]))
    await _remember(deps, update, nonce, version, shown.message_id, retire_id)


async def _on_draft_button(deps: Deps, update: Update, context: Context) -> bool:
    query, match = await _tapped(deps, update, render.DRAFT_TAP)
    outcome = await deps.run(update, partial(
        reporting.draft_tap, caller=deps.caller(update), chat_id=_chat_id(update),
        draft_nonce=match.group(1), version=int(match.group(2)), choice=match.group(3),
        desk=_desk(deps)),
        again=partial(reporting.show_tap, caller=deps.caller(update), desk=_desk(deps),
                      draft_nonce=match.group(1)))
    lang = outcome.lang
    if outcome.cancelled == ANSWER:
        # "No comment": the thanks for the answer stays; only its button goes.
        await answer(query, t("case.cancelled.answer", lang))
        if query.message is not None:
            await retire(update, query.message.message_id)
        return True
    await answer(query, None)
    if outcome.opened is not None:
        await edit(query, render.opened_text(outcome.opened, lang), None)
        deps.cases_changed()
    elif outcome.cancelled is not None:
        await edit(query, t(f"case.cancelled.{outcome.cancelled}", lang), None)
    elif outcome.card is not None:
        text, keyboard = render.card_message(outcome.card, lang)
        await edit(query, text, keyboard)
    return True


async def _on_offer_button(deps: Deps, update: Update, context: Context) -> bool:
    """"Report a problem" under a poll's thanks: the draft is made now, in a transaction of
    its own; the thanks keeps its buttons (a second tap starts afresh)."""
    query = update.callback_query
    assert query is not None
    tap = render.parse_offer(query.data)
    if tap is None:
        raise Refused("forged", await _lang(deps, update))
    outcome = await deps.run(update, partial(
        reporting.start_from_offer, caller=deps.caller(update), unit_id=tap.unit_id,
        category=tap.category, comment=tap.comment, desk=_desk(deps)),
        again=_again(deps, update))
    await answer(query, None)
    await _show(deps, update, outcome)
    return True


async def _on_reply_button(deps: Deps, update: Update, context: Context) -> bool:
    query, match = await _tapped(deps, update, render.REPLY_TAP)
    prompt = await deps.run(update, partial(
        answers.start_reply, caller=deps.caller(update), chat_id=_chat_id(update),
        number=match.group(1), entry_id=int(match.group(2)), desk=_desk(deps)))
    await answer(query, None)
    lang = prompt.lang
    if prompt.replaced is not None:
        await say(update, t(f"case.replaced.{prompt.replaced}", lang))
    await _ask(deps, update, t("case.reply.ask", lang, {"number": prompt.number,
                                                        "limit": prompt.limit}),
               t("case.btn.cancel", lang), prompt.choice("x"), prompt.nonce, prompt.version,
               prompt.retire)
    return True


async def _on_answer_button(deps: Deps, update: Update, context: Context) -> bool:
    """"Was this solved?": the answer, then an optional comment."""
    query, match = await _tapped(deps, update, render.ANSWER_TAP)
    answered = await deps.run(update, partial(
        answers.answer, caller=deps.caller(update), chat_id=_chat_id(update),
        number=match.group(1), version=int(match.group(2)), code=match.group(3),
        desk=_desk(deps)))
    deps.cases_changed()
    await answer(query, None)
    lang = answered.lang
    key = ("case.answer.reopened" if answered.outcome is None
           else f"case.answer.{answered.outcome.value}")
    # The question keeps its text; its buttons go, and the answer is said below it.
    if query.message is not None:
        await retire(update, query.message.message_id)
    await _ask(deps, update, t(key, lang, {"number": answered.number}) + "\n\n"
               + t("case.answer.comment", lang, {"limit": answered.limit}),
               t("case.btn.no_comment", lang), answered.choice("x"), answered.nonce,
               answered.version)
    return True


async def _show_relayed(deps: Deps, update: Update, relayed: answers.Relayed,
                        done_key: str) -> None:
    lang = relayed.lang
    if relayed.too_long is not None:
        await _echo_too_long(update, relayed.too_long, lang)
    elif relayed.blank:
        await say(update, t("case.blank", lang))
    elif relayed.closed is not None:
        await say(update, t("case.closed", lang, {"number": relayed.closed}))
    elif relayed.number is not None:
        await say(update, t(done_key, lang, {"number": relayed.number}))
        deps.cases_changed()
    if relayed.retire is not None:
        await retire(update, relayed.retire)
