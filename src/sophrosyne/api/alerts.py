"""Reading alerts: search with filters and label matchers, and one alert with its story."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from sophrosyne.api.deps import Principal, State, as_utc, permit
from sophrosyne.api.errors import ERROR_RESPONSES
from sophrosyne.api.schemas import DEFAULT_LIMIT, MAX_LIMIT, AlertDetail, Page, next_cursor
from sophrosyne.domains.alerts import service as alerts
from sophrosyne.domains.alerts.schemas import AlertDecisionOut, AlertEventOut, AlertOut
from sophrosyne.domains.rules.matching import Matcher, MatcherSyntaxError, parse_matcher
from sophrosyne.domains.runs import service as runs
from sophrosyne.domains.runs.schemas import RunOut
from sophrosyne.errors import FieldError, ValidationFailed

router = APIRouter(prefix="/alerts", tags=["alerts"], responses=ERROR_RESPONSES)

#: Runs listed on one alert's page; older ones are reachable through GET /runs?alert_id=.
_RUNS_PER_ALERT = 100


def _matchers(texts: list[str]) -> tuple[Matcher, ...]:
    parsed: list[Matcher] = []
    errors: list[FieldError] = []
    for i, text in enumerate(texts):
        try:
            parsed.append(parse_matcher(text))
        except MatcherSyntaxError as exc:
            errors.append(FieldError(("query", "matcher", i), str(exc)))
    if errors:
        raise ValidationFailed(errors)
    return tuple(parsed)


@router.get("", response_model=Page[AlertOut], summary="Search alerts")
def list_alerts(
    *,
    _principal: Annotated[Principal, permit("alerts.read")],
    state: State,
    status: Literal["firing", "resolved"] | None = None,
    severity: str | None = None,
    source: str | None = None,
    fingerprint: str | None = None,
    since: Annotated[
        datetime | None, Query(description="Last seen at or after (no zone means UTC).")
    ] = None,
    until: Annotated[
        datetime | None, Query(description="Last seen before (no zone means UTC).")
    ] = None,
    matcher: Annotated[
        list[str] | None,
        Query(
            description='Label matcher in Alertmanager syntax, e.g. `service="web"` or '
            '`instance=~"10\\\\..*"`; repeat for several (all must match).'
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    before_id: Annotated[int | None, Query(ge=1, description="Keyset paging cursor.")] = None,
) -> Page[AlertOut]:
    """Newest first. Needs scope ``read``."""
    flt = alerts.AlertFilter(
        status=status,
        severity=severity,
        source=source,
        fingerprint=fingerprint,
        since=as_utc(since),
        until=as_utc(until),
        matchers=_matchers(matcher or []),
    )
    with state.reading() as session:
        found = alerts.search(session, flt, limit=limit, before_id=before_id)
        items = [AlertOut.model_validate(a) for a in found]
    return Page[AlertOut](items=items, next_before_id=next_cursor([a.id for a in items], limit))


@router.get(
    "/{alert_id}",
    response_model=AlertDetail,
    summary="One alert, with its history, rule decisions and runs",
    responses={404: {"description": "No such alert"}},
)
def get_alert(
    alert_id: int, _principal: Annotated[Principal, permit("alerts.read")], state: State
) -> AlertDetail:
    """``decisions`` say why each matching rule did or did not lead to a run (``enqueued``,
    ``awaiting_confirmation``, ``cooldown``, ``template_error``…). Needs scope ``read``."""
    with state.reading() as session:
        alert = alerts.get(session, alert_id)
        return AlertDetail(
            **AlertOut.model_validate(alert).model_dump(),
            history=[AlertEventOut.model_validate(e) for e in alerts.history(session, alert_id)],
            decisions=[
                AlertDecisionOut.model_validate(d) for d in alerts.decisions(session, alert_id)
            ],
            runs=[
                RunOut.model_validate(r)
                for r in runs.search(session, alert_id=alert_id, limit=_RUNS_PER_ALERT)
            ],
        )
