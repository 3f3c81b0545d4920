"""What the case relay says: a timeline entry as the message one recipient gets.

A resident sees only their case number, never who wrote; staff see "Resident" for the other
side. Texts are keyed ``relay.resident.<kind>`` and ``relay.staff.<kind>`` (``.other`` for a
kind without its own), a header with the case's facts, followed by the entry's own text. An
entry's photos go before its text, each captioned with the case number only
(:func:`photo_caption`), so the buttons stay on the text, at the bottom of the chat.

Buttons (callback data, at most 64 bytes):
``cq:<case number>:<entry id>`` Reply (a staff message to the resident),
``ca:<case number>:<case version>:<y|p|n>`` Was this solved? (a resolution to the resident;
for a resident whose report was merged into the resolved case, their own number and the
resolved case's version), ``cs:o:<number without C->`` Open case (every staff notice, as
handlers.cases_render opens it).
"""

from __future__ import annotations

import html
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from analysis.packing import clip
from handlers.cases_render import category_label, open_data
from handlers.cases_resident_render import reply_keyboard, solved_keyboard
from handlers.render import Message
from handlers.texts import known, t
from storage.models import CaseStatus
from surveys.cases import timeline
from surveys.cases.exports import last_day
from surveys.cases.relaying import Parcel, Recipient
from surveys.cases.rules import RESIDENT, CaseRules
from surveys.people.names import display_name

# Room for the header and the hint within Telegram's 4,096 characters.
MAX_BODY = 3500


def relay_message(parcel: Parcel, recipient: Recipient, rules: CaseRules) -> Message:
    """The message ``recipient`` gets for ``parcel``'s entry."""
    lang = recipient.language
    entry = parcel.entry
    audience = "resident" if recipient.resident else "staff"
    parts = [t(_key(audience, parcel, recipient), lang,
               _params(parcel, recipient, rules, lang))]
    body = entry.text.strip() if entry.text else ""
    if body:
        parts.append(html.escape(_clip(body, MAX_BODY), quote=False))
    hint = f"relay.{audience}.{entry.kind}.hint"
    if recipient.resident and entry.kind == timeline.RESOLUTION and not _askable(parcel):
        hint = "relay.resident.resolution.over"
    if known(hint):
        parts.append(t(hint, lang))
    return Message("\n\n".join(parts), _keyboard(parcel, recipient, lang))


def photo_caption(parcel: Parcel, recipient: Recipient, index: int, count: int) -> str:
    """The caption of the entry's ``index``-th photo of ``count``, sent before its text: the
    case number the recipient knows, nothing of who took it."""
    return t("relay.photo", recipient.language, {
        "number": recipient.number or parcel.case.number, "index": index, "count": count})


def _key(audience: str, parcel: Parcel, recipient: Recipient) -> str:
    """The text's key: by audience and kind, with a variant where the case says more (a
    request's kind, a report merged into the case)."""
    kind = parcel.entry.kind
    variant = ""
    if kind == timeline.REQUEST:
        variant = f"relay.{audience}.request.{parcel.params.get('request') or parcel.case.request}"
    elif kind == timeline.UNREACHABLE and parcel.params.get("report"):
        variant = f"relay.{audience}.unreachable.merged"
    elif recipient.resident and recipient.number != parcel.case.number:
        variant = f"relay.{audience}.{kind}.merged"
    if variant and known(variant):
        return variant
    key = f"relay.{audience}.{kind}"
    return key if known(key) else f"relay.{audience}.other"


def _params(parcel: Parcel, recipient: Recipient, rules: CaseRules,
            lang: str) -> dict[str, Any]:
    case, entry = parcel.case, parcel.entry
    extra = parcel.params
    outcome = extra.get("outcome") or (str(case.outcome) if case.outcome else "")
    answer = extra.get("answer") or ""
    escalation = extra.get("escalation") or case.escalation or ""
    return {
        "number": recipient.number or case.number,
        "case": case.number,
        "unit": display_name(parcel.unit, lang),
        "target": display_name(parcel.target, lang) if parcel.target else "?",
        "category": category_label(case.category, lang),
        "due": last_day(case.due_at, rules),
        "who": _who(parcel, lang),
        "handler": display_name(parcel.handler, lang) if parcel.handler
        else t("relay.who.nobody", lang),
        "into": parcel.into or "?",
        "report": extra.get("report") or "",
        "reports": case.reports,
        "outcome": _label("relay.outcome", outcome, lang),
        "answer": _label("relay.answer", answer, lang),
        "escalation": _label("relay.escalation", escalation, lang),
        "kind": entry.kind,
    }


def _who(parcel: Parcel, lang: str) -> str:
    if parcel.entry.author == RESIDENT:
        return t("relay.who.resident", lang)
    if parcel.author is not None:
        return display_name(parcel.author, lang)
    return t("relay.who.system", lang)


def _label(prefix: str, value: str, lang: str) -> str:
    """The text of ``prefix.value`` if there is one, else the value as it is."""
    key = f"{prefix}.{value}"
    return t(key, lang) if value and known(key) else value


def _clip(text: str, limit: int) -> str:
    return clip(text, limit)


def _keyboard(parcel: Parcel, recipient: Recipient, lang: str) -> InlineKeyboardMarkup | None:
    entry = parcel.entry
    if not recipient.resident:
        return InlineKeyboardMarkup([[InlineKeyboardButton(
            t("relay.button.open", lang), callback_data=open_data(parcel.case.number))]])
    # The resident's buttons as the resident side reads them (handlers.cases_resident).
    if entry.kind == timeline.MESSAGE and entry.author != RESIDENT:
        return reply_keyboard(recipient.number, entry.id, lang)
    if entry.kind == timeline.RESOLUTION and _askable(parcel):
        return solved_keyboard(recipient.number, parcel.case.version, lang)
    return None


def _askable(parcel: Parcel) -> bool:
    """Whether "Was this solved?" may still be answered: the case is still resolved. A
    resolution reaching a merged report's resident after another resident of the problem
    answered (closed, or reopened) comes without the buttons, which would be stale."""
    return parcel.case.status == CaseStatus.RESOLVED
