"""What a resident sees of the case loop: the report's prompt, its buttons, and the buttons
other parts put under their messages (the end-of-poll offer, a relayed staff message's
"Reply", a resolution's "Was this solved?").

Button data (at most 64 bytes):
- ``cr:<nonce>:<version>:<choice>`` a draft's prompt (surveys.cases.reporting.draft_tap),
- ``co:<r|c>:<unit id>:<category>`` the end-of-poll offer (report, or turn the comment into a
  report; the category may be empty): the unit and category only, never the poll,
- ``cq:<case number>:<entry id>`` "Reply" under a relayed staff message,
- ``ca:<case number>:<case version>:<y|p|n>`` "Was this solved?" under a resolution.

The relay builds the last two with :func:`reply_keyboard` and :func:`solved_keyboard`. For
the resident of a case merged into another, the number is their own case's (its seal names
them) and the entry id and version are the primary's, whose messages and resolution they get.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from analysis.packing import clip
from handlers.cases_render import category_label
from handlers.texts import t
from surveys.cases.offer import CaseOffer
from surveys.cases.reporting import CATEGORY, CONFIRM, TEXT, UNIT, Card, Opened, Place, UnitPage
from surveys.cases.rules import COMMENT

LABEL = 40
_NUMBER = r"[A-Za-z0-9-]{1,16}"
DRAFT_TAP = re.compile(r"cr:([0-9a-f]{6}):([0-9]{1,9}):([a-z][0-9]{0,16})")
OFFER_TAP = re.compile(r"co:([rc]):([0-9]{1,16}):([a-z0-9_]{0,32})")
REPLY_TAP = re.compile(rf"cq:({_NUMBER}):([0-9]{{1,16}})")
ANSWER_TAP = re.compile(rf"ca:({_NUMBER}):([0-9]{{1,9}}):([ypn])")


@dataclass(frozen=True)
class OfferTap:
    comment: bool
    unit_id: int
    category: str | None


def parse_offer(data: str | None) -> OfferTap | None:
    match = OFFER_TAP.fullmatch(data or "")
    if match is None:
        return None
    kind, unit, category = match.groups()
    return OfferTap(kind == "c", int(unit), category or None)


def offer_keyboard(offer: CaseOffer, lang: str) -> InlineKeyboardMarkup:
    """Under the thanks for a poll with a low rating: report a problem about its unit (and,
    with a comment, turn the comment into the report)."""
    where = f"{offer.unit_id}:{offer.category or ''}"
    rows = [[InlineKeyboardButton(t("case.btn.offer_report", lang), callback_data=f"co:r:{where}")]]
    if offer.comment:
        rows.append([InlineKeyboardButton(t("case.btn.offer_comment", lang),
                                          callback_data=f"co:c:{where}")])
    return InlineKeyboardMarkup(rows)


def reply_keyboard(number: str, entry_id: int, lang: str) -> InlineKeyboardMarkup:
    """Under a staff message the relay hands to the resident."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        t("case.btn.reply", lang), callback_data=f"cq:{number}:{entry_id}")]])


def solved_keyboard(number: str, version: int, lang: str) -> InlineKeyboardMarkup:
    """Under a resolution the relay hands to the resident: "Was this solved?" (``version``:
    the case's, as resolved)."""
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(t(f"case.btn.{key}", lang),
                             callback_data=f"ca:{number}:{version}:{code}")
        for code, key in (("y", "yes"), ("p", "partly"), ("n", "no"))
    ]])


def _clip(text: str, size: int = LABEL) -> str:
    return clip(text, size)


def _button(text: str, card: Card, choice: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=card.choice(choice))


# --- the report's prompt --------------------------------------------------------------------


