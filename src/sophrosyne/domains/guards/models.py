"""ORM models of guards: the kill switch, and the state of throttled alert groups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sophrosyne.db.base import Base


class Automation(Base):
    """The global kill switch: at most one row (id 1); no row means automation runs."""

    __tablename__ = "automation"

    id: Mapped[int] = mapped_column(primary_key=True)
    paused: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str] = mapped_column(Text, default="")
    changed_by: Mapped[str | None] = mapped_column(String(200))
    changed_at: Mapped[datetime | None]


class ThrottleGroup(Base):
    """One group of a throttled rule's alerts (same values of its ``group_by`` labels), and
    where its throttle window stands. Kept in the database so a deferred ``once_after`` run
    survives restarts and any worker can start it."""

    __tablename__ = "throttle_groups"
    __table_args__ = (
        UniqueConstraint("rule_id", "group_key"),
        Index("ix_throttle_groups_due_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("rules.id", ondelete="CASCADE"))
    #: A hash of the group's label values (``throttle.group_key``).
    group_key: Mapped[str] = mapped_column(String(64))
    #: The group's label values, as ``group_by`` name → value, for people.
    labels: Mapped[dict[str, Any]]
    kind: Mapped[str] = mapped_column(String(32))
    window_started_at: Mapped[datetime | None]
    events: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime | None]
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime]
