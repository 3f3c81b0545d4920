"""The pseudonymous side: responses and their answers, and which poll each person is answering
now, all under keyed hashes (see ``surveys.respondents.anonymity``), never a Telegram id."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, text, update
from sqlalchemy.orm import joinedload, make_transient_to_detached, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import ColumnElement

from storage.db import Repository, insert_new, insert_returning
from storage.models import (
    Answer,
    Campaign,
    RespondentSession,
    Response,
    ResponseStatus,
    TextScore,
    answer_id,
    random_id,
)

_INSERT_ANSWER = insert(Answer.__table__)  # type: ignore[arg-type]  # a Table, not a FromClause


@dataclass(frozen=True)
class Tally:
    """How many responses of a campaign share a status, a coarse completion time (None while
    in progress) and an entry point (None: the main link)."""

    status: ResponseStatus
    completed_at: datetime | None
    entry_point: str | None
    count: int


@dataclass(frozen=True)
class Completion:
    """When a response was completed (coarse, see surveys.respondents.anonymity) and how long it
    took."""

    at: datetime
    duration_s: int | None


class SessionsRepository(Repository):
    """Which poll each person is answering now, under their session key (see
    ``surveys.respondents.anonymity.session_key``)."""

    async def get(self, key: str) -> RespondentSession | None:
        return await self.session.get(RespondentSession, key)

    async def start(self, key: str, campaign_id: int) -> int | None:
        """Make ``campaign_id`` the person's current poll; returns the message that showed the
        previous poll's question (its buttons are to be retired)."""
        # Inserting first: a finished poll deletes its session, so most starts have none.
        current = None
        while current is None:  # again if one deleted at the same moment is gone on reading
            if await insert_new(self.session, RespondentSession,
                                {"key": key, "campaign_id": campaign_id}, ["key"]):
                return None
            current = await self.get(key)
        retire = current.prompt_message_id
        current.campaign_id, current.prompt_message_id = campaign_id, None
        return retire

    async def set_prompt(self, key: str, message_id: int) -> None:
        """The message now showing the person's question. The step that replaced the previous
        one does not clear it first: until this runs (after that step committed and its
        message was sent) the old id stays, and retiring a message twice is harmless."""
        await self.session.execute(
            update(RespondentSession).where(RespondentSession.key == key)
            .values(prompt_message_id=message_id)
            .execution_options(synchronize_session=False))

    async def end(self, key: str, campaign_id: int | None = None) -> int | None:
        """Forget the person's current poll (only if it is ``campaign_id``, when given);
        returns the message that showed its question."""
        statement = delete(RespondentSession).where(RespondentSession.key == key)
        if campaign_id is not None:
            statement = statement.where(RespondentSession.campaign_id == campaign_id)
        # One round trip (this runs at every submitted poll); a copy this transaction loaded
        # before is taken out of the session with it.
        found = (await self.session.execute(
            statement.returning(RespondentSession.prompt_message_id)
            .execution_options(synchronize_session="fetch"))).first()
        return found[0] if found is not None else None


@dataclass(frozen=True)
class AnswerRow:
    question_id: str
    question_type: str
    indicator: str | None
    skipped: bool
    value_number: float | None
    value_text: str | None
    value_choices: list[str] | None


def _unchanged_since_read(response: Response) -> tuple[ColumnElement[bool], ...]:
    """Compare-and-set: the row is still in progress at the step this transaction read."""
    return (
        Response.id == response.id,
        Response.step == response.step,
        Response.status == ResponseStatus.IN_PROGRESS,
    )


def _advance(completed: bool) -> Any:
    """The compare-and-set of :meth:`ResponsesRepository.advance`, built once (a tap's
    statements were rebuilt, coerced and keyed for the statement cache at every execution)."""
    table = Response.__table__
    values: dict[str, Any] = {"step": table.c.step + 1,
                              "current_question": bindparam("new_question"),
                              "draft": bindparam("new_draft"), "shuffled": False}
    if completed:
        values.update(status=ResponseStatus.COMPLETED, completed_at=bindparam("done_at"),
                      duration_s=bindparam("took_s"), sealed_start=None)
    return (update(table)  # type: ignore[arg-type]  # a Table
            .where(table.c.id == bindparam("read_id"), table.c.step == bindparam("read_step"),
                   table.c.status == ResponseStatus.IN_PROGRESS)
            .values(**values))


