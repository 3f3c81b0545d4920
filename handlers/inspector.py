"""Inspectors in chat: /inspect [UNIT], its buttons, photos, location and remark, /cancel,
and /inspections (before the resident journey).

Commands are the inspector's whatever the outcome: anyone else gets a clear "this is for
inspectors" and the update stops here. Text, photos, locations and /cancel come here from
``handlers.router`` only while the person is in an inspection, so anything else reaches the
other dialogues and the resident journey untouched.

Handlers are thin: decode the update, run one use case of ``surveys.fieldwork.inspections`` in one
transaction (which also claims the update id), then send what it returned. Photos are
fetched and kept (``handlers.evidence``) before that transaction, so it holds no lock while
downloading.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from analysis.packing import clip
from handlers.common import Guard, notice, peek, remember_prompt, retire, say, show, step, tapped
from handlers.deps import Context, Deps
from handlers.evidence import EvidenceRefused, forwarded, receive_photo
from handlers.render import MAX_TEXT
from handlers.router import Audience, Dialogues
from handlers.texts import t
from surveys.fieldwork import inspections
from surveys.fieldwork.inspection_views import Recap, Screen
from surveys.fieldwork.inspections import Outcome, RecordList, Saved
from surveys.people import busy
from surveys.people.busy import Open
from surveys.people.caller import Refused

log = logging.getLogger(__name__)

REMARK_SHOWN = 300  # of a remark in the prompts' recap; the saved record shows it whole
# (if it fits in one message with the rest of the receipt; cut, and said so, if not)
LISTED_REMARK = 120


def inspector_audience(deps: Deps) -> Audience:
    guarded = Guard(deps, "inspector", (Refused,), _refuse)
    # New messages only: an edited command is not a second command.
    new = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return Audience(
        handlers=[
            CommandHandler("inspect", guarded(_on_inspect), new),
            CommandHandler("inspections", guarded(_on_inspections), new),
            CallbackQueryHandler(guarded(_on_button), pattern=r"^k:"),
        ],
        dialogues=Dialogues(guarded, (busy.INSPECT,), text=_on_text, cancel=_on_cancel,
                            photo=_on_photo, location=_on_location),
    )


async def _refuse(update: Update, refusal: Exception) -> None:
    assert isinstance(refusal, Refused)
    await notice(update, t(refusal.key, refusal.lang, refusal.params))


# --- the commands ---------------------------------------------------------------------------


async def _on_inspect(deps: Deps, update: Update, context: Context) -> bool:
    code = context.args[0] if context.args else None
    return await step(deps, update, _show,
                      partial(inspections.start, caller=deps.caller(update), code=code,
                              rules=deps.fieldwork))


async def _on_inspections(deps: Deps, update: Update, context: Context) -> bool:
    listing = await deps.query(update, partial(inspections.recent, caller=deps.caller(update)))
    await say(update, records_text(listing))
    return True


async def _on_cancel(deps: Deps, update: Update, context: Context, found: Open) -> bool:
    return await step(deps, update, _show,
                      partial(inspections.cancel, caller=deps.caller(update)))


async def _on_button(deps: Deps, update: Update, context: Context) -> bool:
    return await tapped(deps, update, inspections.parse_choice,
                        partial(inspections.dialogue_tap, rules=deps.fieldwork),
                        deps.caller(update), partial(_show, in_place=True))


async def _on_text(deps: Deps, update: Update, context: Context, found: Open) -> bool:
    message = update.effective_message
    assert message is not None
    return await step(deps, update, _show, partial(
        inspections.dialogue_text, caller=deps.caller(update), typed=message.text or "",
        rules=deps.fieldwork))


async def _on_photo(deps: Deps, update: Update, context: Context, found: Open) -> bool:
    # How many photos the draft holds already, so a full one refuses before downloading.
    draft = await peek(deps, update, inspections.in_dialogue)
    if draft is None:
        return False
    message = update.effective_message
    assert message is not None
    caller = deps.caller(update)
    limit = deps.fieldwork.max_photos
    use_case: Callable[..., Awaitable[Outcome]]
    if forwarded(message):
        # Someone else's photo, or an old one, is no evidence (nor is its caption a remark).
        use_case = partial(inspections.evidence_refused, caller=caller,
                           key="evidence.forwarded", params={}, rules=deps.fieldwork)
    elif draft.photos >= limit:
        # Full already: refuse before downloading anything.
        use_case = partial(inspections.evidence_refused, caller=caller,
                           key="inspect.err.too_many_photos", params={"max": limit},
                           rules=deps.fieldwork)
    else:
        try:
            received = await receive_photo(deps, message)
        except EvidenceRefused as refused:
            use_case = partial(inspections.evidence_refused, caller=caller, key=refused.key,
                               params=refused.params, rules=deps.fieldwork)
        else:
            use_case = partial(inspections.add_photo, caller=caller, stored=received.stored,
                               file_unique_id=received.file_unique_id, caption=message.caption,
                               rules=deps.fieldwork)
    return await step(deps, update, _show, use_case)


async def _on_location(deps: Deps, update: Update, context: Context, found: Open) -> bool:
    message = update.effective_message
    assert message is not None and message.location is not None
    caller = deps.caller(update)
    use_case: Callable[..., Awaitable[Outcome]]
    if forwarded(message):
        # Where someone else is (or was) says nothing about where the inspector is.
        use_case = partial(inspections.evidence_refused, caller=caller,
                           key="evidence.forwarded", params={}, rules=deps.fieldwork)
    else:
        use_case = partial(inspections.add_location, caller=caller,
                           latitude=message.location.latitude,
                           longitude=message.location.longitude, rules=deps.fieldwork)
    return await step(deps, update, _show, use_case)


# --- showing outcomes -----------------------------------------------------------------------


async def _show(deps: Deps, update: Update, outcome: Outcome, *,
                in_place: bool = False) -> None:
    """Show a dialogue outcome: in place of the tapped prompt, or as a new message."""
    lang = outcome.lang
    keyboard: InlineKeyboardMarkup | None = None
    if outcome.done is not None:
        text = saved_message(outcome.done, lang)
    elif outcome.screen is not None:
        text, keyboard = screen_message(outcome.screen, lang)
    else:
        text = t(f"inspect.{outcome.notice or 'no_dialogue'}", lang)
    shown_id = await show(update, text, keyboard, in_place=in_place)
    if outcome.echo is not None:
        # Sent back as plain text, exactly as typed, so it can be copied and shortened.
        chat = update.effective_chat
        assert chat is not None
        await chat.send_message(outcome.echo)
    retire_id = outcome.retire if outcome.retire != shown_id else None
    if outcome.screen is not None:
        screen = outcome.screen
        replaced = await remember_prompt(deps, "inspection", lambda uow: (
            inspections.remember_prompt(uow, deps.caller(update), screen.nonce, screen.version,
                                        shown_id)))
        if replaced is not None:
            retire_id = replaced  # the prompt this one replaces, or this one if already outdated
    if retire_id is not None:
        await retire(update, retire_id)


# --- rendering ------------------------------------------------------------------------------


def _clip(text: str, limit: int) -> str:
    return clip(text, limit)


def _km(value: float | None) -> str:
    """Kilometres as people say them: 0.3, 1.5, 2, 33.4, 120."""
    if value is None:
        return "?"
    shown = f"{value:.1f}" if value < 100 else f"{value:.0f}"
    return shown.removesuffix(".0")


def recap_lines(recap: Recap, lang: str, *, full: bool = False) -> list[str]:
    """What was chosen so far, one line each (``full``: the whole remark)."""
    lines: list[str] = []
    if recap.unit is not None:
        lines.append(t("inspect.recap.unit", lang, {"unit": recap.unit}))
    if recap.whole_unit:
        lines.append(t("inspect.recap.whole", lang))
    elif recap.cadre is not None:
        lines.append(t("inspect.recap.cadre", lang, {"cadre": recap.cadre}))
    if recap.general_task:
        lines.append(t("inspect.recap.general", lang))
    elif recap.task is not None:
        lines.append(t("inspect.recap.task", lang, {"task": recap.task}))
    if recap.verdict is not None:
        lines.append(t("inspect.recap.verdict", lang,
                       {"verdict": t(f"inspect.verdict.{recap.verdict.value}", lang)}))
    if recap.remark is not None:
        remark = recap.remark if full else _clip(recap.remark, REMARK_SHOWN)
        lines.append(t("inspect.recap.remark", lang, {"remark": remark}))
    if recap.photos:
        lines.append(t("inspect.recap.photos", lang, {"count": recap.photos}))
    where = recap.location
    if where is not None:
        if where.distance_km is None:
            lines.append(t("inspect.recap.location_unchecked", lang,
                           {"latitude": f"{where.latitude:.5f}",
                            "longitude": f"{where.longitude:.5f}"}))
        else:
            key = "inspect.recap.location_far" if where.far else "inspect.recap.location_near"
            lines.append(t(key, lang, {"distance": _km(where.distance_km),
                                       "radius": _km(where.radius_km)}))
    return lines


def saved_message(saved: Saved, lang: str) -> str:
    """The receipt of a saved record, in one message whatever the remark's length.

    The remark is shown whole when the receipt fits in Telegram's 4,096 characters;
    otherwise (a long remark, as ``remark_max_length`` allows up to 3,500 characters, with
    long names and titles) it is cut to fit, and the receipt says that the record keeps it
    whole. A receipt that did not fit would fail to show after the record was saved, and the
    inspector would see an error for an inspection that was in fact recorded.
    """
    def render(remark: str | None, clipped: int | None = None) -> str:
        lines = recap_lines(replace(saved.recap, remark=remark), lang, full=True)
        if clipped is not None:
            lines.append(t("inspect.saved.clipped", lang, {"length": clipped}))
        return t("inspect.saved", lang, {
            "id": saved.inspection_id, "when": saved.inspected_at, "recap": "\n".join(lines),
        }, raw=frozenset({"recap"}))

    remark = saved.recap.remark
    text = render(remark)
    if _shown_length(text) > MAX_TEXT and remark is not None:
        room = MAX_TEXT - _shown_length(render("", clipped=len(remark)))
        text = render(_clip_units(remark, room), clipped=len(remark))
    return text if _shown_length(text) <= MAX_TEXT else _fit([text])  # names alone too long


_TAG = re.compile(r"<[^>]*>")


def _units(text: str) -> int:
    """Length in UTF-16 code units: never less than Telegram's count, whichever it uses."""
    return len(text.encode("utf-16-le")) // 2


