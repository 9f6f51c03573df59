"""API tokens: create (secret shown once), verify, revoke, list.

Tokens are 256-bit random secrets, so a single SHA-256 is the right hash: unlike passwords
they cannot be guessed, and verification must stay cheap on the ingest path.

A token made by a user (``owner``) can have no scope wider than the owner's role allows
(``roles.token_scopes``: a viewer's tokens are ``read`` only), acts within the owner's role
when used, stops working when the owner is disabled, and always expires: after
``Lifetime.default`` unless asked otherwise, after ``Lifetime.longest`` at most. A service token
(no owner, made by the CLI) has only its scopes, and expires only if asked to.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from sophrosyne.domains.accounts import roles
from sophrosyne.domains.accounts.models import ApiToken, User
from sophrosyne.domains.accounts.principal import Principal, for_token
from sophrosyne.domains.accounts.schemas import TokenCreate, TokenOut
from sophrosyne.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed

__all__ = [
    "TOKEN_PREFIX",
    "Lifetime",
    "Principal",
    "create",
    "get",
    "identify",
    "list_all",
    "listing",
    "revoke",
    "to_out",
    "touch",
    "verify",
]

TOKEN_PREFIX = "sph_"  # noqa: S105 - a public marker, not a secret
#: last_used_at is written at most this often, to keep writes off the hot path.
_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Lifetime:
    """How long a user's tokens live: ``default`` when no expiry is given, ``longest`` at most."""

    default: timedelta
    longest: timedelta


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _expiry(
    req: TokenCreate, owner: User | None, lifetime: Lifetime | None, now: datetime
) -> datetime | None:
    if req.expires_at is not None and req.expires_at <= now:
        raise ValidationFailed.single(("expires_at",), "must be in the future")
    if owner is None or lifetime is None:
        return req.expires_at
    expires = req.expires_at or now + lifetime.default
    if expires > now + lifetime.longest:
        raise ValidationFailed.single(
            ("expires_at",),
            f"a user's token may live {lifetime.longest.days} days at most "
            f"(until {(now + lifetime.longest).isoformat(timespec='seconds')})",
        )
    return expires


def _check_scopes(req: TokenCreate, owner: User) -> None:
    ceiling = roles.token_scopes(owner.role)
    wider = sorted({s.value for s in req.scopes} - ceiling)
    if wider:
        allowed = ", ".join(sorted(ceiling))
        raise Forbidden(
            f"the role {owner.role} allows tokens with scopes {allowed} only; "
            f"{', '.join(wider)} is wider than {owner.username!r} may have"
        )


def create(
    session: Session,
    req: TokenCreate,
    *,
    now: datetime,
    owner: User | None = None,
    lifetime: Lifetime | None = None,
) -> tuple[ApiToken, str]:
    """A new token and its secret. With an ``owner``, the scopes must fit the owner's role
    (``Forbidden``) and the expiry follows ``lifetime`` (``ValidationFailed`` at
    ``expires_at``); names are unique across all tokens (``Conflict``)."""
    if owner is not None:
        _check_scopes(req, owner)
    expires_at = _expiry(req, owner, lifetime, now)
    if session.scalar(select(ApiToken.id).where(ApiToken.name == req.name)) is not None:
        raise Conflict(f"a token named {req.name!r} already exists")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=req.name,
        token_hash=_hash(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        scopes=sorted({s.value for s in req.scopes}),
        created_at=now,
        expires_at=expires_at,
        user_id=owner.id if owner is not None else None,
    )
    session.add(token)
    session.flush()
    return token, secret


def identify(session: Session, secret: str, *, now: datetime) -> tuple[Principal, bool]:
    """Who holds ``secret``, reading only; the flag says ``last_used_at`` is due a refresh
    (see ``touch``), so most requests never need a write transaction to authenticate."""
    found = session.execute(
        select(ApiToken, User)
        .outerjoin(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == _hash(secret))
    ).first()
    if found is None:
        raise Unauthorized("unknown token")
    token, owner = found
    if token.revoked_at is not None:
        raise Unauthorized("token revoked")
    if token.expires_at is not None and token.expires_at <= now:
        raise Unauthorized("token expired")
    if owner is not None and owner.disabled:
        raise Unauthorized(f"the token's owner {owner.username!r} is disabled")
    due = token.last_used_at is None or now - token.last_used_at > _TOUCH_EVERY
    principal = for_token(
        token.name,
        token.scopes,
        expires_at=token.expires_at,
        owner_id=owner.id if owner else None,
        owner_name=owner.username if owner else None,
        owner_role=owner.role if owner else None,
        owner_must_change_password=owner.must_change_password if owner else False,
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


def get(session: Session, name: str) -> ApiToken:
    token = session.scalar(select(ApiToken).where(ApiToken.name == name))
    if token is None:
        raise NotFound("token", name)
    return token


def revoke(session: Session, name: str, *, now: datetime) -> ApiToken:
    token = get(session, name)
    if token.revoked_at is None:
        token.revoked_at = now
    return token


def list_all(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.name)))


def listing(session: Session, *, owner_id: int | None = None) -> list[TokenOut]:
    """Tokens as shown to people, with their owners' names: every token, or only those of
    the user ``owner_id``."""
    stmt = (
        select(ApiToken, User.username)
        .outerjoin(User, User.id == ApiToken.user_id)
        .order_by(ApiToken.name)
    )
    if owner_id is not None:
        stmt = stmt.where(ApiToken.user_id == owner_id)
    return [
        TokenOut.model_validate(token).model_copy(update={"owner": owner})
        for token, owner in session.execute(stmt)
    ]


def to_out(session: Session, token: ApiToken) -> TokenOut:
    """One token as shown to people, with its owner's name."""
    owner = session.get(User, token.user_id) if token.user_id is not None else None
    return TokenOut.model_validate(token).model_copy(
        update={"owner": owner.username if owner else None}
    )


def identities(session: Session, principal: Principal) -> frozenset[str]:
    """Every name the person behind ``principal`` acts under: ``user:NAME`` and each of their
    tokens, or the token alone for a service token. Used where "the same person" matters
    (a requester may not approve their own run, whichever credential they use)."""
    names = {principal.actor}
    if principal.user_id is not None:
        names.add(f"user:{principal.username or principal.name}")
        owned = session.scalars(select(ApiToken.name).where(ApiToken.user_id == principal.user_id))
        names.update(f"token:{n}" for n in owned)
    return frozenset(names)
