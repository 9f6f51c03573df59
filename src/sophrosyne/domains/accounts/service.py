"""API tokens: create (secret shown once), verify, revoke, list.

Tokens are 256-bit random secrets, so a single SHA-256 is the right hash: unlike passwords
they cannot be guessed, and verification must stay cheap on the ingest path.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from sophrosyne.domains.accounts.models import ApiToken
from sophrosyne.domains.accounts.schemas import Scope, TokenCreate
from sophrosyne.errors import Conflict, NotFound, Unauthorized

TOKEN_PREFIX = "sph_"  # noqa: S105 - a public marker, not a secret
#: last_used_at is written at most this often, to keep writes off the hot path.
_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """Who is calling, as far as authorisation is concerned."""

    name: str
    scopes: frozenset[str]
    expires_at: datetime | None = None

    def allows(self, needed: Scope) -> bool:
        if needed == Scope.READ:
            return bool(self.scopes & {Scope.READ, Scope.WRITE})
        return needed.value in self.scopes

    @property
    def actor(self) -> str:
        return f"token:{self.name}"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create(session: Session, req: TokenCreate, *, now: datetime) -> tuple[ApiToken, str]:
    if session.scalar(select(ApiToken.id).where(ApiToken.name == req.name)) is not None:
        raise Conflict(f"a token named {req.name!r} already exists")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=req.name,
        token_hash=_hash(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        scopes=sorted({s.value for s in req.scopes}),
        created_at=now,
        expires_at=req.expires_at,
    )
    session.add(token)
    session.flush()
    return token, secret


def identify(session: Session, secret: str, *, now: datetime) -> tuple[Principal, bool]:
    """Who holds ``secret``, reading only; the flag says ``last_used_at`` is due a refresh
    (see ``touch``), so most requests never need a write transaction to authenticate."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(secret)))
    if token is None:
        raise Unauthorized("unknown token")
    if token.revoked_at is not None:
        raise Unauthorized("token revoked")
    if token.expires_at is not None and token.expires_at <= now:
        raise Unauthorized("token expired")
    due = token.last_used_at is None or now - token.last_used_at > _TOUCH_EVERY
    principal = Principal(
        name=token.name, scopes=frozenset(token.scopes), expires_at=token.expires_at
    )
    return principal, due


def touch(session: Session, name: str, *, now: datetime) -> None:
    """Record that the token ``name`` was used at ``now``."""
    session.execute(sql_update(ApiToken).where(ApiToken.name == name).values(last_used_at=now))


def verify(session: Session, secret: str, *, now: datetime) -> Principal:
    """``identify`` and, when due, ``touch`` in the caller's transaction."""
    principal, due = identify(session, secret, now=now)
    if due:
        touch(session, principal.name, now=now)
    return principal


def revoke(session: Session, name: str, *, now: datetime) -> ApiToken:
    token = session.scalar(select(ApiToken).where(ApiToken.name == name))
    if token is None:
        raise NotFound("token", name)
    if token.revoked_at is None:
        token.revoked_at = now
    return token


def list_all(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.name)))
