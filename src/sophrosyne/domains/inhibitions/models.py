"""ORM model of inhibition rules (written by ``apply`` from ``inhibit_rules:``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sophrosyne.db.base import Base


class InhibitRule(Base):
    __tablename__ = "inhibit_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int]
    source_matchers: Mapped[list[Any]]
    target_matchers: Mapped[list[Any]]
    equal: Mapped[list[Any]]
    managed_by: Mapped[str] = mapped_column(String(16))
    source_file: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
