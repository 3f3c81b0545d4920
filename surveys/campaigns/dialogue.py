"""Admin chat: the ``/newcampaign`` dialogue, which creates a campaign step by step.

The dialogue is a short, guided sequence of steps (survey, unit, audience, dates, reminders,
recurrence, code, confirm). Where the admin is lives in ``admin_dialogues``, one row per
admin, so a restart or a second bot process loses nothing. Each change bumps the row's
``version``; buttons carry it with the dialogue's ``nonce``, so a tap on an old prompt (or on
a prompt of an earlier dialogue) is refused instead of acting on the wrong step.

Every use case here checks the caller's role first (``not_admin``, raised as
:class:`~surveys.people.caller.Refused`); units outside the admin's scope are neither listed
nor accepted. What does not fit a step is an :class:`InputError`, shown on the step's prompt.

The parsing functions at the top are pure and tested on their own.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from storage.ids import is_digits
from storage.models import AdminDialogue, CampaignStatus
from storage.units import UnitLike, UnitNode
from surveys.campaigns.admin import create_campaign
from surveys.campaigns.operations import AudiencePlan, Burden, plan_invitations
from surveys.campaigns.rules import (
    CampaignRuleError,
    Window,
    check_code,
    check_plan,
    check_timezone,
    parse_duration,
    parse_recurrence,
    parse_reminders,
    recurrence_from_str,
)
from surveys.people import busy
from surveys.people.access import ADMIN_ROLES, NOT_ADMIN, Actor, UnitTree
from surveys.people.caller import Caller, Refused, acting_as, language
from surveys.people.names import display_name
from surveys.questionnaire.loader import load_template, template_names
from surveys.questionnaire.schema import LocalText

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

KIND = "newcampaign"
STEPS = ("survey", "unit", "audience", "dates", "reminders", "recurrence", "code", "confirm")
WINDOW_PRESETS = (7, 14, 30)  # "Now, N days"
REMINDER_PRESETS = ("2d,2h", "1d", "")
RECURRENCE_PRESETS = ("", "monthly", "quarterly")
# An opening time typed a few minutes ago (the admin was slow) still means "now".
OPENING_GRACE = timedelta(minutes=5)
UNITS_SHOWN = 12

_NOW_WORDS = {"now", "现在", "立即"}
_NONE_WORDS = {"none", "no", "never", "-", "无", "不", "不需要", "不重复"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ZONE = re.compile(r"^(?:[A-Za-z][A-Za-z_]*(?:/[A-Za-z0-9_+\-]+)+|UTC|utc|GMT|gmt)$")


# --- pure parsing ---------------------------------------------------------------------------


class InputError(ValueError):
    """Typed or tapped input that does not fit the step; ``key`` names the text to show."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params: dict[str, object] = params


@dataclass(frozen=True)
class WindowInput:
    """What the admin gave at the dates step.

    ``opens_at`` None means "when the campaign is created"; ``length`` then (or with a given
    opening) fixes the closing time relative to the opening. Only ``timezone`` is set when
    the admin typed nothing but a time zone.
    """

    timezone: str
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    length: timedelta | None = None

    @property
    def given(self) -> bool:
        return self.closes_at is not None or self.length is not None

    def resolve(self, now: datetime) -> tuple[datetime, datetime]:
        opens_at = self.opens_at or now
        if self.closes_at is not None:
            return opens_at, self.closes_at
        assert self.length is not None
        return opens_at, opens_at + self.length

    def to_data(self) -> dict[str, Any]:
        return {
            "timezone": self.timezone,
            "opens_at": self.opens_at.isoformat() if self.opens_at else None,
            "closes_at": self.closes_at.isoformat() if self.closes_at else None,
            "length_s": int(self.length.total_seconds()) if self.length else None,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> WindowInput:
        def when(key: str) -> datetime | None:
            value = data.get(key)
            return datetime.fromisoformat(value) if value else None

        length = data.get("length_s")
        return cls(
            timezone=str(data.get("timezone") or "UTC"),
            opens_at=when("opens_at"),
            closes_at=when("closes_at"),
            length=timedelta(seconds=int(length)) if length else None,
        )


def _duration(token: str) -> timedelta | None:
    try:
        return parse_duration(token)
    except CampaignRuleError:
        return None


def _zone(name: str) -> tuple[str, tzinfo]:
    name = name.upper() if name.lower() in ("utc", "gmt") else name
    try:
        return name, check_timezone(name)
    except CampaignRuleError as exc:
        raise InputError("bad_timezone", zone=name) from exc


def _opening(token: str, now: datetime, zone: tzinfo) -> datetime | None:
    """None for "now"."""
    if token.lower() in _NOW_WORDS:
        return None
    delta = _duration(token)
    if delta is not None:
        return now + delta
    if _DATE.match(token):
        day = _date(token)
        if day == now.astimezone(zone).date():
            return None  # "today" opens now, not at midnight in the past
        return datetime.combine(day, time(), zone).astimezone(UTC)
    return _datetime(token, zone)


def _closing(token: str, zone: tzinfo) -> tuple[datetime | None, timedelta | None]:
    delta = _duration(token)
    if delta is not None:
        return None, delta
    if _DATE.match(token):
        # A closing date means the end of that day, as on the command line.
        end = datetime.combine(_date(token) + timedelta(days=1), time(), zone)
        return end.astimezone(UTC), None
    return _datetime(token, zone), None


def _date(token: str) -> date:
    try:
        return date.fromisoformat(token)
    except ValueError as exc:
        raise InputError("bad_time", value=token) from exc


def _datetime(token: str, zone: tzinfo) -> datetime:
    try:
        parsed = datetime.fromisoformat(token)
    except ValueError as exc:
        raise InputError("bad_time", value=token) from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)).astimezone(UTC)


