"""Incidents on both backends: grouping at ingest, lifecycle, ack expiry, auto-resolve,
timeline order with who and when."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from sophrosyne.domains.incidents import rules as incident_rules
from sophrosyne.domains.incidents import service as incidents
from sophrosyne.domains.incidents import timeline
from sophrosyne.domains.incidents.models import Incident, IncidentAlert
from sophrosyne.domains.incidents.schemas import IncidentCreate, IncidentRuleSpec
from sophrosyne.domains.incidents.states import IllegalIncidentTransition, IncidentState
from sophrosyne.domains.rules.service import RuleCache
from sophrosyne.flows.ingest import ingest
from tests.factories import incoming_alert

S = IncidentState


def _ingest(session: Session, now: datetime, *alerts: object) -> None:
    ingest(session, list(alerts), actor="test", rules=RuleCache(), now=now)  # type: ignore[arg-type]
    session.commit()


def _all(session: Session) -> list[Incident]:
    return list(session.scalars(select(Incident).order_by(Incident.id)))


def _members(session: Session, incident_id: int) -> list[str]:
    return sorted(a.fingerprint for _, a in incidents.alerts_of(session, incident_id))


def test_same_group_within_the_window_joins_one_incident(session: Session, now: datetime) -> None:
    _ingest(session, now, incoming_alert("a1", service="web", severity="warning"))
    _ingest(
        session,
        now + timedelta(minutes=30),
        incoming_alert("a2", service="web", severity="critical", instance="2"),
    )
    [incident] = _all(session)
    assert _members(session, incident.id) == ["a1", "a2"]
    assert incident.severity == "critical"  # the worst of its alerts
    assert incident.status == "triggered" and incident.service == "web"
    assert incident.rule_name == "default" and incident.title == "Down (service=web)"


def test_outside_the_window_opens_a_new_incident(session: Session, now: datetime) -> None:
    _ingest(session, now, incoming_alert("a1", service="web"))
    _ingest(session, now + timedelta(hours=1, seconds=1), incoming_alert("a2", service="web"))
    first, second = _all(session)
    assert _members(session, first.id) == ["a1"] and _members(session, second.id) == ["a2"]


def test_a_different_group_key_opens_a_new_incident(session: Session, now: datetime) -> None:
    _ingest(session, now, incoming_alert("a1", service="web"), incoming_alert("a2", service="db"))
    assert len(_all(session)) == 2


def test_resends_add_nothing_and_resolution_auto_resolves(session: Session, now: datetime) -> None:
    _ingest(session, now, incoming_alert("a1", service="web"), incoming_alert("a2", service="web"))
    _ingest(session, now + timedelta(minutes=1), incoming_alert("a1", service="web"))
    _ingest(session, now + timedelta(minutes=2), incoming_alert("a1", "resolved", service="web"))
    [incident] = _all(session)
    assert incident.status == "triggered"  # a2 still fires
    later = now + timedelta(minutes=3)
    _ingest(session, later, incoming_alert("a2", "resolved", service="web"))
    session.expire_all()
    [incident] = _all(session)
    assert incident.status == "resolved" and incident.resolved_by == "system"
    assert incident.resolved_at == later
    links = session.scalars(select(IncidentAlert)).all()
    assert {link.status for link in links} == {"resolved"}


def test_auto_resolve_off_keeps_it_open(session: Session, now: datetime) -> None:
    incident_rules.replace(
        session,
        [(IncidentRuleSpec(name="manual-close", group_by=["alertname"], auto_resolve=False), None)],
        managed_by="file",
        now=now,
    )
    session.commit()
    _ingest(session, now, incoming_alert("a1"))
    _ingest(session, now + timedelta(minutes=1), incoming_alert("a1", "resolved"))
    [incident] = _all(session)
    assert incident.status == "triggered" and incident.rule_name == "manual-close"


def test_a_refiring_alert_returns_to_its_open_incident(session: Session, now: datetime) -> None:
    incident_rules.replace(
        session,
        [(IncidentRuleSpec(name="short", group_by=["alertname"], window_seconds=60), None)],
        managed_by="file",
        now=now,
    )
    _ingest(session, now, incoming_alert("a1"), incoming_alert("a2"))
    _ingest(session, now + timedelta(minutes=1), incoming_alert("a1", "resolved"))
    _ingest(session, now + timedelta(minutes=30), incoming_alert("a1"))  # outside the window
    [incident] = _all(session)
    [(link, _)] = [
        (k, a) for k, a in incidents.alerts_of(session, incident.id) if a.fingerprint == "a1"
    ]
    assert link.status == "firing" and link.resolved_at is None


def test_an_alert_arriving_resolved_opens_nothing(session: Session, now: datetime) -> None:
    _ingest(session, now, incoming_alert("a1", "resolved"))
    assert _all(session) == []


def test_manual_incident_with_alerts_and_lifecycle(session: Session, now: datetime) -> None:
    _ingest(session, now, incoming_alert("a1", service="web", severity="warning"))
    alert_id = incidents.alerts_of(session, _all(session)[0].id)[0][1].id
    made = incidents.create(
        session, IncidentCreate(title="By hand", alert_ids=[alert_id]), actor="olga", now=now
    )
    session.commit()
    assert made.group_key is None and made.severity == "warning" and made.auto_resolve is False
    assert _members(session, made.id) == ["a1"]
    t1 = now + timedelta(minutes=1)
    incidents.transition(session, made.id, S.ACKNOWLEDGED, actor="olga", now=t1)
    with pytest.raises(IllegalIncidentTransition):
        incidents.transition(session, made.id, S.ACKNOWLEDGED, actor="olga", now=t1)
    incidents.transition(session, made.id, S.RESOLVED, actor="olga", now=t1)
    with pytest.raises(IllegalIncidentTransition):
        incidents.transition(session, made.id, S.ACKNOWLEDGED, actor="olga", now=t1)
    reopened = incidents.transition(session, made.id, S.TRIGGERED, actor="root", now=t1)
    assert reopened.resolved_at is None and reopened.acknowledged_at == t1
    assert reopened.assignee == "olga"  # acknowledging assigned it


def test_an_expired_acknowledgement_triggers_again(session: Session, now: datetime) -> None:
    made = incidents.create(session, IncidentCreate(title="x"), actor="olga", now=now)
    until = now + timedelta(minutes=10)
    incidents.transition(
        session, made.id, S.ACKNOWLEDGED, actor="olga", now=now, ack_expires_at=until
    )
    session.commit()
    assert not incidents.any_ack_due(session, now=until - timedelta(seconds=1))
    assert incidents.expire_acks(session, now=until - timedelta(seconds=1)) == []
    assert incidents.any_ack_due(session, now=until)
    assert incidents.expire_acks(session, now=until + timedelta(hours=1)) == [made.id]
    session.commit()
    incident = incidents.get(session, made.id)
    assert incident.status == "triggered" and incident.ack_expires_at is None
    last = incidents.stored_timeline(session, made.id)[-1]
    assert (last.actor, last.at) == ("system", until)  # recorded when it lapsed
    assert "acknowledgement expired" in last.summary


def test_timeline_in_order_with_who_and_when(session: Session, now: datetime) -> None:
    _ingest(session, now, incoming_alert("a1", service="web"))
    [incident] = _all(session)
    t = [now + timedelta(minutes=m) for m in range(1, 6)]
    incidents.transition(session, incident.id, S.ACKNOWLEDGED, actor="olga", now=t[0])
    incidents.add_note(session, incident.id, "looking at the logs", actor="olga", now=t[1])
    incidents.edit(session, incident.id, {"commander": "root"}, actor="root", now=t[2])
    session.commit()
    _ingest(session, t[3], incoming_alert("a1", "resolved", service="web"))
    items = timeline.assemble(session, incidents.get(session, incident.id))
    got = [(i.at, i.kind, i.actor) for i in items]
    assert got == [
        (now, "status", "grouping:default"),
        (now, "alert", "alertmanager"),
        (t[0], "status", "olga"),
        (t[1], "note", "olga"),
        (t[2], "edit", "root"),
        (t[3], "alert", "alertmanager"),
        (t[3], "status", "system"),
    ]
    assert items[3].summary == "looking at the logs"
    assert items[4].summary == "commander: none → root"
    assert items[-1].summary == "resolved (all its alerts resolved)"
