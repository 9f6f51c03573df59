"""Dependencies shared by the routes: the application state and bearer-token authentication.

Scopes: ``read`` routes accept read or write tokens (write implies read), mutations need
``write``, and the two ingest routes accept ``ingest`` or ``write``. A token holding only
``ingest`` is refused on everything else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, cast

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sophrosyne.api.state import AppState, utcnow
from sophrosyne.domains.accounts import service as accounts
from sophrosyne.domains.accounts.schemas import Scope
from sophrosyne.domains.accounts.service import Principal
from sophrosyne.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(
    auto_error=False,
    description="An API token: `Authorization: Bearer sph_…`. Create one with "
    "`POST /api/v1/tokens` or the CLI.",
)


async def get_state(request: Request) -> AppState:
    return cast(AppState, request.app.state.sophrosyne)


State = Annotated[AppState, Depends(get_state)]


def _authenticate(state: AppState, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("a bearer token is required (Authorization: Bearer <token>)")
    now = utcnow()
    # Read-only, so authenticating never takes SQLite's write lock; last_used_at is written
    # in a short transaction of its own at most once a minute per token.
    with state.reading() as session:
        principal, due = accounts.identify(session, credentials.credentials, now=now)
    if due:
        with state.transaction() as session:
            accounts.touch(session, principal.name, now=now)
    return principal


def require(*any_of: Scope) -> Callable[..., Awaitable[Principal]]:
    """A dependency giving the caller's ``Principal`` if its token has one of ``any_of``."""
    wanted = ", ".join(s.value for s in any_of)

    async def dependency(
        state: State,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        # Async, so a remembered token costs no trip to the threadpool (or the database).
        secret = credentials.credentials if credentials else ""
        principal = state.tokens.get(secret, utcnow()) if secret else None
        if principal is None:
            principal = await run_in_threadpool(_authenticate, state, credentials)
            state.tokens.put(secret, principal, utcnow())
        if not any(principal.allows(scope) for scope in any_of):
            raise Forbidden(f"this token lacks the scope this route needs ({wanted})")
        return principal

    return dependency


Reader = Annotated[Principal, Depends(require(Scope.READ))]
Writer = Annotated[Principal, Depends(require(Scope.WRITE))]
Ingester = Annotated[Principal, Depends(require(Scope.INGEST, Scope.WRITE))]


async def raw_body(request: Request) -> bytes:
    """The request body as bytes (its size is capped by the body-limit middleware)."""
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]


def as_utc(value: datetime | None) -> datetime | None:
    """Times without a zone are taken as UTC; others are converted to it."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
