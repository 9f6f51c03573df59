"""Attach a batch of stored alerts to incidents, in the ingest transaction.

Called once per ingest transaction with every receipt of it. Only alerts whose state changed
(new, resolved, firing again) are looked at, so Alertmanager's re-sends of firing alerts cost
nothing here. For the rest it does a fixed number of statements whatever the batch size:

* firing alerts already in an open incident (a new episode) are marked firing there again;
* the others are grouped (``domains.incidents.grouping``): one query finds the open incidents
  of the batch's group keys, new incidents are inserted in one statement, links in another;
* resolved alerts mark their links resolved, and an incident whose alerts have all resolved
  is resolved if its ``auto_resolve`` is on.

An alert that arrives already resolved opens no incident. On PostgreSQL, concurrent
transactions that would open an incident for the same group key are serialised by an
advisory lock on the key, so they share one incident.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sophrosyne.db.bulk import insert_rows
from sophrosyne.db.locks import lock_names
from sophrosyne.domains.alerts.service import Receipt, StoredAlert
from sophrosyne.domains.incidents import rules as incident_rules
from sophrosyne.domains.incidents import service as incidents
from sophrosyne.domains.incidents.grouping import GroupingRule, OpenIncident, pick, worst
from sophrosyne.domains.incidents.models import Incident, IncidentAlert
from sophrosyne.domains.incidents.states import IncidentState

_RESOLVED = IncidentState.RESOLVED.value


def _severity(alert: StoredAlert) -> str | None:
    return alert.severity or alert.labels.get("severity") or None


def attach(
    session: Session,
    receipts: Sequence[Receipt],
    *,
    now: datetime,
    default: GroupingRule | None = None,
) -> None:
    """Put the batch's changed alerts into incidents (see the module's docstring)."""
    latest: dict[int, StoredAlert] = {}
    old: set[int] = set()
    for r in receipts:
        if r.changed:
            latest[r.alert.id] = r.alert
            if not r.created:
                old.add(r.alert.id)
    if not latest:
        return
    firing = [a for a in latest.values() if a.status == "firing"]
    gone = [a.id for a in latest.values() if a.status == "resolved" and a.id in old]
    if firing:
        refired = [a for a in firing if a.id in old]
        homed = _refire(session, refired, now=now) if refired else set()
        _group(session, [a for a in firing if a.id not in homed], now=now, default=default)
    if gone:
        _resolve_links(session, gone, now=now)


def _open_ids() -> Any:
    return select(Incident.id).where(Incident.status != _RESOLVED)


def _refire(session: Session, alerts: list[StoredAlert], *, now: datetime) -> set[int]:
    """Alerts firing again that are still in an open incident: mark them firing there."""
    ids = [a.id for a in alerts]
    homes = session.execute(
        select(IncidentAlert.alert_id, IncidentAlert.incident_id).where(
            IncidentAlert.alert_id.in_(ids), IncidentAlert.incident_id.in_(_open_ids())
        )
    ).all()
    if not homes:
        return set()
    homed = {alert_id for alert_id, _ in homes}
    session.execute(
        update(IncidentAlert)
        .where(IncidentAlert.alert_id.in_(homed), IncidentAlert.incident_id.in_(_open_ids()))
        .values(status="firing", last_attached_at=now, resolved_at=None)
    )
    by_id = {a.id: a for a in alerts}
    sev: dict[int, str | None] = {}
    for alert_id, incident_id in homes:
        sev[incident_id] = worst(sev.get(incident_id), _severity(by_id[alert_id]))
    _escalate(session, sev, now=now)
    return homed


def _group(
    session: Session, alerts: list[StoredAlert], *, now: datetime, default: GroupingRule | None
) -> None:
    if not alerts:
        return
    grouping = incident_rules.load(session, default)
    groups: dict[str, tuple[GroupingRule, list[StoredAlert]]] = {}
    for a in alerts:
        rule = grouping.rule_for(a.labels)
        groups.setdefault(rule.key(a.labels), (rule, []))[1].append(a)
    keys = sorted(groups)
    lock_names(session, (f"incident-group:{k}" for k in keys))
    found: dict[str, list[OpenIncident]] = {}
    rows = session.execute(
        select(Incident.id, Incident.group_key, Incident.opened_at, Incident.severity).where(
            Incident.group_key.in_(keys), Incident.status != _RESOLVED
        )
    )
    for incident_id, key, opened_at, severity in rows:
        if key is None:
            continue
        found.setdefault(key, []).append(OpenIncident(incident_id, key, opened_at, severity))
    target: dict[str, int] = {}
    sev: dict[int, str | None] = {}
    new_rows: list[dict[str, Any]] = []
    for key in keys:
        rule, members = groups[key]
        home = pick(found.get(key, ()), rule, now)
        severity = worst(*(_severity(a) for a in members))
        if home is not None:
            target[key] = home.id
            if worst(home.severity, severity) != home.severity:
                sev[home.id] = severity
            continue
        first = members[0]
        new_rows.append(
            {
                "title": rule.title(first.labels),
                "status": IncidentState.TRIGGERED.value,
                "severity": severity,
                "service": (first.labels.get("service") or None),
                "group_key": key,
                "rule_name": rule.name,
                "auto_resolve": rule.auto_resolve,
                "assignee": None,
                "commander": None,
                "summary": "",
                "root_cause": "",
                "follow_ups": [],
                "opened_by": f"grouping:{rule.name}",
                "opened_at": now,
                "acknowledged_at": None,
                "acknowledged_by": None,
                "ack_expires_at": None,
                "resolved_at": None,
                "resolved_by": None,
                "updated_at": now,
            }
        )
    if new_rows:
        made = insert_rows(
            session,
            Incident.__table__,  # type: ignore[arg-type]
            new_rows,
            returning=("id", "group_key", "rule_name"),
        )
        entries = []
        for incident_id, key, rule_name in made:
            target[key] = incident_id
            entries.append(
                incidents.entry(
                    incident_id,
                    at=now,
                    kind="status",
                    actor=f"grouping:{rule_name}",
                    summary=f"opened by grouping rule {rule_name}",
                    detail={"to": IncidentState.TRIGGERED.value, "group_key": key},
                )
            )
        incidents.add_entries(session, entries)
    _escalate(session, sev, now=now)
    links = [
        {
            "incident_id": target[key],
            "alert_id": a.id,
            "status": "firing",
            "first_attached_at": now,
            "last_attached_at": now,
            "resolved_at": None,
        }
        for key in keys
        for a in groups[key][1]
    ]
    insert_rows(
        session,
        IncidentAlert.__table__,  # type: ignore[arg-type]
        links,
        ignore_conflicts_on=("incident_id", "alert_id"),
    )


def _escalate(session: Session, severities: dict[int, str | None], *, now: datetime) -> None:
    """Raise incidents' severity to their worst alert's (never lowers it)."""
    for incident_id, severity in severities.items():
        if severity is None:
            continue
        current = session.scalar(select(Incident.severity).where(Incident.id == incident_id))
        if worst(current, severity) != current:
            session.execute(
                update(Incident)
                .where(Incident.id == incident_id)
                .values(severity=severity, updated_at=now)
            )


def _resolve_links(session: Session, alert_ids: list[int], *, now: datetime) -> None:
    session.execute(
        update(IncidentAlert)
        .where(IncidentAlert.alert_id.in_(alert_ids), IncidentAlert.status == "firing")
        .values(status="resolved", resolved_at=now)
    )
    candidates = set(
        session.scalars(
            select(IncidentAlert.incident_id)
            .join(Incident, Incident.id == IncidentAlert.incident_id)
            .where(
                IncidentAlert.alert_id.in_(alert_ids),
                Incident.status != _RESOLVED,
                Incident.auto_resolve.is_(True),
            )
        )
    )
    if not candidates:
        return
    still = set(
        session.scalars(
            select(IncidentAlert.incident_id).where(
                IncidentAlert.incident_id.in_(candidates), IncidentAlert.status == "firing"
            )
        )
    )
    for incident_id in sorted(candidates - still):
        incidents.transition(
            session,
            incident_id,
            IncidentState.RESOLVED,
            actor="system",
            now=now,
            why="all its alerts resolved",
        )
