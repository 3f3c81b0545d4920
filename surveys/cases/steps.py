"""The staff's short dialogues on a case: a question to the resident, a resolution, and the
reason (with the unit, for a transfer) of a request to an admin or of an admin's decision.

Each lives in the person's one dialogue row (``surveys.people.busy``: kinds ``case_ask``,
``case_resolve``, ``case_reason``), so a restart in the middle loses nothing, and none starts
while another kind of dialogue (a progress note, an inspection) is in progress. Starting one
of these while another of them is open replaces it (the person chose to act on a case).

- Ask: the next text is the question (up to the case text limit), recorded for the relay.
- Resolve (on a case nobody took, it takes it too): what was done (required, up to the notes'
  limit; a photo's caption counts), then photos (the notes' evidence rules: size and count)
  with Resolve right there, saying whether the resident will be asked; or first a public
  summary (optional, so only when asked for), then the confirmation with Resolve.
- Reason: for a transfer, the unit's code first (the reason may follow it in the same
  message), then the reason; then the request, or the admin's transfer or rejection, is done.

Everything is checked again when the dialogue's last step acts (the case may have been
taken, transferred or closed meanwhile); a refusal then ends the dialogue and says why.
Buttons carry the dialogue's nonce and version (``cs:d:<nonce>:<version>:<choice>``).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from storage.models import AdminDialogue, Case
from storage.units import UnitLike
from surveys.cases import handling
from surveys.cases.handling import SUMMARY_MAX, Acted, KeptPhoto, acting_on
from surveys.cases.rules import REJECT as REJECT_REQUEST
from surveys.cases.rules import TRANSFER as TRANSFER_REQUEST
from surveys.cases.rules import CaseRules
from surveys.cases.views import (
    ASK,
    REJECT,
    REQUEST_REJECT,
    REQUEST_TRANSFER,
    RESOLVE,
    TRANSFER,
    Staff,
    staff,
    unit_label,
    view_of,
)
from surveys.fieldwork.rules import FieldRules
from surveys.people import busy
from surveys.people.caller import Caller, Refused
from surveys.text import BlankText, require_text

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

KINDS = (busy.CASE_ASK, busy.CASE_RESOLVE, busy.CASE_REASON)
# Which dialogue each action starts, and at which step.
STARTS = {
    ASK: (busy.CASE_ASK, "text"),
    RESOLVE: (busy.CASE_RESOLVE, "what"),
    REQUEST_TRANSFER: (busy.CASE_REASON, "unit"),
    TRANSFER: (busy.CASE_REASON, "unit"),
    REQUEST_REJECT: (busy.CASE_REASON, "reason"),
    REJECT: (busy.CASE_REASON, "reason"),
}
# Button choices: n add a public summary (after what was done), s no summary after all (back),
# y resolve, x cancel.
NEXT, NO_SUMMARY, CONFIRM, CANCEL = "n", "s", "y", "x"
BUTTONS = busy.StepButtons("cs:d", "[nsyx]")
parse_choice, choice_data = BUTTONS.parse, BUTTONS.data


@dataclass(frozen=True)
class Limits:
    """The lengths and counts the dialogues enforce, from the case and fieldwork rules."""

    cases: CaseRules
    field: FieldRules

    @property
    def question(self) -> int:
        return self.cases.max_text_length

    @property
    def text(self) -> int:
        return self.field.note_max_length


@dataclass(frozen=True)
class Prompt:
    """What the current step asks, with what was given so far."""

    kind: str
    step: str
    action: str
    number: str
    nonce: str
    version: int
    limits: Limits
    resolution: str | None = None
    photos: int = 0
    summary: str | None = None
    unit: str | None = None
    tell: bool = False  # the resident (or one merged in) will be asked "solved?"
    info: str | None = None  # key of a line on what just happened ("photo_added")
    error: str | None = None  # key of what was wrong with the last input
    params: dict[str, object] = field(default_factory=dict)

    def choice(self, choice: str) -> str:
        return choice_data(self.nonce, self.version, choice)


@dataclass(frozen=True)
class Outcome:
    """After a step: the next prompt, the action done, a notice, or a stale tap."""

    lang: str
    prompt: Prompt | None = None
    acted: Acted | None = None
    notice: str | None = None  # ``cstaff.<notice>``: "cancelled", "no_dialogue", a refusal
    params: dict[str, object] = field(default_factory=dict)
    stale: bool = False
    retire: int | None = None  # an earlier prompt whose buttons should go
    echo: str | None = None  # an over-long text, sent back for editing


class StepError(ValueError):
    """Input that does not fit the step: ``key`` (``cstaff.err.<key>``) says why."""

    def __init__(self, key: str, echo: str | None = None, **params: object) -> None:
        super().__init__(key)
        self.key, self.echo, self.params = key, echo, params


def _typed(typed: str, limit: int) -> str:
    """Typed text as it may be stored; blank refused, over ``limit`` refused whole."""
    try:
        text = require_text(typed)
    except BlankText:
        raise StepError("blank", limit=limit) from None
    if len(text) > limit:
        raise StepError("too_long", echo=text, length=len(text), limit=limit)
    return text


def _msg(dialogue: AdminDialogue | None) -> int | None:
    shown = dialogue.data.get("msg") if dialogue is not None else None
    return shown if isinstance(shown, int) else None


async def _ours(ctx: Staff) -> AdminDialogue | None:
    dialogue = await busy.locked(ctx.uow, ctx.actor.person_id)
    return dialogue if dialogue is not None and dialogue.kind in KINDS else None


async def _prompt(ctx: Staff, dialogue: AdminDialogue, limits: Limits, *,
                  info: str | None = None, error: StepError | None = None,
                  params: Mapping[str, object] | None = None) -> Prompt:
    data = dialogue.data
    number = str(data["case"])
    case = await ctx.uow.cases.by_number(number)
    unit = ctx.tree.by_code.get(str(data.get("unit") or ""))
    return Prompt(
        kind=dialogue.kind, step=dialogue.step, action=str(data["action"]), number=number,
        nonce=str(data["nonce"]), version=dialogue.version, limits=limits,
        resolution=data.get("resolution"), photos=len(data.get("photos") or []),
        summary=data.get("summary"),
        unit=unit_label(ctx.tree, unit.id, ctx.lang) if unit is not None else None,
        tell=case is not None and await handling.anyone_to_tell(ctx.uow, case),
        info=info, error=error.key if error else None,
        params={**(params or {}), **(error.params if error else {})},
    )


async def _move(ctx: Staff, dialogue: AdminDialogue, step: str, data: dict[str, Any],
                limits: Limits, **shown: Any) -> Outcome:
    moved = await ctx.uow.dialogues.start(ctx.actor.person_id, dialogue.kind, step, data,
                                          ctx.now)
    return Outcome(ctx.lang, prompt=await _prompt(ctx, moved, limits, **shown))


async def _again(ctx: Staff, dialogue: AdminDialogue, limits: Limits,
                 error: StepError) -> Outcome:
    """The same prompt with what was wrong; the dialogue does not move (its buttons hold)."""
    return Outcome(ctx.lang, prompt=await _prompt(ctx, dialogue, limits, error=error),
                   echo=error.echo)


# --- starting and stopping ------------------------------------------------------------------


async def start(uow: UnitOfWork, caller: Caller, number: str, version: int, action: str, *,
                limits: Limits) -> Outcome:
    """A case's button that needs words: Ask, Resolve, Request transfer or rejection, and an
    admin's Transfer or Reject. Checks the caller may do it now, then asks.

    Raises:
        Refused: ``busy.<kind>`` (another dialogue of the person's is in progress), or as
            :func:`surveys.cases.handling.acting_on`.
    """
    ctx = await staff(uow, caller)
    # The person's row first, then the case: the order every step of these dialogues locks in.
    previous = await busy.locked(uow, ctx.actor.person_id, person_first=True)
    blocked = busy.in_the_way(ctx.actor, previous, KINDS, f"/case {number}")
    if blocked is not None:
        raise Refused(blocked.key, ctx.lang, blocked.params)
    case = await acting_on(ctx, number, action, version)
    kind, step = STARTS[action]
    data = {"nonce": secrets.token_hex(3), "case": case.number, "action": action, "photos": []}
    dialogue = await uow.dialogues.start(ctx.actor.person_id, kind, step, data, ctx.now)
    return Outcome(ctx.lang, prompt=await _prompt(ctx, dialogue, limits), retire=_msg(previous))


async def cancel(uow: UnitOfWork, caller: Caller) -> Outcome:
    """``/cancel`` (or the Cancel button): drop the dialogue; nothing is recorded."""
    ctx = await staff(uow, caller)
    dialogue = await _ours(ctx)
    if dialogue is None:
        return Outcome(ctx.lang, notice="no_dialogue")
    await uow.dialogues.end(ctx.actor.person_id)
    return Outcome(ctx.lang, notice="cancelled", params={"number": dialogue.data.get("case")},
                   retire=_msg(dialogue))


async def remember_prompt(uow: UnitOfWork, caller: Caller, nonce: str, version: int,
                          message_id: int) -> int | None:
    """Note the message showing the prompt at ``version``; returns the message whose buttons
    should go: the prompt it replaces or, if the dialogue moved on meanwhile, this one."""
    person = await uow.people.by_user(caller.telegram_user_id)
    if person is None:
        return message_id
    dialogue = await busy.locked(uow, person.id)
    if (dialogue is None or dialogue.kind not in KINDS
            or dialogue.data.get("nonce") != nonce or dialogue.version != version):
        return message_id
    return busy.swap_prompt(dialogue, message_id)


# --- steps ----------------------------------------------------------------------------------


async def text(uow: UnitOfWork, caller: Caller, typed: str, *, limits: Limits) -> Outcome:
    """A typed message while in one of the dialogues."""
    ctx = await staff(uow, caller)
    dialogue = await _ours(ctx)
    if dialogue is None:
        return Outcome(ctx.lang, notice="no_dialogue")
    try:
        if dialogue.kind == busy.CASE_ASK:
            question = _typed(typed, limits.question)
            return await _finish(ctx, dialogue, lambda case: _ask(ctx, case, question), limits)
        if dialogue.kind == busy.CASE_RESOLVE:
            return await _resolve_text(ctx, dialogue, typed, limits)
        return await _reason_text(ctx, dialogue, typed, limits)
    except StepError as error:
        return await _again(ctx, dialogue, limits, error)


async def tap(uow: UnitOfWork, caller: Caller, nonce: str, version: int, choice: str, *,
              limits: Limits) -> Outcome:
    """A button of the current prompt; an older prompt's (or another dialogue's) is stale."""
    ctx = await staff(uow, caller)
    dialogue = await _ours(ctx)
    if (dialogue is None or dialogue.version != version
            or dialogue.data.get("nonce") != nonce):
        return Outcome(ctx.lang, stale=True)
    if choice == CANCEL:
        await uow.dialogues.end(ctx.actor.person_id)
        return Outcome(ctx.lang, notice="cancelled", params={"number": dialogue.data["case"]})
    data = dict(dialogue.data)
    if dialogue.kind != busy.CASE_RESOLVE:
        return Outcome(ctx.lang, stale=True)
    if choice == NEXT and dialogue.step == "photos":
        return await _move(ctx, dialogue, "summary", data, limits)
    if choice == NO_SUMMARY and dialogue.step == "summary":
        data["summary"] = None
        return await _move(ctx, dialogue, "photos", data, limits)
    if choice == CONFIRM and dialogue.step in ("photos", "confirm"):
        return await _finish(ctx, dialogue, lambda case: _resolve(ctx, case, data, limits),
                             limits)
    return Outcome(ctx.lang, stale=True)


async def photo(uow: UnitOfWork, caller: Caller, kept: KeptPhoto, caption: str | None, *,
                limits: Limits) -> Outcome:
    """A photo (already checked and kept) for the resolution: added once, up to the limit;
    a caption sent while what was done is asked for is taken as that."""
    ctx = await staff(uow, caller)
    dialogue = await _ours(ctx)
    if dialogue is None:
        return Outcome(ctx.lang, notice="no_dialogue")
    if dialogue.kind != busy.CASE_RESOLVE:
        return await _again(ctx, dialogue, limits, StepError("text_only"))
    data = dict(dialogue.data)
    photos = list(data.get("photos") or [])
    if len(photos) >= limits.field.max_photos:
        return await _again(ctx, dialogue, limits,
                            StepError("too_many_photos", limit=limits.field.max_photos))
    step, info = dialogue.step, "photo_again"
    if all(p["sha256"] != kept.sha256 for p in photos):
        photos.append(kept.as_data())
        info = "photo_added"
    data["photos"] = photos
    error: StepError | None = None
    if step == "what" and caption and caption.strip():
        try:
            data["resolution"] = _typed(caption, limits.text)
            step = "photos"
        except StepError as refused:
            error = refused
    moved = await uow.dialogues.start(ctx.actor.person_id, dialogue.kind, step, data, ctx.now)
    prompt = await _prompt(ctx, moved, limits, info=info, error=error,
                           params={"count": len(photos), "limit": limits.field.max_photos})
    return Outcome(ctx.lang, prompt=prompt, echo=error.echo if error else None)


async def refused_photo(uow: UnitOfWork, caller: Caller, key: str,
                        params: Mapping[str, object], *, limits: Limits) -> Outcome:
    """A file that could not be kept (too large, not an image, forwarded): say why on the
    current prompt; nothing changes."""
    ctx = await staff(uow, caller)
    dialogue = await _ours(ctx)
    if dialogue is None:
        return Outcome(ctx.lang, notice="no_dialogue")
    error = StepError(key)
    error.params.update(params)
    return await _again(ctx, dialogue, limits, error)


async def location(uow: UnitOfWork, caller: Caller, *, limits: Limits) -> Outcome:
    """A location sent during one of these dialogues: not asked for, said so."""
    ctx = await staff(uow, caller)
    dialogue = await _ours(ctx)
    if dialogue is None:
        return Outcome(ctx.lang, notice="no_dialogue")
    return await _again(ctx, dialogue, limits, StepError("no_location"))


async def _resolve_text(ctx: Staff, dialogue: AdminDialogue, typed: str,
                        limits: Limits) -> Outcome:
    data = dict(dialogue.data)
    if dialogue.step in ("what", "photos"):
        # At the photos step, typed text corrects what was done (the prompt says so).
        data["resolution"] = _typed(typed, limits.text)
        return await _move(ctx, dialogue, "photos", data, limits)
    data["summary"] = _typed(typed, SUMMARY_MAX)
    return await _move(ctx, dialogue, "confirm", data, limits)


async def _reason_text(ctx: Staff, dialogue: AdminDialogue, typed: str,
                       limits: Limits) -> Outcome:
    data = dict(dialogue.data)
    action = str(data["action"])
    if dialogue.step == "unit":
        code, _, rest = typed.strip().partition(" ")
        unit = await _unit(ctx, code, action, str(data["case"]))
        data["unit"] = unit.code
        if not rest.strip():
            return await _move(ctx, dialogue, "reason", data, limits)
        typed = rest
    reason = _typed(typed, limits.text)
    return await _finish(ctx, dialogue, lambda case: _decide(ctx, case, action, reason, data),
                         limits)


async def _unit(ctx: Staff, code: str, action: str, number: str) -> UnitLike:
    """The unit a transfer is to, as typed: it must exist, differ from the case's and, for an
    admin's own transfer, be inside their scope (checked again when it is done)."""
    code = code.strip()
    unit = ctx.tree.by_code.get(code) or next(
        (u for c, u in ctx.tree.by_code.items() if c.lower() == code.lower()), None)
    if unit is None:
        raise StepError("unknown_unit", code=code[:40])
    if action == TRANSFER and handling.outside_scope(ctx, unit) is not None:
        raise StepError("outside_scope", unit=unit_label(ctx.tree, unit.id, ctx.lang))
    case = await ctx.uow.cases.by_number(number)
    if case is not None and case.unit_id == unit.id:
        raise StepError("same_unit", unit=unit_label(ctx.tree, unit.id, ctx.lang))
    return unit


