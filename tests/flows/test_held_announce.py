"""An incident whose every alert is silenced or inhibited (or in maintenance) pages no one: its
announcement is one suppressed notification saying what held the alerts, nothing reaches a
real loopback receiver for it, and no escalation starts. One alert not held back is enough for
the usual announcement. Both backends."""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.config import Settings
from sophrosyne.crypto import Keyring, Secret
from sophrosyne.domains.alerts.models import Alert
from sophrosyne.domains.alerts.schemas import IncomingAlert
from sophrosyne.domains.incidents import service as incidents
from sophrosyne.domains.incidents.models import Incident
from sophrosyne.domains.maintenance import service as maintenance
from sophrosyne.domains.maintenance.schemas import MaintenanceSpec
from sophrosyne.domains.notifications import escalation, records, service
from sophrosyne.domains.notifications.models import Channel, EscalationPolicy, NotificationRoute
from sophrosyne.domains.notifications.schemas import ChannelSpec, PolicySpec, RouteSpec
from sophrosyne.domains.rules import service as rules
from sophrosyne.domains.silences import service as silences
from sophrosyne.domains.silences.schemas import SilenceSpec
from sophrosyne.executors.notify import AppriseNotifier
from sophrosyne.flows import announce, notify
from sophrosyne.flows.apply import apply
from sophrosyne.flows.configcode import load_dir
from sophrosyne.flows.ingest import ingest
from tests.executors.httpd import Server
from tests.factories import incoming_alert

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
INHIBIT = """
inhibit_rules:
  - source_matchers: ['alertname="NodeDown"']
    target_matchers: ['alertname="ServiceUnreachable"']
    equal: [node]
"""


class World:
    """A channel to a real HTTP receiver, a route to it, an escalation policy paging it, and
    a rule cache for ingest."""

    def __init__(self, session_factory: sessionmaker[Session], engine: Engine, server: Server):
        self.session_factory = session_factory
        self.engine = engine
        self.server = server
        self.keyring = Keyring(os.urandom(32))
        self.settings = Settings(
            database_url="sqlite://", public_url="https://s.example", escalation_policy="ops"
        )
        self.cache = rules.RuleCache()
        port = server.base.rsplit(":", 1)[1]
        with session_factory.begin() as s:
            channel = service.create(s, Channel, ChannelSpec(name="hook"), now=T0)
            url = Secret(f"json://127.0.0.1:{port}/hook")
            service.set_urls(s, self.keyring, channel, [url], now=T0)
            service.create(s, NotificationRoute, RouteSpec(name="all", channels=["hook"]), now=T0)
            policy = {"name": "ops", "steps": [{"notify": {"channel": "hook"}}]}
            service.create(s, EscalationPolicy, PolicySpec.model_validate(policy), now=T0)

    def send(self, at: datetime, *alerts: IncomingAlert) -> None:
        with self.session_factory.begin() as s:
            ingest(s, list(alerts), actor="test", rules=self.cache, now=at)

    def pump(self, at: datetime) -> None:
        """The worker's notification step: announce, escalate, deliver."""
        notify.housekeep(
            self.session_factory,
            AppriseNotifier(),
            settings=self.settings,
            keyring=self.keyring,
            clock=lambda: at,
            is_acknowledged=announce.acknowledged(self.engine),
        )

    def incident(self, alertname: str) -> Incident:
        with self.session_factory() as s:
            [found] = [i for i in incidents.search(s) if alertname in i.title]
            s.expunge(found)
            return found

    def notes(self, incident: Incident) -> list[tuple[str | None, str, str | None]]:
        with self.session_factory() as s:
            return [
                (n.route, n.status, n.reason)
                for n in records.for_subject(s, "incident", str(incident.id))
            ]

    def escalating(self, incident: Incident) -> bool:
        with self.session_factory() as s:
            return escalation.find(s, "incident", str(incident.id)) is not None

    def alert_id(self, fingerprint: str) -> int:
        with self.session_factory() as s:
            found = s.scalar(select(Alert.id).where(Alert.fingerprint == fingerprint))
            assert found is not None
            return found

    def hooks(self) -> int:
        return len([r for r in self.server.requests if r.path.startswith("/hook")])


