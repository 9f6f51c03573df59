"""Maintenance windows: create, list (by state, with their next occurrences), look up,
replace, delete, end now. Every change is audited; windows written in YAML
(``maintenance_windows:``) are read-only here.

A firing alert in scope of an open window is stored and grouped but triggers no automation,
with a decision naming the window; the worker starts no automatic run on a target in an
open window (see ``flows.noise`` and ``flows.maintenance``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy.orm import Session

from sophrosyne.api.deps import State, permit
from sophrosyne.api.errors import ERROR_RESPONSES
from sophrosyne.api.state import utcnow
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.maintenance import service as maintenance
from sophrosyne.domains.maintenance.schemas import MaintenanceOut, MaintenanceSpec, WindowState
from sophrosyne.logging import get_logger

log = get_logger(__name__)
router = APIRouter(prefix="/maintenance", tags=["silences"], responses=ERROR_RESPONSES)


def _audit(
    session: Session,
    principal: Principal,
    action: str,
    out: MaintenanceOut,
    detail: dict[str, object],
) -> None:
    audit.record(
        session,
        actor=principal.actor,
        action=f"maintenance_window.{action}",
        object_type="maintenance_window",
        object_id=out.id,
        detail={"name": out.name, **detail},
        now=utcnow(),
    )
    log.info("maintenance.changed", action=action, name=out.name, by=principal.actor)


@router.post(
    "",
    response_model=MaintenanceOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a maintenance window",
)
def create_window(
    spec: MaintenanceSpec,
    principal: Annotated[Principal, permit("maintenance.edit")],
    state: State,
) -> MaintenanceOut:
    """One-off (``starts_at``, ``ends_at``; times without a zone are UTC) or ``recurrence``
    (daily, weekly on ``days``, monthly on ``days_of_month``, from a local ``start_time`` in
    ``timezone`` for ``duration_minutes``). Scope: ``targets``, ``target_selector`` and/or
    alert ``matchers``. A refusal names the field."""
    now = utcnow()
    with state.transaction() as session:
        window = maintenance.create(session, spec, by=principal.actor, now=now)
        out = maintenance.to_out(window, now)
        _audit(session, principal, "created", out, {"spec": spec.model_dump(mode="json")})
    return out


@router.get("", response_model=list[MaintenanceOut], summary="List maintenance windows")
def list_windows(
    _principal: Annotated[Principal, permit("maintenance.read")],
    state: State,
    window_state: Annotated[
        WindowState | None,
        Query(alias="state", description="active (open now), scheduled (one ahead), expired"),
    ] = None,
) -> list[MaintenanceOut]:
    """Each with the occurrence open now (if any) and the next ones."""
    now = utcnow()
    with state.reading() as session:
        out = [maintenance.to_out(w, now) for w in maintenance.list_all(session)]
    return [w for w in out if window_state is None or w.state == window_state]


@router.get("/{name}", response_model=MaintenanceOut, summary="Look up a maintenance window")
def get_window(
    name: str,
    _principal: Annotated[Principal, permit("maintenance.read")],
    state: State,
) -> MaintenanceOut:
    now = utcnow()
    with state.reading() as session:
        return maintenance.to_out(maintenance.get_by_name(session, name), now)


@router.put("/{name}", response_model=MaintenanceOut, summary="Replace a maintenance window")
def update_window(
    name: str,
    spec: MaintenanceSpec,
    principal: Annotated[Principal, permit("maintenance.edit")],
    state: State,
) -> MaintenanceOut:
    """The body's ``name`` must equal the path's. Refused (409) for a file-managed window."""
    now = utcnow()
    with state.transaction() as session:
        window = maintenance.update(session, name, spec, by=principal.actor, now=now)
        out = maintenance.to_out(window, now)
        _audit(session, principal, "updated", out, {"spec": spec.model_dump(mode="json")})
    return out


@router.delete(
    "/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a maintenance window",
)
def delete_window(
    name: str,
    principal: Annotated[Principal, permit("maintenance.edit")],
    state: State,
) -> Response:
    now = utcnow()
    with state.transaction() as session:
        out = maintenance.to_out(maintenance.get_by_name(session, name), now)
        maintenance.delete(session, name)
        _audit(session, principal, "deleted", out, {})
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{name}/end", response_model=MaintenanceOut, summary="End a window now")
def end_window(
    name: str,
    principal: Annotated[Principal, permit("maintenance.edit")],
    state: State,
) -> MaintenanceOut:
    """Ends the occurrence open now (a one-off window not started yet never starts); later
    occurrences of a recurring window are kept. 409 if nothing is open."""
    now = utcnow()
    with state.transaction() as session:
        window = maintenance.end_now(session, name, now=now)
        out = maintenance.to_out(window, now)
        _audit(session, principal, "ended", out, {"reason": "ended by hand"})
    return out
