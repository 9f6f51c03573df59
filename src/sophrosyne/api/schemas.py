"""Reply shapes that belong to the HTTP edge only (pages, composite views)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

from pydantic import BaseModel, Field

from sophrosyne.domains.alerts.schemas import AlertDecisionOut, AlertEventOut, AlertOut
from sophrosyne.domains.runs.schemas import RunOut

T = TypeVar("T")

#: Page sizes accepted by every list route.
MAX_LIMIT = 500
DEFAULT_LIMIT = 100


class Page(BaseModel, Generic[T]):
    """One page of a list, newest first. Pass ``next_before_id`` as ``before_id`` to get the
    next (older) page; it is null on the last page."""

    items: list[T]
    next_before_id: int | None = Field(
        description="Give this as before_id for the next page; null when there is none."
    )


def next_cursor(ids: Sequence[int], limit: int) -> int | None:
    """A full page may have a successor; a short one is the last."""
    return ids[-1] if ids and len(ids) >= limit else None


class AlertDetail(AlertOut):
    """An alert with its state history, the rule decisions taken for it, and its runs."""

    history: list[AlertEventOut]
    decisions: list[AlertDecisionOut]
    runs: list[RunOut]


class Health(BaseModel):
    status: str
    reason: str | None = None
