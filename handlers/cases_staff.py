"""Staff handling cases in chat: /cases, /case, a case's buttons, and the short dialogues on a
case (a question to the resident, a resolution, a transfer's or a rejection's reason), before
the resident journey.

/cases and /case and ``cs:`` buttons are always handled here, so anyone without a staff
role gets a clear "not for you" rather than "unknown command". Text, /cancel, photos and
locations come here from ``handlers.router`` only while the person is in one of the case
dialogues (kinds ``case_ask``, ``case_resolve``, ``case_reason``).

Handlers are thin: decode the update, run one use case of ``surveys.cases`` in one transaction
(which also claims the update id), then send what it returned, after the commit, and wake
the relay (``deps.cases_changed()``), which delivers the timeline entries the use case
recorded. A resolution's photo is downloaded and kept under its SHA-256 before that
transaction (``handlers.evidence``), so a refused one leaves at most a file tied to nothing.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from handlers.cases_render import (
    case_keyboard,
    case_list,
    case_text,
    parse,
    photo_caption,
    prompt_message,
)
from handlers.common import (
    Guard,
    answer,
    edit,
    lang_guess,
    notice,
    remember_prompt,
    retire,
    say,
    show,
    step,
    tapped,
)
from handlers.dashboard import with_report_button
from handlers.deps import Context, Deps
from handlers.evidence import EvidenceRefused, receive_photo
from handlers.router import Audience, Dialogues
from handlers.texts import refusal_key, t
from surveys.cases import handling, steps, views
from surveys.cases.handling import Acted, KeptPhoto
from surveys.cases.steps import Limits, Outcome
from surveys.cases.views import APPROVE, DENY, TAKE, CaseView
from surveys.people import busy
from surveys.people.busy import Open
from surveys.people.caller import Refused, require

log = logging.getLogger(__name__)

# The single taps: done at once, the case shown again in place.
_AT_ONCE = {TAKE: handling.take, APPROVE: handling.approve, DENY: handling.deny}


def cases_staff_audience(deps: Deps) -> Audience:
    guarded = Guard(deps, "case staff", (Refused,), _refuse)
    # New messages only: an edited command is not a second command.
    new = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return Audience(
        handlers=[
            CommandHandler("cases", guarded(_on_cases), new),
            CommandHandler("case", guarded(_on_case), new),
            CallbackQueryHandler(guarded(_on_button), pattern=r"^cs:"),
        ],
        dialogues=Dialogues(guarded, steps.KINDS, text=_on_text, cancel=_on_cancel,
                            photo=_on_photo, location=_on_location),
    )


async def _refuse(update: Update, refusal: Exception) -> None:
    assert isinstance(refusal, Refused)
    text = t(refusal_key("cstaff", refusal.key), refusal.lang, refusal.params)
    if refusal.key == "stale" and update.callback_query is not None:
        await answer(update.callback_query, text)  # a toast: an old button, nothing wrong
    else:
        await notice(update, text)  # a pop-up for a button, a message otherwise


def _limits(deps: Deps) -> Limits:
    return Limits(deps.cases, deps.fieldwork)


# --- /cases and /case -----------------------------------------------------------------------


async def _on_cases(deps: Deps, update: Update, context: Context) -> bool:
    arg = context.args[0] if context.args else ""
    page = int(arg) - 1 if arg.isdigit() and len(arg) < 5 else 0
    listing = await deps.query(update, partial(views.list_cases, caller=deps.caller(update),
                                               page=page, rules=deps.cases))
    text, keyboard = case_list(listing)
    # The full report: every case in scope by unit, recently closed ones too (handlers/web).
    await say(update, text, with_report_button(keyboard, deps, "/cases", listing.lang))
    return True


async def _on_case(deps: Deps, update: Update, context: Context) -> bool:
    caller = deps.caller(update)
    if not context.args:
        lang = await deps.query(update, partial(require, caller=caller,
                                                roles=views.STAFF_ROLES,
                                                refusal=views.NOT_STAFF))
        await say(update, t("cstaff.usage", lang))
        return True
    view = await deps.query(update, partial(views.case_view, caller=caller,
                                            number=" ".join(context.args), rules=deps.cases))
    await _send_case(deps, update, view)
    return True


async def _send_case(deps: Deps, update: Update, view: CaseView) -> None:
    """The case's photos, then the case with its buttons (last, so they are at the bottom)."""
    chat = update.effective_chat
    assert chat is not None
    for index, photo in enumerate(view.photos, start=1):
        try:
            data = await asyncio.to_thread(deps.evidence.read, photo.path)
        except OSError as exc:
            log.warning("case %s: photo %s is missing: %s", view.number, photo.sha256, exc)
            continue
        await chat.send_photo(data, caption=photo_caption(view.number, photo.part, index,
                                                          len(view.photos), view.lang))
    await say(update, case_text(view, deps.cases.time_zone), case_keyboard(view))


def _case_message(deps: Deps, view: CaseView) -> tuple[str, InlineKeyboardMarkup | None]:
    return case_text(view, deps.cases.time_zone), case_keyboard(view)


# --- buttons --------------------------------------------------------------------------------


