"""Appraisal results in chat: /myscore, /results, /appeal, /appeals and /answer (before the
resident journey).

A cadre's /myscore shows their latest published result: the score and grade (or why there is
none), the breakdown per component with its weight, n and 95% interval, residents' view
against their own, the top themes (never for small cells), training suggestions, recognition,
what was excluded and the trend, with a chart. Admins and auditors get /results, a ranking
of the units in their scope with a chart, and /appeals, the open appeals they can answer.

The handlers run before the resident journey (group 0). Commands and ``ap:`` buttons are
always handled here, so a resident gets a clear answer rather than "unknown command". Text and
/cancel come here from ``handlers.router`` only while the person is in one of this module's
dialogues (asked for an appeal's reason, or for an answer's text); anything else goes on
untouched.

Handlers are thin: decode the update, run one use case of ``surveys.appraisal.results`` or
``surveys.appraisal.appeals`` in one transaction (which also claims the update id), then send
what it returned, after the commit.
Charts are drawn in a worker thread.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import MessageLimit, ParseMode
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from analysis import charts
from analysis.packing import ELLIPSIS, clip, pack_greedily
from handlers.cases_render import category_label
from handlers.chart_render import ranking_chart_args, score_chart_args
from handlers.common import Guard, answer, lang_guess, notice, say
from handlers.dashboard import (
    my_score_summary,
    ranking_path,
    report_button,
    results_summary,
    without_ids,
)
from handlers.deps import Context, Deps
from handlers.router import Audience, Dialogues
from handlers.texts import known, refusal_key, t
from surveys.appraisal import appeals, results
from surveys.appraisal.appeals import Answered, Appealed, AppealFiled, AppealList
from surveys.appraisal.results import Breakdown, MyScore, Ranked, ResultsTable
from surveys.cases.summary import YouSaidWeDid
from surveys.people import busy
from surveys.people.busy import Open
from surveys.people.caller import Refused
from surveys.people.names import display_name

log = logging.getLogger(__name__)

TEXT_LIMIT = int(MessageLimit.MAX_TEXT_LENGTH)
CAPTION_LIMIT = int(MessageLimit.CAPTION_LENGTH)
TABLE_ROWS = 40
CADRE_ROWS = 30
NAME_SIZE = 60
REASON_SHOWN = 300
EXPLANATION_SHOWN = 800

# Button data (at most 64 bytes): the decision and the appeal id. The appeal's own status is
# its version: a tap on an answered appeal changes nothing.
# Any number of digits: an id no appeal can have is answered as "no such appeal".
_APPEAL_TAP = re.compile(r"ap:([ur]):([0-9]+)")
_TAP_DECISION = {"u": appeals.UPHOLD, "r": appeals.REJECT}


def results_audience(deps: Deps) -> Audience:
    guarded = Guard(deps, "results", (Refused,), _refuse)
    # New messages only: an edited /appeal is not a second appeal, nor an edited answer.
    new = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    commands = {"myscore": _on_myscore, "results": _on_results, "appeal": _on_appeal,
                "appeals": _on_appeals, "answer": _on_answer}
    return Audience(
        handlers=[
            *(CommandHandler(name, guarded(on), new) for name, on in commands.items()),
            CallbackQueryHandler(guarded(_on_button), pattern=r"^ap:"),
        ],
        dialogues=Dialogues(guarded, (busy.APPEAL, busy.APPEAL_ANSWER), text=_on_text,
                            cancel=_on_cancel),
    )


def refusal_text(refusal: Refused) -> str:
    params = dict(refusal.params)
    if "status" in params:
        params["status"] = word("status", str(params["status"]), refusal.lang)
    date = params.get("date")
    if isinstance(date, datetime):
        params["date"] = _date(date)
    return t(refusal_key("results", refusal.key), refusal.lang, params)


async def _refuse(update: Update, refusal: Exception) -> None:
    assert isinstance(refusal, Refused)
    await notice(update, refusal_text(refusal))


async def _say_all(update: Update, blocks: Sequence[str],
                   keyboard: InlineKeyboardMarkup | None = None) -> None:
    """Blocks packed into as few messages as fit 4,096 characters; the keyboard on the last."""
    parts = pack(blocks)
    for index, part in enumerate(parts):
        await say(update, part, keyboard if index == len(parts) - 1 else None)


def _rest(update: Update) -> str:
    """The text after the command, as typed (line breaks kept)."""
    message = update.effective_message
    assert message is not None
    parts = (message.text or "").split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


async def _chart(draw: Callable[[], bytes]) -> bytes | None:
    """Draw off the event loop; a chart that fails to draw is left out, never the text."""
    try:
        return await asyncio.to_thread(draw)
    except Exception:
        log.exception("could not draw a chart")
        return None


async def _photo(update: Update, png: bytes | None, filename: str, caption: str) -> None:
    if png is None:
        return
    chat = update.effective_chat
    assert chat is not None
    await chat.send_photo(InputFile(png, filename=filename), caption=clip(caption, CAPTION_LIMIT),
                          parse_mode=ParseMode.HTML)


# --- /myscore -------------------------------------------------------------------------------


async def _on_myscore(deps: Deps, update: Update, context: Context) -> bool:
    view = await deps.query(update, partial(results.my_score, caller=deps.caller(update),
                                          min_cell=deps.min_cell_size))
    shown = view.breakdown
    if shown is None or view.period is None:
        await say(update, t("results.my.none", view.lang))
        return True
    button = report_button(deps, f"/result/{shown.result_id}", view.lang)
    if button is not None:
        # The dashboard runs: a few lines here, the whole report (and a chart that can be
        # read) on its page.
        await say(update, my_score_summary(view), button)
        return True
    png = await _chart(partial(charts.score_chart, **score_chart_args(view, shown)))
    caption = t("results.caption", view.lang, {
        "name": clip(shown.name, NAME_SIZE), "period": view.period,
        "score": _headline(shown, view.lang)})
    await _photo(update, png, f"myscore-{view.period}.png", caption)
    await _say_all(update, my_score_blocks(view))
    return True


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def _date(value: datetime | None) -> str:
    return "–" if value is None else f"{value:%Y-%m-%d}"


def word(kind: str, value: str | None, lang: str) -> str:
    """A known word (grade, status, decision, anomaly kind) in ``lang``; else as stored."""
    key = f"results.{kind}.{'none' if value is None else value}"
    if known(key):
        return t(key, lang)
    return "" if value is None else value


def _headline(shown: Breakdown, lang: str) -> str:
    if shown.graded:
        return f"{_num(shown.score)} ({word('grade', shown.grade, lang)})"
    return word("grade", None, lang)


def _status_block(shown: Breakdown, lang: str) -> list[str]:
    lines: list[str] = []
    if shown.graded:
        lines.append(t("results.my.score", lang, {"score": _num(shown.score),
                                                   "grade": word("grade", shown.grade, lang)}))
        if shown.rank is not None:
            key = "results.my.rank" if shown.ranked else "results.my.rank_alone"
            lines.append(t(key, lang, {"rank": shown.rank, "ranked": shown.ranked}))
    elif shown.status == "no_data":
        lines.append(t("results.my.no_data", lang))
    else:
        lines.append(t("results.my.not_enough", lang, {
            "n": shown.responses,
            "min": shown.min_responses if shown.min_responses is not None else "?"}))
    lines.append(t("results.my.responses", lang, {"n": shown.responses}))
    if shown.recognition:
        lines.append(t("results.recognition", lang))
    return lines


def _components_block(shown: Breakdown, lang: str) -> list[str]:
    lines = [t("results.components", lang)]
    if not shown.components:
        lines.append(t("results.no_components", lang))
    for c in shown.components:
        interval = (f"[{c.low:.1f}–{c.high:.1f}]" if c.low is not None and c.high is not None
                    else t("results.no_interval", lang))
        weight = _pct(c.weight)
        if c.used_weight is not None and c.weight is not None and \
                abs(c.used_weight - c.weight) > 0.0005:
            weight = f"{weight} → {_pct(c.used_weight)}"
        lines.append(t("results.component", lang, {
            "label": clip(c.label, NAME_SIZE), "weight": weight,
            "score": _num(c.score) if c.score is not None else t("results.no_score", lang),
            "n": c.n, "interval": interval,
            "note": f" ({clip(c.note, 200)})" if c.note else "",
        }))
    return lines


def _views_block(shown: Breakdown, lang: str) -> list[str]:
    if shown.others_view is None and shown.self_view is None:
        return []
    none = t("results.no_view", lang)
    lines = [t("results.views", lang, {
        "others": _num(shown.others_view) if shown.others_view is not None else none,
        "self": _num(shown.self_view) if shown.self_view is not None else none})]
    if shown.exaggeration:
        lines.append(t("results.views.flag", lang))
    return lines


def _themes_block(shown: Breakdown, lang: str, min_cell: int) -> list[str]:
    if not shown.themes:
        key = "results.themes.hidden" if shown.themes_hidden else "results.themes.none"
        return [t(key, lang, {"min_cell": min_cell})]
    lines = [t("results.themes", lang)] + [
        t("results.theme", lang, {"topic": clip(th.topic, 40), "count": th.count,
                                   "share": _pct(th.share)})
        for th in shown.themes[:5]]
    if shown.themes_hidden:
        lines.append(t("results.themes.small", lang, {"min_cell": min_cell}))
    return lines


def _training_block(shown: Breakdown, lang: str) -> list[str]:
    if not shown.training:
        return []
    items = [item.get(lang) or item.get("en") or item.get("id") or "?" for item in shown.training]
    return [t("results.training", lang)] + [f"• {html.escape(clip(i, 80), quote=False)}"
                                             for i in items]


def _excluded_block(shown: Breakdown, lang: str) -> list[str]:
    if shown.excluded_total <= 0 and not shown.excluded:
        return [t("results.excluded.none", lang)]
    kinds = ", ".join(f"{word('kind', kind, lang)}: {count}"
                      for kind, count in sorted(shown.excluded.items()))
    return [t("results.excluded", lang, {"total": shown.excluded_total, "kinds": kinds})]


def _trend_block(view: MyScore, lang: str) -> list[str]:
    if len(view.trend) <= 1:
        return [t("results.trend.first", lang)]
    ungraded = word("grade", None, lang)
    items = " → ".join(f"{p.period} {_num(p.score) if p.score is not None else ungraded}"
                       for p in view.trend)
    return [t("results.trend", lang, {"items": items})]


def _appeal_block(view: MyScore, lang: str) -> list[str]:
    appeal = view.appeal
    if appeal is None:
        return [t("results.appeal.hint", lang)]
    if appeal.status == "open":
        return [t("results.appeal.open", lang, {"id": appeal.id,
                                                  "date": _date(appeal.created_at)})]
    return [t("results.appeal.closed", lang, {
        "id": appeal.id, "status": word("status", appeal.status, lang),
        "date": _date(appeal.answered_at), "answer": clip(appeal.answer or "", 500)})]


def my_score_blocks(view: MyScore) -> list[str]:
    """The text of /myscore, as blocks that each fit one message."""
    shown, lang = view.breakdown, view.lang
    assert shown is not None
    title = t("results.my.title", lang, {
        "period": view.period, "version": view.version, "date": _date(view.published_at),
        "name": clip(shown.name, NAME_SIZE),
        "unit": clip(shown.unit_name, NAME_SIZE)})
    blocks = [
        "\n".join([title, *_status_block(shown, lang)]),
        "\n".join(_components_block(shown, lang)),
        "\n".join(_views_block(shown, lang)),
        "\n".join(_themes_block(shown, lang, view.min_cell)),
        "\n".join(_training_block(shown, lang)),
        "\n".join(_excluded_block(shown, lang)),
        "\n".join(_trend_block(view, lang)),
    ]
    if shown.explanation:
        blocks.append(t("results.explanation", lang,
                         {"text": clip(without_ids(shown.explanation, shown), EXPLANATION_SHOWN)}))
    blocks.append("\n".join(_appeal_block(view, lang)))
    return [b for b in blocks if b]


# --- /results -------------------------------------------------------------------------------


async def _on_results(deps: Deps, update: Update, context: Context) -> bool:
    table = await deps.query(update, partial(results.results_table, caller=deps.caller(update),
                                           args=list(context.args or []),
                                           min_cell=deps.min_cell_size,
                                           published=deps.published))
    button = report_button(deps, ranking_path(table, _narrowed(table)), table.lang)
    if button is not None:
        await say(update, results_summary(table), button)
        return True
    ordered = list(table.units)
    if ordered:
        png = await _chart(partial(charts.ranking_chart,
                                   **ranking_chart_args(ordered, table.period, table.lang)))
        caption = t("results.table.title", table.lang, _table_params(table)).split("\n")[0]
        await _photo(update, png, f"results-{table.period}.png", caption)
    await _say_all(update, results_blocks(table))
    return True


def _narrowed(table: ResultsTable) -> int | None:
    """The one unit the table covers (with the units below), for the page's address."""
    return table.scope_ids[0] if len(table.scope_ids) == 1 else None


