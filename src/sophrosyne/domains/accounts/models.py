"""ORM models of accounts: API tokens (stored as SHA-256 hashes; the secret is shown once),
users (passwords stored as argon2id hashes) and their login sessions (stored as SHA-256 hashes
of the session id the browser holds)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sophrosyne.db.base import Base


class ApiToken(Base):
    """A bearer token with scopes; revocable, optionally expiring. A token owned by a user
    acts within that user's role and stops working when the user is disabled; a token without
    an owner is a service token (made by the CLI)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[list[Any]]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )


class User(Base):
    """A person who logs in. Only an argon2id hash of the password is stored."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'operator', 'viewer')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Lowercase, ``^[a-z0-9][a-z0-9_.-]{0,63}$`` (checked by ``schemas.UserCreate``).
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))
    #: The argon2id PHC string (``$argon2id$v=19$…``), never the password.
    password_hash: Mapped[str] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(default=False)
    #: Wrong passwords since the last successful login.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]


class LoginSession(Base):
    """A person logged in through a browser. The session id itself lives only in the cookie;
    the database keeps its SHA-256, so a copy of the table does not log anyone in."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: Sent back in ``X-CSRF-Token`` by cookie-authenticated changes (useless without the
    #: cookie, so kept as is).
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    #: Refreshed at most every minute or so; the idle timeout counts from it.
    last_seen_at: Mapped[datetime]
    #: The absolute end of the session, whatever the activity.
    expires_at: Mapped[datetime] = mapped_column(index=True)
