"""Pydantic schemas of the alerts domain: incoming payloads per source, and API replies.

``AlertmanagerPayload`` mirrors Alertmanager's webhook (payload version 4) field for field, so
it is accepted exactly as sent; ``GenericAlert`` is the documented shape for everything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Status = Literal["firing", "resolved"]
#: Length of the ``alerts.severity`` column.
SEVERITY_MAX = 64
# NUL is refused here, with the field named, because PostgreSQL cannot store it in JSONB.
_NO_NUL = r"^[^\x00]*$"
LabelName = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=_NO_NUL)]
LabelValue = Annotated[str, StringConstraints(max_length=4096, pattern=_NO_NUL)]
AnnotationValue = Annotated[str, StringConstraints(max_length=65536, pattern=_NO_NUL)]
Labels = dict[LabelName, LabelValue]


class AlertmanagerAlert(BaseModel):
    """One entry of ``alerts[]`` in Alertmanager's webhook."""

    model_config = ConfigDict(extra="ignore")

    status: Status
    labels: Annotated[Labels, Field(min_length=1)]
    annotations: dict[LabelName, AnnotationValue] = Field(default_factory=dict)
    startsAt: datetime | None = None  # noqa: N815 - Alertmanager's field names, as sent
    endsAt: datetime | None = None  # noqa: N815
    generatorURL: str = ""  # noqa: N815
    fingerprint: Annotated[str, StringConstraints(max_length=128)] = ""


class AlertmanagerPayload(BaseModel):
    """Alertmanager's webhook body, payload version 4."""

    model_config = ConfigDict(extra="ignore")

    version: Literal["4"]
    groupKey: str  # noqa: N815
    truncatedAlerts: int = Field(default=0, ge=0)  # noqa: N815
    status: Status
    receiver: str
    groupLabels: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    commonLabels: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    commonAnnotations: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    externalURL: str = ""  # noqa: N815
    alerts: list[AlertmanagerAlert]


class GenericAlert(BaseModel):
    """An alert from anything that can POST JSON."""

    model_config = ConfigDict(extra="forbid")

    labels: Annotated[Labels, Field(min_length=1)]
    annotations: dict[LabelName, AnnotationValue] = Field(default_factory=dict)
    status: Status = "firing"
    severity: Annotated[str, StringConstraints(max_length=SEVERITY_MAX)] | None = None
    fingerprint: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = Field(
        default=None, description="The sender's own fingerprint, kept verbatim."
    )
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    generator_url: str | None = None


@dataclass(slots=True)  # not frozen: frozen __init__ is slower, and these are made per alert
class IncomingAlert:
    """An alert normalised from any source, ready to be stored."""

    source: str
    fingerprint: str
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    severity: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    generator_url: str | None


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    source: str
    fingerprint: str
    status: str
    labels: dict[str, Any]
    annotations: dict[str, Any]
    severity: str | None
    generator_url: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    first_seen_at: datetime
    last_seen_at: datetime
    episode: int
    episode_started_at: datetime
    occurrences: int
    total_occurrences: int


class AlertEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    episode: int
    from_status: str | None
    to_status: str
    at: datetime


class AlertDecisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    episode: int
    rule_id: int | None
    rule_name: str
    outcome: str
    detail: str
    run_id: int | None
    at: datetime


class IngestReply(BaseModel):
    """What an ingest endpoint answers: counts, so senders and tests can check them."""

    received: int
    created: int
    updated: int
    state_changes: int
    runs_enqueued: int
    runs_awaiting_confirmation: int
