"""Pydantic schemas of maintenance windows (the API's and YAML's ``maintenance_windows:``)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from sophrosyne.domains.oncall.schemas import TimeZoneName
from sophrosyne.domains.rules.matching import MatcherSyntaxError, parse_matcher
from sophrosyne.errors import FieldError

Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,119}$")]
LabelName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WindowState = Literal["active", "scheduled", "expired"]
#: Longest occurrence of a recurring window (and the look-back when checking one).
MAX_DURATION_MINUTES = 31 * 24 * 60


def _matcher(value: str) -> str:
    try:
        parse_matcher(value)
    except MatcherSyntaxError as exc:
        raise ValueError(str(exc)) from None
    return value


MatcherText = Annotated[str, AfterValidator(_matcher)]


class RecurrenceSpec(BaseModel):
    """Every day, some weekdays or some days of the month, from ``start_time`` (local, in
    ``timezone``) for ``duration_minutes``; between ``valid_from`` and ``valid_until``."""

    model_config = ConfigDict(extra="forbid")

    frequency: Literal["daily", "weekly", "monthly"]
    days: list[Weekday] = Field(default_factory=list, description="weekly: which weekdays")
    days_of_month: list[Annotated[int, Field(ge=1, le=31)]] = Field(
        default_factory=list, description="monthly: which days (a month without one skips it)"
    )
    start_time: time = Field(description="local wall-clock time, e.g. 02:00")
    duration_minutes: int = Field(ge=1, le=MAX_DURATION_MINUTES)
    timezone: TimeZoneName = "UTC"
    valid_from: date | None = None
    valid_until: date | None = None

    @field_validator("start_time")
    @classmethod
    def _naive(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("a local time without an offset (the zone is `timezone`)")
        return value


class MaintenanceSpec(BaseModel):
    """A maintenance window: what it covers (scope) and when (one-off or recurring).

    In scope: a firing alert matching all of ``matchers`` (when given), or whose
    ``from_label`` (default ``instance``; ``host:port`` is fine) names or addresses a target
    listed in ``targets`` or whose labels match ``target_selector``.
    """

    model_config = ConfigDict(extra="forbid")

    name: Name
    comment: str = Field(min_length=1, max_length=10_000, description="why: shown on alerts")
    author: str | None = Field(default=None, max_length=200)
    targets: list[Name] = Field(default_factory=list, max_length=1000)
    target_selector: list[MatcherText] = Field(
        default_factory=list, max_length=64, description="matchers on target labels"
    )
    matchers: list[MatcherText] = Field(
        default_factory=list, max_length=64, description="matchers on alert labels"
    )
    from_label: LabelName = "instance"
    starts_at: datetime | None = Field(default=None, description="one-off: start")
    ends_at: datetime | None = Field(default=None, description="one-off: end")
    recurrence: RecurrenceSpec | None = None

    @field_validator("comment")
    @classmethod
    def _comment(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a maintenance window needs a comment saying why")
        return value.strip()


def spec_problems(spec: MaintenanceSpec) -> list[FieldError]:
    """What a single field cannot say: scope and schedule as a whole, each naming a field."""
    out: list[FieldError] = []
    if not (spec.targets or spec.target_selector or spec.matchers):
        out.append(
            FieldError(("targets",), "give targets, target_selector or matchers (the scope)")
        )
    one_off = spec.starts_at is not None or spec.ends_at is not None
    if one_off and spec.recurrence is not None:
        out.append(FieldError(("recurrence",), "either starts_at/ends_at or recurrence"))
    elif not one_off and spec.recurrence is None:
        out.append(FieldError(("ends_at",), "give starts_at and ends_at, or a recurrence"))
    elif one_off:
        if spec.ends_at is None:
            out.append(FieldError(("ends_at",), "a one-off window needs an end"))
        elif spec.starts_at is not None and spec.ends_at <= spec.starts_at:
            out.append(FieldError(("ends_at",), "must be after starts_at"))
    rec = spec.recurrence
    if rec is not None:
        if rec.frequency == "weekly" and not rec.days:
            out.append(FieldError(("recurrence", "days"), "a weekly window needs weekdays"))
        if rec.frequency == "monthly" and not rec.days_of_month:
            out.append(FieldError(("recurrence", "days_of_month"), "a monthly window needs days"))
        if rec.frequency != "weekly" and rec.days:
            out.append(FieldError(("recurrence", "days"), "only for frequency weekly"))
        if rec.frequency != "monthly" and rec.days_of_month:
            out.append(FieldError(("recurrence", "days_of_month"), "only for frequency monthly"))
        if rec.valid_from and rec.valid_until and rec.valid_until < rec.valid_from:
            out.append(FieldError(("recurrence", "valid_until"), "before valid_from"))
    return out


class OccurrenceOut(BaseModel):
    starts_at: datetime
    ends_at: datetime


class MaintenanceOut(MaintenanceSpec):
    id: int
    author: str
    state: WindowState
    #: The occurrence open now (if any) and the next ones, at most five.
    next_occurrences: list[OccurrenceOut]
    managed_by: str
    source_file: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
