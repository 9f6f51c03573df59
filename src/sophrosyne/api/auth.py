"""Logging in and out, who am I, and changing one's own password.

``POST /auth/login`` takes JSON or a form (``application/x-www-form-urlencoded``), checks the
password (argon2id, outside the write transaction), counts a failure towards the lockout and
commits it even though the reply is 401, and on success starts a fresh session: the cookie
``sophrosyne_session`` (HttpOnly, SameSite=Lax, Secure per ``SOPHROSYNE_COOKIE_SECURE``) and a
CSRF token in the reply, to send back in ``X-CSRF-Token`` with every change. Logins, failed
logins (never the password), logouts and password changes are audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qs

import pydantic
from fastapi import APIRouter, Request, Response, status

from sophrosyne.api import access
from sophrosyne.api.deps import RawBody, State, permit, public
from sophrosyne.api.errors import ERROR_RESPONSES, from_pydantic, parse_json
from sophrosyne.api.state import AppState
from sophrosyne.domains.accounts import roles, sessions, users
from sophrosyne.domains.accounts.models import User
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.accounts.schemas import LoginRequest, PasswordChange, Role, Whoami
from sophrosyne.domains.audit import service as audit
from sophrosyne.errors import Forbidden, Unauthorized, ValidationFailed

router = APIRouter(prefix="/auth", tags=["auth"], responses=ERROR_RESPONSES)

_FORM = "application/x-www-form-urlencoded"
_LOGIN_SCHEMA = LoginRequest.model_json_schema()
_LOGIN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _LOGIN_SCHEMA},
            _FORM: {"schema": _LOGIN_SCHEMA},
        },
    }
}


def _credentials(request: Request, body: bytes) -> LoginRequest:
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    data: Any
    if content_type == _FORM:
        fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        data = {k: fields[k][0] for k in ("username", "password") if k in fields}
    else:
        data = parse_json(body)
    try:
        return LoginRequest.model_validate(data)
    except pydantic.ValidationError as exc:
        raise from_pydantic(exc) from None


def _session_reply(user: User, *, csrf: str | None, expires_at: datetime | None) -> Whoami:
    return Whoami(
        kind="session",
        actor=f"user:{user.username}",
        user=users.to_out(user),
        role=Role(user.role),
        permissions=sorted(roles.permissions(user.role)),
        must_change_password=user.must_change_password,
        csrf_token=csrf,
        expires_at=expires_at,
    )


@router.post(
    "/login",
    response_model=Whoami,
    summary="Log in: start a session",
    dependencies=[public("auth.login")],
    openapi_extra=_LOGIN_BODY,
    responses={
        401: {"description": "Wrong username or password, or the account is locked or disabled"},
        403: {"description": "A login posted from another site (Origin header)"},
        422: {"description": "username or password missing"},
    },
)
def login(request: Request, response: Response, body: RawBody, state: State) -> Whoami:
    """JSON ``{"username": …, "password": …}`` or the same as a form. Every refusal says the
    same thing, whether the user exists, the password is wrong, or the account is locked
    (5 wrong passwords in a row lock it for 15 minutes) or disabled. On success the reply
    sets the session cookie and carries ``csrf_token``; any session the browser held before
    ends (a login always gets a new session id)."""
    creds = _credentials(request, body)
    user, started = start_session(request, state, creds.username, creds.password.get_secret_value())
    reply = _session_reply(user, csrf=started.row.csrf_token, expires_at=started.row.expires_at)
    access.set_session_cookie(response, request, state.settings, started.session_id)
    return reply


def start_session(
    request: Request, state: AppState, username: str, password: str
) -> tuple[User, sessions.Started]:
    """Check ``username`` and ``password`` and start a session (the login of the API and of
    the web pages). ``Unauthorized`` for any wrong credentials, locked or disabled account
    (the failure is counted and committed), ``Forbidden`` for a login posted from another
    site. Everything is audited; the caller sets the cookie."""
    ip = access.client_address(request)
    if access.cross_site(request):
        reason = "a login posted from another site is refused (its Origin is not this server)"
        detail: dict[str, object] = {
            "username": username,
            "origin": request.headers.get("origin"),
        }
        access.record_refusal(
            state, request, None, action="auth.login_refused", reason=reason, detail=detail
        )
        raise Forbidden(reason)
    # The slow part (argon2) reads only, so it never holds SQLite's writer.
    with state.reading() as session:
        attempt = users.check_password(session, username, password)
    now = state.clock()
    settings = state.settings
    started: sessions.Started | None = None
    with state.transaction() as session:
        try:
            user = users.settle(session, attempt, now=now)
        except Unauthorized:
            # Committed with the failure count: the lockout must survive the refusal.
            audit.record(
                session,
                actor="anonymous",
                action="auth.login_failed",
                object_type="user",
                object_id=attempt.username[:200],
                detail={"ip": ip},
                now=now,
            )
        else:
            started = sessions.start(
                session,
                user,
                now=now,
                lifetime=access.lifetime(settings),
                idle=access.idle_timeout(settings),
                replaces=request.cookies.get(access.SESSION_COOKIE),
            )
            audit.record(
                session,
                actor=f"user:{user.username}",
                action="auth.login",
                object_type="user",
                object_id=user.username,
                detail={"ip": ip, "session": started.row.id},
                now=now,
            )
    if started is None:
        raise Unauthorized(users.LOGIN_FAILED)
    return user, started


def end_session(state: AppState, principal: Principal) -> None:
    """End the caller's login session, audited (``auth.logout``)."""
    assert principal.session_id is not None
    with state.transaction() as session:
        sessions.end(session, principal.session_id)
        audit.record(
            session,
            actor=principal.actor,
            action="auth.logout",
            object_type="user",
            object_id=principal.username,
            detail={"session": principal.session_id},
            now=state.clock(),
        )


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Log out: end this session",
)
def logout(
    principal: Annotated[Principal, permit("auth.logout")], state: State, request: Request
) -> Response:
    """Ends the session and clears its cookie. Needs the ``X-CSRF-Token`` header."""
    assert principal.session_id is not None  # auth.logout is session-only
    end_session(state, principal)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    access.clear_session_cookie(response, request, state.settings)
    return response


