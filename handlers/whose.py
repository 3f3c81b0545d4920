"""Whose is a message: read once per update, before anything claims it.

A typed text, ``/cancel``, a photo or a location belongs to the sender's role dialogue (the
router's, ``handlers.router``), else to their case draft (``handlers.cases_resident``), else to
the resident journey. Both questions are answered by one read, on PostgreSQL without a
transaction of its own, and kept on the update's context, which python-telegram-bot shares
between the handlers of one update: the router and the case drafts do not read again, and
a resident's comment costs one read before its step, not two.

The read takes no lock: the use case that then handles the message locks its row and checks
again. A database outage reads as "nobody's": the handlers that go on meet the same outage
and say so.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Update

from handlers.deps import Context, Deps
from storage.db import DatabaseUnavailable
from surveys.cases import drafts
from surveys.cases.drafts import Peek
from surveys.people import busy
from surveys.people.busy import Open

_KEY = "civicpulse_whose"


@dataclass(frozen=True)
class Whose:
    """The sender's role dialogue (None: a resident, or no account) and their case draft."""

    dialogue: Open | None
    draft: Peek | None


NOBODY = Whose(None, None)


async def whose(deps: Deps, update: Update, context: Context) -> Whose:
    """What the message of ``update`` belongs to; read on the first call for the update."""
    cached = vars(context).get(_KEY)
    if isinstance(cached, Whose):
        return cached
    found = await _read(deps, update)
    vars(context)[_KEY] = found
    return found


async def _read(deps: Deps, update: Update) -> Whose:
    user = update.effective_user
    if user is None:
        return NOBODY
    caller = deps.caller(update)
    try:
        async with deps.db.browsing() as uow:
            # Both, even for someone in a role dialogue: a step there may leave the message
            # to the rest (it returns False), and a cadre can write a report as a resident.
            dialogue = await busy.open_dialogue(uow, user.id)
            draft = await drafts.peek(uow, caller, deps.secret,
                                      deps.cases.draft_expires_after)
            return Whose(dialogue, draft)
    except DatabaseUnavailable:
        return NOBODY
