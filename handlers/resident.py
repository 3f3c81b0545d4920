"""The resident journey: /start CODE, answering with buttons or text, /language, /cancel, /help.

Handlers are thin: decode the update, run one use case in one transaction, then send what it
says to show. Messages go out only after the commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar, cast

from telegram import CallbackQuery, Message, Update
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import Forbidden
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from handlers import render
from handlers.cases_resident_render import offer_keyboard
from handlers.common import (
    Handler,
    Handlers,
    answer,
    decoded,
    edit,
    lang_guess,
    notice,
    peek,
    retire,
)
from handlers.deps import Context, Deps, DuplicateUpdate
from handlers.menus import set_chat_menu
from handlers.texts import t
from handlers.web.public import public_path
from storage.db import DatabaseUnavailable
from surveys.fieldwork.cadres import Profile
from surveys.people.caller import LANGUAGES
from surveys.people.names import display_name
from surveys.people.roles import roles_of
from surveys.respondents import following, responding
from surveys.respondents.journey import Intro, Reply, Respondent
from surveys.respondents.responding import Tap

log = logging.getLogger(__name__)

# How long the reply to /stop waits for an invitation already being sent (a batch is sent in
# well under a second unless Telegram asked the bot to pause).
STOP_WAITS_FOR_SEND_S = 5.0
T = TypeVar("T")


def resident_handlers(deps: Deps) -> Handlers:
    """All handlers of the resident journey, bound to ``deps``."""
    # New messages only: editing an old answer or command must not count it again.
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return [
        CommandHandler("start", _guarded(deps, _on_start), private),
        CommandHandler("help", _guarded(deps, _on_help), private),
        CommandHandler("language", _guarded(deps, _on_language), private),
        CommandHandler("cancel", _guarded(deps, _on_cancel), private),
        CommandHandler("stop", _guarded(deps, _on_stop), private),
        CommandHandler("units", _guarded(deps, _on_units), private),
        ChatMemberHandler(_guarded(deps, _on_my_chat_member), ChatMemberHandler.MY_CHAT_MEMBER),
        CallbackQueryHandler(_guarded(deps, _decoding(render.parse_tap, _on_poll_button)),
                             pattern=r"^p:"),
        CallbackQueryHandler(_guarded(deps, _on_language_button), pattern=r"^l:"),
        CallbackQueryHandler(_guarded(deps, _decoding(render.parse_picker, _on_picker_button)),
                             pattern=r"^u:"),
        CallbackQueryHandler(_guarded(deps, _on_follow_button), pattern=r"^f:[0-9]+:[01]\Z"),
        CallbackQueryHandler(_guarded(deps, _on_invitation_button), pattern=r"^i:[0-9]+\Z"),
        CallbackQueryHandler(_guarded(deps, _decoding(render.parse_cancel, _on_cancel_button)),
                             pattern=r"^c:"),
        CallbackQueryHandler(_guarded(deps, _on_unknown_button)),
        MessageHandler(
            private & filters.TEXT & ~filters.COMMAND,
            _guarded(deps, _on_text),
        ),
        MessageHandler(
            private & filters.COMMAND, _guarded(deps, _on_unknown_command)
        ),
        MessageHandler(
            private & ~filters.TEXT & ~filters.StatusUpdate.ALL,
            _guarded(deps, _on_other),
        ),
    ]


def _guarded(
    deps: Deps, handler: Callable[[Deps, Update, Context], Awaitable[None]]
) -> Handler:
    """Turn infrastructure failures into a clear message; a duplicate update into nothing."""

    async def run(update: Update, context: Context) -> None:
        try:
            await handler(deps, update, context)
        except DuplicateUpdate:
            log.info("ignoring redelivered update %s", update.update_id)
        except Forbidden:
            # A reply was refused: the person has blocked the bot. What they sent is saved;
            # remember the block so invitations skip them until they come back.
            log.info("update %s: the person has blocked the bot", update.update_id)
            await _mark_unreachable(deps, update)
        except DatabaseUnavailable as exc:
            log.warning("database unavailable for update %s: %s", update.update_id, exc)
            await notice(update, t("db_unavailable", lang_guess(deps, update)))

    return run


def _decoding(
    parse: Callable[[str | None], T | None],
    handle: Callable[[Deps, Update, CallbackQuery, T], Awaitable[None]],
) -> Callable[[Deps, Update, Context], Awaitable[None]]:
    """A button's handler, given its data as ``parse`` reads it (a forged button is answered
    so and goes no further)."""

    async def run(deps: Deps, update: Update, context: Context) -> None:
        parsed = await decoded(deps, update, parse)
        if parsed is not None:
            assert update.callback_query is not None
            await handle(deps, update, update.callback_query, parsed)

    return run


async def _mark_unreachable(deps: Deps, update: Update) -> None:
    if update.effective_user is None or update.effective_chat is None:
        return
    who = deps.respondent(update)
    try:
        async with deps.db.transaction() as uow:
            await responding.set_reachable(uow, who, reachable=False)
    except DatabaseUnavailable as exc:
        log.warning("could not record the block: %s", exc)


async def _idempotent(deps: Deps, update: Update, use_case: Callable[..., Awaitable[Reply]],
                      **params: object) -> None:
    """Run a use case that a redelivery may simply run again (it shows where things stand,
    or sets what is already set), and send its reply."""
    run = partial(use_case, who=deps.respondent(update), **params)
    reply = await deps.run(update, run, again=run)
    await _send(deps, update, reply)


async def _on_start(deps: Deps, update: Update, context: Context) -> None:
    payload = context.args[0] if context.args else None
    # Beginning or resuming a poll is idempotent: a redelivery shows where the poll stands.
    await _idempotent(deps, update, responding.open_campaign, payload=payload)


async def _on_help(deps: Deps, update: Update, context: Context) -> None:
    await _idempotent(deps, update, responding.help_reply)


async def _on_cancel(deps: Deps, update: Update, context: Context) -> None:
    who = deps.respondent(update)
    reply = await deps.run(update, partial(responding.ask_cancel, who=who))
    if reply.withdraw is None:
        await _send(deps, update, reply)
        return
    assert update.effective_chat is not None
    await update.effective_chat.send_message(
        t(reply.notice or "cancel.confirm", reply.lang, reply.params), parse_mode=ParseMode.HTML,
        reply_markup=render.cancel_keyboard(reply.withdraw, reply.lang))


async def _on_cancel_button(deps: Deps, update: Update, query: CallbackQuery,
                            choice: tuple[bool, int, int]) -> None:
    """Withdraw my answers / Keep going, under /cancel's question."""
    withdraw, response_id, step = choice
    reply = await deps.run(update, partial(responding.settle_cancel, who=deps.respondent(update),
                                           response_id=response_id, step=step,
                                           withdraw=withdraw))
    if await _told(query, reply):
        return
    await edit(query, t(reply.notice or "cancelled", reply.lang, reply.params), None)
    if reply.screen is not None:
        # Keep going: the current question again, as the newest message.
        await _send(deps, update, Reply(reply.lang, screen=reply.screen,
                                        retire_message_id=reply.retire_message_id))
    elif reply.retire_message_id is not None:
        await retire(update, reply.retire_message_id)


