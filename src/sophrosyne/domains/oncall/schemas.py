"""Pydantic schemas of on-call schedules: layers of rotations, restrictions, overrides."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from sophrosyne.domains.actions.schemas import Name


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
    return value


#: An IANA time zone name (``Europe/Paris``), checked against the system's zone database.
TimeZoneName = Annotated[str, AfterValidator(_known_zone)]
UserName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,199}$")]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Restriction(BaseModel):
    """The layer only covers these local hours (``end`` at or before ``start``: past midnight)
    on these days (the day the window starts)."""

    model_config = ConfigDict(extra="forbid")

    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1)
    start: time = time(0, 0)
    end: time = time(0, 0)


class LayerSpec(BaseModel):
    """A rotation: ``users`` take turns, each for one shift; the first shift starts on
    ``start`` at ``handoff`` (local time); shifts are a day, a week, or ``shift_hours``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=120)
    users: list[UserName] = Field(min_length=1)
    start: date
    handoff: time = time(9, 0)
    rotation: Literal["daily", "weekly", "hours"] = "weekly"
    shift_hours: int | None = Field(default=None, ge=1, le=24 * 28)
    restriction: Restriction | None = None

    @model_validator(mode="after")
    def _hours(self) -> LayerSpec:
        if self.rotation == "hours" and self.shift_hours is None:
            raise ValueError("rotation 'hours' needs shift_hours")
        if self.rotation != "hours" and self.shift_hours is not None:
            raise ValueError("shift_hours is only for rotation 'hours'")
        return self


class ScheduleSpec(BaseModel):
    """A schedule: layers in a time zone, the last layer on top."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    description: str = Field(default="", max_length=2000)
    time_zone: TimeZoneName = "UTC"
    layers: list[LayerSpec] = Field(min_length=1, max_length=20)


class OverrideSpec(BaseModel):
    """``user`` is on call for the schedule from ``starts_at`` to ``ends_at``."""

    model_config = ConfigDict(extra="forbid")

    user: UserName
    starts_at: datetime
    ends_at: datetime
    note: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _order(self) -> OverrideSpec:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("starts_at and ends_at need a time zone offset")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class OverrideOut(OverrideSpec):
    id: int
    created_by: str
    created_at: datetime


class ScheduleOut(ScheduleSpec):
    id: int
    managed_by: str
    source_file: str | None
    created_at: datetime
    updated_at: datetime


class OnCallOut(BaseModel):
    """Who is on call at ``at`` (``user`` None: nobody), since when, until when, and next."""

    schedule: str
    at: datetime
    user: str | None
    layer: str | None
    since: datetime | None
    until: datetime | None
    next_user: str | None
    next_start: datetime | None