@pytest.fixture
def world(session_factory: sessionmaker[Session], engine: Engine, server: Server) -> World:
    return World(session_factory, engine, server)


def _silence(world: World, matcher: str, comment: str) -> int:
    spec = SilenceSpec(matchers=[matcher], comment=comment, ends_at=T0 + timedelta(hours=2))
    with world.session_factory.begin() as s:
        return silences.create(s, spec, by="alice", now=T0 - timedelta(minutes=1)).id


def _inhibit_rules(world: World, tmp_path: Path) -> None:
    (tmp_path / "noise.yaml").write_text(INHIBIT, encoding="utf-8")
    with world.session_factory.begin() as s:
        apply(s, load_dir(tmp_path), actor="cli", now=T0)


def test_an_incident_of_silenced_alerts_is_one_suppressed_notification(world: World) -> None:
    silence = _silence(world, 'alertname="BackupSlow"', "backups are slow, known")
    world.send(
        T0,
        incoming_alert("b1", alertname="BackupSlow", instance="db-1", severity="critical"),
        incoming_alert("b2", alertname="BackupSlow", instance="db-2", severity="critical"),
    )
    world.pump(T0 + timedelta(seconds=30))
    world.pump(T0 + timedelta(minutes=10))  # escalation would have fired by now
    held = world.incident("BackupSlow")
    assert world.notes(held) == [
        (
            None,
            "suppressed",
            f"every alert of the incident is silenced (silence {silence} by alice: "
            "backups are slow, known)",
        )
    ]
    assert not world.escalating(held)
    assert world.hooks() == 0
    # Announced once: a later pass records nothing more.
    world.pump(T0 + timedelta(minutes=20))
    assert len(world.notes(held)) == 1


def test_an_incident_of_inhibited_alerts_is_one_suppressed_notification(
    world: World, tmp_path: Path
) -> None:
    _inhibit_rules(world, tmp_path)
    world.send(T0, incoming_alert("down", alertname="NodeDown", node="n1", severity="critical"))
    victims = [
        incoming_alert(f"v{i}", alertname="ServiceUnreachable", node="n1", severity="critical")
        for i in range(3)
    ]
    world.send(T0 + timedelta(seconds=30), *victims)
    # The node comes back before the worker announces: what was recorded on the alerts'
    # episodes counts, not whether the inhibiting alert still fires.
    resolved = incoming_alert("down", "resolved", alertname="NodeDown", node="n1")
    world.send(T0 + timedelta(seconds=60), resolved)
    world.pump(T0 + timedelta(seconds=90))
    source = world.alert_id("down")
    held = world.incident("ServiceUnreachable")
    assert world.notes(held) == [
        (
            None,
            "suppressed",
            f"every alert of the incident is inhibited by alert {source} (NodeDown) firing, "
            "inhibit rule 0, equal on node",
        )
    ]
    assert not world.escalating(held)
    # The node's own incident is announced as usual (already resolved: no escalation).
    node = world.incident("NodeDown")
    assert [(r, st) for r, st, _ in world.notes(node)] == [("all", "sent")]
    assert world.hooks() == 1


def test_one_alert_not_held_back_is_enough_to_page(world: World) -> None:
    _silence(world, 'instance="db-1"', "db-1 is being rebuilt")
    world.send(
        T0,
        incoming_alert("d1", alertname="Down", instance="db-1", severity="critical"),
        incoming_alert("d2", alertname="Down", instance="db-2", severity="critical"),
    )
    world.pump(T0 + timedelta(seconds=30))
    mixed = world.incident("Down")
    assert [(r, st) for r, st, _ in world.notes(mixed)] == [("all", "sent"), (None, "sent")]
    assert world.escalating(mixed)
    assert world.hooks() == 2