def parse_window(text: str, now: datetime, timezone: str = "UTC") -> WindowInput:
    """Read the dates step: ``OPENING CLOSING [ZONE]``, ``CLOSING [ZONE]`` or just ``ZONE``.

    The opening is ``now``, a date (the start of that day; today means now), an ISO time or
    a duration from now (``2d``). The closing is a date (the end of that day), an ISO time or
    a duration from the opening (``14d``). Times without an offset are in the time zone,
    which is the one given last, or ``timezone``.

    Raises:
        InputError: unreadable, in the past, or closing before opening.
    """
    tokens = text.split()
    zone_name = timezone
    if tokens and _ZONE.match(tokens[-1]) and tokens[-1].lower() not in _NOW_WORDS:
        zone_name = tokens.pop()
    zone_name, zone = _zone(zone_name)
    if not tokens:
        return WindowInput(zone_name)
    if len(tokens) > 2:
        raise InputError("bad_dates")
    opening, closing = ("now", tokens[0]) if len(tokens) == 1 else tokens
    try:
        opens_at = _opening(opening, now, zone)
        closes_at, length = _closing(closing, zone)
        window = WindowInput(zone_name, opens_at, closes_at, length)
        check_window(window, now)
    except OverflowError as exc:
        # The end of 9999-12-31, or a time that leaves the years 1..9999 in UTC.
        raise InputError("bad_time", value=" ".join(tokens)) from exc
    return window


def check_window(window: WindowInput, now: datetime) -> None:
    """The rules an admin can break at the dates step, each with its own message.

    Raises:
        InputError: ``opens_in_past``, ``closes_in_past`` or ``wrong_order``.
    """
    opens_at, closes_at = window.resolve(now)
    if opens_at < now - OPENING_GRACE:
        raise InputError("opens_in_past", when=opens_at)
    if closes_at <= now:
        raise InputError("closes_in_past", when=closes_at)
    if closes_at <= opens_at:
        raise InputError("wrong_order", opens=opens_at, closes=closes_at)


def parse_reminders_input(text: str) -> str:
    """A reminder plan as stored in the dialogue: ``""`` for none, else e.g. ``"2d,2h"``.

    Raises:
        InputError: ``bad_reminders``.
    """
    value = text.strip().lower().replace(" ", "")
    if value in _NONE_WORDS or not value:
        return ""
    try:
        parse_reminders(value)
    except CampaignRuleError as exc:
        raise InputError("bad_reminders", value=text.strip()) from exc
    return value


def parse_recurrence_input(text: str, timezone: str) -> str:
    """A recurrence as stored: ``""``, ``monthly``, ``quarterly`` or ``cron:<expression>``.

    Raises:
        InputError: ``bad_cron``, an expression that does not parse.
    """
    value = text.strip()
    if value.lower() in _NONE_WORDS or not value:
        return ""
    if value.lower() in ("monthly", "quarterly"):
        return value.lower()
    try:
        recurrence = parse_recurrence(value, timezone)
    except CampaignRuleError as exc:
        raise InputError("bad_cron", value=value) from exc
    return str(recurrence) if recurrence else ""


