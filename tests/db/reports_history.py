"""A known history for the report tests: two targets, three alerts with their episodes, runs
of two actions with states and durations over several days, and incidents, written straight
into the tables with fixed times so every figure of every report can be worked out by hand.

The reference time is ``NOW`` (2026-11-22 12:00 UTC); the 7-day window is
[2026-11-15 12:00, 2026-11-22 12:00) and the previous one [11-08 12:00, 11-15 12:00).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from sophrosyne.domains.alerts.models import Alert, AlertEvent
from sophrosyne.domains.incidents.models import Incident, IncidentAlert
from sophrosyne.domains.runs.models import Run
from sophrosyne.domains.targets import service as targets
from sophrosyne.domains.targets.schemas import TargetSpec

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


def _alert(
    session: Session,
    fingerprint: str,
    alertname: str,
    status: str,
    events: list[tuple[str, datetime]],
    **labels: str,
) -> int:
    first = events[0][1]
    alert = Alert(
        source="alertmanager",
        fingerprint=fingerprint,
        status=status,
        labels={"alertname": alertname, **labels},
        annotations={},
        first_seen_at=first,
        last_seen_at=events[-1][1],
        episode=sum(1 for s, _ in events if s == "firing"),
        episode_started_at=first,
    )
    session.add(alert)
    session.flush()
    previous: str | None = None
    episode = 0
    for to_status, when in events:
        episode += to_status == "firing"
        session.add(
            AlertEvent(
                alert_id=alert.id,
                episode=episode,
                from_status=previous,
                to_status=to_status,
                at=when,
            )
        )
        previous = to_status
    return alert.id


def _run(
    session: Session,
    action: str,
    state: str,
    names: list[str],
    created: datetime,
    seconds: float | None,
    *,
    alert_id: int | None = None,
    exit_code: int | None = None,
    output: str = "",
    error: str | None = None,
) -> int:
    started = created + timedelta(seconds=1) if seconds is not None else None
    run = Run(
        action_name=action,
        kind="shell",
        state=state,
        params={},
        argv=["true"],
        targets=names,
        alert_id=alert_id,
        timeout_seconds=300,
        idempotent=False,
        requested_by="test",
        created_at=created,
        started_at=started,
        finished_at=started + timedelta(seconds=seconds) if started and seconds else None,
        exit_code=exit_code,
        output=output,
        error=error,
    )
    session.add(run)
    session.flush()
    return run.id


def _incident(
    session: Session,
    title: str,
    opened: datetime,
    acked: datetime | None,
    resolved: datetime | None,
    alert_ids: list[int],
) -> None:
    incident = Incident(
        title=title,
        status="resolved" if resolved else ("acknowledged" if acked else "triggered"),
        follow_ups=[],
        opened_by="test",
        opened_at=opened,
        acknowledged_at=acked,
        resolved_at=resolved,
        updated_at=resolved or acked or opened,
    )
    session.add(incident)
    session.flush()
    for alert_id in alert_ids:
        session.add(
            IncidentAlert(
                incident_id=incident.id,
                alert_id=alert_id,
                status="firing",
                first_attached_at=opened,
                last_attached_at=opened,
            )
        )


def build(session: Session) -> dict[str, Any]:
    """Write the history; the ids of what the tests refer to."""
    for name, address in (("web-1", "web-1"), ("db-1", "10.0.0.5")):
        targets.create(session, TargetSpec(name=name, address=address), now=at(1, 0))
    high = _alert(
        session,
        "a1",
        "HighLoad",
        "firing",
        [
            ("firing", at(20, 10)),
            ("resolved", at(20, 11)),
            ("firing", at(21, 10)),
            ("resolved", at(21, 10, 30)),
            ("firing", at(22, 9)),
        ],
        instance="web-1:9100",
    )
    disk = _alert(
        session,
        "a2",
        "DiskFull",
        "resolved",
        [
            ("firing", at(10, 0)),
            ("resolved", at(10, 1)),
            ("firing", at(18, 8)),
            ("resolved", at(18, 9)),
        ],
        instance="10.0.0.5:9100",
    )
    noisy = _alert(
        session,
        "a3",
        "Noisy",
        "firing",
        [
            ("firing", at(19, 1)),
            ("resolved", at(19, 1, 30)),
            ("firing", at(19, 2)),
            ("resolved", at(19, 2, 30)),
            ("firing", at(19, 3)),
        ],
    )
    # The previous window: restart always succeeded.
    for day in (10, 11, 12):
        _run(session, "restart", "succeeded", ["web-1"], at(day, 6), 5, exit_code=0)
    # The window, in the order they were made.
    _run(session, "cleanup", "failed", ["db-1"], at(16, 13), 50, exit_code=2, output="disk full\nx")
    _run(session, "cleanup", "succeeded", ["db-1", "web-1"], at(17, 12), 60, exit_code=0)
    failed_cleanup = _run(
        session, "cleanup", "failed", ["db-1"], at(18, 8, 1), 40,
        alert_id=disk, exit_code=2, output="disk full\n",
    )  # fmt: skip
    _run(
        session, "cleanup", "timed_out", ["db-1"], at(18, 8, 30), 299,
        alert_id=disk, error="timed out after 300 s",
    )  # fmt: skip
    _run(session, "restart", "succeeded", ["web-1"], at(20, 10, 1), 10, alert_id=high, exit_code=0)
    _run(session, "restart", "succeeded", ["web-1"], at(21, 10, 1), 20, alert_id=high, exit_code=0)
    failed_restart = _run(
        session, "restart", "failed", ["web-1"], at(22, 9, 1), 30,
        alert_id=high, exit_code=1, output="Error: unit not found\nmore",
    )  # fmt: skip
    _run(session, "restart", "queued", ["web-1"], at(22, 11), None)
    _incident(session, "before", at(10, 0), None, at(10, 1), [disk])
    _incident(session, "disk", at(18, 8), None, at(18, 10), [disk])
    _incident(session, "load", at(20, 10), at(20, 10, 10), at(20, 11), [high])
    _incident(session, "load again", at(21, 10), at(21, 10, 20), None, [high])
    return {
        "high": high,
        "disk": disk,
        "noisy": noisy,
        "failed_cleanup": failed_cleanup,
        "failed_restart": failed_restart,
    }
