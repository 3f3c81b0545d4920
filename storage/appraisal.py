"""Repositories for analysis and appraisal: sentiment scores, anomaly flags, KPI values,
appraisal runs and results, and appeals.

The aggregate queries do the heavy lifting in SQL (GROUP BY over answers and responses), so a
period with a million responses comes back as a few thousand rows of counts and sums. Same
rules as the other repositories in ``storage``: nothing here commits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, TypeVarTuple

from sqlalchemy import (
    Numeric,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    select,
    text,
    true,
    update,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Select

from analysis.facts import Distribution, ResponseRow
from storage.db import Repository, dialect_insert, insert_new
from storage.models import (
    AnomalyFlag,
    Answer,
    Appeal,
    AppealStatus,
    AppraisalResult,
    AppraisalRun,
    AppraisalStatus,
    Campaign,
    Contact,
    Inspection,
    KpiValue,
    Note,
    NoteStatus,
    OutboxMessage,
    OutboxStatus,
    Person,
    PersonRole,
    PublicationRequest,
    PublicationStatus,
    Response,
    ResponseStatus,
    Role,
    TextScore,
    Unit,
)

Ts = TypeVarTuple("Ts")
RESIDENTS, CADRES = "residents", "cadres"
# Rows fetched per round trip when streaming a period's responses.
STREAM_CHUNK = 20_000


@dataclass(frozen=True)
class PendingText:
    """A text without a score from the current analyser."""

    source: str  # answer, note or inspection
    source_id: int
    text: str
    # The response's mean rating (1-5) for a comment, to spot a contradiction; else None.
    rating: float | None


class FlagLine(NamedTuple):
    """A flag as an auditor's list shows it, with its response's unit and entry point."""

    id: int
    response_id: int
    kind: str
    reason: str
    detected_at: datetime
    dismissed_at: datetime | None
    dismissed_by: str | None
    dismiss_reason: str | None
    unit_id: int
    entry_point: str | None


class AppealLine(NamedTuple):
    """An appeal as the dashboard's list shows it, with its result and who is named."""

    id: int
    person_id: int
    reason: str
    status: AppealStatus
    created_at: datetime
    answer: str | None
    answered_at: datetime | None
    result_id: int
    unit_id: int | None
    result_status: str
    score: float | None
    grade: str | None
    period: str
    version: int
    cadre: str
    cadre_zh: str | None
    reviewer: str | None
    reviewer_zh: str | None


def _completed(start: datetime, end: datetime, audience: str) -> Any:
    return and_(Response.status == ResponseStatus.COMPLETED,
                Response.completed_at >= start, Response.completed_at < end,
                Campaign.audience == audience)


def _active() -> Any:
    """Flags that exclude their response (those auditors dismissed do not)."""
    return AnomalyFlag.dismissed_at.is_(None)


def _flagged() -> Any:
    """The response has a flag that excludes it."""
    return exists().where(AnomalyFlag.response_id == Response.id, _active())


def _unflagged() -> Any:
    return ~_flagged()


