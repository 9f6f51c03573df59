"""Pure ranking of past fixes for one alert signature.

An attempt is one applied fix. It *resolved* the alert if the alert's episode went to
``resolved`` within the window after the fix began; it did *not* if the window passed without
that; it is *pending* while the window is still open; and it is left out when the episode had
already resolved before the fix began (nothing left to fix).

Fixes are ranked by the lower bound of the 95 % Wilson score interval of their success rate,
then by successes, then by name. The Wilson bound weighs a rate by how much evidence it rests
on: 9 resolved out of 10 (bound 0.60) ranks above 1 out of 1 (0.21) and 3 out of 3 (0.44),
while 18 out of 20 (0.70) ranks above 9 out of 10 - which plain success rates would not do.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sophrosyne.domains.fixes.signature import describe

#: z for a two-sided 95 % interval.
Z_95 = 1.959963984540054


class Outcome(StrEnum):
    RESOLVED = "resolved"
    NOT_RESOLVED = "not_resolved"
    PENDING = "pending"
    ALREADY_RESOLVED = "already_resolved"


@dataclass(frozen=True)
class Attempt:
    kind: str
    name: str
    outcome: Outcome
    seconds_to_resolve: float | None = None


def judge(
    applied_at: datetime, resolved_at: datetime | None, *, window: timedelta, now: datetime
) -> tuple[Outcome, float | None]:
    """The outcome of a fix begun at ``applied_at`` for an episode that resolved at
    ``resolved_at`` (None: not yet), and how long resolution took."""
    if resolved_at is not None:
        if resolved_at < applied_at:
            return Outcome.ALREADY_RESOLVED, None
        took = resolved_at - applied_at
        if took <= window:
            return Outcome.RESOLVED, took.total_seconds()
        return Outcome.NOT_RESOLVED, None
    if now - applied_at <= window:
        return Outcome.PENDING, None
    return Outcome.NOT_RESOLVED, None


def wilson_lower_bound(successes: int, trials: int, z: float = Z_95) -> float:
    """Lower bound of the Wilson score interval for ``successes`` out of ``trials``."""
    if trials <= 0:
        return 0.0
    p = successes / trials
    z2 = z * z
    centre = p + z2 / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    return max(0.0, (centre - spread) / (1 + z2 / trials))


@dataclass(frozen=True)
class FixStats:
    """How one fix (an action or a recommendation) did for one signature."""

    kind: str
    name: str
    attempts: int
    successes: int
    pending: int
    median_seconds: float | None

    @property
    def success_rate(self) -> float:
        return self.successes / self.attempts if self.attempts else 0.0

    @property
    def score(self) -> float:
        return wilson_lower_bound(self.successes, self.attempts)

    def summary(self, sig: Mapping[str, str]) -> str:
        """``restart-db resolved DiskPressure on role=db 9 times out of 10, median 3 min``."""
        head = f"{self.name} resolved {describe(sig)}"
        if not self.attempts:
            return f"{head}: applied {self.pending} times, too soon to tell"
        text = f"{head} {self.successes} times out of {self.attempts}"
        if self.median_seconds is not None:
            text += f", median {format_duration(self.median_seconds)}"
        return text


def format_duration(seconds: float) -> str:
    """``40 s``, ``3 min``, ``2.5 h``: rounded half up, in the unit a person would say."""
    if seconds < 60:
        return f"{int(seconds + 0.5)} s"
    minutes = int(seconds / 60 + 0.5)
    if minutes < 120:
        return f"{minutes} min"
    return f"{seconds / 3600:.1f} h"


def rank(attempts: Iterable[Attempt]) -> list[FixStats]:
    """Attempts grouped by fix, best first (see the module's docstring)."""
    groups: dict[tuple[str, str], list[Attempt]] = {}
    for a in attempts:
        if a.outcome != Outcome.ALREADY_RESOLVED:
            groups.setdefault((a.kind, a.name), []).append(a)
    stats = []
    for (kind, name), group in groups.items():
        decided = [a for a in group if a.outcome != Outcome.PENDING]
        times = [
            a.seconds_to_resolve
            for a in decided
            if a.outcome == Outcome.RESOLVED and a.seconds_to_resolve is not None
        ]
        stats.append(
            FixStats(
                kind=kind,
                name=name,
                attempts=len(decided),
                successes=len(times),
                pending=len(group) - len(decided),
                median_seconds=statistics.median(times) if times else None,
            )
        )
    stats.sort(key=lambda s: (-s.score, -s.successes, s.attempts, s.name, s.kind))
    return stats