def _table_params(table: ResultsTable) -> dict[str, object]:
    scope = (", ".join(clip(name, NAME_SIZE) for name in table.scope_names)
             or t("results.table.all", table.lang))
    return {"period": table.period, "version": table.version,
            "date": _date(table.published_at), "scope": scope}


def _who(row: Ranked, cadre: bool) -> str:
    unit = clip(row.unit_name, 40)
    return f"{clip(row.name, 40)} ({unit})" if cadre else unit


def _row(row: Ranked, lang: str, cadre: bool = False) -> str:
    who = _who(row, cadre)
    if row.graded:
        rank = row.rank if row.rank is not None else "–"
        return t("results.table.row", lang, {
            "rank": rank, "who": who, "score": _num(row.score),
            "grade": word("grade", row.grade, lang), "n": row.responses,
            "flag": t("results.recognised", lang) if row.recognition else ""},
            raw=frozenset({"flag"}))
    if row.status == "no_data":
        return t("results.table.nodata", lang, {"who": who})
    return t("results.table.ungraded", lang, {
        "who": who, "n": row.responses,
        "min": row.min_responses if row.min_responses is not None else "?"})


def results_blocks(table: ResultsTable) -> list[str]:
    lang = table.lang
    blocks = [t("results.table.title", lang, _table_params(table))]
    if table.units:
        lines = [t("results.table.units", lang)]
        lines += [_row(r, lang) for r in table.units[:TABLE_ROWS]]
        if len(table.units) > TABLE_ROWS:
            lines.append(t("results.table.more", lang,
                            {"count": len(table.units) - TABLE_ROWS}))
        blocks.append("\n".join(lines))
    else:
        blocks.append(t("results.table.no_units", lang, {"period": table.period}))
    if table.cadres:
        lines = [t("results.table.cadres", lang)]
        lines += [_row(r, lang, cadre=True) for r in table.cadres[:CADRE_ROWS]]
        if len(table.cadres) > CADRE_ROWS:
            lines.append(t("results.table.more", lang,
                            {"count": len(table.cadres) - CADRE_ROWS}))
        blocks.append("\n".join(lines))
    elif table.units:
        blocks.append(t("results.table.no_cadres", lang, {"period": table.period}))
    if table.said is not None:
        blocks.append("\n".join(said_lines(table.said, lang, one_place=len(table.units) <= 1)))
    blocks.append(t("results.table.periods", lang, {"periods": ", ".join(table.periods[-8:])}))
    return blocks


