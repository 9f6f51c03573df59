"""``sophrosyne user …``: people who log in (create, list, set-role, disable, unlock), and the
initial admin that ``serve`` creates from ``SOPHROSYNE_INIT_ADMIN_PASSWORD`` at the first start.

The password is read from standard input, never from the command line: typed twice without
echo at a terminal, or piped in once (one trailing newline removed). Every change is audited,
never with the password. Exit 0 on success, 1 with a message, 2 for contradictory options.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from datetime import datetime

import typer
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.cli.common import fail, load_settings, open_db, transaction, utcnow
from sophrosyne.config import Settings
from sophrosyne.domains.accounts import users
from sophrosyne.domains.accounts.models import User
from sophrosyne.domains.accounts.schemas import Role, UserCreate
from sophrosyne.domains.audit import service as audit
from sophrosyne.errors import ValidationFailed
from sophrosyne.logging import get_logger

log = get_logger(__name__)

user_app = typer.Typer(no_args_is_help=True, help="Users: the people who log in.")


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Repeat the password: ") != first:
            raise fail("the passwords do not match")
        return first
    value = sys.stdin.read()
    value = value[:-2] if value.endswith("\r\n") else value.removesuffix("\n")
    if not value:
        raise fail("no password on standard input")
    return value


def _record(
    session: Session, action: str, username: str, detail: dict[str, object], now: datetime
) -> None:
    audit.record(
        session,
        actor="cli",
        action=action,
        object_type="user",
        object_id=username,
        detail=detail,
        now=now,
    )


@user_app.command("create")
def create(
    username: str = typer.Argument(..., help="Lowercase login name, e.g. 'alice'."),
    *,
    admin: bool = typer.Option(False, "--admin", help="Same as --role admin."),
    role: Role | None = typer.Option(None, "--role", help="admin, operator or viewer (default)."),
    display_name: str = typer.Option("", "--display-name", help="Shown instead of the name."),
    email: str | None = typer.Option(None, "--email"),
    must_change_password: bool = typer.Option(
        False, "--must-change-password", help="Ask for a new password at the first login."
    ),
) -> None:
    """Create a user; the password comes from standard input."""
    if admin and role not in (None, Role.ADMIN):
        raise fail("--admin contradicts --role " + str(role), code=2)
    chosen = Role.ADMIN if admin else (role or Role.VIEWER)
    settings = load_settings()
    password = _read_password()
    try:
        spec = UserCreate.model_validate(
            {
                "username": username,
                "display_name": display_name,
                "email": email,
                "role": chosen,
                "password": password,
                "must_change_password": must_change_password,
            }
        )
    except ValidationError as exc:
        # Each message names its field; a rejected value is never echoed back.
        raise fail(
            "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        ) from None
    now = utcnow()
    with transaction(settings) as session:
        user = users.create_user(session, spec, now=now)
        _record(
            session,
            "user.created",
            user.username,
            {"role": user.role, "must_change_password": user.must_change_password},
            now,
        )
    typer.echo(f"created {spec.username} ({chosen.value})")


@user_app.command("list")
def list_users() -> None:
    """List users: name, role, state, display name (never a password hash)."""
    settings = load_settings()
    engine, sessions = open_db(settings)
    now = utcnow()
    try:
        with sessions() as session:
            for u in users.list_all(session):
                if u.disabled:
                    state = "disabled"
                elif users.is_locked(u, now=now):
                    assert u.locked_until is not None
                    state = f"locked until {u.locked_until.isoformat(timespec='seconds')}"
                else:
                    state = "active"
                if u.must_change_password:
                    state += ", must change password"
                typer.echo(f"{u.username}\t{u.role}\t{state}\t{u.display_name}")
    finally:
        engine.dispose()


def _change(
    username: str, action: str, apply: Callable[[Session, User, datetime], dict[str, object]]
) -> str:
    """Apply one change to the user ``username`` and audit it, in one transaction."""
    settings = load_settings()
    now = utcnow()
    with transaction(settings) as session:
        user = users.get_by_username(session, username)
        detail = apply(session, user, now)
        _record(session, action, user.username, detail, now)
        return user.username


@user_app.command("set-role")
def set_role(username: str, role: Role) -> None:
    """Give a user a role (admin, operator, viewer); the last active admin keeps its role."""

    def apply(session: Session, user: User, now: datetime) -> dict[str, object]:
        before = user.role
        users.set_role(session, user, role, now=now)
        return {"from": before, "to": role.value}

    name = _change(username, "user.role_set", apply)
    typer.echo(f"{name} is now {role.value}")


@user_app.command("disable")
def disable(username: str) -> None:
    """Refuse every future login of a user (the last active admin cannot be disabled)."""

    def apply(session: Session, user: User, now: datetime) -> dict[str, object]:
        users.disable(session, user, now=now)
        return {}

    typer.echo(f"disabled {_change(username, 'user.disabled', apply)}")


@user_app.command("unlock")
def unlock(username: str) -> None:
    """Lift a lockout after too many wrong passwords, and forget the failed attempts."""

    def apply(session: Session, user: User, now: datetime) -> dict[str, object]:
        detail: dict[str, object] = {"failed_logins": user.failed_logins}
        users.unlock(session, user, now=now)
        return detail

    typer.echo(f"unlocked {_change(username, 'user.unlocked', apply)}")


def initial_admin_secret(settings: Settings) -> str | None:
    """The initial admin's password from the settings (the variable, else the file)."""
    if settings.init_admin_password is not None:
        return settings.init_admin_password.get_secret_value() or None
    path = settings.init_admin_password_file
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(
            f"cannot read SOPHROSYNE_INIT_ADMIN_PASSWORD_FILE {path}: {exc.strerror}"
        ) from None
    return text.removesuffix("\n").removesuffix("\r") or None


def ensure_admin_at_start(settings: Settings, sessions: sessionmaker[Session]) -> bool:
    """At ``serve`` start: while no user exists, create ``admin`` (must change its password
    at the first login) from the init secret, audited. Whether it was created. Without a
    secret and without users, warn how to make the first one; a secret that breaks the
    password policy stops the start."""
    secret = initial_admin_secret(settings)
    now = utcnow()
    with sessions() as session:
        try:
            created = users.ensure_initial_admin(session, init_secret=secret, now=now)
        except ValidationFailed as exc:
            raise fail(
                f"SOPHROSYNE_INIT_ADMIN_PASSWORD: {exc.errors[0].msg}; not starting"
            ) from None
        if created:
            audit.record(
                session,
                actor="system:init",
                action="user.created",
                object_type="user",
                object_id=users.INITIAL_ADMIN,
                detail={"role": "admin", "must_change_password": True, "initial": True},
                now=now,
            )
            session.commit()
            log.info("auth.initial_admin_created", username=users.INITIAL_ADMIN)
            return True
        anyone = users.list_all(session)
    if not anyone:
        log.warning(
            "auth.no_users",
            hint="set SOPHROSYNE_INIT_ADMIN_PASSWORD (or _FILE) and restart, "
            "or run 'sophrosyne user create NAME --admin'",
        )
    elif secret:
        log.info("auth.init_admin_password_unused", reason="users exist; remove the setting")
    return False
