"""One router for what a person types or sends, by the dialogue they are in.

A person has one dialogue row at most (``surveys.people.busy``), whose kind says whose it is:
a progress note or its correction (the cadre's), an inspection (the inspector's), a new
campaign (the admin's), an appeal's reason or the answer to one (the results'). Typed text,
``/cancel``, photos and locations are read against that row once, without claiming the update
(``handlers.whose``, the same read that tells the case drafts theirs), and handed to the one
audience that owns the kind; with no dialogue (a resident, or a person in none), they go on
to the resident journey (group 0) untouched. A photo or location sent outside any dialogue
may start one (a cadre's note).

The audiences' commands and buttons are theirs whatever the dialogue, so they run in the same
group, each stopping the update there once handled.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from functools import partial

from telegram import Update
from telegram.ext import CommandHandler, MessageHandler, filters

from handlers.common import Guard, Handlers
from handlers.deps import Context, Deps
from handlers.whose import whose
from storage.models import Role
from surveys.people.busy import Open

# Before the residents' case drafts (handlers.cases_resident, -1) and the resident journey
# (group 0), which get whatever is left here.
ROLES_GROUP = -2

# Handles a message of a dialogue the router gave it; returns whether it was taken (False
# leaves it to the resident journey).
Step = Callable[[Deps, Update, Context, Open], Awaitable[bool]]


@dataclass(frozen=True)
class Dialogues:
    """An audience's dialogues: the kinds it owns and what it does with each message."""

    guard: Guard
    kinds: Collection[str]
    text: Step
    cancel: Step
    photo: Step | None = None
    location: Step | None = None
    # Holders of these roles start one of these dialogues with a photo or a location sent
    # while in no dialogue.
    started_by_media: tuple[Role, ...] = ()


@dataclass(frozen=True)
class Audience:
    """An audience's commands and buttons (always its own), and its dialogues."""

    handlers: Handlers
    dialogues: Dialogues


def role_handlers(deps: Deps, audiences: Sequence[Audience]) -> Handlers:
    """Every audience's commands and buttons, and the router for their dialogues, for one
    group before the resident journey. Earlier audiences take media first when a person in
    no dialogue could start several."""
    router = _Router(deps, [audience.dialogues for audience in audiences])
    # New messages only: an edited text or command is not sent again, and a live location's
    # updates arrive as edits.
    new = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return [
        *(handler for audience in audiences for handler in audience.handlers),
        CommandHandler("cancel", router.cancel, new),
        MessageHandler(new & filters.TEXT & ~filters.COMMAND, router.text),
        MessageHandler(new & (filters.PHOTO | filters.Document.ALL | filters.LOCATION),
                       router.media),
    ]


class _Router:
    def __init__(self, deps: Deps, owners: Sequence[Dialogues]) -> None:
        self.deps = deps
        self.owners = owners
        self.by_kind = {kind: owner for owner in owners for kind in owner.kinds}

    async def text(self, update: Update, context: Context) -> None:
        found, owner = await self._owner(update, context)
        if found is not None and owner is not None:
            await self._hand(owner, owner.text, update, context, found)

    async def cancel(self, update: Update, context: Context) -> None:
        found, owner = await self._owner(update, context)
        if found is not None and owner is not None:
            await self._hand(owner, owner.cancel, update, context, found)

    async def media(self, update: Update, context: Context) -> None:
        found, owner = await self._owner(update, context)
        if found is not None and owner is None and found.kind is None:
            owner = next((o for o in self.owners if found.actor.has(o.started_by_media)), None)
        if found is None or owner is None:
            return
        message = update.effective_message
        assert message is not None
        photo = bool(message.photo) or message.document is not None
        step = owner.photo if photo else owner.location
        if step is not None:
            await self._hand(owner, step, update, context, found)

    async def _owner(self, update: Update, context: Context
                     ) -> tuple[Open | None, Dialogues | None]:
        # An outage reads as "no dialogue": the resident journey meets it too and says so.
        found = (await whose(self.deps, update, context)).dialogue
        if found is None or found.kind is None:
            return found, None
        return found, self.by_kind.get(found.kind)

    async def _hand(self, owner: Dialogues, step: Step, update: Update, context: Context,
                    found: Open) -> None:
        # Stops the update there (ApplicationHandlerStop) unless the step leaves it.
        await owner.guard.run(update, partial(step, self.deps, update, context, found))
