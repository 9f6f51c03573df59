"""Per-source parsing: turn a validated payload into ``IncomingAlert`` values."""

from __future__ import annotations

from datetime import UTC, datetime

from sophrosyne.domains.alerts.fingerprint import fingerprint
from sophrosyne.domains.alerts.schemas import AlertmanagerPayload, GenericAlert, IncomingAlert


def _real_time(value: datetime | None) -> datetime | None:
    """Alertmanager sends ``0001-01-01T00:00:00Z`` for "no time"; treat that as absent."""
    if value is None or value.year <= 1:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def from_alertmanager(payload: AlertmanagerPayload) -> list[IncomingAlert]:
    """Alertmanager's alerts keep Alertmanager's own fingerprint verbatim."""
    return [
        IncomingAlert(
            source="alertmanager",
            fingerprint=fingerprint(a.labels, a.fingerprint or None),
            status=a.status,
            labels=dict(a.labels),
            annotations=dict(a.annotations),
            severity=a.labels.get("severity") or None,
            starts_at=_real_time(a.startsAt),
            ends_at=_real_time(a.endsAt),
            generator_url=a.generatorURL or None,
        )
        for a in payload.alerts
    ]


def from_generic(alerts: list[GenericAlert]) -> list[IncomingAlert]:
    """Generic alerts: severity from the field, else from a ``severity`` label."""
    return [
        IncomingAlert(
            source="generic",
            fingerprint=fingerprint(a.labels, a.fingerprint),
            status=a.status,
            labels=dict(a.labels),
            annotations=dict(a.annotations),
            severity=a.severity or a.labels.get("severity") or None,
            starts_at=_real_time(a.starts_at),
            ends_at=_real_time(a.ends_at),
            generator_url=a.generator_url,
        )
        for a in alerts
    ]
