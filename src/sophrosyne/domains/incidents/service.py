"""Incidents: open them by hand, move them through their lifecycle, assign them, add notes,
find them. Services take a session and never commit.

Status changes, notes and edits are written to ``incident_timeline`` with who and when; the
rest of the timeline is read from where it already lives (``domains.incidents.timeline``).
An acknowledgement may carry an expiry: ``expire_acks`` puts lapsed ones back to triggered,
recorded at the moment they lapsed, and every incident route calls it first (lazily), so an
expired acknowledgement is never shown as current.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sophrosyne.db.bulk import insert_rows
from sophrosyne.domains.alerts.models import Alert
from sophrosyne.domains.incidents import stats as figures
from sophrosyne.domains.incidents.grouping import worst
from sophrosyne.domains.incidents.models import Incident, IncidentAlert, TimelineEntry
from sophrosyne.domains.incidents.schemas import IncidentCreate, IncidentStats
from sophrosyne.domains.incidents.states import OPEN, IncidentState, check_transition
from sophrosyne.errors import NotFound, ValidationFailed

S = IncidentState


def entry(
    incident_id: int,
    *,
    at: datetime,
    kind: str,
    actor: str,
    summary: str,
    detail: dict[str, Any] | None = None,
    ref_type: str | None = None,
    ref_id: int | None = None,
) -> dict[str, Any]:
    """A timeline row, for ``add_entries``."""
    return {
        "incident_id": incident_id,
        "at": at,
        "kind": kind,
        "actor": actor,
        "summary": summary,
        "detail": detail or {},
        "ref_type": ref_type,
        "ref_id": ref_id,
    }


def add_entries(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    insert_rows(session, TimelineEntry.__table__, rows)  # type: ignore[arg-type]


def get(session: Session, incident_id: int, *, lock: bool = False) -> Incident:
    stmt = select(Incident).where(Incident.id == incident_id)
    if lock:
        stmt = stmt.with_for_update()
    incident = session.scalar(stmt.execution_options(populate_existing=True))
    if incident is None:
        raise NotFound("incident", incident_id)
    return incident


def search(
    session: Session,
    *,
    status: str | None = None,
    severity: str | None = None,
    service: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    before_id: int | None = None,
    open_only: bool = False,
) -> list[Incident]:
    """Newest first, keyset-paged by id; ``since``/``until`` bound the opening time;
    ``open_only``: triggered or acknowledged."""
    stmt = select(Incident).order_by(Incident.id.desc())
    if status:
        stmt = stmt.where(Incident.status == status)
    if open_only:
        stmt = stmt.where(Incident.status.in_([s.value for s in OPEN]))
    if severity:
        stmt = stmt.where(Incident.severity == severity)
    if service:
        stmt = stmt.where(Incident.service == service)
    if since is not None:
        stmt = stmt.where(Incident.opened_at >= since)
    if until is not None:
        stmt = stmt.where(Incident.opened_at < until)
    if before_id is not None:
        stmt = stmt.where(Incident.id < before_id)
    return list(session.scalars(stmt.limit(limit)))


def open_by_severity(session: Session) -> dict[str | None, int]:
    """How many incidents are open (triggered or acknowledged), per severity."""
    rows = session.execute(
        select(Incident.severity, func.count())
        .where(Incident.status.in_([s.value for s in OPEN]))
        .group_by(Incident.severity)
    )
    return {severity: int(n) for severity, n in rows}


def alerts_of(session: Session, incident_id: int) -> list[tuple[IncidentAlert, Alert]]:
    rows = session.execute(
        select(IncidentAlert, Alert)
        .join(Alert, Alert.id == IncidentAlert.alert_id)
        .where(IncidentAlert.incident_id == incident_id)
        .order_by(IncidentAlert.first_attached_at, IncidentAlert.id)
    )
    return [(link, alert) for link, alert in rows]


def create(session: Session, data: IncidentCreate, *, actor: str, now: datetime) -> Incident:
    """Open an incident by hand, optionally with alerts already stored."""
    found = {a.id: a for a in session.scalars(select(Alert).where(Alert.id.in_(data.alert_ids)))}
    missing = [i for i, a in enumerate(data.alert_ids) if a not in found]
    if missing:
        raise ValidationFailed.single(
            ("alert_ids", missing[0]), f"no alert {data.alert_ids[missing[0]]}"
        )
    severity = data.severity or worst(*(a.severity for a in found.values()))
    incident = Incident(
        title=data.title,
        status=S.TRIGGERED.value,
        severity=severity,
        service=data.service,
        group_key=None,
        rule_name=None,
        auto_resolve=data.auto_resolve,
        assignee=data.assignee,
        commander=data.commander,
        summary=data.summary,
        root_cause="",
        follow_ups=[],
        opened_by=actor,
        opened_at=now,
        updated_at=now,
    )
    session.add(incident)
    session.flush()
    links = [
        {
            "incident_id": incident.id,
            "alert_id": a.id,
            "status": a.status,
            "first_attached_at": now,
            "last_attached_at": now,
            "resolved_at": None,
        }
        for a in found.values()
    ]
    insert_rows(session, IncidentAlert.__table__, links)  # type: ignore[arg-type]
    add_entries(
        session,
        [entry(incident.id, at=now, kind="status", actor=actor, summary="opened by hand")],
    )
    return incident


def transition(
    session: Session,
    incident_id: int,
    new: IncidentState,
    *,
    actor: str,
    now: datetime,
    note: str | None = None,
    ack_expires_at: datetime | None = None,
    why: str = "",
) -> Incident:
    """Move an incident to ``new`` if the table allows it (else 409), with a timeline entry."""
    incident = get(session, incident_id, lock=True)
    before = incident.status
    check_transition(before, new)
    incident.status = new.value
    incident.updated_at = now
    if new == S.ACKNOWLEDGED:
        incident.acknowledged_at = incident.acknowledged_at or now
        incident.acknowledged_by = actor
        incident.ack_expires_at = ack_expires_at
        incident.assignee = incident.assignee or actor
    elif new == S.RESOLVED:
        incident.resolved_at = now
        incident.resolved_by = actor
        incident.ack_expires_at = None
    else:  # back to triggered: reopened, or an acknowledgement lapsed
        incident.ack_expires_at = None
        if before == S.RESOLVED:
            incident.resolved_at = None
            incident.resolved_by = None
    verb = {S.ACKNOWLEDGED: "acknowledged", S.RESOLVED: "resolved"}.get(new, "triggered again")
    if before == S.RESOLVED:
        verb = "reopened"
    summary = verb + (f" until {ack_expires_at:%Y-%m-%d %H:%M:%S} UTC" if ack_expires_at else "")
    detail: dict[str, Any] = {"from": before, "to": new.value}
    if why:
        detail["why"] = why
        summary += f" ({why})"
    rows = [entry(incident.id, at=now, kind="status", actor=actor, summary=summary, detail=detail)]
    if note:
        rows.append(entry(incident.id, at=now, kind="note", actor=actor, summary=note))
    add_entries(session, rows)
    session.flush()
    return incident


def expire_acks(session: Session, *, now: datetime) -> list[int]:
    """Acknowledgements past their expiry go back to triggered; the ids of those incidents."""
    due = list(
        session.scalars(
            select(Incident)
            .where(
                Incident.status == S.ACKNOWLEDGED.value,
                Incident.ack_expires_at.is_not(None),
                Incident.ack_expires_at <= now,
            )
            .with_for_update()
        )
    )
    for incident in due:
        at = incident.ack_expires_at or now
        transition(
            session, incident.id, S.TRIGGERED, actor="system", now=at, why="acknowledgement expired"
        )
    return [i.id for i in due]


def any_ack_due(session: Session, *, now: datetime) -> bool:
    """Whether ``expire_acks`` has anything to do (a read; takes no write lock)."""
    found = session.scalar(
        select(Incident.id)
        .where(Incident.status == S.ACKNOWLEDGED.value, Incident.ack_expires_at <= now)
        .limit(1)
    )
    return found is not None


def edit(
    session: Session, incident_id: int, changes: dict[str, Any], *, actor: str, now: datetime
) -> Incident:
    """Set fields (assignee, commander, severity, summary, root cause, follow-ups) and record
    what changed from what, one timeline entry per edit."""
    incident = get(session, incident_id, lock=True)
    changed = {
        k: [getattr(incident, k), v] for k, v in changes.items() if getattr(incident, k) != v
    }
    if not changed:
        return incident
    for k, (_, v) in changed.items():
        setattr(incident, k, v)
    incident.updated_at = now
    parts = []
    for k, (old, new) in changed.items():
        if k in ("summary", "root_cause"):
            parts.append(f"{k.replace('_', ' ')} updated")
        elif k == "follow_ups":
            parts.append(f"{len(new)} follow-up(s)")
        else:
            parts.append(f"{k}: {old or 'none'} → {new or 'none'}")
    add_entries(
        session,
        [
            entry(
                incident.id,
                at=now,
                kind="edit",
                actor=actor,
                summary="; ".join(parts),
                detail={"changes": changed},
            )
        ],
    )
    session.flush()
    return incident


def add_note(session: Session, incident_id: int, body: str, *, actor: str, now: datetime) -> None:
    incident = get(session, incident_id, lock=True)
    incident.updated_at = now
    add_entries(session, [entry(incident.id, at=now, kind="note", actor=actor, summary=body)])


def stored_timeline(session: Session, incident_id: int) -> list[TimelineEntry]:
    return list(
        session.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.incident_id == incident_id)
            .order_by(TimelineEntry.at, TimelineEntry.id)
        )
    )


def stats(session: Session, *, since: datetime, until: datetime) -> IncidentStats:
    """MTTA and MTTR of the incidents opened in [since, until)."""
    rows = session.execute(
        select(
            Incident.opened_at,
            Incident.acknowledged_at,
            Incident.resolved_at,
            Incident.service,
            Incident.severity,
        ).where(Incident.opened_at >= since, Incident.opened_at < until)
    ).all()
    facts = [figures.Facts(*r) for r in rows]
    return IncidentStats(
        since=since,
        until=until,
        overall=figures.figures(facts),
        by_service=figures.by(facts, "service"),
        by_severity=figures.by(facts, "severity"),
        per_week=figures.per_week(facts),
    )
