"""ORM models of incidents: the incident, its alerts, its stored timeline, grouping rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sophrosyne.db.base import Base


class Incident(Base):
    """Related alerts with a lifecycle: triggered → acknowledged → resolved (and reopened)."""

    __tablename__ = "incidents"
    __table_args__ = (
        # Ingest looks up the open incidents of a batch's group keys.
        Index("ix_incidents_group_key_status", "group_key", "status"),
        Index("ix_incidents_status_id", "status", "id"),
        {"sqlite_autoincrement": True},  # an incident id is never reused
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str | None] = mapped_column(String(64), index=True)
    #: The ``service`` label of the alert that opened it (for filters and statistics).
    service: Mapped[str | None] = mapped_column(String(200), index=True)
    #: None for an incident opened by hand: alerts never join it by grouping.
    group_key: Mapped[str | None] = mapped_column(String(255))
    rule_name: Mapped[str | None] = mapped_column(String(200))
    auto_resolve: Mapped[bool] = mapped_column(default=True)
    assignee: Mapped[str | None] = mapped_column(String(200), index=True)
    commander: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    root_cause: Mapped[str] = mapped_column(Text, default="")
    follow_ups: Mapped[list[Any]]
    opened_by: Mapped[str] = mapped_column(String(200))
    opened_at: Mapped[datetime] = mapped_column(index=True)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    ack_expires_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime]
    #: When routes and the escalation policy were told (None: not yet; the worker does it).
    announced_at: Mapped[datetime | None]


class IncidentAlert(Base):
    """An alert in an incident: when it first and last joined, and its last known status."""

    __tablename__ = "incident_alerts"
    __table_args__ = (UniqueConstraint("incident_id", "alert_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    first_attached_at: Mapped[datetime]
    last_attached_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class TimelineEntry(Base):
    """What happened to an incident and has no other home: status changes, notes, edits.

    Alerts, runs, approvals and tasks are read from their own tables when a timeline is
    shown (``domains.incidents.timeline``), so they are never stored twice.
    """

    __tablename__ = "incident_timeline"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]]
    ref_type: Mapped[str | None] = mapped_column(String(32))
    ref_id: Mapped[int | None]


class IncidentRule(Base):
    """A grouping rule (``incident_rules:`` in YAML): matchers, group-by labels, a window."""

    __tablename__ = "incident_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    position: Mapped[int]
    matchers: Mapped[list[Any]]
    group_by: Mapped[list[Any]]
    window_seconds: Mapped[int]
    auto_resolve: Mapped[bool] = mapped_column(default=True)
    managed_by: Mapped[str] = mapped_column(String(16))
    source_file: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