def suggest_code(unit_code: str, opens_at: datetime, timezone: str = "UTC") -> str:
    """A campaign code from the unit and the local opening date, e.g. ``v1-20261201``."""
    unit = re.sub(r"[^a-z0-9_]+", "_", unit_code.lower()).strip("_")[:28] or "poll"
    local = opens_at.astimezone(check_timezone(timezone))
    return check_code(f"{unit}-{local:%Y%m%d}")


# Ids of any length (ASCII digits): one that cannot exist is "no such unit".
BUTTONS = busy.StepButtons("d", r"[a-z]{1,2}[0-9]*")
parse_choice, choice_data = BUTTONS.parse, BUTTONS.data


# --- the /newcampaign dialogue --------------------------------------------------------------


@dataclass(frozen=True)
class UnitChoice:
    id: int
    code: str
    name: str
    has_children: bool


@dataclass(frozen=True)
class TemplateChoice:
    name: str
    title: LocalText
    audience: str


@dataclass(frozen=True)
class Screen:
    """One prompt of the dialogue: what the step asks, with what was chosen so far."""

    step: str
    nonce: str
    version: int
    data: dict[str, Any]
    error: str | None = None
    params: dict[str, object] = field(default_factory=dict)
    templates: list[TemplateChoice] = field(default_factory=list)
    survey_title: LocalText | None = None
    units: list[UnitChoice] = field(default_factory=list)
    browsing: UnitChoice | None = None  # the unit whose sub-units are listed
    up: int | None = None  # where "Up" goes (0: the top of the admin's scope)
    more_units: int = 0
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    suggested_code: str | None = None
    plan: AudiencePlan | None = None

    def choice(self, value: str) -> str:
        """Button data for ``value`` at this version of the dialogue."""
        return choice_data(self.nonce, self.version, value)


@dataclass(frozen=True)
class Created:
    code: str
    status: CampaignStatus
    unit: str
    opens_at: datetime
    closes_at: datetime | None
    timezone: str
    recipients: int


Outcome = busy.StepOutcome[Screen, Created]


async def start_dialogue(uow: UnitOfWork, caller: Caller, *, burden: Burden) -> Outcome:
    """``/newcampaign``: begin (or begin again) at the survey step. ``burden``: the limits
    the confirmation's audience plan counts with.

    Raises:
        Refused: ``busy.<kind>`` when another dialogue of the person's (a progress note, a
            note's correction, an inspection) is in progress: one row per person, and it is
            not thrown away; the admin is told how to finish or drop it first.
    """
    actor, lang = await acting_as(uow, caller, ADMIN_ROLES, NOT_ADMIN)
    # The person first: two first /newcampaign at once must not both insert the row.
    previous = await busy.locked(uow, actor.person_id, person_first=True)
    found = busy.in_the_way(actor, previous, (KIND,), "/newcampaign")
    if found is not None:
        raise Refused(found.key, lang, found.params)
    retire = previous.data.get("msg") if previous is not None else None
    data: dict[str, Any] = {"nonce": secrets.token_hex(3), "timezone": "UTC"}
    dialogue = await uow.dialogues.start(actor.person_id, KIND, STEPS[0], data, caller.now)
    screen = await _screen(uow, caller, actor, lang, dialogue, burden)
    return Outcome(lang, screen=screen, retire=retire)


async def cancel_dialogue(uow: UnitOfWork, caller: Caller) -> Outcome:
    """``/cancel`` during the dialogue: forget it."""
    actor, lang = await acting_as(uow, caller, ADMIN_ROLES, NOT_ADMIN)
    dialogue = await busy.locked(uow, actor.person_id)
    if dialogue is None:
        return Outcome(lang, notice="no_dialogue")
    retire = dialogue.data.get("msg")
    await uow.dialogues.end(actor.person_id)
    return Outcome(lang, notice="cancelled", retire=retire)


