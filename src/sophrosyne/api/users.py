"""Users, for admins (permission ``manage_users``): list, create, change role, disable or
enable, rename, unlock. Every change is audited, never with a password. Disabling a user ends
their sessions and stops their tokens at once in this process (within ``auth_cache_seconds``
elsewhere); the last active admin can be neither demoted nor disabled (409)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, status

from sophrosyne.api.deps import State, permit
from sophrosyne.api.errors import ERROR_RESPONSES
from sophrosyne.domains.accounts import users
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.accounts.schemas import UserCreate, UserOut, UserPatch
from sophrosyne.flows import accounts

router = APIRouter(prefix="/users", tags=["users"], responses=ERROR_RESPONSES)

Reading = Annotated[Principal, permit("users.read")]
Editing = Annotated[Principal, permit("users.edit")]

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such user"}}


@router.get("", response_model=list[UserOut], summary="List users")
def list_users(_principal: Reading, state: State) -> list[UserOut]:
    """Never a password hash."""
    with state.reading() as session:
        return [users.to_out(u) for u in users.list_all(session)]


@router.get("/{username}", response_model=UserOut, summary="One user", responses=_NOT_FOUND)
def get_user(username: str, _principal: Reading, state: State) -> UserOut:
    with state.reading() as session:
        return users.to_out(users.get_by_username(session, username))


@router.post(
    "",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a user",
    responses={
        409: {"description": "The username is taken"},
        422: {"description": "Invalid field, or a password that breaks the policy"},
    },
)
def create_user(spec: UserCreate, principal: Editing, state: State) -> UserOut:
    """The password you set must be changed at the first login unless
    ``must_change_password`` is given as false."""
    with state.transaction() as session:
        return accounts.create_user(session, spec, principal, now=state.clock())


@router.patch(
    "/{username}",
    response_model=UserOut,
    summary="Change a user's role, state or name",
    responses={
        **_NOT_FOUND,
        409: {"description": "It would leave no active admin"},
        422: {"description": "Invalid field"},
    },
)
def update_user(username: str, patch: UserPatch, principal: Editing, state: State) -> UserOut:
    """Fields left out stay as they are. ``disabled: true`` ends the user's sessions and
    stops their tokens; ``role`` applies to their sessions and tokens at once."""
    with state.transaction() as session:
        out = accounts.update_user(session, username, patch, principal, now=state.clock())
    state.tokens.clear()  # a role or a disabled owner changes what their tokens may do
    return out


@router.post(
    "/{username}/unlock",
    response_model=UserOut,
    summary="Lift a lockout",
    responses=_NOT_FOUND,
)
def unlock_user(username: str, principal: Editing, state: State) -> UserOut:
    """Lifts a lockout after too many wrong passwords and forgets the failed attempts."""
    with state.transaction() as session:
        return accounts.unlock_user(session, username, principal, now=state.clock())
