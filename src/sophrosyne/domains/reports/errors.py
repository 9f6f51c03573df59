"""The errors report: runs that failed, timed out or were interrupted in the window, grouped
by action and error signature, with counts and when each was last seen; and the latest such
runs one by one.

The signature is the first line of the run's error (what the executor or the reaper said), or
of its output when there is no error; the database computes it and groups by it.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from sophrosyne.db.reporting import first_line
from sophrosyne.domains.reports.schemas import FAILURE_STATES, ErrorGroup, ErrorsReport, FailedRun
from sophrosyne.domains.reports.scope import Scope
from sophrosyne.domains.reports.series import runs_where
from sophrosyne.domains.runs.models import Run

RECENT = 50
GROUPS = 100
#: Longer first lines are cut: a signature is for recognising, not for reading in full.
SIGNATURE_CHARS = 200
NO_OUTPUT = "(no error output)"


def _signature(session: Session) -> ColumnElement[str]:
    text = func.coalesce(func.nullif(Run.error, ""), Run.output, "")
    line = func.trim(first_line(session, text))
    return func.coalesce(func.nullif(func.substr(line, 1, SIGNATURE_CHARS), ""), NO_OUTPUT)


def _when() -> ColumnElement[object]:
    return func.coalesce(Run.finished_at, Run.created_at)


def error_groups(session: Session, scope: Scope) -> list[ErrorGroup]:
    signature = _signature(session).label("signature")
    count = func.count().label("n")
    where = [*runs_where(session, scope), Run.state.in_(FAILURE_STATES)]
    groups = session.execute(
        select(Run.action_name, signature, count, func.max(Run.id))
        .where(*where)
        .group_by(Run.action_name, signature)
        .order_by(count.desc(), Run.action_name, signature)
        .limit(GROUPS)
    ).all()
    last_ids = [int(g[3]) for g in groups]
    last = {
        r.id: r
        for r in session.execute(
            select(Run.id, Run.state, Run.exit_code, Run.targets, _when().label("at")).where(
                Run.id.in_(last_ids)
            )
        ).all()
    }
    return [
        ErrorGroup(
            action=action,
            signature=sig,
            count=int(n),
            last_seen=last[int(run_id)].at,
            last_run_id=int(run_id),
            last_state=last[int(run_id)].state,
            last_exit_code=last[int(run_id)].exit_code,
            targets=[str(t) for t in last[int(run_id)].targets or []],
        )
        for action, sig, n, run_id in groups
    ]


def recent_failures(session: Session, scope: Scope, limit: int = RECENT) -> list[FailedRun]:
    rows = session.execute(
        select(
            Run.id,
            Run.action_name,
            Run.state,
            Run.targets,
            Run.exit_code,
            _signature(session).label("line"),
            _when().label("at"),
        )
        .where(*runs_where(session, scope), Run.state.in_(FAILURE_STATES))
        .order_by(Run.id.desc())
        .limit(limit)
    ).all()
    return [
        FailedRun(
            run_id=r.id,
            action=r.action_name,
            state=r.state,
            targets=[str(t) for t in r.targets or []],
            exit_code=r.exit_code,
            first_line=r.line,
            at=r.at,
        )
        for r in rows
    ]


def errors(session: Session, scope: Scope) -> ErrorsReport:
    return ErrorsReport(
        **scope.head().model_dump(),
        groups=error_groups(session, scope),
        recent=recent_failures(session, scope),
    )
