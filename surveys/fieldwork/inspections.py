"""On-the-spot inspections: the ``/inspect`` dialogue and the inspector's own records.

What each step's prompt shows is built in :mod:`surveys.fieldwork.inspection_views`.

An inspector records what they verified on site: a unit (or one of its cadres), a key task
(or none in particular), a verdict, a short remark, and optionally photos and a location.
These records are the "verified results" source for appraisal, so who may record what is
strict:

- only people holding the inspector role, and scoped inspectors only inside their scope;
- nobody inspects a unit they serve as a cadre, nor any unit inside it, nor themselves
  (a conflict of interest): refused, nothing recorded.

Steps: unit → subject → task → verdict → remark → evidence (photos, location, Save). A step
with only one possible answer (a unit without cadres, a subject without key tasks) is
passed over. Photos and a location are taken at any step. Where the inspector is lives in
``admin_dialogues`` (kind ``inspect``), so a restart loses nothing; every change bumps the
row's version, which buttons carry with the dialogue's nonce, so a stale or forged tap
changes nothing. Save writes the inspection, ties the photos to it and records everything
in the audit log, in one transaction.

The dialogue row is the person's only one, so /inspect does not start while a progress
note, a note's correction or a new campaign is in progress (``surveys.people.busy``): the person is
told how to finish or drop it first.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from storage.evidence import StoredFile
from storage.ids import is_digits
from storage.models import AdminDialogue, Evidence, KeyTask, Person, Role, Verdict
from storage.units import UnitLike, UnitNode
from surveys.fieldwork.inspection_views import (
    Context,
    LocationView,
    Recap,
    Screen,
    cadres_of,
    km,
    location_view,
    person_label,
    recap,
    screen_of,
    tasks_of,
    unit_label,
    unit_name_label,
)
from surveys.fieldwork.rules import FieldRules, valid_location
from surveys.people import busy
from surveys.people.access import INSPECTOR_ROLES, Actor, UnitTree
from surveys.people.caller import Caller, Refused, acting_as
from surveys.text import BlankText, require_text

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

KIND = busy.INSPECT
COMMAND = "/inspect"
STEPS = ("unit", "subject", "task", "verdict", "remark", "evidence")
RECORDS_LISTED = 10
NOT_INSPECTOR = "inspect.not_inspector"
# Button choices: u<unit> choose, n<unit> open (n: the top), c<person> a cadre, w the whole
# unit, t<task> a task, g no task in particular, v<a|p|n> a verdict, k keep the remark,
# s save, m more (next page), b back, x cancel.
VERDICTS = {"a": Verdict.ACHIEVED, "p": Verdict.PARTLY, "n": Verdict.NOT_ACHIEVED}
# Ids of any length (ASCII digits): one that cannot exist is "no such unit/cadre/task".
BUTTONS = busy.StepButtons("k", "[a-z][0-9]*|v[apn]")
parse_choice, choice_data = BUTTONS.parse, BUTTONS.data


# --- what may be inspected ------------------------------------------------------------------


class StepError(ValueError):
    """Input that does not fit the step; ``key`` is the full text key to show with it.

    ``echo`` is text to hand back to the inspector (an over-long remark, kept for editing).
    """

    def __init__(self, key: str, echo: str | None = None, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.echo = echo
        self.params: dict[str, object] = params


def conflict_unit(actor: Actor, tree: UnitTree, unit_id: int) -> int | None:
    """The unit the actor serves as a cadre that is, or contains, ``unit_id``; None if none.

    A cadre may not verify their own work, nor that of a unit under their responsibility.
    """
    above = tree.ancestors(unit_id) if unit_id in tree.by_id else [unit_id]
    for role, scope in actor.grants:
        if role != Role.CADRE:
            continue
        if scope is None:
            return unit_id  # a cadre for everything conflicts everywhere
        if scope in above:
            return scope
    return None


def unit_refusal(actor: Actor, tree: UnitTree, unit: UnitLike, lang: str) -> StepError | None:
    """Why the actor may not inspect ``unit`` (outside their scope, or their own), or None."""
    label = unit_name_label(unit, lang)
    if not actor.covers(tree, unit.id, INSPECTOR_ROLES):
        return StepError("inspect.err.out_of_scope", unit=label)
    own = conflict_unit(actor, tree, unit.id)
    if own is not None:
        own_unit = tree.by_id.get(own)
        own_label = unit_name_label(own_unit, lang) if own_unit is not None else label
        return StepError("inspect.err.conflict", unit=label, own=own_label)
    return None


def _find_unit(tree: UnitTree, code: str) -> UnitNode | None:
    code = code.strip()
    return tree.by_code.get(code) or next(
        (u for c, u in tree.by_code.items() if c.lower() == code.lower()), None
    )


@dataclass(frozen=True)
class Saved:
    inspection_id: int
    recap: Recap
    inspected_at: datetime


Outcome = busy.StepOutcome[Screen, Saved]


@dataclass(frozen=True)
class Draft:
    """The cheap read: a person in the middle of ``/inspect``, and how many photos so far."""

    person_id: int
    step: str
    photos: int


# --- the dialogue ---------------------------------------------------------------------------


async def _context(uow: UnitOfWork, caller: Caller, rules: FieldRules) -> Context:
    actor, lang = await acting_as(uow, caller, INSPECTOR_ROLES, NOT_INSPECTOR)
    return Context(uow, caller, actor, lang, await UnitTree.load(uow), rules)


async def _ours(uow: UnitOfWork, person_id: int) -> AdminDialogue | None:
    dialogue = await busy.locked(uow, person_id)
    return dialogue if dialogue is not None and dialogue.kind == KIND else None


async def in_dialogue(uow: UnitOfWork, telegram_user_id: int) -> Draft | None:
    """Whether the account is an inspector in the middle of ``/inspect`` (a cheap read: one
    query for anyone who is not a person with a role). Decides whether text, photos and
    locations belong to the dialogue."""
    person = await uow.people.by_user(telegram_user_id)
    if person is None or not Actor.of(person).has(INSPECTOR_ROLES):
        return None
    dialogue = await uow.dialogues.get(person.id)
    if dialogue is None or dialogue.kind != KIND:
        return None
    return Draft(person.id, dialogue.step, len(dialogue.data.get("photos") or []))


async def start(uow: UnitOfWork, caller: Caller, code: str | None = None, *,
                rules: FieldRules) -> Outcome:
    """``/inspect [UNIT]``: begin (or begin again) at the unit step, or with that unit chosen.
    ``rules``: the limits (remark length, photos, how far is far) here and at every step.

    Raises:
        Refused: not an inspector; ``busy.<kind>``, another dialogue of the person's (a
            progress note, a new campaign) is in progress and is kept; or the unit given
            with the command is unknown, outside the inspector's scope or their own (a
            conflict of interest): nothing is started.
    """
    ctx = await _context(uow, caller, rules)
    # The person first: two first /inspect at once must not both insert the dialogue row.
    previous = await busy.locked(uow, ctx.actor.person_id, person_first=True)
    found = busy.in_the_way(ctx.actor, previous, (KIND,), COMMAND)
    if found is not None:
        raise Refused(found.key, ctx.lang, found.params)
    retire = previous.data.get("msg") if previous is not None else None
    data: dict[str, Any] = {"nonce": secrets.token_hex(3), "trail": [], "page": 0,
                            "photos": []}
    step = "unit"
    if code:
        unit = _find_unit(ctx.tree, code)
        if unit is None:
            raise Refused("inspect.err.unknown_unit", ctx.lang, {"code": code})
        refusal = unit_refusal(ctx.actor, ctx.tree, unit, ctx.lang)
        if refusal is not None:
            raise Refused(refusal.key, ctx.lang, refusal.params)
        _choose_unit(data, unit)
        data["trail"] = ["unit"]  # Back still leads to the unit list
        step = await _skip(ctx, data, "subject")
    dialogue = await uow.dialogues.start(ctx.actor.person_id, KIND, step, data, caller.now)
    screen = await screen_of(ctx, dialogue)
    return Outcome(ctx.lang, screen=screen,
                   retire=int(retire) if isinstance(retire, int) else None)


async def cancel(uow: UnitOfWork, caller: Caller) -> Outcome:
    """``/cancel`` during the dialogue: forget it (photos already received stay unattached)."""
    actor, lang = await acting_as(uow, caller, INSPECTOR_ROLES, NOT_INSPECTOR)
    dialogue = await _ours(uow, actor.person_id)
    if dialogue is None:
        return Outcome(lang, notice="no_dialogue")
    retire = dialogue.data.get("msg")
    await uow.dialogues.end(actor.person_id)
    return Outcome(lang, notice="cancelled",
                   retire=int(retire) if isinstance(retire, int) else None)


async def remember_prompt(uow: UnitOfWork, caller: Caller, nonce: str, version: int,
                          message_id: int) -> int | None:
    """Note the message showing the prompt at ``version``; returns the message whose buttons
    should be retired: the prompt it replaces or, when the dialogue has moved on meanwhile
    (photos of an album answered out of order, a tap racing a photo), this one. Does not
    change the dialogue's version."""
    person = await uow.people.by_user(caller.telegram_user_id)
    if person is None:
        return message_id
    dialogue = await _ours(uow, person.id)
    if (dialogue is None or dialogue.data.get("nonce") != nonce
            or dialogue.version != version):
        return message_id
    return busy.swap_prompt(dialogue, message_id)


