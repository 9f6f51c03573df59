"""The confirmations queue: exactly what will run, approved with the pin that was shown, or
rejected with a reason (the same services as ``/api/v1/runs/{id}/approve|reject``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from sophrosyne.api.deps import State
from sophrosyne.api.state import utcnow
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.confirmations import service as confirmations
from sophrosyne.flows import approvals
from sophrosyne.web.guard import PageRoute, page, see_other
from sophrosyne.web.render import pages_of

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 50
Approving = Annotated[Principal, page("runs.approve")]


@router.get("/confirmations")
def queue(
    request: Request,
    state: State,
    principal: Annotated[Principal, page("confirmations.read")],
    before_id: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    with state.reading() as session:
        found = confirmations.pending(session, limit=PAGE_SIZE, before_id=before_id)
        items = confirmations.to_outs(session, found)
    next_url = f"/confirmations?before_id={items[-1].run_id}" if len(items) == PAGE_SIZE else ""
    return pages_of(request).render(
        request,
        "confirmations.html",
        {"items": items, "next_url": next_url, "me": principal.actor},
    )


@router.post("/runs/{run_id}/approve")
def approve(
    run_id: int,
    state: State,
    principal: Approving,
    pin: Annotated[str, Form()] = "",
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    now = utcnow()
    with state.transaction() as session:
        verdict = approvals.approve(
            session, run_id, principal, pin=pin, comment=comment, now=now, via="web"
        )
    if verdict.queued:
        state.enqueued([run_id])
        return see_other(f"/runs/{run_id}?done=queued")
    return see_other("/confirmations?done=approved")


@router.post("/runs/{run_id}/reject")
def reject(
    request: Request,
    run_id: int,
    state: State,
    principal: Approving,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    reason = reason.strip()
    if not reason:
        with state.reading() as session:
            found = confirmations.pending(session, limit=PAGE_SIZE)
            items = confirmations.to_outs(session, found)
        return pages_of(request).render(
            request,
            "confirmations.html",
            {
                "items": items,
                "next_url": "",
                "me": principal.actor,
                "reject_errors": {run_id: "a reason is required to reject"},
            },
            status_code=422,
        )
    now = utcnow()
    with state.transaction() as session:
        approvals.reject(session, run_id, principal, reason=reason, now=now, via="web")
    return see_other("/confirmations?done=rejected")