def test_different_holds_are_listed_with_how_many_alerts_each_held(
    world: World, tmp_path: Path
) -> None:
    """Two alerts silenced, one inhibited, one in maintenance: all held, each kind named."""
    _inhibit_rules(world, tmp_path)
    silence = _silence(world, 'team="db"', "db team on it")
    window = MaintenanceSpec(
        name="rack-move",
        comment="moving rack 4",
        matchers=['rack="4"'],
        starts_at=T0 - timedelta(minutes=5),
        ends_at=T0 + timedelta(hours=1),
    )
    with world.session_factory.begin() as s:
        maintenance.create(s, window, by="bob", now=T0)
    world.send(T0, incoming_alert("down", alertname="NodeDown", node="n7", service="core"))
    same = {"alertname": "ServiceUnreachable", "service": "api"}
    world.send(
        T0 + timedelta(seconds=10),
        incoming_alert("s1", **same, node="n1", team="db"),
        incoming_alert("s2", **same, node="n2", team="db"),
        incoming_alert("i1", **same, node="n7"),
        incoming_alert("m1", **same, node="n9", rack="4"),
    )
    world.pump(T0 + timedelta(seconds=30))
    source = world.alert_id("down")
    held = world.incident("ServiceUnreachable")
    assert world.notes(held) == [
        (
            None,
            "suppressed",
            "every alert of the incident is held back: "
            f"2 silenced (silence {silence} by alice: db team on it); "
            f"1 inhibited by alert {source} (NodeDown) firing, inhibit rule 0, equal on node; "
            "1 in maintenance window 'rack-move'",
        )
    ]
    assert not world.escalating(held)
    assert world.hooks() == 2  # NodeDown's own incident only


def test_a_new_episode_not_held_back_pages_again(world: World) -> None:
    """The decision of the alert's *current* episode counts: once the silence is over, the
    alert firing again (a new episode, not silenced) is announced as usual."""
    silence = _silence(world, 'alertname="Disk"', "disk swap")
    world.send(T0, incoming_alert("x", alertname="Disk", severity="critical"))
    world.pump(T0 + timedelta(seconds=30))
    first = world.incident("Disk")
    assert [st for _, st, _ in world.notes(first)] == ["suppressed"]
    with world.session_factory.begin() as s:
        silences.expire(s, silence, now=T0 + timedelta(minutes=1))
    world.send(T0 + timedelta(minutes=2), incoming_alert("x", "resolved", alertname="Disk"))
    world.send(T0 + timedelta(hours=3), incoming_alert("x", alertname="Disk", severity="critical"))
    world.pump(T0 + timedelta(hours=3, seconds=30))
    with world.session_factory() as s:
        found = [i for i in incidents.search(s) if "Disk" in i.title]
    again = [i for i in found if i.id != first.id]
    assert len(again) == 1, [(i.id, i.status) for i in found]
    assert [(r, st) for r, st, _ in world.notes(again[0])] == [("all", "sent"), (None, "sent")]
    assert world.hooks() == 2


def test_one_query_per_pass_finds_what_is_held_back(world: World) -> None:
    """Whatever the number of incidents and alerts, one statement reads the decisions."""
    _silence(world, 'team="db"', "db team on it")
    world.send(
        T0,
        *[
            incoming_alert(f"a{i}-{j}", alertname=f"Name{i}", instance=f"h{j}", team="db")
            for i in range(12)
            for j in range(5)
        ],
        incoming_alert("free", alertname="Name0", instance="h9"),
    )
    statements: list[str] = []

    def seen(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(world.engine, "before_cursor_execute", seen)
    try:
        with world.session_factory.begin() as s:
            announced = announce.announce(s, settings=world.settings, now=T0)
    finally:
        event.remove(world.engine, "before_cursor_execute", seen)
    assert len(announced) == 12
    assert len([x for x in statements if "alert_decisions" in x]) == 1
    with world.session_factory() as s:
        by_status = Counter(n.status for n in records.search(s))
    assert by_status == {"suppressed": 11, "pending": 1}  # Name0 has an alert not silenced