async def dialogue_tap(uow: UnitOfWork, caller: Caller, nonce: str, version: int,
                       choice: str, *, rules: FieldRules) -> Outcome:
    """A button of the dialogue; refused as stale unless it is on the current prompt."""
    ctx = await _context(uow, caller, rules)
    dialogue = await _ours(uow, ctx.actor.person_id)
    if (dialogue is None or dialogue.version != version
            or dialogue.data.get("nonce") != nonce):
        return Outcome(ctx.lang, stale=True)
    return await _apply(ctx, dialogue, tap=choice)


async def dialogue_text(uow: UnitOfWork, caller: Caller, typed: str, *,
                        rules: FieldRules) -> Outcome:
    """A typed answer: a unit code at the unit step, the remark at the remark step (or a
    corrected remark at the evidence step)."""
    ctx = await _context(uow, caller, rules)
    dialogue = await _ours(uow, ctx.actor.person_id)
    if dialogue is None:
        return Outcome(ctx.lang, notice="no_dialogue")
    return await _apply(ctx, dialogue, text=typed)


async def add_photo(uow: UnitOfWork, caller: Caller, stored: StoredFile,
                    file_unique_id: str | None, caption: str | None = None, *,
                    rules: FieldRules) -> Outcome:
    """A photo, already checked and kept under its SHA-256: add it to the draft (the same
    photo twice counts once). A caption is taken as the remark."""
    ctx = await _context(uow, caller, rules)
    dialogue = await _ours(uow, ctx.actor.person_id)
    if dialogue is None:
        return Outcome(ctx.lang, notice="no_dialogue")
    data = dict(dialogue.data)
    photos = [int(i) for i in data.get("photos") or []]
    limit = rules.max_photos
    if len(photos) >= limit:
        return await _show_error(ctx, dialogue, StepError("inspect.err.too_many_photos",
                                                          max=limit))
    drafts = await uow.evidence.get_many(photos)
    if any(e.sha256 == stored.sha256 for e in drafts):
        info, params = "inspect.info.photo_again", {"count": len(photos), "max": limit}
    else:
        evidence = await uow.evidence.add(ctx.actor.person_id, stored, file_unique_id,
                                          caller.now)
        photos.append(evidence.id)
        info, params = "inspect.info.photo_added", {"count": len(photos), "max": limit}
    data["photos"] = photos
    step = dialogue.step
    error: StepError | None = None
    if caption and caption.strip():
        try:
            data["remark"] = _remark(caption, rules)
        except StepError as exc:
            error = exc
        else:
            if step == "remark":
                step = _forward(data, step, "evidence")
    moved = await uow.dialogues.start(ctx.actor.person_id, KIND, step, data, caller.now)
    shown = await screen_of(ctx, moved, error=error.key if error else None,
                            params=error.params if error else None, info=info,
                            info_params=params)
    return Outcome(ctx.lang, screen=shown, echo=error.echo if error else None)