_ADVANCE = (_advance(completed=False), _advance(completed=True))
_WITH_CAMPAIGN = (select(Response).where(Response.id == bindparam("response_id"))
                  .options(joinedload(Response.answers),
                           joinedload(Response.campaign).joinedload(Campaign.unit)))


class ResponsesRepository(Repository):
    async def find(self, campaign_id: int, respondent_key: str) -> Response | None:
        return await self._one(
            Response.campaign_id == campaign_id, Response.respondent_key == respondent_key
        )

    async def find_with_campaign(self, campaign_id: int, respondent_key: str
                                 ) -> Response | None:
        """``find``, with the campaign and its unit in the same round trip (a typed answer)."""
        result = await self.session.scalars(
            select(Response)
            .where(Response.campaign_id == campaign_id, Response.respondent_key == respondent_key)
            .options(joinedload(Response.answers),
                     joinedload(Response.campaign).joinedload(Campaign.unit)))
        return result.unique().one_or_none()

    async def of_person(self, campaign_id: int, person_id: int) -> Response | None:
        """A named respondent's response (a self-assessment), whichever account began it."""
        return await self._one(Response.campaign_id == campaign_id, Response.person_id == person_id)

    async def get(self, response_id: int) -> Response | None:
        return await self._one(Response.id == response_id)

    async def get_with_campaign(self, response_id: int) -> Response | None:
        """A response with its answers, campaign and unit, in one round trip (a button tap)."""
        result = await self.session.scalars(_WITH_CAMPAIGN, {"response_id": response_id})
        return result.unique().one_or_none()

    async def set_language(self, response: Response, language: str) -> None:
        response.language = language

    async def _one(self, *where: ColumnElement[bool]) -> Response | None:
        # One round trip: the answers come joined (a handful of rows), not in a second query.
        result = await self.session.scalars(
            select(Response).where(*where).options(joinedload(Response.answers))
        )
        return result.unique().one_or_none()

    async def create(
        self, campaign_id: int, survey_id: int, respondent_key: str, language: str,
        current_question: str | None, started_at: datetime, sealed_start: str | None = None,
        entry_point: str | None = None,
    ) -> Response | None:
        """Start a response; None if this respondent already has one for the campaign
        (for instance from a second /start handled at the same moment).

        ``started_at`` is already coarse and ``sealed_start`` encrypted
        (surveys.respondents.anonymity):
        the repository stores what it is given."""
        values = {
            "id": random_id(), "campaign_id": campaign_id, "survey_id": survey_id,
            "respondent_key": respondent_key, "status": ResponseStatus.IN_PROGRESS.value,
            "current_question": current_question, "step": 0, "language": language,
            "entry_point": entry_point, "started_at": started_at, "sealed_start": sealed_start,
        }
        response = await insert_returning(self.session, Response, values,
                                          ["campaign_id", "respondent_key"])
        if response is not None:
            # As ``find`` gives it: with its answers loaded (none yet), never lazily.
            set_committed_value(response, "answers", [])
        return response

    async def advance(
        self, response: Response, *, current_question: str | None, draft: list[str] | None,
        completed: Completion | None = None,
    ) -> bool:
        """Compare-and-set the response's state on its ``step``.

        Returns False (changing nothing) when another update moved it on first: the caller is
        acting on a stale screen.
        """
        params: dict[str, Any] = {"read_id": response.id, "read_step": response.step,
                                  "new_question": current_question, "new_draft": draft}
        if completed is not None:
            params.update(done_at=completed.at, took_s=completed.duration_s)
        result = await self.session.execute(_ADVANCE[completed is not None], params)
        if getattr(result, "rowcount", 0) != 1:
            return False
        # What the UPDATE wrote, as if loaded: set as attributes, the ORM would flush the
        # same values again in a second UPDATE.
        written: dict[str, Any] = {"step": response.step + 1,
                                   "current_question": current_question, "draft": draft,
                                   "shuffled": False}
        if completed is not None:
            written.update(status=ResponseStatus.COMPLETED, completed_at=completed.at,
                           duration_s=completed.duration_s, sealed_start=None)
        for key, value in written.items():
            set_committed_value(response, key, value)
        return True

    async def save_answer(self, response: Response, row: AnswerRow) -> None:
        existing = next((a for a in response.answers if a.question_id == row.question_id), None)
        if existing is None:
            values = {"id": answer_id(response.id, (a.id for a in response.answers)),
                      "response_id": response.id, **row.__dict__}
            # A plain INSERT (most taps add an answer: the ORM's flush machinery showed in
            # the answer path's profile), then the row as if loaded, so the response's
            # answers stay complete for the rest of the transaction.
            await self.session.execute(_INSERT_ANSWER, values)
            answer = Answer(**values)
            make_transient_to_detached(answer)
            self.session.add(answer)
            set_committed_value(response, "answers", [*response.answers, answer])
            return
        for key, value in row.__dict__.items():
            setattr(existing, key, value)

    async def drop_answers(self, response: Response, question_ids: Iterable[str]) -> None:
        ids = set(question_ids)
        if not ids:
            return
        await self.session.execute(
            delete(Answer).where(Answer.response_id == response.id, Answer.question_id.in_(ids))
        )
        response.answers = [a for a in response.answers if a.question_id not in ids]

    async def delete_in_progress(self, response: Response) -> bool:
        """Delete the response unless it moved on meanwhile (compare-and-set on ``step``)."""
        result = await self.session.execute(
            delete(Response)
            .where(*_unchanged_since_read(response))
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            return False
        self.session.expunge(response)
        return True

    async def reshuffle(self, completed_before: datetime, begun_before: datetime,
                        limit: int = 5000) -> int:
        """Rewrite responses (with their answers and flags) in random order, in one
        transaction; returns how many.

        PostgreSQL keeps rows in the order they were written and stamps each with the
        transaction that wrote it (``ctid``, ``xmin``: any reader can select them), so without
        this the order in which people finished would stay readable. Rewritten: those
        completed before ``completed_before`` (a privacy window that has closed) and those
        begun before ``begun_before`` and never finished, each until it changes again. SQLite
        keeps rows in the order of their random ids, so there is nothing to do there."""
        if self.session.get_bind().dialect.name != "postgresql":
            return 0
        ids = list(await self.session.scalars(
            select(Response.id).where(
                Response.shuffled.is_(False),
                ((Response.status == ResponseStatus.COMPLETED)
                 & (Response.completed_at < completed_before))
                | ((Response.status == ResponseStatus.IN_PROGRESS)
                   & (Response.started_at < begun_before)))
            .order_by(Response.id).limit(limit)
            .with_for_update(skip_locked=True)))
        if not ids:
            return 0
        params = {"ids": ids}
        for table, column in (("responses", "id"), ("answers", "response_id"),
                              ("anomaly_flags", "response_id")):
            await self.session.execute(text(
                f"CREATE TEMPORARY TABLE reshuffle_{table} ON COMMIT DROP AS "
                f"SELECT * FROM {table} WHERE {column} = ANY(:ids)"), params)
        # Answers and flags go with their response (ON DELETE CASCADE), then all come back
        # in the order of their random ids.
        await self.session.execute(text("DELETE FROM responses WHERE id = ANY(:ids)"), params)
        await self.session.execute(text("UPDATE reshuffle_responses SET shuffled = true"))
        for table in ("responses", "answers", "anomaly_flags"):
            await self.session.execute(text(
                f"INSERT INTO {table} SELECT * FROM reshuffle_{table} ORDER BY id"))
        return len(ids)

    async def blank_answers(self, answer_ids: Collection[int]) -> int:
        """Make these answers look skipped (no value, no sentiment score), as a comment that
        moved into a case (surveys.cases.comments); returns how many changed. Their ids stay
        (an answer's id is its slot in its response). A response already reshuffled is
        marked to be reshuffled again, and so are the others of its campaign completed in
        the same window, so that the next batch rewrites it among them, not alone."""
        ids = list(answer_ids)
        if not ids:
            return 0
        await self.session.execute(delete(TextScore).where(
            TextScore.source == "answer", TextScore.source_id.in_(ids)))
        changed = await self.session.execute(
            update(Answer).where(Answer.id.in_(ids), Answer.skipped.is_(False))
            .values(skipped=True, value_text=None, value_number=None, value_choices=None)
            .execution_options(synchronize_session=False))
        shuffled = (await self.session.execute(
            select(Response.campaign_id, Response.completed_at).where(
                Response.id.in_(select(Answer.response_id).where(Answer.id.in_(ids))),
                Response.shuffled.is_(True)))).all()
        for campaign_id, completed_at in set(shuffled):
            await self.session.execute(
                update(Response).where(Response.campaign_id == campaign_id,
                                       Response.completed_at == completed_at)
                .values(shuffled=False).execution_options(synchronize_session=False))
        return int(getattr(changed, "rowcount", 0) or 0)

    async def delete_completed(self, response_ids: Iterable[int]) -> None:
        """Remove completed responses with their answers (and anything pointing at them)."""
        ids = list(response_ids)
        for at in range(0, len(ids), 500):
            answers = select(Answer.id).where(Answer.response_id.in_(ids[at:at + 500]))
            await self.session.execute(
                delete(TextScore).where(TextScore.source == "answer",
                                        TextScore.source_id.in_(answers)))
            await self.session.execute(
                delete(Response).where(Response.id.in_(ids[at:at + 500]),
                                       Response.status == ResponseStatus.COMPLETED)
                .execution_options(synchronize_session=False))

    async def counts(self, campaign_ids: Iterable[int]) -> dict[int, dict[ResponseStatus, int]]:
        """Responses per campaign and status, counted in the database."""
        ids = list(campaign_ids)
        counts: dict[int, dict[ResponseStatus, int]] = {i: {} for i in ids}
        if not ids:
            return counts
        rows = await self.session.execute(
            select(Response.campaign_id, Response.status, func.count())
            .where(Response.campaign_id.in_(ids))
            .group_by(Response.campaign_id, Response.status)
        )
        for campaign_id, status, n in rows:
            counts[campaign_id][status] = int(n)
        return counts

    async def tally(self, campaign_id: int) -> list[Tally]:
        """The campaign's responses counted by status, (coarse) completion time and entry
        point in the database, in one pass over an index that holds all four columns
        (ix_responses_campaign_progress): at most one row per privacy interval of the
        campaign's life and entry point, however many answered."""
        rows = await self.session.execute(
            select(Response.status, Response.completed_at, Response.entry_point, func.count())
            .where(Response.campaign_id == campaign_id)
            .group_by(Response.status, Response.completed_at, Response.entry_point))
        return [Tally(status, at, entry, int(n)) for status, at, entry, n in rows]

    async def in_progress_keys(self, campaign_id: int) -> set[str]:
        return set(await self.session.scalars(
            select(Response.respondent_key).where(
                Response.campaign_id == campaign_id,
                Response.status == ResponseStatus.IN_PROGRESS)))

    async def completed_keys(self, campaign_id: int, keys: Sequence[str]) -> set[str]:
        """Which of these respondent keys have completed the campaign."""
        done: set[str] = set()
        for at in range(0, len(keys), 500):
            done.update(await self.session.scalars(
                select(Response.respondent_key).where(
                    Response.campaign_id == campaign_id,
                    Response.status == ResponseStatus.COMPLETED,
                    Response.respondent_key.in_(keys[at:at + 500]),
                )
            ))
        return done

    async def completed_with_answers(self, campaign_id: int) -> Sequence[Response]:
        return (
            await self.session.scalars(
                select(Response)
                .where(
                    Response.campaign_id == campaign_id,
                    Response.status == ResponseStatus.COMPLETED,
                )
                .options(selectinload(Response.answers))
                .order_by(Response.completed_at, Response.id)  # ids are random: no order
            )
        ).all()
