"""The servers report: per target, its runs, failures, success rate and last failure, and the
alerts pointing at it (see ``scope``) that fired in the window.

Runs are counted per name in ``runs.targets`` by the database. Alerts are counted per value
of each host label by the database; those few distinct values are then mapped to targets
here with ``rules.targeting.host_part``, the same rule the rules use. An alert pointing at a
target through two different labels counts once per label.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select, true, type_coerce
from sqlalchemy.orm import Session

from sophrosyne.db.reporting import json_strings
from sophrosyne.db.types import UTCDateTime
from sophrosyne.domains.alerts.models import Alert, AlertEvent
from sophrosyne.domains.reports.schemas import FAILURE_STATES, ServerRow, ServersReport
from sophrosyne.domains.reports.scope import Scope, rate
from sophrosyne.domains.reports.series import in_window
from sophrosyne.domains.rules.targeting import host_part
from sophrosyne.domains.runs.models import Run
from sophrosyne.domains.targets.models import Target


@dataclass
class _Tally:
    runs: int = 0
    succeeded: int = 0
    failures: int = 0
    last_failure_at: datetime | None = None
    alerts: int = 0
    firing: int = 0
    in_inventory: bool = False


def _run_tallies(
    session: Session, scope: Scope
) -> dict[str, tuple[int, int, int, datetime | None]]:
    names = json_strings(session, Run.targets)
    failed = Run.state.in_(FAILURE_STATES)
    stmt = (
        select(
            names.c.value,
            func.count(),
            func.count(case((Run.state == "succeeded", 1))),
            func.count(case((failed, 1))),
            func.max(
                type_coerce(
                    case((failed, func.coalesce(Run.finished_at, Run.created_at))), UTCDateTime()
                )
            ),
        )
        .select_from(Run)
        .join(names, true())
        .where(in_window(Run.created_at, scope))
        .group_by(names.c.value)
    )
    if scope.target is not None:
        stmt = stmt.where(names.c.value == scope.target.name)
    out = {}
    for name, runs, ok, bad, last in session.execute(stmt).all():
        out[str(name)] = (int(runs), int(ok), int(bad), last)
    return out


def _alert_tallies(session: Session, scope: Scope) -> list[tuple[str, int, int]]:
    """``(label value, distinct alerts, firing events)`` for every host label's values."""
    # Count each alert's firings first, so labels are read once per alert, not per event.
    fired = (
        select(AlertEvent.alert_id, func.count().label("n"))
        .where(AlertEvent.to_status == "firing", in_window(AlertEvent.at, scope))
        .group_by(AlertEvent.alert_id)
        .subquery()
    )
    out: list[tuple[str, int, int]] = []
    for label in scope.host_labels:
        value = Alert.labels[label].as_string()
        rows = session.execute(
            select(value, func.count(), func.sum(fired.c.n))
            .select_from(fired)
            .join(Alert, Alert.id == fired.c.alert_id)
            .where(value.is_not(None))
            .group_by(value)
        ).all()
        out.extend((str(v), int(a), int(n)) for v, a, n in rows)
    return out


def server_rows(session: Session, scope: Scope) -> list[ServerRow]:
    inventory = session.execute(select(Target.name, Target.address)).all()
    if scope.target is not None:
        inventory = [t for t in inventory if t.name == scope.target.name]
    tallies: dict[str, _Tally] = {t.name: _Tally(in_inventory=True) for t in inventory}
    for name, (runs, ok, bad, last) in _run_tallies(session, scope).items():
        tally = tallies.setdefault(name, _Tally())
        tally.runs, tally.succeeded, tally.failures, tally.last_failure_at = runs, ok, bad, last
    by_host: dict[str, list[str]] = {}
    for t in inventory:
        for host in {t.name, t.address}:
            by_host.setdefault(host, []).append(t.name)
    for value, alerts, firing in _alert_tallies(session, scope):
        for name in by_host.get(host_part(value), []):
            tallies[name].alerts += alerts
            tallies[name].firing += firing
    rows = [
        ServerRow(
            target=name,
            in_inventory=t.in_inventory,
            runs=t.runs,
            succeeded=t.succeeded,
            failures=t.failures,
            success_rate=rate(t.succeeded, t.succeeded + t.failures),
            alerts=t.alerts,
            firing=t.firing,
            last_failure_at=t.last_failure_at,
        )
        for name, t in tallies.items()
    ]
    # Most failures first, then most runs, then by name: never the database's order.
    return sorted(rows, key=lambda r: (-r.failures, -r.runs, r.target))


def servers(session: Session, scope: Scope) -> ServersReport:
    return ServersReport(**scope.head().model_dump(), servers=server_rows(session, scope))