async def evidence_refused(uow: UnitOfWork, caller: Caller, key: str,
                           params: Mapping[str, object], *, rules: FieldRules) -> Outcome:
    """A file that could not be kept (too large, not an image, unavailable): say why on the
    current prompt, change nothing."""
    ctx = await _context(uow, caller, rules)
    dialogue = await _ours(uow, ctx.actor.person_id)
    if dialogue is None:
        return Outcome(ctx.lang, notice="no_dialogue")
    error = StepError(key)
    error.params.update(params)
    return await _show_error(ctx, dialogue, error)


async def add_location(uow: UnitOfWork, caller: Caller, latitude: float,
                       longitude: float, *, rules: FieldRules) -> Outcome:
    """A shared location: kept with the draft and, once the unit is known, compared with the
    unit's area (far away is accepted, and flagged)."""
    ctx = await _context(uow, caller, rules)
    dialogue = await _ours(uow, ctx.actor.person_id)
    if dialogue is None:
        return Outcome(ctx.lang, notice="no_dialogue")
    if not valid_location(latitude, longitude):
        return await _show_error(ctx, dialogue, StepError("inspect.err.bad_location"))
    data = {**dialogue.data, "location": [latitude, longitude]}
    moved = await uow.dialogues.start(ctx.actor.person_id, KIND, dialogue.step, data,
                                      caller.now)
    view = location_view(ctx, data)
    if view is None or view.distance_km is None:
        info, params = "inspect.info.location_kept", {}
    else:
        info = "inspect.info.location_far" if view.far else "inspect.info.location_near"
        params = {"distance": km(view.distance_km), "radius": km(view.radius_km or 0.0),
                  "unit": unit_label(ctx.tree, data, ctx.lang)}
    return Outcome(ctx.lang, screen=await screen_of(ctx, moved, info=info, info_params=params))


