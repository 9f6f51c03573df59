"""The overview report: alerts received, firing and resolved; incidents opened and resolved
with MTTA and MTTR; runs by state and their success rate; runs and MTTR over time; the alerts
that fired most. Everything is counted by the database.

MTTA and MTTR follow ``incidents.stats``: time to acknowledge is acknowledged - opened for
the incidents opened in the window; time to resolve is resolved - opened, here for the
incidents *resolved* in the window (so a trend shows when resolutions happen).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from sophrosyne.db.reporting import seconds_between
from sophrosyne.domains.alerts.models import Alert, AlertEvent
from sophrosyne.domains.incidents.models import Incident, IncidentAlert
from sophrosyne.domains.reports.schemas import (
    OUTCOME_STATES,
    AlertFigures,
    IncidentFigures,
    Overview,
    RunFigures,
    TopAlert,
)
from sophrosyne.domains.reports.scope import Scope, alert_condition, rate
from sophrosyne.domains.reports.series import in_window, mttr_over_time, runs_over_time, runs_where
from sophrosyne.domains.runs.models import Run

TOP_ALERTS = 10


def incident_condition(session: Session, scope: Scope) -> ColumnElement[bool] | None:
    """Incidents holding an alert that points at the scope's target."""
    pointing = alert_condition(session, scope, IncidentAlert.alert_id)
    if pointing is None:
        return None
    return Incident.id.in_(select(IncidentAlert.incident_id).where(pointing))


def _events(session: Session, scope: Scope, to_status: str) -> int:
    stmt = (
        select(func.count())
        .select_from(AlertEvent)
        .where(AlertEvent.to_status == to_status, in_window(AlertEvent.at, scope))
    )
    pointing = alert_condition(session, scope, AlertEvent.alert_id)
    if pointing is not None:
        stmt = stmt.where(pointing)
    return int(session.execute(stmt).scalar_one())


def alert_figures(session: Session, scope: Scope) -> AlertFigures:
    pointing = alert_condition(session, scope, Alert.id)
    extra = [] if pointing is None else [pointing]
    new = session.execute(
        select(func.count()).where(in_window(Alert.first_seen_at, scope), *extra)
    ).scalar_one()
    now_firing = session.execute(
        select(func.count()).where(Alert.status == "firing", *extra)
    ).scalar_one()
    return AlertFigures(
        new=int(new),
        firing=_events(session, scope, "firing"),
        resolved=_events(session, scope, "resolved"),
        firing_now=int(now_firing),
    )


def _mean(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)


def incident_figures(session: Session, scope: Scope) -> IncidentFigures:
    narrowed = incident_condition(session, scope)
    extra = [] if narrowed is None else [narrowed]
    tta = seconds_between(session, Incident.acknowledged_at, Incident.opened_at)
    opened, acknowledged, mtta = session.execute(
        select(func.count(), func.count(Incident.acknowledged_at), func.avg(tta)).where(
            in_window(Incident.opened_at, scope), *extra
        )
    ).one()
    ttr = seconds_between(session, Incident.resolved_at, Incident.opened_at)
    resolved, mttr = session.execute(
        select(func.count(), func.avg(ttr)).where(
            Incident.resolved_at.is_not(None), in_window(Incident.resolved_at, scope), *extra
        )
    ).one()
    return IncidentFigures(
        opened=int(opened),
        resolved=int(resolved),
        acknowledged=int(acknowledged),
        mtta_seconds=_mean(mtta),
        mttr_seconds=_mean(mttr),
    )


def run_figures(session: Session, scope: Scope) -> RunFigures:
    rows = session.execute(
        select(Run.state, func.count()).where(*runs_where(session, scope)).group_by(Run.state)
    ).all()
    by_state = {str(s): int(n) for s, n in sorted(rows)}
    outcomes = sum(by_state.get(s, 0) for s in OUTCOME_STATES)
    return RunFigures(
        total=sum(by_state.values()),
        by_state=by_state,
        success_rate=rate(by_state.get("succeeded", 0), outcomes),
    )


def top_alerts(session: Session, scope: Scope, limit: int = TOP_ALERTS) -> list[TopAlert]:
    """The alerts that started firing most often in the window (ties: lowest id first)."""
    fired = func.count().label("fired")
    stmt = (
        select(AlertEvent.alert_id, fired)
        .where(AlertEvent.to_status == "firing", in_window(AlertEvent.at, scope))
        .group_by(AlertEvent.alert_id)
        .order_by(fired.desc(), AlertEvent.alert_id)
        .limit(limit)
    )
    pointing = alert_condition(session, scope, AlertEvent.alert_id)
    if pointing is not None:
        stmt = stmt.where(pointing)
    counted = session.execute(stmt).all()
    ids = [int(a) for a, _ in counted]
    if not ids:
        return []
    about = {
        row.id: row
        for row in session.execute(
            select(Alert.id, Alert.fingerprint, Alert.labels["alertname"].as_string()).where(
                Alert.id.in_(ids)
            )
        ).all()
    }
    runs = dict(
        session.execute(
            select(Run.alert_id, func.count())
            .where(Run.alert_id.in_(ids), in_window(Run.created_at, scope))
            .group_by(Run.alert_id)
        ).all()
    )
    return [
        TopAlert(
            alert_id=alert_id,
            alertname=about[alert_id][2] or "(no alertname)",
            fingerprint=about[alert_id].fingerprint,
            firing=int(n),
            runs=int(runs.get(alert_id, 0)),
        )
        for alert_id, n in ((int(a), n) for a, n in counted)
    ]


def overview(session: Session, scope: Scope) -> Overview:
    return Overview(
        **scope.head().model_dump(),
        alerts=alert_figures(session, scope),
        incidents=incident_figures(session, scope),
        runs=run_figures(session, scope),
        runs_over_time=runs_over_time(session, scope),
        top_alerts=top_alerts(session, scope),
        mttr_over_time=mttr_over_time(session, scope, incident_condition(session, scope)),
    )
