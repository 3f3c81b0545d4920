"""On-the-spot inspections: the ``/inspect`` dialogue and the inspector's own records.

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

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from storage.evidence import StoredFile
from storage.ids import is_digits
from storage.models import AdminDialogue, Evidence, KeyTask, Person, Role, Unit, Verdict
from surveys.fieldwork.rules import FieldRules, LocationCheck, check_location, valid_location
from surveys.people import busy
from surveys.people.access import Actor, NotAllowed, UnitTree, acting
from surveys.respondents.responding import resolve_language
from surveys.text import BlankText, require_text

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

KIND = busy.INSPECT
COMMAND = "/inspect"
STEPS = ("unit", "subject", "task", "verdict", "remark", "evidence")
INSPECTOR_ROLES = (Role.INSPECTOR,)
PAGE_SIZE = 8
RECORDS_LISTED = 10
LABEL_LENGTH = 60
# Button choices: u<unit> choose, n<unit> open (n: the top), c<person> a cadre, w the whole
# unit, t<task> a task, g no task in particular, v<a|p|n> a verdict, k keep the remark,
# s save, m more (next page), b back, x cancel.
VERDICTS = {"a": Verdict.ACHIEVED, "p": Verdict.PARTLY, "n": Verdict.NOT_ACHIEVED}
# Ids of any length (ASCII digits): one that cannot exist is "no such unit/cadre/task".
_CHOICE = re.compile(r"k:([0-9a-f]{6}):([0-9]{1,9}):([a-z][0-9]*|v[apn])")


def parse_choice(data: str | None) -> tuple[str, int, str] | None:
    """Decode button data ``k:<nonce>:<version>:<choice>``; None if malformed (forged)."""
    match = _CHOICE.fullmatch(data or "")
    if match is None:
        return None
    return match.group(1), int(match.group(2)), match.group(3)


def choice_data(nonce: str, version: int, choice: str) -> str:
    return f"k:{nonce}:{version}:{choice}"


# --- who is asking --------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """The Telegram account behind an inspector's command, and the limits that apply."""

    telegram_user_id: int
    now: datetime
    client_language: str | None = None
    default_language: str = "en"
    rules: FieldRules = field(default_factory=FieldRules)


class Refused(Exception):
    """The caller may not do this; ``key`` is the full text key of the reason."""

    def __init__(self, key: str, lang: str, params: Mapping[str, object] | None = None) -> None:
        super().__init__(key)
        self.key = key
        self.lang = lang
        self.params: dict[str, object] = dict(params or {})


