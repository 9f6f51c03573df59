"""ORM model of the append-only audit log (UPDATE and DELETE are refused by triggers)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from sophrosyne.db.base import Base


class AuditEntry(Base):
    """Who did what to which object, when, with details."""

    __tablename__ = "audit_log"
    __table_args__ = ({"sqlite_autoincrement": True},)  # ids only ever grow

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]]
