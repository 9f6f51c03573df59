"""ORM models of the target inventory: hosts and their encrypted credentials."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sophrosyne.db.base import Base


class Target(Base):
    """A host that actions run on. Credentials live in ``TargetSecret``, encrypted."""

    __tablename__ = "targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    address: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer, default=22)
    user: Mapped[str | None] = mapped_column(String(64))
    labels: Mapped[dict[str, Any]]
    enabled: Mapped[bool] = mapped_column(default=True)
    #: OpenSSH public host keys ("<type> <base64>") trusted for this host.
    host_keys: Mapped[list[Any]]
    #: Accept and record an unknown host key on first connection (off unless set).
    trust_on_first_use: Mapped[bool] = mapped_column(default=False)
    managed_by: Mapped[str] = mapped_column(String(16), default="api")
    source_file: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    secrets: Mapped[list[TargetSecret]] = relationship(
        back_populates="target",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="TargetSecret.kind",
    )


class TargetSecret(Base):
    """One credential of a target: a ``crypto.Keyring`` token bound to (target id, kind)."""

    __tablename__ = "target_secrets"
    __table_args__ = (UniqueConstraint("target_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    ciphertext: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]

    target: Mapped[Target] = relationship(back_populates="secrets")
