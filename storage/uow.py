"""One transaction per use case: ``async with db.transaction() as uow: ...``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.appraisal import (
    AnomaliesRepository,
    AppealsRepository,
    AppraisalRepository,
    KpiRepository,
    TextScoresRepository,
)
from storage.audit import AuditRepository
from storage.campaigns import (
    CampaignsRepository,
    EntryPointsRepository,
    RunsRepository,
    SurveysRepository,
)
from storage.cases import CasesRepository
from storage.clock import Clock, utcnow
from storage.db import SQLITE_BEGIN, DatabaseUnavailable, create_engine, create_sessionmaker
from storage.dialogues import DialoguesRepository
from storage.fieldwork import (
    CadresRepository,
    EvidenceRepository,
    InspectionsRepository,
    InvitesRepository,
    NotesRepository,
)
from storage.outbox import OutboxRepository
from storage.people import ContactsRepository, PeopleRepository
from storage.responses import ResponsesRepository, SessionsRepository
from storage.subscriptions import SubscriptionsRepository
from storage.units import UnitsRepository
from storage.updates import UpdatesRepository
from storage.web import WebRepository


@dataclass
class UnitOfWork:
    """The repositories of one transaction, and the clock its use case reads "now" from."""

    session: AsyncSession
    clock: Clock = field(default=utcnow)

    def __post_init__(self) -> None:
        self.updates = UpdatesRepository(self.session)
        self.units = UnitsRepository(self.session)
        self.contacts = ContactsRepository(self.session)
        self.sessions = SessionsRepository(self.session)
        self.people = PeopleRepository(self.session)
        self.surveys = SurveysRepository(self.session)
        self.campaigns = CampaignsRepository(self.session)
        self.responses = ResponsesRepository(self.session)
        self.audit = AuditRepository(self.session, self.clock)
        self.subscriptions = SubscriptionsRepository(self.session)
        self.runs = RunsRepository(self.session)
        self.entry_points = EntryPointsRepository(self.session)
        self.outbox = OutboxRepository(self.session)
        self.dialogues = DialoguesRepository(self.session)
        self.cadres = CadresRepository(self.session)
        self.invites = InvitesRepository(self.session)
        self.notes = NotesRepository(self.session)
        self.inspections = InspectionsRepository(self.session)
        self.evidence = EvidenceRepository(self.session)
        self.text_scores = TextScoresRepository(self.session)
        self.anomalies = AnomaliesRepository(self.session)
        self.kpis = KpiRepository(self.session)
        self.appraisal = AppraisalRepository(self.session)
        self.appeals = AppealsRepository(self.session)
        self.cases = CasesRepository(self.session)
        self.web = WebRepository(self.session)


_OUTAGES = (OperationalError, InterfaceError, ConnectionError, TimeoutError)
# SQLSTATE classes that mean "not now" rather than "wrong": 08 connection exceptions, 53
# insufficient resources (too many connections: a burst of residents on a small
# max_connections), 57P0x the server shutting down, starting or refusing connections.
_OUTAGE_STATES = ("08", "53", "57P0")


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is out of reach or busy for now (nothing was
    written; trying again helps), rather than that the work was wrong."""
    if isinstance(exc, _OUTAGES):
        return True
    if isinstance(exc, DBAPIError):
        state = getattr(exc.orig, "sqlstate", None) or ""
        return exc.connection_invalidated or state.startswith(_OUTAGE_STATES)
    return False


class Database:
    """Owns the engine; hands out units of work."""

    def __init__(self, engine: AsyncEngine, clock: Clock = utcnow) -> None:
        self.engine = engine
        # Tests hand in a clock they can move; everything that asks the database for "now"
        # (the audit trail, the use cases given ``db``) then moves with it.
        self.clock = clock
        self.sessionmaker: async_sessionmaker[AsyncSession] = create_sessionmaker(engine)
        # SQLite has one writer at a time and every transaction here begins IMMEDIATE, so
        # queue them in order inside the process instead of letting pooled connections spin
        # on the file lock from their threads (which, under load, outlasts the busy timeout).
        self._serial = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        # Told each transaction's duration in seconds (the bot's metrics), commit included.
        self.on_transaction: Callable[[float], None] | None = None

    @classmethod
    def from_url(
        cls, url: str, *, busy_timeout_ms: int = 5000, pool_size: int = 10, echo: bool = False,
        clock: Clock = utcnow,
    ) -> Database:
        return cls(create_engine(url, busy_timeout_ms=busy_timeout_ms, pool_size=pool_size,
                                 echo=echo), clock)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWork]:
        """Commit if the block succeeds, roll back if it raises.

        Raises:
            DatabaseUnavailable: the database could not be reached or stayed locked; the
                transaction was rolled back, so nothing was half-written.
        """
        started = time.perf_counter()
        try:
            async with self._turn(), self.sessionmaker() as session, session.begin():
                yield UnitOfWork(session, self.clock)
        except Exception as exc:
            # Locked, unreachable, dropped or full: rolled back, and trying again helps.
            if is_outage(exc):
                raise DatabaseUnavailable(str(exc).splitlines()[0]) from exc
            raise
        finally:
            if self.on_transaction is not None:
                self.on_transaction(time.perf_counter() - started)

    async def ping(self) -> None:
        """One trivial statement (readiness checks).

        Raises:
            DatabaseUnavailable: as :meth:`transaction`.
        """
        async with self.reading() as uow:
            await uow.session.execute(text("SELECT 1"))

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[UnitOfWork]:
        """A read-only unit of work (exports, reports): a consistent snapshot that never holds
        up the writers, however long it takes. Anything it writes is rolled back.

        Raises:
            DatabaseUnavailable: as :meth:`transaction`.
        """
        try:
            # No commit: closing the session rolls back.
            async with self.sessionmaker() as session:
                if self._serial is not None:
                    await session.connection(execution_options={SQLITE_BEGIN: "DEFERRED"})
                yield UnitOfWork(session, self.clock)
        except Exception as exc:
            if is_outage(exc):
                raise DatabaseUnavailable(str(exc).splitlines()[0]) from exc
            raise

    @asynccontextmanager
    async def browsing(self) -> AsyncIterator[UnitOfWork]:
        """A dashboard page's reads: on PostgreSQL without a transaction (each statement on
        its own, so no BEGIN and COMMIT round trips, a third of a small page's; a page reads
        rows that never change, such as a published version, or that it shows as they are
        at that moment); on SQLite as :meth:`reading`. Nothing may be written in it.

        Raises:
            DatabaseUnavailable: as :meth:`transaction`.
        """
        if self._serial is not None:
            async with self.reading() as uow:
                yield uow
            return
        try:
            async with self.sessionmaker() as session:
                await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
                yield UnitOfWork(session, self.clock)
        except Exception as exc:
            if is_outage(exc):
                raise DatabaseUnavailable(str(exc).splitlines()[0]) from exc
            raise

    @asynccontextmanager
    async def single(self) -> AsyncIterator[UnitOfWork]:
        """One statement that stands alone (a one-row UPDATE after a message was sent): on
        PostgreSQL without BEGIN and COMMIT, a third of the round trips; on SQLite as
        :meth:`transaction`. Nothing that needs two statements together may run in it.

        Raises:
            DatabaseUnavailable: as :meth:`transaction`.
        """
        if self._serial is not None:
            async with self.transaction() as uow:
                yield uow
            return
        async with self.browsing() as uow:
            yield uow

    def _turn(self) -> AbstractAsyncContextManager[object]:
        return self._serial if self._serial is not None else nullcontext()

    async def dispose(self) -> None:
        await self.engine.dispose()
