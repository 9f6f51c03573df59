"""Users: create, authenticate (with lockout), change password, role, disable, unlock.

Services never commit. :func:`authenticate` is the exception to "an error means roll back":
when it raises ``Unauthorized`` it has already recorded the failed attempt (counter, lockout)
in the session, and the caller must commit that, or an attacker gets unlimited guesses.

Every refusal of :func:`authenticate` carries the same message, and an unknown user costs one
argon2 verification like a known one, so neither the reply nor its timing tells whether a
username exists, is locked or is disabled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sophrosyne.domains.accounts import passwords
from sophrosyne.domains.accounts.models import User
from sophrosyne.domains.accounts.schemas import Role, UserCreate, UserOut
from sophrosyne.errors import Conflict, NotFound, Unauthorized, ValidationFailed

#: The one message of every failed login, whatever the reason.
LOGIN_FAILED = "invalid username or password"
INITIAL_ADMIN = "admin"
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)

__all__ = [
    "INITIAL_ADMIN",
    "LOCKOUT",
    "LOGIN_FAILED",
    "MAX_FAILURES",
    "Attempt",
    "authenticate",
    "change_password",
    "check_password",
    "create_user",
    "disable",
    "enable",
    "ensure_initial_admin",
    "find_by_username",
    "get_by_username",
    "is_locked",
    "list_all",
    "set_role",
    "settle",
    "to_out",
    "unlock",
    "update_profile",
]


def _normalise(username: str) -> str:
    return username.strip().lower()


def find_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == _normalise(username)))


def get_by_username(session: Session, username: str) -> User:
    user = find_by_username(session, username)
    if user is None:
        raise NotFound("user", _normalise(username))
    return user


def list_all(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def to_out(user: User) -> UserOut:
    return UserOut.model_validate(user)


def is_locked(user: User, *, now: datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


def create_user(session: Session, spec: UserCreate, *, now: datetime) -> User:
    """A new user; ``ValidationFailed`` naming ``password`` if it breaks the policy,
    ``Conflict`` if the username is taken."""
    password = spec.password.get_secret_value()
    passwords.check_policy(password, username=spec.username)
    if find_by_username(session, spec.username) is not None:
        raise Conflict(f"a user named {spec.username!r} already exists")
    user = User(
        username=spec.username,
        display_name=spec.display_name or spec.username,
        email=spec.email,
        role=spec.role.value,
        password_hash=passwords.hash_password(password),
        must_change_password=spec.must_change_password,
        failed_logins=0,
        locked_until=None,
        disabled=False,
        created_at=now,
        updated_at=now,
        last_login_at=None,
    )
    session.add(user)
    session.flush()
    return user


@dataclass(frozen=True)
class Attempt:
    """A password checked against a user's stored hash, not yet settled (see :func:`settle`).
    Never holds the password."""

    username: str
    user_id: int | None
    #: The stored hash the password was checked against: if it changed meanwhile (the
    #: password was changed), the outcome no longer means anything.
    checked_hash: str | None
    ok: bool
    rehash: str | None = None


def check_password(session: Session, username: str, password: str) -> Attempt:
    """Verify ``password`` for ``username``, reading only: the slow argon2 part of a login,
    done outside the write transaction so it never holds SQLite's writer (see ``settle``).

    An unknown user costs one verification like a known one."""
    user = find_by_username(session, username) if len(password) <= passwords.MAX_LENGTH else None
    if user is None:
        passwords.dummy_verify(password[: passwords.MAX_LENGTH])
        return Attempt(_normalise(username), None, None, ok=False)
    result = passwords.verify_password(user.password_hash, password)
    return Attempt(user.username, user.id, user.password_hash, result.ok, result.rehash)


def settle(
    session: Session,
    attempt: Attempt,
    *,
    now: datetime,
    max_failures: int = MAX_FAILURES,
    lockout: timedelta = LOCKOUT,
) -> User:
    """Record the outcome of ``attempt``: the user, or ``Unauthorized(LOGIN_FAILED)``.

    A wrong password counts a failure; at ``max_failures`` failures in a row the account is
    locked for ``lockout`` (and each further failure after that locks it again). While locked
    or disabled, even the right password is refused. Success resets the counter, records
    ``last_login_at`` and upgrades the stored hash if the hashing parameters changed.
    Commit the session after a refusal too (see the module docstring)."""
    user = session.get(User, attempt.user_id) if attempt.user_id is not None else None
    if user is None or user.password_hash != attempt.checked_hash:
        raise Unauthorized(LOGIN_FAILED)
    if user.disabled or is_locked(user, now=now):
        raise Unauthorized(LOGIN_FAILED)
    if not attempt.ok:
        user.failed_logins += 1
        if user.failed_logins >= max_failures:
            user.locked_until = now + lockout
        user.updated_at = now
        session.flush()
        raise Unauthorized(LOGIN_FAILED)
    if attempt.rehash is not None:
        user.password_hash = attempt.rehash
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    session.flush()
    return user


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    now: datetime,
    max_failures: int = MAX_FAILURES,
    lockout: timedelta = LOCKOUT,
) -> User:
    """:func:`check_password` and :func:`settle` in one session: the user whose credentials
    these are, or ``Unauthorized(LOGIN_FAILED)`` with the failure recorded (commit it)."""
    attempt = check_password(session, username, password)
    return settle(session, attempt, now=now, max_failures=max_failures, lockout=lockout)


def change_password(
    session: Session, user: User, old: str, new: str, *, now: datetime, field: str = "password"
) -> User:
    """Set a new password after checking the current one (``Unauthorized`` if wrong, not
    counted as a login failure, nothing changed) and the policy (``ValidationFailed`` naming
    ``field``)."""
    if not passwords.verify_password(user.password_hash, old[: passwords.MAX_LENGTH]).ok:
        raise Unauthorized("the current password is wrong")
    passwords.check_policy(new, username=user.username, field=field)
    if new == old:
        raise ValidationFailed.single((field,), "the new password must differ from the current one")
    user.password_hash = passwords.hash_password(new)
    user.must_change_password = False
    user.updated_at = now
    session.flush()
    return user


def _active_admins_besides(session: Session, user: User) -> int:
    stmt = select(func.count(User.id)).where(
        User.role == Role.ADMIN.value, User.disabled.is_(False), User.id != user.id
    )
    return session.scalar(stmt) or 0


def _keep_an_admin(session: Session, user: User, change: str) -> None:
    is_active_admin = user.role == Role.ADMIN.value and not user.disabled
    if is_active_admin and _active_admins_besides(session, user) == 0:
        raise Conflict(f"cannot {change} {user.username!r}: it is the last active admin")


def set_role(session: Session, user: User, role: Role, *, now: datetime) -> User:
    """Give ``user`` ``role``; ``Conflict`` if that would leave no active admin."""
    if role != Role.ADMIN:
        _keep_an_admin(session, user, f"make {role.value}")
    user.role = role.value
    user.updated_at = now
    session.flush()
    return user


def disable(session: Session, user: User, *, now: datetime) -> User:
    """Refuse every future login of ``user``; ``Conflict`` for the last active admin."""
    _keep_an_admin(session, user, "disable")
    user.disabled = True
    user.updated_at = now
    session.flush()
    return user


def enable(session: Session, user: User, *, now: datetime) -> User:
    user.disabled = False
    user.updated_at = now
    session.flush()
    return user


def update_profile(
    session: Session,
    user: User,
    *,
    display_name: str | None = None,
    email: str | None = None,
    now: datetime,
) -> dict[str, str]:
    """Set the fields given (``None``: unchanged); the fields that changed, with new values."""
    changed: dict[str, str] = {}
    if display_name is not None and display_name != user.display_name:
        user.display_name = changed["display_name"] = display_name or user.username
    if email is not None and email != user.email:
        user.email = changed["email"] = email
    if changed:
        user.updated_at = now
        session.flush()
    return changed


def unlock(session: Session, user: User, *, now: datetime) -> User:
    """Lift a lockout and forget failed attempts."""
    user.locked_until = None
    user.failed_logins = 0
    user.updated_at = now
    session.flush()
    return user


def ensure_initial_admin(session: Session, *, init_secret: str | None, now: datetime) -> bool:
    """Create the user ``admin`` (role admin, must change its password at first login) with
    ``init_secret`` as password, only while no user exists at all. Whether it was created.

    Without a secret nothing happens. The secret must meet the policy (``ValidationFailed``
    naming ``password``). Safe to call from several processes at once: a concurrent creation
    wins and this one returns ``False``."""
    if not init_secret or session.scalar(select(User.id).limit(1)) is not None:
        return False
    spec = UserCreate.model_validate(
        {
            "username": INITIAL_ADMIN,
            "display_name": "Administrator",
            "role": Role.ADMIN,
            "password": init_secret,
            "must_change_password": True,
        }
    )
    try:
        with session.begin_nested():
            create_user(session, spec, now=now)
    except IntegrityError:
        return False
    return True
