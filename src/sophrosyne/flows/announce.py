"""Tell people about new incidents: each incident is announced once, by a worker, to the
notification routes and (when ``SOPHROSYNE_ESCALATION_POLICY`` names one) its escalation
policy; escalation stops once the incident is acknowledged or resolved.

Done by the worker, not on the ingest path: grouping stays cheap, and an incident opened by
hand or through the API is announced the same way.

An incident whose alerts are all in an open maintenance window pages no one: its
announcement is recorded as one suppressed notification naming the window, and no
escalation starts (the people doing the maintenance already know). One alert outside every
window is enough for the usual announcement.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from sophrosyne.config import Settings
from sophrosyne.db.engine import make_session_factory
from sophrosyne.domains.alerts.models import Alert
from sophrosyne.domains.incidents.models import Incident, IncidentAlert
from sophrosyne.domains.maintenance import service as maintenance
from sophrosyne.domains.maintenance.active import CompiledWindow
from sophrosyne.domains.notifications import escalation
from sophrosyne.domains.notifications.messages import Subject
from sophrosyne.domains.notifications.records import SUPPRESSED, Intent, record, route
from sophrosyne.domains.rules.service import inventory
from sophrosyne.flows.maintenance import all_in_maintenance
from sophrosyne.logging import get_logger

log = get_logger(__name__)

#: Incidents announced per pass (the rest wait for the next one).
BATCH = 100


def subject_of(session: Session, incident: Incident) -> Subject:
    """The incident as notifications see it; labels are those of its first alert."""
    labels = session.scalar(
        select(Alert.labels)
        .join(IncidentAlert, IncidentAlert.alert_id == Alert.id)
        .where(IncidentAlert.incident_id == incident.id)
        .order_by(IncidentAlert.first_attached_at, Alert.id)
        .limit(1)
    )
    return Subject(
        kind="incident",
        id=str(incident.id),
        title=incident.title,
        severity=incident.severity,
        status=incident.status,
        labels={str(k): str(v) for k, v in (labels or {}).items()},
    )


def announce(session: Session, *, settings: Settings, now: datetime) -> list[int]:
    """Announce incidents not yet announced (in the caller's transaction)."""
    fresh = list(
        session.scalars(
            select(Incident)
            .where(Incident.announced_at.is_(None))
            .order_by(Incident.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
    )
    windows: list[CompiledWindow] = []
    if fresh and maintenance.list_all(session):
        windows = maintenance.compile_all(session, inventory(session), now=now)
    for incident in fresh:
        subject = subject_of(session, incident)
        held = _in_maintenance(session, incident, windows, now) if windows else None
        if held is not None:
            reason = f"every alert of the incident is in maintenance window {held.name!r}"
            record(
                session,
                subject,
                "triggered",
                [Intent(None, subject.title, "", SUPPRESSED, reason)],
                now=now,
            )
            incident.announced_at = now
            log.info("incident.announcement_suppressed", incident_id=incident.id, window=held.name)
            continue
        route(session, subject, event="triggered", public_url=settings.public_url, now=now)
        if settings.escalation_policy and incident.status == "triggered":
            try:
                escalation.start(session, subject, settings.escalation_policy, now=now)
            except Exception:  # an unknown policy must not stop the announcements
                log.exception("incident.escalation_not_started", incident_id=incident.id)
        incident.announced_at = now
    return [i.id for i in fresh]


def _in_maintenance(
    session: Session, incident: Incident, windows: list[CompiledWindow], now: datetime
) -> CompiledWindow | None:
    labels = session.scalars(
        select(Alert.labels)
        .join(IncidentAlert, IncidentAlert.alert_id == Alert.id)
        .where(IncidentAlert.incident_id == incident.id)
    )
    return all_in_maintenance(
        windows, [{str(k): str(v) for k, v in x.items()} for x in labels], now
    )


def acknowledged(engine: Engine) -> escalation.IsAcknowledged:
    """A check for the escalation engine: is this incident acknowledged (or resolved)?

    It reads in a session of its own, read-only so that on SQLite it never waits for the
    write lock the escalation step holds while asking."""
    reading = make_session_factory(engine, readonly=True)

    def check(subject: Subject) -> bool:
        if subject.kind != "incident" or not subject.id.isdigit():
            return False
        with reading() as session:
            status = session.scalar(select(Incident.status).where(Incident.id == int(subject.id)))
        return status in ("acknowledged", "resolved")

    return check
