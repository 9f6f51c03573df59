"""Logging in and out of the pages, and changing one's password.

The same session as the API's (``api.auth.start_session``): the cookie ``sophrosyne_session``,
the same lockout, the same audit. Only the replies differ: pages and redirects.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from sophrosyne.api import access
from sophrosyne.api import auth as api_auth
from sophrosyne.api.deps import State, public
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.errors import Forbidden, Unauthorized, ValidationFailed
from sophrosyne.web.guard import PageRoute, page, see_other
from sophrosyne.web.render import pages_of

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site only (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login", dependencies=[public("auth.login")])
def login_page(request: Request, next: str = "/") -> Response:
    return pages_of(request).render(
        request, "login.html", {"next": safe_next(next), "username": "", "error": ""}
    )


@router.post("/login", dependencies=[public("auth.login")])
async def login(
    request: Request,
    state: State,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    target = safe_next(next)
    try:
        _user, started = await run_in_threadpool(
            api_auth.start_session, request, state, username, password
        )
    except (Unauthorized, Forbidden) as exc:
        status = 403 if isinstance(exc, Forbidden) else 401
        return pages_of(request).render(
            request,
            "login.html",
            {"next": target, "username": username, "error": str(exc)},
            status_code=status,
        )
    response = see_other(target)
    access.set_session_cookie(response, request, state.settings, started.session_id)
    return response


@router.post("/logout")
def logout(
    request: Request, state: State, principal: Annotated[Principal, page("auth.logout")]
) -> Response:
    api_auth.end_session(state, principal)
    response = see_other("/login?done=logout")
    access.clear_session_cookie(response, request, state.settings)
    return response


@router.get("/password")
def password_page(
    request: Request, _principal: Annotated[Principal, page("auth.password")]
) -> Response:
    return pages_of(request).render(request, "password.html", {"errors": {}})


@router.post("/password")
def change_password(
    request: Request,
    state: State,
    principal: Annotated[Principal, page("auth.password")],
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
) -> Response:
    try:
        api_auth.change_own_password(state, request, principal, current_password, new_password)
    except ValidationFailed as exc:
        errors = {str(e.loc[-1]): e.msg for e in exc.errors if e.loc}
        return pages_of(request).render(
            request, "password.html", {"errors": errors}, status_code=422
        )
    return see_other("/?done=password")