# --- "You said, we did" ----------------------------------------------------------------------

SAID_SHOWN = 300


def said_lines(said: YouSaidWeDid, lang: str, one_place: bool = False) -> list[str]:
    """The "You said, we did" section: the figures (small cells already hidden by the use
    case), then the handlers' public summaries."""
    lines = [t("said.title", lang, {"period": said.period})]
    if not said.raised:
        return [*lines, t("said.none", lang, {"period": said.period})]
    pending = t("said.pending", lang, {"pending": said.pending}) if said.pending else ""
    lines.append(t("said.raised", lang, {"raised": said.raised}) + pending)
    lines.append(t("said.on_time", lang, {"on_time": said.on_time, "cases": said.cases,
                                          "share": _pct(said.on_time_share)})
                 if said.cases else t("said.on_time.none", lang))
    lines.append(t("said.confirmed", lang, {"confirmed": f"{said.confirmed:g}",
                                            "answered": said.answered,
                                            "share": _pct(said.confirmed_share)})
                 if said.answered and said.confirmed is not None
                 else t("said.confirmed.hidden", lang, {"min": said.min_cell}))
    lines.append(t("said.categories", lang, {"list": " · ".join(
        f"{category_label(c.category, lang)} {c.count}" for c in said.categories)})
                 if said.categories else t("said.categories.hidden", lang,
                                           {"min": said.min_cell}))
    for item in said.summaries:
        unit = clip(display_name(item.unit, lang), 40)
        head = t("said.item", lang, {"number": item.number, "unit": unit,
                                     "category": category_label(item.category, lang)})
        if item.reports > 1:
            head += " · " + t("said.reports", lang, {"count": item.reports})
        lines.append(head)
        if item.said:
            lines.append(t("said.item.said", lang, {"text": clip(item.said, SAID_SHOWN)}))
        state = t("said.state.on_time" if item.on_time else "said.state.late", lang)
        outcome = f"said.outcome.{item.outcome}"
        if known(outcome):
            state = t("said.state", lang, {"time": state, "outcome": t(outcome, lang)},
                      raw=frozenset({"time", "outcome"}))
        lines.append(t("said.item.did", lang, {"text": clip(item.did, SAID_SHOWN),
                                               "state": state}, raw=frozenset({"state"})))
    if not one_place:
        lines.append(t("said.more", lang, {"period": said.period}))
    return lines