class TextScoresRepository(Repository):
    async def pending(self, analyser: str, limit: int,
                      after: Mapping[str, int] | None = None,
                      completed_before: datetime | None = None) -> list[PendingText]:
        """Up to ``limit`` texts (residents' comments first, then notes and remarks) that the
        analyser ``analyser`` has not scored yet, in id order after the ids in ``after``
        (source -> last id seen), so a long backlog is read in one pass, not rescanned.

        ``completed_before``: only comments of responses completed before then (the bot's
        background scoring waits for a privacy window to close, so scores are never written
        one comment at a time as they come in)."""
        after = after or {}
        found: list[PendingText] = []

        def unscored(source: str, column: Any) -> Any:
            return ~exists().where(TextScore.source == source, TextScore.source_id == column,
                                   TextScore.analyser == analyser)

        mean_rating = (select(func.avg(Answer.value_number)).correlate_except(Answer)
                       .where(Answer.response_id == Response.id,
                              Answer.question_type == "rating", Answer.skipped.is_(False))
                       .scalar_subquery())
        comments = (select(Answer.id, Answer.value_text, Answer.response_id)
                    .where(Answer.question_type == "text", Answer.value_text.is_not(None),
                           Answer.skipped.is_(False), Answer.id > after.get("answer", 0),
                           unscored("answer", Answer.id))
                    .order_by(Answer.id).limit(limit).subquery())
        settled = (Response.completed_at < completed_before if completed_before is not None
                   else true())
        rows = await self.session.execute(
            select(comments.c.id, comments.c.value_text, mean_rating)
            .join(Response, Response.id == comments.c.response_id)
            .where(Response.status == ResponseStatus.COMPLETED, settled)
            .order_by(comments.c.id))
        found += [PendingText("answer", i, t or "", None if r is None else float(r))
                  for i, t, r in rows]
        for source, model, column in (("note", Note, Note.text),
                                      ("inspection", Inspection, Inspection.remark)):
            if len(found) >= limit:
                break
            statement = select(model.id, column).where(model.id > after.get(source, 0),
                                                       unscored(source, model.id))
            if model is Note:
                statement = statement.where(Note.status == NoteStatus.SUBMITTED)
            rows2 = await self.session.execute(
                statement.order_by(model.id).limit(limit - len(found)))
            found += [PendingText(source, i, t or "", None) for i, t in rows2]
        return found

    async def add(self, values: Iterable[dict[str, Any]]) -> int:
        """Store scores in one statement; a text another worker scored meanwhile is left as
        it is (ON CONFLICT DO NOTHING)."""
        rows = list(values)
        if not rows:
            return 0
        result = await self.session.execute(
            dialect_insert(self.session, TextScore).values(rows)
            .on_conflict_do_nothing(index_elements=["source", "source_id", "analyser"]))
        return int(getattr(result, "rowcount", 0) or 0)

    async def refresh_statistics(self) -> None:
        """After many scores were added at once, let PostgreSQL's planner know (its anti-join
        against a table it believes empty would otherwise compare every pair of rows)."""
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(text("ANALYZE text_scores"))

    async def of_note(self, note_id: int, analyser: str) -> TextScore | None:
        return await self.session.scalar(select(TextScore).where(
            TextScore.source == "note", TextScore.source_id == note_id,
            TextScore.analyser == analyser))

    async def counts(self, analyser: str) -> dict[str, int]:
        rows = await self.session.execute(
            select(TextScore.label, func.count()).where(TextScore.analyser == analyser)
            .group_by(TextScore.label))
        return {label: n for label, n in rows}


