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


def add_targets(session: Session, now: datetime, *names: str, **labels: str) -> None:
    """Enabled targets named ``names``, each addressed by its own name."""
    from sophrosyne.domains.targets import service as targets
    from sophrosyne.domains.targets.schemas import TargetSpec

    for name in names:
        targets.create(session, TargetSpec(name=name, address=name, labels=dict(labels)), now=now)


def ssh_action(session: Session, now: datetime, name: str = "fix", **extra: object) -> None:
    """An ssh action ``echo fix`` with no parameters."""
    actions.create(
        session,
        ActionSpec.model_validate({"name": name, "kind": "ssh", "argv": ["echo", "fix"], **extra}),
        now=now,
    )
