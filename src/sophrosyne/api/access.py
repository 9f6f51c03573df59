"""Who is calling: a bearer token, or a person logged in with the session cookie.

A request with ``Authorization: Bearer <token>`` is that token (remembered in-process for
``auth_cache_seconds``, see ``api.authcache``), whatever cookie it also carries. Otherwise the
``sophrosyne_session`` cookie names a login session (checked against the database on every
request, so a logout, a disabled user or a changed role applies at once); a change made with it
(any method but GET, HEAD, OPTIONS) must carry the session's CSRF token in ``X-CSRF-Token``.

Also here: the session cookie itself (HttpOnly, SameSite=Lax, Secure per ``cookie_secure``)
and the audit of refusals, written in a short transaction of its own because the request's
own transaction is rolled back when it fails.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import SQLAlchemyError

from sophrosyne.api.state import AppState
from sophrosyne.config import Settings
from sophrosyne.domains.accounts import service as tokens
from sophrosyne.domains.accounts import sessions
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.audit import service as audit
from sophrosyne.errors import Forbidden, Unauthorized
from sophrosyne.logging import get_logger

log = get_logger(__name__)

SESSION_COOKIE = "sophrosyne_session"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer = HTTPBearer(
    auto_error=False,
    description="An API token: `Authorization: Bearer sph_…`. Create one with "
    "`POST /api/v1/tokens` or the CLI.",
)
session_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description="Set by `POST /api/v1/auth/login`. Changes (POST, PUT, PATCH, DELETE) made "
    f"with it must also send the session's CSRF token in `{CSRF_HEADER}`.",
)

NO_CREDENTIALS = (
    "authentication required: log in (POST /api/v1/auth/login) or send a bearer token "
    "(Authorization: Bearer <token>)"
)


@dataclass(frozen=True)
class Caller:
    """The principal, and why its request must be refused before anything else (CSRF)."""

    principal: Principal
    refusal: str | None = None


def idle_timeout(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.session_idle_seconds)


def lifetime(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.session_lifetime_seconds)


def _token_from_database(state: AppState, secret: str) -> Principal:
    now = state.clock()
    # Read-only, so authenticating never takes SQLite's write lock; last_used_at is written
    # in a short transaction of its own at most once a minute per token.
    with state.reading() as session:
        principal, due = tokens.identify(session, secret, now=now)
    if due:
        with state.transaction() as session:
            tokens.touch(session, principal.name, now=now)
    return principal


async def _token(state: AppState, secret: str) -> Principal:
    # A remembered token costs no trip to the threadpool (or the database): the ingest path.
    principal = state.tokens.get(secret, state.clock())
    if principal is None:
        principal = await run_in_threadpool(_token_from_database, state, secret)
        state.tokens.put(secret, principal, state.clock())
    return principal


def _session_from_database(state: AppState, session_id: str) -> sessions.Identified:
    now = state.clock()
    with state.reading() as session:
        found = sessions.identify(session, session_id, now=now, idle=idle_timeout(state.settings))
    if found.due:
        assert found.principal.session_id is not None
        with state.transaction() as session:
            sessions.touch(session, found.principal.session_id, now=now)
    return found


def session_of(state: AppState, session_id: str) -> sessions.Identified:
    """The person behind a session cookie and the session's CSRF token, refreshing
    ``last_seen_at`` when due; ``Unauthorized`` saying why if nobody. Blocking: call it from
    the threadpool. The web pages use it too (their CSRF token travels in a form field)."""
    return _session_from_database(state, session_id)


def csrf_matches(given: str | None, expected: str) -> bool:
    """Whether ``given`` is the session's CSRF token (compared in constant time)."""
    return bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())


def _csrf_refusal(request: Request, expected: str) -> str | None:
    if request.method in _SAFE_METHODS:
        return None
    if csrf_matches(request.headers.get(CSRF_HEADER), expected):
        return None
    return (
        f"a change made with the session cookie needs the header {CSRF_HEADER} with the "
        "session's CSRF token (from POST /api/v1/auth/login or GET /api/v1/auth/me)"
    )


async def identify(
    request: Request,
    state: AppState,
    credentials: HTTPAuthorizationCredentials | None,
    cookie: str | None,
) -> Caller:
    """The caller of ``request``; ``Unauthorized`` saying why if there is none."""
    if credentials is not None and credentials.credentials:
        return Caller(await _token(state, credentials.credentials))
    if cookie:
        found = await run_in_threadpool(_session_from_database, state, cookie)
        return Caller(found.principal, _csrf_refusal(request, found.csrf_token))
    raise Unauthorized(NO_CREDENTIALS)


def _secure(request: Request, settings: Settings) -> bool:
    if settings.cookie_secure == "auto":
        return request.url.scheme == "https"
    return settings.cookie_secure == "always"


def set_session_cookie(
    response: Response, request: Request, settings: Settings, session_id: str
) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(settings.session_lifetime_seconds),
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(request, settings),
    )


def clear_session_cookie(response: Response, request: Request, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(request, settings),
    )


def cross_site(request: Request) -> bool:
    """Whether the browser says the request comes from another site (``Origin`` names another
    host than the one addressed). Requests without ``Origin`` (curl, scripts) are not."""
    origin = request.headers.get("origin")
    if not origin:
        return False
    if origin == "null":
        return True
    return urlsplit(origin).netloc.lower() != request.headers.get("host", "").lower()


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def record_refusal(
    state: AppState,
    request: Request,
    principal: Principal | None,
    *,
    action: str,
    reason: str,
    detail: dict[str, object] | None = None,
) -> None:
    """Audit a refusal in a transaction of its own. A failure to audit is logged and does not
    turn the refusal into a server error."""
    entry: dict[str, object] = {
        "method": request.method,
        "path": request.url.path,
        "reason": reason,
        "ip": client_address(request),
        **(detail or {}),
    }
    try:
        with state.transaction() as session:
            audit.record(
                session,
                actor=principal.actor if principal else "anonymous",
                action=action,
                object_type="route",
                object_id=f"{request.method} {request.url.path}"[:200],
                detail=entry,
                now=state.clock(),
            )
    except SQLAlchemyError as exc:
        log.error("audit.refusal_not_recorded", action=action, error=str(exc).splitlines()[0])


def deny(
    state: AppState,
    request: Request,
    principal: Principal,
    reason: str,
    detail: dict[str, object] | None = None,
) -> Forbidden:
    """Audit a permission denial (``auth.denied``) and return the ``Forbidden`` to raise."""
    record_refusal(state, request, principal, action="auth.denied", reason=reason, detail=detail)
    return Forbidden(reason)