def _shown_length(html_text: str) -> int:
    """The length of a message as it shows (tags gone, entities read), as Telegram limits it.

    Parameters are escaped by ``t()``, so every ``<`` in the text starts one of our tags."""
    return _units(html.unescape(_TAG.sub("", html_text)))


def _clip_units(text: str, room: int) -> str:
    """The longest start of ``text`` that, with a closing "…", takes at most ``room`` UTF-16
    code units, cut at a word boundary."""
    return clip(text, room, _units)


def _button(screen: Screen, label: str, choice: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=inspections.choice_data(
        screen.nonce, screen.version, choice))


def screen_message(screen: Screen, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    """The prompt of the current step, with what was chosen so far and its buttons."""
    step = screen.step
    lines = [t(f"inspect.head.{step}", lang)]
    recap = recap_lines(screen.recap, lang)
    if recap:
        lines += ["", *recap]
    lines.append("")
    if screen.info:
        lines += [t(screen.info, lang, screen.info_params), ""]
    if screen.error:
        lines += ["⚠️ " + t(screen.error, lang, screen.params), ""]
    rows: list[list[InlineKeyboardButton]] = []
    if step == "unit":
        lines.append(t("inspect.step.unit", lang))
        if screen.this_unit is not None:
            lines.append(t("inspect.step.unit_inside", lang, {"unit": screen.this_unit.label}))
            rows.append([_button(screen, t("inspect.btn.this_unit", lang,
                                           {"unit": screen.this_unit.label}),
                                 screen.this_unit.choice)])
    elif step == "subject":
        lines.append(t("inspect.step.subject", lang))
    elif step == "task":
        lines.append(t("inspect.step.task", lang))
    elif step == "verdict":
        lines.append(t("inspect.step.verdict", lang))
        rows.append([
            _button(screen, ("✓ " if screen.recap.verdict == verdict else "")
                    + t(f"inspect.verdict.{verdict.value}", lang), f"v{code}")
            for code, verdict in inspections.VERDICTS.items()
        ])
    elif step == "remark":
        key = "inspect.step.remark_keep" if screen.recap.remark else "inspect.step.remark"
        lines.append(t(key, lang, {"max_length": screen.remark_max_length}))
        if screen.recap.remark:
            rows.append([_button(screen, t("inspect.btn.keep", lang), "k")])
    elif step == "evidence":
        lines.append(t("inspect.step.evidence", lang, {"max_photos": screen.max_photos}))
        rows.append([_button(screen, t("inspect.btn.save", lang), "s")])
    for option in screen.options:
        label = ("✓ " if option.chosen else "") + option.label
        row = [_button(screen, label, option.choice)]
        if option.drill is not None:
            row.append(_button(screen, "›", option.drill))
        rows.append(row)
    if step == "subject":
        rows.append([_button(screen, t("inspect.btn.whole", lang), "w")])
    elif step == "task":
        rows.append([_button(screen, t("inspect.btn.general", lang), "g")])
    paging: list[InlineKeyboardButton] = []
    if screen.up is not None:
        paging.append(_button(screen, t("inspect.btn.up", lang), screen.up))
    if screen.more:
        paging.append(_button(screen, t("inspect.btn.more", lang), "m"))
    if paging:
        rows.append(paging)
    nav = []
    if screen.can_go_back:
        nav.append(_button(screen, t("inspect.btn.back", lang), "b"))
    nav.append(_button(screen, t("inspect.btn.cancel", lang), "x"))
    rows.append(nav)
    return _fit(lines), InlineKeyboardMarkup(rows)


def _fit(lines: list[str]) -> str:
    text = "\n".join(lines).strip()
    return clip(text, MAX_TEXT)


def records_text(listing: RecordList) -> str:
    """``/inspections``: newest first, as many whole records as fit in one message."""
    lang = listing.lang
    if not listing.records:
        return t("inspect.list.none", lang)
    text = t("inspect.list.head", lang)
    for record in listing.records:
        far = (t("inspect.list.far", lang, {"distance": _km(record.distance_km)})
               if record.far else "")
        item = t("inspect.list.item", lang, {
            "id": record.inspection_id, "when": record.inspected_at, "unit": record.unit,
            "subject": record.cadre or t("inspect.list.whole", lang),
            "task": record.task or t("inspect.list.general", lang),
            "verdict": t(f"inspect.verdict.{record.verdict.value}", lang),
            "photos": record.photos, "far": far,
            "remark": _clip(record.remark, LISTED_REMARK),
        }, raw=frozenset({"far"}))
        if len(text) + 2 + len(item) > MAX_TEXT:
            break  # never cut a record (or its HTML) in half
        text += "\n\n" + item
    return text
