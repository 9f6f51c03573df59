"""Pydantic schemas of notifications: channels (never with URLs), routes, escalation policies,
and the records the API shows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    model_validator,
)

from sophrosyne.domains.actions.schemas import Name

Severity = Literal["info", "warning", "error", "critical"]
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,199}$")]

#: Why a URL in a channel's YAML is refused, and where it goes instead.
NO_URLS_IN_FILES = (
    "channel URLs carry tokens and are not allowed in config files; name where to read them "
    "with url_env: VARIABLE or url_file: PATH (read when applied, stored encrypted), or set "
    "them with PUT /api/v1/channels/NAME/urls"
)


class ChannelSpec(BaseModel):
    """A channel's definition. Its apprise URLs are set apart (``ChannelUrls``), or read from
    the environment variable ``url_env`` (several URLs separated by spaces or commas)."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    description: str = Field(default="", max_length=2000)
    enabled: bool = True
    url_env: EnvName | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_urls(cls, data: Any) -> Any:
        if isinstance(data, dict) and ({"url", "urls"} & set(data)):
            raise ValueError(NO_URLS_IN_FILES)
        return data


class ChannelFileSpec(BaseModel):
    """A channel as config files define it. Its URLs are never in the file: ``url_env`` names
    an environment variable and ``url_file`` a file (relative to the config directory) that
    hold them, read when the files are applied and stored encrypted like URLs set through the
    API; neither: a channel without URLs."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    description: str = Field(default="", max_length=2000)
    enabled: bool = True
    url_env: EnvName | None = None
    url_file: str | None = Field(default=None, min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _one_source(self) -> ChannelFileSpec:
        if self.url_env is not None and self.url_file is not None:
            raise ValueError("name url_env or url_file, not both")
        return self

    def definition(self) -> dict[str, Any]:
        """What the database stores of it besides the URLs."""
        return {"description": self.description, "enabled": self.enabled}


class ChannelUrls(BaseModel):
    """Apprise URLs, e.g. ``slack://…``, ``msteams://…``, ``mailtos://…``, ``json://…``."""

    model_config = ConfigDict(extra="forbid")

    urls: list[SecretStr] = Field(min_length=1, max_length=20)


class ChannelOut(BaseModel):
    """A channel as the API shows it: whether it has URLs, never them."""

    id: int
    name: str
    description: str
    enabled: bool
    url_env: str | None
    has_urls: bool
    managed_by: str
    source_file: str | None
    created_at: datetime
    updated_at: datetime


class RouteSpec(BaseModel):
    """Subjects whose labels match every matcher, at ``min_severity`` or above, go to
    ``channels``; the templates replace the default title and body."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    enabled: bool = True
    matchers: list[str] = Field(default_factory=list, max_length=50)
    min_severity: Severity | None = None
    channels: list[Name] = Field(min_length=1, max_length=20)
    title_template: str | None = Field(default=None, max_length=2000)
    body_template: str | None = Field(default=None, max_length=20000)


class RouteOut(RouteSpec):
    id: int
    managed_by: str
    source_file: str | None
    created_at: datetime
    updated_at: datetime


class NotifyTarget(BaseModel):
    """Exactly one of: the person on call for a schedule, a user, a channel."""

    model_config = ConfigDict(extra="forbid")

    schedule: Name | None = None
    user: str | None = Field(default=None, max_length=200)
    channel: Name | None = None

    @model_validator(mode="after")
    def _one(self) -> NotifyTarget:
        if sum(v is not None for v in (self.schedule, self.user, self.channel)) != 1:
            raise ValueError("name exactly one of schedule, user, channel")
        return self

    def describe(self) -> str:
        if self.schedule is not None:
            return f"on-call of {self.schedule}"
        return f"user {self.user}" if self.user is not None else f"channel {self.channel}"


class StepSpec(BaseModel):
    """Notify, then wait ``wait_seconds`` before the next step."""

    model_config = ConfigDict(extra="forbid")

    notify: NotifyTarget
    wait_seconds: int = Field(default=300, ge=0, le=7 * 86400)


class PolicySpec(BaseModel):
    """Steps in order; after the last, start again ``repeat`` more times; stop at ack."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    description: str = Field(default="", max_length=2000)
    steps: list[StepSpec] = Field(min_length=1, max_length=20)
    repeat: int = Field(default=0, ge=0, le=20)


class PolicyOut(PolicySpec):
    id: int
    managed_by: str
    source_file: str | None
    created_at: datetime
    updated_at: datetime


class NotificationOut(BaseModel):
    """One notification: sent, failed or suppressed (with why), or still pending."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    subject_kind: str
    subject_id: str
    event: str
    channel: str | None
    recipient: str | None
    route: str | None
    policy: str | None
    step: int | None
    status: str
    reason: str | None
    attempt: int
    title: str
    created_at: datetime
    finished_at: datetime | None


class EscalationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    subject_kind: str
    subject_id: str
    policy: str
    step: int
    cycle: int
    status: str
    reason: str | None
    next_at: datetime | None
    started_at: datetime
    updated_at: datetime
