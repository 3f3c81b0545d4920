"""Cadres in chat: /note, /notes and their evidence (before the resident journey).

A note takes as few steps as a cadre likes: ``/note``, a photo whose caption is the text, and
a tap on the key task; or just the captioned photo and the tap, since a photo or a location a
cadre sends outside any dialogue starts a draft with it. Where the draft stands lives in the
database (``surveys.fieldwork.notes``), so a restart in the middle loses nothing.

The handlers run before the resident journey (group 0). /note and /notes, and ``n:`` buttons,
are always handled here, so a resident or a stranger gets a clear answer rather than "unknown
command". Text, /cancel, photos and locations come here from ``handlers.router`` only while
the person is in a note dialogue (or, for photos and locations, is a cadre in no dialogue at
all); anything else goes on untouched. Text typed while a self-assessment the cadre is
answering is more recent than the note dialogue is the poll's: it goes on to the resident
journey.
Only new messages count: an edited command or text is not sent again, and a live location's
updates arrive as edits. Forwarded photos and locations are refused as evidence.

Handlers are thin: decode the update, run one use case in one transaction (which also claims
the update id), then send what it returned, after the commit. A photo is downloaded and kept
under its SHA-256 before that transaction (see ``handlers.evidence``), so a refused or
repeated one leaves at most a file tied to no record.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from functools import partial

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import MessageLimit
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from analysis.packing import clip
from handlers.common import (
    Guard,
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
from handlers.evidence import EvidenceRefused, receive_photo, refuse_forwarded
from handlers.router import Audience, Dialogues
from handlers.texts import refusal_key, t
from surveys.fieldwork import notes, sent_notes
from surveys.fieldwork.notes import Draft, DraftOutcome, Place, Presence, SavedNote, TooLong
from surveys.fieldwork.sent_notes import NoteItem
from surveys.people import busy
from surveys.people.busy import Open
from surveys.people.caller import Refused

log = logging.getLogger(__name__)

EXCERPT = 80
TASK_LABEL = 40

# Button data (at most 64 bytes): a draft's buttons carry its nonce and version; a note's
# carry the note id and version, so a tap on an older state changes nothing.
# Ids of any length: one that cannot exist is answered as "no such note/task", not forged.
_DRAFT_TAP = re.compile(r"n:d:([0-9a-f]{6}):([0-9]{1,9}):(t[0-9]+|x)")
_NOTE_TAP = re.compile(r"n:([fwyk]):([0-9]+):([0-9]{1,9})")
CORRECT, WITHDRAW_ASK, WITHDRAW, KEEP = "f", "w", "y", "k"


def cadre_audience(deps: Deps) -> Audience:
    async def refuse(update: Update, refusal: Exception) -> None:
        if isinstance(refusal, EvidenceRefused):
            await notice(update, t(refusal.key, await _lang(deps, update), refusal.params))
            return
        assert isinstance(refusal, Refused)
        text = t(refusal_key("note", refusal.key), refusal.lang, refusal.params)
        if refusal.key == "stale" and update.callback_query is not None:
            await answer(update.callback_query, text)  # a toast: an old button, nothing wrong
        else:
            await notice(update, text)

    guarded = Guard(deps, "cadre", (Refused, EvidenceRefused), refuse)
    # New messages only: an edited command (an old /note corrected) is not a second command.
    new = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return Audience(
        handlers=[
            CommandHandler("note", guarded(_on_note), new),
            CommandHandler("notes", guarded(_on_notes), new),
            CallbackQueryHandler(guarded(_on_button), pattern=r"^n:"),
        ],
        dialogues=Dialogues(guarded, (busy.NOTE, busy.NOTE_FIX), text=_on_text,
                            cancel=_on_cancel, photo=_on_photo, location=_on_location,
                            started_by_media=busy.ROLES_OF_KIND[busy.NOTE]),
    )


def _message_id(update: Update) -> int | None:
    """The chat message being handled (None for a button), which a change of the note
    dialogue records to tell it from a poll's later activity."""
    return update.message.message_id if update.message else None


