"""Every route of the application, walked from ``app.routes``: each one under /api/v1 declares
the activity it performs, and each kind of caller is refused exactly where its role or scopes
do not reach. A route added later is covered without touching this file; one that declares no
permission fails here."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from sophrosyne.api.deps import Permit, Public, RouteInfo, api_routes
from sophrosyne.config import Settings
from sophrosyne.domains.accounts import roles
from sophrosyne.domains.accounts.roles import Permission
from tests.api.conftest import People
from tests.api.helpers import Api, Tokens

_BODY_METHODS = {"POST", "PUT", "PATCH"}


@dataclass(frozen=True)
class Caller:
    """One kind of caller: what it may do, and how it sends a request."""

    name: str
    permissions: frozenset[Permission]
    is_session: bool


CALLERS = {
    "viewer-session": Caller("viewer-session", roles.permissions("viewer"), True),
    "operator-session": Caller("operator-session", roles.permissions("operator"), True),
    "admin-session": Caller("admin-session", roles.permissions("admin"), True),
    "read-token": Caller("read-token", roles.scope_permissions(["read"]), False),
    "ingest-token": Caller("ingest-token", roles.scope_permissions(["ingest"]), False),
}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def _api(app: FastAPI) -> list[RouteInfo]:
    return [r for r in api_routes(app) if r.path.startswith("/api/")]


def test_every_api_route_declares_a_permission(tmp_path: object) -> None:
    app = _app_without_database(str(tmp_path))
    undeclared = [f"{sorted(r.methods)} {r.path}" for r in _api(app) if r.declared is None]
    assert undeclared == [], "routes without permit(...) or public(...)"
    assert len(_api(app)) >= 30  # the walk really sees the included routers
    # Outside /api, the pages declare their activity like the routes do (``web.guard.page``);
    # only the probes, metrics and docs need no credentials by design.
    others = {
        r.path for r in api_routes(app) if not r.path.startswith("/api/") and r.declared is None
    }
    assert others == {"/healthz", "/readyz", "/metrics", "/docs"}


def _app_without_database(data_dir: str) -> FastAPI:
    from sophrosyne.app import create_app

    return create_app(Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir}/x.db"))


#: What a viewer may change: only its own session, password and tokens.
VIEWER_MAY_CHANGE = {"auth.logout", "auth.password", "tokens.own"}
#: Read routes only admins see.
ADMIN_READS = {"users.read"}
INGEST_ROUTES = {("POST", "/api/v1/alerts"), ("POST", "/api/v1/alerts/alertmanager")}


def _spelled_out(caller: str, method: str, route: RouteInfo, declared: Permit) -> bool | None:
    """The promise made to viewers and ingest-only tokens, written independently of the
    activity map, so a too-generous map entry fails here too. ``None``: no promise."""
    if caller == "ingest-token":
        return (method, route.path) in INGEST_ROUTES
    if caller == "viewer-session":
        if method == "GET":
            return declared.activity not in ADMIN_READS
        return declared.activity in VIEWER_MAY_CHANGE
    return None


def _expected_allowed(caller: Caller, declared: Permit) -> bool:
    if declared.activity in roles.SESSION_ONLY and not caller.is_session:
        return False
    return declared.permission in caller.permissions


def _sender(caller: str, api: Api, tokens: Tokens, people: People) -> Callable[..., httpx.Response]:
    if caller == "read-token":
        return api.as_(tokens.read).request
    if caller == "ingest-token":
        return api.as_(tokens.ingest).request
    user = {"viewer-session": "vera", "operator-session": "olga", "admin-session": "root"}[caller]

    def send(method: str, url: str, **kw: object) -> httpx.Response:
        # A fresh session per request: walking POST /auth/logout ends the one it uses.
        return people.browser(user).request(method, url, **kw)

    return send


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_each_caller_is_refused_exactly_where_it_should_be(
    caller: str, app: FastAPI, api: Api, tokens: Tokens, people: People
) -> None:
    who = CALLERS[caller]
    send = _sender(caller, api, tokens, people)
    wrong: list[str] = []
    refused = 0
    for route in _api(app):
        declared = route.declared
        assert declared is not None, f"{route.path} declares no permission"
        for method in sorted(route.methods):
            url = _concrete(route.path)
            r = send(method, url, json={} if method in _BODY_METHODS else None)
            where = f"{method} {route.path} -> {r.status_code} {r.text[:200]}"
            if isinstance(declared, Public):
                if r.status_code in (401, 403):
                    wrong.append(f"public route refused: {where}")
                continue
            promise = _spelled_out(caller, method, route, declared)
            if promise is not None and promise != _expected_allowed(who, declared):
                wrong.append(f"the activity map breaks the promise ({promise=}): {where}")
            if _expected_allowed(who, declared):
                if r.status_code in (401, 403):
                    wrong.append(f"should be allowed: {where}")
                continue
            refused += 1
            detail = r.json().get("detail", "") if r.status_code == 403 else ""
            names_it = declared.permission.value in detail or "login session" in detail
            if r.status_code != 403 or not names_it:
                wrong.append(f"should be refused naming {declared.permission.value}: {where}")
    assert wrong == []
    if caller in ("viewer-session", "ingest-token", "read-token"):
        assert refused > 10
    denials = api.get("/api/v1/audit", params={"action": "auth.denied", "limit": 500}).json()
    assert len(denials["items"]) == refused, "every refusal is audited once"


def test_without_credentials_every_protected_route_is_401(app: FastAPI, api: Api) -> None:
    anonymous = api.as_(None)
    for route in _api(app):
        for method in route.methods:
            r = anonymous.request(
                method, _concrete(route.path), json={} if method in _BODY_METHODS else None
            )
            if isinstance(route.declared, Public):
                assert r.status_code not in (401, 403), (method, route.path, r.text)
            else:
                assert r.status_code == 401, (method, route.path, r.text)
                assert "log in" in r.json()["detail"]