async def _show_error(ctx: Context, dialogue: AdminDialogue, error: StepError) -> Outcome:
    # The prompt is shown again with the error; the version is bumped so the earlier copy's
    # buttons (retired after sending) cannot act a second time.
    moved = await ctx.uow.dialogues.start(ctx.actor.person_id, KIND, dialogue.step,
                                          dict(dialogue.data), ctx.caller.now)
    shown = await screen_of(ctx, moved, error=error.key, params=error.params)
    return Outcome(ctx.lang, screen=shown, echo=error.echo)


async def _apply(ctx: Context, dialogue: AdminDialogue, *, tap: str | None = None,
                 text: str | None = None) -> Outcome:
    uow, caller, actor = ctx.uow, ctx.caller, ctx.actor
    data = dict(dialogue.data)
    step = dialogue.step
    if tap == "x":
        await uow.dialogues.end(actor.person_id)
        return Outcome(ctx.lang, notice="cancelled")
    if tap == "b":
        trail = [str(s) for s in data.get("trail") or []]
        if not trail:
            return await _show_error(ctx, dialogue, StepError("inspect.err.use_buttons"))
        back = trail.pop()
        data.update(trail=trail, page=0)
        moved = await uow.dialogues.start(actor.person_id, KIND, back, data, caller.now)
        return Outcome(ctx.lang, screen=await screen_of(ctx, moved))
    if tap == "m":
        data["page"] = int(data.get("page") or 0) + 1
        moved = await uow.dialogues.start(actor.person_id, KIND, step, data, caller.now)
        return Outcome(ctx.lang, screen=await screen_of(ctx, moved))
    try:
        if tap == "s":
            if step != "evidence":
                raise StepError("inspect.err.use_buttons")
            return await _save(ctx, data)
        following = await _STEP_INPUT[step](ctx, data, tap, text)
    except StepError as exc:
        return await _show_error(ctx, dialogue, exc)
    moved = await uow.dialogues.start(actor.person_id, KIND, following, data, caller.now)
    return Outcome(ctx.lang, screen=await screen_of(ctx, moved))