async def _presence(deps: Deps, update: Update) -> Presence | None:
    """Whether a message is ours: the cadre's standing and draft, if any."""
    user = update.effective_user
    language = user.language_code if user is not None else None
    return await peek(deps, update, lambda uow, user_id: notes.presence(
        uow, user_id, language, deps.default_language, deps.secret))


async def _lang(deps: Deps, update: Update) -> str:
    found = await _presence(deps, update)
    return found.lang if found is not None else lang_guess(deps, update)


# --- /note and the draft --------------------------------------------------------------------


async def _on_note(deps: Deps, update: Update, context: Context) -> bool:
    message = update.effective_message
    assert message is not None
    # The text after the command as typed (context.args would lose its line breaks).
    parts = (message.text or "").split(maxsplit=1)
    text = parts[1] if len(parts) > 1 else ""
    outcome = await deps.run(update, partial(notes.start_note, caller=deps.caller(update),
                                             text=text, rules=deps.fieldwork,
                                             secret=deps.secret,
                                             message_id=_message_id(update)))
    await _show_draft(deps, update, outcome)
    return True


async def _on_text(deps: Deps, update: Update, context: Context, found: Open) -> bool:
    standing = await _presence(deps, update)
    if standing is None or not standing.in_note_dialogue or standing.poll_newer:
        # A poll answered or shown since the note last changed: the most recent activity
        # wins, and the text is the poll's (the resident journey, group 0).
        return False
    message = update.effective_message
    assert message is not None
    caller = deps.caller(update)
    if standing.kind == notes.FIX_KIND:
        corrected = await deps.run(update, partial(sent_notes.correct_text, caller=caller,
                                                   text=message.text or "",
                                                   rules=deps.fieldwork))
        await _show_correction(update, corrected)
        return True
    outcome = await deps.run(update, partial(notes.draft_text, caller=caller,
                                             text=message.text or "", rules=deps.fieldwork,
                                             secret=deps.secret,
                                             message_id=_message_id(update)))
    await _show_draft(deps, update, outcome)
    return True


AddEvidence = Callable[[Deps, Update, Presence, Message], Awaitable[DraftOutcome]]


async def _on_photo(deps: Deps, update: Update, context: Context, found: Open) -> bool:
    return await _evidence(deps, update, _add_photo)


async def _on_location(deps: Deps, update: Update, context: Context, found: Open) -> bool:
    return await _evidence(deps, update, _add_location)


async def _evidence(deps: Deps, update: Update, add: AddEvidence) -> bool:
    """A photo or a location for the cadre's note draft (one is started if there is none)."""
    standing = await _presence(deps, update)
    if (standing is None or not standing.is_cadre
            or standing.kind not in (None, *notes.KINDS)):
        return False
    if standing.kind == notes.FIX_KIND:
        await say(update, t("note.fix_text_only", standing.lang))
        return True
    message = update.effective_message
    assert message is not None
    refuse_forwarded(message)  # nor is a forwarded photo's caption taken as the note's text
    outcome = await add(deps, update, standing, message)
    await _show_draft(deps, update, outcome)
    return True


async def _add_photo(deps: Deps, update: Update, standing: Presence,
                     message: Message) -> DraftOutcome:
    limit = deps.fieldwork.max_photos
    if standing.photos >= limit:
        # Checked again under lock below; this only spares a pointless download.
        raise Refused("too_many_photos", standing.lang, {"limit": limit})
    received = await receive_photo(deps, message)
    return await deps.run(update, partial(
        notes.draft_photo, caller=deps.caller(update), stored=received.stored,
        file_unique_id=received.file_unique_id, caption=message.caption,
        rules=deps.fieldwork, secret=deps.secret, message_id=_message_id(update),
    ))


async def _add_location(deps: Deps, update: Update, standing: Presence,
                        message: Message) -> DraftOutcome:
    assert message.location is not None
    return await deps.run(update, partial(
        notes.draft_location, caller=deps.caller(update),
        latitude=message.location.latitude, longitude=message.location.longitude,
        rules=deps.fieldwork, secret=deps.secret, message_id=_message_id(update),
    ))


