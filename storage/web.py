"""The dashboard's sign-in rows: sessions, one-time links and attempts (by token digest)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import joinedload

from storage.db import Repository
from storage.models import Contact, Person, SignInAttempt, SignInLink, WebSession
from storage.people import remember_user


class WebRepository(Repository):
    async def add_session(self, session: WebSession) -> None:
        self.session.add(session)
        await self.session.flush()

    async def session_of(self, token_hash: str, now: datetime
                         ) -> tuple[WebSession, Person, Contact | None] | None:
        """The live session with this digest, its person (with roles) and their contact, in
        one query: every page asks it first, 20 readers at once. The page's use case then
        finds the same person by Telegram id without asking again (``remember_user``)."""
        row = (await self.session.execute(
            select(WebSession, Person, Contact)
            .join(Person, Person.id == WebSession.person_id)
            .outerjoin(Contact, Contact.id == Person.contact_id)
            .where(WebSession.token_hash == token_hash, WebSession.expires_at > now)
            .options(joinedload(Person.roles))
        )).unique().first()
        if row is None:
            return None
        session, person, contact = row[0], row[1], row[2]
        if contact is not None:
            remember_user(self.session, contact, person)
        return session, person, contact

    async def end_session(self, token_hash: str) -> bool:
        result = await self.session.execute(
            delete(WebSession).where(WebSession.token_hash == token_hash))
        return bool(getattr(result, "rowcount", 0))

    async def add_link(self, link: SignInLink) -> None:
        self.session.add(link)
        await self.session.flush()

    async def drop_unused_links(self, person_id: int) -> None:
        """A new link replaces the person's unused ones: only the newest works."""
        await self.session.execute(
            delete(SignInLink).where(SignInLink.person_id == person_id,
                                     SignInLink.used_at.is_(None)))

    async def link(self, token_hash: str) -> SignInLink | None:
        return await self.session.get(SignInLink, token_hash)

    async def use_link(self, token_hash: str, now: datetime) -> bool:
        """Mark the link used, if nobody did first (two tabs at once: one wins)."""
        result = await self.session.execute(
            update(SignInLink).where(SignInLink.token_hash == token_hash,
                                     SignInLink.used_at.is_(None),
                                     SignInLink.expires_at > now)
            .values(used_at=now).execution_options(synchronize_session=False))
        return bool(getattr(result, "rowcount", 0))

    async def count_attempts(self, client: str, since: datetime) -> int:
        return int(await self.session.scalar(
            select(func.count()).select_from(SignInAttempt)
            .where(SignInAttempt.client == client, SignInAttempt.at > since)) or 0)

    async def add_attempt(self, client: str, at: datetime) -> None:
        self.session.add(SignInAttempt(client=client, at=at))
        await self.session.flush()

    async def prune(self, now: datetime, attempts_before: datetime) -> int:
        """Expired sessions and links, and attempts older than the window."""
        removed = 0
        for statement in (delete(WebSession).where(WebSession.expires_at <= now),
                          delete(SignInLink).where(SignInLink.expires_at <= now),
                          delete(SignInAttempt).where(SignInAttempt.at <= attempts_before)):
            result = await self.session.execute(statement)
            removed += int(getattr(result, "rowcount", 0) or 0)
        return removed
