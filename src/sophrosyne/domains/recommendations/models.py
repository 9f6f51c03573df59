"""ORM models of recommendations and their attachments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sophrosyne.db.base import Base


class Recommendation(Base):
    """Instructions for the people who must act where no action can (a disk, a cable)."""

    __tablename__ = "recommendations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    #: The source as written (Markdown or HTML, may hold ``{{ params.x }}``); shown sanitised.
    instructions: Mapped[str] = mapped_column(Text)
    instructions_format: Mapped[str] = mapped_column(String(16))
    responsible: Mapped[list[Any]]
    parameters: Mapped[list[Any]]
    managed_by: Mapped[str] = mapped_column(String(16), default="api")
    source_file: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RecommendationAttachment(Base):
    """A file given with a recommendation; its bytes live under ``<data_dir>/attachments``,
    named by their SHA-256, so the same file uploaded twice is stored once."""

    __tablename__ = "recommendation_attachments"
    __table_args__ = (UniqueConstraint("recommendation_id", "filename"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recommendation_id: Mapped[int] = mapped_column(
        ForeignKey("recommendations.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
