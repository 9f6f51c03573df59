"""An incident's timeline, assembled when it is read.

Only what has no other home is stored in ``incident_timeline`` (status changes, notes,
edits). Alerts joining and changing state, runs and their state changes, approvals and
rejections, tasks and their notes are read from their own tables for the incident's alerts,
so they are recorded once and the timeline can never disagree with them. Ingest therefore
writes nothing per alert for the timeline beyond the incident-alert link it needs anyway.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sophrosyne.domains.alerts.models import Alert, AlertEvent
from sophrosyne.domains.confirmations.models import RunApproval
from sophrosyne.domains.incidents import service
from sophrosyne.domains.incidents.models import Incident, IncidentAlert
from sophrosyne.domains.incidents.schemas import TimelineItem
from sophrosyne.domains.notifications.records import for_subject
from sophrosyne.domains.runs.models import Run, RunEvent
from sophrosyne.domains.tasks.models import Task, TaskNote

#: Order of items at the same instant: the opening first, a resolution last.
_RANK = {"opened": 0, "alert": 1, "run": 2, "approval": 3, "task": 4, "note": 5, "edit": 5}


def _rank(item: TimelineItem) -> int:
    if item.kind == "status":
        return 9 if item.detail.get("to") == "resolved" else 0
    return _RANK.get(item.kind, 6)


def _name(alert: Alert) -> str:
    return str(alert.labels.get("alertname") or alert.fingerprint)


def assemble(session: Session, incident: Incident) -> list[TimelineItem]:
    """Every item of the incident's timeline, oldest first."""
    items = [
        TimelineItem(
            at=e.at,
            kind=e.kind,
            actor=e.actor,
            summary=e.summary,
            detail=e.detail,
            ref_type=e.ref_type,
            ref_id=e.ref_id,
        )
        for e in service.stored_timeline(session, incident.id)
    ]
    links = service.alerts_of(session, incident.id)
    end = incident.resolved_at
    items += _alerts(session, links, end)
    alert_ids = [a.id for _, a in links]
    if alert_ids:
        items += _runs(session, alert_ids, incident.opened_at, end)
        items += _tasks(session, alert_ids, incident.opened_at, end)
    items += _notifications(session, incident)
    items.sort(key=lambda i: (i.at, _rank(i)))
    return items


def _notifications(session: Session, incident: Incident) -> list[TimelineItem]:
    """Every notification about the incident: sent, failed or suppressed, and why."""
    out = []
    for n in for_subject(session, "incident", str(incident.id)):
        where = n.channel or n.recipient or "nobody"
        why = f": {n.reason}" if n.reason else ""
        out.append(
            TimelineItem(
                at=n.finished_at or n.created_at,
                kind="notification",
                actor="sophrosyne",
                summary=f"notification {n.status} ({n.event}) to {where}{why}",
                detail={"route": n.route, "policy": n.policy, "step": n.step},
                ref_type="notification",
                ref_id=n.id,
            )
        )
    return out


def _alerts(
    session: Session, links: list[tuple[IncidentAlert, Alert]], end: datetime | None
) -> list[TimelineItem]:
    out: list[TimelineItem] = []
    joined = {a.id: (link.first_attached_at, a) for link, a in links}
    for at, a in joined.values():
        out.append(
            TimelineItem(
                at=at,
                kind="alert",
                actor=a.source,
                summary=f"alert {_name(a)} joined ({a.fingerprint})",
                detail={"labels": a.labels},
                ref_type="alert",
                ref_id=a.id,
            )
        )
    if not joined:
        return out
    events = session.scalars(
        select(AlertEvent)
        .where(AlertEvent.alert_id.in_(list(joined)), AlertEvent.from_status.is_not(None))
        .order_by(AlertEvent.id)
    )
    for e in events:
        first, a = joined[e.alert_id]
        if e.at < first or (end is not None and e.at > end):
            continue
        out.append(
            TimelineItem(
                at=e.at,
                kind="alert",
                actor=a.source,
                summary=f"alert {_name(a)} {e.to_status} (episode {e.episode})",
                detail={"from": e.from_status, "to": e.to_status},
                ref_type="alert",
                ref_id=a.id,
            )
        )
    return out


def _runs(
    session: Session, alert_ids: list[int], start: datetime, end: datetime | None
) -> list[TimelineItem]:
    stmt = select(Run).where(Run.alert_id.in_(alert_ids), Run.created_at >= start)
    if end is not None:
        stmt = stmt.where(Run.created_at <= end)
    runs = {r.id: r for r in session.scalars(stmt)}
    if not runs:
        return []
    out = []
    events = session.scalars(
        select(RunEvent).where(RunEvent.run_id.in_(list(runs))).order_by(RunEvent.id)
    )
    for e in events:
        run = runs[e.run_id]
        first = e.from_state is None
        what = f"run {run.id} ({run.action_name}) " + (
            f"created: {e.to_state}" if first else f"{e.from_state} → {e.to_state}"
        )
        out.append(
            TimelineItem(
                at=e.at,
                kind="run",
                actor=run.requested_by if first else "system",
                summary=what + (f": {e.reason}" if e.reason and not first else ""),
                detail={"state": e.to_state, "exit_code": run.exit_code},
                ref_type="run",
                ref_id=run.id,
            )
        )
    for ap in session.scalars(select(RunApproval).where(RunApproval.run_id.in_(list(runs)))):
        out.append(
            TimelineItem(
                at=ap.at,
                kind="approval",
                actor=ap.actor,
                summary=f"{ap.decision} run {ap.run_id} ({runs[ap.run_id].action_name})"
                + (f": {ap.comment}" if ap.comment else ""),
                ref_type="run",
                ref_id=ap.run_id,
            )
        )
    return out


def _tasks(
    session: Session, alert_ids: list[int], start: datetime, end: datetime | None
) -> list[TimelineItem]:
    stmt = select(Task).where(Task.alert_id.in_(alert_ids), Task.created_at >= start)
    if end is not None:
        stmt = stmt.where(Task.created_at <= end)
    tasks = {t.id: t for t in session.scalars(stmt)}
    out = []
    for t in tasks.values():
        out.append(_task_item(t, t.created_at, t.created_by, f"task {t.id} opened: {t.title}"))
        for at, verb in (
            (t.acknowledged_at, "acknowledged"),
            (t.done_at, "done"),
            (t.dismissed_at, "dismissed"),
        ):
            if at is not None:
                out.append(_task_item(t, at, t.assignee or "someone", f"task {t.id} {verb}"))
    if tasks:
        for n in session.scalars(select(TaskNote).where(TaskNote.task_id.in_(list(tasks)))):
            out.append(_task_item(tasks[n.task_id], n.at, n.author, f"task note: {n.body}"))
    return out


def _task_item(task: Task, at: datetime, actor: str, summary: str) -> TimelineItem:
    return TimelineItem(
        at=at, kind="task", actor=actor, summary=summary, ref_type="task", ref_id=task.id
    )