class AnomaliesRepository(Repository):
    async def facts(self, start: datetime, end: datetime
                    ) -> AsyncIterator[list[ResponseRow]]:
        """Every completed resident response of the period, as the anomaly detectors read it,
        streamed in chunks (a million rows never sit in memory at once, and the async
        machinery runs once per chunk, not once per row), ordered by campaign, entry point
        and completion time."""
        is_rating = Answer.question_type == "rating"
        rating = case((is_rating, Answer.value_number))
        comment = case((Answer.question_type == "text", Answer.value_text))
        statement = (
            select(Response.id, Response.campaign_id, Campaign.unit_id, Response.entry_point,
                   Response.respondent_key, Response.duration_s, Response.completed_at,
                   func.count(Answer.id), func.count(rating), func.min(rating),
                   func.max(rating), func.max(comment))
            .join(Campaign, Campaign.id == Response.campaign_id)
            .outerjoin(Answer, and_(Answer.response_id == Response.id,
                                    Answer.skipped.is_(False)))
            .where(_completed(start, end, RESIDENTS))
            .group_by(Response.id, Campaign.unit_id)
            .order_by(Response.campaign_id, Response.entry_point, Response.completed_at,
                      Response.id)
            .execution_options(yield_per=STREAM_CHUNK))
        # Through the session's connection: plain Core rows, without the ORM's loading step.
        connection = await self.session.connection()
        result = await connection.stream(statement)
        make = ResponseRow._make
        async for rows in result.partitions():
            yield [make(row) for row in rows]

    async def cadre_accounts(self, start: datetime, end: datetime
                             ) -> list[tuple[int, int, int]]:
        """(campaign id, unit id, Telegram user id) for each linked cadre of the unit of each
        residents' campaign with answers completed in the period."""
        campaigns = (select(Response.campaign_id)
                     .join(Campaign, Campaign.id == Response.campaign_id)
                     .where(_completed(start, end, RESIDENTS)).distinct())
        rows = await self.session.execute(
            select(Campaign.id, Campaign.unit_id, Contact.telegram_user_id)
            .join(PersonRole, and_(PersonRole.unit_id == Campaign.unit_id,
                                   PersonRole.role == Role.CADRE))
            .join(Person, Person.id == PersonRole.person_id)
            .join(Contact, Contact.id == Person.contact_id)
            .where(Campaign.id.in_(campaigns)))
        return [(c, u, t) for c, u, t in rows]

    async def replace(self, start: datetime, end: datetime,
                      flags: Iterable[tuple[int, str, str]], now: datetime
                      ) -> set[tuple[int, str]]:
        """Make (response id, kind, reason) the period's flags: earlier flags of the period's
        responses are dropped, so thresholds changed in config take effect on a rerun.

        A flag an auditor dismissed is kept as it is while the detectors still raise it, and
        dropped once they no longer do (the audit log keeps the dismissal). Returns the
        (response id, kind) of the dismissed flags raised again (they exclude nothing)."""
        raised = {(r, k): reason for r, k, reason in flags}
        in_period = (select(Response.id).join(Campaign, Campaign.id == Response.campaign_id)
                     .where(_completed(start, end, RESIDENTS)))
        await self.session.execute(
            delete(AnomalyFlag).where(AnomalyFlag.response_id.in_(in_period), _active()))
        # Read after the delete: a dismissal committed meanwhile is seen, not raised twice.
        dismissed = {(r, k): i for i, r, k in await self.session.execute(
            select(AnomalyFlag.id, AnomalyFlag.response_id, AnomalyFlag.kind)
            .where(AnomalyFlag.response_id.in_(in_period), ~_active()))}
        stale = [i for key, i in dismissed.items() if key not in raised]
        for chunk in range(0, len(stale), 5000):
            await self.session.execute(
                delete(AnomalyFlag).where(AnomalyFlag.id.in_(stale[chunk:chunk + 5000])))
        rows = [{"response_id": r, "kind": k, "reason": reason[:300], "detected_at": now}
                for (r, k), reason in raised.items() if (r, k) not in dismissed]
        for chunk in range(0, len(rows), 5000):
            await self.session.execute(insert(AnomalyFlag), rows[chunk:chunk + 5000])
        return {key for key in dismissed if key in raised}

    async def active_kinds(self, response_ids: Iterable[int]) -> dict[int, list[str]]:
        """Response id -> kinds of its flags that exclude it (not dismissed)."""
        rows = await self.session.execute(
            select(AnomalyFlag.response_id, AnomalyFlag.kind)
            .where(AnomalyFlag.response_id.in_(list(response_ids)), _active())
            .order_by(AnomalyFlag.response_id, AnomalyFlag.kind))
        found: dict[int, list[str]] = {}
        for response_id, kind in rows:
            found.setdefault(response_id, []).append(kind)
        return found

    async def of_responses(self, response_ids: Iterable[int], kind: str | None = None
                           ) -> list[AnomalyFlag]:
        """The flags of these responses (of one kind, or all), for update."""
        statement = select(AnomalyFlag).where(AnomalyFlag.response_id.in_(list(response_ids)))
        if kind is not None:
            statement = statement.where(AnomalyFlag.kind == kind)
        return list((await self.session.scalars(
            statement.order_by(AnomalyFlag.response_id, AnomalyFlag.id).with_for_update()
        )).all())

    async def listed(self, start: datetime, end: datetime, unit_ids: Iterable[int] | None = None,
                     limit: int = 1000) -> list[tuple[AnomalyFlag, str, str | None]]:
        """Flags of the period with the unit code and entry point, for auditors."""
        statement = (select(AnomalyFlag, Unit.code, Response.entry_point)
                     .join(Response, Response.id == AnomalyFlag.response_id)
                     .join(Campaign, Campaign.id == Response.campaign_id)
                     .join(Unit, Unit.id == Campaign.unit_id)
                     .where(_completed(start, end, RESIDENTS)))
        if unit_ids is not None:
            statement = statement.where(Campaign.unit_id.in_(list(unit_ids)))
        rows = await self.session.execute(
            statement.order_by(Unit.code, AnomalyFlag.kind, AnomalyFlag.response_id)
            .limit(limit))
        return [(flag, code, entry) for flag, code, entry in rows]

    async def of_period(self, start: datetime, end: datetime) -> list[FlagLine]:
        """Every flag of the period's responses, by unit code, kind and response: what an
        auditor's list shows of each, and nothing else (read once for every reader while no
        flag changes: :class:`surveys.appraisal.supervision.KeptFlags`)."""
        rows = await self.plain(
            select(AnomalyFlag.id, AnomalyFlag.response_id, AnomalyFlag.kind,
                   AnomalyFlag.reason, AnomalyFlag.detected_at, AnomalyFlag.dismissed_at,
                   AnomalyFlag.dismissed_by, AnomalyFlag.dismiss_reason, Campaign.unit_id,
                   Response.entry_point)
            .join(Response, Response.id == AnomalyFlag.response_id)
            .join(Campaign, Campaign.id == Response.campaign_id)
            .join(Unit, Unit.id == Campaign.unit_id)
            .where(_completed(start, end, RESIDENTS))
            .order_by(Unit.code, AnomalyFlag.kind, AnomalyFlag.response_id))
        return [FlagLine._make(row) for row in rows]

    async def with_unit(self, flag_id: int) -> tuple[AnomalyFlag, int, datetime] | None:
        """A flag with the unit of its response's campaign and when the response was
        completed (which period it is of), for checking a dashboard's scope."""
        row = (await self.session.execute(
            select(AnomalyFlag, Campaign.unit_id, Response.completed_at)
            .join(Response, Response.id == AnomalyFlag.response_id)
            .join(Campaign, Campaign.id == Response.campaign_id)
            .where(AnomalyFlag.id == flag_id))).first()
        if row is None or row[2] is None:
            return None
        return row[0], row[1], row[2]


