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


#: Each report's route: its model (for the OpenAPI document), summary and description.
_ROUTES: tuple[tuple[str, type[BaseModel], str, str], ...] = (
    (
        "overview",
        Overview,
        "Overview report",
        "Alerts, incidents (MTTA, MTTR), runs by state, success rate, series and top alerts.",
    ),
    (
        "actions",
        ActionsReport,
        "Actions report",
        "Per action: runs by outcome, success rate, median and p95 duration, last run.",
    ),
    (
        "servers",
        ServersReport,
        "Servers (targets) report",
        "Per target: runs, failures, success rate, alerts pointing at it, last failure.",
    ),
    (
        "errors",
        ErrorsReport,
        "Errors report",
        "Failed, timed-out and interrupted runs grouped by action and error signature.",
    ),
    (
        "insights",
        InsightsReport,
        "Analysis insights",
        "Observations with evidence: success-rate drops, alerts without automation, fixes "
        "that do not hold, failing targets, the MTTR trend.",
    ),
)


def _endpoint(name: str) -> Any:
    """The route of report ``name``: one signature for all, so each report takes the same
    query parameters and declares the same activity."""

    def answer(
        *,
        _principal: Reading,
        state: State,
        window: WindowName = None,
        start: From = None,
        to: To = None,
        target: TargetName = None,
        format: Format = "json",
    ) -> Response:
        built = report(state, name, window=window, start=start, end=to, target=target)
        return _answer(name, built, format)

    return answer


for _name, _model, _summary, _about in _ROUTES:
    router.add_api_route(
        f"/{_name}",
        _endpoint(_name),
        methods=["GET"],
        response_model=_model,
        summary=_summary,
        description=_about,
        name=f"report_{_name}",
    )
