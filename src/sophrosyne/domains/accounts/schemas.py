"""Pydantic schemas of accounts: API tokens, users, logins and password changes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, StringConstraints


class Scope(StrEnum):
    """What a token may do: ``read``, ``write`` (implies read), ``ingest`` (alerts only)."""

    READ = "read"
    WRITE = "write"
    INGEST = "ingest"


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: Short enough that the audit actor "token:<name>" fits its column.
    name: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    scopes: Annotated[list[Scope], Field(min_length=1)] = Field(
        default_factory=lambda: [Scope.WRITE]
    )
    expires_at: datetime | None = None


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    #: The user who made it; null for a service token (made by the CLI).
    owner: str | None = None


class TokenCreated(TokenOut):
    """Returned once, at creation: the only time the secret is shown."""

    token: str


class Role(StrEnum):
    """A user's role: ``admin`` everything, ``operator`` day-to-day work, ``viewer`` read only
    (``roles.permissions`` spells it out)."""

    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"


USERNAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"


def _lowered(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


#: Usernames are case-insensitive: stored and looked up lowercased.
Username = Annotated[str, BeforeValidator(_lowered), StringConstraints(pattern=USERNAME_PATTERN)]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$"),
]


class UserCreate(BaseModel):
    """A new user. The password is checked against the policy by the service, which names
    the field ``password`` in its errors; it is masked in ``repr`` and never stored as is."""

    model_config = ConfigDict(extra="forbid")

    username: Username
    display_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    email: Email | None = None
    role: Role = Role.VIEWER
    password: SecretStr
    must_change_password: bool = False


class UserOut(BaseModel):
    """A user as shown to people and the API: never the password hash."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    email: str | None
    role: Role
    must_change_password: bool
    disabled: bool
    failed_logins: int
    locked_until: datetime | None
    created_at: datetime
    updated_at: datetime
    last_login_at: datetime | None


class UserPatch(BaseModel):
    """A change to a user made by an admin; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    disabled: bool | None = None
    display_name: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None
    ) = None
    email: Email | None = None


class LoginRequest(BaseModel):
    """Credentials of a login, as JSON or as a form. The password is masked in ``repr``."""

    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    password: Annotated[SecretStr, Field(min_length=1, max_length=4096)]


class PasswordChange(BaseModel):
    """A person changing their own password."""

    model_config = ConfigDict(extra="forbid")

    current_password: Annotated[SecretStr, Field(min_length=1, max_length=4096)]
    new_password: Annotated[SecretStr, Field(min_length=1, max_length=4096)]


class Whoami(BaseModel):
    """Who the caller is and what it may do. ``csrf_token`` (sessions only) goes into the
    ``X-CSRF-Token`` header of every change made with the session cookie."""

    kind: Annotated[str, Field(description="'session' or 'token'")]
    actor: str
    user: UserOut | None
    role: Role | None
    permissions: list[str]
    must_change_password: bool
    csrf_token: str | None = None
    expires_at: datetime | None = None
    token: str | None = Field(default=None, description="The token's name (tokens only).")
    scopes: list[str] = Field(default_factory=list)