def _forward(data: dict[str, Any], step: str, following: str) -> str:
    """Move on from ``step``, remembering it for Back."""
    if following != step:
        data["trail"] = [*(data.get("trail") or []), step]
        data["page"] = 0
    return following


def _tapped(tap: str | None, prefix: str) -> int | None:
    if tap is None or not tap.startswith(prefix) or not is_digits(tap[len(prefix):]):
        return None
    return int(tap[len(prefix):])


def _choose_unit(data: dict[str, Any], unit: UnitLike) -> None:
    # A new unit: the subject and task chosen for another one no longer apply.
    data.update(unit_id=unit.id, browse=None)
    for key in ("cadre_id", "subject", "task_id", "task"):
        data.pop(key, None)


async def _unit_input(ctx: Context, data: dict[str, Any], tap: str | None,
                      text: str | None) -> str:
    visible = ctx.actor.visible_units(ctx.tree, INSPECTOR_ROLES)
    if tap is not None and tap.startswith("n"):
        target = _tapped(tap, "n")
        if tap != "n" and (target is None or target not in visible):
            raise StepError("inspect.err.out_of_scope", unit="?")
        data.update(browse=target, page=0)
        return "unit"
    unit: UnitLike | None
    target = _tapped(tap, "u")
    if target is not None:
        unit = ctx.tree.by_id.get(target)
        if unit is None:
            raise StepError("inspect.err.unknown_unit", code="?")
    elif text and text.strip():
        unit = _find_unit(ctx.tree, text)
        if unit is None:
            raise StepError("inspect.err.unknown_unit", code=text.strip())
    else:
        raise StepError("inspect.err.use_buttons")
    refusal = unit_refusal(ctx.actor, ctx.tree, unit, ctx.lang)
    if refusal is not None:
        raise refusal
    _choose_unit(data, unit)
    _forward(data, "unit", "subject")
    return await _skip(ctx, data, "subject")


async def _skip(ctx: Context, data: dict[str, Any], step: str) -> str:
    """Pass over a step with nothing to choose: a unit without cadres is inspected as a
    whole; a subject without key tasks gets "no task in particular"."""
    if step == "subject" and not await cadres_of(ctx, int(data["unit_id"])):
        data.update(subject=True, cadre_id=None)
        step = "task"
    if step == "task" and not await tasks_of(ctx, data):
        data.update(task=True, task_id=None)
        step = "verdict"
    return step


async def _subject_input(ctx: Context, data: dict[str, Any], tap: str | None,
                         text: str | None) -> str:
    if tap == "w":
        cadre_id = None
    else:
        cadre_id = _tapped(tap, "c")
        cadres = {p.id for p in await cadres_of(ctx, int(data["unit_id"]))}
        if cadre_id is None or cadre_id not in cadres:
            raise StepError("inspect.err.use_buttons")
    data.update(subject=True, cadre_id=cadre_id)
    data.pop("task", None)
    data.pop("task_id", None)
    _forward(data, "subject", "task")
    return await _skip(ctx, data, "task")


