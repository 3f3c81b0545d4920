"""What staff read about cases: the /cases list, one case with its timeline, and the prompts
of the dialogues on a case. Pure rendering: views in, HTML texts and keyboards out.

Button data (at most 64 bytes), all ``cs:``: ``cs:l:<page>`` a page of the list,
``cs:o:<number>`` open a case, ``cs:<action>:<number>:<version>`` an action on a case at its
version (merge: ``cs:m:<number>:<version>:<other>:<other version>``) and
``cs:d:<nonce>:<version>:<choice>`` a dialogue's button. Numbers are carried without "C-".
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from analysis.packing import clip
from handlers.admin_render import time_left, when
from handlers.render import MAX_TEXT, at_most
from handlers.texts import known, t
from storage.models import CaseStatus
from surveys.cases import timeline
from surveys.cases.handling import SUMMARY_MAX
from surveys.cases.steps import CONFIRM, NEXT, NO_SUMMARY, Prompt
from surveys.cases.views import (
    APPROVE,
    ASK,
    DENY,
    REJECT,
    REQUEST_REJECT,
    REQUEST_TRANSFER,
    RESOLVE,
    TAKE,
    TRANSFER,
    CaseLine,
    CaseList,
    CaseView,
    Entry,
)
from surveys.people import busy

# One letter per action in button data.
LETTERS = {TAKE: "t", ASK: "q", RESOLVE: "r", REQUEST_TRANSFER: "u", REQUEST_REJECT: "j",
           TRANSFER: "x", REJECT: "z", APPROVE: "a", DENY: "n"}
ACTIONS = {letter: action for action, letter in LETTERS.items()}
_CORE = "[2-9A-HJ-NP-Z]{6}"
_ACTION = re.compile(rf"cs:([tqrujxzan]):({_CORE}):([0-9]{{1,9}})")
_MERGE = re.compile(rf"cs:m:({_CORE}):([0-9]{{1,9}}):({_CORE}):([0-9]{{1,9}})")
_OPEN = re.compile(rf"cs:o:({_CORE})")
_PAGE = re.compile(r"cs:l:([0-9]{1,4})")
SUMMARY_LINES = 12  # /cases: a page reads at a glance; a case's button opens it in full
NAME_SHOWN = 28  # of a unit's, a topic's or a handler's name in a /cases line
LEGEND = (("✋", "request"), ("🔗", "similar"), ("👥", "reports"))
TEXT_SHOWN = 300  # of each timeline entry; the case's own text is shown whole if it fits
SIMILAR_SHOWN = 5  # case numbers named as possibly the same problem
RECAP_SHOWN = 1500  # of what was done, in the resolution's prompts (stored whole)
_TAG = re.compile(r"<[^>]*>")


def _core(number: str) -> str:
    return number.removeprefix("C-")


def action_data(action: str, number: str, version: int) -> str:
    return f"cs:{LETTERS[action]}:{_core(number)}:{version}"


def merge_data(number: str, version: int, other: str, other_version: int) -> str:
    return f"cs:m:{_core(number)}:{version}:{_core(other)}:{other_version}"


def open_data(number: str) -> str:
    return f"cs:o:{_core(number)}"


def page_data(page: int) -> str:
    return f"cs:l:{page}"


def parse(data: str | None) -> tuple[str, tuple[object, ...]] | None:
    """What a ``cs:`` button asks (``page``, ``open``, ``merge`` or an action) with its
    values; None for anything else (a forged or foreign button)."""
    data = data or ""
    if match := _PAGE.fullmatch(data):
        return "page", (int(match.group(1)),)
    if match := _OPEN.fullmatch(data):
        return "open", ("C-" + match.group(1),)
    if match := _MERGE.fullmatch(data):
        return "merge", ("C-" + match.group(1), int(match.group(2)), "C-" + match.group(3),
                         int(match.group(4)))
    if match := _ACTION.fullmatch(data):
        return ACTIONS[match.group(1)], ("C-" + match.group(2), int(match.group(3)))
    return None


def shown_length(html_text: str) -> int:
    """A message's length as Telegram counts it (tags gone, entities read, UTF-16 units).
    Parameters are escaped by ``t()``, so every ``<`` starts one of our tags."""
    return len(html.unescape(_TAG.sub("", html_text)).encode("utf-16-le")) // 2


def _clip(text: str, size: int) -> str:
    return clip(text, size)


def category_label(category: str, lang: str) -> str:
    """A case category's name (one text for residents, staff and the public summaries); a
    topic of the deployment's own configuration without a text shows as its id."""
    key = f"case.category.{category}"
    return t(key, lang) if known(key) else category.replace("_", " ")


