"""Incident statistics, pure: MTTA (acknowledged - opened) and MTTR (resolved - opened).

Means and medians overall, by service and by severity, and incidents opened per ISO week.
An incident never acknowledged counts for MTTR but not MTTA; one still open for neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import mean, median

from sophrosyne.domains.incidents.schemas import Figures, WeekCount

NONE_KEY = "(none)"


@dataclass(frozen=True)
class Facts:
    opened_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    service: str | None
    severity: str | None


def _seconds(later: datetime | None, earlier: datetime) -> float | None:
    return None if later is None else max(0.0, (later - earlier).total_seconds())


def figures(facts: Sequence[Facts]) -> Figures:
    tta = [t for f in facts if (t := _seconds(f.acknowledged_at, f.opened_at)) is not None]
    ttr = [t for f in facts if (t := _seconds(f.resolved_at, f.opened_at)) is not None]
    return Figures(
        count=len(facts),
        acknowledged=len(tta),
        resolved=len(ttr),
        mtta_mean=mean(tta) if tta else None,
        mtta_median=median(tta) if tta else None,
        mttr_mean=mean(ttr) if ttr else None,
        mttr_median=median(ttr) if ttr else None,
    )


def by(facts: Iterable[Facts], attribute: str) -> dict[str, Figures]:
    groups: dict[str, list[Facts]] = {}
    for f in facts:
        groups.setdefault(getattr(f, attribute) or NONE_KEY, []).append(f)
    return {k: figures(v) for k, v in sorted(groups.items())}


def iso_week(when: datetime) -> str:
    year, week, _ = when.isocalendar()
    return f"{year}-W{week:02d}"


def per_week(facts: Iterable[Facts]) -> list[WeekCount]:
    counts: dict[str, int] = {}
    for f in facts:
        week = iso_week(f.opened_at)
        counts[week] = counts.get(week, 0) + 1
    return [WeekCount(week=w, opened=n) for w, n in sorted(counts.items())]
