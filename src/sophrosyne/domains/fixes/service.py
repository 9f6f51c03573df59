"""The history of fixes: record what was applied for an alert, and rank what worked.

``record_run`` is called when a run for an alert finishes (the worker step), ``record_task``
when a task about an alert is marked done. Both are idempotent. Ranking reads the applied
fixes of one alert name, keeps those whose labels have the alert's signature, and judges each
from ``alert_events``: did its episode resolve within the window after the fix began?
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from sophrosyne.domains.alerts.models import Alert, AlertEvent
from sophrosyne.domains.fixes.models import AppliedFix
from sophrosyne.domains.fixes.ranking import Attempt, judge, rank
from sophrosyne.domains.fixes.schemas import FixOut, FixRanking
from sophrosyne.domains.fixes.signature import DEFAULT_LABELS, signature
from sophrosyne.logging import get_logger

log = get_logger(__name__)

ACTION = "action"
RECOMMENDATION = "recommendation"
#: Only runs that did what they were asked count as applied fixes.
_APPLIED_RUN_STATES = frozenset({"succeeded"})


class RunLike(Protocol):
    id: int
    alert_id: int | None
    alert_episode: int | None
    action_name: str
    state: str
    created_at: datetime
    started_at: datetime | None


class TaskLike(Protocol):
    id: int
    alert_id: int | None
    alert_episode: int | None
    recommendation_name: str
    created_at: datetime
    acknowledged_at: datetime | None


def record(
    session: Session,
    *,
    alert_id: int,
    episode: int,
    kind: str,
    name: str,
    applied_at: datetime,
    now: datetime,
    run_id: int | None = None,
    task_id: int | None = None,
) -> AppliedFix | None:
    """Record one applied fix (None if that run or task was already recorded)."""
    if run_id is not None and session.scalar(
        select(AppliedFix.id).where(AppliedFix.run_id == run_id)
    ):
        return None
    if task_id is not None and session.scalar(
        select(AppliedFix.id).where(AppliedFix.task_id == task_id)
    ):
        return None
    alert = session.get(Alert, alert_id)
    if alert is None:
        return None
    labels = {str(k): str(v) for k, v in alert.labels.items()}
    fix = AppliedFix(
        alert_id=alert_id,
        alert_episode=episode,
        alertname=labels.get("alertname", "")[:200],
        labels=labels,
        kind=kind,
        name=name,
        run_id=run_id,
        task_id=task_id,
        applied_at=applied_at,
        recorded_at=now,
    )
    session.add(fix)
    session.flush()
    log.info("fix.recorded", kind=kind, name=name, alert_id=alert_id, episode=episode)
    return fix


def record_run(session: Session, run: RunLike, *, now: datetime) -> AppliedFix | None:
    """A finished run for an alert: an applied fix if it succeeded; it began when it started."""
    if run.alert_id is None or run.state not in _APPLIED_RUN_STATES:
        return None
    return record(
        session,
        alert_id=run.alert_id,
        episode=run.alert_episode or 1,
        kind=ACTION,
        name=run.action_name,
        applied_at=run.started_at or run.created_at,
        now=now,
        run_id=run.id,
    )


def record_task(session: Session, task: TaskLike, *, now: datetime) -> AppliedFix | None:
    """A task done for an alert: work began when it was acknowledged (or opened, if it went
    straight to done)."""
    if task.alert_id is None:
        return None
    return record(
        session,
        alert_id=task.alert_id,
        episode=task.alert_episode or 1,
        kind=RECOMMENDATION,
        name=task.recommendation_name,
        applied_at=task.acknowledged_at or task.created_at,
        now=now,
        task_id=task.id,
    )


def _resolutions(session: Session, alert_ids: set[int]) -> dict[tuple[int, int], datetime]:
    """(alert id, episode) → when that episode resolved (its first ``resolved`` event)."""
    out: dict[tuple[int, int], datetime] = {}
    if not alert_ids:
        return out
    rows = session.execute(
        select(AlertEvent.alert_id, AlertEvent.episode, AlertEvent.at)
        .where(AlertEvent.alert_id.in_(alert_ids), AlertEvent.to_status == "resolved")
        .order_by(AlertEvent.id)
    )
    for alert_id, episode, at in rows:
        out.setdefault((alert_id, episode), at)
    return out


def ranked(
    session: Session,
    labels: Mapping[str, str],
    *,
    window: timedelta,
    now: datetime,
    signature_labels: Sequence[str] = DEFAULT_LABELS,
) -> FixRanking:
    """Past fixes for alerts with the signature of ``labels``, best first."""
    sig = signature(labels, signature_labels)
    fixes = [
        f
        for f in session.scalars(
            select(AppliedFix)
            .where(AppliedFix.alertname == labels.get("alertname", ""))
            .order_by(AppliedFix.id)
        )
        if f.alert_id is not None and signature(f.labels, signature_labels) == sig
    ]
    resolved = _resolutions(session, {f.alert_id for f in fixes if f.alert_id is not None})
    attempts = []
    for f in fixes:
        assert f.alert_id is not None
        outcome, took = judge(
            f.applied_at, resolved.get((f.alert_id, f.alert_episode)), window=window, now=now
        )
        attempts.append(Attempt(f.kind, f.name, outcome, took))
    return FixRanking(
        signature=sig,
        window_seconds=int(window.total_seconds()),
        fixes=[
            FixOut(
                kind=s.kind,
                name=s.name,
                attempts=s.attempts,
                successes=s.successes,
                pending=s.pending,
                success_rate=round(s.success_rate, 4),
                score=round(s.score, 4),
                median_seconds_to_resolve=s.median_seconds,
                summary=s.summary(sig),
            )
            for s in rank(attempts)
        ],
    )
