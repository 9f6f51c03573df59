"""Runs: the list, one run with its targets' results and output (followed live through
``GET /api/v1/runs/{id}/stream`` while it is in progress), and cancelling it."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from sophrosyne.api.deps import State
from sophrosyne.api.state import utcnow
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.confirmations import service as confirmations
from sophrosyne.domains.runs import output
from sophrosyne.domains.runs import service as runs
from sophrosyne.domains.runs.states import TERMINAL, RunState
from sophrosyne.web.guard import PageRoute, page, see_other
from sophrosyne.web.render import pages_of

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 50
#: Live chunks drawn into the page; the browser streams the rest.
_CHUNKS_IN_PAGE = 1000


@router.get("/runs")
def run_list(
    *,
    request: Request,
    state: State,
    _principal: Annotated[Principal, page("runs.read")],
    run_state: Annotated[RunState | None, Query(alias="state")] = None,
    action: str = "",
    before_id: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    with state.reading() as session:
        items = runs.search(
            session,
            state=run_state.value if run_state else None,
            action=action or None,
            limit=PAGE_SIZE,
            before_id=before_id,
        )
        next_url = ""
        if len(items) == PAGE_SIZE:
            kept = {"state": run_state.value if run_state else "", "action": action}
            query = {k: v for k, v in kept.items() if v}
            next_url = "/runs?" + urlencode({**query, "before_id": items[-1].id})
        return pages_of(request).render(
            request,
            "runs.html",
            {
                "items": items,
                "states": [s.value for s in RunState],
                "filters": {"state": run_state.value if run_state else "", "action": action},
                "next_url": next_url,
            },
        )


@router.get("/runs/{run_id}")
def run_detail(
    request: Request, run_id: int, state: State, _principal: Annotated[Principal, page("runs.read")]
) -> Response:
    with state.reading() as session:
        run = runs.get(session, run_id)
        finished = RunState(run.state) in TERMINAL
        chunks = [] if finished else output.after(session, run_id, limit=_CHUNKS_IN_PAGE)
        return pages_of(request).render(
            request,
            "run.html",
            {
                "run": run,
                "finished": finished,
                "live_text": "".join(c.text for c in chunks),
                "last_seq": chunks[-1].seq if chunks else 0,
                "events": runs.events(session, run_id),
                "approvals": confirmations.approvals(session, run_id),
            },
        )


@router.post("/runs/{run_id}/cancel")
def cancel(
    run_id: int, state: State, principal: Annotated[Principal, page("runs.cancel")]
) -> Response:
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
            detail={"action": run.action_name, "state": run.state, "via": "web"},
            now=now,
        )
    return see_other(f"/runs/{run_id}?done=cancel")
