"""The dashboard from the chat: ``/dashboard`` (a one-time sign-in link for a browser) and
the short summaries that open the full report as a Mini App (``/myscore``'s).

A summary is a few lines (at most :data:`SUMMARY_LINES`), with names rather than codes or
ids, and a text that is shortened is shortened at a word, never inside one; the details are
on the page the "📊 Open the full report" button opens (a ``web_app`` button: Telegram hands
the page the person's signed ``initData``, see ``handlers/web``).
"""

from __future__ import annotations

from functools import partial
from urllib.parse import quote

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update, WebAppInfo
from telegram.ext import CommandHandler, filters

from analysis.packing import clip
from handlers.common import Guard, notice, say
from handlers.deps import Context, Deps
from handlers.router import Audience, Dialogues
from handlers.texts import known, t
from surveys.appraisal.results import Breakdown, MyScore, ResultsTable
from surveys.people import sign_in
from surveys.people.caller import Refused

SUMMARY_LINES = 12
EXPLANATION_SIZE = 220
NAME_SIZE = 60


def dashboard_audience(deps: Deps) -> Audience:
    guarded = Guard(deps, "dashboard", (Refused,), _refuse)
    new = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return Audience(
        handlers=[CommandHandler("dashboard", guarded(_on_dashboard), new)],
        dialogues=Dialogues(guarded, (), text=_nothing, cancel=_nothing),
    )


async def _nothing(*_args: object) -> bool:
    return False


async def _refuse(update: Update, refusal: Exception) -> None:
    assert isinstance(refusal, Refused)
    await notice(update, t(f"dashboard.{refusal.key}", refusal.lang))


