"""The fatigue report as the API returns it, and the window it covers."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, Field

from sophrosyne.errors import ValidationFailed

#: Windows offered as links on the page; any ``<n>h`` or ``<n>d`` up to ``MAX_DAYS`` is valid.
WINDOWS = ("24h", "7d", "30d", "90d")
MAX_DAYS = 366
_WINDOW = re.compile(r"^([1-9][0-9]{0,4})([hd])$")


def window_days(window: str) -> float:
    """Days in a window such as ``24h`` or ``7d``; a clear 422 naming ``window`` otherwise."""
    found = _WINDOW.match(window.strip())
    if found is None:
        raise ValidationFailed.single(
            ("query", "window"), "must be a number of hours or days, such as 24h, 7d or 30d"
        )
    n = int(found.group(1))
    days = n / 24.0 if found.group(2) == "h" else float(n)
    if days > MAX_DAYS:
        raise ValidationFailed.single(("query", "window"), f"must be at most {MAX_DAYS} days")
    return days


class ComponentOut(BaseModel):
    name: str
    value: float = Field(description="The component, from 0 to 1")
    weight: float
    points: float = Field(description="What it adds to the score")


class RecommendationOut(BaseModel):
    kind: str = Field(
        description="add_for, hysteresis, raise_threshold, group, silence or fix_rule"
    )
    text: str
    suggestion: str = ""
    matchers: list[str] = []


class OffenderOut(BaseModel):
    """One alert signature (source and alertname) over the window."""

    rank: int
    source: str
    alertname: str
    score: float
    firings: int
    per_day: float
    alerts: int = Field(description="Distinct alerts (fingerprints) that fired")
    acted: int = Field(description="Firings with a run, a task or an acknowledged incident")
    resolved: int
    short_lived: int = Field(description="Resolved firings that lasted under 5 minutes")
    median_seconds: float | None
    flapping: int
    silenced: int
    inhibited: int
    peak: int = Field(description="Most of its alerts that started firing in one 5-minute slot")
    components: list[ComponentOut]
    recommendations: list[RecommendationOut]


class FatigueReport(BaseModel):
    window: str
    since: datetime
    until: datetime
    score: float = Field(description="Team score: the signatures' scores weighted by firings")
    signatures: int
    firings: int
    acted: int
    flapping: int
    silenced: int
    inhibited: int
    offenders: list[OffenderOut] = Field(description="Worst first, at most ``limit``")