def card_message(card: Card, lang: str,
                 added: str | None = None) -> tuple[str, InlineKeyboardMarkup]:
    """The report as it stands, and what comes next: the place as its title (once known),
    the text, a line of photos and location, then the step's question; the category is on
    its button. Only what the resident needs to read: a photo, text or location they just
    sent shows in the card, not in a line saying it was received."""
    lines = [t("case.added.same_photo", lang)] if added == "same_photo" else []
    lines.append(t("case.draft.unit", lang, {"unit": card.unit}) if card.unit is not None
                 else t("case.draft.title", lang))
    if card.from_photo:
        lines.append(t("case.draft.from_photo", lang))
    if card.origin == COMMENT:
        lines.append(t("case.draft.from_comment", lang))
    lines.append(t("case.draft.text", lang, {"text": card.text}) if card.text
                 else t("case.draft.no_text", lang))
    details = []
    if card.photos:
        details.append(t("case.draft.photos", lang, {"count": card.photos}))
    if card.place is not None:
        details.append(t("case.draft.place", lang, {"place": _place(card.place, lang)}))
    if details:
        lines.append(" · ".join(details))
    if card.step != TEXT:
        lines += ["", t(f"case.step.{card.step}", lang)]
    return "\n".join(lines), InlineKeyboardMarkup(_rows(card, lang))


def _place(place: Place, lang: str) -> str:
    if place.distance_km is None:
        return t("case.place.unchecked", lang)
    distance = f"{place.distance_km:.1f}" if place.distance_km < 100 else f"{place.distance_km:.0f}"
    return t("case.place.far" if place.far else "case.place.near", lang,
             {"distance": distance, "centre": place.centre})


def _rows(card: Card, lang: str) -> list[list[InlineKeyboardButton]]:
    rows: list[list[InlineKeyboardButton]] = []
    if card.step == UNIT and card.picker is not None:
        rows = _picker_rows(card, card.picker, lang)
    elif card.step == CATEGORY:
        rows = _category_rows(card, lang)
    elif card.step == CONFIRM:
        rows = [
            [_button(t("case.btn.tell", lang), card, "y"),
             _button(t("case.btn.silent", lang), card, "n")],
            # The category on its button: a "?" while it is only suggested by the text.
            [_button(t("case.btn.category_suggested" if card.suggested else "case.btn.category",
                       lang, {"category": category_label(card.category, lang)}), card, "c"),
             _button(t("case.btn.place", lang), card, "l")],
            [_button(t("case.btn.quote_on" if card.quotable else "case.btn.quote_off", lang),
                     card, "q")],
        ]
    rows.append([_button(t("case.btn.cancel", lang), card, "x")])
    return rows


def _picker_rows(card: Card, picker: UnitPage, lang: str) -> list[list[InlineKeyboardButton]]:
    rows: list[list[InlineKeyboardButton]] = []
    if picker.node_id is not None and picker.node_name is not None:
        rows.append([_button(t("case.btn.here", lang, {"unit": _clip(picker.node_name)}),
                             card, f"u{picker.node_id}")])
    for unit in picker.units:
        row = [_button(_clip(unit.name), card, f"u{unit.id}")]
        if unit.has_inside:
            row.append(_button("›", card, f"o{unit.id}"))
        rows.append(row)
    moves: list[InlineKeyboardButton] = []
    if picker.up is not None:
        moves.append(_button(t("case.btn.up", lang), card, f"o{picker.up}"))
    if picker.page > 0:
        moves.append(_button(t("case.btn.previous", lang), card, f"p{picker.page - 1}"))
    if picker.page + 1 < picker.pages:
        moves.append(_button(t("case.btn.more", lang), card, f"p{picker.page + 1}"))
    if moves:
        rows.append(moves)
    if card.unit is not None:  # changing the place of a report that has one: back to it
        rows.append([_button(t("case.btn.back", lang), card, "b")])
    return rows


def _category_rows(card: Card, lang: str) -> list[list[InlineKeyboardButton]]:
    buttons = [
        _button(("✓ " if category == card.category else "") + category_label(category, lang),
                card, f"k{index}")
        for index, category in enumerate(card.categories)
    ]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    rows.append([_button(t("case.btn.back", lang), card, "b")])
    return rows


def opened_text(opened: Opened, lang: str) -> str:
    """The receipt of a sent report: its number and deadline (and, for someone who chose not
    to be told, that the number is theirs to keep)."""
    sent = t("case.sent", lang, {"number": opened.number, "date": opened.due_on.isoformat()})
    return sent if opened.wants_reply else sent + "\n" + t("case.sent.silent", lang)
