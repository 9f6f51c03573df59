"""API tokens: list, create (the secret is shown once), revoke. Only hashes are stored, and no
route ever returns one. All three need scope ``write``."""

from __future__ import annotations

from fastapi import APIRouter, status

from sophrosyne.api.deps import State, Writer, as_utc
from sophrosyne.api.errors import ERROR_RESPONSES
from sophrosyne.api.state import utcnow
from sophrosyne.domains.accounts import service as accounts
from sophrosyne.domains.accounts.schemas import TokenCreate, TokenCreated, TokenOut
from sophrosyne.domains.audit import service as audit

router = APIRouter(prefix="/tokens", tags=["tokens"], responses=ERROR_RESPONSES)


@router.get("", response_model=list[TokenOut], summary="List API tokens")
def list_tokens(_principal: Writer, state: State) -> list[TokenOut]:
    """Names, scopes, prefixes and dates; never the secret or its hash."""
    with state.reading() as session:
        return [TokenOut.model_validate(t) for t in accounts.list_all(session)]


@router.post(
    "",
    response_model=TokenCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API token",
    responses={409: {"description": "A token with that name exists"}},
)
def create_token(req: TokenCreate, principal: Writer, state: State) -> TokenCreated:
    """The reply's ``token`` is the secret: it is shown this once and cannot be recovered.
    An ``expires_at`` without a zone is taken as UTC."""
    now = utcnow()
    req = req.model_copy(update={"expires_at": as_utc(req.expires_at)})
    with state.transaction() as session:
        token, secret = accounts.create(session, req, now=now)
        audit.record(
            session,
            actor=principal.actor,
            action="token.created",
            object_type="token",
            object_id=token.name,
            detail={
                "scopes": list(token.scopes),
                "prefix": token.prefix,
                "expires_at": token.expires_at.isoformat() if token.expires_at else None,
            },
            now=now,
        )
        return TokenCreated(**TokenOut.model_validate(token).model_dump(), token=secret)


@router.post(
    "/{name}/revoke",
    response_model=TokenOut,
    summary="Revoke an API token",
    responses={404: {"description": "No such token"}},
)
def revoke_token(name: str, principal: Writer, state: State) -> TokenOut:
    """Takes effect at once in this process and within ``auth_cache_seconds`` (5 s by
    default) in every other; revoking twice is harmless."""
    now = utcnow()
    with state.transaction() as session:
        token = accounts.revoke(session, name, now=now)
        audit.record(
            session,
            actor=principal.actor,
            action="token.revoked",
            object_type="token",
            object_id=token.name,
            now=now,
        )
        out = TokenOut.model_validate(token)
    state.tokens.clear()
    return out
