"""Tell people about new incidents: each incident is announced once, by a worker, to the
notification routes and (when ``SOPHROSYNE_ESCALATION_POLICY`` names one) its escalation
policy; escalation stops once the incident is acknowledged or resolved.

Done by the worker, not on the ingest path: grouping stays cheap, and an incident opened by
hand or through the API is announced the same way.

An incident whose every alert is held back pages no one: its announcement is recorded as one
suppressed notification saying what held the alerts (the silence, the inhibiting alert, the
maintenance window; how many of each when they differ), and no escalation starts. An alert is
held back when its current episode was silenced or inhibited on ingest (the recorded
decision, see ``flows.heldback``), or when it is in a maintenance window open now (the people
doing the maintenance already know). A silence or an inhibition exists to stop paging; the
alerts are still stored, grouped and recorded. One alert not held back is enough for the
usual announcement. Working this out costs one query per pass, not one per incident.
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
from sophrosyne.flows.heldback import held_back
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
    held = held_back(session, [i.id for i in fresh], windows, now)
    for incident in fresh:
        subject = subject_of(session, incident)
        reason = held.get(incident.id)
        if reason is not None:
            record(
                session,
                subject,
                "triggered",
                [Intent(None, subject.title, "", SUPPRESSED, reason)],
                now=now,
            )
            incident.announced_at = now
            log.info("incident.announcement_suppressed", incident_id=incident.id, reason=reason)
            continue
        route(session, subject, event="triggered", public_url=settings.public_url, now=now)
        if settings.escalation_policy and incident.status == "triggered":
            try:
                escalation.start(session, subject, settings.escalation_policy, now=now)
            except Exception:  # an unknown policy must not stop the announcements
                log.exception("incident.escalation_not_started", incident_id=incident.id)
        incident.announced_at = now
    return [i.id for i in fresh]


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
