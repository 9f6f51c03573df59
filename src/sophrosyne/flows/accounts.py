"""People and API tokens changed by an admin or by their owner: each change with its audit
entry, in the caller's transaction. The API (``api.users``, ``api.tokens``) and the web pages
both come through here, so a change made on a page is recorded exactly like one made with the
API (``via`` says which). Passwords, token secrets and hashes never reach the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from sophrosyne.domains.accounts import service as tokens
from sophrosyne.domains.accounts import sessions, users
from sophrosyne.domains.accounts.models import User
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.accounts.roles import Permission
from sophrosyne.domains.accounts.schemas import (
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserCreate,
    UserOut,
    UserPatch,
)
from sophrosyne.domains.audit import service as audit
from sophrosyne.errors import Forbidden


def _record(
    session: Session,
    principal: Principal,
    action: str,
    *,
    object_type: str,
    name: str,
    detail: dict[str, Any],
    now: datetime,
    via: str,
) -> None:
    audit.record(
        session,
        actor=principal.actor,
        action=action,
        object_type=object_type,
        object_id=name,
        detail={**detail, "via": via},
        now=now,
    )


# --- users ---------------------------------------------------------------------------------


def create_user(
    session: Session, spec: UserCreate, principal: Principal, *, now: datetime, via: str = "api"
) -> UserOut:
    """A new user who must change the password at the first login, unless the spec says
    ``must_change_password: false`` explicitly."""
    if "must_change_password" not in spec.model_fields_set:
        spec = spec.model_copy(update={"must_change_password": True})
    user = users.create_user(session, spec, now=now)
    detail = {"role": user.role, "must_change_password": user.must_change_password}
    _record(
        session,
        principal,
        "user.created",
        object_type="user",
        name=user.username,
        detail=detail,
        now=now,
        via=via,
    )
    return users.to_out(user)


def update_user(
    session: Session,
    username: str,
    patch: UserPatch,
    principal: Principal,
    *,
    now: datetime,
    via: str = "api",
) -> UserOut:
    """Apply the fields given in ``patch``; disabling ends the user's sessions. The caller
    clears the token cache afterwards (a role or a disabled owner changes what tokens do)."""
    user = users.get_by_username(session, username)
    name = user.username

    def record(action: str, detail: dict[str, Any]) -> None:
        _record(
            session,
            principal,
            action,
            object_type="user",
            name=name,
            detail=detail,
            now=now,
            via=via,
        )

    if patch.role is not None and patch.role.value != user.role:
        before = user.role
        users.set_role(session, user, patch.role, now=now)
        record("user.role_set", {"from": before, "to": patch.role.value})
    if patch.disabled is True and not user.disabled:
        users.disable(session, user, now=now)
        record("user.disabled", {"sessions_ended": sessions.end_all_for(session, user.id)})
    elif patch.disabled is False and user.disabled:
        users.enable(session, user, now=now)
        record("user.enabled", {})
    changed = users.update_profile(
        session, user, display_name=patch.display_name, email=patch.email, now=now
    )
    if changed:
        record("user.updated", changed)
    return users.to_out(user)


def unlock_user(
    session: Session, username: str, principal: Principal, *, now: datetime, via: str = "api"
) -> UserOut:
    """Lift a lockout and forget the failed attempts."""
    user = users.get_by_username(session, username)
    detail = {"failed_logins": user.failed_logins}
    users.unlock(session, user, now=now)
    _record(
        session,
        principal,
        "user.unlocked",
        object_type="user",
        name=user.username,
        detail=detail,
        now=now,
        via=via,
    )
    return users.to_out(user)


# --- API tokens ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Lifetime:
    """How long a person's token lives unless asked, and at most (from the settings)."""

    default_days: int
    max_days: int

    def of(self) -> tokens.Lifetime:
        return tokens.Lifetime(
            default=timedelta(days=self.default_days), longest=timedelta(days=self.max_days)
        )


def visible_tokens(session: Session, principal: Principal) -> list[TokenOut]:
    """One's own tokens; every token with ``manage_tokens``. Never a secret or a hash."""
    if principal.can(Permission.MANAGE_TOKENS):
        return tokens.listing(session)
    if principal.user_id is None:
        return []
    return tokens.listing(session, owner_id=principal.user_id)


def create_token(
    session: Session,
    req: TokenCreate,
    principal: Principal,
    *,
    lifetime: Lifetime,
    now: datetime,
    via: str = "api",
) -> TokenCreated:
    """A token owned by the caller (a service token when the caller is one); ``Forbidden``
    for scopes wider than the owner's role allows: the caller audits that refusal after the
    rollback. The reply carries the secret: the only time it exists outside a hash."""
    owner = session.get(User, principal.user_id) if principal.user_id is not None else None
    token, secret = tokens.create(session, req, now=now, owner=owner, lifetime=lifetime.of())
    detail = {
        "scopes": list(token.scopes),
        "prefix": token.prefix,
        "owner": owner.username if owner else None,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
    }
    _record(
        session,
        principal,
        "token.created",
        object_type="token",
        name=token.name,
        detail=detail,
        now=now,
        via=via,
    )
    return TokenCreated(**tokens.to_out(session, token).model_dump(), token=secret)


def revoke_token(
    session: Session, name: str, principal: Principal, *, now: datetime, via: str = "api"
) -> TokenOut:
    """Revoke one's own token, or anyone's with ``manage_tokens`` (else ``Forbidden``, which
    the caller audits after the rollback). Revoking twice is harmless."""
    token = tokens.get(session, name)
    own = token.user_id is not None and token.user_id == principal.user_id
    if not own and not principal.can(Permission.MANAGE_TOKENS):
        raise Forbidden(
            "permission 'manage_tokens' is needed to revoke another user's token; "
            f"{principal.describe()} does not have it"
        )
    tokens.revoke(session, name, now=now)
    _record(
        session,
        principal,
        "token.revoked",
        object_type="token",
        name=token.name,
        detail={},
        now=now,
        via=via,
    )
    return tokens.to_out(session, token)