async def _task_input(ctx: Context, data: dict[str, Any], tap: str | None,
                      text: str | None) -> str:
    if tap == "g":
        task_id = None
    else:
        task_id = _tapped(tap, "t")
        if task_id is None or task_id not in {task.id for task, _ in await tasks_of(ctx, data)}:
            raise StepError("inspect.err.use_buttons")
    data.update(task=True, task_id=task_id)
    return _forward(data, "task", "verdict")


async def _verdict_input(ctx: Context, data: dict[str, Any], tap: str | None,
                         text: str | None) -> str:
    verdict = VERDICTS.get(tap[1:]) if tap is not None and tap.startswith("v") else None
    if verdict is None:
        raise StepError("inspect.err.use_buttons")
    data["verdict"] = verdict.value
    # A remark already typed (the inspector came Back to change the verdict) is kept.
    return _forward(data, "verdict", "evidence" if data.get("remark") else "remark")


def _remark(typed: str, rules: FieldRules) -> str:
    """The remark as typed, cleaned by the rule for typed text (NUL and other control
    characters out). With nothing visible it is refused; over the limit it is refused
    whole, never cut."""
    try:
        remark = require_text(typed)
    except BlankText as blank:
        raise StepError(f"inspect.err.remark_{blank.reason}") from None
    if len(remark) > rules.remark_max_length:
        raise StepError("inspect.err.remark_too_long", echo=remark, length=len(remark),
                        max_length=rules.remark_max_length)
    return remark


async def _remark_input(ctx: Context, data: dict[str, Any], tap: str | None,
                        text: str | None) -> str:
    if tap == "k" and data.get("remark"):
        return _forward(data, "remark", "evidence")
    if text is None:
        raise StepError("inspect.err.type_remark", max_length=ctx.rules.remark_max_length)
    data["remark"] = _remark(text, ctx.rules)
    return _forward(data, "remark", "evidence")


async def _evidence_input(ctx: Context, data: dict[str, Any], tap: str | None,
                          text: str | None) -> str:
    if text is None:
        raise StepError("inspect.err.use_buttons")
    data["remark"] = _remark(text, ctx.rules)  # typed again here: a corrected remark
    return "evidence"


_STEP_INPUT = {
    "unit": _unit_input,
    "subject": _subject_input,
    "task": _task_input,
    "verdict": _verdict_input,
    "remark": _remark_input,
    "evidence": _evidence_input,
}


# --- saving ---------------------------------------------------------------------------------


async def _save(ctx: Context, data: dict[str, Any]) -> Outcome:
    """Check everything again (roles and cadres may have changed since the first tap), then
    write the inspection, tie its photos to it and audit it, in this one transaction."""
    uow, caller, actor, tree = ctx.uow, ctx.caller, ctx.actor, ctx.tree
    unit = tree.by_id.get(int(data.get("unit_id") or 0))
    if unit is None:
        raise StepError("inspect.err.unknown_unit", code="?")
    refusal = unit_refusal(actor, tree, unit, ctx.lang)
    if refusal is not None:
        raise refusal
    if not data.get("subject") or not data.get("task") or not data.get("verdict"):
        raise StepError("inspect.err.incomplete")
    remark = _remark(str(data.get("remark") or ""), ctx.rules)
    cadre_id = data.get("cadre_id")
    cadres = {p.id: p for p in await cadres_of(ctx, unit.id)}
    if cadre_id is not None and cadre_id not in cadres:
        raise StepError("inspect.err.not_a_cadre")
    task_id = data.get("task_id")
    tasks = {task.id: task for task, _ in await tasks_of(ctx, data)}
    if task_id is not None and task_id not in tasks:
        raise StepError("inspect.err.task_gone")
    verdict = Verdict(str(data["verdict"]))
    location = location_view(ctx, data)
    inspection = await uow.inspections.add(
        inspector_id=actor.person_id, unit_id=unit.id, cadre_id=cadre_id, task_id=task_id,
        verdict=verdict, remark=remark,
        latitude=location.latitude if location else None,
        longitude=location.longitude if location else None,
        distance_km=location.distance_km if location else None,
        far_from_unit=location.far if location else None,
        inspected_at=caller.now,
    )
    photos = [e for e in await uow.evidence.get_many(int(i) for i in data.get("photos") or [])
              if e.person_id == actor.person_id and e.note_id is None
              and e.inspection_id is None]
    await uow.evidence.attach([e.id for e in photos], person_id=actor.person_id,
                              inspection_id=inspection.id)
    cadre = cadres.get(cadre_id) if cadre_id is not None else None
    task = tasks.get(task_id) if task_id is not None else None
    await uow.audit.record(actor.label, "inspection.record", "inspection", inspection.id,
                           after=_audit_record(unit, cadre, task, verdict, remark, photos,
                                               location, caller.now))
    await uow.dialogues.end(actor.person_id)
    summary = await recap(ctx, {**data, "photos": [e.id for e in photos]})
    return Outcome(ctx.lang, done=Saved(inspection.id, summary, caller.now))


