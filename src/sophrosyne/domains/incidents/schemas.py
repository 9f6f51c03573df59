"""Pydantic schemas of incidents, their timeline, grouping rules and statistics."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from sophrosyne.domains.rules.matching import MatcherSyntaxError, parse_matchers

Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Title = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Severity = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Text = Annotated[str, StringConstraints(max_length=20_000)]
NoteBody = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
FollowUp = Annotated[str, StringConstraints(min_length=1, max_length=1000)]
LabelName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class IncidentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    status: str
    severity: str | None
    service: str | None
    group_key: str | None
    rule_name: str | None
    auto_resolve: bool
    assignee: str | None
    commander: str | None
    summary: str
    root_cause: str
    follow_ups: list[str]
    opened_by: str
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    ack_expires_at: datetime | None
    resolved_at: datetime | None
    resolved_by: str | None
    updated_at: datetime


class IncidentAlertOut(BaseModel):
    alert_id: int
    fingerprint: str
    source: str
    alert_status: str = Field(description="The alert's status now.")
    status: str = Field(description="The alert's last status while in this incident.")
    severity: str | None
    labels: dict[str, Any]
    first_attached_at: datetime
    last_attached_at: datetime
    resolved_at: datetime | None


class IncidentDetail(IncidentOut):
    alerts: list[IncidentAlertOut]


class TimelineItem(BaseModel):
    """One line of an incident's timeline; ``ref_type``/``ref_id`` name what it is about."""

    at: datetime
    kind: str
    actor: str
    summary: str
    detail: dict[str, Any] = Field(default_factory=dict)
    ref_type: str | None = None
    ref_id: int | None = None


class IncidentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    severity: Severity | None = None
    service: Name | None = None
    summary: Text = ""
    assignee: Name | None = None
    commander: Name | None = None
    alert_ids: list[int] = Field(default_factory=list, max_length=1000)
    auto_resolve: bool = Field(
        default=False, description="Resolve it when all its alerts have resolved."
    )


class AcknowledgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expires_at: datetime | None = Field(
        default=None, description="When the acknowledgement lapses (the incident triggers again)."
    )
    expires_in_seconds: int | None = Field(default=None, ge=1, le=30 * 86400)
    note: NoteBody | None = None


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: NoteBody | None = None


class PeopleIn(BaseModel):
    """Who works on it; a field left out stays as it is, null clears it."""

    model_config = ConfigDict(extra="forbid")

    assignee: Name | None = None
    commander: Name | None = None


class SeverityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    severity: Severity


class AnalysisIn(BaseModel):
    """Root cause and follow-ups for the post-mortem; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid")

    summary: Text | None = None
    root_cause: Text | None = None
    follow_ups: list[FollowUp] | None = Field(default=None, max_length=100)


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: NoteBody


class IncidentRuleSpec(BaseModel):
    """A grouping rule as written in YAML (``incident_rules:``), tried in file order."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    matchers: list[str] = Field(default_factory=list)
    group_by: list[LabelName] = Field(min_length=1, max_length=20)
    window_seconds: int = Field(default=3600, ge=1, le=30 * 86400)
    auto_resolve: bool = True

    @field_validator("matchers")
    @classmethod
    def _matchers(cls, value: list[str]) -> list[str]:
        try:
            parse_matchers(value)
        except MatcherSyntaxError as exc:
            raise ValueError(str(exc)) from None
        return value


class Figures(BaseModel):
    """Times in seconds; null when no incident had the figure."""

    count: int
    acknowledged: int
    resolved: int
    mtta_mean: float | None
    mtta_median: float | None
    mttr_mean: float | None
    mttr_median: float | None


class WeekCount(BaseModel):
    week: str = Field(description="ISO week, e.g. 2026-W47")
    opened: int


class IncidentStats(BaseModel):
    since: datetime
    until: datetime
    overall: Figures
    by_service: dict[str, Figures]
    by_severity: dict[str, Figures]
    per_week: list[WeekCount]