@router.get("/me", response_model=Whoami, summary="Who am I")
def me(principal: Annotated[Principal, permit("auth.me")], state: State) -> Whoami:
    """The caller (a session or a token), its role and permissions; for a session also the
    CSRF token to send in ``X-CSRF-Token``."""
    with state.reading() as session:
        user = session.get(User, principal.user_id) if principal.user_id is not None else None
        if principal.kind == "session" and user is not None:
            assert principal.session_id is not None
            csrf = sessions.csrf_token(session, principal.session_id)
            return _session_reply(user, csrf=csrf, expires_at=principal.expires_at)
    return Whoami(
        kind="token",
        actor=principal.actor,
        user=users.to_out(user) if user is not None else None,
        role=Role(user.role) if user is not None else None,
        permissions=sorted(principal.permissions),
        must_change_password=principal.must_change_password,
        expires_at=principal.expires_at,
        token=principal.name,
        scopes=sorted(principal.scopes),
    )


@router.post(
    "/password",
    response_model=Whoami,
    summary="Change your own password",
    responses={422: {"description": "Current password wrong, or the new one breaks the policy"}},
)
def change_password(
    body: PasswordChange,
    principal: Annotated[Principal, permit("auth.password")],
    state: State,
    request: Request,
) -> Whoami:
    """Checks the current password and the policy (12 characters at least, not the
    username, not a common password), clears "must change password", and ends your other
    sessions (this one goes on). Needs a session (not a token) and ``X-CSRF-Token``."""
    user, csrf = change_own_password(
        state,
        request,
        principal,
        body.current_password.get_secret_value(),
        body.new_password.get_secret_value(),
    )
    return _session_reply(user, csrf=csrf, expires_at=principal.expires_at)


def change_own_password(
    state: AppState, request: Request, principal: Principal, current: str, new: str
) -> tuple[User, str | None]:
    """Check the current password and the policy, clear "must change password", end the
    user's other sessions, audit; the user and this session's CSRF token. A wrong current
    password is a ``ValidationFailed`` at ``current_password``, a weak new one at
    ``new_password``."""
    assert principal.user_id is not None and principal.session_id is not None
    now = state.clock()
    wrong = False
    detail: dict[str, object]
    with state.transaction() as session:
        user = session.get(User, principal.user_id)
        if user is None:
            raise Unauthorized("the account no longer exists")
        try:
            users.change_password(session, user, current, new, now=now, field="new_password")
        except Unauthorized:
            wrong = True
            action, detail = "auth.password_change_refused", {"reason": "wrong current password"}
        else:
            ended = sessions.end_all_for(session, user.id, keep=principal.session_id)
            action, detail = "user.password_changed", {"sessions_ended": ended}
        detail["ip"] = access.client_address(request)
        audit.record(
            session,
            actor=principal.actor,
            action=action,
            object_type="user",
            object_id=user.username,
            detail=detail,
            now=now,
        )
        csrf = sessions.csrf_token(session, principal.session_id)
    if wrong:
        raise ValidationFailed.single(("current_password",), "the current password is wrong")
    state.tokens.clear()  # tokens of this user were held back until the change
    return user, csrf