def _audit_record(unit: UnitLike, cadre: Person | None, task: KeyTask | None, verdict: Verdict,
                  remark: str, photos: Sequence[Evidence], location: LocationView | None,
                  at: datetime) -> dict[str, Any]:
    return {
        "unit": unit.code,
        "cadre_id": cadre.id if cadre is not None else None,
        "cadre": cadre.name if cadre is not None else None,
        "whole_unit": cadre is None,
        "task_id": task.id if task is not None else None,
        "task": task.title if task is not None else None,
        "verdict": verdict.value,
        "remark": remark,
        "evidence": [{"sha256": e.sha256, "path": e.path, "bytes": e.size_bytes,
                      "media_type": e.media_type} for e in photos],
        "latitude": location.latitude if location else None,
        "longitude": location.longitude if location else None,
        "distance_km": location.distance_km if location else None,
        "radius_km": location.radius_km if location else None,
        "far_from_unit": location.far if location else None,
        "inspected_at": at.isoformat(),
    }


# --- the inspector's records ----------------------------------------------------------------


@dataclass(frozen=True)
class RecordView:
    inspection_id: int
    inspected_at: datetime
    unit: str
    cadre: str | None  # None: the unit as a whole
    task: str | None  # None: no task in particular
    verdict: Verdict
    remark: str
    photos: int
    distance_km: float | None
    far: bool | None


@dataclass(frozen=True)
class RecordList:
    lang: str
    records: list[RecordView]


async def recent(uow: UnitOfWork, caller: Caller) -> RecordList:
    """``/inspections``: the inspector's latest records, newest first."""
    actor, lang = await acting_as(uow, caller, INSPECTOR_ROLES, NOT_INSPECTOR)
    tree = await UnitTree.load(uow)
    inspections = await uow.inspections.by_inspector(actor.person_id, RECORDS_LISTED)
    photos = await uow.evidence.of_inspections(i.id for i in inspections)
    records: list[RecordView] = []
    for inspection in inspections:
        unit = tree.by_id.get(inspection.unit_id)
        cadre = (await uow.cadres.get(inspection.cadre_id)
                 if inspection.cadre_id is not None else None)
        task = (await uow.cadres.task(inspection.task_id)
                if inspection.task_id is not None else None)
        records.append(RecordView(
            inspection_id=inspection.id, inspected_at=inspection.inspected_at,
            unit=unit_name_label(unit, lang) if unit is not None else "?",
            cadre=person_label(cadre, lang) if cadre is not None else None,
            task=task.title if task is not None else None,
            verdict=inspection.verdict, remark=inspection.remark,
            photos=len(photos.get(inspection.id, [])),
            distance_km=inspection.distance_km, far=inspection.far_from_unit,
        ))
    return RecordList(lang, records)
