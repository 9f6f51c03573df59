"""People working incidents and tasks: each change (a status move, an edit, a note) made
through the service and recorded in the audit log, the same way from the JSON API and from
the pages. The edge owns the transaction and passes its session; nothing here commits.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.incidents import service as incidents
from sophrosyne.domains.incidents.models import Incident
from sophrosyne.domains.incidents.states import IncidentState
from sophrosyne.domains.tasks import service as tasks
from sophrosyne.domains.tasks.models import Task, TaskNote
from sophrosyne.domains.tasks.states import TaskState


class Sessions(Protocol):
    """What an edge offers to open sessions (the application's state)."""

    def reading(self) -> AbstractContextManager[Session]: ...

    def transaction(self) -> AbstractContextManager[Session]: ...


def expire_lapsed_acks(sessions: Sessions, *, now: datetime) -> None:
    """Put lapsed acknowledgements back to triggered before showing incidents, so nothing
    ever shows a stale one. Read first: a write (and on SQLite the write lock) only when some
    are due."""
    with sessions.reading() as session:
        due = incidents.any_ack_due(session, now=now)
    if due:
        with sessions.transaction() as session:
            incidents.expire_acks(session, now=now)


def _audit_incident(
    session: Session,
    actor: str,
    *,
    event: str,
    incident: Incident,
    detail: dict[str, Any],
    now: datetime,
) -> None:
    audit.record(
        session,
        actor=actor,
        action=event,
        object_type="incident",
        object_id=incident.id,
        detail={"title": incident.title, **detail},
        now=now,
    )


def move_incident(
    session: Session,
    incident_id: int,
    new: IncidentState,
    *,
    actor: str,
    now: datetime,
    note: str | None = None,
    expires_at: datetime | None = None,
) -> Incident:
    """Acknowledge (optionally until ``expires_at``), resolve or reopen; 409 if illegal."""
    before = incidents.get(session, incident_id, lock=True).status
    incident = incidents.transition(
        session, incident_id, new, actor=actor, now=now, note=note, ack_expires_at=expires_at
    )
    verb = "reopened" if before == IncidentState.RESOLVED else new.value
    detail: dict[str, Any] = {"from": before, "to": incident.status, "note": note}
    if expires_at is not None:
        detail["ack_expires_at"] = expires_at.isoformat()
    _audit_incident(
        session, actor, event=f"incident.{verb}", incident=incident, detail=detail, now=now
    )
    return incident


def edit_incident(
    session: Session,
    incident_id: int,
    changes: dict[str, Any],
    *,
    event: str,
    actor: str,
    now: datetime,
) -> Incident:
    """Set people, severity or the analysis (``event`` names the audit entry)."""
    incident = incidents.edit(session, incident_id, changes, actor=actor, now=now)
    _audit_incident(
        session, actor, event=event, incident=incident, detail={"changes": changes}, now=now
    )
    return incident


def note_incident(
    session: Session, incident_id: int, body: str, *, actor: str, now: datetime
) -> Incident:
    """Add a note to the timeline; the audit keeps its length, the timeline its text."""
    incidents.add_note(session, incident_id, body, actor=actor, now=now)
    incident = incidents.get(session, incident_id)
    _audit_incident(
        session,
        actor,
        event="incident.note_added",
        incident=incident,
        detail={"length": len(body)},
        now=now,
    )
    return incident


def _audit_task(
    session: Session, actor: str, event: str, task: Task, *, detail: dict[str, Any], now: datetime
) -> None:
    audit.record(
        session,
        actor=actor,
        action=event,
        object_type="task",
        object_id=task.id,
        detail={"recommendation": task.recommendation_name, **detail},
        now=now,
    )


def move_task(
    session: Session,
    task_id: int,
    new: TaskState,
    *,
    actor: str,
    now: datetime,
    note: str | None = None,
) -> Task:
    """Acknowledge, finish or dismiss a task, with an optional note; 409 if illegal."""
    before = tasks.get(session, task_id, lock=True).state
    task = tasks.transition(session, task_id, new, actor=actor, now=now, note=note)
    _audit_task(
        session,
        actor,
        f"task.{new.value}",
        task,
        detail={"from": before, "to": task.state, "note": note},
        now=now,
    )
    return task


def note_task(session: Session, task_id: int, body: str, *, actor: str, now: datetime) -> TaskNote:
    task = tasks.get(session, task_id)
    note = tasks.add_note(session, task, author=actor, body=body, now=now)
    _audit_task(session, actor, "task.note_added", task, detail={"note_id": note.id}, now=now)
    return note
