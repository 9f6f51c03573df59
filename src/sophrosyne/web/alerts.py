"""The dashboard, and alerts: the list with filters (status, severity, source, label
matchers, a period of first or last seen, typed as UTC) and keyset paging, and one alert with
its story (labels, annotations, history, why rules did or did not act, runs, past fixes)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from sophrosyne.api.deps import State
from sophrosyne.api.state import utcnow
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.alerts import service as alerts
from sophrosyne.domains.confirmations import service as confirmations
from sophrosyne.domains.fixes import service as fixes
from sophrosyne.domains.incidents import service as incidents
from sophrosyne.domains.incidents.grouping import severity_rank
from sophrosyne.domains.knowledge import service as knowledge
from sophrosyne.domains.rules import service as rules
from sophrosyne.domains.rules.matching import Matcher, MatcherSyntaxError, parse_matcher
from sophrosyne.domains.runs import service as runs
from sophrosyne.domains.runs.states import RunState
from sophrosyne.domains.tasks import service as tasks
from sophrosyne.errors import ValidationFailed
from sophrosyne.web.edits import local_time
from sophrosyne.web.guard import PageRoute, page
from sophrosyne.web.render import pages_of

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 50
_DASHBOARD_ROWS = 10
_SEVERITY_ORDER = ("critical", "error", "warning", "info", "")
Reading = Annotated[Principal, page("alerts.read")]


@router.get("/")
def dashboard(request: Request, state: State, principal: Reading) -> Response:
    """What needs attention now; the page refreshes itself (``data-refresh``)."""
    with state.reading() as session:
        by_severity = alerts.firing_by_severity(session)
        ordered = sorted(
            by_severity.items(),
            key=lambda kv: (
                _SEVERITY_ORDER.index(kv[0]) if kv[0] in _SEVERITY_ORDER else 3.5,
                kv[0],
            ),
        )
        firing = alerts.search(session, alerts.AlertFilter(status="firing"), limit=_DASHBOARD_ROWS)
        running = runs.search(session, state=RunState.RUNNING.value, limit=_DASHBOARD_ROWS)
        failed = sorted(
            [
                *runs.search(session, state=RunState.FAILED.value, limit=_DASHBOARD_ROWS),
                *runs.search(session, state=RunState.TIMED_OUT.value, limit=_DASHBOARD_ROWS),
            ],
            key=lambda r: r.id,
            reverse=True,
        )[:_DASHBOARD_ROWS]
        waiting = confirmations.to_outs(
            session, confirmations.pending(session, limit=_DASHBOARD_ROWS)
        )
        mine = [
            t
            for t in tasks.search(session, assignee=principal.actor, limit=_DASHBOARD_ROWS * 3)
            if t.state in ("open", "acknowledged")
        ][:_DASHBOARD_ROWS]
        open_counts = sorted(
            incidents.open_by_severity(session).items(),
            key=lambda kv: (severity_rank(kv[0]), kv[0] or ""),
        )
        open_incidents = incidents.search(session, open_only=True, limit=_DASHBOARD_ROWS)
        return pages_of(request).render(
            request,
            "dashboard.html",
            {
                "open_counts": open_counts,
                "open_incidents": open_incidents,
                "by_severity": ordered,
                "firing_total": sum(by_severity.values()),
                "firing": firing,
                "running": running,
                "failed": failed,
                "waiting": waiting,
                "mine": mine,
            },
        )


def split_matchers(text: str) -> list[str]:
    """Matchers typed in one field, separated by commas outside quotes (a regex such as
    ``=~"a{1,3}"`` keeps its comma)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _matchers(texts: list[str]) -> tuple[tuple[Matcher, ...], str]:
    parsed: list[Matcher] = []
    for text in texts:
        try:
            parsed.append(parse_matcher(text))
        except MatcherSyntaxError as exc:
            return (), f"{text}: {exc}"
    return tuple(parsed), ""


