"""Admin commands in chat: /campaigns, /campaign, /newcampaign, /close, /remind, /entry,
/invite, /cadres.

The handlers run before the resident journey (group 0). Each one that handles an update
stops it there (``ApplicationHandlerStop``), so the resident handlers never see an admin
command. Text and ``/cancel`` are the exception: ``handlers.router`` hands them here only
while the person is in the ``/newcampaign`` dialogue, so any other text reaches the resident
journey untouched.

Handlers are thin: decode the update, run one use case of ``surveys.campaigns`` in one
transaction (which also claims the update id), then send what it returned. Messages go out,
and the scheduler and outbox are nudged, only after the commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from telegram import InlineKeyboardMarkup, InputFile, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from analysis.qr import qr_png
from handlers import admin_render as render
from handlers.common import (
    Guard,
    answer,
    decoded,
    edit,
    notice,
    remember_prompt,
    retire,
    say,
    show,
    step,
    tapped,
)
from handlers.dashboard import with_report_button
from handlers.deps import Context, Deps
from handlers.router import Audience, Dialogues
from handlers.texts import refusal_key, t
from handlers.web.public import public_path
from surveys.campaigns import commands, dialogue
from surveys.campaigns.dialogue import Outcome
from surveys.campaigns.rules import deep_link
from surveys.fieldwork import invites
from surveys.fieldwork.cadres import invite_link
from surveys.people import busy
from surveys.people.access import ADMIN_ROLES, VIEW_ROLES
from surveys.people.busy import Open
from surveys.people.caller import Refused

log = logging.getLogger(__name__)
T = TypeVar("T")


def admin_audience(deps: Deps) -> Audience:
    guarded = Guard(deps, "admin", (Refused,), _refuse)
    # New messages only: an edited "/invite ..." must not create a second profile.
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    on_command = {"campaigns": _on_campaigns, "campaign": _on_campaign,
                  "newcampaign": _on_new_campaign, "close": _on_close, "remind": _on_remind,
                  "entry": _on_entry, "invite": _on_invite, "cadres": _on_cadres}
    return Audience(
        handlers=[
            *(CommandHandler(name, guarded(on), private) for name, on in on_command.items()),
            CallbackQueryHandler(guarded(_on_action_button), pattern=r"^a:"),
            CallbackQueryHandler(guarded(_on_dialogue_button), pattern=r"^d:"),
        ],
        dialogues=Dialogues(guarded, (busy.NEW_CAMPAIGN,), text=_on_text, cancel=_on_cancel),
    )


async def _refuse(update: Update, refusal: Exception) -> None:
    assert isinstance(refusal, Refused)
    await notice(update, t(refusal_key("admin", refusal.key), refusal.lang, refusal.params))


async def _send_qr(deps: Deps, update: Update, code: str, entry: str | None = None) -> None:
    link = deep_link(deps.bot_username, code, entry)
    name = f"{code}--{entry}.png" if entry else f"{code}.png"
    await _send_link_qr(update, link, name, link)


async def _send_link_qr(update: Update, link: str, filename: str, caption: str) -> None:
    chat = update.effective_chat
    assert chat is not None
    # Drawing the code is CPU work; keep it off the event loop.
    png = await asyncio.to_thread(qr_png, link)
    await chat.send_photo(InputFile(png, filename=filename), caption=caption)


# --- /campaigns, /campaign CODE -------------------------------------------------------------


async def _on_campaigns(deps: Deps, update: Update, context: Context) -> bool:
    view = await deps.query(update, partial(commands.list_campaigns, caller=deps.caller(update),
                                            kept=deps.kept_campaigns))
    await say(update, render.campaign_list(view))
    return True


async def _usage(deps: Deps, update: Update, key: str, roles: Any) -> bool:
    """Admins get the usage; anyone else the same refusal as with arguments."""
    lang = await deps.query(update, partial(commands.require_role, caller=deps.caller(update),
                                          roles=roles))
    await say(update, t(f"admin.usage.{key}", lang))
    return True


async def _on_campaign(deps: Deps, update: Update, context: Context) -> bool:
    if not context.args:
        return await _usage(deps, update, "campaign", VIEW_ROLES)
    view = await deps.query(update, partial(commands.campaign_status, caller=deps.caller(update),
                                          code=context.args[0], kept=deps.kept_campaigns))
    code = view.report.campaign.code
    links = {e.name: deep_link(deps.bot_username, code, e.name) for e in view.entry_points}
    message = render.campaign_report(view, deep_link(deps.bot_username, code), links)
    await say(update, message.text,
              with_report_button(message.keyboard, deps, f"/campaign/{code}", view.lang))
    return True


# --- /close, /remind, /entry ----------------------------------------------------------------


async def _ask(deps: Deps, update: Update, check: Callable[..., Awaitable[T]],
               show: Callable[[T], render.Message], code: str, **params: object) -> None:
    """The question before closing a campaign or sending its reminder, as a new message
    (under a button, once the tap is answered)."""
    view = await deps.query(update, partial(check, caller=deps.caller(update), code=code,
                                            **params))
    if update.callback_query is not None:
        await answer(update.callback_query, None)
    message = show(view)
    await say(update, message.text, message.keyboard)


async def _on_close(deps: Deps, update: Update, context: Context) -> bool:
    if not context.args:
        return await _usage(deps, update, "close", ADMIN_ROLES)
    await _ask(deps, update, commands.check_close, render.close_ask, context.args[0])
    return True


async def _on_remind(deps: Deps, update: Update, context: Context) -> bool:
    if not context.args:
        return await _usage(deps, update, "remind", ADMIN_ROLES)
    await _ask(deps, update, commands.check_remind, render.remind_ask, context.args[0],
               secret=deps.secret, burden=deps.burden)
    return True


async def _on_entry(deps: Deps, update: Update, context: Context) -> bool:
    args = context.args or []
    if len(args) < 2:
        return await _usage(deps, update, "entry", ADMIN_ROLES)
    label = " ".join(args[2:]) or None
    added = await deps.run(update, partial(commands.add_entry, caller=deps.caller(update),
                                           code=args[0], name=args[1], label=label))
    lang = added.lang
    link = deep_link(deps.bot_username, added.code, added.name)
    shown_label = t("admin.entry.label", lang, {"label": added.label}) if added.label else ""
    await say(update, t("admin.entry.done", lang,
                        {"name": added.name, "label": shown_label, "code": added.code,
                         "link": link}, raw=frozenset({"label"})))
    await _send_qr(deps, update, added.code, added.name)
    return True


# --- /invite --------------------------------------------------------------------------------


async def _on_invite(deps: Deps, update: Update, context: Context) -> bool:
    """``/invite UNIT Name; Position; tasks`` or ``/invite ID``: a cadre's one-time link,
    shown with its expiry and as a QR code to scan from the cadre's phone."""
    assert update.effective_message is not None
    text = update.effective_message.text or ""
    # Everything after the command, as typed (names have spaces; ';' separates the fields).
    parts = text.split(maxsplit=1)
    request = parts[1].strip() if len(parts) > 1 else ""
    caller = deps.caller(update)
    days = deps.fieldwork.invite_valid_for.days
    if not request:
        lang = await deps.query(update, partial(invites.invite_usage, caller=caller))
        await say(update, t("admin.usage.invite", lang, {"days": days}))
        return True
    invited = await deps.run(update, partial(invites.invite_cadre, caller=caller,
                                             text=request,
                                             valid_for=deps.fieldwork.invite_valid_for))
    link = invite_link(deps.bot_username, invited.issued.token)
    await say(update, render.invite_message(invited, link).text)
    await _send_link_qr(update, link, f"cadre-{invited.issued.profile.person_id}.png",
                        render.invite_qr_caption(invited))
    return True


