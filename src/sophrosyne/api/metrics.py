"""Prometheus metrics at ``/metrics``, in the text exposition format.

Not authenticated, like most exporters: it shows counts, never alert contents. Restrict it at
the network (firewall, reverse proxy) if that matters where you run it.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from sophrosyne.api.deps import State
from sophrosyne.api.state import AppState
from sophrosyne.domains.guards import service as guards
from sophrosyne.domains.runs import service as runs
from sophrosyne.domains.runs.states import RunState
from sophrosyne.logging import get_logger

log = get_logger(__name__)
router = APIRouter(tags=["metrics"])


def _refresh_from_database(state: AppState) -> None:
    """Figures true across processes come from the database at scrape time."""
    try:
        with state.reading() as session:
            counts = runs.count_by_state(session)
            paused = guards.automation(session).paused
    except SQLAlchemyError as exc:
        # Keep serving this process's counters; stale gauges beat a failed scrape.
        log.warning("metrics.refresh_failed", error=str(exc).splitlines()[0])
        return
    for run_state, count in counts.items():
        state.metrics.runs_by_state.labels(state=run_state).set(count)
    state.metrics.queue_depth.set(counts.get(RunState.QUEUED.value, 0))
    state.metrics.automation_paused.set(1 if paused else 0)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Text format 0.0.4"}},
)
def metrics(state: State) -> Response:
    """No authentication; see the module documentation."""
    _refresh_from_database(state)
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
