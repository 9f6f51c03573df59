"""ORM models of the alerts domain: alerts, their state history, and rule decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sophrosyne.db.base import Base


class Alert(Base):
    """One problem signal, identified by (source, fingerprint); lives through episodes."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("source", "fingerprint"),
        Index("ix_alerts_status_last_seen", "status", "last_seen_at"),
        # Never reuse an id: idempotency keys of runs name alert ids.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    fingerprint: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    labels: Mapped[dict[str, Any]]
    annotations: Mapped[dict[str, Any]]
    severity: Mapped[str | None] = mapped_column(String(64), index=True)
    generator_url: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    episode: Mapped[int] = mapped_column(default=1)
    episode_started_at: Mapped[datetime]
    occurrences: Mapped[int] = mapped_column(default=1)
    total_occurrences: Mapped[int] = mapped_column(default=1)


class AlertEvent(Base):
    """A state change of an alert: new, firing→resolved, resolved→firing (new episode)."""

    __tablename__ = "alert_events"
    __table_args__ = (
        # The firings of a window, and the resolve of an episode, from the index alone (the
        # fatigue report); the second serves every lookup by alert (migration 0016).
        Index("ix_alert_events_status_at", "to_status", "at", "alert_id", "episode"),
        Index("ix_alert_events_alert_episode", "alert_id", "episode", "to_status", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    episode: Mapped[int]
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]


class AlertDecision(Base):
    """Why a matching rule did or did not lead to a run for one alert episode."""

    __tablename__ = "alert_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    episode: Mapped[int]
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("rules.id", ondelete="SET NULL"))
    rule_name: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    at: Mapped[datetime]


class AlertFlap(Base):
    """Whether an alert is flapping (see ``alerts.flapping``); a row only once an alert
    has been looked at for flapping, i.e. after it changed state again."""

    __tablename__ = "alert_flaps"

    alert_id: Mapped[int] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True
    )
    flapping: Mapped[bool] = mapped_column(default=False)
    percent: Mapped[float] = mapped_column(Float)
    changed_at: Mapped[datetime]
