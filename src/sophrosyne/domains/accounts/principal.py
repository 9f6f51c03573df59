"""The principal: who is calling, as far as authorisation is concerned, and what it may do.

A principal is either a person logged in through a session, or an API token (owned by a
person, or a service token without an owner). Its ``permissions`` are worked out once, when it
is identified, by :func:`for_token` or :func:`for_user`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sophrosyne.domains.accounts import roles
from sophrosyne.domains.accounts.roles import Permission
from sophrosyne.domains.accounts.schemas import Scope

__all__ = ["Principal", "for_token", "for_user"]


@dataclass(frozen=True)
class Principal:
    """Who is calling. ``name`` is the token's name or the user's username."""

    name: str
    #: The token's scopes; empty for a session.
    scopes: frozenset[str] = frozenset()
    #: When the credentials stop working (a token's expiry, a session's absolute end).
    expires_at: datetime | None = None
    permissions: frozenset[Permission] = frozenset()
    kind: Literal["token", "session"] = "token"
    #: The person: the session's user or the token's owner (None for a service token).
    user_id: int | None = None
    username: str | None = None
    role: str | None = None
    must_change_password: bool = False
    #: The login session's id (sessions only).
    session_id: int | None = None

    def allows(self, needed: Scope) -> bool:
        """Whether the token's scopes include ``needed`` (``write`` implies ``read``)."""
        if needed == Scope.READ:
            return bool(self.scopes & {Scope.READ, Scope.WRITE})
        return needed.value in self.scopes

    def can(self, needed: Permission) -> bool:
        return needed in self.permissions

    @property
    def actor(self) -> str:
        """How the audit log names this caller: ``user:NAME`` or ``token:NAME``."""
        return f"user:{self.name}" if self.kind == "session" else f"token:{self.name}"

    def describe(self) -> str:
        """A short phrase for error messages, e.g. ``the token 'ci' (scopes: read)``."""
        if self.kind == "session":
            return f"user {self.name!r} (role {self.role})"
        owner = f", owned by {self.username!r} (role {self.role})" if self.username else ""
        return f"the token {self.name!r} (scopes: {', '.join(sorted(self.scopes))}{owner})"


def for_token(
    name: str,
    scopes: Iterable[str],
    *,
    expires_at: datetime | None,
    owner_id: int | None = None,
    owner_name: str | None = None,
    owner_role: str | None = None,
    owner_must_change_password: bool = False,
) -> Principal:
    """A token's principal: its scopes' permissions, within its owner's role if it has one."""
    scopes = frozenset(scopes)
    allowed = roles.scope_permissions(scopes)
    if owner_role is not None:
        allowed &= roles.permissions(owner_role)
    return Principal(
        name=name,
        scopes=scopes,
        expires_at=expires_at,
        permissions=allowed,
        kind="token",
        user_id=owner_id,
        username=owner_name,
        role=owner_role,
        must_change_password=owner_must_change_password,
    )


def for_user(
    *,
    user_id: int,
    username: str,
    role: str,
    must_change_password: bool,
    session_id: int | None,
    expires_at: datetime | None,
) -> Principal:
    """A logged-in person's principal: their role's permissions."""
    return Principal(
        name=username,
        expires_at=expires_at,
        permissions=roles.permissions(role),
        kind="session",
        user_id=user_id,
        username=username,
        role=role,
        must_change_password=must_change_password,
        session_id=session_id,
    )