def _numbers(numbers: Sequence[str]) -> str:
    """Case numbers in a line: the first few, then "…"."""
    shown = ", ".join(numbers[:SIMILAR_SHOWN])
    return shown + (", …" if len(numbers) > SIMILAR_SHOWN else "")


def _reports(count: int, lang: str) -> str:
    return t("cstaff.reports.1" if count == 1 else "cstaff.reports.n", lang, {"count": count})


def deadline(due_at: datetime, now: datetime, lang: str) -> str:
    """Time left, or how long overdue."""
    left = due_at - now
    if left > timedelta(0):
        return t("cstaff.left", lang, {"time": time_left(left, lang)})
    return t("cstaff.overdue", lang, {"time": time_left(-left, lang)})


def _status(status: CaseStatus, lang: str, *, who: str | None = None,
            outcome: str | None = None, into: str | None = None) -> str:
    if status == CaseStatus.TAKEN:
        return t("cstaff.status.taken", lang, {"who": who or "?"})
    if status == CaseStatus.CLOSED:
        return t("cstaff.status.closed", lang,
                 {"outcome": t(f"cstaff.outcome.{outcome}", lang)})
    if status == CaseStatus.MERGED:
        return t("cstaff.status.merged", lang, {"into": into or "?"})
    return t(f"cstaff.status.{status.value}", lang)


# --- /cases ---------------------------------------------------------------------------------


def _short_status(line: CaseLine, lang: str) -> str:
    if line.status == CaseStatus.TAKEN:
        return t("cstaff.short.taken", lang, {"who": clip(line.taken_by or "?", NAME_SHOWN)})
    key = f"cstaff.short.{line.status.value}"
    return t(key, lang) if known(key) else _status(line.status, lang)


def _marks(line: CaseLine) -> str:
    """The signs after a case's line (``LEGEND`` says what they mean)."""
    return "".join(sign for sign, shown in (("✋", line.request is not None),
                                            ("🔗", bool(line.similar)),
                                            (f"👥{line.reports}", line.reports > 1)) if shown)


def _line(line: CaseLine, lang: str, now: datetime) -> str:
    """One case, one line: its number, place, topic, who has it and its deadline."""
    if line.status == CaseStatus.RESOLVED and line.answer_due_at is not None:
        timing = t("cstaff.answer_by", lang, {"when": deadline(line.answer_due_at, now, lang)})
    else:
        timing = deadline(line.due_at, now, lang)
    marks = _marks(line)
    return t("cstaff.list.item", lang, {
        "number": line.number, "unit": clip(line.unit, NAME_SHOWN),
        "category": clip(category_label(line.category, lang), NAME_SHOWN),
        "status": _short_status(line, lang), "left": timing,
        "marks": f" {marks}" if marks else "",
    }, raw=frozenset({"left"}))


