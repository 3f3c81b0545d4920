"""Repositories for cases: the cases, their conversation and photos, the sealed reply handles
and residents' drafts. Same rules as the other repositories: they never commit."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple, TypeVarTuple

from sqlalchemy import CTE, Select, and_, delete, func, or_, select, text, union_all, update
from sqlalchemy import case as case_when
from sqlalchemy.sql.elements import ColumnElement

from analysis.facts import CaseGroup
from storage.db import Repository
from storage.models import (
    Case,
    CaseDraft,
    CaseMessage,
    CaseOutcome,
    CasePhoto,
    CaseSeal,
    CaseStatus,
    CommentMove,
    Person,
    Unit,
)
from storage.models.cases import ACTIVE_STATUSES, RESOLVED_OUTCOMES

# Merged cases point at the case they were merged into; merging moves the cases merged into
# the one merged away along, so a chain is never longer than this.
_MERGE_DEPTH = 8

Ts = TypeVarTuple("Ts")


def _shown(query: Select[*Ts], at: datetime | None) -> Select[*Ts]:
    """Only the cases staff may see at ``at`` (their report is no longer held:
    surveys.cases.holding); None: every case."""
    if at is None:
        return query
    return query.where(or_(Case.held_until.is_(None), Case.held_until <= at))


# Where a case stands on the dashboard's board, in the order it lists them: still being
# worked on past its deadline (overdue) or not (open), resolved, closed.
BOARD_STATES = ("overdue", "open", "resolved", "closed")


def _state(now: datetime) -> Any:
    return case_when((Case.status == CaseStatus.CLOSED, BOARD_STATES[3]),
                     (Case.status == CaseStatus.RESOLVED, BOARD_STATES[2]),
                     (Case.due_at < now, BOARD_STATES[0]), else_=BOARD_STATES[1])


def _rank(now: datetime) -> Any:
    return case_when((Case.status == CaseStatus.CLOSED, 3), (Case.status == CaseStatus.RESOLVED, 2),
                     (Case.due_at < now, 0), else_=1)


def _subtrees(tops: Collection[int]) -> CTE:
    """Every unit of these units' subtrees (``id``) with the one of them it is under
    (``top``): walked in the database, so no list of a county's units is sent to it."""
    seed = select(Unit.id.label("id"), Unit.id.label("top")).where(
        Unit.id.in_(sorted(tops))).cte("subtree", recursive=True)
    return seed.union_all(select(Unit.id, seed.c.top).join(seed, Unit.parent_id == seed.c.id))


class BoardLine(NamedTuple):
    """A case as the dashboard's list shows it."""

    number: str
    unit_id: int
    category: str
    status: CaseStatus
    due_at: datetime
    answer_due_at: datetime | None
    outcome: CaseOutcome | None
    reports: int
    closed_at: datetime | None
    handler_name: str | None
    handler_name_zh: str | None


class NumbersTaken(LookupError):
    """Every number offered for a new case belongs to another case already."""


