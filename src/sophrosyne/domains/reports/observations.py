"""Analysis insights, pure: observations drawn from figures the database counted, each with
its kind, severity, a sentence, and the numbers behind it. Deterministic: the same figures
always give the same insights in the same order.

Kinds:
- ``success_rate_drop``: an action's success rate fell against the previous equal window.
- ``no_automation``: an alert fires often and never gets a run (no rule, or none that ran).
- ``fix_not_working``: an alert's runs succeed, yet it keeps firing again.
- ``failing_target``: the targets with the most failed runs.
- ``mttr_trend``: mean time to resolve against the previous equal window.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sophrosyne.domains.reports.schemas import Insight, ServerRow

#: Fewer outcomes than this in either window and a rate comparison means nothing.
MIN_OUTCOMES = 3
#: A drop of this many points (0.2 = 20 %) is worth a warning; ``CRITICAL_DROP`` is critical.
WARN_DROP = 0.2
CRITICAL_DROP = 0.5
#: An alert firing at least this often in a window "fires often".
OFTEN = 3
#: Succeeded runs after which an alert that still fires means the fix does not hold.
FIXES_TRIED = 2
FAILING_TARGETS = 3
#: A change of MTTR by this fraction is a trend.
MTTR_CHANGE = 0.25
_ORDER = {"critical": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class AlertActivity:
    alertname: str
    fingerprint: str
    firing: int
    runs: int
    succeeded: int
    decisions: int


def _pct(value: float) -> str:
    return f"{value * 100:.0f} %"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def rate_drops(
    current: Mapping[str, tuple[int, int]], previous: Mapping[str, tuple[int, int]]
) -> list[Insight]:
    """Actions whose success rate fell; ``(succeeded, outcomes)`` per action and window."""
    out = []
    for action in sorted(set(current) & set(previous)):
        ok, n = current[action]
        ok_before, n_before = previous[action]
        if n < MIN_OUTCOMES or n_before < MIN_OUTCOMES:
            continue
        now_rate, before = ok / n, ok_before / n_before
        drop = before - now_rate
        if drop < WARN_DROP:
            continue
        out.append(
            Insight(
                kind="success_rate_drop",
                severity="critical" if drop >= CRITICAL_DROP else "warning",
                subject=action,
                text=(
                    f"Action {action} succeeded in {_pct(now_rate)} of its runs, "
                    f"down from {_pct(before)} in the previous window."
                ),
                evidence={
                    "success_rate": round(now_rate, 4),
                    "previous_success_rate": round(before, 4),
                    "outcomes": n,
                    "previous_outcomes": n_before,
                },
            )
        )
    return out


def unanswered(alerts: Iterable[AlertActivity]) -> list[Insight]:
    """Alerts that fire often and never got a run."""
    out = []
    for a in alerts:
        if a.firing < OFTEN or a.runs > 0:
            continue
        why = (
            "no rule matches it"
            if a.decisions == 0
            else f"rules matched {a.decisions} times but none ran"
        )
        out.append(
            Insight(
                kind="no_automation",
                severity="warning",
                subject=a.alertname,
                text=f"Alert {a.alertname} fired {a.firing} times and never got a run: {why}.",
                evidence={
                    "fingerprint": a.fingerprint,
                    "firing": a.firing,
                    "runs": 0,
                    "decisions": a.decisions,
                },
            )
        )
    return out


def fixes_not_holding(alerts: Iterable[AlertActivity]) -> list[Insight]:
    """Alerts whose runs succeed but that keep firing."""
    out = []
    for a in alerts:
        if a.succeeded < FIXES_TRIED or a.firing < OFTEN:
            continue
        out.append(
            Insight(
                kind="fix_not_working",
                severity="warning",
                subject=a.alertname,
                text=(
                    f"Alert {a.alertname} fired {a.firing} times although {a.succeeded} runs "
                    "for it succeeded: the fix does not hold."
                ),
                evidence={
                    "fingerprint": a.fingerprint,
                    "firing": a.firing,
                    "succeeded_runs": a.succeeded,
                },
            )
        )
    return out


def failing_targets(rows: Sequence[ServerRow], limit: int = FAILING_TARGETS) -> list[Insight]:
    """The targets with the most failed runs (at least one)."""
    worst = sorted((r for r in rows if r.failures), key=lambda r: (-r.failures, r.target))
    out = []
    for r in worst[:limit]:
        low = r.success_rate is not None and r.success_rate < 0.5
        out.append(
            Insight(
                kind="failing_target",
                severity="critical" if low else "warning",
                subject=r.target,
                text=f"Target {r.target} had {r.failures} failed runs out of {r.runs}.",
                evidence={"failures": r.failures, "runs": r.runs, "success_rate": r.success_rate},
            )
        )
    return out


def mttr_trend(
    current: float | None, previous: float | None, resolved: int, previous_resolved: int
) -> list[Insight]:
    """How MTTR moved against the previous window; nothing without both."""
    if current is None or previous is None:
        return []
    change = (current - previous) / previous if previous else 0.0
    if change >= MTTR_CHANGE:
        severity, verb = "warning", "rose"
    elif change <= -MTTR_CHANGE:
        severity, verb = "info", "fell"
    else:
        severity, verb = "info", "held steady"
    return [
        Insight(
            kind="mttr_trend",
            severity=severity,
            subject="incidents",
            text=(
                f"Mean time to resolve {verb}: {_duration(current)} against "
                f"{_duration(previous)} in the previous window ({change * 100:+.0f} %)."
            ),
            evidence={
                "mttr_seconds": round(current, 3),
                "previous_mttr_seconds": round(previous, 3),
                "change": round(change, 4),
                "resolved": resolved,
                "previous_resolved": previous_resolved,
            },
        )
    ]


def ordered(insights: Iterable[Insight]) -> list[Insight]:
    """Most severe first, then by kind and subject."""
    return sorted(insights, key=lambda i: (_ORDER[i.severity], i.kind, i.subject))
