"""Users (admins only: create, change role, disable or enable, unlock) and API tokens (one's
own; everyone's with ``manage_tokens``): the same flows as ``/api/v1/users`` and
``/api/v1/tokens`` (``flows.accounts``), so each change is audited the same way.

A token's secret is shown once, on the page that answers its creation, and never again."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import pydantic
from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from sophrosyne.api import access
from sophrosyne.api.deps import State
from sophrosyne.api.state import AppState
from sophrosyne.domains.accounts import roles, users
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.accounts.schemas import (
    Role,
    TokenCreate,
    TokenCreated,
    UserCreate,
    UserPatch,
)
from sophrosyne.errors import Conflict, Forbidden, ValidationFailed
from sophrosyne.flows import accounts
from sophrosyne.web.edits import by_field, checked
from sophrosyne.web.guard import PageRoute, page, see_other
from sophrosyne.web.render import pages_of

router = APIRouter(route_class=PageRoute, include_in_schema=False)

Managing = Annotated[Principal, page("users.edit")]
Owning = Annotated[Principal, page("tokens.own")]
ROLES = [r.value for r in Role]


# --- users ---------------------------------------------------------------------------------


def _users_page(
    request: Request,
    state: AppState,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    now = state.clock()
    with state.reading() as session:
        found = users.list_all(session)
        items = [(users.to_out(u), users.is_locked(u, now=now)) for u in found]
    return pages_of(request).render(
        request,
        "users.html",
        {
            "items": items,
            "roles": ROLES,
            "form": form or {"role": Role.VIEWER.value, "must_change_password": True},
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("/users")
def user_list(
    request: Request, state: State, _principal: Annotated[Principal, page("users.read")]
) -> Response:
    return _users_page(request, state)


@router.post("/users")
def create_user(
    *,
    request: Request,
    state: State,
    principal: Managing,
    username: Annotated[str, Form(max_length=200)] = "",
    display_name: Annotated[str, Form(max_length=400)] = "",
    email: Annotated[str, Form(max_length=400)] = "",
    role: Annotated[str, Form(max_length=32)] = "",
    password: Annotated[str, Form(max_length=4096)] = "",
    must_change_password: Annotated[list[str] | None, Form()] = None,
) -> Response:
    must_change = checked(must_change_password)
    shown = {
        "username": username,
        "display_name": display_name,
        "email": email,
        "role": role or Role.VIEWER.value,
        "must_change_password": must_change,
    }  # never the password: it is not sent back to the browser
    try:
        spec = UserCreate.model_validate({**shown, "email": email or None, "password": password})
        with state.transaction() as session:
            accounts.create_user(session, spec, principal, now=state.clock(), via="web")
    except (pydantic.ValidationError, ValidationFailed) as exc:
        return _users_page(request, state, form=shown, errors=by_field(exc), status_code=422)
    except Conflict as exc:
        errors = {"username": str(exc)}
        return _users_page(request, state, form=shown, errors=errors, status_code=409)
    return see_other("/users?done=user_created")


def _change(state: AppState, principal: Principal, username: str, patch: dict[str, Any]) -> None:
    try:
        change = UserPatch.model_validate(patch)
    except pydantic.ValidationError as exc:
        problems = "; ".join(str(e["msg"]) for e in exc.errors())
        raise ValidationFailed.single(("role",), problems) from None
    with state.transaction() as session:
        accounts.update_user(session, username, change, principal, now=state.clock(), via="web")
    state.tokens.clear()  # a role or a disabled owner changes what their tokens may do


@router.post("/users/{username}/role")
def set_role(
    username: str, state: State, principal: Managing, role: Annotated[str, Form()] = ""
) -> Response:
    _change(state, principal, username, {"role": role})
    return see_other("/users?done=user_changed")


@router.post("/users/{username}/disable")
def disable(username: str, state: State, principal: Managing) -> Response:
    _change(state, principal, username, {"disabled": True})
    return see_other("/users?done=user_changed")


@router.post("/users/{username}/enable")
def enable(username: str, state: State, principal: Managing) -> Response:
    _change(state, principal, username, {"disabled": False})
    return see_other("/users?done=user_changed")


@router.post("/users/{username}/unlock")
def unlock(username: str, state: State, principal: Managing) -> Response:
    with state.transaction() as session:
        accounts.unlock_user(session, username, principal, now=state.clock(), via="web")
    return see_other("/users?done=user_changed")


# --- API tokens ----------------------------------------------------------------------------


def _lifetime(state: AppState) -> accounts.Lifetime:
    return accounts.Lifetime(state.settings.token_default_days, state.settings.token_max_days)


def _tokens_page(
    request: Request,
    state: AppState,
    principal: Principal,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with state.reading() as session:
        items = accounts.visible_tokens(session, principal)
    allowed = sorted(s.value for s in roles.token_scopes(principal.role or Role.VIEWER.value))
    return pages_of(request).render(
        request,
        "tokens.html",
        {
            "items": items,
            "scopes": allowed,
            "all_owners": principal.can(roles.Permission.MANAGE_TOKENS),
            "lifetime": _lifetime(state),
            "form": form or {"name": "", "scopes": ["read"], "expires_days": ""},
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("/tokens")
def token_list(request: Request, state: State, principal: Owning) -> Response:
    return _tokens_page(request, state, principal)


@router.post("/tokens")
def create_token(
    *,
    request: Request,
    state: State,
    principal: Owning,
    name: Annotated[str, Form(max_length=400)] = "",
    scopes: Annotated[list[str] | None, Form()] = None,
    expires_days: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    shown = {"name": name, "scopes": scopes or [], "expires_days": expires_days}
    now = state.clock()
    body: dict[str, Any] = {"name": name.strip(), "scopes": scopes or []}
    errors: dict[str, str] = {}
    if expires_days.strip():
        try:
            days = int(expires_days)
            if days < 1:
                raise ValueError
            body["expires_at"] = now + timedelta(days=days)
        except (ValueError, OverflowError):
            errors["expires_days"] = "a whole number of days, 1 or more"
    if not scopes:
        errors["scopes"] = "choose at least one scope"
    try:
        req = TokenCreate.model_validate(body)
    except pydantic.ValidationError as exc:
        errors = {**by_field(exc), **errors}
    if errors:
        return _tokens_page(request, state, principal, form=shown, errors=errors, status_code=422)
    try:
        created = _create(state, principal, req)
    except Forbidden as exc:  # a scope wider than the role: audited once rolled back
        detail = {"scopes": [s.value for s in req.scopes], "page": True}
        raise access.deny(state, request, principal, str(exc), detail) from None
    except (ValidationFailed, Conflict) as exc:
        errors = (
            by_field(exc, {"expires_at": "expires_days"})
            if isinstance(exc, ValidationFailed)
            else {"name": str(exc)}
        )
        return _tokens_page(request, state, principal, form=shown, errors=errors, status_code=422)
    return pages_of(request).render(request, "token_created.html", {"token": created})


def _create(state: AppState, principal: Principal, req: TokenCreate) -> TokenCreated:
    with state.transaction() as session:
        return accounts.create_token(
            session, req, principal, lifetime=_lifetime(state), now=state.clock(), via="web"
        )


@router.post("/tokens/revoke")
def revoke_token(
    request: Request, state: State, principal: Owning, name: Annotated[str, Form()] = ""
) -> Response:
    """The name travels in the form: token names may hold any character, even ``/``."""
    try:
        with state.transaction() as session:
            accounts.revoke_token(session, name, principal, now=state.clock(), via="web")
    except Forbidden as exc:  # another person's token: audited once rolled back
        raise access.deny(state, request, principal, str(exc), {"token": name}) from None
    state.tokens.clear()
    return see_other("/tokens?done=token_revoked")