async def _on_cadres(deps: Deps, update: Update, context: Context) -> bool:
    view = await deps.query(update, partial(invites.list_cadres, caller=deps.caller(update),
                                            kept=deps.kept_cadres))
    await say(update, render.cadre_list(view))
    return True


async def _on_action_button(deps: Deps, update: Update, context: Context) -> bool:
    parsed = await decoded(deps, update, render.parse_action)
    if parsed is not None:
        action, code = parsed
        await _ACTIONS.get(action, _keep)(deps, update, action, code)
    return True


async def _qr(deps: Deps, update: Update, action: str, code: str) -> None:
    ref = await deps.query(update, partial(commands.campaign_link, caller=deps.caller(update),
                                           code=code))
    await _done(update, None)
    await _send_qr(deps, update, ref.code)
    if deps.public_url and ref.unit_code:
        # The poster's second code: the unit's public results page, to print beside the
        # poll's, so whoever answers can see what came of it.
        page = deps.public_url + public_path(ref.unit_code)
        await _send_link_qr(update, page, f"{ref.code}-results.png",
                            t("admin.qr.public", ref.lang, {"url": page, "unit": ref.unit}))


async def _close(deps: Deps, update: Update, action: str, code: str) -> None:
    ref = await deps.run(update, partial(commands.close, caller=deps.caller(update), code=code))
    deps.campaigns_changed()
    await _done(update, t("admin.close.done", ref.lang, {"code": ref.code}))


