"""Pydantic schemas of guards: a rule's ``guards`` section, an action's ``rate_limit``, and
the kill switch as the API shows and changes it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

#: Thirty days: no window or cooldown is longer.
MAX_WINDOW = 30 * 86400
Seconds = Annotated[int, Field(ge=1, le=MAX_WINDOW)]
LabelName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]{0,127}$")]
THROTTLE_KINDS = ("once_within", "once_after", "accumulate_within")


class RateLimit(BaseModel):
    """At most ``runs`` runs within any ``window_seconds``."""

    model_config = ConfigDict(extra="forbid")

    runs: int = Field(ge=1, le=1_000_000, description="Runs allowed within the window.")
    window_seconds: Seconds = Field(description="Length of the sliding window.")


class TargetWindow(BaseModel):
    """At most ``targets`` distinct targets within any ``window_seconds``."""

    model_config = ConfigDict(extra="forbid")

    targets: int = Field(ge=1, le=1_000_000, description="Distinct targets within the window.")
    window_seconds: Seconds = Field(description="Length of the sliding window.")


class Throttle(BaseModel):
    """Event-Driven Ansible's throttles for flapping alerts, per group of alerts that share
    the values of ``group_by`` labels (no labels: the whole rule is one group). An event is a
    matching alert changing state (new, firing again, resolved), not a re-send.

    * ``once_within: S``: the first event acts; the rest of the S seconds are suppressed.
    * ``once_after: S``: the first event opens an S-second window; when it ends, the rule acts
      once, with the group's latest alert.
    * ``accumulate_within: S`` with ``threshold: N``: acts when N events arrive within S seconds
      of the first; then counting starts again.
    """

    model_config = ConfigDict(extra="forbid")

    once_within: Seconds | None = None
    once_after: Seconds | None = None
    accumulate_within: Seconds | None = None
    threshold: int | None = Field(
        default=None, ge=1, le=1_000_000, description="Events needed (accumulate_within only)."
    )
    group_by: list[LabelName] = Field(
        default_factory=list, description="Alert labels that tell groups apart."
    )

    @model_validator(mode="after")
    def _one_kind(self) -> Throttle:
        given = [k for k in THROTTLE_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of once_within, once_after or accumulate_within"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.accumulate_within is not None and self.threshold is None:
            raise ValueError("accumulate_within needs a threshold")
        if self.accumulate_within is None and self.threshold is not None:
            raise ValueError("threshold is only for accumulate_within")
        if len(set(self.group_by)) != len(self.group_by):
            raise ValueError("group_by repeats a label")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in THROTTLE_KINDS if getattr(self, k) is not None)

    @property
    def window_seconds(self) -> int:
        value = getattr(self, self.kind)
        assert isinstance(value, int)
        return value


class RuleGuards(BaseModel):
    """What holds a rule's automatic runs back, or makes them wait for a person."""

    model_config = ConfigDict(extra="forbid")

    max_targets: int | None = Field(
        default=None,
        ge=1,
        le=1_000_000,
        description="A run on more targets than this waits for confirmation.",
    )
    max_targets_per_window: TargetWindow | None = Field(
        default=None,
        description="A run that would take the rule past this many distinct targets within "
        "the window waits for confirmation.",
    )
    rate_limit: RateLimit | None = Field(
        default=None, description="More runs of this rule within the window are held back."
    )
    target_cooldown_seconds: int = Field(
        default=0,
        ge=0,
        le=MAX_WINDOW,
        description="The rule does not run again on a target it ran on this recently.",
    )
    throttle: Throttle | None = None

    def is_empty(self) -> bool:
        return self == RuleGuards()


class AutomationOut(BaseModel):
    """The kill switch: while ``paused``, no automatic run starts."""

    model_config = ConfigDict(from_attributes=True)

    paused: bool
    reason: str = Field(description="Why it was paused (or resumed).")
    by: str | None = Field(description="Who paused or resumed it last.")
    since: datetime | None = Field(description="When it was last paused or resumed.")


class AutomationChange(BaseModel):
    """Pause or resume automation."""

    model_config = ConfigDict(extra="forbid")

    paused: bool
    reason: Annotated[str, StringConstraints(max_length=1000)] = ""

    @field_validator("reason")
    @classmethod
    def _reason_to_pause(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("paused") and not value.strip():
            raise ValueError("say why automation is paused")
        return value.strip()
