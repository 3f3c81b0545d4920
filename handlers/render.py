"""Turn use-case results into Telegram message texts and inline keyboards.

Buttons carry short ids only (Telegram allows 64 bytes of callback data):
``p:<response id>:<step>:<action><arg>`` for poll buttons, ``l:<lang>`` for languages,
``u:…`` for the unit picker, ``f:<unit>:<0|1>`` for the offer to follow a unit, and
``i:<campaign id>`` for the Start button of an invitation or a reminder.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from analysis.packing import clip
from handlers.texts import t
from surveys.campaigns.delivery import Outgoing
from surveys.people.names import display_name
from surveys.questionnaire import engine
from surveys.questionnaire.schema import AnswerValue, Question, Survey
from surveys.respondents.journey import Intro, Picker, Screen
from surveys.respondents.responding import Tap

MAX_TEXT = 4096
# Any number of digits for the response id (random, up to 16 digits): one that cannot exist is
# answered like one that does not (surveys.respondents.responding.press), not as a forged button.
_TAP = re.compile(r"p:([0-9]+):([0-9]{1,9}):([a-z])([0-9]{0,4})")
_ANSWER_PREVIEW = 160


def at_most(lines: list[str], count: int) -> list[str]:
    """``lines`` without their blank ones, from the last up, until ``count`` are left (or
    no blank one is): a summary gives up its breathing space before anything it says."""
    lines = list(lines)
    while len(lines) > count and "" in lines:
        del lines[len(lines) - 1 - lines[::-1].index("")]
    return lines


@dataclass(frozen=True)
class Message:
    text: str
    keyboard: InlineKeyboardMarkup | None = None


def tap_data(screen: Screen, action: str, arg: int | None = None) -> str:
    return f"p:{screen.response_id}:{screen.step}:{action}{'' if arg is None else arg}"


def parse_tap(data: str | None) -> Tap | None:
    """Decode poll button data; None for anything malformed (a forged or foreign button)."""
    match = _TAP.fullmatch(data or "")
    if match is None:
        return None
    response_id, step, action, arg = match.groups()
    return Tap(int(response_id), int(step), action, int(arg) if arg else None)


# Response ids as in _TAP: any digits, an impossible one is answered as a stale button.
_CANCEL = re.compile(r"c:([yn]):([0-9]+):([0-9]{1,9})")


def cancel_keyboard(screen: Screen, lang: str) -> InlineKeyboardMarkup:
    """/cancel's confirmation: the response and its step, so a later answer retires it."""
    where = f"{screen.response_id}:{screen.step}"
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(t("cancel.withdraw", lang), callback_data=f"c:y:{where}"),
        InlineKeyboardButton(t("cancel.keep", lang), callback_data=f"c:n:{where}"),
    ]])


def parse_cancel(data: str | None) -> tuple[bool, int, int] | None:
    """(withdraw?, response id, step) of a confirmation button; None if malformed."""
    match = _CANCEL.fullmatch(data or "")
    if match is None:
        return None
    choice, response_id, step = match.groups()
    return choice == "y", int(response_id), int(step)


def _clip(text: str, limit: int) -> str:
    return clip(text, limit)


def answer_label(question: Question, value: AnswerValue, lang: str) -> str:
    """A short, human form of an answer (plain text, not escaped)."""
    if value is None:
        return t("skipped", lang)
    if question.type == "yesno":
        return t("yes" if value else "no", lang)
    if question.type in ("single", "multi") and question.options:
        labels = {o.value: o.label.get(lang) for o in question.options}
        chosen = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(str(v), str(v)) for v in chosen)
    if question.type == "rating":
        return f"{value}/5"
    if question.type == "nps":
        return f"{value}/10"
    return _clip(str(value), _ANSWER_PREVIEW)


def intro_message(intro: Intro, lang: str, min_cell: int) -> Message:
    closes = ""
    if intro.closes_at is not None:
        closes = t("closes", lang, {"date": intro.closes_at.strftime("%Y-%m-%d")})
    text = t(
        "intro",
        lang,
        {
            "title": intro.survey.title.get(lang),
            "unit": intro.unit_name,
            "intro": intro.survey.intro.get(lang),
            "min_cell": min_cell,
            "questions": intro.questions,
            "closes": closes,
        },
        raw=frozenset({"closes"}),
    )
    return Message(text)


