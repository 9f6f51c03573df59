"""The database behind the page benchmark: 10,000 alerts (episodes, events, rule decisions,
incidents) and 10,000 runs (every state, targets, output chunks for some), with the catalog,
tasks, articles, silences and audit entries around them, as a busy installation has.

Small things (actions, rules, targets, the admin user…) go through the services in
``pagecatalog``; the large tables are written with bulk Core INSERTs, in batches, so seeding
takes seconds rather than the hours 20,000 HTTP requests would.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, func, select
from sqlalchemy.orm import Session, sessionmaker

import pagecatalog
from pagecatalog import ACTIONS, ADMIN, HOSTS, SERVICES, TARGETS
from sophrosyne.domains.alerts.models import Alert, AlertDecision, AlertEvent
from sophrosyne.domains.audit.models import AuditEntry
from sophrosyne.domains.fixes.models import AppliedFix
from sophrosyne.domains.incidents.models import Incident, IncidentAlert, TimelineEntry
from sophrosyne.domains.runs.models import Run, RunEvent, RunOutput
from sophrosyne.domains.runs.pinning import pin_of_run
from sophrosyne.domains.runs.service import DEFAULT_APPROVAL, HELD_MARKER
from sophrosyne.domains.tasks.models import Task

BATCH = 2000
#: Run states, by weight: most runs are history, some are waiting or in flight.
RUN_STATES = {
    "succeeded": 70,
    "failed": 9,
    "timed_out": 2,
    "cancelled": 2,
    "interrupted": 1,
    "expired": 2,
    "rejected": 1,
    "queued": 5,
    "awaiting_confirmation": 5,
    "running": 3,
}
SEVERITIES = ("critical", "error", "warning", "warning", "info")


@dataclass(frozen=True)
class Size:
    alerts: int = 10_000
    runs: int = 10_000
    incidents: int = 500
    tasks: int = 300
    audit: int = 20_000


def _chunks(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert(conn: Connection, table: Any, rows: Iterable[dict[str, Any]]) -> int:
    done = 0
    target: Table = table.__table__
    for batch in _chunks(rows):
        conn.execute(target.insert(), batch)
        done += len(batch)
    return done


def _labels(i: int) -> dict[str, str]:
    return {
        "alertname": f"PageBench{i % ACTIONS}",
        "service": f"svc-{i % SERVICES:02d}",
        "instance": f"node-{i % HOSTS:03d}",
        "job": "node",
    }


def _alerts(size: Size, now: datetime, rnd: random.Random) -> Iterator[dict[str, Any]]:
    for i in range(size.alerts):
        first = now - timedelta(minutes=size.alerts - i)
        episode = 1 + i % 3
        yield {
            "source": "alertmanager",
            "fingerprint": f"{i:016x}",
            "status": "firing" if rnd.random() < 0.3 else "resolved",
            "labels": _labels(i),
            "annotations": {"summary": f"PageBench{i % ACTIONS} on node-{i % HOSTS:03d}"},
            "severity": SEVERITIES[i % len(SEVERITIES)],
            "generator_url": None,
            "starts_at": first,
            "ends_at": None,
            "first_seen_at": first,
            "last_seen_at": first + timedelta(seconds=30 * episode),
            "episode": episode,
            "episode_started_at": first + timedelta(seconds=20 * episode),
            "occurrences": 1 + i % 5,
            "total_occurrences": episode * 3,
        }


def alerts(conn: Connection, size: Size, now: datetime, rnd: random.Random) -> dict[str, int]:
    """Alerts, their state changes (two per episode) and one rule decision per episode."""
    counts = {"alerts": _insert(conn, Alert, _alerts(size, now, rnd))}
    stored = conn.execute(select(Alert.id, Alert.episode, Alert.first_seen_at, Alert.labels))
    rows = list(stored)
    events: list[dict[str, Any]] = []
    decisions: list[dict[str, Any]] = []
    for alert_id, episodes, first, labels in rows:
        for ep in range(1, episodes + 1):
            at = first + timedelta(seconds=20 * ep)
            events.append(
                {
                    "alert_id": alert_id,
                    "episode": ep,
                    "from_status": None if ep == 1 else "resolved",
                    "to_status": "firing",
                    "at": at,
                }
            )
            events.append(
                {
                    "alert_id": alert_id,
                    "episode": ep,
                    "from_status": "firing",
                    "to_status": "resolved",
                    "at": at + timedelta(seconds=10),
                }
            )
            n = int(labels["alertname"].removeprefix("PageBench"))
            decisions.append(
                {
                    "alert_id": alert_id,
                    "episode": ep,
                    "rule_id": n + 1,
                    "rule_name": f"rule-{n:02d}",
                    "outcome": "queued" if ep == 1 else "cooldown",
                    "detail": "" if ep == 1 else "a run of this rule for it 2 minutes ago",
                    "run_id": None,
                    "at": at,
                }
            )
    counts["alert_events"] = _insert(conn, AlertEvent, events)
    counts["alert_decisions"] = _insert(conn, AlertDecision, decisions)
    return counts


def _run(i: int, state: str, alert_count: int, now: datetime) -> dict[str, Any]:
    n = i % ACTIONS
    created = now - timedelta(seconds=30 * (alert_count - i % alert_count))
    finished = state not in ("queued", "awaiting_confirmation", "running")
    started = state in ("running", "succeeded", "failed", "timed_out", "interrupted")
    hosts = [f"host-{(i + k) % TARGETS:03d}" for k in range(1 + i % 3)] if i % 2 else []
    row: dict[str, Any] = {
        "action_id": n + 1,
        "action_name": f"fix-{n:02d}",
        "kind": "shell",
        "rule_id": n + 1 if i % 5 else None,
        "alert_id": (i % alert_count) + 1 if i % 5 else None,
        "alert_episode": 1 if i % 5 else None,
        "state": state,
        "params": {"service": f"svc-{i % SERVICES:02d}"},
        "argv": ["true", f"svc-{i % SERVICES:02d}"],
        "targets": hosts,
        "request": {},
        "results": [
            {
                "target": h,
                "outcome": state,
                "exit_code": 0 if state == "succeeded" else 1,
                "output": "restarted\n",
            }
            for h in hosts
        ]
        if finished and started
        else [],
        "pin_hash": None,
        "approval": None,
        "expires_at": None,
        "automatic": bool(i % 5),
        "target_concurrency": 1,
        "timeout_seconds": 60,
        "idempotent": False,
        "idempotency_key": f"pagebench:{i}",
        "requested_by": f"rule:rule-{n:02d}" if i % 5 else ADMIN,
        "created_at": created,
        "started_at": created + timedelta(seconds=1) if started else None,
        "finished_at": created + timedelta(seconds=3) if finished else None,
        "worker_id": "bench-worker" if started else None,
        "heartbeat_at": created + timedelta(seconds=2) if started else None,
        "cancel_requested": False,
        "attempt": 1 if started else 0,
        "exit_code": (0 if state == "succeeded" else 1) if started and finished else None,
        "output": "line of output\n" * 20 if started else "",
        "output_truncated": False,
        "error": "exit code 1" if state == "failed" else None,
    }
    if state == "awaiting_confirmation":
        row["approval"] = dict(DEFAULT_APPROVAL)
        row["expires_at"] = now + timedelta(hours=1)

        class _Shape:
            action_name, kind, argv = row["action_name"], row["kind"], row["argv"]
            request, params, targets = row["request"], row["params"], row["targets"]
            timeout_seconds = row["timeout_seconds"]

        row["pin_hash"] = pin_of_run(_Shape)
    return row


def runs(conn: Connection, size: Size, now: datetime, rnd: random.Random) -> dict[str, int]:
    """Runs in every state, two or three events each, and output chunks for those that ran."""
    states = rnd.choices(list(RUN_STATES), weights=list(RUN_STATES.values()), k=size.runs)
    counts = {
        "runs": _insert(conn, Run, (_run(i, s, size.alerts, now) for i, s in enumerate(states)))
    }
    events: list[dict[str, Any]] = []
    chunks: list[dict[str, Any]] = []
    for run_id, state, created in conn.execute(select(Run.id, Run.state, Run.created_at)):
        first = "awaiting_confirmation" if state == "awaiting_confirmation" else "queued"
        reason = HELD_MARKER + "rule mode confirm" if first != "queued" else "created"
        events.append(
            {
                "run_id": run_id,
                "from_state": None,
                "to_state": first,
                "reason": reason,
                "at": created,
            }
        )
        if state not in ("queued", "awaiting_confirmation"):
            events.append(
                {
                    "run_id": run_id,
                    "from_state": first,
                    "to_state": "running",
                    "reason": "claimed",
                    "at": created + timedelta(seconds=1),
                }
            )
        if state not in ("queued", "awaiting_confirmation", "running"):
            events.append(
                {
                    "run_id": run_id,
                    "from_state": "running",
                    "to_state": state,
                    "reason": "finished",
                    "at": created + timedelta(seconds=3),
                }
            )
        if state == "running" or (state == "succeeded" and run_id % 10 == 0):
            chunks += [
                {
                    "run_id": run_id,
                    "seq": k,
                    "text": f"line {k} of output\n",
                    "at": created + timedelta(milliseconds=10 * k),
                }
                for k in range(1, 21)
            ]
    counts["run_events"] = _insert(conn, RunEvent, events)
    counts["run_output"] = _insert(conn, RunOutput, chunks)
    fixes = [
        {
            "alert_id": r.alert_id,
            "alert_episode": 1,
            "alertname": f"PageBench{(r.alert_id - 1) % ACTIONS}",
            "labels": _labels(r.alert_id - 1),
            "kind": "action",
            "name": r.action_name,
            "run_id": r.id,
            "task_id": None,
            "applied_at": r.created_at,
            "recorded_at": r.created_at,
        }
        for r in conn.execute(
            select(Run.id, Run.alert_id, Run.action_name, Run.created_at).where(
                Run.alert_id.is_not(None), Run.state == "succeeded"
            )
        )
    ]
    counts["applied_fixes"] = _insert(conn, AppliedFix, fixes)
    return counts


def incidents(conn: Connection, size: Size, now: datetime) -> dict[str, int]:
    """Incidents, each holding the alerts of one service within a stretch of time."""
    per = max(1, size.alerts // size.incidents // 2)
    rows = []
    for i in range(size.incidents):
        opened = now - timedelta(minutes=size.alerts - i * 2 * per)
        status = ("resolved", "resolved", "acknowledged", "triggered")[i % 4]
        acked = status != "triggered"
        rows.append(
            {
                "title": f"svc-{i % SERVICES:02d} degraded",
                "status": status,
                "severity": SEVERITIES[i % 3],
                "service": f"svc-{i % SERVICES:02d}",
                "group_key": f"service=svc-{i % SERVICES:02d}#{i}",
                "rule_name": None,
                "auto_resolve": True,
                "assignee": ADMIN if i % 3 == 0 else None,
                "commander": None,
                "summary": "",
                "root_cause": "",
                "follow_ups": [],
                "opened_by": "grouping",
                "opened_at": opened,
                "acknowledged_at": opened + timedelta(minutes=5) if acked else None,
                "acknowledged_by": ADMIN if acked else None,
                "ack_expires_at": None,
                "resolved_at": opened + timedelta(hours=1) if status == "resolved" else None,
                "resolved_by": ADMIN if status == "resolved" else None,
                "updated_at": opened,
                "announced_at": opened,
            }
        )
    counts = {"incidents": _insert(conn, Incident, rows)}
    members, timeline = [], []
    for n, (incident_id, opened) in enumerate(
        conn.execute(select(Incident.id, Incident.opened_at))
    ):
        for k in range(per):
            members.append(
                {
                    "incident_id": incident_id,
                    "alert_id": n * 2 * per + k + 1,
                    "status": "resolved",
                    "first_attached_at": opened,
                    "last_attached_at": opened,
                    "resolved_at": None,
                }
            )
        timeline.append(
            {
                "incident_id": incident_id,
                "at": opened,
                "kind": "status",
                "actor": "grouping",
                "summary": "opened",
                "detail": {},
                "ref_type": None,
                "ref_id": None,
            }
        )
    counts["incident_alerts"] = _insert(conn, IncidentAlert, members)
    counts["incident_timeline"] = _insert(conn, TimelineEntry, timeline)
    return counts


def tasks(conn: Connection, size: Size, now: datetime) -> dict[str, int]:
    rows = [
        {
            "recommendation_id": 1,
            "recommendation_name": "reseat-cable",
            "rule_id": None,
            "rule_name": None,
            "alert_id": i + 1,
            "alert_episode": 1,
            "idempotency_key": f"pagebench:{i}",
            "title": f"Reseat the cable of node-{i:03d}",
            "instructions": "Walk to the rack.",
            "instructions_html": "<p>Walk to the rack.</p>",
            "params": {"host": f"node-{i:03d}"},
            "responsible": ["team:dc"],
            "state": ("open", "acknowledged", "done", "dismissed")[i % 4],
            "assignee": ADMIN if i % 2 else None,
            "created_by": "bench",
            "created_at": now,
            "updated_at": now,
            "acknowledged_at": None,
            "done_at": None,
            "dismissed_at": None,
        }
        for i in range(size.tasks)
    ]
    return {"tasks": _insert(conn, Task, rows)}


def audit(conn: Connection, size: Size, now: datetime) -> dict[str, int]:
    rows = (
        {
            "at": now - timedelta(seconds=size.audit - i),
            "actor": f"rule:rule-{i % ACTIONS:02d}",
            "action": ("run.queued", "alert.received", "run.finished")[i % 3],
            "object_type": "run",
            "object_id": str(i % size.runs + 1),
            "detail": {"via": "bench"},
        }
        for i in range(size.audit)
    )
    return {"audit_log": _insert(conn, AuditEntry, rows)}


def seed(sessions: sessionmaker[Session], size: Size, password: str) -> dict[str, int]:
    """Everything, in a few transactions; the row count of each large table."""
    now = datetime.now(UTC)
    rnd = random.Random(5)
    pagecatalog.catalog(sessions, password, now)
    counts: dict[str, int] = {}
    with sessions.begin() as s:
        conn = s.connection()
        counts |= alerts(conn, size, now, rnd)
        counts |= runs(conn, size, now, rnd)
        counts |= incidents(conn, size, now)
        counts |= tasks(conn, size, now)
        counts |= audit(conn, size, now)
        total = conn.execute(select(func.count()).select_from(Alert)).scalar_one()
    if total != size.alerts:
        raise RuntimeError(f"seeded {total} alerts, expected {size.alerts}")
    return counts
