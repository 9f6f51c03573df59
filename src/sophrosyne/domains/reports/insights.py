"""The insights report: the figures ``observations`` reasons about, counted by the database
for the window and, where a trend needs it, the previous equal window."""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from sophrosyne.domains.alerts.models import Alert, AlertDecision, AlertEvent
from sophrosyne.domains.reports import observations
from sophrosyne.domains.reports.observations import AlertActivity
from sophrosyne.domains.reports.overview import incident_figures
from sophrosyne.domains.reports.schemas import OUTCOME_STATES, InsightsReport
from sophrosyne.domains.reports.scope import Scope, alert_condition
from sophrosyne.domains.reports.series import in_window, runs_where
from sophrosyne.domains.reports.servers import server_rows
from sophrosyne.domains.runs.models import Run

#: The most frequently firing alerts looked at for the alert insights.
ALERTS_LOOKED_AT = 50


def _outcomes(session: Session, scope: Scope) -> dict[str, tuple[int, int]]:
    """``(succeeded, outcomes)`` per action name."""
    rows = session.execute(
        select(Run.action_name, func.count(case((Run.state == "succeeded", 1))), func.count())
        .where(*runs_where(session, scope), Run.state.in_(OUTCOME_STATES))
        .group_by(Run.action_name)
    ).all()
    return {str(a): (int(ok), int(n)) for a, ok, n in rows}


def alert_activity(session: Session, scope: Scope) -> list[AlertActivity]:
    """The alerts firing at least ``observations.OFTEN`` times, with their runs and
    decisions in the window."""
    fired = func.count().label("fired")
    stmt = (
        select(AlertEvent.alert_id, fired)
        .where(AlertEvent.to_status == "firing", in_window(AlertEvent.at, scope))
        .group_by(AlertEvent.alert_id)
        .having(func.count() >= observations.OFTEN)
        .order_by(fired.desc(), AlertEvent.alert_id)
        .limit(ALERTS_LOOKED_AT)
    )
    pointing = alert_condition(session, scope, AlertEvent.alert_id)
    if pointing is not None:
        stmt = stmt.where(pointing)
    firing = {int(a): int(n) for a, n in session.execute(stmt).all()}
    if not firing:
        return []
    ids = list(firing)
    names = {
        r[0]: (r[1], r[2])
        for r in session.execute(
            select(Alert.id, Alert.labels["alertname"].as_string(), Alert.fingerprint).where(
                Alert.id.in_(ids)
            )
        ).all()
    }
    runs = {
        int(a or 0): (int(n), int(ok))
        for a, n, ok in session.execute(
            select(Run.alert_id, func.count(), func.count(case((Run.state == "succeeded", 1))))
            .where(Run.alert_id.in_(ids), in_window(Run.created_at, scope))
            .group_by(Run.alert_id)
        ).all()
    }
    decisions = {
        int(a): int(n)
        for a, n in session.execute(
            select(AlertDecision.alert_id, func.count())
            .where(AlertDecision.alert_id.in_(ids), in_window(AlertDecision.at, scope))
            .group_by(AlertDecision.alert_id)
        ).all()
    }
    return [
        AlertActivity(
            alertname=names[i][0] or "(no alertname)",
            fingerprint=names[i][1],
            firing=n,
            runs=runs.get(i, (0, 0))[0],
            succeeded=runs.get(i, (0, 0))[1],
            decisions=decisions.get(i, 0),
        )
        for i, n in firing.items()
    ]


def insights(session: Session, scope: Scope) -> InsightsReport:
    before = scope.shifted()
    activity = alert_activity(session, scope)
    now_incidents = incident_figures(session, scope)
    then_incidents = incident_figures(session, before)
    found = [
        *observations.rate_drops(_outcomes(session, scope), _outcomes(session, before)),
        *observations.unanswered(activity),
        *observations.fixes_not_holding(activity),
        *observations.failing_targets(server_rows(session, scope)),
        *observations.mttr_trend(
            now_incidents.mttr_seconds,
            then_incidents.mttr_seconds,
            now_incidents.resolved,
            then_incidents.resolved,
        ),
    ]
    return InsightsReport(**scope.head().model_dump(), insights=observations.ordered(found))