# --- the last steps: act on the case --------------------------------------------------------


Act = Callable[[Case], Awaitable[tuple[str, dict[str, object]]]]


async def _finish(ctx: Staff, dialogue: AdminDialogue, act: Act, limits: Limits) -> Outcome:
    """Do the dialogue's action on the case as it stands now and end the dialogue; a refusal
    (the case moved on, the caller's roles changed) ends it too, and says why. ``act``
    refuses before it changes anything, since the refusal is answered, not rolled back."""
    data = dialogue.data
    retire = _msg(dialogue)
    try:
        case = await acting_on(ctx, str(data["case"]), str(data["action"]))
        done, params = await act(case)
    except Refused as refusal:
        await ctx.uow.dialogues.end(ctx.actor.person_id)
        return Outcome(ctx.lang, notice=refusal.key,
                       params={"number": data["case"], **refusal.params}, retire=retire)
    await ctx.uow.dialogues.end(ctx.actor.person_id)
    acted = Acted(ctx.lang, await view_of(ctx, case, limits.cases), done,
                  {"number": case.number, **params})
    return Outcome(ctx.lang, acted=acted, retire=retire)


async def _ask(ctx: Staff, case: Case, question: str) -> tuple[str, dict[str, object]]:
    await handling.ask_resident(ctx, case, question)
    return "asked", {}