async def _on_button(deps: Deps, update: Update, context: Context) -> bool:
    query = update.callback_query
    assert query is not None
    caller = deps.caller(update)
    if (query.data or "").startswith("cs:d:"):
        return await tapped(deps, update, steps.parse_choice,
                            partial(steps.tap, limits=_limits(deps)), caller,
                            partial(_show_step, in_place=True))
    parsed = parse(query.data)
    if parsed is None:
        await answer(query, t("cstaff.forged", lang_guess(deps, update)))
        return True
    kind, values = parsed
    if kind == "page":
        listing = await deps.query(update, partial(views.list_cases, caller=caller,
                                                   page=int(str(values[0])), rules=deps.cases))
        await answer(query, None)
        text, keyboard = case_list(listing)
        await edit(query, text, with_report_button(keyboard, deps, "/cases", listing.lang))
    elif kind == "open":
        view = await deps.query(update, partial(views.case_view, caller=caller,
                                                number=str(values[0]), rules=deps.cases))
        await answer(query, None)
        await _send_case(deps, update, view)
    elif kind == "merge":
        number, version, other, other_version = values
        await _acted(deps, update, await deps.run(update, partial(
            handling.merge, caller=caller, number=str(number), version=int(str(version)),
            other=str(other), other_version=int(str(other_version)), rules=deps.cases)))
    elif kind in _AT_ONCE:
        await _acted(deps, update, await deps.run(update, partial(
            _AT_ONCE[kind], caller=caller, number=str(values[0]), version=int(str(values[1])),
            rules=deps.cases)))
    else:
        outcome = await deps.run(update, partial(
            steps.start, caller=caller, number=str(values[0]), version=int(str(values[1])),
            action=kind, limits=_limits(deps)))
        await answer(query, None)
        await _show_step(deps, update, outcome)
    return True


async def _acted(deps: Deps, update: Update, acted: Acted) -> None:
    """A single tap done: say so in a toast, show the case as it is now in place."""
    query = update.callback_query
    assert query is not None
    deps.cases_changed()
    await answer(query, t(f"cstaff.done.{acted.done}", acted.lang, acted.params))
    await edit(query, *_case_message(deps, acted.view))


# --- the dialogues --------------------------------------------------------------------------


async def _on_text(deps: Deps, update: Update, context: Context, found: Open) -> bool:
    message = update.effective_message
    assert message is not None
    return await step(deps, update, _show_step, partial(
        steps.text, caller=deps.caller(update), typed=message.text or "",
        limits=_limits(deps)))


async def _on_cancel(deps: Deps, update: Update, context: Context, found: Open) -> bool:
    return await step(deps, update, _show_step,
                      partial(steps.cancel, caller=deps.caller(update)))


async def _on_photo(deps: Deps, update: Update, context: Context, found: Open) -> bool:
    message = update.effective_message
    assert message is not None
    caller, limits = deps.caller(update), _limits(deps)
    if found.kind != busy.CASE_RESOLVE:
        # Only a resolution takes photos: nothing to download for a question or a reason.
        return await step(deps, update, _show_step, partial(
            steps.refused_photo, caller=caller, key="text_only", params={}, limits=limits))
    try:
        received = await receive_photo(deps, message)
    except EvidenceRefused as refused:
        return await step(deps, update, _show_step, partial(
            steps.refused_photo, caller=caller, key=refused.key, params=refused.params,
            limits=limits))
    kept = KeptPhoto(received.stored.sha256, received.stored.path, received.stored.size_bytes,
                 received.stored.media_type)
    return await step(deps, update, _show_step, partial(
        steps.photo, caller=caller, kept=kept, caption=message.caption, limits=limits))


async def _on_location(deps: Deps, update: Update, context: Context, found: Open) -> bool:
    return await step(deps, update, _show_step,
                      partial(steps.location, caller=deps.caller(update),
                              limits=_limits(deps)))


async def _show_step(deps: Deps, update: Update, outcome: Outcome, *,
                     in_place: bool = False) -> None:
    """Where a dialogue stands: its next prompt, what it did (then the case as it is now),
    or a notice (cancelled, nothing to cancel, refused)."""
    lang = outcome.lang
    shown_id: int | None = None
    if outcome.acted is not None:
        acted = outcome.acted
        deps.cases_changed()
        await show(update, t(f"cstaff.done.{acted.done}", lang, acted.params), None,
                   in_place=in_place)
        await say(update, *_case_message(deps, acted.view))
    elif outcome.prompt is not None:
        text, keyboard = prompt_message(outcome.prompt, lang)
        shown_id = await show(update, text, keyboard, in_place=in_place)
        if outcome.echo is not None:
            # Sent back as plain text, exactly as typed, so it can be copied and shortened.
            chat = update.effective_chat
            assert chat is not None
            await chat.send_message(outcome.echo)
        # The prompt this one replaces, or this one if the dialogue moved on meanwhile.
        prompt = outcome.prompt
        replaced = await remember_prompt(deps, "case", lambda uow: steps.remember_prompt(
            uow, deps.caller(update), prompt.nonce, prompt.version, shown_id))
        if replaced is not None:
            await retire(update, replaced)
    else:
        key = refusal_key("cstaff", outcome.notice or "no_dialogue")
        await show(update, t(key, lang, outcome.params), None, in_place=in_place)
    if outcome.retire is not None and outcome.retire != shown_id:
        await retire(update, outcome.retire)


