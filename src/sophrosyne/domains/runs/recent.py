"""Runs within windows of time, read in bulk for the guards of one batch: when a rule last
ran for an alert, how many runs a rule or action started lately, which targets a rule touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from sophrosyne.domains.runs.models import Run, RunTarget
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


def count_recent(session: Session, column: str, since: dict[int, datetime]) -> dict[int, int]:
    """Runs per rule (``column="rule_id"``) or action (``"action_id"``) created at or after
    each one's own start of window: ``since`` maps id → start. One query for all of them."""
    if not since:
        return {}
    col = Run.rule_id if column == "rule_id" else Run.action_id
    rows = session.execute(
        select(col, func.count())
        .where(or_(*(and_(col == key, Run.created_at >= start) for key, start in since.items())))
        .group_by(col)
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
        select(RunTarget.rule_id, RunTarget.target, func.max(RunTarget.created_at))
        .join(Run, Run.id == RunTarget.run_id)
        .where(
            or_(
                *(
                    and_(RunTarget.rule_id == rule, RunTarget.created_at >= start)
                    for rule, start in since.items()
                )
            ),
            ~_NOT_TOUCHING,
        )
        .group_by(RunTarget.rule_id, RunTarget.target)
    )
    out: dict[int, dict[str, datetime]] = {}
    for rule, target, at in rows:
        if rule is not None:
            out.setdefault(int(rule), {})[target] = at
    return out
