"""ORM models of tasks (work for people, from a recommendation) and their notes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sophrosyne.db.base import Base


class Task(Base):
    """A recommendation made concrete for one alert episode (or by hand), with its state.

    Title and instructions are a snapshot taken when the task was opened: editing or deleting
    the recommendation later does not change what the people working on it were told.
    """

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_state_id", "state", "id"),
        {"sqlite_autoincrement": True},  # a task id is never reused
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recommendation_id: Mapped[int | None] = mapped_column(
        ForeignKey("recommendations.id", ondelete="SET NULL"), index=True
    )
    recommendation_name: Mapped[str] = mapped_column(String(200))
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("rules.id", ondelete="SET NULL"))
    rule_name: Mapped[str | None] = mapped_column(String(200))
    alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alerts.id", ondelete="SET NULL"), index=True
    )
    alert_episode: Mapped[int | None]
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    instructions: Mapped[str] = mapped_column(Text)
    instructions_html: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]]
    responsible: Mapped[list[Any]]
    state: Mapped[str] = mapped_column(String(16))
    assignee: Mapped[str | None] = mapped_column(String(200), index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    dismissed_at: Mapped[datetime | None]


class TaskNote(Base):
    """A note on a task: who wrote what, when. Notes are never edited."""

    __tablename__ = "task_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]