def case_list(listing: CaseList) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of ``/cases`` as a summary of at most ``SUMMARY_LINES`` lines (a case a line,
    what its signs mean), with a button per case (the case in full) and the pages around it."""
    lang = listing.lang
    if not listing.lines:
        return t("cstaff.list.empty", lang), None
    head = t("cstaff.list.head", lang, {"total": listing.total, "overdue": listing.overdue})
    if listing.pages > 1:
        head += " · " + t("cstaff.list.page", lang,
                          {"page": listing.page + 1, "pages": listing.pages})
    lines = [head, ""]
    for line in listing.lines:
        item = _line(line, lang, listing.now)
        if shown_length("\n".join([*lines, item])) > MAX_TEXT - 300:
            break  # never cut a case (or its HTML) in half; the next page shows the rest
        lines.append(item)
    lines += ["", t("cstaff.list.read_only" if listing.read_only else "cstaff.list.hint", lang)]
    signs = "".join(_marks(line) for line in listing.lines)
    legend = [t(f"cstaff.list.legend.{key}", lang) for sign, key in LEGEND if sign in signs]
    if legend:
        lines.append(" · ".join(legend))
    return "\n".join(at_most(lines, SUMMARY_LINES)), _list_keyboard(listing)


def _list_keyboard(listing: CaseList) -> InlineKeyboardMarkup:
    lang = listing.lang
    opens = [InlineKeyboardButton(line.number, callback_data=open_data(line.number))
             for line in listing.lines]
    rows = [opens[i:i + 4] for i in range(0, len(opens), 4)]
    paging = []
    if listing.page > 0:
        paging.append(InlineKeyboardButton(t("cstaff.btn.prev", lang),
                                           callback_data=page_data(listing.page - 1)))
    if listing.page + 1 < listing.pages:
        paging.append(InlineKeyboardButton(t("cstaff.btn.next", lang),
                                           callback_data=page_data(listing.page + 1)))
    if paging:
        rows.append(paging)
    return InlineKeyboardMarkup(rows)


# --- one case -------------------------------------------------------------------------------


def _who(entry: Entry, lang: str) -> str:
    if entry.author == "resident":
        return t("cstaff.who.resident", lang)
    return entry.who or t("cstaff.who.system", lang)


def _entry_key(entry: Entry) -> str:
    params = entry.params
    if entry.kind == timeline.REQUEST:
        decision = params.get("decision")
        if decision:
            return f"cstaff.tl.decision.{decision}"
        return f"cstaff.tl.request.{params.get('request')}"
    if entry.kind == timeline.MERGED:
        return "cstaff.tl.merged.into" if "into" in params else "cstaff.tl.merged.from"
    return f"cstaff.tl.{entry.kind}"


def entry_line(entry: Entry, lang: str, zone: str) -> str:
    """One timeline entry: when, who and what, its text cut to ``TEXT_SHOWN``."""
    key = _entry_key(entry)
    values: dict[str, object] = {
        **{k: v for k, v in entry.params.items() if isinstance(v, str | int)},
        "who": _who(entry, lang), "text": _clip(entry.text, TEXT_SHOWN),
    }
    if not known(key):
        key = "cstaff.tl.other"
        kind = f"cstaff.kind.{entry.kind}"
        values["kind"] = t(kind, lang) if known(kind) else entry.kind
    answer = entry.params.get("answer")
    if isinstance(answer, str) and known(f"cstaff.answer.{answer}"):
        values["answer"] = t(f"cstaff.answer.{answer}", lang)
    at = f"{entry.at.astimezone(ZoneInfo(zone)):%m-%d %H:%M}"
    return t("cstaff.tl.line", lang, {"at": at, "what": t(key, lang, values)},
             raw=frozenset({"what"}))


def _facts(view: CaseView, zone: str) -> list[str]:
    lang = view.lang
    lines = [t("cstaff.view.head", lang, {"number": view.number, "unit": view.unit,
                                          "category": category_label(view.category, lang)}),
             t("cstaff.view.status", lang, {
                 "status": _status(view.status, lang, who=view.taken_by,
                                   outcome=view.outcome.value if view.outcome else None,
                                   into=view.merged_into),
                 "reports": _reports(view.reports, lang)})]
    timing = (deadline(view.due_at, view.now, lang) if view.status in
              (CaseStatus.OPEN, CaseStatus.TAKEN, CaseStatus.RESOLVED) else "")
    # When it was opened is the timeline's first line; its photos are sent just above.
    lines.append(t("cstaff.view.dates", lang, {"due": when(view.due_at, zone), "left": timing},
                   raw=frozenset({"left"})))
    if view.location is not None:
        lines.append(t("cstaff.view.place", lang, {"latitude": f"{view.location[0]:.5f}",
                                                   "longitude": f"{view.location[1]:.5f}"}))
    lines.append(t("cstaff.view.reply.yes" if view.wants_reply else "cstaff.view.reply.no",
                   lang))
    return lines


def _outcome_lines(view: CaseView, zone: str) -> list[str]:
    lang = view.lang
    lines: list[str] = []
    if view.resolution:
        lines.append(t("cstaff.view.resolution", lang, {"text": _clip(view.resolution, 1000)}))
        lines.append(t("cstaff.view.summary", lang, {"text": view.summary})
                     if view.summary else t("cstaff.view.no_summary", lang))
        if view.resolved_on_time is not None:
            lines.append(t("cstaff.view.on_time" if view.resolved_on_time
                           else "cstaff.view.late", lang))
    if view.status == CaseStatus.RESOLVED and view.answer_due_at is not None:
        lines.append(t("cstaff.view.answer_due", lang, {"when": when(view.answer_due_at, zone)}))
    if view.request is not None:
        lines.append(t(f"cstaff.view.request.{view.request}", lang, {
            "unit": view.request_unit or "?", "reason": _clip(view.request_reason or "", 500)}))
    if view.reject_reason:
        lines.append(t("cstaff.view.rejected", lang, {"reason": _clip(view.reject_reason, 500)}))
    if view.similar:
        lines.append(t("cstaff.view.similar", lang, {"numbers": _numbers(view.similar)}))
    if not view.actions and view.status in (CaseStatus.OPEN, CaseStatus.TAKEN,
                                            CaseStatus.RESOLVED):
        lines.append(t("cstaff.view.read_only", lang))
    return lines


def case_text(view: CaseView, zone: str) -> str:
    """The case in one message: its facts, the report, what came of it and as much of the
    timeline (newest kept) as fits in Telegram's 4,096 characters."""
    lang = view.lang
    head = "\n".join(_facts(view, zone))
    report = t("cstaff.view.text", lang, {"origin": t(f"cstaff.origin.{view.origin}", lang),
                                          "text": view.text})
    tail = "\n".join(_outcome_lines(view, zone))
    blocks = [head, report, *([tail] if tail else [])]
    if shown_length("\n\n".join(blocks)) > MAX_TEXT - 600:
        blocks[1] = t("cstaff.view.text", lang, {
            "origin": t(f"cstaff.origin.{view.origin}", lang),
            "text": _clip(view.text, max(200, MAX_TEXT - 1200 - shown_length(head + tail)))})
    entries = [entry_line(e, lang, zone) for e in view.timeline]
    budget = MAX_TEXT - 100 - shown_length("\n\n".join(blocks))
    kept: list[str] = []
    for line in reversed(entries):
        budget -= shown_length(line) + 1
        if budget < 0:
            break
        kept.insert(0, line)
    if entries:
        shown = [t("cstaff.view.timeline", lang)]
        if len(kept) < len(entries):
            shown.append(t("cstaff.view.earlier", lang, {"count": len(entries) - len(kept)}))
        blocks.append("\n".join(shown + kept))
    return "\n\n".join(blocks)


