"""Pydantic models of the reports: what the API returns as JSON and the pages draw.

Durations are seconds. A success rate is succeeded / (succeeded + failed + timed out +
interrupted): runs cancelled, expired or rejected were a person's decision, not an outcome,
and runs still queued or running have none yet. None when there is nothing to divide by.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

ReportName = Literal["overview", "actions", "servers", "errors", "insights"]
REPORTS: tuple[ReportName, ...] = ("overview", "actions", "servers", "errors", "insights")

#: Run states that ended in a failure of the action itself.
FAILURE_STATES = ("failed", "timed_out", "interrupted")
#: Run states counted by a success rate.
OUTCOME_STATES = ("succeeded", *FAILURE_STATES)


class WindowOut(BaseModel):
    name: str = Field(description="24h, 7d, 30d, 90d or custom")
    start: datetime
    end: datetime
    bucket: Literal["hour", "day", "week"] = Field(description="Bucket size of the time series")


class ReportHead(BaseModel):
    window: WindowOut
    target: str | None = Field(None, description="The target the report is narrowed to")
    generated_at: datetime


class StateBucket(BaseModel):
    """Runs created in one bucket, by state."""

    start: datetime
    total: int
    states: dict[str, int]
    success_rate: float | None


class AlertFigures(BaseModel):
    new: int = Field(description="Alerts seen for the first time in the window")
    firing: int = Field(description="Times an alert started firing (new or a new episode)")
    resolved: int = Field(description="Times an alert resolved")
    firing_now: int = Field(description="Alerts firing now (when the report was made)")


class IncidentFigures(BaseModel):
    opened: int
    resolved: int = Field(description="Incidents resolved in the window")
    acknowledged: int = Field(description="Of those opened, how many were acknowledged")
    mtta_seconds: float | None = Field(description="Mean time to acknowledge, opened in window")
    mttr_seconds: float | None = Field(description="Mean time to resolve, resolved in window")


class RunFigures(BaseModel):
    total: int
    by_state: dict[str, int]
    success_rate: float | None


class TopAlert(BaseModel):
    alert_id: int
    alertname: str
    fingerprint: str
    firing: int = Field(description="Times it started firing in the window")
    runs: int = Field(description="Runs made for it in the window")


class MttrBucket(BaseModel):
    start: datetime
    resolved: int
    mttr_seconds: float | None


class Overview(ReportHead):
    alerts: AlertFigures
    incidents: IncidentFigures
    runs: RunFigures
    runs_over_time: list[StateBucket]
    top_alerts: list[TopAlert]
    mttr_over_time: list[MttrBucket]


class ActionRow(BaseModel):
    action: str
    runs: int
    succeeded: int
    failed: int
    timed_out: int
    cancelled: int
    interrupted: int
    success_rate: float | None
    median_seconds: float | None = Field(description="Median duration of finished runs")
    p95_seconds: float | None = Field(description="95th percentile (nearest rank)")
    last_run_at: datetime | None


class ActionsReport(ReportHead):
    actions: list[ActionRow]
    runs_over_time: list[StateBucket]


class ServerRow(BaseModel):
    target: str
    in_inventory: bool
    runs: int
    succeeded: int
    failures: int = Field(description="Runs failed, timed out or interrupted")
    success_rate: float | None
    alerts: int = Field(description="Distinct alerts pointing at it that fired in the window")
    firing: int = Field(description="Times those alerts started firing")
    last_failure_at: datetime | None


class ServersReport(ReportHead):
    servers: list[ServerRow]


class ErrorGroup(BaseModel):
    action: str
    signature: str = Field(description="First line of the error (or of the output)")
    count: int
    last_seen: datetime
    last_run_id: int
    last_state: str
    last_exit_code: int | None
    targets: list[str] = Field(description="Targets of the last run in the group")


class FailedRun(BaseModel):
    run_id: int
    action: str
    state: str
    targets: list[str]
    exit_code: int | None
    first_line: str
    at: datetime


class ErrorsReport(ReportHead):
    groups: list[ErrorGroup]
    recent: list[FailedRun]


Severity = Literal["critical", "warning", "info"]


class Insight(BaseModel):
    kind: str
    severity: Severity
    subject: str = Field(description="What it is about: an action, alert or target name")
    text: str
    evidence: dict[str, float | int | str | None]


class InsightsReport(ReportHead):
    insights: list[Insight]
