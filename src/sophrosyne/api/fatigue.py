"""The alert fatigue report: ``GET /fatigue?window=7d`` as JSON, or as a CSV attachment."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from sophrosyne.api import memo
from sophrosyne.api.deps import State, permit
from sophrosyne.api.errors import ERROR_RESPONSES
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.fatigue import export
from sophrosyne.domains.fatigue import service as fatigue
from sophrosyne.domains.fatigue.schemas import FatigueReport

router = APIRouter(prefix="/fatigue", tags=["reports"], responses=ERROR_RESPONSES)


@router.get(
    "",
    response_model=FatigueReport,
    summary="Alert fatigue: noisy, short-lived, flapping and never-acted-on alert rules",
    responses={200: {"content": {"text/csv": {}}, "description": "The report (JSON or CSV)"}},
)
def fatigue_report(
    _principal: Annotated[Principal, permit("fatigue.read")],
    state: State,
    window: Annotated[
        str, Query(description="Hours or days ending now: 24h, 7d, 30d, 90d…", max_length=8)
    ] = "7d",
    limit: Annotated[int, Query(ge=1, le=500, description="Offenders listed")] = fatigue.TOP,
    format: Annotated[Literal["json", "csv"], Query(description="json or csv")] = "json",
) -> FatigueReport | Response:
    """Per alert signature (source and ``alertname``): a 0-100 fatigue score with the points
    of each component and recommendations; the team score weights them by firings. The
    formula is in the README (Alert fatigue). Needs scope ``read``."""
    span = fatigue.Window.ending(window, state.clock())
    report = memo.fatigue_report(state, span, limit=limit)
    if format == "csv":
        return Response(
            content=export.to_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="fatigue-{span.name}.csv"',
                "X-Content-Type-Options": "nosniff",
            },
        )
    return report