# --- /appeal --------------------------------------------------------------------------------


async def _on_appeal(deps: Deps, update: Update, context: Context) -> bool:
    reason = _rest(update)
    caller = deps.caller(update)
    if not reason:
        asked = await deps.run(update, partial(appeals.ask_reason, caller=caller))
        score = (f"{_num(asked.score)}, {word('grade', asked.grade, asked.lang)}"
                 if asked.score is not None else word("grade", None, asked.lang))
        await say(update, t("results.appeal.ask", asked.lang, {
            "period": asked.period, "score": score, "min": appeals.REASON_MIN,
            "max": appeals.REASON_MAX}))
        return True
    filed = await deps.run(update, partial(appeals.file_appeal, caller=caller, reason=reason))
    await _filed(update, filed)
    return True


def _appealed_score(appealed: Appealed, lang: str, separator: str) -> str:
    if appealed.score is None:
        return word("grade", None, lang)
    return f"{_num(appealed.score)}{separator}{word('grade', appealed.grade, lang)}"


async def _filed(update: Update, filed: AppealFiled) -> None:
    lang = filed.lang
    unit = clip(filed.result.unit_name, NAME_SIZE)
    if not filed.reviewers:
        who = t("results.appeal.who_unknown", lang, {"unit": unit})
    elif filed.reviewer_count > len(filed.reviewers):
        who = t("results.appeal.who_more", lang, {
            "unit": unit, "names": ", ".join(filed.reviewers),
            "more": filed.reviewer_count - len(filed.reviewers)})
    else:
        who = t("results.appeal.who", lang, {"unit": unit, "names": ", ".join(filed.reviewers)})
    await say(update, t("results.appeal.filed", lang, {
        "id": filed.appeal_id, "period": filed.result.period, "version": filed.result.version,
        "score": _appealed_score(filed.result, lang, ", "), "who": who},
        raw=frozenset({"who"})))
    await tell_reviewers(update.get_bot(), filed)


