"""ORM model of the action catalog."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from sophrosyne.db.base import Base


class Action(Base):
    """A typed remediation. ``spec`` holds the kind-specific body (argv, parameters…)."""

    __tablename__ = "actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    argv: Mapped[list[Any]]
    parameters: Mapped[list[Any]]
    timeout_seconds: Mapped[int]
    risk: Mapped[str] = mapped_column(String(16))
    idempotent: Mapped[bool] = mapped_column(default=False)
    #: Kind-specific and execution settings (``ActionSpec.section()``): sudo, parallelism,
    #: target_concurrency, rate_limit, script, http…
    spec: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'"))
    managed_by: Mapped[str] = mapped_column(String(16), default="api")
    source_file: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CatalogRevision(Base):
    """One row whose counter goes up with every change to actions or rules.

    Every process caches the compiled rule set and checks this number before each use; a
    counter (not a timestamp) so that clocks that disagree across machines cannot hide an edit.
    """

    __tablename__ = "catalog_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(default=0)
