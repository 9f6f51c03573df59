"""Pydantic schemas of silences."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SilenceState = Literal["active", "pending", "expired"]


class SilenceSpec(BaseModel):
    """A new silence. ``starts_at`` defaults to now; ``author`` to whoever creates it."""

    model_config = ConfigDict(extra="forbid")

    matchers: list[str] = Field(
        min_length=1, max_length=64, description='Alertmanager matchers, e.g. `team="db"`.'
    )
    comment: str = Field(min_length=1, max_length=10_000)
    author: str | None = Field(default=None, max_length=200)
    starts_at: datetime | None = None
    ends_at: datetime
    expire_on_resolve: bool = Field(
        default=False, description="End the silence when an alert it silenced resolves."
    )


class SilenceOut(BaseModel):
    id: int
    matchers: list[str]
    author: str
    comment: str
    starts_at: datetime
    ends_at: datetime
    expire_on_resolve: bool
    state: SilenceState
    created_by: str
    created_at: datetime
    updated_at: datetime
    held_back: int = Field(
        default=0, description="Alert episodes this silence held back (decisions recorded)."
    )
    firing_matched: int = Field(
        default=0, description="Alerts firing now that it matches (active silences only)."
    )
    matched_nothing: bool = Field(
        default=False,
        description="Held back nothing and matches no firing alert: a typo in a matcher, or "
        "a silence that is no longer needed.",
    )
    expires_in_seconds: float | None = Field(
        default=None, description="Until it ends (active and pending silences)."
    )
