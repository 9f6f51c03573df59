"""ORM model of the approvals and rejections people gave to runs awaiting confirmation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sophrosyne.db.base import Base


class RunApproval(Base):
    """One person's verdict on one run, tied to the pin (hash) of what they saw."""

    __tablename__ = "run_approvals"
    __table_args__ = (UniqueConstraint("run_id", "actor"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    #: ``approve`` or ``reject``.
    decision: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    pin_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
