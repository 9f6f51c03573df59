"""Pydantic schemas of confirmations: approving or rejecting a run, and the queue."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class ApproveRequest(BaseModel):
    """Approve exactly what you saw: ``pin`` is the run's ``pin`` from the queue."""

    model_config = ConfigDict(extra="forbid")

    pin: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    comment: Annotated[str, StringConstraints(max_length=2000)] = ""


class RejectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class ApprovalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    actor: str
    decision: str
    comment: str
    at: datetime
    #: Whether this approval is for what will run now (an approval of an earlier pin is not).
    current: bool = True


class ConfirmationOut(BaseModel):
    """A run waiting for people: exactly what will run, who asked, approvals so far."""

    run_id: int
    action_name: str
    kind: str
    risk: str | None
    params: dict[str, Any]
    argv: list[str]
    targets: list[str]
    request: dict[str, Any]
    timeout_seconds: int
    requested_by: str
    alert_id: int | None
    created_at: datetime
    expires_at: datetime | None
    held_because: str | None = Field(default=None, description="Why a guard held it back.")
    pin: str
    quorum: int
    approvals: list[ApprovalOut]