def case_parts(view: CaseView, zone: str) -> tuple[list[str], str, list[str], list[str]]:
    """The case as the dashboard's page shows it, all of it (a page has room): its facts,
    the report, what came of it and every timeline entry, each an HTML text."""
    lang = view.lang
    report = t("cstaff.view.text", lang, {"origin": t(f"cstaff.origin.{view.origin}", lang),
                                          "text": view.text})
    return (_facts(view, zone), report, _outcome_lines(view, zone),
            [entry_line(e, lang, zone) for e in view.timeline])


def case_keyboard(view: CaseView) -> InlineKeyboardMarkup | None:
    """The buttons for what the viewer may do, in the order of the work."""
    lang = view.lang

    def button(action: str, key: str | None = None) -> InlineKeyboardButton:
        return InlineKeyboardButton(t(key or f"cstaff.btn.{action}", lang),
                                    callback_data=action_data(action, view.number, view.version))

    rows: list[list[InlineKeyboardButton]] = []
    first = []
    if TAKE in view.actions:
        first.append(button(TAKE, "cstaff.btn.take_over" if view.taken_by else None))
    first += [button(a) for a in (RESOLVE, ASK) if a in view.actions]
    for row in (first, [button(a) for a in (REQUEST_TRANSFER, REQUEST_REJECT)
                        if a in view.actions],
                [button(a) for a in (APPROVE, DENY) if a in view.actions],
                [button(a) for a in (TRANSFER, REJECT) if a in view.actions]):
        if row:
            rows.append(row)
    for other, version in view.merges[:3]:
        rows.append([InlineKeyboardButton(
            t("cstaff.btn.merge", lang, {"number": other}),
            callback_data=merge_data(view.number, view.version, other, version))])
    return InlineKeyboardMarkup(rows) if rows else None


