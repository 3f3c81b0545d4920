"""The dashboard's sign-in: sessions, one-time sign-in links and the attempts to use them.

Only digests of the tokens are stored (SHA-256 of a random token): a reader of the database
can neither sign in with a row nor tell which browser holds it. Only people with a role
(``people``) sign in; residents never have rows here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Created


class WebSession(Created, Base):
    """A signed-in browser (or Mini App): its cookie's digest, whose it is, until when."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    # How the session began: "telegram" (a Mini App's initData) or "link" (/dashboard).
    via: Mapped[str] = mapped_column(String(16))
    # The Telegram client's language when it began, for a person who never chose one.
    client_language: Mapped[str | None] = mapped_column(String(16))
    expires_at: Mapped[datetime]

    __table_args__ = (Index("ix_web_sessions_person_id", "person_id"),
                      Index("ix_web_sessions_expires_at", "expires_at"))


class SignInLink(Created, Base):
    """A one-time sign-in link sent by /dashboard: usable once, until ``expires_at``."""

    __tablename__ = "sign_in_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    client_language: Mapped[str | None] = mapped_column(String(16))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_sign_in_links_person_id", "person_id"),)


class SignInAttempt(Base):
    """One attempt to use a sign-in link, by a client (a keyed digest of its address), so
    guessing links is rate-limited across processes."""

    __tablename__ = "sign_in_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]

    __table_args__ = (Index("ix_sign_in_attempts_client_at", "client", "at"),)
