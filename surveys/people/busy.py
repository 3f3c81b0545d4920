"""One dialogue at a time: what stops one command from throwing another's work away.

A person has one row in ``admin_dialogues``, whatever they are doing: a progress note's
draft (``note``), a note's correction (``note_fix``), an inspection (``inspect``), a new
campaign (``newcampaign``), an appeal's reason (``appeal``), the answer to one
(``appeal_answer``), or a case's question, resolution or reason (``case_ask``,
``case_resolve``, ``case_reason``). Someone who is a cadre, an inspector and an admin at once
could otherwise lose a note's text and photos by sending /inspect. So a command that would start
a dialogue of another kind while one is in progress starts nothing: the person is told what
is in progress and how to finish or drop it (/cancel), and then to send the command again.

A dialogue of a kind the person may no longer use (the role was taken away meanwhile) is
abandoned: nothing could finish it, and /cancel would not reach it, so it gives way.

No Telegram. The one database access that changes anything is :func:`locked`, the row as
every dialogue reads it before changing it; the chat layer routes what a person types or sends
by the same row, read once without a lock (:func:`open_dialogue`).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from storage.models import AdminDialogue, Person, Role
from surveys.people.access import ADMIN_ROLES, CADRE_ROLES, INSPECTOR_ROLES, Actor

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

# The kinds of dialogue (as the modules that own them spell them) and who may use each.
NOTE, NOTE_FIX, INSPECT, NEW_CAMPAIGN = "note", "note_fix", "inspect", "newcampaign"
APPEAL, APPEAL_ANSWER = "appeal", "appeal_answer"
# Staff handling a case (surveys.cases.steps): a question to the resident, a resolution,
# the reason (and unit) of a transfer or rejection, requested or decided.
CASE_ASK, CASE_RESOLVE, CASE_REASON = "case_ask", "case_resolve", "case_reason"
ROLES_OF_KIND: dict[str, tuple[Role, ...]] = {
    NOTE: CADRE_ROLES,
    NOTE_FIX: CADRE_ROLES,
    INSPECT: INSPECTOR_ROLES,
    NEW_CAMPAIGN: ADMIN_ROLES,
    APPEAL: CADRE_ROLES,
    APPEAL_ANSWER: (*ADMIN_ROLES, Role.AUDITOR),
    CASE_ASK: (*CADRE_ROLES, *ADMIN_ROLES),
    CASE_RESOLVE: (*CADRE_ROLES, *ADMIN_ROLES),
    CASE_REASON: (*CADRE_ROLES, *ADMIN_ROLES),
}


ScreenT = TypeVar("ScreenT")
DoneT = TypeVar("DoneT")


@dataclass(frozen=True)
class StepButtons:
    """The button data of a dialogue's prompts: ``<prefix>:<nonce>:<version>:<choice>``, so a
    tap on an old prompt (another nonce or version) is told apart from a current one, and
    data that does not fit ``choices`` (a regular expression) is refused as forged."""

    prefix: str
    choices: str

    def data(self, nonce: str, version: int, choice: str) -> str:
        return f"{self.prefix}:{nonce}:{version}:{choice}"

    def parse(self, data: str | None) -> tuple[str, int, str] | None:
        """(nonce, version, choice), or None if malformed."""
        match = re.fullmatch(rf"{re.escape(self.prefix)}:([0-9a-f]{{6}}):([0-9]{{1,9}}):"
                             rf"({self.choices})", data or "")
        if match is None:
            return None
        return match.group(1), int(match.group(2)), match.group(3)


@dataclass(frozen=True)
class StepOutcome(Generic[ScreenT, DoneT]):
    """What to show after a step of a multi-step dialogue (a new campaign, an inspection):
    the next prompt, a refusal of a stale tap, a notice, or what the last step made."""

    lang: str
    screen: ScreenT | None = None
    stale: bool = False  # a tap on an old prompt: refuse it with a pop-up, change nothing
    notice: str | None = None  # "cancelled", "no_dialogue"
    done: DoneT | None = None  # what the confirmed last step made (a campaign, an inspection)
    retire: int | None = None  # an earlier prompt whose buttons should go
    echo: str | None = None  # text sent back for editing (an over-long remark)


@dataclass(frozen=True)
class Busy:
    """Another dialogue is in progress; ``key`` names the text (``busy.<kind>``) that says
    which, and ``params`` fill it in (``command``: what to send again afterwards)."""

    kind: str
    params: dict[str, object] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"busy.{self.kind}"


def abandoned(actor: Actor, dialogue: AdminDialogue) -> bool:
    """Whether the dialogue is one its person can no longer go on with (or of an unknown
    kind): it may be replaced."""
    roles = ROLES_OF_KIND.get(dialogue.kind)
    return roles is None or not actor.has(roles)


def in_the_way(actor: Actor, dialogue: AdminDialogue | None, own: Collection[str],
               command: str) -> Busy | None:
    """Why ``command`` may not start its dialogue (one of the ``own`` kinds), or None.

    ``dialogue`` is the person's current row, read under the person's lock.
    """
    if dialogue is None or dialogue.kind in own or abandoned(actor, dialogue):
        return None
    params: dict[str, object] = {"command": command}
    if dialogue.kind == NOTE_FIX:
        params["id"] = dialogue.data.get("note_id", "?")
    if dialogue.kind in (CASE_ASK, CASE_RESOLVE, CASE_REASON):
        params["number"] = dialogue.data.get("case", "?")
    return Busy(dialogue.kind, params)


def swap_prompt(dialogue: AdminDialogue, message_id: int) -> int | None:
    """Note ``message_id`` as the message showing the dialogue's prompt; returns the prompt it
    replaces, whose buttons should go (None: none, or the same message). Does not change the
    dialogue's version."""
    previous = dialogue.data.get("msg")
    if previous == message_id:
        return None
    dialogue.data = {**dialogue.data, "msg": message_id}
    return int(previous) if isinstance(previous, int) else None


async def locked(uow: UnitOfWork, person_id: int, *, person_first: bool = False,
                 ) -> AdminDialogue | None:
    """The person's dialogue row (None: none), locked until the transaction ends, and read
    afresh: two messages at once (two taps, an album of photos, a tap and a typed answer)
    must not both move a dialogue on from the same state; the second waits for the first.

    ``person_first`` locks the person's row before: a dialogue row that does not exist yet
    cannot be locked, and two first messages would otherwise both insert one. Locks are
    always taken in this order, person then dialogue.
    """
    if person_first:
        await uow.session.get(Person, person_id, with_for_update=True)
    return await uow.session.get(AdminDialogue, person_id, with_for_update=True,
                                 populate_existing=True)


@dataclass(frozen=True)
class Open:
    """A person with a role and the dialogue they are in, as read for routing a message."""

    actor: Actor
    # None: no dialogue, or an abandoned one (see :func:`abandoned`), which no one goes on with.
    kind: str | None


async def open_dialogue(uow: UnitOfWork, telegram_user_id: int) -> Open | None:
    """The person behind the account and their dialogue's kind; None for a resident (one
    query for them). Read without a lock: the use case that then handles the message locks
    the row and checks again."""
    person = await uow.people.by_user(telegram_user_id)
    if person is None:
        return None
    actor = Actor.of(person)
    dialogue = await uow.dialogues.get(person.id)
    if dialogue is None or abandoned(actor, dialogue):
        return Open(actor, None)
    return Open(actor, dialogue.kind)
