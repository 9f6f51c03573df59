"""ORM model of maintenance windows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sophrosyne.db.base import Base


class MaintenanceWindow(Base):
    """A named window: its scope (targets, target selector, alert matchers) and its schedule
    (``starts_at``/``ends_at`` one-off, or ``recurrence``). ``cut_at``: the occurrence open
    at that instant was ended by hand then."""

    __tablename__ = "maintenance_windows"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    comment: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(200))
    targets: Mapped[list[Any]]
    target_selector: Mapped[list[Any]]
    matchers: Mapped[list[Any]]
    from_label: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    recurrence: Mapped[dict[str, Any] | None]
    cut_at: Mapped[datetime | None]
    managed_by: Mapped[str] = mapped_column(String(16), default="api")
    source_file: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
