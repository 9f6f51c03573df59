"""Login sessions: start one at login, identify the person behind a session id, end one or all.

The session id is 256 random bits given to the browser (in a cookie) and stored nowhere: the
table keeps its SHA-256, like API tokens. A session ends at the first of: logout, its absolute
lifetime, ``idle`` without a request, the user being disabled, or a password change (which ends
the user's other sessions). Services never commit; the edge does.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from sophrosyne.domains.accounts.models import LoginSession, User
from sophrosyne.domains.accounts.principal import Principal, for_user
from sophrosyne.errors import Unauthorized

__all__ = [
    "Identified",
    "Started",
    "csrf_token",
    "end",
    "end_all_for",
    "identify",
    "start",
    "touch",
]

#: ``last_seen_at`` is written at most this often (or a quarter of the idle timeout, if
#: shorter), so a busy browser does not write on every request.
_TOUCH_EVERY = timedelta(minutes=1)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class Started:
    """A new session: ``session_id`` goes into the cookie and is never seen again."""

    row: LoginSession
    session_id: str


@dataclass(frozen=True)
class Identified:
    """The person behind a session id, and the session's CSRF token."""

    principal: Principal
    csrf_token: str
    #: ``last_seen_at`` is due a refresh (see :func:`touch`).
    due: bool


def start(
    session: Session,
    user: User,
    *,
    now: datetime,
    lifetime: timedelta,
    idle: timedelta,
    replaces: str | None = None,
) -> Started:
    """A new session for ``user``. ``replaces``: the session id the browser held before, which
    ends now (a login always gets a fresh id). Sessions past their deadlines are purged."""
    if replaces:
        session.execute(delete(LoginSession).where(LoginSession.session_hash == _hash(replaces)))
    session.execute(
        delete(LoginSession).where(
            or_(LoginSession.expires_at <= now, LoginSession.last_seen_at <= now - idle)
        )
    )
    session_id = secrets.token_urlsafe(32)
    row = LoginSession(
        user_id=user.id,
        session_hash=_hash(session_id),
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    session.flush()
    return Started(row, session_id)


def identify(session: Session, session_id: str, *, now: datetime, idle: timedelta) -> Identified:
    """Who holds ``session_id``, reading only; ``Unauthorized`` saying why if nobody does."""
    found = session.execute(
        select(LoginSession, User)
        .join(User, User.id == LoginSession.user_id)
        .where(LoginSession.session_hash == _hash(session_id))
    ).first()
    if found is None:
        raise Unauthorized("unknown or ended session; log in again")
    row, user = found
    if row.expires_at <= now:
        raise Unauthorized("the session has expired; log in again")
    if row.last_seen_at + idle <= now:
        raise Unauthorized("the session expired after inactivity; log in again")
    if user.disabled:
        raise Unauthorized("the account is disabled")
    principal = for_user(
        user_id=user.id,
        username=user.username,
        role=user.role,
        must_change_password=user.must_change_password,
        session_id=row.id,
        expires_at=row.expires_at,
    )
    due = now - row.last_seen_at >= min(_TOUCH_EVERY, idle / 4)
    return Identified(principal, row.csrf_token, due)


def touch(session: Session, session_row_id: int, *, now: datetime) -> None:
    """Record activity on a session (restarts its idle timeout)."""
    session.execute(
        sql_update(LoginSession).where(LoginSession.id == session_row_id).values(last_seen_at=now)
    )


def end(session: Session, session_row_id: int) -> None:
    """Log a session out (ending one that is already gone is harmless)."""
    session.execute(delete(LoginSession).where(LoginSession.id == session_row_id))


def end_all_for(session: Session, user_id: int, *, keep: int | None = None) -> int:
    """End every session of a user, except ``keep``; how many ended."""
    stmt = delete(LoginSession).where(LoginSession.user_id == user_id)
    if keep is not None:
        stmt = stmt.where(LoginSession.id != keep)
    ended = session.scalars(stmt.returning(LoginSession.id)).all()
    return len(ended)


def csrf_token(session: Session, session_row_id: int) -> str | None:
    """The CSRF token of a session, or ``None`` if it has ended."""
    return session.scalar(select(LoginSession.csrf_token).where(LoginSession.id == session_row_id))
