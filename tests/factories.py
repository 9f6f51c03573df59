"""Small builders shared by tests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.actions.schemas import ActionSpec
from sophrosyne.domains.alerts.schemas import IncomingAlert


def incoming_alert(
    fingerprint: str, status: str = "firing", *, source: str = "alertmanager", **labels: str
) -> IncomingAlert:
    """An alert as a source parser would produce it; ``alertname`` defaults to ``Down``."""
    return IncomingAlert(
        source=source,
        fingerprint=fingerprint,
        status=status,
        labels={"alertname": "Down", **labels},
        annotations={},
        severity=labels.get("severity"),
        starts_at=None,
        ends_at=None,
        generator_url=None,
    )


def echo_action(session: Session, now: datetime, name: str = "restart") -> None:
    """A shell action ``echo <svc>`` with one string parameter ``svc``."""
    actions.create(
        session,
        ActionSpec(name=name, argv=["echo", "{{ params.svc }}"], parameters=[{"name": "svc"}]),
        now=now,
    )
