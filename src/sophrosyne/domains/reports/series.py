"""Time series of the reports, counted by the database per bucket: runs by state, and
incidents resolved with their mean time to resolve. Empty buckets are filled in here."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from sophrosyne.db.reporting import BUCKET_FORMAT, seconds_between, time_bucket
from sophrosyne.domains.incidents.models import Incident
from sophrosyne.domains.reports.schemas import OUTCOME_STATES, MttrBucket, StateBucket
from sophrosyne.domains.reports.scope import Scope, rate, run_condition
from sophrosyne.domains.runs.models import Run


def bucket_time(text: str) -> datetime:
    """A bucket's text (``BUCKET_FORMAT``) as an aware UTC datetime."""
    return datetime.strptime(text, BUCKET_FORMAT).replace(tzinfo=UTC)


def in_window(column: Any, scope: Scope) -> ColumnElement[bool]:
    return (column >= scope.window.start) & (column < scope.window.end)  # type: ignore[no-any-return]


def runs_where(session: Session, scope: Scope) -> list[ColumnElement[bool]]:
    """Runs created in the window, on the target if there is one."""
    where = [in_window(Run.created_at, scope)]
    on_target = run_condition(session, scope)
    if on_target is not None:
        where.append(on_target)
    return where


def state_buckets(rows: Iterable[tuple[str, str, int]], scope: Scope) -> list[StateBucket]:
    """``(bucket, state, count)`` rows as one entry per bucket of the window, oldest first."""
    counts: dict[datetime, dict[str, int]] = {at: {} for at in scope.window.bucket_starts()}
    for bucket, state, n in rows:
        counts.setdefault(bucket_time(bucket), {})[state] = int(n)
    out = []
    for at in sorted(counts):
        states = dict(sorted(counts[at].items()))
        outcomes = sum(states.get(s, 0) for s in OUTCOME_STATES)
        out.append(
            StateBucket(
                start=at,
                total=sum(states.values()),
                states=states,
                success_rate=rate(states.get("succeeded", 0), outcomes),
            )
        )
    return out


def runs_over_time(session: Session, scope: Scope) -> list[StateBucket]:
    bucket = time_bucket(session, Run.created_at, scope.window.bucket).label("bucket")
    rows = session.execute(
        select(bucket, Run.state, func.count())
        .where(*runs_where(session, scope))
        .group_by(bucket, Run.state)
    ).all()
    return state_buckets([(b, s, n) for b, s, n in rows], scope)


def mttr_over_time(
    session: Session, scope: Scope, incident_filter: ColumnElement[bool] | None
) -> list[MttrBucket]:
    """Incidents resolved per bucket and their mean time to resolve."""
    bucket = time_bucket(session, Incident.resolved_at, scope.window.bucket).label("bucket")
    where = [Incident.resolved_at.is_not(None), in_window(Incident.resolved_at, scope)]
    if incident_filter is not None:
        where.append(incident_filter)
    rows = session.execute(
        select(
            bucket,
            func.count(),
            func.avg(seconds_between(session, Incident.resolved_at, Incident.opened_at)),
        )
        .where(*where)
        .group_by(bucket)
    ).all()
    found = {bucket_time(b): (int(n), float(m) if m is not None else None) for b, n, m in rows}
    out = []
    for at in sorted(set(scope.window.bucket_starts()) | set(found)):
        n, mean = found.get(at, (0, None))
        out.append(MttrBucket(start=at, resolved=n, mttr_seconds=round(mean, 3) if mean else mean))
    return out
