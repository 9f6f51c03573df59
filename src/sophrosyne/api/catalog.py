"""The catalog: actions and the rules that trigger them. Every change is audited in its own
transaction, through ``flows.catalog`` as the pages do. Objects loaded from config files
(``managed_by: file``) are read-only here: changing them answers 409."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response, status

from sophrosyne.api.deps import State, permit
from sophrosyne.api.errors import ERROR_RESPONSES
from sophrosyne.api.state import utcnow
from sophrosyne.domains.accounts.service import Principal
from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.actions.schemas import ActionOut, ActionSpec
from sophrosyne.domains.rules import service as rules
from sophrosyne.domains.rules.schemas import RuleOut, RuleSpec
from sophrosyne.flows import catalog

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No object of that name"}}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "Name taken, object in use, or managed by config files (read-only)"}
}
_INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid definition; every wrong field is listed"}
}

actions_router = APIRouter(prefix="/actions", tags=["actions"], responses=ERROR_RESPONSES)
rules_router = APIRouter(prefix="/rules", tags=["rules"], responses=ERROR_RESPONSES)


# --- actions --------------------------------------------------------------------------------


@actions_router.get("", response_model=list[ActionOut], summary="List actions")
def list_actions(
    _principal: Annotated[Principal, permit("actions.read")], state: State
) -> list[ActionOut]:
    """Needs scope ``read``."""
    with state.reading() as session:
        return [ActionOut.model_validate(a) for a in actions.list_all(session)]


@actions_router.get("/{name}", response_model=ActionOut, summary="One action", responses=_NOT_FOUND)
def get_action(
    name: str, _principal: Annotated[Principal, permit("actions.read")], state: State
) -> ActionOut:
    """Needs scope ``read``."""
    with state.reading() as session:
        return ActionOut.model_validate(actions.get_by_name(session, name))


@actions_router.post(
    "",
    response_model=ActionOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create an action",
    responses={**_CONFLICT, **_INVALID},
)
def create_action(
    spec: ActionSpec, principal: Annotated[Principal, permit("actions.edit")], state: State
) -> ActionOut:
    """Argv elements are templates over ``params.NAME`` only; each renders to exactly one
    argument and the command runs without a shell. Needs scope ``write``."""
    with state.transaction() as session:
        action = catalog.create_action(session, spec, actor=principal.actor, now=utcnow())
        return ActionOut.model_validate(action)


@actions_router.put(
    "/{name}",
    response_model=ActionOut,
    summary="Replace an action's definition",
    responses={**_NOT_FOUND, **_CONFLICT, **_INVALID},
)
def update_action(
    name: str,
    spec: ActionSpec,
    principal: Annotated[Principal, permit("actions.edit")],
    state: State,
) -> ActionOut:
    """The body's ``name`` must equal the path's (actions are not renamed). Needs ``write``."""
    with state.transaction() as session:
        action = catalog.update_action(session, name, spec, actor=principal.actor, now=utcnow())
        return ActionOut.model_validate(action)


@actions_router.delete(
    "/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete an action",
    responses={**_NOT_FOUND, **_CONFLICT},
)
def delete_action(
    name: str, principal: Annotated[Principal, permit("actions.edit")], state: State
) -> Response:
    """Refused (409) while rules use it. Past runs keep their record. Needs scope ``write``."""
    with state.transaction() as session:
        catalog.delete_action(session, name, actor=principal.actor, now=utcnow())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- rules ----------------------------------------------------------------------------------


@rules_router.get("", response_model=list[RuleOut], summary="List rules")
def list_rules(
    _principal: Annotated[Principal, permit("rules.read")], state: State
) -> list[RuleOut]:
    """Needs scope ``read``."""
    with state.reading() as session:
        return [rules.to_out(session, r) for r in rules.list_all(session)]


@rules_router.get("/{name}", response_model=RuleOut, summary="One rule", responses=_NOT_FOUND)
def get_rule(
    name: str, _principal: Annotated[Principal, permit("rules.read")], state: State
) -> RuleOut:
    """Needs scope ``read``."""
    with state.reading() as session:
        return rules.to_out(session, rules.get_by_name(session, name))


@rules_router.post(
    "",
    response_model=RuleOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a rule",
    responses={**_CONFLICT, **_INVALID},
)
def create_rule(
    spec: RuleSpec, principal: Annotated[Principal, permit("rules.edit")], state: State
) -> RuleOut:
    """``action`` must name an existing action (else 422 at ``loc: ["action"]``);
    ``parameters`` are templates over ``labels``, ``annotations`` and ``alert``.
    Needs scope ``write``."""
    with state.transaction() as session:
        rule = catalog.create_rule(session, spec, actor=principal.actor, now=utcnow())
        return rules.to_out(session, rule)


@rules_router.put(
    "/{name}",
    response_model=RuleOut,
    summary="Replace a rule's definition",
    responses={**_NOT_FOUND, **_CONFLICT, **_INVALID},
)
def update_rule(
    name: str, spec: RuleSpec, principal: Annotated[Principal, permit("rules.edit")], state: State
) -> RuleOut:
    """The body's ``name`` must equal the path's (rules are not renamed). Needs ``write``."""
    with state.transaction() as session:
        rule = catalog.update_rule(session, name, spec, actor=principal.actor, now=utcnow())
        return rules.to_out(session, rule)


@rules_router.delete(
    "/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a rule",
    responses={**_NOT_FOUND, **_CONFLICT},
)
def delete_rule(
    name: str, principal: Annotated[Principal, permit("rules.edit")], state: State
) -> Response:
    """Needs scope ``write``."""
    with state.transaction() as session:
        catalog.delete_rule(session, name, actor=principal.actor, now=utcnow())
    return Response(status_code=status.HTTP_204_NO_CONTENT)