async def _on_cancel(deps: Deps, update: Update, context: Context, found: Open) -> bool:
    outcome = await deps.run(update, partial(notes.cancel, caller=deps.caller(update)))
    if outcome.cancelled:
        key = "note.fix.cancelled" if found.kind == notes.FIX_KIND else "note.cancelled"
        await say(update, t(key, outcome.lang))
        if outcome.retire is not None:
            await retire(update, outcome.retire)
    else:
        await say(update, t("note.no_dialogue", outcome.lang))
    return True


async def _show_draft(deps: Deps, update: Update, outcome: DraftOutcome) -> None:
    """The refused text first (with the text itself, to edit), then the draft's prompt, last
    so its buttons are at the bottom of the chat."""
    if outcome.too_long is not None:
        await _echo_too_long(update, outcome.too_long, outcome.lang)
        if outcome.added == "text":
            return  # nothing changed: the prompt already shown still holds
    if outcome.blank:
        await say(update, t("note.blank", outcome.lang))
        if outcome.added == "text":
            return  # nothing changed: the prompt already shown still holds
    text, keyboard = _draft_message(outcome, deps.fieldwork.max_photos,
                                    deps.fieldwork.note_max_length)
    shown = await say(update, text, keyboard)
    await _remember(deps, update, outcome.draft.nonce, outcome.draft.version,
                    shown.message_id, outcome.retire)


async def _echo_too_long(update: Update, too_long: TooLong, lang: str) -> None:
    await say(update, t("note.too_long", lang,
                        {"length": too_long.length, "limit": too_long.limit}))
    chat = update.effective_chat
    assert chat is not None
    # Plain text, exactly as sent, so it can be copied back and shortened.
    size = MessageLimit.MAX_TEXT_LENGTH
    for start in range(0, len(too_long.text), size):
        await chat.send_message(too_long.text[start:start + size])


def _draft_message(outcome: DraftOutcome, max_photos: int,
                   limit: int) -> tuple[str, InlineKeyboardMarkup]:
    draft, lang = outcome.draft, outcome.lang
    lines = [t("note.draft.title", lang)]
    if outcome.added != "started":  # a draft just begun has nothing added to say yet
        lines.insert(0, t(f"note.added.{outcome.added}", lang))
    if draft.text:
        lines.append(t("note.draft.text", lang, {"length": len(draft.text), "limit": limit,
                                                  "text": draft.text}))
    else:
        lines.append(t("note.draft.no_text", lang, {"limit": limit}))
    if max_photos:
        key = "note.draft.photos" if draft.photos else "note.draft.no_photos"
        lines.append(t(key, lang, {"count": draft.photos, "limit": max_photos}))
    if draft.place is not None:
        lines.append(t("note.draft.place", lang, {"place": _place(draft.place, lang)},
                       raw=frozenset({"place"})))
    else:
        lines.append(t("note.draft.no_place", lang))
    rows: list[list[InlineKeyboardButton]] = []
    if draft.ready:
        lines.append("")
        lines.append(t("note.draft.ask_task" if draft.tasks else "note.draft.ask_save", lang))
        rows = _task_rows(draft, lang)
    rows.append([InlineKeyboardButton(t("note.btn.cancel", lang),
                                      callback_data=draft.choice("x"))])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def _task_rows(draft: Draft, lang: str) -> list[list[InlineKeyboardButton]]:
    rows = [[InlineKeyboardButton(_clip(task.title, TASK_LABEL),
                                  callback_data=draft.choice(f"t{task.id}"))]
            for task in draft.tasks]
    label = "note.btn.other" if draft.tasks else "note.btn.save"
    rows.append([InlineKeyboardButton(t(label, lang),
                                      callback_data=draft.choice(f"t{notes.OTHER_TASK}"))])
    return rows