async def _remind(deps: Deps, update: Update, action: str, code: str) -> None:
    view = await deps.run(update, partial(commands.remind, caller=deps.caller(update),
                                          code=code, secret=deps.secret, burden=deps.burden))
    deps.outbox_changed()
    await _done(update, t("admin.remind.done", view.lang, {"count": view.queued,
                                                       "code": view.code}))


async def _keep(deps: Deps, update: Update, action: str, code: str) -> None:
    """KEEP or NO_REMIND: nothing to change, but only an admin's buttons say so."""
    lang = await deps.query(update, partial(commands.require_role, caller=deps.caller(update),
                                          roles=ADMIN_ROLES))
    key = "admin.close.kept" if action == render.KEEP else "admin.remind.kept"
    await _done(update, t(key, lang, {"code": code}))


async def _done(update: Update, text: str | None) -> None:
    """Answer the tap; with ``text``, the tapped message becomes it (and loses its buttons)."""
    query = update.callback_query
    assert query is not None
    await answer(query, None)
    if text is not None:
        await edit(query, text, None)


Action = Callable[[Deps, Update, str, str], Awaitable[None]]


async def _close_ask(deps: Deps, update: Update, action: str, code: str) -> None:
    await _ask(deps, update, commands.check_close, render.close_ask, code)


async def _remind_ask(deps: Deps, update: Update, action: str, code: str) -> None:
    await _ask(deps, update, commands.check_remind, render.remind_ask, code,
               secret=deps.secret, burden=deps.burden)


_ACTIONS: dict[str, Action] = {
    render.QR: _qr,
    render.CLOSE_ASK: _close_ask,
    render.CLOSE: _close,
    render.REMIND_ASK: _remind_ask,
    render.REMIND: _remind,
}


# --- /newcampaign ---------------------------------------------------------------------------


async def _on_new_campaign(deps: Deps, update: Update, context: Context) -> bool:
    return await step(deps, update, _show,
                      partial(dialogue.start_dialogue, caller=deps.caller(update),
                              burden=deps.burden))


async def _on_cancel(deps: Deps, update: Update, context: Context, found: Open) -> bool:
    return await step(deps, update, _show,
                      partial(dialogue.cancel_dialogue, caller=deps.caller(update)))


async def _on_text(deps: Deps, update: Update, context: Context, found: Open) -> bool:
    assert update.effective_message is not None
    text = update.effective_message.text or ""
    return await step(deps, update, _show,
                      partial(dialogue.dialogue_text, caller=deps.caller(update), text=text,
                              burden=deps.burden))


async def _on_dialogue_button(deps: Deps, update: Update, context: Context) -> bool:
    return await tapped(deps, update, dialogue.parse_choice,
                        partial(dialogue.dialogue_tap, burden=deps.burden),
                        deps.caller(update), partial(_show, in_place=True))


async def _show(deps: Deps, update: Update, outcome: Outcome, *,
                in_place: bool = False) -> None:
    """Show a dialogue outcome: in place of the tapped prompt, or as a new message."""
    lang = outcome.lang
    keyboard: InlineKeyboardMarkup | None = None
    if outcome.done is not None:
        deps.campaigns_changed()
        link = deep_link(deps.bot_username, outcome.done.code)
        message = render.created_message(outcome.done, lang, link)
        text, keyboard = message.text, message.keyboard
    elif outcome.screen is not None:
        message = render.dialogue_message(outcome.screen, lang)
        text, keyboard = message.text, message.keyboard
    else:
        text = t(f"admin.dlg.{outcome.notice or 'no_dialogue'}", lang)
    shown_id = await show(update, text, keyboard, in_place=in_place)
    retire_id = outcome.retire
    if outcome.screen is not None:
        nonce = outcome.screen.nonce
        previous = await remember_prompt(deps, "dialogue", lambda uow: (
            dialogue.remember_prompt(uow, deps.caller(update), nonce, shown_id)))
        retire_id = previous if previous is not None else retire_id
    if retire_id is not None and retire_id != shown_id:
        await retire(update, retire_id)