def _period(since: str, until: str) -> tuple[datetime | None, datetime | None, dict[str, str]]:
    """The time filter's bounds, read as UTC; a bad value is an error under its field."""
    errors: dict[str, str] = {}
    bounds: list[datetime | None] = []
    for field, text in (("since", since), ("until", until)):
        try:
            bounds.append(local_time(text, field))
        except ValidationFailed as exc:
            errors[field] = exc.errors[0].msg
            bounds.append(None)
    start, end = bounds
    if start is not None and end is not None and end <= start:
        errors["until"] = "must be later than From"
    return start, end, errors


@router.get("/alerts")
def alert_list(
    *,
    request: Request,
    state: State,
    _principal: Reading,
    status: Literal["firing", "resolved", ""] = "",
    severity: str = "",
    source: str = "",
    matcher: Annotated[str, Query(description="Matchers separated by commas")] = "",
    since: Annotated[str, Query(max_length=40, description="From (UTC), inclusive")] = "",
    until: Annotated[str, Query(max_length=40, description="Until (UTC), exclusive")] = "",
    seen: Literal["last_seen", "first_seen"] = "last_seen",
    before_id: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    parsed, matcher_error = _matchers(split_matchers(matcher))
    start, end, time_errors = _period(since, until)
    items = []
    if not matcher_error and not time_errors:
        flt = alerts.AlertFilter(
            status=status or None,
            severity=severity or None,
            source=source or None,
            matchers=parsed,
            since=start,
            until=end,
            time_field=seen,
        )
        with state.reading() as session:
            items = alerts.search(session, flt, limit=PAGE_SIZE, before_id=before_id)
    filters = {
        "status": status,
        "severity": severity,
        "source": source,
        "matcher": matcher,
        "since": since.strip(),
        "until": until.strip(),
        "seen": seen if (since.strip() or until.strip()) else "",
    }
    next_url = ""
    if len(items) == PAGE_SIZE:
        kept = {k: v for k, v in filters.items() if v}
        next_url = "/alerts?" + urlencode({**kept, "before_id": items[-1].id})
    return pages_of(request).render(
        request,
        "alerts.html",
        {
            "items": items,
            "filters": {**filters, "seen": seen},
            "matcher_error": matcher_error,
            "time_errors": time_errors,
            "next_url": next_url,
        },
        status_code=422 if matcher_error or time_errors else 200,
    )


@router.get("/alerts/{alert_id}")
def alert_detail(request: Request, alert_id: int, state: State, _principal: Reading) -> Response:
    settings = state.settings
    with state.reading() as session:
        alert = alerts.get(session, alert_id)
        decisions = alerts.decisions(session, alert_id)
        alert_runs = runs.search(session, alert_id=alert_id, limit=100)
        ranking = fixes.ranked(
            session,
            alert.labels,
            window=timedelta(seconds=settings.fix_window_seconds),
            now=utcnow(),
            signature_labels=settings.signature_labels,
        )
        # Actions to run from here: those that ran for it, those of the rules that matched it,
        # those that fixed alerts like it; the catalog has the rest.
        wanted: list[str] = [r.action_name for r in alert_runs]
        by_rule = {r.name: r for r in rules.list_all(session)}
        for d in decisions:
            rule = by_rule.get(d.rule_name)
            named = rules.to_out(session, rule).action if rule is not None else None
            if named:
                wanted.append(named)
        wanted += [f.name for f in ranking.fixes if f.kind == "action"]
        catalog = {a.name: a for a in actions.list_all(session)}
        suggested = [catalog[n] for n in dict.fromkeys(wanted) if n in catalog]
        return pages_of(request).render(
            request,
            "alert.html",
            {
                "alert": alert,
                "history": alerts.history(session, alert_id),
                "decisions": decisions,
                "runs": alert_runs,
                "ranking": ranking,
                "articles": knowledge.for_alert(session, alert.labels),
                "suggested": suggested,
            },
        )