def _hint(question: Question, lang: str) -> str:
    params: dict[str, object] = {}
    if question.type == "text":
        params["max_length"] = question.max_length
    if question.type == "number":
        params = {"min": _num(question.min), "max": _num(question.max)}
    return t(f"hint.{question.type}", lang, params)


def _num(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else str(value)


def screen_message(screen: Screen, lang: str, notice: str | None = None) -> Message:
    """The message for the current question, the summary, or the change-an-answer list."""
    head = f"{notice}\n\n" if notice else ""
    if screen.question is None:
        return _summary(screen, lang, head)
    question = screen.question
    title = html.escape(screen.survey.title.get(lang))
    lines = [
        f"{head}<i>{title}</i> · {screen.progress.position}/{screen.progress.total}",
        "",
        f"<b>{html.escape(question.text.get(lang))}</b>"
        + ("" if question.required else f" {t('optional', lang)}"),
    ]
    # A question's own hint explains its scale better than the generic one; typed answers
    # still need the generic limits (length, range).
    if question.hint is not None:
        lines.append(html.escape(question.hint.get(lang)))
    if question.hint is None or question.type in ("text", "number"):
        lines.append(_hint(question, lang))
    if question.id in screen.state.answers and question.type in ("text", "number"):
        value = answer_label(question, screen.state.answers[question.id], lang)
        lines.append(t("previous", lang, {"value": value}))
    keyboard = InlineKeyboardMarkup(_question_buttons(screen, question, lang))
    return Message("\n".join(lines), keyboard)


def _question_buttons(
    screen: Screen, question: Question, lang: str
) -> list[list[InlineKeyboardButton]]:
    previous = screen.state.answers.get(question.id)

    def mark(label: str, chosen: bool) -> str:
        return f"✓ {label}" if chosen else label

    def button(label: str, action: str, arg: int | None = None) -> InlineKeyboardButton:
        return InlineKeyboardButton(label, callback_data=tap_data(screen, action, arg))

    rows: list[list[InlineKeyboardButton]] = []
    if question.type == "rating":
        rows.append([button(mark(str(n), previous == n), "v", n) for n in range(1, 6)])
    elif question.type == "nps":
        rows.append([button(mark(str(n), previous == n), "v", n) for n in range(0, 6)])
        rows.append([button(mark(str(n), previous == n), "v", n) for n in range(6, 11)])
    elif question.type == "yesno":
        rows.append(
            [
                button(mark(t("yes", lang), previous is True), "v", 1),
                button(mark(t("no", lang), previous is False), "v", 0),
            ]
        )
    elif question.type == "single":
        for index, option in enumerate(question.options or []):
            label = mark(option.label.get(lang), previous == option.value)
            rows.append([button(label, "v", index)])
    elif question.type == "multi":
        for index, option in enumerate(question.options or []):
            box = "☑" if option.value in screen.draft else "☐"
            rows.append([button(f"{box} {option.label.get(lang)}", "t", index)])
        rows.append([button(t("done", lang), "d")])
    nav: list[InlineKeyboardButton] = []
    if screen.can_go_back:
        nav.append(button(t("back", lang), "b"))
    if not question.required:
        nav.append(button(t("skip", lang), "s"))
    if nav:
        rows.append(nav)
    return rows


def _summary(screen: Screen, lang: str, head: str) -> Message:
    survey: Survey = screen.survey
    visible = engine.visible_questions(survey, screen.state.answers)
    if screen.picking:
        rows = [
            [
                InlineKeyboardButton(
                    _clip(f"{i + 1}. {q.text.get(lang)}", 60),
                    callback_data=tap_data(screen, "g", i),
                )
            ]
            for i, q in enumerate(visible)
        ]
        rows.append([InlineKeyboardButton(t("to_summary", lang),
                                          callback_data=tap_data(screen, "m"))])
        return Message(f"{head}{t('pick', lang)}", InlineKeyboardMarkup(rows))
    lines: list[str] = []
    budget = MAX_TEXT - 400  # room for the frame text around the list
    for i, q in enumerate(visible):
        value = answer_label(q, screen.state.answers.get(q.id), lang)
        line = (
            f"{i + 1}. {html.escape(_clip(q.text.get(lang), 120))}\n"
            f"    → <b>{html.escape(value)}</b>"
        )
        budget -= len(line) + 1
        if budget < 0:
            lines.append("…")
            break
        lines.append(line)
    text = head + t(
        "summary", lang, {"title": survey.title.get(lang), "lines": "\n".join(lines)},
        raw=frozenset({"lines"}),
    )
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(t("change", lang), callback_data=tap_data(screen, "e")),
                InlineKeyboardButton(t("submit", lang), callback_data=tap_data(screen, "u")),
            ]
        ]
    )
    return Message(text, keyboard)