class StepError(ValueError):
    """Input that does not fit the step; ``key`` is the full text key to show with it.

    ``echo`` is text to hand back to the inspector (an over-long remark, kept for editing).
    """

    def __init__(self, key: str, echo: str | None = None, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.echo = echo
        self.params: dict[str, object] = params


async def _language(uow: UnitOfWork, caller: Caller) -> str:
    contact = await uow.contacts.by_user(caller.telegram_user_id)
    return resolve_language(contact, caller.client_language, caller.default_language)


async def _acting(uow: UnitOfWork, caller: Caller) -> tuple[Actor, str]:
    lang = await _language(uow, caller)
    try:
        actor = await acting(uow, caller.telegram_user_id, INSPECTOR_ROLES)
    except NotAllowed as exc:
        raise Refused("inspect.not_inspector", lang) from exc
    return actor, lang


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


def unit_refusal(actor: Actor, tree: UnitTree, unit: Unit) -> StepError | None:
    """Why the actor may not inspect ``unit`` (outside their scope, or their own), or None."""
    label = f"{unit.name} ({unit.code})"
    if not actor.covers(tree, unit.id, INSPECTOR_ROLES):
        return StepError("inspect.err.out_of_scope", unit=label)
    own = conflict_unit(actor, tree, unit.id)
    if own is not None:
        own_unit = tree.by_id.get(own)
        own_label = f"{own_unit.name} ({own_unit.code})" if own_unit is not None else label
        return StepError("inspect.err.conflict", unit=label, own=own_label)
    return None


def _find_unit(tree: UnitTree, code: str) -> Unit | None:
    code = code.strip()
    return tree.by_code.get(code) or next(
        (u for c, u in tree.by_code.items() if c.lower() == code.lower()), None
    )


# --- what the chat layer shows --------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """A button: ``choice`` is what it sends, ``label`` plain text; ``drill`` a second "›"
    button that opens a unit instead of choosing it."""

    choice: str
    label: str
    drill: str | None = None
    chosen: bool = False


@dataclass(frozen=True)
class LocationView:
    latitude: float
    longitude: float
    distance_km: float | None  # None: neither the unit nor a unit above it has a centre
    far: bool | None
    radius_km: float | None


@dataclass(frozen=True)
class Recap:
    """What has been chosen so far (None: not yet)."""

    unit: str | None = None
    whole_unit: bool = False
    cadre: str | None = None
    task: str | None = None
    general_task: bool = False
    verdict: Verdict | None = None
    remark: str | None = None
    photos: int = 0
    location: LocationView | None = None


@dataclass(frozen=True)
class Screen:
    """The prompt of the current step."""

    step: str
    nonce: str
    version: int
    recap: Recap
    options: tuple[Option, ...] = ()
    # At the unit step: the unit whose units are listed (choosing it is an option too), and
    # the choice that goes up a level.
    this_unit: Option | None = None
    up: str | None = None
    more: bool = False  # a "More" button shows the next page
    can_go_back: bool = False
    error: str | None = None
    params: dict[str, object] = field(default_factory=dict)
    info: str | None = None  # e.g. a photo was kept, where a location is
    info_params: dict[str, object] = field(default_factory=dict)
    remark_max_length: int = 500
    max_photos: int = 5


@dataclass(frozen=True)
class Saved:
    inspection_id: int
    recap: Recap
    inspected_at: datetime


@dataclass(frozen=True)
class Outcome:
    """What to show after a dialogue action."""

    lang: str
    screen: Screen | None = None
    stale: bool = False  # a tap on an old prompt: refuse it with a pop-up, change nothing
    notice: str | None = None  # "cancelled", "no_dialogue"
    saved: Saved | None = None
    retire: int | None = None  # an earlier prompt whose buttons should go
    echo: str | None = None  # text sent back for editing (an over-long remark)


@dataclass(frozen=True)
class Draft:
    """The cheap read: a person in the middle of ``/inspect``, and how many photos so far."""

    person_id: int
    step: str
    photos: int


# --- the dialogue ---------------------------------------------------------------------------


@dataclass
class _Context:
    """What every step needs, loaded once per use case."""

    uow: UnitOfWork
    caller: Caller
    actor: Actor
    lang: str
    tree: UnitTree


async def _context(uow: UnitOfWork, caller: Caller) -> _Context:
    actor, lang = await _acting(uow, caller)
    return _Context(uow, caller, actor, lang, await UnitTree.load(uow))


async def _lock(uow: UnitOfWork, person_id: int) -> AdminDialogue | None:
    # The repository's get() does not lock; two taps at once (or a tap and a photo) must not
    # both move the dialogue on from the same state.
    return await uow.session.get(AdminDialogue, person_id, with_for_update=True,
                                 populate_existing=True)


async def _ours(uow: UnitOfWork, person_id: int) -> AdminDialogue | None:
    dialogue = await _lock(uow, person_id)
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


async def start(uow: UnitOfWork, caller: Caller, code: str | None = None) -> Outcome:
    """``/inspect [UNIT]``: begin (or begin again) at the unit step, or with that unit chosen.

    Raises:
        Refused: not an inspector; ``busy.<kind>``, another dialogue of the person's (a
            progress note, a new campaign) is in progress and is kept; or the unit given
            with the command is unknown, outside the inspector's scope or their own (a
            conflict of interest): nothing is started.
    """
    ctx = await _context(uow, caller)
    # The person's row is locked first (as notes and corrections do), so two first /inspect
    # at once do not both insert the dialogue row, and locks are always taken in one order.
    await uow.session.get(Person, ctx.actor.person_id, with_for_update=True)
    previous = await _lock(uow, ctx.actor.person_id)
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
        refusal = unit_refusal(ctx.actor, ctx.tree, unit)
        if refusal is not None:
            raise Refused(refusal.key, ctx.lang, refusal.params)
        _choose_unit(data, unit)
        data["trail"] = ["unit"]  # Back still leads to the unit list
        step = await _skip(ctx, data, "subject")
    dialogue = await uow.dialogues.start(ctx.actor.person_id, KIND, step, data, caller.now)
    screen = await _screen(ctx, dialogue)
    return Outcome(ctx.lang, screen=screen,
                   retire=int(retire) if isinstance(retire, int) else None)


async def cancel(uow: UnitOfWork, caller: Caller) -> Outcome:
    """``/cancel`` during the dialogue: forget it (photos already received stay unattached)."""
    actor, lang = await _acting(uow, caller)
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
    previous = dialogue.data.get("msg")
    if previous == message_id:
        return None
    dialogue.data = {**dialogue.data, "msg": message_id}
    return int(previous) if isinstance(previous, int) else None


async def dialogue_tap(uow: UnitOfWork, caller: Caller, nonce: str, version: int,
                       choice: str) -> Outcome:
    """A button of the dialogue; refused as stale unless it is on the current prompt."""
    ctx = await _context(uow, caller)
    dialogue = await _ours(uow, ctx.actor.person_id)
    if (dialogue is None or dialogue.version != version
            or dialogue.data.get("nonce") != nonce):
        return Outcome(ctx.lang, stale=True)
    return await _apply(ctx, dialogue, tap=choice)


async def dialogue_text(uow: UnitOfWork, caller: Caller, typed: str) -> Outcome:
    """A typed answer: a unit code at the unit step, the remark at the remark step (or a
    corrected remark at the evidence step)."""
    ctx = await _context(uow, caller)
    dialogue = await _ours(uow, ctx.actor.person_id)
    if dialogue is None:
        return Outcome(ctx.lang, notice="no_dialogue")
    return await _apply(ctx, dialogue, text=typed)


async def add_photo(uow: UnitOfWork, caller: Caller, stored: StoredFile,
                    file_unique_id: str | None, caption: str | None = None) -> Outcome:
    """A photo, already checked and kept under its SHA-256: add it to the draft (the same
    photo twice counts once). A caption is taken as the remark."""
    ctx = await _context(uow, caller)
    dialogue = await _ours(uow, ctx.actor.person_id)
    if dialogue is None:
        return Outcome(ctx.lang, notice="no_dialogue")
    data = dict(dialogue.data)
    photos = [int(i) for i in data.get("photos") or []]
    limit = caller.rules.max_photos
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
            data["remark"] = _remark(caption, caller.rules)
        except StepError as exc:
            error = exc
        else:
            if step == "remark":
                step = _forward(data, step, "evidence")
    moved = await uow.dialogues.start(ctx.actor.person_id, KIND, step, data, caller.now)
    screen = await _screen(ctx, moved, error=error, info=info, info_params=params)
    return Outcome(ctx.lang, screen=screen, echo=error.echo if error else None)


async def evidence_refused(uow: UnitOfWork, caller: Caller, key: str,
                           params: Mapping[str, object]) -> Outcome:
    """A file that could not be kept (too large, not an image, unavailable): say why on the
    current prompt, change nothing."""
    ctx = await _context(uow, caller)
    dialogue = await _ours(uow, ctx.actor.person_id)
    if dialogue is None:
        return Outcome(ctx.lang, notice="no_dialogue")
    error = StepError(key)
    error.params.update(params)
    return await _show_error(ctx, dialogue, error)


async def add_location(uow: UnitOfWork, caller: Caller, latitude: float,
                       longitude: float) -> Outcome:
    """A shared location: kept with the draft and, once the unit is known, compared with the
    unit's area (far away is accepted, and flagged)."""
    ctx = await _context(uow, caller)
    dialogue = await _ours(uow, ctx.actor.person_id)
    if dialogue is None:
        return Outcome(ctx.lang, notice="no_dialogue")
    if not valid_location(latitude, longitude):
        return await _show_error(ctx, dialogue, StepError("inspect.err.bad_location"))
    data = {**dialogue.data, "location": [latitude, longitude]}
    moved = await uow.dialogues.start(ctx.actor.person_id, KIND, dialogue.step, data,
                                      caller.now)
    view = _location_view(ctx, data)
    if view is None or view.distance_km is None:
        info, params = "inspect.info.location_kept", {}
    else:
        info = "inspect.info.location_far" if view.far else "inspect.info.location_near"
        params = {"distance": _km(view.distance_km), "radius": _km(view.radius_km or 0.0),
                  "unit": _unit_label(ctx.tree, data)}
    return Outcome(ctx.lang, screen=await _screen(ctx, moved, info=info, info_params=params))


