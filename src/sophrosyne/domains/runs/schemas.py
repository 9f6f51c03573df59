"""Pydantic schemas of runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    action_id: int | None
    action_name: str
    kind: str
    rule_id: int | None
    alert_id: int | None
    alert_episode: int | None
    state: str
    params: dict[str, Any]
    argv: list[str]
    targets: list[str]
    request: dict[str, Any]
    results: list[dict[str, Any]]
    timeout_seconds: int
    idempotent: bool
    #: Queued by a rule without a person: the kill switch holds it while automation is paused.
    automatic: bool
    #: 1: waits, queued, while another run holds one of its targets; 0: unlimited.
    target_concurrency: int
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    worker_id: str | None
    cancel_requested: bool
    exit_code: int | None
    output_truncated: bool
    error: str | None
    #: For a run awaiting confirmation: the hash of what will run, to approve exactly that.
    pin_hash: str | None = None
    expires_at: datetime | None = None


class RunEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_state: str | None
    to_state: str
    reason: str
    at: datetime


class RunApprovalOut(BaseModel):
    """Who approved or rejected the run, when, why, and for which pin."""

    model_config = ConfigDict(from_attributes=True)

    actor: str
    decision: str
    comment: str
    pin_hash: str
    at: datetime


class RunDetail(RunOut):
    output: str
    events: list[RunEventOut]
    approvals: list[RunApprovalOut] = []


class ManualRunRequest(BaseModel):
    """Run an action by hand with these parameters."""

    model_config = ConfigDict(extra="forbid")

    params: dict[str, Any] = Field(default_factory=dict)
    targets: list[str] | None = Field(
        default=None, description="Target names to run on (for actions that run on targets)."
    )
    selector: list[str] | None = Field(
        default=None, description='Or: matchers over target labels, e.g. role="db".'
    )


class RunOutputChunk(BaseModel):
    """A piece of a run's live output, redacted and capped like the run's output."""

    model_config = ConfigDict(from_attributes=True)

    seq: int = Field(description="Position in the run's live output, from 1.")
    text: str
    at: datetime


class RunOutputPage(BaseModel):
    """Live output of a run after a given seq, and where the run stands."""

    run_id: int
    state: str
    chunks: list[RunOutputChunk]
    next_after: int = Field(description="Pass as `after` to get the chunks that follow.")
    complete: bool = Field(
        description="The run has finished and this page holds the last chunk: stop polling."
    )
