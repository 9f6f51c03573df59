"""Runs: start an action by hand, follow runs, cancel them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from sophrosyne.api.deps import Principal, State, permit
from sophrosyne.api.errors import ERROR_RESPONSES
from sophrosyne.api.schemas import DEFAULT_LIMIT, MAX_LIMIT, Page, next_cursor
from sophrosyne.api.state import utcnow
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.confirmations import service as confirmations
from sophrosyne.domains.runs import service as runs
from sophrosyne.domains.runs.schemas import (
    ManualRunRequest,
    RunApprovalOut,
    RunDetail,
    RunEventOut,
    RunOut,
)
from sophrosyne.domains.runs.states import RunState
from sophrosyne.flows.manual import run_for

router = APIRouter(tags=["runs"], responses=ERROR_RESPONSES)


@router.post(
    "/actions/{name}/runs",
    response_model=RunOut,
    status_code=status.HTTP_201_CREATED,
    summary="Run an action by hand",
    responses={
        404: {"description": "No such action"},
        422: {"description": "A parameter is missing, unknown or invalid (loc: params.NAME)"},
    },
)
def start_run(
    name: str,
    req: ManualRunRequest,
    principal: Annotated[Principal, permit("runs.create")],
    state: State,
) -> RunOut:
    """Parameters are validated against the action's typed parameters and each one becomes
    exactly one literal argument; the command runs without a shell. The run is queued at once.
    Needs scope ``write``."""
    with state.transaction() as session:
        run = run_for(
            session,
            name,
            req.params,
            principal,
            targets=req.targets,
            selector=req.selector,
            now=utcnow(),
        )
        out = RunOut.model_validate(run)
    if out.state == RunState.QUEUED:
        state.enqueued([out.id])
    return out


@router.get("/runs", response_model=Page[RunOut], summary="List runs")
def list_runs(
    *,
    _principal: Annotated[Principal, permit("runs.read")],
    state: State,
    run_state: Annotated[RunState | None, Query(alias="state")] = None,
    action: str | None = None,
    alert_id: int | None = None,
    rule_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    before_id: Annotated[int | None, Query(ge=1, description="Keyset paging cursor.")] = None,
) -> Page[RunOut]:
    """Newest first. Needs scope ``read``."""
    with state.reading() as session:
        found = runs.search(
            session,
            state=run_state.value if run_state else None,
            action=action,
            alert_id=alert_id,
            rule_id=rule_id,
            limit=limit,
            before_id=before_id,
        )
        items = [RunOut.model_validate(r) for r in found]
    return Page[RunOut](items=items, next_before_id=next_cursor([r.id for r in items], limit))


@router.get(
    "/runs/{run_id}",
    response_model=RunDetail,
    summary="One run, with its output and state history",
    responses={404: {"description": "No such run"}},
)
def get_run(
    run_id: int, _principal: Annotated[Principal, permit("runs.read")], state: State
) -> RunDetail:
    """Needs scope ``read``."""
    with state.reading() as session:
        run = runs.get(session, run_id)
        return RunDetail(
            **RunOut.model_validate(run).model_dump(),
            output=run.output,
            events=[RunEventOut.model_validate(e) for e in runs.events(session, run_id)],
            approvals=[
                RunApprovalOut.model_validate(a) for a in confirmations.approvals(session, run_id)
            ],
        )


@router.post(
    "/runs/{run_id}/cancel",
    response_model=RunOut,
    summary="Cancel a run",
    responses={
        404: {"description": "No such run"},
        409: {"description": "The run has already finished"},
    },
)
def cancel_run(
    run_id: int, principal: Annotated[Principal, permit("runs.cancel")], state: State
) -> RunOut:
    """A queued or unconfirmed run is cancelled at once; a running one is asked to stop (its
    worker kills it and records ``cancelled``; ``cancel_requested`` is true meanwhile).
    Needs scope ``write``."""
    now = utcnow()
    with state.transaction() as session:
        run = runs.request_cancel(
            session, run_id, reason=f"cancel requested by {principal.actor}", now=now
        )
        audit.record(
            session,
            actor=principal.actor,
            action="run.cancel_requested",
            object_type="run",
            object_id=run.id,
            detail={"action": run.action_name, "state": run.state},
            now=now,
        )
        return RunOut.model_validate(run)
