"""Approving a publication in chat (four eyes): /approve and its buttons, for auditors.

/approve lists the publications awaiting approval (an admin asked with `civicpulse appraisal
publish`); each one the auditor may approve (not their own request, not a version they
computed) has a button, which asks to confirm; the confirmation approves it, and the version
is published at once. Refusing, which needs a reason, is done with `civicpulse appraisal
refuse`. The rules are :mod:`surveys.appraisal.publication`'s; this module decodes the update,
runs one use case and renders what it returned, after the commit.
"""

from __future__ import annotations

import re
from functools import partial

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from handlers.common import Guard, answer, lang_guess, notice, say
from handlers.deps import Context, Deps
from handlers.router import Audience, Dialogues
from handlers.texts import refusal_key, t
from surveys.appraisal import publication
from surveys.appraisal.publication import Announcement, Awaiting, Review
from surveys.people.busy import Open
from surveys.people.caller import Refused

# Button data (at most 64 bytes): "pa:a:<request>" asks to confirm, "pa:y:<request>" approves.
# A request is decided once: a tap on one already decided is refused by its status.
_TAP = re.compile(r"pa:([ay]):([0-9]{1,18})")


def approval_audience(deps: Deps) -> Audience:
    guarded = Guard(deps, "auditor", (Refused,), _refuse)
    new = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return Audience(
        handlers=[CommandHandler("approve", guarded(_on_approve), new),
                  CallbackQueryHandler(guarded(_on_button), pattern=r"^pa:")],
        # No dialogue of its own: what it asks is answered with a button.
        dialogues=Dialogues(guarded, (), text=_not_mine, cancel=_not_mine),
    )


async def _not_mine(deps: Deps, update: Update, context: Context, found: Open) -> bool:
    return False


async def _refuse(update: Update, refusal: Exception) -> None:
    assert isinstance(refusal, Refused)
    # A tap is answered with an alert, a command with a message.
    await notice(update, t(refusal_key("approve", refusal.key), refusal.lang, refusal.params))


def data(step: str, request_id: int) -> str:
    return f"pa:{step}:{request_id}"


def _summary(item: Awaiting, lang: str) -> str:
    summary = item.summary
    return t("approve.item", lang, {
        "period": item.period, "version": item.version, "by": item.requested_by,
        "date": item.requested_at, "computed_by": item.computed_by,
        "units": summary.get("graded_units", 0), "units_all": summary.get("units", 0),
        "cadres": summary.get("graded_cadres", 0), "cadres_all": summary.get("cadres", 0),
        "responses": summary.get("responses", 0), "hash": item.results_hash[:12]})


def review_message(found: Review) -> tuple[list[str], InlineKeyboardMarkup | None]:
    lang = found.lang
    if not found.items:
        return [t("approve.none", lang)], None
    blocks = [t("approve.title", lang, {"total": len(found.items)})]
    rows = []
    for item in found.items:
        blocks.append(_summary(item, lang)
                      + ("\n" + t("approve.own_item", lang) if item.own else ""))
        if not item.own:
            rows.append([InlineKeyboardButton(
                t("approve.btn.review", lang, {"period": item.period, "version": item.version}),
                callback_data=data("a", item.request_id))])
    blocks.append(t("approve.footer", lang))
    return blocks, InlineKeyboardMarkup(rows) if rows else None


def announcement(request: Announcement, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    """The notice an auditor gets when a publication awaits them."""
    text = t("approve.notice", lang, {"period": request.period, "version": request.version,
                                      "by": request.requested_by})
    button = InlineKeyboardButton(
        t("approve.btn.review", lang, {"period": request.period, "version": request.version}),
        callback_data=data("a", request.request_id))
    return text, InlineKeyboardMarkup([[button]])


async def _on_approve(deps: Deps, update: Update, context: Context) -> bool:
    found = await deps.query(update, partial(publication.review, caller=deps.caller(update)))
    blocks, keyboard = review_message(found)
    await say(update, "\n\n".join(blocks), keyboard)
    return True


async def _on_button(deps: Deps, update: Update, context: Context) -> bool:
    query = update.callback_query
    assert query is not None
    tapped = _TAP.fullmatch(query.data or "")
    if tapped is None:
        await answer(query, t("approve.forged", lang_guess(deps, update)))
        return True
    step, request_id = tapped.group(1), int(tapped.group(2))
    caller = deps.caller(update)
    if step == "a":
        item, lang = await deps.query(update, partial(publication.confirm, caller=caller,
                                                      request_id=request_id))
        await answer(query, None)
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(
            t("approve.btn.confirm", lang, {"period": item.period, "version": item.version}),
            callback_data=data("y", request_id))]])
        await say(update, _summary(item, lang) + "\n\n" + t("approve.confirm", lang),
                  keyboard)
        return True
    done, lang = await deps.run(update, partial(publication.approve_tapped, caller=caller,
                                                request_id=request_id))
    await answer(query, None)
    run = done.run
    await say(update, t("approve.done", lang, {
        "period": run.period, "version": run.version, "events": run.audit_head_events,
        "head": (run.audit_head_hash or "")[:16],
        "superseded": t("approve.superseded", lang, {"version": done.superseded})
        if done.superseded else ""}, raw=frozenset({"superseded"})))
    return True