async def _resolve(ctx: Staff, case: Case, data: Mapping[str, Any],
                   limits: Limits) -> tuple[str, dict[str, object]]:
    resolution = data.get("resolution")
    if not resolution:
        raise Refused("no_resolution", ctx.lang)
    photos = [KeptPhoto.of_data(p) for p in data.get("photos") or []]
    await handling.resolve(ctx, case, resolution=str(resolution), summary=data.get("summary"),
                           photos=photos, rules=limits.cases)
    return ("resolved" if case.answer_due_at is not None else "resolved_closed",
            {"due": case.answer_due_at} if case.answer_due_at is not None else {})


async def _decide(ctx: Staff, case: Case, action: str, reason: str,
                  data: Mapping[str, Any]) -> tuple[str, dict[str, object]]:
    unit = ctx.tree.by_code.get(str(data.get("unit") or ""))
    label = unit_label(ctx.tree, unit.id, ctx.lang) if unit is not None else "?"
    if action in (REQUEST_TRANSFER, TRANSFER):
        if unit is None:
            raise Refused("unit_gone", ctx.lang)
        if unit.id == case.unit_id:
            raise Refused("same_unit", ctx.lang, {"unit": label})
    if action == REQUEST_TRANSFER:
        await handling.request(ctx, case, TRANSFER_REQUEST, reason, unit)
        return "requested_transfer", {"unit": label}
    if action == REQUEST_REJECT:
        await handling.request(ctx, case, REJECT_REQUEST, reason)
        return "requested_reject", {}
    if action == TRANSFER:
        assert unit is not None
        await handling.transfer(ctx, case, unit, reason)
        return "transferred", {"unit": label}
    await handling.reject(ctx, case, reason)
    return "rejected", {}