class CasesRepository(Repository):
    async def add(self, case: Case, numbers: Collection[str]) -> Case:
        """Insert ``case`` under the first of ``numbers`` no other case has (numbers are
        random: a clash is rare, and two at once rarer still, which the unique column then
        refuses).

        Raises:
            NumbersTaken: every one of ``numbers`` is taken.
        """
        taken = set(await self.session.scalars(
            select(Case.number).where(Case.number.in_(list(numbers)))))
        free = [number for number in numbers if number not in taken]
        if not free:
            raise NumbersTaken(f"every candidate case number is taken: {sorted(numbers)}")
        case.number = free[0]
        self.session.add(case)
        await self.session.flush()
        return case

    async def get(self, case_id: int, *, lock: bool = False) -> Case | None:
        query = select(Case).where(Case.id == case_id).execution_options(populate_existing=True)
        if lock:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def by_number(self, number: str, *, lock: bool = False) -> Case | None:
        query = (select(Case).where(Case.number == number)
                 .execution_options(populate_existing=True))
        if lock:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def active(self, unit_ids: Collection[int] | None = None,
                     statuses: Collection[CaseStatus] = ACTIVE_STATUSES, *,
                     shown_at: datetime | None = None) -> Sequence[Case]:
        """Cases still being worked on (of these units; None: all), the nearest deadline
        first; ``shown_at``: only those staff may see then."""
        query = _shown(select(Case).where(Case.status.in_(list(statuses))), shown_at)
        if unit_ids is not None:
            query = query.where(Case.unit_id.in_(list(unit_ids)))
        return (await self.session.scalars(query.order_by(Case.due_at, Case.number))).all()

    async def closed_since(self, unit_ids: Collection[int] | None, since: datetime, *,
                           shown_at: datetime | None = None) -> Sequence[Case]:
        """Cases closed at or after ``since`` (of these units; None: all), the latest first;
        ``shown_at``: only those staff may see then."""
        query = _shown(select(Case).where(Case.status == CaseStatus.CLOSED,
                                          Case.closed_at >= since), shown_at)
        if unit_ids is not None:
            query = query.where(Case.unit_id.in_(list(unit_ids)))
        return (await self.session.scalars(
            query.order_by(Case.closed_at.desc(), Case.number))).all()

    # --- the dashboard's cases page (surveys.cases.board) --------------------------------------

    async def board_counts(self, groups: Collection[int], own: int | None, now: datetime,
                           since: datetime) -> list[tuple[int, str, int]]:
        """(unit, state, how many) of the cases on the board: being worked on, or closed at or
        after ``since``, that staff may see at ``now``; those of each subtree of ``groups``
        counted under its top unit, and those of the unit ``own`` itself (not below it)
        under it. One grouped statement: a row per unit of ``groups`` and state, however
        many cases and units there are below them."""
        parts = []
        if groups:
            tree = _subtrees(groups)
            parts.append(self._board(select(tree.c.top.label("unit"), _state(now).label("state"))
                                     .select_from(Case).join(tree, tree.c.id == Case.unit_id),
                                     now, since))
        if own is not None:
            parts.append(self._board(select(Case.unit_id.label("unit"),
                                            _state(now).label("state"))
                                     .where(Case.unit_id == own), now, since))
        if not parts:
            return []
        inner = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()
        rows = await self.plain(select(inner.c.unit, inner.c.state, func.count())
                                .group_by(inner.c.unit, inner.c.state))
        return [(unit_id, state, int(count)) for unit_id, state, count in rows]

    async def board_page(self, groups: Collection[int], own: int | None, now: datetime,
                         since: datetime, state: str | None, offset: int, limit: int
                         ) -> list[BoardLine]:
        """A page of the cases :meth:`board_counts` counts (only those in ``state``, one of
        :data:`BOARD_STATES`, if given): overdue first, then open, resolved and closed, each
        by deadline; with the handler's names and nothing the list does not show."""
        where: list[ColumnElement[bool]] = (
            [Case.unit_id.in_(select(_subtrees(groups).c.id))] if groups else [])
        if own is not None:
            where.append(Case.unit_id == own)
        if not where:
            return []
        query = self._board(
            select(Case.number, Case.unit_id, Case.category, Case.status, Case.due_at,
                   Case.answer_due_at, Case.outcome, Case.reports, Case.closed_at,
                   Person.name, Person.name_zh)
            .outerjoin(Person, Person.id == Case.handler_id).where(or_(*where)), now, since)
        if state is not None:
            query = query.where(_state(now) == state)
        rows = await self.plain(
            query.order_by(_rank(now), Case.due_at, Case.number).offset(offset).limit(limit))
        return [BoardLine._make(row) for row in rows]

    @staticmethod
    def _board(query: Select[*Ts], now: datetime, since: datetime) -> Select[*Ts]:
        return _shown(query.where(or_(
            Case.status.in_(ACTIVE_STATUSES),
            and_(Case.status == CaseStatus.CLOSED, Case.closed_at >= since))), now)

    async def handled_as(self, case: Case, *, lock: bool = False) -> Case:
        """The case that handles ``case``: itself, or the one it was merged into, followed
        along the chain (each locked on the way if ``lock``)."""
        current = case
        for _ in range(_MERGE_DEPTH):
            if current.status != CaseStatus.MERGED or current.merged_into_id is None:
                break
            into = await self.get(current.merged_into_id, lock=lock)
            if into is None:
                break
            current = into
        return current

    async def by_ids(self, ids: Collection[int], *, lock: bool = False) -> dict[int, Case]:
        """These cases by id; ``lock``: locked against changes, one at a time in the order of
        their ids. FOR NO KEY UPDATE, as an UPDATE of the rows would lock them: a use case's
        change (which locks FOR UPDATE) waits, a new timeline entry of the case (whose
        foreign key takes a KEY SHARE lock) does not."""
        if not ids:
            return {}
        query = select(Case).where(Case.id.in_(list(ids)))
        if lock:
            query = (query.order_by(Case.id).with_for_update(key_share=True)
                     .execution_options(populate_existing=True))
        return {case.id: case for case in await self.session.scalars(query)}

    async def merged_into(self, case_id: int) -> Sequence[Case]:
        """The cases merged into this one (each with its own resident and seal)."""
        return (await self.session.scalars(
            select(Case).where(Case.merged_into_id == case_id,
                               Case.status == CaseStatus.MERGED)
            .order_by(Case.number))).all()

    async def listed(self, unit_ids: Collection[int] | None = None,
                     statuses: Collection[CaseStatus] | None = None,
                     due_before: datetime | None = None,
                     opened: tuple[date, date] | None = None,
                     shown_at: datetime | None = None) -> Sequence[Case]:
        """Cases of these units (None: all) in these statuses (None: any), due before
        ``due_before``, opened on a day in ``[opened[0], opened[1])``, that staff may see at
        ``shown_at`` (None: all); by number."""
        query = _shown(select(Case), shown_at)
        if unit_ids is not None:
            query = query.where(Case.unit_id.in_(list(unit_ids)))
        if statuses is not None:
            query = query.where(Case.status.in_(list(statuses)))
        if due_before is not None:
            query = query.where(Case.due_at < due_before)
        if opened is not None:
            query = query.where(Case.opened_on >= opened[0], Case.opened_on < opened[1])
        return (await self.session.scalars(query.order_by(Case.number))).all()

    # --- supervision (surveys.cases.supervision) ----------------------------------------------

    async def to_remind(self, statuses: Collection[CaseStatus], now: datetime,
                        due_by: datetime, limit: int = 500) -> Sequence[Case]:
        """Not yet reminded, due after ``now`` but by ``due_by``; staff see it already (a
        reminder of a held case would tell them of it early)."""
        return await self._locked(
            _shown(select(Case), now).where(
                Case.status.in_(list(statuses)), Case.reminded_at.is_(None),
                Case.due_at > now, Case.due_at <= due_by), limit)

    async def overdue(self, statuses: Collection[CaseStatus], now: datetime,
                      limit: int = 500) -> Sequence[Case]:
        """Past their deadline, not yet escalated as overdue, and no longer held."""
        return await self._locked(
            _shown(select(Case), now).where(
                Case.status.in_(list(statuses)), Case.due_at <= now, Case.overdue_at.is_(None)),
            limit)

    async def unanswered(self, now: datetime, limit: int = 500) -> Sequence[Case]:
        """Resolved, and the resident's answer is no longer awaited."""
        return await self._locked(
            select(Case).where(Case.status == CaseStatus.RESOLVED,
                               Case.answer_due_at.is_not(None), Case.answer_due_at <= now),
            limit)

    async def sealed(self, statuses: Collection[CaseStatus]) -> Sequence[Case]:
        """Cases in these statuses that still have a seal."""
        return (await self.session.scalars(
            select(Case).join(CaseSeal, CaseSeal.case_id == Case.id)
            .where(Case.status.in_(list(statuses))))).all()

    async def _locked(self, query: Select[Case], limit: int) -> Sequence[Case]:
        # Skip what a use case holds: the next sweep comes back to it.
        return (await self.session.scalars(
            query.order_by(Case.due_at, Case.id).limit(limit)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True))).all()

    async def count_by_status(self, unit_ids: Collection[int] | None = None
                              ) -> dict[CaseStatus, int]:
        query = select(Case.status, func.count()).group_by(Case.status)
        if unit_ids is not None:
            query = query.where(Case.unit_id.in_(list(unit_ids)))
        return {status: count for status, count in (await self.session.execute(query)).all()}

    # --- a period's cases, for appraisal and "You said, we did" ---------------------------

    async def period_groups(self, first: date, end: date, now: datetime,
                            unit_ids: Collection[int] | None = None, *,
                            shown_only: bool = False) -> list[CaseGroup]:
        """The cases opened on ``first`` up to (not including) ``end``, counted per unit,
        handler, category, status, outcome, on-time flag, reopened or not and whether the
        deadline has passed at ``now``; ``shown_only``: only those staff may see at ``now``
        (a count that moved the moment a report came in would time it). Reads the cases'
        own columns only: their messages and notes never count."""
        period = _shown(select(
            Case.unit_id.label("unit_id"), Case.handler_id.label("handler_id"),
            Case.category.label("category"), Case.status.label("status"),
            Case.outcome.label("outcome"), Case.resolved_on_time.label("on_time"),
            case_when((Case.reopened > 0, 1), else_=0).label("reopened"),
            case_when((Case.due_at < now, 1), else_=0).label("past_due"),
        ), now if shown_only else None)
        period = period.where(Case.opened_on >= first, Case.opened_on < end)
        if unit_ids is not None:
            period = period.where(Case.unit_id.in_(list(unit_ids)))
        # Grouped over a subquery: PostgreSQL would not see ``due_at < $1`` in the select
        # list and ``due_at < $2`` in GROUP BY as the same expression.
        inner = period.subquery()
        columns = (inner.c.unit_id, inner.c.handler_id, inner.c.category, inner.c.status,
                   inner.c.outcome, inner.c.on_time, inner.c.reopened, inner.c.past_due)
        rows = await self.session.execute(
            select(*columns, func.count()).group_by(*columns)
            # A fixed order, so sums over the groups come out the same on every run.
            .order_by(*columns))
        return [CaseGroup(unit_id=u, handler_id=h, category=c, status=str(s),
                          outcome=None if o is None else str(o), resolved_on_time=t,
                          reopened=bool(r), past_due=bool(p), count=n)
                for u, h, c, s, o, t, r, p, n in rows]

    async def public_summaries(self, first: date, end: date, unit_ids: Collection[int],
                               limit: int) -> Sequence[Case]:
        """Up to ``limit`` cases opened in the period and closed as solved with a public
        summary: confirmed ones first, then partly, then the rest; the latest solved first."""
        if limit <= 0 or not unit_ids:
            return []
        rank = case_when((Case.outcome == CaseOutcome.CONFIRMED, 0),
                         (Case.outcome == CaseOutcome.PARTLY, 1), else_=2)
        return (await self.session.scalars(
            select(Case).where(Case.unit_id.in_(list(unit_ids)),
                               Case.opened_on >= first, Case.opened_on < end,
                               Case.status == CaseStatus.CLOSED,
                               Case.outcome.in_(RESOLVED_OUTCOMES),
                               Case.summary.is_not(None), Case.summary != "")
            .order_by(rank, Case.resolved_at.desc(), Case.number).limit(limit))).all()

    # --- the conversation ---------------------------------------------------------------------

    async def add_message(self, message: CaseMessage) -> CaseMessage:
        self.session.add(message)
        await self.session.flush()
        return message

    async def undelivered(self, limit: int = 100, exclude: Collection[int] = (),
                          now: datetime | None = None) -> Sequence[CaseMessage]:
        """Timeline entries still to be handed to whom they must reach, but those in
        ``exclude`` (waiting to be retried) and, with ``now``, those still held
        (surveys.cases.holding). The oldest first, a held entry as of its release: the
        entries released together go case by case in the order of the cases' random ids,
        each case's in its timeline's order, not in the order they were written."""
        query = select(CaseMessage).where(CaseMessage.delivered.is_(False))
        if now is not None:
            query = query.where(or_(CaseMessage.held_until.is_(None),
                                    CaseMessage.held_until <= now))
        if exclude:
            query = query.where(CaseMessage.id.not_in(list(exclude)))
        due = func.coalesce(CaseMessage.held_until, CaseMessage.at)
        return (await self.session.scalars(
            query.order_by(due, CaseMessage.case_id, CaseMessage.seq, CaseMessage.id)
            .limit(limit).with_for_update(skip_locked=True))).all()

    async def mark_delivered(self, ids: Collection[int]) -> None:
        if ids:
            await self.session.execute(
                update(CaseMessage).where(CaseMessage.id.in_(list(ids))).values(delivered=True))

    async def count_attempt(self, ids: Collection[int]) -> None:
        """One more failed attempt to send these entries."""
        if ids:
            await self.session.execute(
                update(CaseMessage).where(CaseMessage.id.in_(list(ids)))
                .values(attempts=CaseMessage.attempts + 1))

    async def with_undelivered(self, case_ids: Collection[int], notify: str) -> set[int]:
        """Which of these cases still have entries for ``notify`` to deliver."""
        if not case_ids:
            return set()
        return set(await self.session.scalars(
            select(CaseMessage.case_id).where(
                CaseMessage.case_id.in_(list(case_ids)), CaseMessage.notify == notify,
                CaseMessage.delivered.is_(False)).distinct()))

    async def unaudited(self, before: datetime, limit: int = 1000) -> Sequence[CaseMessage]:
        """Entries not yet in the audit log (a resident's, or what a resident's answer
        caused), dated before ``before``."""
        return (await self.session.scalars(
            select(CaseMessage).where(CaseMessage.audited.is_(False), CaseMessage.at < before)
            .order_by(CaseMessage.id).limit(limit).with_for_update(skip_locked=True))).all()

    async def mark_audited(self, ids: Collection[int]) -> None:
        """One row at a time, in the order of their random ids: on PostgreSQL the rows are
        written anew in that order (see :meth:`rewrite`)."""
        if ids:
            await self.session.execute(
                text("UPDATE case_messages SET audited = true WHERE id = :id"),
                [{"id": i} for i in sorted(ids)])

    async def rewrite(self, case_ids: Collection[int]) -> None:
        """Write these cases' rows, photos and seals anew, one at a time in the order of
        their random ids, in this transaction.

        PostgreSQL stamps each row with the transaction that wrote it (``xmin``) and keeps
        rows in the order they were written (``ctid``); any reader can select both. A case
        row, its report's photos and its seal are written in the resident's own transaction,
        so these would date the report (and order it among others) finer than its day; once
        rewritten they carry this transaction's stamp instead. SQLite keeps neither."""
        if not case_ids or self.session.get_bind().dialect.name != "postgresql":
            return
        photo_ids = await self.session.scalars(
            select(CasePhoto.id).where(CasePhoto.case_id.in_(list(case_ids))))
        for statement, ids in (
                ("UPDATE cases SET version = version WHERE id = :id", case_ids),
                ("UPDATE case_photos SET part = part WHERE id = :id", list(photo_ids)),
                ("UPDATE case_seals SET sealed = sealed WHERE case_id = :id", case_ids)):
            if ids:
                await self.session.execute(text(statement), [{"id": i} for i in sorted(ids)])

    async def message(self, message_id: int) -> CaseMessage | None:
        return await self.session.get(CaseMessage, message_id)

    async def next_seq(self, case_id: int) -> int:
        """The place of a new entry in its case's timeline."""
        last = await self.session.scalar(
            select(func.max(CaseMessage.seq)).where(CaseMessage.case_id == case_id))
        return (last or 0) + 1

    async def messages(self, case_id: int) -> Sequence[CaseMessage]:
        return (await self.session.scalars(
            select(CaseMessage).where(CaseMessage.case_id == case_id)
            .order_by(CaseMessage.seq, CaseMessage.at, CaseMessage.id))).all()

    async def add_photo(self, case_id: int, part: str, *, sha256: str, path: str,
                        size_bytes: int, media_type: str) -> CasePhoto:
        photo = CasePhoto(case_id=case_id, part=part, sha256=sha256, path=path,
                          size_bytes=size_bytes, media_type=media_type)
        self.session.add(photo)
        await self.session.flush()
        return photo

    async def photos(self, case_id: int) -> Sequence[CasePhoto]:
        return (await self.session.scalars(
            select(CasePhoto).where(CasePhoto.case_id == case_id)
            .order_by(CasePhoto.part, CasePhoto.sha256))).all()

    # --- seals: who raised it, readable only with the secret ---------------------------------

    async def put_seal(self, case_id: int, sealed: str) -> None:
        existing = await self.session.get(CaseSeal, case_id)
        if existing is None:
            self.session.add(CaseSeal(case_id=case_id, sealed=sealed))
        else:
            existing.sealed = sealed
        await self.session.flush()

    async def seal_of(self, case_id: int) -> str | None:
        seal = await self.session.get(CaseSeal, case_id, populate_existing=True)
        return seal.sealed if seal is not None else None

    async def active_seals(self) -> Sequence[tuple[int, str]]:
        """Every seal of a case still being worked on, to count one person's open cases."""
        rows = await self.session.execute(
            select(CaseSeal.case_id, CaseSeal.sealed).join(Case, Case.id == CaseSeal.case_id)
            .where(Case.status.in_(ACTIVE_STATUSES)))
        return [(case_id, sealed) for case_id, sealed in rows.all()]

    async def drop_seal(self, case_id: int) -> None:
        await self.session.execute(delete(CaseSeal).where(CaseSeal.case_id == case_id))

    # --- residents' drafts --------------------------------------------------------------------

    async def draft(self, key: str, *, lock: bool = False) -> CaseDraft | None:
        query = (select(CaseDraft).where(CaseDraft.key == key)
                 .execution_options(populate_existing=True))
        if lock:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def save_draft(self, key: str, kind: str, data: dict[str, Any]) -> CaseDraft:
        """Start or replace the person's draft; the version moves on either way."""
        draft = await self.draft(key, lock=True)
        if draft is None:
            draft = CaseDraft(key=key, kind=kind, version=1, data=data)
            self.session.add(draft)
        else:
            draft.kind, draft.data, draft.version = kind, data, draft.version + 1
        await self.session.flush()
        return draft

    async def drafts_of(self, kinds: Collection[str]) -> Sequence[CaseDraft]:
        """Every draft of these kinds, locked (another sweep skips them)."""
        return (await self.session.scalars(
            select(CaseDraft).where(CaseDraft.kind.in_(list(kinds)))
            .with_for_update(skip_locked=True))).all()

    async def drop_draft(self, key: str) -> None:
        await self.session.execute(delete(CaseDraft).where(CaseDraft.key == key))

    # --- poll comments moved into cases (surveys.cases.comments) ------------------------------

    async def add_move(self, move_id: int, sealed: str) -> None:
        self.session.add(CommentMove(id=move_id, sealed=sealed))
        await self.session.flush()

    async def moves(self, limit: int = 500) -> Sequence[CommentMove]:
        """Moves still to make, locked (another sweep skips them)."""
        return (await self.session.scalars(
            select(CommentMove).order_by(CommentMove.id).limit(limit)
            .with_for_update(skip_locked=True))).all()

    async def drop_moves(self, ids: Collection[int]) -> None:
        await self.session.execute(delete(CommentMove).where(CommentMove.id.in_(list(ids))))
