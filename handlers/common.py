"""Telegram chores shared by the handlers of every audience."""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ApplicationHandlerStop, BaseHandler

from analysis.packing import clip
from handlers.deps import Context, Deps, DuplicateUpdate
from handlers.texts import t
from storage.db import DatabaseUnavailable
from storage.uow import UnitOfWork
from surveys.people.caller import resolve_language

log = logging.getLogger(__name__)

T = TypeVar("T")


class TapOutcome(Protocol):
    """What a dialogue's use case returns for a tap on one of its buttons."""

    @property
    def lang(self) -> str: ...

    @property
    def stale(self) -> bool: ...


OutcomeT = TypeVar("OutcomeT", bound=TapOutcome)

# Telegram answers this when an edit would change nothing; it is not a failure for us.
_NOT_MODIFIED = "message is not modified"


class InAnswer:
    """The one Bot API call that the answer to a webhook post may carry (Telegram makes it and
    tells nothing back): a tap's answer goes there instead of a request of its own, one
    request fewer for every tap.

    Open while the post is being handled. A later answer to the tap replaces an earlier one
    (the latest word is the one the person sees, an error's alert over a silent answer; when
    polling, each is sent at once and Telegram keeps the first). :meth:`take` closes it for
    the post's answer; when the post cannot carry it (it failed, or was given up),
    :meth:`send_apart` makes the call as a request. Once closed, an answer (from a task the
    update started) is a request of its own."""

    __slots__ = ("_apart", "call", "closed")

    def __init__(self) -> None:
        self.call: dict[str, Any] | None = None
        self.closed = False
        self._apart: Callable[[], Awaitable[None]] | None = None

    def carry(self, call: dict[str, Any], apart: Callable[[], Awaitable[None]]) -> bool:
        """Hold ``call`` for the post's answer (``apart``: the same as a request); False once
        closed."""
        if self.closed:
            return False
        self.call, self._apart = call, apart
        return True

    def take(self) -> dict[str, Any] | None:
        self.closed = True
        return self.call

    async def send_apart(self) -> None:
        """Close, and make the call held (if any) as a request of its own."""
        self.closed = True
        apart, self._apart, self.call = self._apart, None, None
        if apart is not None:
            await apart()


# The slot of the webhook post being handled in this task (None: polling, or no post).
IN_ANSWER: ContextVar[InAnswer | None] = ContextVar("civicpulse_in_answer", default=None)


def lang_guess(deps: Deps, update: Update) -> str:
    """The language to answer in when the database cannot be asked: the client's own."""
    user = update.effective_user
    return resolve_language(None, user.language_code if user else None, deps.default_language)


async def peek(deps: Deps, update: Update,
               read: Callable[[UnitOfWork, int], Awaitable[T | None]]) -> T | None:
    """A cheap read before the update is claimed (whose dialogue a message belongs to, say).
    It claims nothing, and an outage reads as "nothing": the handlers that go on meet the
    same outage and say so."""
    user = update.effective_user
    if user is None:
        return None
    try:
        async with deps.db.reading() as uow:
            return await read(uow, user.id)
    except DatabaseUnavailable:
        return None


async def step(deps: Deps, update: Update, show: Callable[[Deps, Update, T], Awaitable[None]],
               use_case: Callable[[UnitOfWork], Awaitable[T]]) -> bool:
    """Run a step of a dialogue (claiming the update), then show where it stands; True: the
    update was the dialogue's."""
    outcome = await deps.run(update, use_case)
    await show(deps, update, outcome)
    return True


async def decoded(deps: Deps, update: Update, parse: Callable[[str | None], T | None]) -> T | None:
    """A tapped button's data as ``parse`` reads it; data it cannot read (a forged or foreign
    button) is answered so, and gives None."""
    query = update.callback_query
    assert query is not None
    parsed = parse(query.data)
    if parsed is None:
        await answer(query, t("forged", lang_guess(deps, update)))
    return parsed


async def tapped(deps: Deps, update: Update,
                 parse: Callable[[str | None], tuple[str, int, str] | None],
                 use_case: Callable[..., Awaitable[OutcomeT]], caller: object,
                 show: Callable[[Deps, Update, OutcomeT], Awaitable[None]]) -> bool:
    """A tap on a dialogue's button (``nonce``, ``version`` and ``choice`` in its data), run by
    ``use_case`` and shown by ``show``; a forged or stale tap is answered with a toast. True:
    the update was the dialogue's."""
    query = update.callback_query
    assert query is not None
    parsed = await decoded(deps, update, parse)
    if parsed is None:
        return True
    nonce, version, choice = parsed
    outcome = await deps.run(update, partial(use_case, caller=caller, nonce=nonce,
                                             version=version, choice=choice))
    if outcome.stale:
        await answer(query, t("stale", outcome.lang))
        return True
    await answer(query, None)
    await show(deps, update, outcome)
    return True


async def answer(query: CallbackQuery, text: str | None, alert: bool = False) -> None:
    """Answer a button tap, with an optional pop-up."""
    if text is not None:
        # A pop-up is plain text of at most 200 characters, not HTML like messages.
        text = html.unescape(text)
        text = clip(text, 200)
    slot = IN_ANSWER.get()
    if slot is not None:
        # Answered when the post is: after what the tap shows next, which is sent meanwhile
        # (Telegram's app keeps its spinner until then).
        call: dict[str, Any] = {"method": "answerCallbackQuery", "callback_query_id": query.id}
        if text:
            call["text"] = text
        if alert:
            call["show_alert"] = True
        if slot.carry(call, partial(_answer_now, query, text, alert)):
            return
    await _answer_now(query, text, alert)