async def remember_prompt(uow: UnitOfWork, caller: Caller, nonce: str,
                          message_id: int) -> int | None:
    """Note the message showing the current prompt; returns the one it replaces, whose
    buttons should be retired. Does not change the dialogue's version."""
    person = await uow.people.by_user(caller.telegram_user_id)
    if person is None:
        return None
    dialogue = await busy.locked(uow, person.id)
    if dialogue is None or dialogue.data.get("nonce") != nonce:
        return None
    return busy.swap_prompt(dialogue, message_id)


async def dialogue_tap(
    uow: UnitOfWork, caller: Caller, nonce: str, version: int, choice: str, *, burden: Burden
) -> Outcome:
    """A button of the dialogue; refused as stale unless it is on the current prompt."""
    actor, lang = await acting_as(uow, caller, ADMIN_ROLES, NOT_ADMIN)
    dialogue = await busy.locked(uow, actor.person_id)
    if (dialogue is None or dialogue.kind != KIND or dialogue.version != version
            or dialogue.data.get("nonce") != nonce):
        return Outcome(lang, stale=True)
    return await _apply(uow, caller, actor, lang, dialogue, burden, tap=choice)


async def dialogue_text(uow: UnitOfWork, caller: Caller, text: str, *,
                        burden: Burden) -> Outcome:
    """A typed answer to the current step."""
    actor, lang = await acting_as(uow, caller, ADMIN_ROLES, NOT_ADMIN)
    dialogue = await busy.locked(uow, actor.person_id)
    if dialogue is None or dialogue.kind != KIND:
        return Outcome(lang, notice="no_dialogue")
    return await _apply(uow, caller, actor, lang, dialogue, burden, text=text.strip())


async def _apply(
    uow: UnitOfWork, caller: Caller, actor: Actor, lang: str, dialogue: AdminDialogue,
    burden: Burden, *, tap: str | None = None, text: str | None = None,
) -> Outcome:
    data = dict(dialogue.data)
    step = dialogue.step
    if tap == "x":
        await uow.dialogues.end(actor.person_id)
        return Outcome(lang, notice="cancelled")
    if tap == "b":
        back = STEPS[max(STEPS.index(step) - 1, 0)]
        moved = await uow.dialogues.start(actor.person_id, KIND, back, data, caller.now)
        return Outcome(lang, screen=await _screen(uow, caller, actor, lang, moved, burden))
    try:
        if step == "confirm":
            if tap != "y":
                raise InputError("use_buttons")
            return await _create(uow, caller, actor, lang, data, burden)
        following = await _STEP_INPUT[step](uow, caller, actor, data, tap, text)
    except InputError as exc:
        screen = await _screen(uow, caller, actor, lang, dialogue, burden, exc)
        return Outcome(lang, screen=screen)
    moved = await uow.dialogues.start(actor.person_id, KIND, following, data, caller.now)
    return Outcome(lang, screen=await _screen(uow, caller, actor, lang, moved, burden))


def _tapped(tap: str | None, prefix: str) -> int | None:
    if tap is None or not tap.startswith(prefix) or not is_digits(tap[len(prefix):]):
        return None
    return int(tap[len(prefix):])


async def _survey_input(uow: UnitOfWork, caller: Caller, actor: Actor, data: dict[str, Any],
                        tap: str | None, text: str | None) -> str:
    names = template_names()
    index = _tapped(tap, "s")
    if index is not None and index < len(names):
        name = names[index]
    elif text is not None and text.lower() in names:
        name = text.lower()
    else:
        raise InputError("unknown_survey", value=text or "")
    survey = load_template(name)
    data.update(survey=name, audience=survey.audience)
    return "unit"


async def _unit_input(uow: UnitOfWork, caller: Caller, actor: Actor, data: dict[str, Any],
                      tap: str | None, text: str | None) -> str:
    tree = await UnitTree.load(uow)
    visible = actor.visible_units(tree, ADMIN_ROLES)
    if tap is not None and tap.startswith("n"):
        target = _tapped(tap, "n")
        if tap != "n" and (target is None or target not in visible):
            raise InputError("out_of_scope", unit="?")
        data["browse"] = target
        return "unit"
    unit: UnitLike | None
    target = _tapped(tap, "u")
    if target is not None:
        unit = tree.by_id.get(target)
        if unit is None:
            raise InputError("unknown_unit", code="?")
    elif text:
        unit = tree.by_code.get(text) or next(
            (u for code, u in tree.by_code.items() if code.lower() == text.lower()), None
        )
        if unit is None:
            raise InputError("unknown_unit", code=text)
    else:
        raise InputError("use_buttons")
    if not actor.covers(tree, unit.id, ADMIN_ROLES):
        lang = await language(uow, caller)
        raise InputError("out_of_scope", unit=display_name(unit, lang))
    # The name as entered; each screen shows it in the admin's language (_screen).
    data.update(unit=unit.code, unit_id=unit.id, unit_name=unit.name)
    return "audience"


