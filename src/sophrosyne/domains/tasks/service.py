"""Tasks: open them from recommendations (for an alert, or by hand), move them through their
states, assign them, and keep notes. Services take a session and never commit.

A task opened for an alert has an idempotency key (rule, alert, episode, status), so an alert
that Alertmanager re-sends every few minutes opens its task once per episode. Marking a task
done records an applied fix for its alert, which is what the history of fixes learns from.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sophrosyne.db.bulk import insert_rows
from sophrosyne.domains.alerts.service import StoredAlert
from sophrosyne.domains.fixes import service as fixes
from sophrosyne.domains.recommendations import service as recommendations
from sophrosyne.domains.recommendations.models import Recommendation
from sophrosyne.domains.tasks.models import Task, TaskNote
from sophrosyne.domains.tasks.states import TERMINAL, TaskState, check_transition
from sophrosyne.errors import Conflict, NotFound


def task_key(rule_id: int, alert: StoredAlert) -> str:
    """One task per rule, alert, episode and status, however often the alert is re-sent."""
    return f"task:rule:{rule_id}:alert:{alert.id}:episode:{alert.episode}:{alert.status}"


def existing_keys(session: Session, keys: Collection[str]) -> set[str]:
    """The idempotency keys among ``keys`` that already have a task."""
    if not keys:
        return set()
    found = session.scalars(select(Task.idempotency_key).where(Task.idempotency_key.in_(set(keys))))
    return {k for k in found if k is not None}


def _insert(
    session: Session,
    rec: Recommendation,
    raw: Mapping[str, Any],
    *,
    created_by: str,
    now: datetime,
    alert_id: int | None = None,
    alert_episode: int | None = None,
    rule_id: int | None = None,
    rule_name: str | None = None,
    key: str | None = None,
    assignee: str | None = None,
) -> int | None:
    rendered = recommendations.render_for(rec, raw)  # ValidationFailed names the parameter
    row = {
        "recommendation_id": rec.id,
        "recommendation_name": rec.name,
        "rule_id": rule_id,
        "rule_name": rule_name,
        "alert_id": alert_id,
        "alert_episode": alert_episode,
        "idempotency_key": key,
        "title": rendered.title,
        "instructions": rendered.instructions,
        "instructions_html": rendered.instructions_html,
        "params": rendered.params,
        "responsible": list(rec.responsible),
        "state": TaskState.OPEN.value,
        "assignee": assignee,
        "created_by": created_by,
        "created_at": now,
        "updated_at": now,
        "acknowledged_at": None,
        "done_at": None,
        "dismissed_at": None,
    }
    inserted = insert_rows(
        session,
        Task.__table__,  # type: ignore[arg-type]
        [row],
        returning=("id",),
        ignore_conflicts_on=("idempotency_key",) if key else None,
    )
    return int(inserted[0][0]) if inserted else None


def create_for_alert(
    session: Session,
    *,
    recommendation: Recommendation,
    raw_params: Mapping[str, Any],
    alert: StoredAlert,
    rule_id: int,
    rule_name: str,
    now: datetime,
) -> Task | None:
    """Open the task a rule wants for ``alert``; None if this episode already has it.

    ``raw_params`` are the rule's parameter templates already rendered over the alert;
    they are validated against the recommendation's typed parameters (``ValidationFailed``).
    """
    task_id = _insert(
        session,
        recommendation,
        raw_params,
        created_by=f"rule:{rule_name}",
        now=now,
        alert_id=alert.id,
        alert_episode=alert.episode,
        rule_id=rule_id,
        rule_name=rule_name,
        key=task_key(rule_id, alert),
    )
    return None if task_id is None else get(session, task_id)


def create_manual(
    session: Session,
    recommendation: Recommendation,
    raw_params: Mapping[str, Any],
    *,
    actor: str,
    now: datetime,
    alert_id: int | None = None,
    assignee: str | None = None,
) -> Task:
    """Open a task by hand (from the API), optionally about an alert."""
    episode = None
    if alert_id is not None:
        from sophrosyne.domains.alerts import service as alerts

        episode = alerts.get(session, alert_id).episode
    task_id = _insert(
        session,
        recommendation,
        raw_params,
        created_by=actor,
        now=now,
        alert_id=alert_id,
        alert_episode=episode,
        assignee=assignee,
    )
    assert task_id is not None  # no idempotency key, so never skipped
    return get(session, task_id)


def get(session: Session, task_id: int, *, lock: bool = False) -> Task:
    stmt = select(Task).where(Task.id == task_id)
    if lock:
        stmt = stmt.with_for_update()
    task = session.scalar(stmt.execution_options(populate_existing=True))
    if task is None:
        raise NotFound("task", task_id)
    return task


def search(
    session: Session,
    *,
    state: str | None = None,
    assignee: str | None = None,
    alert_id: int | None = None,
    recommendation: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[Task]:
    """Newest first, keyset-paged by id."""
    stmt = select(Task).order_by(Task.id.desc())
    if state:
        stmt = stmt.where(Task.state == state)
    if assignee:
        stmt = stmt.where(Task.assignee == assignee)
    if alert_id is not None:
        stmt = stmt.where(Task.alert_id == alert_id)
    if recommendation:
        stmt = stmt.where(Task.recommendation_name == recommendation)
    if before_id is not None:
        stmt = stmt.where(Task.id < before_id)
    return list(session.scalars(stmt.limit(limit)))


def notes(session: Session, task_id: int) -> list[TaskNote]:
    return list(
        session.scalars(select(TaskNote).where(TaskNote.task_id == task_id).order_by(TaskNote.id))
    )


def add_note(session: Session, task: Task, *, author: str, body: str, now: datetime) -> TaskNote:
    note = TaskNote(task_id=task.id, author=author, body=body, at=now)
    session.add(note)
    task.updated_at = now
    session.flush()
    return note


def transition(
    session: Session,
    task_id: int,
    new: TaskState,
    *,
    actor: str,
    now: datetime,
    note: str | None = None,
) -> Task:
    """Move a task to ``new`` if the table allows it (else 409), with an optional note.

    Acknowledging an unassigned task assigns it to whoever acknowledged it. Marking a task
    about an alert done records the fix for the history of fixes.
    """
    task = get(session, task_id, lock=True)
    check_transition(task.state, new)
    task.state = new.value
    task.updated_at = now
    if new == TaskState.ACKNOWLEDGED:
        task.acknowledged_at = now
        task.assignee = task.assignee or actor
    elif new == TaskState.DONE:
        task.done_at = now
    elif new == TaskState.DISMISSED:
        task.dismissed_at = now
    if note:
        add_note(session, task, author=actor, body=note, now=now)
    if new == TaskState.DONE and task.alert_id is not None:
        fixes.record_task(session, task, now=now)
    session.flush()
    return task


def assign(session: Session, task_id: int, assignee: str | None, *, now: datetime) -> Task:
    task = get(session, task_id, lock=True)
    if TaskState(task.state) in TERMINAL:
        raise Conflict(f"task {task_id} is {task.state}; it cannot be reassigned")
    task.assignee = assignee
    task.updated_at = now
    session.flush()
    return task
