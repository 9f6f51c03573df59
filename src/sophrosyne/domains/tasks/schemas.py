"""Pydantic schemas of tasks and their notes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

NOTE_MAX = 20_000
NoteBody = Annotated[str, StringConstraints(min_length=1, max_length=NOTE_MAX)]
Assignee = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class TaskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    recommendation_id: int | None
    recommendation_name: str
    rule_id: int | None
    rule_name: str | None
    alert_id: int | None
    alert_episode: int | None
    title: str
    instructions_html: str = Field(description="The instructions as sanitised HTML.")
    params: dict[str, Any]
    responsible: list[str]
    state: str
    assignee: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    done_at: datetime | None
    dismissed_at: datetime | None


class NoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    author: str
    body: str
    at: datetime


class TaskDetail(TaskOut):
    """A task with its instructions as rendered from the recommendation, and its notes."""

    instructions: str
    notes: list[NoteOut]


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: NoteBody


class TransitionIn(BaseModel):
    """An optional note kept with a state change (why it was dismissed, what was done)."""

    model_config = ConfigDict(extra="forbid")

    note: NoteBody | None = None


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee: Assignee | None = Field(description="Who works on it; null to unassign.")