async def tell_reviewers(bot: Bot, filed: AppealFiled) -> None:
    """Tell the reviewers of a filed appeal, each in their language, after the commit (the
    chat's /appeal and the dashboard's form). Best effort: a reviewer who cannot be reached
    is logged; the appeal stands and is listed by /appeals."""
    for recipient in filed.notify:
        try:
            await bot.send_message(recipient.chat_id, t("results.appeal.notify", recipient.lang, {
                "id": filed.appeal_id,
                "cadre": clip(display_name(filed.cadre, recipient.lang), NAME_SIZE),
                "unit": clip(display_name(filed.result.unit, recipient.lang), NAME_SIZE),
                "period": filed.result.period,
                "reason": clip(filed.reason, REASON_SHOWN)}), parse_mode=ParseMode.HTML)
        except TelegramError as exc:
            log.info("could not tell a reviewer about appeal %s: %s", filed.appeal_id, exc)


async def _on_text(deps: Deps, update: Update, context: Context, found: Open) -> bool:
    message = update.effective_message
    assert message is not None
    text = message.text or ""
    caller = deps.caller(update)
    if found.kind == appeals.REASON_KIND:
        filed = await deps.run(update, partial(appeals.file_appeal, caller=caller, reason=text))
        await _filed(update, filed)
        return True
    answered = await deps.run(update, partial(appeals.answer_from_dialogue, caller=caller,
                                              text=text))
    await _answered(update, answered)
    return True


