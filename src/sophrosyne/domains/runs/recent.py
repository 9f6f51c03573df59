"""Runs within windows of time: read in bulk for the guards of one batch (when a rule last
ran for an alert, how many runs a rule or action created lately, which targets a rule touched),
and how an action's recent runs ended, for its page.

A rule's own guards count in ``guarded_runs``, which holds the runs of rules that have such
guards: they count the runs made while the guard was set.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, distinct, func, or_, select
from sqlalchemy.orm import Session

from sophrosyne.domains.runs.models import GuardedRun, Run
from sophrosyne.domains.runs.states import RunState


def last_run_times(
    session: Session, pairs: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], datetime]:
    """(rule id, alert id) → when that rule last created a run for that alert."""
    wanted = set(pairs)
    if not wanted:
        return {}
    rows = session.execute(
        select(Run.rule_id, Run.alert_id, func.max(Run.created_at))
        .where(Run.rule_id.in_({r for r, _ in wanted}), Run.alert_id.in_({a for _, a in wanted}))
        .group_by(Run.rule_id, Run.alert_id)
    )
    return {(r, a): t for r, a, t in rows if (r, a) in wanted and r is not None and a is not None}


def _windows(column: Any, since: dict[int, datetime], created_at: Any) -> Any:
    return or_(*(and_(column == key, created_at >= start) for key, start in since.items()))


def rule_runs(session: Session, since: dict[int, datetime]) -> dict[int, int]:
    """Runs per guarded rule created at or after each rule's own start of window (``since``
    maps rule id → start). One query for all of them."""
    if not since:
        return {}
    rows = session.execute(
        select(GuardedRun.rule_id, func.count(distinct(GuardedRun.run_id)))
        .where(_windows(GuardedRun.rule_id, since, GuardedRun.created_at))
        .group_by(GuardedRun.rule_id)
    )
    return {int(key): int(n) for key, n in rows if key is not None}


def action_runs(session: Session, since: dict[int, datetime]) -> dict[int, int]:
    """Runs per action (by rules or by hand) created at or after each action's own start of
    window. One query for all of them."""
    if not since:
        return {}
    rows = session.execute(
        select(Run.action_id, func.count())
        .where(_windows(Run.action_id, since, Run.created_at))
        .group_by(Run.action_id)
    )
    return {int(key): int(n) for key, n in rows if key is not None}


#: Runs that never went ahead on their own: they did not touch their targets.
_NOT_TOUCHING = or_(
    Run.state == RunState.AWAITING_CONFIRMATION.value,
    and_(Run.state == RunState.CANCELLED.value, Run.started_at.is_(None)),
)


def touched_targets(session: Session, since: dict[int, datetime]) -> dict[int, dict[str, datetime]]:
    """Rule id → target → when the rule's latest run on it was created, for runs created at or
    after each rule's start of window that went ahead (not those awaiting confirmation or
    cancelled before they started). One query for all rules."""
    if not since:
        return {}
    rows = session.execute(
        select(GuardedRun.rule_id, GuardedRun.target, func.max(GuardedRun.created_at))
        .join(Run, Run.id == GuardedRun.run_id)
        .where(
            _windows(GuardedRun.rule_id, since, GuardedRun.created_at),
            GuardedRun.target != "",
            ~_NOT_TOUCHING,
        )
        .group_by(GuardedRun.rule_id, GuardedRun.target)
    )
    out: dict[int, dict[str, datetime]] = {}
    for rule, target, at in rows:
        if rule is not None:
            out.setdefault(int(rule), {})[target] = at
    return out


#: The states that say how a run that ran ended; the success rate is over these only (a run
#: cancelled, rejected or expired before it ran says nothing about the action).
ENDED = (RunState.SUCCEEDED, RunState.FAILED, RunState.TIMED_OUT, RunState.INTERRUPTED)


@dataclass(frozen=True)
class Outcomes:
    """How an action's runs created within a window ended, counted per state."""

    by_state: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_state.values())

    @property
    def succeeded(self) -> int:
        return self.by_state.get(RunState.SUCCEEDED, 0)

    @property
    def ended(self) -> int:
        return sum(self.by_state.get(s, 0) for s in ENDED)

    @property
    def failed(self) -> int:
        """Ended without success: failed, timed out or interrupted."""
        return self.ended - self.succeeded

    @property
    def success_rate(self) -> float | None:
        """Succeeded among the runs that ended; None when none did."""
        return self.succeeded / self.ended if self.ended else None


def action_outcomes(session: Session, action_id: int, *, since: datetime) -> Outcomes:
    """The runs of one action created at or after ``since``, counted per state in SQL."""
    rows = session.execute(
        select(Run.state, func.count())
        .where(Run.action_id == action_id, Run.created_at >= since)
        .group_by(Run.state)
    )
    return Outcomes({str(state): int(n) for state, n in rows})