_AUDIENCE_WORDS = {"residents": "residents", "居民": "residents", "r": "residents",
                   "cadres": "cadres", "干部": "cadres", "c": "cadres"}


async def _audience_input(uow: UnitOfWork, caller: Caller, actor: Actor,
                          data: dict[str, Any], tap: str | None, text: str | None) -> str:
    word = tap[1:] if tap is not None and tap.startswith("a") else (text or "").lower()
    audience = _AUDIENCE_WORDS.get(word)
    if audience is None:
        raise InputError("unknown_audience", value=text or "")
    survey = load_template(str(data["survey"]))
    if audience != survey.audience:
        raise InputError("audience_mismatch", survey=survey.id, audience=survey.audience)
    data["audience"] = audience
    return "dates"


async def _dates_input(uow: UnitOfWork, caller: Caller, actor: Actor, data: dict[str, Any],
                       tap: str | None, text: str | None) -> str:
    zone = str(data.get("timezone") or "UTC")
    days = _tapped(tap, "w")
    if days is not None and days in WINDOW_PRESETS:
        window = WindowInput(zone, None, None, timedelta(days=days))
    elif text:
        window = parse_window(text, caller.now, zone)
    else:
        raise InputError("use_buttons")
    data.update(window.to_data())
    # Only a time zone: ask for the dates again, now read in that zone.
    return "reminders" if window.given else "dates"


def _preset_or_typed(tap: str | None, prefix: str, presets: Sequence[str], text: str | None,
                     parse: Callable[[str], str]) -> str:
    """A preset button (``<prefix><index>``) or a typed value read by ``parse``."""
    index = _tapped(tap, prefix)
    if index is not None and index < len(presets):
        return presets[index]
    if text is not None:
        return parse(text)
    raise InputError("use_buttons")


async def _reminders_input(uow: UnitOfWork, caller: Caller, actor: Actor,
                           data: dict[str, Any], tap: str | None, text: str | None) -> str:
    value = _preset_or_typed(tap, "r", REMINDER_PRESETS, text, parse_reminders_input)
    opens_at, closes_at = WindowInput.from_data(data).resolve(caller.now)
    try:
        check_plan(Window(opens_at, closes_at), parse_reminders(value))
    except CampaignRuleError as exc:
        raise InputError("reminders_outside", value=value) from exc
    data["reminders"] = value
    return "recurrence"


async def _recurrence_input(uow: UnitOfWork, caller: Caller, actor: Actor,
                            data: dict[str, Any], tap: str | None, text: str | None) -> str:
    zone = str(data.get("timezone") or "UTC")
    data["recurrence"] = _preset_or_typed(tap, "c", RECURRENCE_PRESETS, text,
                                          lambda typed: parse_recurrence_input(typed, zone))
    return "code"


async def _suggestion(uow: UnitOfWork, caller: Caller, data: Mapping[str, Any]) -> str:
    opens_at, _closes = WindowInput.from_data(data).resolve(caller.now)
    return await free_code(uow, str(data["unit"]), opens_at, str(data.get("timezone") or "UTC"))


async def free_code(uow: UnitOfWork, unit_code: str, opens_at: datetime, timezone: str) -> str:
    """The suggested code (:func:`suggest_code`), with ``-2``, ``-3``… while it is taken."""
    base = suggest_code(unit_code, opens_at, timezone)
    code, n = base, 1
    while await uow.campaigns.by_code(code) is not None and n < 50:
        n += 1
        code = f"{base}-{n}"
    return code


async def _code_input(uow: UnitOfWork, caller: Caller, actor: Actor, data: dict[str, Any],
                      tap: str | None, text: str | None) -> str:
    if tap == "k":
        code = await _suggestion(uow, caller, data)
    elif text:
        code = text
    else:
        raise InputError("use_buttons")
    try:
        check_code(code)
    except CampaignRuleError as exc:
        raise InputError("bad_code", code=code) from exc
    if await uow.campaigns.by_code(code) is not None:
        raise InputError("code_taken", code=code)
    data["code"] = code
    return "confirm"