def language_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton("English", callback_data="l:en"),
          InlineKeyboardButton("中文", callback_data="l:zh")]]
    )


def picker_keyboard(picker: Picker, lang: str) -> InlineKeyboardMarkup:
    """Units to tick (``u:t:<unit>:<parent>:<page>``), › to go down (``u:o:<unit>:0``)."""
    parent = picker.parent_id or 0
    rows: list[list[InlineKeyboardButton]] = []
    for choice in picker.choices:
        mark = "✓ " if choice.chosen else ""
        row = [InlineKeyboardButton(
            _clip(f"{mark}{choice.name}", 40),
            callback_data=f"u:t:{choice.id}:{parent}:{picker.page}",
        )]
        if choice.has_children:
            row.append(InlineKeyboardButton("›", callback_data=f"u:o:{choice.id}:0"))
        rows.append(row)
    nav: list[InlineKeyboardButton] = []
    if picker.parent_id is not None:
        nav.append(InlineKeyboardButton(t("units_up", lang),
                                        callback_data=f"u:o:{picker.up_id or 0}:0"))
    if picker.page + 1 < picker.pages:
        nav.append(InlineKeyboardButton(t("units_more", lang),
                                        callback_data=f"u:o:{parent}:{picker.page + 1}"))
    nav.append(InlineKeyboardButton(t("units_done", lang), callback_data="u:d"))
    rows.append(nav)
    return InlineKeyboardMarkup(rows)


def picker_text(picker: Picker, lang: str) -> str:
    text = t("choose_units", lang)
    if picker.parent_name:
        text += f"\n\n<b>{html.escape(picker.parent_name)}</b>"
    if picker.pages > 1:
        text += f" ({picker.page + 1}/{picker.pages})"
    return text


# Unit ids of any length: one that cannot exist is answered like a unit that does not.
_PICK = re.compile(r"u:(?:(t):([0-9]+):([0-9]+):([0-9]{1,4})|(o):([0-9]+):([0-9]{1,4})|(d))")


@dataclass(frozen=True)
class PickerTap:
    action: str  # t toggle, o open a level, d done
    unit_id: int | None = None
    parent_id: int | None = None
    page: int = 0


def parse_picker(data: str | None) -> PickerTap | None:
    match = _PICK.fullmatch(data or "")
    if match is None:
        return None
    g = match.groups()
    if g[0]:
        return PickerTap("t", int(g[1]), int(g[2]) or None, int(g[3]))
    if g[4]:
        return PickerTap("o", None, int(g[5]) or None, int(g[6]))
    return PickerTap("d")


def follow_keyboard(unit_id: int, lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(t("follow_yes", lang), callback_data=f"f:{unit_id}:1"),
        InlineKeyboardButton(t("follow_no", lang), callback_data=f"f:{unit_id}:0"),
    ]])


def prompt_message(outgoing: Outgoing) -> Message:
    """An invitation or a reminder, with a one-tap Start button (``i:<campaign id>``)."""
    prompt, lang = outgoing.prompt, outgoing.lang
    params: dict[str, object] = {
        "unit": display_name(prompt.unit, lang), "title": prompt.survey.title.get(lang),
        "questions": prompt.questions,
    }
    if outgoing.is_reminder:
        params["when"] = prompt.closes_at if prompt.closes_at else t("remind.soon", lang)
        text = t("remind", lang, params)
    else:
        closes = ""
        if prompt.closes_at is not None:
            closes = t("closes", lang, {"date": prompt.closes_at.strftime("%Y-%m-%d")})
        params["closes"] = closes
        key = "invite.cadres" if prompt.audience == "cadres" else "invite"
        text = t(key, lang, params, raw=frozenset({"closes"}))
    button = InlineKeyboardButton(t("start_poll", lang),
                                  callback_data=f"i:{prompt.campaign_id}")
    return Message(text, InlineKeyboardMarkup([[button]]))