class KpiRepository(Repository):
    async def of_period(self, period: str) -> Sequence[KpiValue]:
        return (await self.session.scalars(
            select(KpiValue).where(KpiValue.period == period)
            .order_by(KpiValue.unit_id, KpiValue.kpi))).all()

    async def get(self, unit_id: int, period: str, kpi: str) -> KpiValue | None:
        return await self.session.scalar(select(KpiValue).where(
            KpiValue.unit_id == unit_id, KpiValue.period == period, KpiValue.kpi == kpi))

    def add(self, value: KpiValue) -> None:
        self.session.add(value)


class AppraisalRepository(Repository):
    # --- aggregates ---------------------------------------------------------------------

    def _distribution(self, start: datetime, end: datetime, audience: str,
                      owner: Any) -> Select[Any]:
        return (select(owner, Answer.indicator, Answer.question_id, Answer.question_type,
                       Answer.value_number, func.count())
                .join(Response, Response.id == Answer.response_id)
                .join(Campaign, Campaign.id == Response.campaign_id)
                .where(_completed(start, end, audience), Answer.skipped.is_(False),
                       Answer.value_number.is_not(None),
                       Answer.question_type.in_(("rating", "nps", "yesno", "number")))
                .group_by(owner, Answer.indicator, Answer.question_id, Answer.question_type,
                          Answer.value_number)
                # A fixed order, so sums over these rows come out the same on every run.
                .order_by(owner, Answer.indicator, Answer.question_id, Answer.value_number))

    async def resident_distributions(self, start: datetime, end: datetime
                                     ) -> list[Distribution]:
        """Residents' valid (unflagged) answers per unit, question and value."""
        rows = await self.session.execute(
            self._distribution(start, end, RESIDENTS, Campaign.unit_id).where(_unflagged()))
        return [Distribution(*row) for row in rows]

    async def self_distributions(self, start: datetime, end: datetime) -> list[Distribution]:
        """Cadres' self-assessment answers per cadre, question and value."""
        rows = await self.session.execute(
            self._distribution(start, end, CADRES, Response.person_id)
            .where(Response.person_id.is_not(None)))
        return [Distribution(*row) for row in rows]

    async def valid_responses(self, start: datetime, end: datetime) -> dict[int, int]:
        rows = await self.session.execute(
            select(Campaign.unit_id, func.count()).select_from(Response)
            .join(Campaign, Campaign.id == Response.campaign_id)
            .where(_completed(start, end, RESIDENTS), _unflagged())
            .group_by(Campaign.unit_id))
        return {unit: n for unit, n in rows}

    async def excluded(self, start: datetime, end: datetime) -> dict[int, dict[str, int]]:
        """Unit -> anomaly kind -> responses flagged with it (a response may have several)."""
        rows = await self.session.execute(
            select(Campaign.unit_id, AnomalyFlag.kind, func.count()).select_from(AnomalyFlag)
            .join(Response, Response.id == AnomalyFlag.response_id)
            .join(Campaign, Campaign.id == Response.campaign_id)
            .where(_completed(start, end, RESIDENTS), _active())
            .group_by(Campaign.unit_id, AnomalyFlag.kind))
        found: dict[int, dict[str, int]] = {}
        for unit, kind, n in rows:
            found.setdefault(unit, {})[kind] = n
        return found

    async def excluded_responses(self, start: datetime, end: datetime) -> dict[int, int]:
        """Unit -> responses with at least one flag."""
        rows = await self.session.execute(
            select(Campaign.unit_id, func.count()).select_from(Response)
            .join(Campaign, Campaign.id == Response.campaign_id)
            .where(_completed(start, end, RESIDENTS), _flagged())
            .group_by(Campaign.unit_id))
        return {unit: n for unit, n in rows}

    async def sentiment_sums(self, start: datetime, end: datetime, analyser: str
                             ) -> dict[int, tuple[int, float, float]]:
        """Unit -> (comments, sum of polarity, sum of squared polarity), valid responses only."""
        rows = await self.session.execute(
            # As exact decimals: PostgreSQL adds floats in whatever order its (parallel) plan
            # meets them, and the run's results hash must not change with that order.
            select(Campaign.unit_id, func.count(), func.sum(cast(TextScore.polarity, Numeric)),
                   func.sum(cast(TextScore.polarity * TextScore.polarity, Numeric)))
            .select_from(TextScore)
            .join(Answer, and_(TextScore.source == "answer",
                               TextScore.source_id == Answer.id))
            .join(Response, Response.id == Answer.response_id)
            .join(Campaign, Campaign.id == Response.campaign_id)
            .where(TextScore.analyser == analyser, TextScore.language != "und",
                   _completed(start, end, RESIDENTS), _unflagged())
            .group_by(Campaign.unit_id))
        return {unit: (n, float(s or 0), float(q or 0)) for unit, n, s, q in rows}

    async def comments(self, start: datetime, end: datetime, analyser: str,
                       unit_ids: Iterable[int] | None = None
                       ) -> list[tuple[int, str, str]]:
        """(unit id, text, language) of valid residents' comments, for themes."""
        statement = (select(Campaign.unit_id, Answer.value_text, TextScore.language)
                     .join(Response, Response.id == Answer.response_id)
                     .join(Campaign, Campaign.id == Response.campaign_id)
                     .outerjoin(TextScore, and_(TextScore.source == "answer",
                                                TextScore.source_id == Answer.id,
                                                TextScore.analyser == analyser))
                     .where(Answer.question_type == "text", Answer.value_text.is_not(None),
                            Answer.skipped.is_(False), _completed(start, end, RESIDENTS),
                            _unflagged()))
        if unit_ids is not None:
            statement = statement.where(Campaign.unit_id.in_(list(unit_ids)))
        rows = await self.session.execute(statement.order_by(Answer.id))
        return [(unit, text or "", language or "und") for unit, text, language in rows]

    async def contradictions(self, start: datetime, end: datetime, analyser: str
                             ) -> dict[int, int]:
        """Unit -> comments whose text contradicts their rating."""
        rows = await self.session.execute(
            select(Campaign.unit_id, func.count()).select_from(TextScore)
            .join(Answer, and_(TextScore.source == "answer", TextScore.source_id == Answer.id))
            .join(Response, Response.id == Answer.response_id)
            .join(Campaign, Campaign.id == Response.campaign_id)
            .where(TextScore.analyser == analyser, TextScore.contradicts.is_(True),
                   _completed(start, end, RESIDENTS))
            .group_by(Campaign.unit_id))
        return {unit: n for unit, n in rows}

    async def inspection_counts(self, start: datetime, end: datetime
                                ) -> list[tuple[int, int | None, str, int]]:
        """(unit id, cadre id or None, verdict, inspections) in the period."""
        rows = await self.session.execute(
            select(Inspection.unit_id, Inspection.cadre_id, Inspection.verdict, func.count())
            .where(Inspection.inspected_at >= start, Inspection.inspected_at < end)
            .group_by(Inspection.unit_id, Inspection.cadre_id, Inspection.verdict))
        return [(u, c, str(v), n) for u, c, v, n in rows]

    async def invited(self, start: datetime, end: datetime) -> dict[int, int]:
        """Unit -> invitations sent in the period to its residents' campaigns (the response
        rate's denominator; people who came by QR code were never invited)."""
        rows = await self.session.execute(
            select(Campaign.unit_id, func.count()).select_from(OutboxMessage)
            .join(Campaign, Campaign.id == OutboxMessage.campaign_id)
            .where(Campaign.audience == RESIDENTS, OutboxMessage.kind == "invite",
                   OutboxMessage.status == OutboxStatus.SENT,
                   OutboxMessage.sent_at >= start, OutboxMessage.sent_at < end)
            .group_by(Campaign.unit_id))
        return {unit: n for unit, n in rows}

    async def started(self, start: datetime, end: datetime) -> dict[int, int]:
        """Unit -> residents' responses started in the period (completed or not)."""
        rows = await self.session.execute(
            select(Campaign.unit_id, func.count()).select_from(Response)
            .join(Campaign, Campaign.id == Response.campaign_id)
            .where(Campaign.audience == RESIDENTS, Response.started_at >= start,
                   Response.started_at < end)
            .group_by(Campaign.unit_id))
        return {unit: n for unit, n in rows}

    async def cadres(self) -> list[tuple[int, str, str | None, int]]:
        """(person id, name, Chinese name, unit id) for every cadre role scoped to a unit."""
        rows = await self.session.execute(
            select(Person.id, Person.name, Person.name_zh, PersonRole.unit_id)
            .join(PersonRole, PersonRole.person_id == Person.id)
            .where(PersonRole.role == Role.CADRE, PersonRole.unit_id.is_not(None))
            .order_by(Person.id, PersonRole.unit_id))
        return [(p, name, zh, u) for p, name, zh, u in rows if u is not None]

    # --- runs and results -----------------------------------------------------------------

    async def runs(self, period: str) -> Sequence[AppraisalRun]:
        return (await self.session.scalars(
            select(AppraisalRun).where(AppraisalRun.period == period)
            .order_by(AppraisalRun.version))).all()

    async def lock_runs(self, period: str) -> Sequence[AppraisalRun]:
        """The period's runs, locked, so two runs or publications take turns."""
        return (await self.session.scalars(
            select(AppraisalRun).where(AppraisalRun.period == period)
            .order_by(AppraisalRun.version).with_for_update()
            # As they are once locked, even if read earlier in the transaction.
            .execution_options(populate_existing=True))).all()

    async def get_run(self, run_id: int) -> AppraisalRun | None:
        return await self.session.get(AppraisalRun, run_id)

    async def add_run(self, run: AppraisalRun) -> AppraisalRun:
        self.session.add(run)
        await self.session.flush()
        return run

    async def add_results(self, rows: Sequence[dict[str, Any]]) -> None:
        for chunk in range(0, len(rows), 2000):
            await self.session.execute(insert(AppraisalResult),
                                       list(rows[chunk:chunk + 2000]))

    async def results(self, run_id: int, kind: str | None = None) -> Sequence[AppraisalResult]:
        statement = select(AppraisalResult).where(AppraisalResult.run_id == run_id)
        if kind is not None:
            statement = statement.where(AppraisalResult.kind == kind)
        return (await self.session.scalars(
            statement.order_by(AppraisalResult.kind, AppraisalResult.rank.is_(None),
                               AppraisalResult.rank, AppraisalResult.id))).all()

    async def set_status(self, run_id: int, status: AppraisalStatus,
                         **values: Any) -> None:
        await self.session.execute(update(AppraisalRun).where(AppraisalRun.id == run_id)
                                   .values(status=status, **values))

    async def published(self, period: str | None = None) -> Sequence[AppraisalRun]:
        statement = select(AppraisalRun).where(
            AppraisalRun.status == AppraisalStatus.PUBLISHED)
        if period is not None:
            statement = statement.where(AppraisalRun.period == period)
        return (await self.session.scalars(statement.order_by(AppraisalRun.computed_at))).all()

    async def add_request(self, request: PublicationRequest) -> PublicationRequest:
        self.session.add(request)
        await self.session.flush()
        return request

    async def get_request(self, request_id: int) -> PublicationRequest | None:
        return await self.session.get(PublicationRequest, request_id)

    async def mark_announced(self, request_ids: Sequence[int], now: datetime) -> None:
        if request_ids:
            await self.session.execute(
                update(PublicationRequest).where(PublicationRequest.id.in_(list(request_ids)))
                .values(announced_at=now))

    async def requests(self, run_ids: Iterable[int],
                       status: PublicationStatus | None = None) -> Sequence[PublicationRequest]:
        """The publication requests of these runs (of ``status``), oldest first."""
        statement = select(PublicationRequest).where(
            PublicationRequest.run_id.in_(list(run_ids)))
        if status is not None:
            statement = statement.where(PublicationRequest.status == status)
        return (await self.session.scalars(statement.order_by(PublicationRequest.id))).all()

    async def pending_requests(self) -> list[tuple[AppraisalRun, PublicationRequest]]:
        """Every publication awaiting an auditor's decision, oldest request first."""
        rows = await self.session.execute(
            select(AppraisalRun, PublicationRequest)
            .join(PublicationRequest, PublicationRequest.run_id == AppraisalRun.id)
            .where(PublicationRequest.status == PublicationStatus.PENDING)
            .order_by(PublicationRequest.id))
        return [(run, request) for run, request in rows]

    async def drafts(self, limit: int = 20) -> Sequence[AppraisalRun]:
        """The newest draft runs, newest first."""
        return (await self.session.scalars(
            select(AppraisalRun).where(AppraisalRun.status == AppraisalStatus.DRAFT)
            .order_by(AppraisalRun.computed_at.desc(), AppraisalRun.id.desc())
            .limit(limit))).all()

    async def anchored(self) -> Sequence[AppraisalRun]:
        """Every run that was published (even if superseded since), with the audit log's head
        it recorded, oldest head first."""
        return (await self.session.scalars(
            select(AppraisalRun).where(AppraisalRun.audit_head_hash.is_not(None))
            .order_by(AppraisalRun.audit_head_events, AppraisalRun.id))).all()

    async def published_of_person(self, person_id: int
                                  ) -> list[tuple[AppraisalRun, AppraisalResult]]:
        """A cadre's published results, oldest period first."""
        rows = await self.session.execute(
            select(AppraisalRun, AppraisalResult)
            .join(AppraisalResult, AppraisalResult.run_id == AppraisalRun.id)
            .where(AppraisalRun.status == AppraisalStatus.PUBLISHED,
                   AppraisalResult.kind == "cadre", AppraisalResult.person_id == person_id)
            .order_by(AppraisalRun.published_at, AppraisalResult.id))
        return [(run, result) for run, result in rows]

    async def published_of_unit(self, unit_id: int
                                ) -> list[tuple[AppraisalRun, AppraisalResult]]:
        """A unit's own published results (kind "unit"), one per published run."""
        rows = await self.session.execute(
            select(AppraisalRun, AppraisalResult)
            .join(AppraisalResult, AppraisalResult.run_id == AppraisalRun.id)
            .where(AppraisalRun.status == AppraisalStatus.PUBLISHED,
                   AppraisalResult.kind == "unit", AppraisalResult.unit_id == unit_id)
            .order_by(AppraisalRun.published_at, AppraisalResult.id))
        return [(run, result) for run, result in rows]

    async def result(self, result_id: int) -> tuple[AppraisalRun, AppraisalResult] | None:
        row = (await self.session.execute(
            select(AppraisalRun, AppraisalResult)
            .join(AppraisalResult, AppraisalResult.run_id == AppraisalRun.id)
            .where(AppraisalResult.id == result_id))).first()
        return None if row is None else (row[0], row[1])


