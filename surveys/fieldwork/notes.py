"""Cadres' progress notes: a brief text, optional photos and a location, and the key task.

A note is put together in a draft that lives in ``admin_dialogues`` (kind ``note``, one row
per person), never in memory, so a restart or a second bot process loses nothing. Each
change to the draft bumps the row's ``version``; the task buttons carry it with the draft's
``nonce``, so a tap on an older prompt, or on a prompt of an earlier draft, changes nothing.
Tapping the task saves the note in one transaction: the note, its evidence tied to it and a
``note.create`` audit event with the full content (text, task, the photos' SHA-256, where it
was sent from and how far that is from the cadre's unit).

A note can be corrected (a new version; the audit log keeps every one) or withdrawn, by its
author only and only within the correction window (24 hours by default) after it was sent:
that is :mod:`surveys.fieldwork.sent_notes` (/notes). Correcting waits for the new text in a
dialogue of kind ``note_fix``; presence, Cancel and the prompt's buttons, here, serve both.

The dialogue row is the person's only one: /note does not start while an inspection, a new
campaign or a correction is in progress (``surveys.people.busy``), and the person is told how to
finish or drop it. Typed text belongs to the draft unless the cadre has since moved on to a
self-assessment (the poll was started, answered or shown again after the draft last
changed): then the most recent activity wins, and the text is the poll's.

Notes are a record, not a quota. Nothing here, and nothing that reads notes, may turn their
number, their length or how many photos they carry into any score: counting notes would
reward paperwork, which is what the appraisal is meant to stop. They are there so a cadre's
claims can be checked against what residents and inspectors see.

Pure use cases: no Telegram. Refusals are raised as :class:`~surveys.people.caller.Refused`
with a text key (``note.<key>``) for the chat layer; the transaction then rolls back, so
nothing changes.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from storage.evidence import StoredFile
from storage.ids import is_digits, parse_id
from storage.models import AdminDialogue, Contact, KeyTask, RespondentSession, Response
from surveys.fieldwork.rules import FieldRules, check_location, valid_location
from surveys.people import busy
from surveys.people.access import CADRE_ROLES, Actor, UnitTree
from surveys.people.caller import Caller, Refused, acting_as, resolve_language
from surveys.people.names import display_name
from surveys.respondents.responding import current_response
from surveys.text import clean_text

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

KIND = busy.NOTE
FIX_KIND = busy.NOTE_FIX
COMMAND = "/note"
KINDS = (KIND, FIX_KIND)
OTHER_TASK = 0  # the "other / none" choice: a note about no particular key task


# --- who is asking --------------------------------------------------------------------------


@dataclass(frozen=True)
class Cadre:
    """The cadre behind the caller, acting with their roles."""

    actor: Actor
    lang: str
    unit_ids: list[int]  # the units the person is a cadre of, oldest grant first


async def acting_cadre(uow: UnitOfWork, caller: Caller) -> Cadre:
    """The cadre behind the account.

    Raises:
        Refused: ``not_cadre`` (a resident, a stranger or someone with other roles only),
            ``no_unit`` (a cadre profile without a unit).
    """
    actor, lang = await acting_as(uow, caller, CADRE_ROLES, "not_cadre")
    units = [unit for unit in actor.scopes(CADRE_ROLES) if unit is not None]
    if not units:
        raise Refused("no_unit", lang)
    return Cadre(actor, lang, units)


@dataclass(frozen=True)
class Presence:
    """What the chat layer needs to know before claiming an update (a cheap read)."""

    is_cadre: bool
    # The person's dialogue kind, whoever's it is (None: no dialogue, or an abandoned one
    # of a role the person no longer holds, which anything may replace).
    kind: str | None
    photos: int  # photos in the note draft so far
    lang: str
    # A self-assessment in progress was answered or shown after the note dialogue last
    # changed: typed text is the poll's, not the note's.
    poll_newer: bool = False

    @property
    def in_note_dialogue(self) -> bool:
        return self.kind in KINDS


async def presence(uow: UnitOfWork, telegram_user_id: int, client_language: str | None = None,
                   default_language: str = "en", secret: bytes | None = None) -> Presence:
    """Whether the account is a cadre, which dialogue it is in and its language.

    With ``secret`` (the respondent keys' secret), also whether a poll the person is
    answering is more recent than their note dialogue (see :func:`_poll_is_newer`).
    """
    contact = await uow.contacts.by_user(telegram_user_id)
    lang = resolve_language(contact, client_language, default_language)
    person = await uow.people.by_contact(contact.id) if contact is not None else None
    if person is None or contact is None:
        return Presence(False, None, 0, lang)
    actor = Actor.of(person)
    dialogue = await uow.dialogues.get(person.id)
    if dialogue is not None and busy.abandoned(actor, dialogue):
        dialogue = None
    kind = dialogue.kind if dialogue is not None else None
    photos = len(dialogue.data.get("evidence", [])) if dialogue is not None and kind == KIND else 0
    newer = (dialogue is not None and kind in KINDS and secret is not None
             and await _poll_is_newer(uow, contact, dialogue, telegram_user_id, secret))
    return Presence(actor.has(CADRE_ROLES), kind, photos, lang, newer)


async def _active_response(uow: UnitOfWork, contact: Contact | None, telegram_user_id: int,
                           secret: bytes | None) -> Response | None:
    """The poll response the person is answering, found as the resident journey finds it
    (their session, the response under the respondent key), if in progress."""
    found = await _current_poll(uow, contact, telegram_user_id, secret)
    return found[1] if found is not None else None


async def _current_poll(uow: UnitOfWork, contact: Contact | None, telegram_user_id: int,
                        secret: bytes | None) -> tuple[RespondentSession, Response] | None:
    if contact is None or secret is None:
        return None
    return await current_response(uow, secret, telegram_user_id)


async def _poll_is_newer(uow: UnitOfWork, contact: Contact, dialogue: AdminDialogue,
                         telegram_user_id: int, secret: bytes) -> bool:
    """Whether the poll the person is answering (a self-assessment) saw activity after the
    note dialogue last changed: then the most recent activity wins, and typed text is the
    poll's.

    Each change of the dialogue records where the poll stood (``poll``: the response and
    its step, which every answer moves on) and the person's message that made the change
    (``said``). The poll is newer if it was started or answered since (its id or step
    differ), or if it has shown a question since that message (a poll resumed from its
    invitation, which changes no step). Message ids of a chat only grow, and steps are
    counted in the database, so no clock is compared: the bot's clock and the database's
    (which stamps responses, to the second on SQLite) need not agree.
    """
    found = await _current_poll(uow, contact, telegram_user_id, secret)
    if found is None:
        return False
    session, response = found
    if dialogue.data.get("poll") != [response.id, response.step]:
        return True
    said, shown = dialogue.data.get("said"), session.prompt_message_id
    return said is not None and shown is not None and shown > int(said)


async def stamp(uow: UnitOfWork, caller: Caller, data: dict[str, Any], secret: bytes | None,
                message_id: int | None) -> dict[str, Any]:
    """``data`` with where the person's poll stands now (found with ``secret``, the
    respondent keys') and ``message_id``, the message being handled (None for a button):
    see :func:`_poll_is_newer`."""
    contact = await uow.contacts.by_user(caller.telegram_user_id)
    response = await _active_response(uow, contact, caller.telegram_user_id, secret)
    data["poll"] = [response.id, response.step] if response is not None else None
    if message_id is not None:
        data["said"] = message_id
    return data


# --- the draft ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskChoice:
    id: int
    title: str


@dataclass(frozen=True)
class Place:
    """Where a note was sent from, compared with the cadre's unit.

    ``distance_km`` and ``far`` are None when no unit above the cadre's has a centre;
    ``centre`` names the unit whose centre was used.
    """

    latitude: float
    longitude: float
    unit_id: int
    distance_km: float | None
    far: bool | None
    radius_km: float | None
    centre: str | None

    def to_data(self) -> dict[str, Any]:
        return {"lat": self.latitude, "lon": self.longitude, "unit_id": self.unit_id,
                "distance_km": self.distance_km, "far": self.far, "radius_km": self.radius_km,
                "centre": self.centre}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Place:
        return cls(float(data["lat"]), float(data["lon"]), int(data["unit_id"]),
                   data.get("distance_km"), data.get("far"), data.get("radius_km"),
                   data.get("centre"))


@dataclass(frozen=True)
class TooLong:
    """Text over the limit: refused, not cut, and handed back so it can be edited."""

    text: str
    length: int
    limit: int


@dataclass(frozen=True)
class Draft:
    """The note being put together, as the prompt shows it."""

    nonce: str
    version: int
    text: str
    photos: int
    place: Place | None
    tasks: list[TaskChoice]

    def choice(self, value: str) -> str:
        """Button data for ``value`` at this version of the draft."""
        return choice_data(self.nonce, self.version, value)

    @property
    def ready(self) -> bool:
        """Whether a task tap would save it (a note needs its brief text)."""
        return bool(self.text)


@dataclass(frozen=True)
class DraftOutcome:
    lang: str
    draft: Draft
    # What this message did: "started", "resumed", "text", "photo", "same_photo", "location".
    added: str
    too_long: TooLong | None = None
    retire: int | None = None  # the earlier prompt, whose buttons should go
    # The text (or caption) had nothing visible (only invisible or control characters): it
    # was not taken, and the draft keeps its text.
    blank: bool = False


def choice_data(nonce: str, version: int, choice: str) -> str:
    return f"n:d:{nonce}:{version}:{choice}"


def _new_data() -> dict[str, Any]:
    return {"nonce": secrets.token_hex(3), "text": "", "evidence": [], "place": None}


def checked_text(text: str, rules: FieldRules) -> tuple[str | None, TooLong | None]:
    """The text to keep (cleaned by the rule for typed text; ``""`` if nothing visible is
    left), or why not: never silently cut."""
    text = clean_text(text)
    if len(text) > rules.note_max_length:
        return None, TooLong(text, len(text), rules.note_max_length)
    return text, None


async def _tasks(uow: UnitOfWork, person_id: int) -> list[TaskChoice]:
    found = await uow.cadres.tasks([person_id])
    return [TaskChoice(task.id, task.title) for task in found.get(person_id, [])]


async def _draft(uow: UnitOfWork, dialogue: AdminDialogue) -> Draft:
    data = dialogue.data
    place = data.get("place")
    return Draft(
        nonce=str(data["nonce"]), version=dialogue.version, text=str(data.get("text", "")),
        photos=len(data.get("evidence", [])),
        place=Place.from_data(place) if place else None,
        tasks=await _tasks(uow, dialogue.person_id),
    )


async def _save_draft(uow: UnitOfWork, cadre: Cadre, data: dict[str, Any], caller: Caller,
                      secret: bytes | None, message_id: int | None) -> AdminDialogue:
    stamped = await stamp(uow, caller, data, secret, message_id)
    return await uow.dialogues.start(cadre.actor.person_id, KIND, "draft", stamped, caller.now)


async def _open_draft(
    uow: UnitOfWork, cadre: Cadre,
) -> tuple[AdminDialogue | None, dict[str, Any], bool]:
    """The draft to change (locked), its data (a copy) and whether it is new.

    Raises:
        Refused: ``busy.<kind>`` when another dialogue of the person's is in progress
            (an inspection, a new campaign, a correction): it is not thrown away.
    """
    dialogue = await busy.locked(uow, cadre.actor.person_id, person_first=True)
    if dialogue is not None and dialogue.kind == KIND:
        return dialogue, dict(dialogue.data), False
    refuse_if_busy(cadre, dialogue, (KIND,), COMMAND)
    return dialogue, _new_data(), True


def refuse_if_busy(cadre: Cadre, dialogue: AdminDialogue | None, own: tuple[str, ...],
                    command: str) -> None:
    found = busy.in_the_way(cadre.actor, dialogue, own, command)
    if found is not None:
        raise Refused(found.key, cadre.lang, found.params)


def previous_prompt(dialogue: AdminDialogue | None) -> int | None:
    msg = dialogue.data.get("msg") if dialogue is not None else None
    return int(msg) if msg is not None else None


async def start_note(uow: UnitOfWork, caller: Caller, text: str = "", *, rules: FieldRules,
                     secret: bytes | None = None, message_id: int | None = None
                     ) -> DraftOutcome:
    """``/note [text]``: begin a draft, or go on with the one in progress (nothing a cadre
    has sent is thrown away by typing /note again).

    ``rules`` are the limits; ``secret`` (the respondent keys') and ``message_id`` (the
    message being handled), as every change of the draft takes them, let typed text later
    go to whichever of the draft and a poll in progress saw activity last (:func:`stamp`).
    """
    cadre = await acting_cadre(uow, caller)
    dialogue, data, new = await _open_draft(uow, cadre)
    retire = previous_prompt(dialogue)
    too_long, blank = None, False
    if text.strip():
        kept, too_long = checked_text(text, rules)
        if kept:
            data["text"] = kept
        blank = kept == ""
    saved = await _save_draft(uow, cadre, data, caller, secret, message_id)
    return DraftOutcome(cadre.lang, await _draft(uow, saved), "started" if new else "resumed",
                        too_long, retire, blank)


async def draft_text(uow: UnitOfWork, caller: Caller, text: str, *, rules: FieldRules,
                     secret: bytes | None = None, message_id: int | None = None
                     ) -> DraftOutcome:
    """A typed message during the draft: it becomes (or replaces) the note's text.

    Over the limit, or with nothing visible, it is refused and the draft keeps its previous
    text (and its version, so the buttons already shown still work).
    """
    cadre = await acting_cadre(uow, caller)
    dialogue, data, new = await _open_draft(uow, cadre)
    kept, too_long = checked_text(text, rules)
    blank = kept == ""
    if not kept and dialogue is not None and not new:
        return DraftOutcome(cadre.lang, await _draft(uow, dialogue), "text", too_long,
                            blank=blank)
    if kept:
        data["text"] = kept
    saved = await _save_draft(uow, cadre, data, caller, secret, message_id)
    # A draft begun by a blank text has its first prompt still to show.
    added = "started" if new and blank else "text"
    return DraftOutcome(cadre.lang, await _draft(uow, saved), added, too_long,
                        previous_prompt(dialogue), blank)


async def draft_photo(uow: UnitOfWork, caller: Caller, stored: StoredFile,
                      file_unique_id: str | None, caption: str | None, *, rules: FieldRules,
                      secret: bytes | None = None, message_id: int | None = None
                      ) -> DraftOutcome:
    """A photo (already checked and kept under its SHA-256) for the draft, starting one if
    needed; its caption, if any, is the note's text.

    Raises:
        Refused: ``too_many_photos``.
    """
    cadre = await acting_cadre(uow, caller)
    dialogue, data, _new = await _open_draft(uow, cadre)
    evidence = list(data.get("evidence", []))
    added = "photo"
    if any(item["sha"] == stored.sha256 for item in evidence):
        added = "same_photo"  # sent twice (a resend, an album repeated): keep it once
    elif len(evidence) >= rules.max_photos:
        raise Refused("too_many_photos", cadre.lang, {"limit": rules.max_photos})
    else:
        row = await uow.evidence.add(cadre.actor.person_id, stored, file_unique_id, caller.now)
        evidence.append({"id": row.id, "sha": stored.sha256})
    data["evidence"] = evidence
    too_long, blank = None, False
    if caption and caption.strip():
        # A caption with nothing visible is no caption: the photo is kept all the same.
        kept, too_long = checked_text(caption, rules)
        if kept:
            data["text"] = kept
        blank = kept == ""
    saved = await _save_draft(uow, cadre, data, caller, secret, message_id)
    return DraftOutcome(cadre.lang, await _draft(uow, saved), added, too_long,
                        previous_prompt(dialogue), blank)


async def draft_location(uow: UnitOfWork, caller: Caller, latitude: float,
                         longitude: float, *, rules: FieldRules, secret: bytes | None = None,
                         message_id: int | None = None) -> DraftOutcome:
    """Where the cadre is, for the draft (starting one if needed). Far from their unit is
    accepted, flagged and told; a second location replaces the first.

    Raises:
        Refused: ``bad_location`` (not a point on Earth).
    """
    cadre = await acting_cadre(uow, caller)
    if not valid_location(latitude, longitude):
        raise Refused("bad_location", cadre.lang)
    dialogue, data, _new = await _open_draft(uow, cadre)
    tree = await UnitTree.load(uow)
    data["place"] = locate(tree, cadre.unit_ids, latitude, longitude,
                           rules.default_radius_km, cadre.lang).to_data()
    saved = await _save_draft(uow, cadre, data, caller, secret, message_id)
    return DraftOutcome(cadre.lang, await _draft(uow, saved), "location", None,
                        previous_prompt(dialogue))


def locate(tree: UnitTree, unit_ids: Sequence[int], latitude: float, longitude: float,
           default_radius_km: float, lang: str = "en") -> Place:
    """The cadre's unit the location fits best: inside its area first, then the nearest
    (its centre named in ``lang``)."""
    best: tuple[tuple[int, float], Place] | None = None
    for unit_id in unit_ids:
        check = check_location(tree, [unit_id], latitude, longitude, default_radius_km)
        centre = _centre(tree, unit_id, lang)
        place = Place(latitude, longitude, unit_id, check.distance_km, check.far,
                      check.radius_km, centre)
        rank = ({False: 0, True: 1, None: 2}[check.far], check.distance_km or 0.0)
        if best is None or rank < best[0]:
            best = (rank, place)
    assert best is not None, "a cadre has at least one unit"
    return best[1]


def _centre(tree: UnitTree, unit_id: int, lang: str) -> str | None:
    """The name of the unit whose centre a location is compared with (as check_location)."""
    for ancestor in tree.ancestors(unit_id):
        unit = tree.by_id[ancestor]
        if unit.latitude is not None and unit.longitude is not None:
            return display_name(unit, lang)
    return None


@dataclass(frozen=True)
class SavedNote:
    id: int
    task: str | None
    text: str
    photos: int
    place: Place | None
    unit: str


@dataclass(frozen=True)
class TapOutcome:
    lang: str
    saved: SavedNote | None = None
    cancelled: str | None = None  # the kind of dialogue the Cancel button ended


async def draft_tap(uow: UnitOfWork, caller: Caller, nonce: str, version: int,
                    choice: str, *, rules: FieldRules) -> TapOutcome:
    """A button of the draft's prompt: a task (``t<id>``, ``t0`` for other / none) saves
    the note; ``x`` discards the draft (or a correction waiting for its text).

    Raises:
        Refused: ``stale`` (not the current prompt), ``no_text`` (nothing to save yet),
            ``forged`` (a task that is not the cadre's).
    """
    cadre = await acting_cadre(uow, caller)
    dialogue = await busy.locked(uow, cadre.actor.person_id, person_first=True)
    if (dialogue is None or dialogue.kind not in KINDS or dialogue.version != version
            or dialogue.data.get("nonce") != nonce):
        raise Refused("stale", cadre.lang)
    if choice == "x":
        kind = dialogue.kind
        await uow.dialogues.end(cadre.actor.person_id)
        return TapOutcome(cadre.lang, cancelled=kind)
    if dialogue.kind != KIND or not choice.startswith("t") or not is_digits(choice[1:]):
        raise Refused("forged", cadre.lang)
    task_id = int(choice[1:])
    task = None
    if task_id != OTHER_TASK:
        known = parse_id(task_id)
        task = await uow.cadres.task(known) if known is not None else None
        if task is None or task.person_id != cadre.actor.person_id or not task.active:
            raise Refused("forged", cadre.lang)
    data = dialogue.data
    if not data.get("text"):
        raise Refused("no_text", cadre.lang, {"limit": rules.note_max_length})
    saved = await _save_note(uow, caller, cadre, data, task)
    await uow.dialogues.end(cadre.actor.person_id)
    return TapOutcome(cadre.lang, saved=saved)


async def _save_note(uow: UnitOfWork, caller: Caller, cadre: Cadre, data: dict[str, Any],
                     task: KeyTask | None) -> SavedNote:
    place = Place.from_data(data["place"]) if data.get("place") else None
    unit_id = place.unit_id if place is not None else cadre.unit_ids[0]
    note = await uow.notes.add(
        person_id=cadre.actor.person_id, unit_id=unit_id,
        task_id=task.id if task is not None else None, text=str(data["text"]),
        latitude=place.latitude if place else None,
        longitude=place.longitude if place else None,
        distance_km=place.distance_km if place else None,
        far_from_unit=place.far if place else None,
        created_at=caller.now, updated_at=caller.now, withdrawn_at=None,
    )
    ids = [int(item["id"]) for item in data.get("evidence", [])]
    await uow.evidence.attach(ids, person_id=cadre.actor.person_id, note_id=note.id)
    # The hashes from the rows now tied to the note, not from the draft's copy.
    evidence = (await uow.evidence.of_notes([note.id])).get(note.id, [])
    tree = await UnitTree.load(uow)
    unit = tree.by_id[unit_id]
    await uow.audit.record(cadre.actor.label, "note.create", "note", note.id, after={
        "text": note.text, "version": note.version, "status": note.status.value,
        "unit": unit.code, "task_id": note.task_id, "task": task.title if task else None,
        "evidence": [{"sha256": e.sha256, "size_bytes": e.size_bytes, "media_type": e.media_type}
                     for e in evidence],
        "latitude": note.latitude, "longitude": note.longitude,
        "distance_km": note.distance_km, "far_from_unit": note.far_from_unit,
    })
    return SavedNote(note.id, task.title if task else None, note.text, len(evidence), place,
                     display_name(unit, cadre.lang))


@dataclass(frozen=True)
class CancelOutcome:
    lang: str
    cancelled: bool  # False: there was no note dialogue to cancel
    retire: int | None = None


async def cancel(uow: UnitOfWork, caller: Caller) -> CancelOutcome:
    """``/cancel`` during a note draft or a correction: forget it. Photos already received
    stay on file, tied to no note."""
    cadre = await acting_cadre(uow, caller)
    dialogue = await busy.locked(uow, cadre.actor.person_id, person_first=True)
    if dialogue is None or dialogue.kind not in KINDS:
        return CancelOutcome(cadre.lang, False)
    retire = previous_prompt(dialogue)
    await uow.dialogues.end(cadre.actor.person_id)
    return CancelOutcome(cadre.lang, True, retire)


async def remember_prompt(uow: UnitOfWork, telegram_user_id: int, nonce: str, version: int,
                          message_id: int) -> int | None:
    """Note the message showing the dialogue's prompt at ``version``; returns the message
    whose buttons should be retired: the prompt it replaces or, when the dialogue has moved
    on meanwhile (two photos of an album answered out of order), this one. Does not change
    the dialogue's version."""
    person = await uow.people.by_user(telegram_user_id)
    if person is None:
        return None
    dialogue = await busy.locked(uow, person.id, person_first=True)
    if (dialogue is None or dialogue.kind not in KINDS or dialogue.data.get("nonce") != nonce
            or dialogue.version != version):
        return message_id
    return busy.swap_prompt(dialogue, message_id)


async def require_cadre(uow: UnitOfWork, caller: Caller) -> str:
    """The caller's language, if they are a cadre.

    Raises:
        Refused: ``not_cadre``, ``no_unit``.
    """
    return (await acting_cadre(uow, caller)).lang
