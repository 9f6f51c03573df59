"""Confirmations: the queue of runs waiting for people, and approving or rejecting one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from sophrosyne.api.deps import State, permit
from sophrosyne.api.errors import ERROR_RESPONSES
from sophrosyne.api.schemas import DEFAULT_LIMIT, MAX_LIMIT, Page, next_cursor
from sophrosyne.api.state import utcnow
from sophrosyne.domains.accounts.service import Principal
from sophrosyne.domains.confirmations import service as confirmations
from sophrosyne.domains.confirmations.schemas import (
    ApproveRequest,
    ConfirmationOut,
    RejectRequest,
)
from sophrosyne.domains.runs.states import RunState
from sophrosyne.flows import approvals

router = APIRouter(tags=["confirmations"], responses=ERROR_RESPONSES)


Approving = Annotated[Principal, permit("runs.approve")]


@router.get("/confirmations", response_model=Page[ConfirmationOut], summary="Runs awaiting people")
def queue(
    *,
    _principal: Annotated[Principal, permit("confirmations.read")],
    state: State,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    before_id: Annotated[int | None, Query(ge=1, description="Keyset paging cursor.")] = None,
) -> Page[ConfirmationOut]:
    """Newest first, each with exactly what will run (argv or request, parameters, targets),
    who asked, why it waits, its deadline, its ``pin`` and the approvals so far."""
    with state.reading() as session:
        found = confirmations.pending(session, limit=limit, before_id=before_id)
        items = confirmations.to_outs(session, found)
    cursor = next_cursor([i.run_id for i in items], limit)
    return Page[ConfirmationOut](items=items, next_before_id=cursor)


@router.post(
    "/runs/{run_id}/approve",
    response_model=ConfirmationOut,
    summary="Approve a run awaiting confirmation",
    responses={
        403: {"description": "You may not approve this run (requester, or not an approver)"},
        409: {"description": "Not waiting, expired, already approved by you, or the pin differs"},
    },
)
def approve(
    run_id: int, req: ApproveRequest, principal: Approving, state: State
) -> ConfirmationOut:
    """Give the ``pin`` you reviewed: if what will run changed, the approval is refused. The
    run is queued once approvals for its current pin reach the action's quorum."""
    now = utcnow()
    with state.transaction() as session:
        verdict = approvals.approve(
            session, run_id, principal, pin=req.pin, comment=req.comment, now=now
        )
        out = confirmations.to_out(session, verdict.run)
    if verdict.queued:
        state.enqueued([run_id])
    return out


@router.post(
    "/runs/{run_id}/reject",
    response_model=ConfirmationOut,
    summary="Reject a run awaiting confirmation",
    responses={409: {"description": "The run is not waiting for confirmation"}},
)
def reject(run_id: int, req: RejectRequest, principal: Approving, state: State) -> ConfirmationOut:
    """Final: the run becomes ``rejected`` with your reason."""
    now = utcnow()
    with state.transaction() as session:
        run = approvals.reject(session, run_id, principal, reason=req.reason, now=now)
        assert run.state == RunState.REJECTED
        return confirmations.to_out(session, run)
