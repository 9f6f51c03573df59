"""Reports: overview, actions, servers (targets), errors and analysis insights over a time
window (``window=24h|7d|30d|90d``, or ``custom`` with ``from`` and ``to``), optionally
narrowed to one target, as JSON or, with ``format=csv``, as a CSV download of the report's
main table (``domains.reports.tables`` says which)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.responses import Response

from sophrosyne.api.deps import Principal, State, permit
from sophrosyne.api.errors import ERROR_RESPONSES
from sophrosyne.domains.reports import service as reports
from sophrosyne.domains.reports import tables
from sophrosyne.domains.reports import window as windows
from sophrosyne.domains.reports.schemas import (
    ActionsReport,
    ErrorsReport,
    InsightsReport,
    Overview,
    ServersReport,
)

Reading = Annotated[Principal, permit("reports.read")]
WindowName = Annotated[
    str | None, Query(description="24h, 7d (default), 30d, 90d or custom (with from and to)")
]
From = Annotated[
    str | None, Query(alias="from", description="Start of a custom window (ISO 8601, UTC)")
]
To = Annotated[str | None, Query(description="End of a custom window (default: now)")]
TargetName = Annotated[str | None, Query(description="Narrow to this target (by name)")]
Format = Annotated[Literal["json", "csv"], Query(description="json (default) or csv")]

_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "The report (CSV with format=csv)"},
    422: {"description": "A bad window, from, to or target; the field is named"},
}

router = APIRouter(prefix="/reports", tags=["reports"], responses={**ERROR_RESPONSES, **_CSV})


def report(
    state: State,
    name: str,
    *,
    window: str | None,
    start: str | None,
    end: str | None,
    target: str | None,
) -> BaseModel:
    """Build report ``name``: the shared path of the API and the pages."""
    now = state.clock()
    chosen = windows.parse(window, start, end, now=now)
    with state.reading() as session:
        return reports.build(session, name, chosen, target, now=now)


def csv_response(name: str, built: BaseModel) -> Response:
    return Response(
        tables.to_csv(built),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="sophrosyne-{name}.csv"'},
    )


def _answer(name: str, built: BaseModel, fmt: str) -> Response:
    if fmt == "csv":
        return csv_response(name, built)
    return JSONResponse(built.model_dump(mode="json"))


@router.get("/overview", response_model=Overview, summary="Overview report")
def overview(
    *,
    _principal: Reading,
    state: State,
    window: WindowName = None,
    start: From = None,
    to: To = None,
    target: TargetName = None,
    format: Format = "json",
) -> Response:
    """Alerts, incidents (MTTA, MTTR), runs by state, success rate, series and top alerts."""
    return _answer(
        "overview",
        report(state, "overview", window=window, start=start, end=to, target=target),
        format,
    )


@router.get("/actions", response_model=ActionsReport, summary="Actions report")
def actions(
    *,
    _principal: Reading,
    state: State,
    window: WindowName = None,
    start: From = None,
    to: To = None,
    target: TargetName = None,
    format: Format = "json",
) -> Response:
    """Per action: runs by outcome, success rate, median and p95 duration, last run."""
    return _answer(
        "actions",
        report(state, "actions", window=window, start=start, end=to, target=target),
        format,
    )


@router.get("/servers", response_model=ServersReport, summary="Servers (targets) report")
def servers(
    *,
    _principal: Reading,
    state: State,
    window: WindowName = None,
    start: From = None,
    to: To = None,
    target: TargetName = None,
    format: Format = "json",
) -> Response:
    """Per target: runs, failures, success rate, alerts pointing at it, last failure."""
    return _answer(
        "servers",
        report(state, "servers", window=window, start=start, end=to, target=target),
        format,
    )


@router.get("/errors", response_model=ErrorsReport, summary="Errors report")
def errors(
    *,
    _principal: Reading,
    state: State,
    window: WindowName = None,
    start: From = None,
    to: To = None,
    target: TargetName = None,
    format: Format = "json",
) -> Response:
    """Failed, timed-out and interrupted runs grouped by action and error signature."""
    return _answer(
        "errors", report(state, "errors", window=window, start=start, end=to, target=target), format
    )


@router.get("/insights", response_model=InsightsReport, summary="Analysis insights")
def insights(
    *,
    _principal: Reading,
    state: State,
    window: WindowName = None,
    start: From = None,
    to: To = None,
    target: TargetName = None,
    format: Format = "json",
) -> Response:
    """Observations with evidence: success-rate drops, alerts without automation, fixes that
    do not hold, failing targets, the MTTR trend."""
    return _answer(
        "insights",
        report(state, "insights", window=window, start=start, end=to, target=target),
        format,
    )