async def _answer_now(query: CallbackQuery, text: str | None, alert: bool) -> None:
    try:
        await query.answer(text, show_alert=alert)
    except BadRequest as exc:
        # The query expired (the tap is older than Telegram keeps it); nothing to stop.
        log.info("callback answer failed: %s", exc)


async def edit(query: CallbackQuery, text: str, keyboard: InlineKeyboardMarkup | None) -> None:
    """Turn the tapped message into ``text``; an edit that changes nothing is fine."""
    message = query.message
    try:
        if message is None:  # a message too old for Telegram to include: PTB's way
            await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=keyboard)
            return
        # The edited message that comes back is not read here: left as JSON rather than made
        # into a Message (a hundred attributes set one by one, most of a tap's PTB cost).
        # The same request through the same rate limiter as Bot.edit_message_text.
        await query.get_bot()._post("editMessageText", {
            "chat_id": message.chat.id, "message_id": message.message_id, "text": text,
            "parse_mode": ParseMode.HTML, "reply_markup": keyboard})
    except BadRequest as exc:
        if _NOT_MODIFIED not in str(exc).lower():
            raise


async def say(update: Update, text: str,
              keyboard: InlineKeyboardMarkup | None = None) -> Message:
    """A new HTML message in the update's chat, links shown without a preview."""
    chat = update.effective_chat
    assert chat is not None
    return await chat.send_message(text, parse_mode=ParseMode.HTML, reply_markup=keyboard,
                                   disable_web_page_preview=True)


async def show(update: Update, text: str, keyboard: InlineKeyboardMarkup | None, *,
               in_place: bool) -> int:
    """A dialogue's prompt in place of the tapped one (``in_place``, for a button), or as a
    new message; returns the id of the message that shows it."""
    query = update.callback_query
    if in_place and query is not None and query.message is not None:
        await edit(query, text, keyboard)
        return query.message.message_id
    return (await say(update, text, keyboard)).message_id


async def retire(update: Update, message_id: int) -> None:
    """Take the buttons off an earlier prompt in the update's chat."""
    chat = update.effective_chat
    assert chat is not None
    try:
        await update.get_bot().edit_message_reply_markup(chat.id, message_id, reply_markup=None)
    except BadRequest as exc:
        # Already without buttons, or deleted by the person: nothing to retire.
        log.debug("retiring %s: %s", message_id, exc)


async def notice(update: Update, text: str) -> None:
    """Best-effort short answer: an alert for a button, a message otherwise."""
    try:
        if update.callback_query is not None:
            await answer(update.callback_query, text, alert=True)
        elif update.effective_chat is not None:
            await update.effective_chat.send_message(text, parse_mode=ParseMode.HTML)
    except TelegramError as exc:
        log.warning("could not deliver a notice: %s", exc)


Handler = Callable[[Update, Context], Coroutine[Any, Any, None]]
Handlers = list[BaseHandler[Update, Context, None]]
# Returns whether the update was this audience's (True stops it before the resident journey).
AudienceHandler = Callable[[Deps, Update, Context], Awaitable[bool]]


@dataclass(frozen=True)
class Guard:
    """How an admin's, cadre's, inspector's or reviewer's handler runs, before the resident
    journey (group 0).

    A refusal (one of ``refused``, told by ``on_refused``) and an infrastructure failure become
    a clear message; whatever the handler took on, even by failing, stops there
    (``ApplicationHandlerStop``) and never reaches the later groups.
    """

    deps: Deps
    who: str
    refused: tuple[type[Exception], ...] = ()
    on_refused: Callable[[Update, Exception], Awaitable[None]] | None = None

    def __call__(self, handler: AudienceHandler) -> Handler:
        """``handler`` as a PTB callback."""

        async def run(update: Update, context: Context) -> None:
            await self.run(update, partial(handler, self.deps, update, context))

        return run

    async def run(self, update: Update, handle: Callable[[], Awaitable[bool]]) -> None:
        """Run ``handle``; returns only when it left the update to the later groups."""
        deps = self.deps
        try:
            handled = await handle()
        except self.refused as refusal:
            assert self.on_refused is not None
            await self.on_refused(update, refusal)
            handled = True
        except DuplicateUpdate:
            log.info("ignoring redelivered update %s", update.update_id)
            handled = True
        except Forbidden:
            log.info("update %s: the %s has blocked the bot", update.update_id, self.who)
            handled = True
        except DatabaseUnavailable as exc:
            log.warning("database unavailable for update %s: %s", update.update_id, exc)
            await notice(update, t("db_unavailable", lang_guess(deps, update)))
            handled = True
        except ApplicationHandlerStop:
            raise
        except Exception:
            # PTB would hand the update on to the next group (the resident journey would say
            # "unknown command"); log it here and stop instead.
            log.exception("%s handler failed for update %s", self.who, update.update_id)
            await notice(update, t("error", lang_guess(deps, update)))
            handled = True
        if handled:
            raise ApplicationHandlerStop


async def remember_prompt(deps: Deps, what: str,
                          record: Callable[[UnitOfWork], Awaitable[int | None]],
                          fallback: int | None = None) -> int | None:
    """Note the prompt just shown (``record``, in its own transaction); returns the message
    whose buttons should go: the prompt it replaces, or this one if the dialogue has moved on
    meanwhile. With the database down only this tidying is lost (``fallback``): a stale tap
    is refused by version anyway."""
    try:
        async with deps.db.transaction() as uow:
            return await record(uow)
    except DatabaseUnavailable as exc:
        log.warning("could not remember the %s prompt: %s", what, exc)
        return fallback