def _place(place: Place, lang: str) -> str:
    if place.distance_km is None:
        return t("note.place.unchecked", lang)
    key = "note.place.far" if place.far else "note.place.near"
    return t(key, lang, {"distance": _km(place.distance_km), "centre": place.centre,
                         "radius": _radius(place.radius_km)})


def _km(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _radius(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def _clip(text: str, size: int) -> str:
    return clip(text, size)


async def _remember(deps: Deps, update: Update, nonce: str, version: int, message_id: int,
                    fallback: int | None = None) -> None:
    """Record the prompt just shown and take the buttons off the one it replaces."""
    user = update.effective_user
    assert user is not None
    retire_id = await remember_prompt(deps, "note", lambda uow: notes.remember_prompt(
        uow, user.id, nonce, version, message_id), fallback)
    if retire_id is not None:
        await retire(update, retire_id)


# --- buttons --------------------------------------------------------------------------------


async def _on_button(deps: Deps, update: Update, context: Context) -> bool:
    query = update.callback_query
    assert query is not None
    data = query.data or ""
    draft = _DRAFT_TAP.fullmatch(data)
    if draft is not None:
        await _on_draft_button(deps, update, draft.group(1), int(draft.group(2)),
                               draft.group(3))
        return True
    tapped = _NOTE_TAP.fullmatch(data)
    if tapped is None:
        await answer(query, t("note.forged", await _lang(deps, update)))
        return True
    action, note_id, version = tapped.group(1), int(tapped.group(2)), int(tapped.group(3))
    caller = deps.caller(update)
    if action == CORRECT:
        prompt = await deps.run(update, partial(sent_notes.ask_correction, caller=caller,
                                                note_id=note_id, version=version,
                                                rules=deps.fieldwork, secret=deps.secret,
                                                message_id=_message_id(update)))
        await answer(query, None)
        text = t("note.fix.ask", prompt.lang, {"id": note_id, "text": prompt.note.text,
                                               "limit": deps.fieldwork.note_max_length})
        shown = await say(update, text, InlineKeyboardMarkup([[InlineKeyboardButton(
            t("note.btn.cancel", prompt.lang), callback_data=prompt.choice("x"))]]))
        await _remember(deps, update, prompt.nonce, prompt.version, shown.message_id)
    elif action == WITHDRAW_ASK:
        question = await deps.query(update, partial(sent_notes.check_withdraw, caller=caller,
                                                  note_id=note_id, version=version,
                                                  rules=deps.fieldwork))
        item, lang = question.note, question.lang
        await answer(query, None)
        await say(update, t("note.withdraw.ask", lang, {
            "id": item.id, "date": item.created_at, "excerpt": _excerpt(item.text)}),
            InlineKeyboardMarkup([[
                InlineKeyboardButton(t("note.btn.confirm_withdraw", lang, {"id": item.id}),
                                     callback_data=note_data(WITHDRAW, item.id, item.version)),
                InlineKeyboardButton(t("note.btn.keep", lang),
                                     callback_data=note_data(KEEP, item.id, item.version)),
            ]]))
    elif action == WITHDRAW:
        done = await deps.run(update, partial(sent_notes.withdraw, caller=caller,
                                              note_id=note_id, version=version,
                                              rules=deps.fieldwork))
        await answer(query, None)
        await edit(query, t("note.withdraw.done", done.lang, {"id": done.withdrawn.id}), None)
    else:  # KEEP: nothing changes, but only a cadre's buttons say so
        lang = await deps.query(update, partial(notes.require_cadre, caller=caller))
        await answer(query, None)
        await edit(query, t("note.withdraw.kept", lang, {"id": note_id}), None)
    return True


def note_data(action: str, note_id: int, version: int) -> str:
    return f"n:{action}:{note_id}:{version}"


async def _on_draft_button(deps: Deps, update: Update, nonce: str, version: int,
                           choice: str) -> None:
    query = update.callback_query
    assert query is not None
    outcome = await deps.run(update, partial(notes.draft_tap, caller=deps.caller(update),
                                             nonce=nonce, version=version, choice=choice,
                                             rules=deps.fieldwork))
    await answer(query, None)
    if outcome.saved is not None:
        await edit(query, _saved_text(outcome.saved, outcome.lang, deps), None)
    else:
        key = "note.fix.cancelled" if outcome.cancelled == notes.FIX_KIND else "note.cancelled"
        await edit(query, t(key, outcome.lang), None)


def _photos(count: int, lang: str) -> str:
    if count == 0:
        return t("note.photos.0", lang)
    if count == 1:
        return t("note.photos.1", lang)
    return t("note.photos.n", lang, {"count": count})


def _saved_text(saved: SavedNote, lang: str, deps: Deps) -> str:
    photos = _photos(saved.photos, lang)
    place = saved.place
    if place is None:
        where = t("note.saved.place.none", lang)
    elif place.distance_km is None:
        where = t("note.saved.place.unchecked", lang)
    else:
        where = t("note.saved.place.far" if place.far else "note.saved.place.near", lang, {
            "distance": _km(place.distance_km), "centre": place.centre,
            "radius": _radius(place.radius_km)})
    params = {"id": saved.id, "task": saved.task, "photos": photos, "place": where,
              "hours": _hours(deps)}
    key = "note.saved" if saved.task is not None else "note.saved.no_task"
    return t(key, lang, params, raw=frozenset({"photos", "place"}))


def _hours(deps: Deps) -> str:
    return f"{deps.fieldwork.correction_window.total_seconds() / 3600:g}"


# --- /notes, corrections --------------------------------------------------------------------


async def _on_notes(deps: Deps, update: Update, context: Context) -> bool:
    listed = await deps.query(update, partial(sent_notes.recent_notes,
                                              caller=deps.caller(update), rules=deps.fieldwork))
    lang = listed.lang
    if not listed.notes:
        await say(update, t("note.list.empty", lang))
        return True
    blocks = [t("note.list.title", lang)]
    rows: list[list[InlineKeyboardButton]] = []
    for item in listed.notes:
        blocks.append(_list_item(item, lang))
        if item.changeable_until is not None:
            rows.append([
                InlineKeyboardButton(t("note.btn.correct", lang, {"id": item.id}),
                                     callback_data=note_data(CORRECT, item.id, item.version)),
                InlineKeyboardButton(t("note.btn.withdraw", lang, {"id": item.id}),
                                     callback_data=note_data(WITHDRAW_ASK, item.id,
                                                             item.version)),
            ])
    blocks.append(t("note.list.footer", lang, {"hours": _hours(deps)}))
    await say(update, "\n\n".join(blocks), InlineKeyboardMarkup(rows) if rows else None)
    return True


def _list_item(item: NoteItem, lang: str) -> str:
    flags = []
    if item.far:
        flags.append(t("note.list.far", lang))
    if item.version > 1:
        flags.append(t("note.list.corrected", lang, {"version": item.version}))
    if item.withdrawn:
        flags.append(t("note.list.withdrawn", lang))
    photos = _photos(item.photos, lang)
    return t("note.list.item", lang, {
        "id": item.id, "date": item.created_at,
        "task": item.task if item.task is not None else t("note.list.no_task", lang),
        "photos": photos, "flags": "".join(f" · {flag}" for flag in flags),
        "excerpt": _excerpt(item.text),
    }, raw=frozenset({"photos", "flags"}))


def _excerpt(text: str) -> str:
    return "“" + _clip(" ".join(text.split()), EXCERPT) + "”"


async def _show_correction(update: Update, outcome: sent_notes.CorrectOutcome) -> None:
    lang = outcome.lang
    if outcome.too_long is not None:
        await _echo_too_long(update, outcome.too_long, lang)
    elif outcome.refused is not None:
        refusal = outcome.refused
        await say(update, t(refusal_key("note", refusal.key), lang, refusal.params))
    elif outcome.corrected is not None:
        change = outcome.corrected
        key = "note.fix.done" if change.changed else "note.fix.same"
        await say(update, t(key, lang, {"id": change.id, "version": change.version}))
    if outcome.retire is not None:
        await retire(update, outcome.retire)
