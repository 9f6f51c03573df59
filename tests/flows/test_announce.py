"""New incidents are announced by the worker: routes get a notification (sent through a real
HTTP receiver), the escalation policy starts and stops once the incident is acknowledged, and
the incident's timeline shows every notification."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.config import Settings
from sophrosyne.crypto import Keyring, Secret
from sophrosyne.domains.incidents import service as incidents
from sophrosyne.domains.incidents.states import IncidentState
from sophrosyne.domains.incidents.timeline import assemble
from sophrosyne.domains.notifications import escalation, records, service
from sophrosyne.domains.notifications.models import Channel, EscalationPolicy, NotificationRoute
from sophrosyne.domains.notifications.schemas import ChannelSpec, PolicySpec, RouteSpec
from sophrosyne.domains.rules import service as rules
from sophrosyne.executors.notify import AppriseNotifier
from sophrosyne.flows import announce, notify
from sophrosyne.flows.ingest import ingest
from tests.executors.httpd import Server
from tests.factories import incoming_alert

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_a_new_incident_is_announced_once_and_escalates_until_acknowledged(
    engine: Engine, session_factory: sessionmaker[Session], server: Server
) -> None:
    keyring = Keyring(os.urandom(32))
    settings = Settings(
        database_url="sqlite://",
        public_url="https://sophrosyne.example",
        escalation_policy="ops",
    )
    port = server.base.rsplit(":", 1)[1]
    with session_factory.begin() as s:
        channel = service.create(s, Channel, ChannelSpec(name="hook"), now=T0)
        service.set_urls(s, keyring, channel, [Secret(f"json://127.0.0.1:{port}/hook")], now=T0)
        service.create(s, NotificationRoute, RouteSpec(name="all", channels=["hook"]), now=T0)
        service.create(
            s,
            EscalationPolicy,
            PolicySpec.model_validate(
                {
                    "name": "ops",
                    "steps": [{"notify": {"channel": "hook"}, "wait_seconds": 300}],
                    "repeat": 2,
                }
            ),
            now=T0,
        )
        ingest(
            s,
            [incoming_alert("fp1", alertname="Down", service="checkout", severity="critical")],
            actor="test",
            rules=rules.RuleCache(),
            now=T0,
        )
    with session_factory.begin() as s:
        assert len(announce.announce(s, settings=settings, now=T0)) == 1
        assert announce.announce(s, settings=settings, now=T0) == []  # once only
    clock = [T0]
    notify.housekeep(
        session_factory,
        AppriseNotifier(),
        settings=settings,
        keyring=keyring,
        clock=lambda: clock[0],
        is_acknowledged=announce.acknowledged(engine),
    )
    hooks = [r for r in server.requests if r.path.startswith("/hook")]
    assert len(hooks) == 2  # the route, and the policy's first step
    assert "https://sophrosyne.example/incidents/" in json.loads(hooks[0].body)["message"]
    with session_factory.begin() as s:
        [incident] = incidents.search(s)
        incidents.transition(
            s,
            incident.id,
            IncidentState.ACKNOWLEDGED,
            actor="user:olga",
            now=T0 + timedelta(seconds=60),
        )
    clock[0] = T0 + timedelta(seconds=600)
    notify.housekeep(
        session_factory,
        AppriseNotifier(),
        settings=settings,
        keyring=keyring,
        clock=lambda: clock[0],
        is_acknowledged=announce.acknowledged(engine),
    )
    assert len([r for r in server.requests if r.path.startswith("/hook")]) == 2  # stopped
    with session_factory() as s:
        state = escalation.find(s, "incident", str(incident.id))
        assert state is not None and state.status != "active"
        sent = records.for_subject(s, "incident", str(incident.id))
        assert {n.status for n in sent} == {"sent"}
        timeline = [
            i for i in assemble(s, incidents.get(s, incident.id)) if i.kind == "notification"
        ]
    assert len(timeline) == 2
    assert all("notification sent" in i.summary for i in timeline)
