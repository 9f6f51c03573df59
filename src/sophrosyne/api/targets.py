"""The target inventory. Credentials are write-only: routes set or clear them and show which
kinds a target has, never a value or a ciphertext. Every change is audited (for secrets, only
the kind). Targets loaded from config files (``managed_by: file``) are read-only here (409);
their credentials are still set here, since files never hold secrets."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response, status
from sqlalchemy.orm import Session

from sophrosyne.api.deps import State, permit
from sophrosyne.api.errors import ERROR_RESPONSES
from sophrosyne.api.state import utcnow
from sophrosyne.crypto import Secret
from sophrosyne.domains.accounts.service import Principal
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.targets import service as targets
from sophrosyne.domains.targets.keys import require_keyring
from sophrosyne.domains.targets.schemas import SecretKind, SecretValue, TargetOut, TargetSpec

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No target of that name"}}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "Name taken, or managed by config files (read-only)"}
}
_INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid input; every wrong field is listed"}
}
_NO_KEY: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid value, or no secret key configured (SOPHROSYNE_SECRET_KEY)"}
}

router = APIRouter(prefix="/targets", tags=["targets"], responses=ERROR_RESPONSES)


def _audit(
    session: Session, principal: Principal, event: str, name: str, detail: dict[str, Any]
) -> None:
    audit.record(
        session,
        actor=principal.actor,
        action=event,
        object_type="target",
        object_id=name,
        detail=detail,
        now=utcnow(),
    )


@router.get("", response_model=list[TargetOut], summary="List targets")
def list_targets(
    _principal: Annotated[Principal, permit("targets.read")], state: State
) -> list[TargetOut]:
    """Needs scope ``read``."""
    with state.reading() as session:
        return [targets.to_out(t) for t in targets.list_all(session)]


@router.get("/{name}", response_model=TargetOut, summary="One target", responses=_NOT_FOUND)
def get_target(
    name: str, _principal: Annotated[Principal, permit("targets.read")], state: State
) -> TargetOut:
    """``secrets`` lists the kinds of credential stored, never their values. Needs ``read``."""
    with state.reading() as session:
        return targets.to_out(targets.get_by_name(session, name))


@router.post(
    "",
    response_model=TargetOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a target",
    responses={**_CONFLICT, **_INVALID},
)
def create_target(
    spec: TargetSpec, principal: Annotated[Principal, permit("targets.edit")], state: State
) -> TargetOut:
    """Credentials are set afterwards with ``PUT /targets/{name}/secrets/{kind}``.
    Needs scope ``write``."""
    with state.transaction() as session:
        target = targets.create(session, spec, now=utcnow())
        _audit(session, principal, "target.created", spec.name, spec.model_dump(mode="json"))
        return targets.to_out(target)


@router.put(
    "/{name}",
    response_model=TargetOut,
    summary="Replace a target's definition",
    responses={**_NOT_FOUND, **_CONFLICT, **_INVALID},
)
def update_target(
    name: str,
    spec: TargetSpec,
    principal: Annotated[Principal, permit("targets.edit")],
    state: State,
) -> TargetOut:
    """The body's ``name`` must equal the path's; stored credentials are kept.
    Needs scope ``write``."""
    with state.transaction() as session:
        target = targets.update(session, name, spec, now=utcnow())
        _audit(session, principal, "target.updated", name, spec.model_dump(mode="json"))
        return targets.to_out(target)


@router.delete(
    "/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a target and its credentials",
    responses={**_NOT_FOUND, **_CONFLICT},
)
def delete_target(
    name: str, principal: Annotated[Principal, permit("targets.edit")], state: State
) -> Response:
    """Needs scope ``write``."""
    with state.transaction() as session:
        spec = targets.to_spec(targets.get_by_name(session, name))
        targets.delete(session, name)
        _audit(session, principal, "target.deleted", name, spec.model_dump(mode="json"))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/{name}/secrets/{kind}",
    response_model=TargetOut,
    summary="Set (or replace) a credential of a target",
    responses={**_NOT_FOUND, **_NO_KEY},
)
def set_secret(
    name: str,
    kind: SecretKind,
    body: SecretValue,
    principal: Annotated[Principal, permit("targets.secrets")],
    state: State,
) -> TargetOut:
    """Encrypted at rest with the server's key; the value is never returned. Answers 422
    when the server has no key (``SOPHROSYNE_SECRET_KEY``). Needs scope ``write``."""
    keyring = require_keyring(state.keyring)
    with state.transaction() as session:
        target = targets.get_by_name(session, name)
        value = Secret(body.value.get_secret_value())
        targets.set_secret(session, keyring, target, kind, value, now=utcnow())
        _audit(session, principal, "target.secret_set", name, {"kind": kind})
        return targets.to_out(target)


@router.delete(
    "/{name}/secrets/{kind}",
    response_model=TargetOut,
    summary="Remove a credential of a target",
    responses=_NOT_FOUND,
)
def clear_secret(
    name: str,
    kind: SecretKind,
    principal: Annotated[Principal, permit("targets.secrets")],
    state: State,
) -> TargetOut:
    """404 if the target has no credential of that kind. Needs scope ``write``."""
    with state.transaction() as session:
        target = targets.get_by_name(session, name)
        targets.clear_secret(session, target, kind)
        _audit(session, principal, "target.secret_cleared", name, {"kind": kind})
        return targets.to_out(target)
