"""Dependencies shared by the routes: the application state, and the permission every route
declares.

Each route under ``/api/v1`` names the activity it performs, once, as a dependency::

    def start_run(..., principal: Annotated[Principal, permit("runs.create")]) -> ...
    @router.post("/auth/login", dependencies=[public("auth.login")])

``domains.accounts.roles.ACTIVITIES`` maps each activity to the permission it needs; an
unknown activity fails at import. A route that declares neither is caught by the test that
walks every route of the application.

A refusal is 401 when there are no valid credentials, and 403 naming the missing permission
otherwise; every 403 is audited (``auth.denied``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, cast

import fastapi.routing
from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials

from sophrosyne.api import access
from sophrosyne.api.state import AppState
from sophrosyne.domains.accounts import roles
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.accounts.roles import Permission


async def get_state(request: Request) -> AppState:
    return cast(AppState, request.app.state.sophrosyne)


State = Annotated[AppState, Depends(get_state)]


class Permit:
    """The check of one activity: FastAPI calls it, the route tests read ``activity``."""

    def __init__(self, activity: str) -> None:
        if activity not in roles.ACTIVITIES:
            raise KeyError(f"unknown activity {activity!r}: add it to roles.ACTIVITIES")
        self.activity = activity
        self.permission: Permission = roles.ACTIVITIES[activity]

    def refusal(self, principal: Principal) -> str | None:
        """Why ``principal`` may not perform this activity, or ``None``."""
        if self.activity in roles.SESSION_ONLY and principal.kind != "session":
            return (
                f"{self.activity} needs a login session (POST /api/v1/auth/login); "
                "an API token cannot log out or change a password"
            )
        if principal.must_change_password and self.activity not in roles.BEFORE_PASSWORD_CHANGE:
            return (
                f"the password of {principal.username!r} must be changed first "
                "(POST /api/v1/auth/password); until then only /auth/me, /auth/password "
                "and /auth/logout are allowed"
            )
        if not principal.can(self.permission):
            return (
                f"permission {self.permission.value!r} is needed ({self.activity}); "
                f"{principal.describe()} does not have it"
            )
        return None

    async def __call__(
        self,
        request: Request,
        state: State,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(access.bearer)],
        cookie: Annotated[str | None, Depends(access.session_cookie)],
    ) -> Principal:
        caller = await access.identify(request, state, credentials, cookie)
        reason = caller.refusal or self.refusal(caller.principal)
        if reason is not None:
            detail: dict[str, object] = {
                "activity": self.activity,
                "permission": self.permission.value,
            }
            raise await run_in_threadpool(
                access.deny, state, request, caller.principal, reason, detail
            )
        return caller.principal


class Public:
    """Declares an activity open to anyone (``roles.PUBLIC_ACTIVITIES``); checks nothing."""

    def __init__(self, activity: str) -> None:
        if activity not in roles.PUBLIC_ACTIVITIES:
            raise KeyError(f"{activity!r} is not in roles.PUBLIC_ACTIVITIES")
        self.activity = activity

    async def __call__(self) -> None:
        return None


def permit(activity: str) -> Any:
    """``Depends`` on the check of ``activity``: gives the caller's ``Principal``."""
    return Depends(Permit(activity))


def public(activity: str) -> Any:
    """``Depends`` on nothing, declaring that ``activity`` needs no credentials."""
    return Depends(Public(activity))


@dataclass(frozen=True)
class RouteInfo:
    """One route of an application as it is served: full path, methods, declared activity."""

    path: str
    methods: frozenset[str]
    route: APIRoute
    declared: Permit | Public | None


def api_routes(app: FastAPI) -> list[RouteInfo]:
    """Every FastAPI route of ``app`` with the path it is served at (routers included)."""
    # Newer FastAPI keeps included routers as such; iter_route_contexts flattens them.
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    found: list[RouteInfo] = []
    for context in flatten(app.routes) if flatten else app.routes:
        route = getattr(context, "original_route", context)
        if not isinstance(route, APIRoute):
            continue
        dependant = getattr(context, "dependant", None) or route.dependant
        methods = frozenset(getattr(context, "methods", None) or route.methods or ())
        path = getattr(context, "path", None) or route.path
        found.append(RouteInfo(path, methods, route, _declared(dependant)))
    return found


def _declared(dependant: Dependant) -> Permit | Public | None:
    """The activity a route declares (through ``permit`` or ``public``), if any."""
    pending = list(dependant.dependencies)
    while pending:
        dependant = pending.pop()
        if isinstance(dependant.call, Permit | Public):
            return dependant.call
        pending.extend(dependant.dependencies)
    return None


async def raw_body(request: Request) -> bytes:
    """The request body as bytes (its size is capped by the body-limit middleware)."""
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]


def as_utc(value: datetime | None) -> datetime | None:
    """Times without a zone are taken as UTC; others are converted to it."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


__all__ = [
    "Permit",
    "Principal",
    "Public",
    "RawBody",
    "RouteInfo",
    "State",
    "api_routes",
    "as_utc",
    "permit",
    "public",
]