async def _on_cancel(deps: Deps, update: Update, context: Context, found: Open) -> bool:
    cancelled = await deps.run(update, partial(appeals.cancel, caller=deps.caller(update)))
    if cancelled.kind == appeals.REASON_KIND:
        await say(update, t("results.appeal.cancelled", cancelled.lang))
    elif cancelled.kind == appeals.ANSWER_KIND:
        await say(update, t("results.answer.cancelled", cancelled.lang,
                            {"id": cancelled.appeal_id}))
    else:
        return False
    return True


# --- /appeals, the buttons, /answer ---------------------------------------------------------


async def _on_appeals(deps: Deps, update: Update, context: Context) -> bool:
    listed = await deps.query(update, partial(appeals.list_appeals, caller=deps.caller(update)))
    text_blocks, keyboard = appeals_message(listed)
    await _say_all(update, text_blocks, keyboard)
    return True


def appeal_data(decision: str, appeal_id: int) -> str:
    return f"ap:{decision[0]}:{appeal_id}"


def appeals_message(listed: AppealList) -> tuple[list[str], InlineKeyboardMarkup | None]:
    lang = listed.lang
    if not listed.items:
        return [t("results.appeals.none", lang)], None
    blocks = [t("results.appeals.title", lang, {"total": listed.total})]
    rows: list[list[InlineKeyboardButton]] = []
    for item in listed.items:
        appealed = item.result
        blocks.append(t("results.appeals.item", lang, {
            "id": item.id, "cadre": clip(item.cadre, NAME_SIZE),
            "unit": clip(appealed.unit_name, 40),
            "period": appealed.period, "version": appealed.version,
            "score": _appealed_score(appealed, lang, " "), "date": _date(item.created_at),
            "reason": clip(item.reason, REASON_SHOWN),
            "own": t("results.appeals.own", lang) if item.own else ""},
            raw=frozenset({"own"})))
        if not item.own:
            rows.append([
                InlineKeyboardButton(t("results.btn.uphold", lang, {"id": item.id}),
                                     callback_data=appeal_data(appeals.UPHOLD, item.id)),
                InlineKeyboardButton(t("results.btn.reject", lang, {"id": item.id}),
                                     callback_data=appeal_data(appeals.REJECT, item.id)),
            ])
    if listed.total > len(listed.items):
        blocks.append(t("results.appeals.more", lang, {"shown": len(listed.items),
                                                         "total": listed.total}))
    blocks.append(t("results.appeals.footer", lang))
    return blocks, InlineKeyboardMarkup(rows) if rows else None


