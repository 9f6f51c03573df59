"""An incident whose alerts are all in an open maintenance window is announced as one
suppressed notification naming the window (no page, no escalation); one alert outside every
window is enough for the usual announcement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.config import Settings
from sophrosyne.domains.incidents import service as incidents
from sophrosyne.domains.maintenance import service as maintenance
from sophrosyne.domains.maintenance.schemas import MaintenanceSpec
from sophrosyne.domains.notifications import records, service
from sophrosyne.domains.notifications.models import Channel, NotificationRoute
from sophrosyne.domains.notifications.schemas import ChannelSpec, RouteSpec
from sophrosyne.domains.rules import service as rules
from sophrosyne.flows import announce
from sophrosyne.flows.ingest import ingest
from tests.factories import incoming_alert

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_incident_all_in_maintenance_is_announced_as_suppressed(
    session_factory: sessionmaker[Session],
) -> None:
    settings = Settings(database_url="sqlite://", public_url="https://s.example")
    with session_factory.begin() as s:
        service.create(s, Channel, ChannelSpec(name="hook"), now=T0)
        service.create(s, NotificationRoute, RouteSpec(name="all", channels=["hook"]), now=T0)
        spec = MaintenanceSpec(
            name="db-work",
            comment="disk swap",
            targets=["db-1"],
            starts_at=T0 - timedelta(minutes=1),
            ends_at=T0 + timedelta(hours=1),
        )
        maintenance.create(s, spec, by="alice", now=T0)
        cache = rules.RuleCache()
        ingest(
            s,
            [
                incoming_alert("a", alertname="DiskFull", instance="db-1:9100"),
                incoming_alert("b", alertname="Down", instance="db-1:9100"),
                incoming_alert("c", alertname="Down", instance="web-1:9100"),
            ],
            actor="test",
            rules=cache,
            now=T0,
        )
    with session_factory.begin() as s:
        assert len(announce.announce(s, settings=settings, now=T0)) == 2
    with session_factory() as s:
        by_title = {i.title: i for i in incidents.search(s)}
        held = [i for t, i in by_title.items() if "DiskFull" in t]
        mixed = [i for t, i in by_title.items() if "Down" in t]
        assert len(held) == 1 and len(mixed) == 1
        [note] = records.for_subject(s, "incident", str(held[0].id))
        assert (note.status, note.reason) == (
            "suppressed",
            "every alert of the incident is in maintenance window 'db-work'",
        )
        # One alert of the other incident is outside the window: it is announced as usual.
        assert [n.status for n in records.for_subject(s, "incident", str(mixed[0].id))] == [
            "pending"
        ]
