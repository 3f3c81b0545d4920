"""A cadre's sent notes (/notes): listed, corrected (a new version) or withdrawn.

Only the note's author may change it, and only within the correction window (24 hours by
default) after it was sent; the audit log keeps every version, and a withdrawn note is kept,
marked, never deleted. Correcting waits for the new text in a dialogue of kind ``note_fix``,
the person's one dialogue row (as a draft of :mod:`surveys.fieldwork.notes` is), so it does
not start while another dialogue is in progress.

Refusals are :class:`~surveys.people.caller.Refused` with a ``note.<key>`` text key.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from storage.ids import parse_id, shown_id
from storage.models import Note, NoteStatus
from surveys.fieldwork.notes import (
    FIX_KIND,
    KIND,
    KINDS,
    Cadre,
    TooLong,
    acting_cadre,
    checked_text,
    choice_data,
    previous_prompt,
    refuse_if_busy,
    stamp,
)
from surveys.fieldwork.rules import FieldRules
from surveys.people import busy
from surveys.people.caller import Caller, Refused

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

NOTES_LISTED = 10


@dataclass(frozen=True)
class NoteItem:
    id: int
    created_at: datetime
    task: str | None
    text: str
    photos: int
    far: bool | None
    withdrawn: bool
    version: int
    changeable_until: datetime | None  # None: the window has passed, or it is withdrawn


@dataclass(frozen=True)
class NoteList:
    lang: str
    notes: list[NoteItem]
    window: timedelta


async def recent_notes(uow: UnitOfWork, caller: Caller, *, rules: FieldRules) -> NoteList:
    """``/notes``: the cadre's latest notes, newest first, each with until when it may be
    changed (``rules.correction_window`` after it was sent)."""
    cadre = await acting_cadre(uow, caller)
    person_id = cadre.actor.person_id
    notes = await uow.notes.recent(person_id, NOTES_LISTED)
    titles = await _titles(uow, person_id)
    photos = await uow.evidence.of_notes([note.id for note in notes])
    window = rules.correction_window
    items = [_item(note, titles, len(photos.get(note.id, [])), caller.now, window)
             for note in notes]
    return NoteList(cadre.lang, items, window)


async def _titles(uow: UnitOfWork, person_id: int) -> dict[int, str]:
    """Every task the cadre has had: a note keeps naming a task that is no longer active."""
    found = await uow.cadres.tasks([person_id], active_only=False)
    return {task.id: task.title for task in found.get(person_id, [])}


def _item(note: Note, titles: dict[int, str], photos: int, now: datetime,
          window: timedelta) -> NoteItem:
    until = note.created_at + window
    open_ = note.status == NoteStatus.SUBMITTED and now <= until
    return NoteItem(
        id=note.id, created_at=note.created_at,
        task=titles.get(note.task_id) if note.task_id is not None else None, text=note.text,
        photos=photos, far=note.far_from_unit, withdrawn=note.status == NoteStatus.WITHDRAWN,
        version=note.version, changeable_until=until if open_ else None,
    )


async def _shown(uow: UnitOfWork, cadre: Cadre, note: Note, now: datetime,
                 window: timedelta) -> NoteItem:
    photos = len((await uow.evidence.of_notes([note.id])).get(note.id, []))
    return _item(note, await _titles(uow, cadre.actor.person_id), photos, now, window)


async def _own_note(uow: UnitOfWork, caller: Caller, cadre: Cadre, note_id: int,
                    version: int | None, window: timedelta) -> Note:
    """The caller's note, still open to change (``window`` after it was sent), at
    ``version`` if given (locked).

    Raises:
        Refused: ``no_note`` (not theirs, or none: the same answer, so a forged id
            learns nothing), ``withdrawn``, ``window_closed``, ``stale``.
    """
    known = parse_id(note_id)
    note = await uow.notes.get(known, lock=True) if known is not None else None
    if note is None or note.person_id != cadre.actor.person_id:
        raise Refused("no_note", cadre.lang, {"id": shown_id(note_id)})
    if note.status == NoteStatus.WITHDRAWN:
        raise Refused("withdrawn", cadre.lang, {"id": note_id})
    if caller.now > note.created_at + window:
        raise Refused("window_closed", cadre.lang, {
            "id": note_id, "hours": _hours(window), "sent_at": note.created_at,
        })
    if version is not None and note.version != version:
        raise Refused("stale", cadre.lang)
    return note


async def _changeable(uow: UnitOfWork, caller: Caller, note_id: int, version: int,
                      rules: FieldRules) -> tuple[Cadre, Note]:
    """The cadre, and their note as :func:`_own_note` finds it."""
    cadre = await acting_cadre(uow, caller)
    return cadre, await _own_note(uow, caller, cadre, note_id, version, rules.correction_window)


def _hours(window: timedelta) -> str:
    return f"{window.total_seconds() / 3600:g}"


@dataclass(frozen=True)
class FixPrompt:
    lang: str
    note: NoteItem
    nonce: str
    version: int  # of the note_fix dialogue (its Cancel button carries it)

    def choice(self, value: str) -> str:
        return choice_data(self.nonce, self.version, value)


async def ask_correction(uow: UnitOfWork, caller: Caller, note_id: int, version: int, *,
                         rules: FieldRules, secret: bytes | None = None,
                         message_id: int | None = None) -> FixPrompt:
    """The Correct button: wait for the new text of the note (a ``note_fix`` dialogue).
    ``secret`` and ``message_id`` are recorded as a draft's are
    (:func:`surveys.fieldwork.notes.stamp`).

    Raises:
        Refused: ``draft_open`` (a note draft with content is in progress: one dialogue
            per person, and it would be lost), ``busy.<kind>`` (an inspection or a new
            campaign is in progress), or as :func:`_own_note`.
    """
    cadre = await acting_cadre(uow, caller)
    # The person first, then the note, as everywhere: the other order could deadlock with
    # a correction's text arriving at the same moment (PostgreSQL).
    current = await busy.locked(uow, cadre.actor.person_id, person_first=True)
    note = await _own_note(uow, caller, cadre, note_id, version, rules.correction_window)
    if (current is not None and current.kind == KIND
            and (current.data.get("text") or current.data.get("evidence"))):
        raise Refused("draft_open", cadre.lang)
    refuse_if_busy(cadre, current, KINDS, "/notes")
    data = {"nonce": secrets.token_hex(3), "note_id": note.id, "note_version": note.version}
    stamped = await stamp(uow, caller, data, secret, message_id)
    dialogue = await uow.dialogues.start(cadre.actor.person_id, FIX_KIND, "text", stamped,
                                         caller.now)
    shown = await _shown(uow, cadre, note, caller.now, rules.correction_window)
    return FixPrompt(cadre.lang, shown, str(data["nonce"]), dialogue.version)


@dataclass(frozen=True)
class NoteChange:
    id: int
    version: int
    changed: bool = True


@dataclass(frozen=True)
class CorrectOutcome:
    lang: str
    corrected: NoteChange | None = None
    too_long: TooLong | None = None
    refused: Refused | None = None  # the correction cannot be made; the dialogue ended
    retire: int | None = None  # the correction's prompt, once the correction is over


async def correct_text(uow: UnitOfWork, caller: Caller, text: str, *,
                       rules: FieldRules) -> CorrectOutcome:
    """The new text for the note being corrected: a new version, audited with the old.

    Over the limit, the text is refused and handed back and the correction still waits.
    If the note can no longer be changed (the window closed while the cadre typed), the
    correction ends with the reason.
    """
    cadre = await acting_cadre(uow, caller)
    dialogue = await busy.locked(uow, cadre.actor.person_id, person_first=True)
    if dialogue is None or dialogue.kind != FIX_KIND:
        raise Refused("no_dialogue", cadre.lang)
    kept, too_long = checked_text(text, rules)
    if kept is None:
        return CorrectOutcome(cadre.lang, too_long=too_long)
    if not kept:
        # Nothing visible (or nothing at all): the correction still waits for the text.
        raise Refused("invisible_text" if text.strip() else "empty_text", cadre.lang)
    note_id, version = int(dialogue.data["note_id"]), int(dialogue.data["note_version"])
    retire = previous_prompt(dialogue)
    await uow.dialogues.end(cadre.actor.person_id)
    try:
        note = await _own_note(uow, caller, cadre, note_id, version, rules.correction_window)
    except Refused as refusal:
        return CorrectOutcome(cadre.lang, refused=refusal, retire=retire)
    if kept == note.text:
        return CorrectOutcome(cadre.lang, corrected=NoteChange(note.id, note.version, False),
                              retire=retire)
    before = {"text": note.text, "version": note.version}
    note.text, note.version, note.updated_at = kept, note.version + 1, caller.now
    await uow.session.flush()
    await uow.audit.record(cadre.actor.label, "note.correct", "note", note.id, before=before,
                           after={"text": note.text, "version": note.version})
    return CorrectOutcome(cadre.lang, corrected=NoteChange(note.id, note.version),
                          retire=retire)


@dataclass(frozen=True)
class WithdrawQuestion:
    lang: str
    note: NoteItem


async def check_withdraw(uow: UnitOfWork, caller: Caller, note_id: int, version: int, *,
                         rules: FieldRules) -> WithdrawQuestion:
    """The Withdraw button: the note to confirm withdrawing (nothing changes yet)."""
    cadre, note = await _changeable(uow, caller, note_id, version, rules)
    shown = await _shown(uow, cadre, note, caller.now, rules.correction_window)
    return WithdrawQuestion(cadre.lang, shown)


@dataclass(frozen=True)
class WithdrawOutcome:
    lang: str
    withdrawn: NoteChange


async def withdraw(uow: UnitOfWork, caller: Caller, note_id: int, version: int, *,
                   rules: FieldRules) -> WithdrawOutcome:
    """Confirmed: the note is withdrawn (kept, marked, and audited; never deleted)."""
    cadre, note = await _changeable(uow, caller, note_id, version, rules)
    before = {"status": note.status.value, "version": note.version, "text": note.text}
    note.status, note.withdrawn_at, note.updated_at = NoteStatus.WITHDRAWN, caller.now, caller.now
    await uow.session.flush()
    await uow.audit.record(cadre.actor.label, "note.withdraw", "note", note.id, before=before,
                           after={"status": note.status.value, "version": note.version})
    return WithdrawOutcome(cadre.lang, NoteChange(note.id, note.version))