_STEP_INPUT = {
    "survey": _survey_input,
    "unit": _unit_input,
    "audience": _audience_input,
    "dates": _dates_input,
    "reminders": _reminders_input,
    "recurrence": _recurrence_input,
    "code": _code_input,
}


async def _create(uow: UnitOfWork, caller: Caller, actor: Actor, lang: str,
                  data: dict[str, Any], burden: Burden) -> Outcome:
    window = WindowInput.from_data(data)
    check_window(window, caller.now)
    opens_at, closes_at = window.resolve(caller.now)
    tree = await UnitTree.load(uow)
    unit = tree.by_code.get(str(data["unit"]))
    if unit is None:
        raise InputError("unknown_unit", code=str(data["unit"]))
    if not actor.covers(tree, unit.id, ADMIN_ROLES):
        raise InputError("out_of_scope", unit=display_name(unit, lang))
    survey = load_template(str(data["survey"]))
    plan = await plan_invitations(uow, unit_id=unit.id, audience=str(data["audience"]),
                                  opens_at=opens_at, burden=burden, tree=tree)
    try:
        campaign = await create_campaign(
            uow, survey=survey, unit_code=unit.code, code=str(data["code"]),
            opens_at=opens_at, closes_at=closes_at, now=caller.now, actor=actor.label,
            audience=str(data["audience"]), timezone=window.timezone,
            reminders=parse_reminders(str(data.get("reminders") or "")),
            recurrence=recurrence_from_str(str(data.get("recurrence") or "") or None),
        )
    except CampaignRuleError as exc:
        raise InputError("rule", reason=str(exc)) from exc
    await uow.dialogues.end(actor.person_id)
    return Outcome(lang, done=Created(
        code=campaign.code, status=campaign.status, unit=display_name(unit, lang),
        opens_at=opens_at,
        closes_at=closes_at, timezone=window.timezone, recipients=len(plan.recipients),
    ))


async def _screen(
    uow: UnitOfWork, caller: Caller, actor: Actor, lang: str, dialogue: AdminDialogue,
    burden: Burden, error: InputError | None = None,
) -> Screen:
    data = dict(dialogue.data)
    extra: dict[str, Any] = {}
    step = dialogue.step
    chosen = await uow.units.by_code(str(data["unit"])) if data.get("unit") else None
    if chosen is not None:
        data["unit_name"] = display_name(chosen, lang)
    if data.get("survey"):
        extra["survey_title"] = load_template(str(data["survey"])).title
    if step == "survey":
        extra["templates"] = [
            TemplateChoice(name, survey.title, survey.audience)
            for name, survey in ((n, load_template(n)) for n in template_names())
        ]
    elif step == "unit":
        extra.update(await _unit_listing(uow, actor, lang, data.get("browse")))
    elif step in ("reminders", "recurrence", "code", "confirm"):
        opens_at, closes_at = WindowInput.from_data(data).resolve(caller.now)
        extra.update(opens_at=opens_at, closes_at=closes_at)
        if step == "code":
            extra["suggested_code"] = await _suggestion(uow, caller, data)
        if step == "confirm":
            extra["plan"] = await plan_invitations(
                uow, unit_id=int(data["unit_id"]), audience=str(data["audience"]),
                opens_at=opens_at, burden=burden,
            )
    return Screen(
        step=step, nonce=str(data["nonce"]), version=dialogue.version, data=data,
        error=error.key if error else None, params=error.params if error else {}, **extra,
    )


async def _unit_listing(uow: UnitOfWork, actor: Actor, lang: str,
                        browse: object) -> dict[str, Any]:
    tree = await UnitTree.load(uow)
    at = tree.browse(actor.visible_units(tree, ADMIN_ROLES), browse)

    def choice(unit: UnitNode) -> UnitChoice:
        return UnitChoice(unit.id, unit.code, display_name(unit, lang), at.has_inside(unit))

    return {
        "browsing": choice(at.node) if at.node is not None else None,
        "units": [choice(u) for u in at.listed[:UNITS_SHOWN]],
        "more_units": max(len(at.listed) - UNITS_SHOWN, 0),
        "up": at.up,
    }