class AppealsRepository(Repository):
    async def create(self, result_id: int, person_id: int, reason: str,
                     now: datetime) -> Appeal | None:
        """None when this cadre already appealed this result."""
        inserted = await insert_new(
            self.session, Appeal,
            {"result_id": result_id, "person_id": person_id, "reason": reason,
             "status": AppealStatus.OPEN, "created_at": now},
            ["result_id", "person_id"])
        if not inserted:
            return None
        return await self.session.scalar(select(Appeal).where(
            Appeal.result_id == result_id, Appeal.person_id == person_id))

    async def get(self, appeal_id: int, lock: bool = False) -> Appeal | None:
        statement = select(Appeal).where(Appeal.id == appeal_id)
        if lock:
            statement = statement.with_for_update()
        return await self.session.scalar(statement)

    async def of_person(self, person_id: int) -> Sequence[Appeal]:
        return (await self.session.scalars(
            select(Appeal).where(Appeal.person_id == person_id)
            .order_by(Appeal.created_at.desc(), Appeal.id.desc()))).all()

    async def listed(self, status: AppealStatus | None = None, limit: int = 50
                     ) -> list[tuple[Appeal, AppraisalResult, AppraisalRun, Person]]:
        """Appeals with their result, run and the cadre, newest first."""
        statement = (select(Appeal, AppraisalResult, AppraisalRun, Person)
                     .join(AppraisalResult, AppraisalResult.id == Appeal.result_id)
                     .join(AppraisalRun, AppraisalRun.id == AppraisalResult.run_id)
                     .join(Person, Person.id == Appeal.person_id))
        if status is not None:
            statement = statement.where(Appeal.status == status)
        rows = await self.session.execute(
            statement.order_by(Appeal.created_at.desc(), Appeal.id.desc()).limit(limit))
        return [(a, r, run, person) for a, r, run, person in rows]

    @staticmethod
    def _in(statement: Select[*Ts], unit_ids: Collection[int] | None
            ) -> Select[*Ts]:
        statement = statement.join(AppraisalResult, AppraisalResult.id == Appeal.result_id)
        if unit_ids is not None:
            statement = statement.where(AppraisalResult.unit_id.in_(list(unit_ids)))
        return statement

    async def counted(self, unit_ids: Collection[int] | None) -> int:
        """How many appeals there are of results for these units (None: all)."""
        query = select(func.count()).select_from(Appeal)
        [(count,)] = await self.plain(self._in(query, unit_ids) if unit_ids is not None
                                      else query)
        return int(count)

    async def page(self, unit_ids: Collection[int] | None, offset: int, limit: int
                   ) -> list[AppealLine]:
        """A page of the appeals :meth:`counted` counts, newest first, each with what a list
        of them shows of its result (not its explanation: the unit's names it recorded are
        :meth:`unit_names`), the cadre's and the reviewer's names."""
        reviewer = aliased(Person)
        rows = await self.plain(self._in(
            select(Appeal.id, Appeal.person_id, Appeal.reason, Appeal.status,
                   Appeal.created_at, Appeal.answer, Appeal.answered_at, Appeal.result_id,
                   AppraisalResult.unit_id, AppraisalResult.status, AppraisalResult.score,
                   AppraisalResult.grade, AppraisalRun.period, AppraisalRun.version,
                   Person.name, Person.name_zh, reviewer.name, reviewer.name_zh)
            .select_from(Appeal), unit_ids)
            .join(AppraisalRun, AppraisalRun.id == AppraisalResult.run_id)
            .join(Person, Person.id == Appeal.person_id)
            .outerjoin(reviewer, reviewer.id == Appeal.answered_by)
            .order_by(Appeal.created_at.desc(), Appeal.id.desc()).offset(offset).limit(limit))
        return [AppealLine._make(row) for row in rows]

    async def unit_names(self, result_ids: Collection[int]
                         ) -> dict[int, tuple[str | None, str | None, str | None]]:
        """The unit's code and names each result recorded at its run (its explanation read
        for them: worth keeping, as a result never changes)."""
        if not result_ids:
            return {}
        detail = AppraisalResult.detail
        rows = await self.plain(
            select(AppraisalResult.id, detail["unit_code"].as_string(),
                   detail["unit_name"].as_string(), detail["unit_name_zh"].as_string())
            .where(AppraisalResult.id.in_(sorted(result_ids))))
        return {result_id: (code, name, name_zh) for result_id, code, name, name_zh in rows}

    async def answer(self, appeal: Appeal, status: AppealStatus, answer: str,
                     person_id: int, now: datetime) -> bool:
        """Compare-and-set from open, so two answers cannot both apply."""
        result = await self.session.execute(
            update(Appeal).where(Appeal.id == appeal.id, Appeal.status == AppealStatus.OPEN)
            .values(status=status, answer=answer, answered_by=person_id, answered_at=now))
        return getattr(result, "rowcount", 0) == 1