def photo_caption(number: str, part: str, index: int, count: int, lang: str) -> str:
    return t("cstaff.photo.caption", lang, {"number": number, "index": index, "count": count,
                                            "part": t(f"cstaff.part.{part}", lang)})


# --- the dialogues' prompts -----------------------------------------------------------------


def _recap(prompt: Prompt, lang: str) -> list[str]:
    lines = []
    if prompt.resolution:
        lines.append(t("cstaff.recap.resolution", lang,
                       {"text": _clip(prompt.resolution, RECAP_SHOWN)}))
    if prompt.photos and prompt.info is None:  # a photo just sent says the count itself
        lines.append(t("cstaff.recap.photos", lang, {"count": prompt.photos}))
    if prompt.step == "confirm":
        lines.append(t("cstaff.recap.summary", lang, {"text": prompt.summary})
                     if prompt.summary else t("cstaff.recap.no_summary", lang))
    return lines


def _ask_line(prompt: Prompt, lang: str) -> str:
    limits = prompt.limits
    if prompt.kind == busy.CASE_ASK:
        return t("cstaff.ask.prompt", lang, {"number": prompt.number, "limit": limits.question})
    if prompt.kind == busy.CASE_RESOLVE:
        params: dict[str, object] = {"number": prompt.number, "limit": limits.text,
                                     "photos": limits.field.max_photos}
        if prompt.step == "summary":
            params["limit"] = SUMMARY_MAX
        if prompt.step in ("photos", "confirm"):  # where Resolve is: say what it does
            return t(f"cstaff.resolve.{prompt.step}.{'tell' if prompt.tell else 'close'}",
                     lang, params)
        return t(f"cstaff.resolve.{prompt.step}", lang, params)
    return t(f"cstaff.reason.{prompt.step}.{prompt.action}", lang, {
        "number": prompt.number, "unit": prompt.unit or "?", "limit": limits.text})


def prompt_message(prompt: Prompt, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    """A dialogue's prompt: what was given, what went wrong with the last input, what to do."""
    lines = [t(f"cstaff.head.{prompt.kind}", lang, {"number": prompt.number})]
    recap = _recap(prompt, lang)
    if recap:
        lines += ["", *recap]
    if prompt.info:
        lines += ["", t(f"cstaff.info.{prompt.info}", lang, prompt.params)]
    if prompt.error:
        key = prompt.error if "." in prompt.error else f"cstaff.err.{prompt.error}"
        lines += ["", "⚠️ " + t(key, lang, prompt.params)]
    lines += ["", _ask_line(prompt, lang)]
    return "\n".join(lines), InlineKeyboardMarkup(_prompt_rows(prompt, lang))


def _prompt_rows(prompt: Prompt, lang: str) -> list[list[InlineKeyboardButton]]:
    """Resolve wherever a resolution is complete (what was done is given): beside "Add a
    public summary" once it is, and after the summary; Cancel always."""
    def button(key: str, choice: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(t(key, lang, {"number": prompt.number}),
                                    callback_data=prompt.choice(choice))

    rows: list[list[InlineKeyboardButton]] = []
    if prompt.kind == busy.CASE_RESOLVE:
        if prompt.step == "photos":
            rows.append([button("cstaff.btn.confirm", CONFIRM),
                         button("cstaff.btn.summary", NEXT)])
        elif prompt.step == "summary":
            rows.append([button("cstaff.btn.no_summary", NO_SUMMARY)])
        elif prompt.step == "confirm":
            rows.append([button("cstaff.btn.confirm", CONFIRM)])
    rows.append([button("cstaff.btn.cancel", "x")])
    return rows
