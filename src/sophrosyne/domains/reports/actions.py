"""The actions report: per action, its runs by outcome, success rate, median and 95th
percentile duration, and last run; and runs over time by state.

Percentiles are computed by the database with window functions (SQLite has no
``percentile_cont``): durations ranked per action; the median is the mean of the middle one
or two, the 95th percentile the nearest rank ⌈0.95·n⌉. Durations are finished - started of
the runs that finished in a state with an outcome (succeeded, failed, timed out, interrupted).
"""

from __future__ import annotations

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from sophrosyne.db.reporting import seconds_between
from sophrosyne.domains.reports.schemas import OUTCOME_STATES, ActionRow, ActionsReport
from sophrosyne.domains.reports.scope import Scope, rate
from sophrosyne.domains.reports.series import runs_over_time, runs_where
from sophrosyne.domains.runs.models import Run

_COUNTED = ("succeeded", "failed", "timed_out", "cancelled", "interrupted")


def _durations(session: Session, scope: Scope) -> dict[str, tuple[float, float]]:
    """Median and p95 duration (seconds) per action name."""
    seconds = seconds_between(session, Run.finished_at, Run.started_at)
    ranked = (
        select(
            Run.action_name.label("action"),
            seconds.label("d"),
            func.row_number()
            .over(partition_by=Run.action_name, order_by=(seconds, Run.id))
            .label("rn"),
            func.count().over(partition_by=Run.action_name).label("n"),
        )
        .where(
            *runs_where(session, scope),
            Run.state.in_(OUTCOME_STATES),
            Run.started_at.is_not(None),
            Run.finished_at.is_not(None),
        )
        .subquery()
    )
    # Integer division on both dialects: the middle ranks (n+1)/2 and (n+2)/2, and ⌈0.95·n⌉.
    middle = and_(ranked.c.rn >= (ranked.c.n + 1) // 2, ranked.c.rn <= (ranked.c.n + 2) // 2)
    p95_rank = (ranked.c.n * 95 + 99) // 100
    rows = session.execute(
        select(
            ranked.c.action,
            func.avg(case((middle, ranked.c.d))),
            func.max(case((ranked.c.rn == p95_rank, ranked.c.d))),
        ).group_by(ranked.c.action)
    ).all()
    return {str(a): (float(m), float(p)) for a, m, p in rows}


def action_rows(session: Session, scope: Scope) -> list[ActionRow]:
    counts = [func.count(case((Run.state == s, 1))).label(s) for s in _COUNTED]
    rows = session.execute(
        select(Run.action_name, func.count(), func.max(Run.created_at), *counts)
        .where(*runs_where(session, scope))
        .group_by(Run.action_name)
    ).all()
    durations = _durations(session, scope)
    out = []
    for row in rows:
        name, total, last, *by_state = row
        states = dict(zip(_COUNTED, (int(n) for n in by_state), strict=True))
        outcomes = sum(states[s] for s in OUTCOME_STATES)
        median, p95 = durations.get(name, (None, None))
        out.append(
            ActionRow(
                action=name,
                runs=int(total),
                **states,
                success_rate=rate(states["succeeded"], outcomes),
                median_seconds=None if median is None else round(median, 3),
                p95_seconds=None if p95 is None else round(p95, 3),
                last_run_at=last,
            )
        )
    # Most runs first; then by name, so the order never depends on the database.
    return sorted(out, key=lambda r: (-r.runs, r.action))


def actions(session: Session, scope: Scope) -> ActionsReport:
    return ActionsReport(
        **scope.head().model_dump(),
        actions=action_rows(session, scope),
        runs_over_time=runs_over_time(session, scope),
    )
