"""The alert fatigue page: the team score, the worst alert signatures with the points of each
score component and their recommendations, window links and CSV/JSON export links."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from sophrosyne.api import memo
from sophrosyne.api.deps import State
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.fatigue import service as fatigue
from sophrosyne.domains.fatigue.schemas import WINDOWS
from sophrosyne.domains.fatigue.score import WEIGHTS
from sophrosyne.web.guard import PageRoute, page
from sophrosyne.web.render import pages_of

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/fatigue")
def fatigue_page(
    request: Request,
    state: State,
    _principal: Annotated[Principal, page("fatigue.read")],
    window: Annotated[str, Query(max_length=8)] = "7d",
) -> Response:
    span = fatigue.Window.ending(window, state.clock())
    report = memo.fatigue_report(state, span)
    return pages_of(request).render(
        request,
        "fatigue.html",
        {
            "report": report,
            "windows": WINDOWS,
            "weights": WEIGHTS,
            "window": span.name,
        },
    )
