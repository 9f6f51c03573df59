"""Login sessions: only a hash of the session id is stored; absolute and idle deadlines; a
disabled user's sessions stop; ending one or all of a user's sessions."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from sophrosyne.domains.accounts import sessions, users
from sophrosyne.domains.accounts.models import User
from sophrosyne.domains.accounts.roles import Permission
from sophrosyne.domains.accounts.schemas import Role, UserCreate
from sophrosyne.errors import Unauthorized

LIFETIME = timedelta(hours=12)
IDLE = timedelta(hours=1)


def _user(session: Session, now: datetime, name: str = "alice", role: str = "operator") -> User:
    spec = UserCreate.model_validate(
        {"username": name, "password": "correct horse battery", "role": role}
    )
    user = users.create_user(session, spec, now=now)
    session.commit()
    return user


def _start(session: Session, user: User, now: datetime, **kw: object) -> sessions.Started:
    started = sessions.start(session, user, now=now, lifetime=LIFETIME, idle=IDLE, **kw)  # type: ignore[arg-type]
    session.commit()
    return started


def test_identify_gives_the_user_and_stores_only_a_hash(session: Session, now: datetime) -> None:
    user = _user(session, now)
    started = _start(session, user, now)
    found = sessions.identify(session, started.session_id, now=now, idle=IDLE)
    who = found.principal
    assert (who.kind, who.name, who.role, who.user_id) == ("session", "alice", "operator", user.id)
    assert who.actor == "user:alice"
    assert who.can(Permission.RUN) and not who.can(Permission.MANAGE_USERS)
    assert who.expires_at == now + LIFETIME
    assert found.csrf_token == started.row.csrf_token and len(found.csrf_token) >= 40
    assert not found.due
    row = session.execute(text("SELECT * FROM user_sessions")).mappings().one()
    for column, value in row.items():
        assert started.session_id not in str(value), f"session id found in {column}"


@pytest.mark.parametrize("wrong", ["", "nope", "x" * 43])
def test_unknown_session_is_unauthorized(session: Session, now: datetime, wrong: str) -> None:
    _start(session, _user(session, now), now)
    with pytest.raises(Unauthorized, match="log in again"):
        sessions.identify(session, wrong, now=now, idle=IDLE)


def test_absolute_lifetime(session: Session, now: datetime) -> None:
    started = _start(session, _user(session, now), now)
    # Kept busy, it still ends at its absolute deadline.
    for minutes in range(0, 12 * 60, 30):
        at = now + timedelta(minutes=minutes)
        sessions.identify(session, started.session_id, now=at, idle=IDLE)
        sessions.touch(session, started.row.id, now=at)
        session.commit()
    with pytest.raises(Unauthorized, match="expired"):
        sessions.identify(session, started.session_id, now=now + LIFETIME, idle=IDLE)


def test_idle_timeout_counts_from_the_last_touch(session: Session, now: datetime) -> None:
    started = _start(session, _user(session, now), now)
    later = now + timedelta(minutes=50)
    found = sessions.identify(session, started.session_id, now=later, idle=IDLE)
    assert found.due
    sessions.touch(session, started.row.id, now=later)
    session.commit()
    sessions.identify(
        session, started.session_id, now=later + IDLE - timedelta(seconds=1), idle=IDLE
    )
    with pytest.raises(Unauthorized, match="inactivity"):
        sessions.identify(session, started.session_id, now=later + IDLE, idle=IDLE)


def test_touch_is_due_at_most_every_minute_or_quarter_idle(session: Session, now: datetime) -> None:
    started = _start(session, _user(session, now), now)
    sid = started.session_id
    assert not sessions.identify(session, sid, now=now + timedelta(seconds=59), idle=IDLE).due
    assert sessions.identify(session, sid, now=now + timedelta(seconds=60), idle=IDLE).due
    short = timedelta(seconds=20)
    assert sessions.identify(session, sid, now=now + timedelta(seconds=5), idle=short).due


def test_disabled_user_and_role_changes(session: Session, now: datetime) -> None:
    user = _user(session, now, role="viewer")
    _user(session, now, name="root", role="admin")
    started = _start(session, user, now)
    users.set_role(session, user, Role.OPERATOR, now=now)
    session.commit()
    found = sessions.identify(session, started.session_id, now=now, idle=IDLE)
    assert found.principal.role == "operator"
    users.disable(session, user, now=now)
    session.commit()
    with pytest.raises(Unauthorized, match="disabled"):
        sessions.identify(session, started.session_id, now=now, idle=IDLE)


def test_login_rotates_and_purges(session: Session, now: datetime) -> None:
    user = _user(session, now)
    first = _start(session, user, now)
    stale = _start(session, user, now - LIFETIME)
    second = _start(session, user, now, replaces=first.session_id)
    assert second.session_id != first.session_id
    for gone in (first, stale):
        with pytest.raises(Unauthorized):
            sessions.identify(session, gone.session_id, now=now, idle=IDLE)
    assert session.execute(text("SELECT count(*) FROM user_sessions")).scalar_one() == 1


def test_end_and_end_all_for(session: Session, now: datetime) -> None:
    alice, bob = _user(session, now), _user(session, now, name="bob")
    a1, a2, a3 = (_start(session, alice, now) for _ in range(3))
    b1 = _start(session, bob, now)
    sessions.end(session, a1.row.id)
    assert sessions.end_all_for(session, alice.id, keep=a2.row.id) == 1
    session.commit()
    assert sessions.csrf_token(session, a2.row.id) == a2.row.csrf_token
    assert sessions.csrf_token(session, a3.row.id) is None
    for gone in (a1, a3):
        with pytest.raises(Unauthorized):
            sessions.identify(session, gone.session_id, now=now, idle=IDLE)
    sessions.identify(session, b1.session_id, now=now, idle=IDLE)
    assert sessions.end_all_for(session, alice.id) == 1
