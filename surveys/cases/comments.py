"""A poll comment turned into a report moves: out of the poll, into the case.

"Turn my comment into a report" makes the poll's comment the report's text. Were the
response to keep it, a reader of the database would join the case to that response by its
words (and so to the person's other answers). So the comment moves:

- when the report is started, the ids of the comment's answers are sealed into the draft
  (bound to the draft's key); replacing the text drops them (the comment then stays where it
  was, and the draft is an ordinary one from the poll);
- when it is sent, they are sealed anew into a row of their own (``case_comment_moves``,
  bound to the row): no case, no time, nothing but noise without the secret;
- the cases' supervision sweep, in a transaction of its own (so on PostgreSQL no stamp of
  it is shared with the transaction that made the case, nor with the batch audit that
  rewrites the case's rows), blanks those answers as if the comment had been skipped, drops
  their sentiment scores and deletes the rows, a batch of them at a time.

Answer ids are kept by the responses' reshuffle (``INSERT ... SELECT *``), so the ids sealed
at the start still name the answers at the sweep. The case's ``origin`` is "poll" either way:
"comment" would tell a reader which poll-made cases took a comment, and so narrow them to the
responses whose comment shows skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from storage.models import ResponseStatus
from storage.models.base import random_id
from surveys.cases import sealing
from surveys.respondents.anonymity import respondent_key

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

_PURPOSE = b"civicpulse/comment-move/v1"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The draft's field holding the sealed ids.
FIELD = "moves"
BATCH = 500


@dataclass(frozen=True)
class Comment:
    """A person's poll comment: its words and the answers holding them."""

    text: str
    answer_ids: tuple[int, ...]


async def poll_comment(uow: UnitOfWork, secret: bytes, telegram_user_id: int,
                       unit_id: int) -> Comment | None:
    """The comment of the person's poll about the unit, found as the poll finds their
    answers (their respondent key per campaign): the latest completed one with a comment,
    among the unit's live campaigns. None if there is none (the campaign closed since)."""
    found: list[tuple[datetime, Comment]] = []
    for campaign in await uow.campaigns.live():
        if campaign.unit_id != unit_id or campaign.audience != "residents":
            continue
        response = await uow.responses.find(
            campaign.id, respondent_key(secret, campaign.id, telegram_user_id))
        if response is None or response.status != ResponseStatus.COMPLETED:
            continue
        answers = [a for a in response.answers
                   if a.question_type == "text" and not a.skipped and a.value_text]
        if answers:
            comment = Comment("\n".join(str(a.value_text) for a in answers),
                              tuple(a.id for a in answers))
            found.append((response.completed_at or _EPOCH, comment))
    return max(found, key=lambda item: item[0])[1] if found else None


def _seal(secret: bytes, bound: str, answer_ids: tuple[int, ...]) -> str:
    return sealing.seal_bytes(secret, _PURPOSE, bound.encode(),
                              json.dumps(list(answer_ids)).encode())


def _open(secret: bytes, bound: str, sealed: str) -> tuple[int, ...] | None:
    plain = sealing.open_bytes(secret, _PURPOSE, bound.encode(), sealed)
    if plain is None:
        return None
    try:
        return tuple(int(i) for i in json.loads(plain))
    except (ValueError, TypeError):
        return None


def for_draft(secret: bytes, draft_key: str, comment: Comment) -> dict[str, Any]:
    """The draft's field naming, sealed, the answers its text came from."""
    return {FIELD: _seal(secret, f"draft:{draft_key}", comment.answer_ids)}


async def keep(uow: UnitOfWork, secret: bytes, draft_key: str, data: dict[str, Any]) -> None:
    """The report is being sent: the answers its draft's text came from (if any) are to be
    blanked, sealed into a row of their own."""
    sealed = data.get(FIELD)
    ids = _open(secret, f"draft:{draft_key}", str(sealed)) if sealed else None
    if ids:
        move_id = random_id()
        await uow.cases.add_move(move_id, _seal(secret, f"move:{move_id}", ids))


async def move(uow: UnitOfWork, *, secret: bytes) -> int:
    """The supervision step: blank the answers of every comment moved into a case and drop
    the moves. A move that does not open (another secret) is left for the bot that can.
    Returns how many moves were made."""
    done: list[int] = []
    answers: list[int] = []
    for row in await uow.cases.moves(BATCH):
        ids = _open(secret, f"move:{row.id}", row.sealed)
        if ids is not None:
            done.append(row.id)
            answers.extend(ids)
    if not done:
        return 0
    await uow.responses.blank_answers(answers)
    await uow.cases.drop_moves(done)
    return len(done)
