"""ORM model of applied fixes: an action run or a task done, for one alert episode."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from sophrosyne.db.base import Base


class AppliedFix(Base):
    """What was done for an alert, and when it began. Whether it worked is not stored: it is
    read from the alert's history (``alert_events``) with the window in force at the time of
    asking, so a longer or shorter window applies to the whole history at once."""

    __tablename__ = "applied_fixes"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alerts.id", ondelete="SET NULL"), index=True
    )
    alert_episode: Mapped[int]
    #: Signatures always include the alert name, so history is looked up by it.
    alertname: Mapped[str] = mapped_column(String(200), index=True)
    #: The alert's labels when the fix was applied; the signature is taken from them on read.
    labels: Mapped[dict[str, Any]]
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("runs.id", ondelete="SET NULL"), unique=True
    )
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="SET NULL"), unique=True
    )
    applied_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