async def _on_button(deps: Deps, update: Update, context: Context) -> bool:
    query = update.callback_query
    assert query is not None
    tapped = _APPEAL_TAP.fullmatch(query.data or "")
    if tapped is None:
        await answer(query, t("results.forged", lang_guess(deps, update)))
        return True
    decision, appeal_id = _TAP_DECISION[tapped.group(1)], int(tapped.group(2))
    asked = await deps.run(update, partial(appeals.ask_answer, caller=deps.caller(update),
                                           appeal_id=appeal_id, decision=decision))
    await answer(query, None)
    item, lang = asked.item, asked.lang
    await say(update, t("results.answer.ask", lang, {
        "id": item.id, "cadre": clip(item.cadre, NAME_SIZE),
        "unit": clip(item.result.unit_name, NAME_SIZE),
        "period": item.result.period, "decision": word("decision", asked.decision, lang),
        "min": appeals.ANSWER_MIN, "max": appeals.ANSWER_MAX}))
    return True


async def _on_answer(deps: Deps, update: Update, context: Context) -> bool:
    message = update.effective_message
    assert message is not None
    caller = deps.caller(update)
    # The answer's text as typed, line breaks kept: everything after the decision.
    parts = (message.text or "").split(maxsplit=3)
    parsed = appeals.parse_answer(parts[1:3] + ([parts[3]] if len(parts) > 3 else []))
    if parsed is None:
        lang = await deps.query(update, partial(appeals.require_reviewer, caller=caller))
        await say(update, t("results.usage_answer", lang))
        return True
    appeal_id, decision, text = parsed
    answered = await deps.run(update, partial(appeals.answer_appeal, caller=caller,
                                              appeal_id=appeal_id, decision=decision,
                                              text=text))
    await _answered(update, answered)
    return True


async def _answered(update: Update, answered: Answered) -> None:
    """Tell the cadre (after the commit), then the reviewer whether the cadre was told."""
    item = answered.item
    status = appeals.DECISIONS[answered.decision].value
    told = False
    if answered.cadre is not None:
        lang = answered.cadre.lang
        try:
            await update.get_bot().send_message(answered.cadre.chat_id, t(
                "results.answer.cadre", lang, {
                    "id": item.id, "period": item.result.period,
                    "status": word("status", status, lang),
                    "reviewer": clip(display_name(answered.reviewer, lang), NAME_SIZE),
                    "answer": answered.answer,
                    "meaning": t(f"results.answer.meaning.{status}", lang)},
                raw=frozenset({"meaning"})), parse_mode=ParseMode.HTML)
            told = True
        except TelegramError as exc:
            log.info("could not tell the cadre about appeal %s: %s", item.id, exc)
    lang = answered.lang
    cadre = clip(item.cadre, NAME_SIZE)
    told_text = t("results.answer.told" if told else "results.answer.not_told", lang,
                   {"cadre": cadre})
    await say(update, t("results.answer.done", lang, {
        "id": item.id, "status": word("status", status, lang), "told": told_text},
        raw=frozenset({"told"})))


# --- long texts -----------------------------------------------------------------------------

_TAG = re.compile(r"<[^>]*>")
_PARTIAL_ENTITY = re.compile(r"&[#A-Za-z0-9]*$")


def _cut_line(line: str, limit: int) -> str:
    """A single line longer than a message: its tags dropped (so none is left open) and the
    text cut at a word (never inside one) without splitting an HTML entity."""
    if len(line) <= limit:
        return line
    cut = clip(_TAG.sub("", line), limit)
    if cut.endswith(ELLIPSIS):
        cut = _PARTIAL_ENTITY.sub("", cut[:-len(ELLIPSIS)]).rstrip() + ELLIPSIS
    return cut


def pack(blocks: Sequence[str], limit: int = TEXT_LIMIT) -> list[str]:
    """Blocks joined by blank lines into messages of at most ``limit`` characters.

    A block too long for one message is split between lines (tags never span lines here),
    and a single line too long is cut (see :func:`_cut_line`)."""
    pieces: list[str] = []
    for block in blocks:
        if len(block) <= limit:
            pieces.append(block)
        else:
            lines = (_cut_line(line, limit) for line in block.split("\n"))
            pieces += pack_greedily(lines, "\n", limit)
    return pack_greedily(pieces, "\n\n", limit)


