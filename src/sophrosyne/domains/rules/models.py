"""ORM model of rules: when an alert matches, respond with an action."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sophrosyne.db.base import Base


class Rule(Base):
    """Matchers on labels + statuses → an action with templated parameters, in a mode."""

    __tablename__ = "rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    matchers: Mapped[list[Any]]
    on_status: Mapped[list[Any]]
    #: None for a rule in mode ``recommend``, which runs nothing.
    action_id: Mapped[int | None] = mapped_column(
        ForeignKey("actions.id", ondelete="RESTRICT"), index=True
    )
    #: The recommendation whose task matching alerts open (by name: a recommendation may be
    #: file-managed and replaced by ``apply``).
    recommendation: Mapped[str | None] = mapped_column(String(200))
    recommendation_parameters: Mapped[dict[str, Any] | None]
    parameters: Mapped[dict[str, Any]]
    mode: Mapped[str] = mapped_column(String(16))
    cooldown_seconds: Mapped[int] = mapped_column(default=0)
    #: How the rule picks targets from the alert (``TargetSelection``); None: no targets.
    targets: Mapped[dict[str, Any] | None]
    #: Rate limit, target cooldown, blast radius and throttle (``RuleGuards``); None: none.
    guards: Mapped[dict[str, Any] | None]
    managed_by: Mapped[str] = mapped_column(String(16), default="api")
    source_file: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
