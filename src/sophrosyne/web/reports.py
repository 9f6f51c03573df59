"""Report pages: ``/reports`` (the index) and ``/reports/{name}`` with a window selector
(24h, 7d, 30d, 90d, custom from/to), a target filter, tables, server-drawn SVG charts each
with a table of the same figures, and links to export the report as CSV or JSON (the API)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from sophrosyne.api.deps import State
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.reports import service as reports
from sophrosyne.domains.reports import window as windows
from sophrosyne.domains.reports.schemas import REPORTS, ReportName, StateBucket
from sophrosyne.domains.runs.states import RunState
from sophrosyne.domains.targets import service as targets
from sophrosyne.errors import ValidationFailed
from sophrosyne.web import charts
from sophrosyne.web.guard import PageRoute, page
from sophrosyne.web.render import pages_of

router = APIRouter(route_class=PageRoute, include_in_schema=False)

TITLES = {
    "overview": "Overview",
    "actions": "Actions",
    "servers": "Servers",
    "errors": "Errors",
    "insights": "Analysis insights",
}
ABOUT = {
    "overview": "Alerts, incidents with MTTA and MTTR, runs and their success rate, top alerts.",
    "actions": "Per action: runs by outcome, success rate, median and p95 duration.",
    "servers": "Per target: runs, failures, alerts pointing at it, last failure.",
    "errors": "Failed, timed-out and interrupted runs grouped by error.",
    "insights": "What stands out: drops, alerts without automation, fixes that do not hold.",
}
#: Stacking order of run states in the charts: outcomes first, then what is still pending.
STACK = [
    RunState.SUCCEEDED,
    RunState.FAILED,
    RunState.TIMED_OUT,
    RunState.INTERRUPTED,
    RunState.CANCELLED,
    RunState.RUNNING,
    RunState.QUEUED,
    RunState.AWAITING_CONFIRMATION,
    RunState.EXPIRED,
    RunState.REJECTED,
]
_LABEL_FORMAT = {"hour": "%m-%d %H:00", "day": "%Y-%m-%d", "week": "week of %Y-%m-%d"}


def duration(seconds: float | None) -> str:
    """``42 s``, ``12 min``, ``3.5 h``, ``2.1 d``; an em dash for none."""
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f} %"


def _label(start: datetime, bucket: str) -> str:
    return start.strftime(_LABEL_FORMAT[bucket])


def _run_charts(series: list[StateBucket], bucket: str) -> dict[str, Any]:
    points = [charts.Point(_label(b.start, bucket), b.states) for b in series]
    present = {s for b in series for s in b.states}
    states = [s.value for s in STACK if s.value in present]
    return {
        "states": states,
        "labels": [p.label for p in points],
        "runs_chart": charts.stacked_bars(points, states, title="Runs over time, by state"),
        "rate_chart": charts.line(
            [(p.label, b.success_rate) for p, b in zip(points, series, strict=True)],
            title="Success rate over time",
            fmt=lambda v: f"{v * 100:.0f} %",
        ),
    }


def _charts(name: str, built: Any) -> dict[str, Any]:
    """The charts of report ``name`` (markup) and what their tables need."""
    bucket = built.window.bucket
    if name == "overview":
        mttr = [
            charts.Point(_label(b.start, bucket), {"mttr": (b.mttr_seconds or 0) / 60})
            for b in built.mttr_over_time
        ]
        return {
            **_run_charts(built.runs_over_time, bucket),
            "top_chart": charts.hbars(
                [(f"{a.alertname} ({a.fingerprint[:8]})", a.firing) for a in built.top_alerts],
                title="Alerts that fired most",
            ),
            "mttr_chart": charts.stacked_bars(
                mttr,
                ["mttr"],
                title="Mean time to resolve (minutes)",
                unit=" min",
                fmt=lambda v: f"{v:.0f}",
            ),
        }
    if name == "actions":
        return _run_charts(built.runs_over_time, bucket)
    if name == "servers":
        failing = [(s.target, s.failures) for s in built.servers if s.failures]
        return {"failures_chart": charts.hbars(failing, title="Failed runs per target")}
    return {}


def _local(when: datetime) -> str:
    """A time as an ``<input type="datetime-local">`` value (UTC, to the minute)."""
    return when.strftime("%Y-%m-%dT%H:%M")


def _query(w: windows.Window | None, target: str, raw: dict[str, str]) -> dict[str, str]:
    """The query string that asks for this report again (for links and exports)."""
    base = w.query() if w is not None else {k: v for k, v in raw.items() if v}
    return {**base, **({"target": target} if target else {})}


@router.get("/reports")
def index(request: Request, _principal: Annotated[Principal, page("reports.read")]) -> Response:
    items = [{"name": n, "title": TITLES[n], "about": ABOUT[n]} for n in REPORTS]
    return pages_of(request).render(request, "reports.html", {"reports": items})


@router.get("/reports/{name}")
def report(
    *,
    request: Request,
    name: ReportName,
    state: State,
    _principal: Annotated[Principal, page("reports.read")],
    window: str = "",
    start: Annotated[str, Query(alias="from")] = "",
    to: str = "",
    target: str = "",
) -> Response:
    now = state.clock()
    raw = {"window": window, "from": start, "to": to}
    errors: dict[str, str] = {}
    built = None
    chosen = None
    with state.reading() as session:
        names = targets.names(session)
        try:
            chosen = windows.parse(window, start, to, now=now)
            built = reports.build(session, name, chosen, target, now=now)
        except ValidationFailed as exc:
            errors = {str(e.loc[-1]): e.msg for e in exc.errors}
    query = _query(chosen, target, raw)
    context: dict[str, Any] = {
        "name": name,
        "title": TITLES[name],
        "report": built,
        "errors": errors,
        "targets": names,
        "target": target,
        "window_name": chosen.name if chosen else window,
        "form_from": raw["from"] or (_local(chosen.start) if chosen else ""),
        "form_to": raw["to"] or (_local(chosen.end) if chosen else ""),
        # What the target form sends back besides the target: the window shown.
        "keep": {k: v for k, v in query.items() if k != "target"},
        "presets": [
            (p, "?" + urlencode({"window": p, **({"target": target} if target else {})}))
            for p in windows.PRESETS
        ],
        "export_csv": f"/api/v1/reports/{name}?" + urlencode({**query, "format": "csv"}),
        "export_json": f"/api/v1/reports/{name}?" + urlencode(query),
        "duration": duration,
        "percent": percent,
        "label": (lambda at: _label(at, built.window.bucket)) if built else str,
        **(_charts(name, built) if built is not None else {}),
    }
    return pages_of(request).render(
        request, "report.html", context, status_code=422 if errors else 200
    )
