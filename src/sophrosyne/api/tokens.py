"""API tokens: list, create (the secret is shown once), revoke. Only hashes are stored, and no
route ever returns one.

Everyone manages their own tokens (activity ``tokens.own``); a token made here belongs to the
caller, may have no scope wider than the caller's role allows, acts within that role, and
expires (``SOPHROSYNE_TOKEN_DEFAULT_DAYS`` unless asked, ``SOPHROSYNE_TOKEN_MAX_DAYS`` at
most). Seeing and revoking other people's tokens, and service tokens, needs the permission
``manage_tokens`` (admins; also service tokens with scope ``write``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Request, status

from sophrosyne.api import access
from sophrosyne.api.deps import State, as_utc, permit
from sophrosyne.api.errors import ERROR_RESPONSES
from sophrosyne.api.state import AppState
from sophrosyne.config import Settings
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.accounts.schemas import TokenCreate, TokenCreated, TokenOut
from sophrosyne.errors import Forbidden
from sophrosyne.flows import accounts

router = APIRouter(prefix="/tokens", tags=["tokens"], responses=ERROR_RESPONSES)

Caller = Annotated[Principal, permit("tokens.own")]


def _lifetime(settings: Settings) -> accounts.Lifetime:
    return accounts.Lifetime(settings.token_default_days, settings.token_max_days)


@router.get("", response_model=list[TokenOut], summary="List API tokens")
def list_tokens(principal: Caller, state: State) -> list[TokenOut]:
    """Your own tokens; every token with ``manage_tokens``. Names, scopes, owners, prefixes
    and dates; never the secret or its hash."""
    with state.reading() as session:
        return accounts.visible_tokens(session, principal)


@router.post(
    "",
    response_model=TokenCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API token",
    responses={
        403: {"description": "A scope wider than your role allows"},
        409: {"description": "A token with that name exists"},
        422: {"description": "Invalid input, or an expiry beyond the longest allowed"},
    },
)
def create_token(
    req: TokenCreate, principal: Caller, state: State, request: Request
) -> TokenCreated:
    """The reply's ``token`` is the secret: it is shown this once and cannot be recovered.
    An ``expires_at`` without a zone is taken as UTC. The token belongs to you: its scopes
    must fit your role (a viewer's tokens are ``read`` only), it acts within your role and
    stops working if your account is disabled. Without ``expires_at`` it expires after
    ``SOPHROSYNE_TOKEN_DEFAULT_DAYS`` (90), and it may not live longer than
    ``SOPHROSYNE_TOKEN_MAX_DAYS`` (365). Tokens made by a service token (no owner) are
    service tokens too."""
    now = state.clock()
    req = req.model_copy(update={"expires_at": as_utc(req.expires_at)})
    try:
        return _create(state, principal, req, now)
    except Forbidden as exc:  # audited once the request's transaction is rolled back
        scopes = [s.value for s in req.scopes]
        raise access.deny(state, request, principal, str(exc), {"scopes": scopes}) from None


def _create(state: AppState, principal: Principal, req: TokenCreate, now: datetime) -> TokenCreated:
    with state.transaction() as session:
        return accounts.create_token(
            session, req, principal, lifetime=_lifetime(state.settings), now=now
        )


@router.post(
    "/{name}/revoke",
    response_model=TokenOut,
    summary="Revoke an API token",
    responses={
        403: {"description": "Another user's token, without manage_tokens"},
        404: {"description": "No such token"},
    },
)
def revoke_token(name: str, principal: Caller, state: State, request: Request) -> TokenOut:
    """Your own tokens; anyone's with ``manage_tokens``. Takes effect at once in this process
    and within ``auth_cache_seconds`` (5 s by default) in every other; revoking twice is
    harmless."""
    now = state.clock()
    try:
        out = _revoke(state, principal, name, now)
    except Forbidden as exc:  # audited once the request's transaction is rolled back
        raise access.deny(state, request, principal, str(exc), {"token": name}) from None
    state.tokens.clear()
    return out


def _revoke(state: AppState, principal: Principal, name: str, now: datetime) -> TokenOut:
    with state.transaction() as session:
        return accounts.revoke_token(session, name, principal, now=now)