async def _on_dashboard(deps: Deps, update: Update, context: Context) -> bool:
    if deps.web_url is None:
        user = update.effective_user
        lang = "zh" if user and (user.language_code or "").startswith("zh") else "en"
        await say(update, t("dashboard.off", lang))
        return True
    # A new link each time (the old ones stop working), so a redelivered /dashboard may
    # simply send another.
    issued = await deps.run(update, partial(sign_in.issue_link, caller=deps.caller(update),
                                            rules=deps.web))
    link = f"{deps.web_url}/signin/{issued.token}"
    minutes = int(deps.web.link_valid_for.total_seconds() // 60)
    await say(update, t("dashboard.link", issued.lang, {"minutes": minutes})
              + f'\n<a href="{link}">{link}</a>')
    return True


# --- summaries ------------------------------------------------------------------------------


def shorten(text: str, size: int) -> str:
    """``text`` on one line (runs of spaces and line breaks as one space) in at most ``size``
    characters, shortened at a word (:func:`analysis.packing.clip`)."""
    return clip(" ".join(text.split()), size)


def report_button(deps: Deps, path: str, lang: str) -> InlineKeyboardMarkup | None:
    """The "📊 Open the full report" Mini App button for a page of the dashboard."""
    if deps.web_url is None or not deps.web_app:
        return None
    url = f"{deps.web_url}/tg?next={quote(path, safe='/')}"
    return InlineKeyboardMarkup([[InlineKeyboardButton(t("web.open_report", lang),
                                                       web_app=WebAppInfo(url))]])


def with_report_button(keyboard: InlineKeyboardMarkup | None, deps: Deps, path: str,
                       lang: str) -> InlineKeyboardMarkup | None:
    """``keyboard`` with the "📊 Open the full report" button as its first row, where the
    dashboard can be opened as a Mini App; else ``keyboard`` as it was."""
    button = report_button(deps, path, lang)
    if button is None or keyboard is None:
        return button or keyboard
    return InlineKeyboardMarkup([*button.inline_keyboard, *keyboard.inline_keyboard])


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _standing(shown: Breakdown, lang: str) -> list[str]:
    if shown.graded:
        lines = [t("results.my.score", lang, {"score": _fmt(shown.score),
                                               "grade": _grade(shown.grade, lang)})]
        if shown.rank is not None:
            key = "results.my.rank" if shown.ranked else "results.my.rank_alone"
            lines.append(t(key, lang, {"rank": shown.rank, "ranked": shown.ranked}))
        return lines
    if shown.status == "no_data":
        return [t("results.my.no_data", lang)]
    return [t("summary.not_enough", lang, {
        "n": shown.responses,
        "min": shown.min_responses if shown.min_responses is not None else "?"})]


def _grade(grade: str | None, lang: str) -> str:
    key = f"results.grade.{grade or 'none'}"
    return t(key, lang) if known(key) else (grade or "")


def without_ids(text: str, shown: Breakdown) -> str:
    """The explanation names each component "Label (id)": the label is enough here."""
    for c in shown.components:
        text = text.replace(f" ({c.id})", "")
    return text.replace(f" ({shown.unit_code})", "")


def my_score_summary(view: MyScore) -> str:
    """``/myscore`` in a few lines: the standing, the strongest and weakest components, the
    explanation's beginning and the appeal; the rest is on the page."""
    shown, lang = view.breakdown, view.lang
    assert shown is not None
    lines = [t("summary.my.title", lang, {"period": view.period}),
             t("summary.who", lang, {"name": shorten(shown.name, NAME_SIZE),
                                     "unit": shorten(shown.unit_name, NAME_SIZE)})]
    lines += _standing(shown, lang)
    if shown.recognition:
        lines.append(t("results.recognition", lang))
    excluded = t("summary.excluded", lang, {"n": shown.excluded_total}) \
        if shown.excluded_total else ""
    lines.append(t("summary.responses", lang, {"n": shown.responses}) + excluded)
    scored = sorted((c for c in shown.components if c.score is not None),
                    key=lambda c: c.score or 0.0)
    if len(scored) >= 2:
        best, worst = scored[-1], scored[0]
        lines.append(t("summary.strongest", lang, {"label": shorten(best.label, NAME_SIZE),
                                                   "score": _fmt(best.score)}))
        lines.append(t("summary.weakest", lang, {"label": shorten(worst.label, NAME_SIZE),
                                                 "score": _fmt(worst.score)}))
    if shown.explanation:
        lines.append(t("results.explanation", lang, {
            "text": shorten(without_ids(shown.explanation, shown), EXPLANATION_SIZE)}))
    if view.appeal is not None and view.appeal.status == "open":
        lines.append(t("summary.appeal_open", lang))
    lines.append(t("summary.more", lang))
    return "\n".join(lines[:SUMMARY_LINES])


TOP_UNITS = 5


def ranking_path(table: ResultsTable, unit_id: int | None = None) -> str:
    """The ranking page of the table's period (below ``unit_id``, if given)."""
    return f"/ranking/{table.period}" + (f"?unit={unit_id}" if unit_id is not None else "")


def results_summary(table: ResultsTable) -> str:
    """``/results`` in a few lines: the period and scope by name, the best units, how many
    were graded; the whole ranking, the cadres and each breakdown are on the page."""
    lang = table.lang
    scope = ", ".join(shorten(n, NAME_SIZE) for n in table.scope_names) or \
        t("results.table.all", lang)
    graded = [r for r in table.units if r.graded]
    lines = [t("summary.results.title", lang, {"period": table.period}),
             t("summary.results.scope", lang, {"scope": scope}),
             t("summary.results.counts", lang, {"graded": len(graded), "units": len(table.units),
                                                 "cadres": len(table.cadres)})]
    for row in graded[:TOP_UNITS]:
        lines.append(t("summary.results.row", lang, {
            "rank": row.rank if row.rank is not None else "–",
            "name": shorten(row.unit_name, NAME_SIZE), "score": _fmt(row.score),
            "grade": _grade(row.grade, lang)}) + (" 🏅" if row.recognition else ""))
    if len(graded) > TOP_UNITS:
        lines.append(t("summary.results.more", lang, {"count": len(graded) - TOP_UNITS}))
    lines.append(t("summary.results.full", lang))
    return "\n".join(lines[:SUMMARY_LINES])