async def _on_stop(deps: Deps, update: Update, context: Context) -> None:
    who = deps.respondent(update)
    run = partial(responding.stop_invitations, who=who)
    reply = await deps.run(update, run, again=run)
    await _after_invitation_on_its_way(deps, who)
    await _send(deps, update, reply)


async def _after_invitation_on_its_way(deps: Deps, who: Respondent) -> None:
    """An invitation the sender took before /stop committed still goes out: the reply comes
    after it, so that nothing arrives after "no more invitations"."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STOP_WAITS_FOR_SEND_S
    while loop.time() < deadline:
        try:
            async with deps.db.reading() as uow:
                if not await responding.invitation_on_its_way(uow, who):
                    return
        except DatabaseUnavailable:
            return  # the opt-out is saved; only the order of two messages is at stake
        await asyncio.sleep(0.05)


async def _on_my_chat_member(deps: Deps, update: Update, context: Context) -> None:
    member = update.my_chat_member
    if member is None or member.chat.type != ChatType.PRIVATE:
        return
    blocked = member.new_chat_member.status == ChatMemberStatus.BANNED
    who = deps.respondent(update)
    reachable = partial(responding.set_reachable, who=who, reachable=not blocked)
    await deps.run(update, reachable, again=reachable)


async def _on_language(deps: Deps, update: Update, context: Context) -> None:
    choice = context.args[0].lower() if context.args else None
    await _idempotent(deps, update, responding.set_language, lang=choice)


async def _on_text(deps: Deps, update: Update, context: Context) -> None:
    assert update.effective_message is not None
    text = update.effective_message.text or ""
    who = deps.respondent(update)
    reply = await deps.run(update, partial(responding.typed, who=who, text=text),
                          again=partial(responding.replay_typed, who=who))
    await _send(deps, update, reply)


async def _on_unknown_command(deps: Deps, update: Update, context: Context) -> None:
    await notice(update, t("unknown_command", lang_guess(deps, update)))


async def _on_other(deps: Deps, update: Update, context: Context) -> None:
    await notice(update, t("unsupported_message", lang_guess(deps, update)))


async def _on_poll_button(deps: Deps, update: Update, query: CallbackQuery, tap: Tap) -> None:
    who = deps.respondent(update)
    reply = await deps.run(update, partial(responding.press, who=who, tap=tap),
                          again=partial(responding.replay_press, who=who, tap=tap))
    if await _told(query, reply, alert=reply.notice in ("closed",)):
        return
    if reply.submitted:
        thanks, offer = t(reply.notice or "thanks", reply.lang, reply.params), None
        if reply.public_unit is not None and deps.public_url:
            code, name = reply.public_unit
            thanks += "\n\n" + t("thanks.public", reply.lang, {
                "unit": name, "url": deps.public_url + public_path(code)})
        if reply.case_offer is not None:
            # A low rating: offer to report the problem (a case), under the thanks.
            thanks += "\n\n" + t("case.offer", reply.lang)
            offer = offer_keyboard(reply.case_offer, reply.lang)
        await edit(query, thanks, offer)
        if reply.follow_offer is not None:
            unit_id, unit_name = reply.follow_offer
            assert query.message is not None
            await query.message.chat.send_message(
                t("follow_offer", reply.lang, {"unit": unit_name}), parse_mode=ParseMode.HTML,
                reply_markup=render.follow_keyboard(unit_id, reply.lang),
            )
        return
    if reply.screen is not None:
        message = render.screen_message(reply.screen, reply.lang)
        await edit(query, message.text, message.keyboard)


async def _on_language_button(deps: Deps, update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    choice = (query.data or "")[2:]
    who = deps.respondent(update)
    if choice not in LANGUAGES:
        await answer(query, t("forged", lang_guess(deps, update)))
        return
    choose = partial(responding.set_language, who=who, lang=choice)
    reply = await deps.run(update, choose, again=choose)
    await answer(query, t("language_set", reply.lang))
    await edit(query, t("language_set", reply.lang), None)
    if reply.screen is not None:
        await _send(deps, update, Reply(reply.lang, screen=reply.screen,
                                        retire_message_id=reply.retire_message_id))


async def _on_units(deps: Deps, update: Update, context: Context) -> None:
    await _idempotent(deps, update, following.show_units)


async def _on_picker_button(deps: Deps, update: Update, query: CallbackQuery,
                            tap: render.PickerTap) -> None:
    who = deps.respondent(update)
    if tap.action == "d":
        done = partial(following.units_done, who=who)
        reply = await deps.run(update, done, again=done)
        await answer(query, None)
        await edit(query, t(reply.notice or "units_none", reply.lang, reply.params), None)
        return
    if tap.action == "t":
        assert tap.unit_id is not None
        # A toggle is not idempotent: a redelivered one shows the page as it stands.
        reply = await deps.run(update, partial(following.toggle_unit, who=who,
                                               unit_id=tap.unit_id, parent_id=tap.parent_id,
                                               page=tap.page),
                               again=partial(following.show_units, who=who,
                                             parent_id=tap.parent_id, page=tap.page))
    else:
        show = partial(following.show_units, who=who, parent_id=tap.parent_id, page=tap.page)
        reply = await deps.run(update, show, again=show)
    if reply.only_notice or reply.picker is None:
        await answer(query, t(reply.notice or "stale", reply.lang))
        return
    await answer(query, None)
    await edit(query, render.picker_text(reply.picker, reply.lang),
                render.picker_keyboard(reply.picker, reply.lang))


async def _on_follow_button(deps: Deps, update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    _, unit, yes = (query.data or "").split(":")
    who = deps.respondent(update)
    follow = partial(following.answer_follow, who=who, unit_id=int(unit), yes=yes == "1")
    reply = await deps.run(update, follow, again=follow)
    if await _told(query, reply):
        return
    await edit(query, t(reply.notice or "not_following", reply.lang, reply.params), None)


async def _on_invitation_button(deps: Deps, update: Update, context: Context) -> None:
    """Start (or resume) the poll an invitation or reminder is about: one tap."""
    query = update.callback_query
    assert query is not None
    campaign_id = int((query.data or "i:0")[2:])
    who = deps.respondent(update)
    begin = partial(responding.open_invitation, who=who, campaign_id=campaign_id)
    reply = await deps.run(update, begin, again=begin)
    if await _told(query, reply):
        return
    # The invitation stays as it was (its button still works); the poll comes below it.
    await _send(deps, update, reply)


async def _told(query: CallbackQuery, reply: Reply, *, alert: bool = False) -> bool:
    """Answer the tap: with the reply's notice when that is all it says (True: nothing more
    to show), else without a word (the reply is shown next)."""
    if reply.only_notice:
        await answer(query, t(reply.notice or "stale", reply.lang, reply.params), alert=alert)
        return True
    await answer(query, None)
    return False


async def _on_unknown_button(deps: Deps, update: Update, context: Context) -> None:
    assert update.callback_query is not None
    await answer(update.callback_query, t("forged", lang_guess(deps, update)))


async def _send(deps: Deps, update: Update, reply: Reply) -> None:
    """Send a use case's reply as new messages, retiring the previous prompt's buttons."""
    chat = update.effective_chat
    assert chat is not None
    lang = reply.lang
    if reply.retire_message_id is not None:
        await retire(update, reply.retire_message_id)
    if reply.cadre is not None:
        # Linked (committed): the cadre's own command menu, whichever process leads, ready
        # by the time the greeting that mentions its commands arrives.
        held = await peek(deps, update, roles_of)
        if held:
            await set_chat_menu(update.get_bot(), chat.id, held)
        deps.roles_changed()
        await chat.send_message(_cadre_greeting(reply.cadre, reply.notice or "cadre.linked",
                                                lang), parse_mode=ParseMode.HTML)
        return
    notice = t(reply.notice, lang, reply.params) if reply.notice else None
    if reply.notice == "help":
        roles = cast(tuple[str, ...], reply.params.get("roles", ()))
        notice = "\n\n".join([t("help", lang), *(t(f"help.{role}", lang) for role in roles)])
    if notice and reply.notice == "choose_language":
        await chat.send_message(notice, reply_markup=render.language_keyboard())
        return
    if reply.picker is not None:
        if notice and reply.notice != "choose_units":
            await chat.send_message(notice, parse_mode=ParseMode.HTML)
        await chat.send_message(render.picker_text(reply.picker, lang), parse_mode=ParseMode.HTML,
                                reply_markup=render.picker_keyboard(reply.picker, lang))
        return
    if reply.intro is not None:
        text = (render.intro_message(reply.intro, lang, deps.min_cell_size).text
                if reply.intro.anonymous else _named_intro(reply.intro, lang))
        # One message where it fits: the intro above the first question (at 300 people
        # opening a poster's poll at once, each message more is a second more of waiting).
        if reply.screen is not None and _fits(deps, reply, text, notice, lang):
            notice = f"{text}\n\n{notice}" if notice else text
        else:
            await chat.send_message(text, parse_mode=ParseMode.HTML)
    if reply.screen is not None:
        message = render.screen_message(reply.screen, lang, notice)
        sent = await chat.send_message(
            message.text, parse_mode=ParseMode.HTML, reply_markup=message.keyboard
        )
        await _remember(deps, update, sent)
    elif notice:
        await chat.send_message(notice, parse_mode=ParseMode.HTML)


def _fits(deps: Deps, reply: Reply, intro: str, notice: str | None, lang: str) -> bool:
    assert reply.screen is not None
    head = f"{intro}\n\n{notice}" if notice else intro
    return len(render.screen_message(reply.screen, lang, head).text) <= render.MAX_TEXT


def _named_intro(intro: Intro, lang: str) -> str:
    """The intro of a questionnaire that is not anonymous (a cadre's self-assessment): it
    says the answers are kept under the cadre's name, never that they are anonymous."""
    closes = ""
    if intro.closes_at is not None:
        closes = t("closes", lang, {"date": intro.closes_at.strftime("%Y-%m-%d")})
    return t("intro.named", lang, {
        "title": intro.survey.title.get(lang), "unit": intro.unit_name,
        "intro": intro.survey.intro.get(lang), "questions": intro.questions, "closes": closes,
    }, raw=frozenset({"closes"}))


def _cadre_greeting(profile: Profile, key: str, lang: str) -> str:
    """Who the cadre is linked as, their key tasks, and what to do next."""
    if profile.tasks:
        tasks = t("cadre.tasks", lang, {"lines": "\n".join(f"• {task.title}"
                                                             for task in profile.tasks)})
    else:
        tasks = t("cadre.no_tasks", lang)
    shown = t("cadre.profile", lang, {
        "position": profile.position or "", "tasks": tasks,
        "units": ", ".join(display_name(unit, lang) for unit in profile.units),
    }, raw=frozenset({"tasks"}))
    return t(key, lang, {"name": display_name(profile, lang), "profile": shown,
                         "next": t("cadre.next", lang)}, raw=frozenset({"profile", "next"}))


async def _remember(deps: Deps, update: Update, sent: Message) -> None:
    who = deps.respondent(update)
    try:
        # One UPDATE of its own (the message exists only after the step committed).
        async with deps.db.single() as uow:
            await responding.remember_prompt(uow, who, sent.message_id)
    except DatabaseUnavailable as exc:
        # Only the id of the message to tidy up later is lost; the answer itself is saved.
        log.warning("could not remember prompt message: %s", exc)
