"""ORM model of runbook articles."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sophrosyne.db.base import Base


class Article(Base):
    """A runbook article in Markdown, owned by someone and reviewed by a date, linked to the
    actions and recommendations it explains and to the alerts it is about (matchers)."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(200))
    review_by: Mapped[date] = mapped_column(Date, index=True)
    actions: Mapped[list[Any]]
    recommendations: Mapped[list[Any]]
    matchers: Mapped[list[Any]]
    managed_by: Mapped[str] = mapped_column(String(16), default="api")
    source_file: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