async def _show_error(ctx: _Context, dialogue: AdminDialogue, error: StepError) -> Outcome:
    # The prompt is shown again with the error; the version is bumped so the earlier copy's
    # buttons (retired after sending) cannot act a second time.
    moved = await ctx.uow.dialogues.start(ctx.actor.person_id, KIND, dialogue.step,
                                          dict(dialogue.data), ctx.caller.now)
    return Outcome(ctx.lang, screen=await _screen(ctx, moved, error=error), echo=error.echo)


async def _apply(ctx: _Context, dialogue: AdminDialogue, *, tap: str | None = None,
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
        return Outcome(ctx.lang, screen=await _screen(ctx, moved))
    if tap == "m":
        data["page"] = int(data.get("page") or 0) + 1
        moved = await uow.dialogues.start(actor.person_id, KIND, step, data, caller.now)
        return Outcome(ctx.lang, screen=await _screen(ctx, moved))
    try:
        if tap == "s":
            if step != "evidence":
                raise StepError("inspect.err.use_buttons")
            return await _save(ctx, data)
        following = await _STEP_INPUT[step](ctx, data, tap, text)
    except StepError as exc:
        return await _show_error(ctx, dialogue, exc)
    moved = await uow.dialogues.start(actor.person_id, KIND, following, data, caller.now)
    return Outcome(ctx.lang, screen=await _screen(ctx, moved))


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


def _choose_unit(data: dict[str, Any], unit: Unit) -> None:
    # A new unit: the subject and task chosen for another one no longer apply.
    data.update(unit_id=unit.id, browse=None)
    for key in ("cadre_id", "subject", "task_id", "task"):
        data.pop(key, None)


async def _unit_input(ctx: _Context, data: dict[str, Any], tap: str | None,
                      text: str | None) -> str:
    visible = ctx.actor.visible_units(ctx.tree, INSPECTOR_ROLES)
    if tap is not None and tap.startswith("n"):
        target = _tapped(tap, "n")
        if tap != "n" and (target is None or target not in visible):
            raise StepError("inspect.err.out_of_scope", unit="?")
        data.update(browse=target, page=0)
        return "unit"
    unit: Unit | None
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
    refusal = unit_refusal(ctx.actor, ctx.tree, unit)
    if refusal is not None:
        raise refusal
    _choose_unit(data, unit)
    _forward(data, "unit", "subject")
    return await _skip(ctx, data, "subject")


async def _skip(ctx: _Context, data: dict[str, Any], step: str) -> str:
    """Pass over a step with nothing to choose: a unit without cadres is inspected as a
    whole; a subject without key tasks gets "no task in particular"."""
    if step == "subject" and not await _cadres(ctx, int(data["unit_id"])):
        data.update(subject=True, cadre_id=None)
        step = "task"
    if step == "task" and not await _tasks(ctx, data):
        data.update(task=True, task_id=None)
        step = "verdict"
    return step


async def _cadres(ctx: _Context, unit_id: int) -> list[Person]:
    """The unit's cadres, never the inspector themselves."""
    return [p for p in await ctx.uow.cadres.all([unit_id]) if p.id != ctx.actor.person_id]


async def _tasks(ctx: _Context, data: Mapping[str, Any]) -> list[tuple[KeyTask, Person]]:
    """The chosen cadre's active key tasks; for the whole unit, those of all its cadres."""
    cadres = await _cadres(ctx, int(data["unit_id"]))
    cadre_id = data.get("cadre_id")
    if cadre_id is not None:
        cadres = [p for p in cadres if p.id == cadre_id]
    by_id = {p.id: p for p in cadres}
    tasks = await ctx.uow.cadres.tasks(by_id)
    return [(task, by_id[person_id]) for person_id in by_id
            for task in tasks.get(person_id, [])]


async def _subject_input(ctx: _Context, data: dict[str, Any], tap: str | None,
                         text: str | None) -> str:
    if tap == "w":
        cadre_id = None
    else:
        cadre_id = _tapped(tap, "c")
        cadres = {p.id for p in await _cadres(ctx, int(data["unit_id"]))}
        if cadre_id is None or cadre_id not in cadres:
            raise StepError("inspect.err.use_buttons")
    data.update(subject=True, cadre_id=cadre_id)
    data.pop("task", None)
    data.pop("task_id", None)
    _forward(data, "subject", "task")
    return await _skip(ctx, data, "task")


async def _task_input(ctx: _Context, data: dict[str, Any], tap: str | None,
                      text: str | None) -> str:
    if tap == "g":
        task_id = None
    else:
        task_id = _tapped(tap, "t")
        if task_id is None or task_id not in {task.id for task, _ in await _tasks(ctx, data)}:
            raise StepError("inspect.err.use_buttons")
    data.update(task=True, task_id=task_id)
    return _forward(data, "task", "verdict")


async def _verdict_input(ctx: _Context, data: dict[str, Any], tap: str | None,
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


async def _remark_input(ctx: _Context, data: dict[str, Any], tap: str | None,
                        text: str | None) -> str:
    if tap == "k" and data.get("remark"):
        return _forward(data, "remark", "evidence")
    if text is None:
        raise StepError("inspect.err.type_remark", max_length=ctx.caller.rules.remark_max_length)
    data["remark"] = _remark(text, ctx.caller.rules)
    return _forward(data, "remark", "evidence")


async def _evidence_input(ctx: _Context, data: dict[str, Any], tap: str | None,
                          text: str | None) -> str:
    if text is None:
        raise StepError("inspect.err.use_buttons")
    data["remark"] = _remark(text, ctx.caller.rules)  # typed again here: a corrected remark
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


async def _save(ctx: _Context, data: dict[str, Any]) -> Outcome:
    """Check everything again (roles and cadres may have changed since the first tap), then
    write the inspection, tie its photos to it and audit it, in this one transaction."""
    uow, caller, actor, tree = ctx.uow, ctx.caller, ctx.actor, ctx.tree
    unit = tree.by_id.get(int(data.get("unit_id") or 0))
    if unit is None:
        raise StepError("inspect.err.unknown_unit", code="?")
    refusal = unit_refusal(actor, tree, unit)
    if refusal is not None:
        raise refusal
    if not data.get("subject") or not data.get("task") or not data.get("verdict"):
        raise StepError("inspect.err.incomplete")
    remark = _remark(str(data.get("remark") or ""), caller.rules)
    cadre_id = data.get("cadre_id")
    cadres = {p.id: p for p in await _cadres(ctx, unit.id)}
    if cadre_id is not None and cadre_id not in cadres:
        raise StepError("inspect.err.not_a_cadre")
    task_id = data.get("task_id")
    tasks = {task.id: task for task, _ in await _tasks(ctx, data)}
    if task_id is not None and task_id not in tasks:
        raise StepError("inspect.err.task_gone")
    verdict = Verdict(str(data["verdict"]))
    location = _location_view(ctx, data)
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
    recap = await _recap(ctx, {**data, "photos": [e.id for e in photos]})
    return Outcome(ctx.lang, saved=Saved(inspection.id, recap, caller.now))


def _audit_record(unit: Unit, cadre: Person | None, task: KeyTask | None, verdict: Verdict,
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


# --- screens --------------------------------------------------------------------------------


def _km(value: float) -> str:
    """Kilometres as people say them: 0.3, 1.5, 2, 33.4, 120."""
    shown = f"{value:.1f}" if value < 100 else f"{value:.0f}"
    return shown.removesuffix(".0")


def _unit_label(tree: UnitTree, data: Mapping[str, Any]) -> str:
    unit = tree.by_id.get(int(data.get("unit_id") or 0))
    return f"{unit.name} ({unit.code})" if unit is not None else "?"


def _location_view(ctx: _Context, data: Mapping[str, Any]) -> LocationView | None:
    where = data.get("location")
    if not where:
        return None
    latitude, longitude = float(where[0]), float(where[1])
    unit_id = data.get("unit_id")
    check = LocationCheck(None, None)
    if unit_id is not None and int(unit_id) in ctx.tree.by_id:
        check = check_location(ctx.tree, [int(unit_id)], latitude, longitude,
                               ctx.caller.rules.default_radius_km)
    return LocationView(latitude, longitude, check.distance_km, check.far, check.radius_km)


def _person_label(person: Person) -> str:
    return f"{person.name} · {person.position}" if person.position else person.name


async def _recap(ctx: _Context, data: Mapping[str, Any]) -> Recap:
    unit_id = data.get("unit_id")
    unit = _unit_label(ctx.tree, data) if unit_id is not None else None
    cadre = None
    cadre_id = data.get("cadre_id")
    if data.get("subject") and cadre_id is not None:
        person = await ctx.uow.cadres.get(int(cadre_id))
        cadre = _person_label(person) if person is not None else "?"
    task = None
    task_id = data.get("task_id")
    if data.get("task") and task_id is not None:
        found = await ctx.uow.cadres.task(int(task_id))
        task = found.title if found is not None else "?"
    verdict = data.get("verdict")
    return Recap(
        unit=unit,
        whole_unit=bool(data.get("subject")) and cadre_id is None,
        cadre=cadre,
        task=task,
        general_task=bool(data.get("task")) and task_id is None,
        verdict=Verdict(verdict) if verdict else None,
        remark=str(data["remark"]) if data.get("remark") else None,
        photos=len(data.get("photos") or []),
        location=_location_view(ctx, data),
    )


def _page(options: list[Option], page: int) -> tuple[tuple[Option, ...], bool]:
    """One page of options (pages wrap around), and whether there are more."""
    if len(options) <= PAGE_SIZE:
        return tuple(options), False
    pages = (len(options) + PAGE_SIZE - 1) // PAGE_SIZE
    start = (page % pages) * PAGE_SIZE
    return tuple(options[start:start + PAGE_SIZE]), True


def _clip(label: str) -> str:
    return label if len(label) <= LABEL_LENGTH else label[:LABEL_LENGTH - 1] + "…"


async def _screen(
    ctx: _Context, dialogue: AdminDialogue, *, error: StepError | None = None,
    info: str | None = None, info_params: Mapping[str, object] | None = None,
) -> Screen:
    data = dict(dialogue.data)
    step = dialogue.step
    page = int(data.get("page") or 0)
    options: list[Option] = []
    this_unit: Option | None = None
    up: str | None = None
    if step == "unit":
        this_unit, options, up = _unit_options(ctx, data.get("browse"))
    elif step == "subject":
        options = [Option(f"c{p.id}", _clip(_person_label(p)), chosen=p.id == data.get("cadre_id"))
                   for p in await _cadres(ctx, int(data["unit_id"]))]
    elif step == "task":
        whole = data.get("cadre_id") is None
        options = [Option(f"t{task.id}",
                          _clip(f"{task.title} · {person.name}" if whole else task.title),
                          chosen=task.id == data.get("task_id"))
                   for task, person in await _tasks(ctx, data)]
    shown, more = _page(options, page)
    return Screen(
        step=step, nonce=str(data["nonce"]), version=dialogue.version,
        recap=await _recap(ctx, data), options=shown, this_unit=this_unit, up=up, more=more,
        can_go_back=bool(data.get("trail")),
        error=error.key if error else None, params=error.params if error else {},
        info=info, info_params=dict(info_params or {}),
        remark_max_length=ctx.caller.rules.remark_max_length,
        max_photos=ctx.caller.rules.max_photos,
    )


def _unit_options(ctx: _Context,
                  browse: object) -> tuple[Option | None, list[Option], str | None]:
    """The units to choose from: the top of the inspector's scope, or inside ``browse``.

    Returns the opened unit (None at the top), the units listed, and the choice that goes
    up a level (None at the top).
    """
    tree = ctx.tree
    visible = ctx.actor.visible_units(tree, INSPECTOR_ROLES)
    tops = sorted((u for u in tree.by_id.values()
                   if u.id in visible and (u.parent_id is None or u.parent_id not in visible)),
                  key=lambda u: u.name)
    node: Unit | None = None
    if isinstance(browse, int) and browse in visible:
        node = tree.by_id[browse]
    elif len(tops) == 1:
        node = tops[0]  # one place to start from: show what is inside it straight away

    def option(unit: Unit) -> Option:
        inside = any(c.id in visible for c in tree.children.get(unit.id, []))
        return Option(f"u{unit.id}", _clip(f"{unit.name} ({unit.code})"),
                      drill=f"n{unit.id}" if inside else None)

    if node is None:
        return None, [option(u) for u in tops], None
    listed = [option(c) for c in tree.children.get(node.id, []) if c.id in visible]
    up: str | None = None
    if node.parent_id is not None and node.parent_id in visible:
        up = f"n{node.parent_id}"
    elif len(tops) > 1:
        up = "n"
    return Option(f"u{node.id}", _clip(f"{node.name} ({node.code})")), listed, up


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
    actor, lang = await _acting(uow, caller)
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
            unit=f"{unit.name} ({unit.code})" if unit is not None else "?",
            cadre=_person_label(cadre) if cadre is not None else None,
            task=task.title if task is not None else None,
            verdict=inspection.verdict, remark=inspection.remark,
            photos=len(photos.get(inspection.id, [])),
            distance_km=inspection.distance_km, far=inspection.far_from_unit,
        ))
    return RecordList(lang, records)
