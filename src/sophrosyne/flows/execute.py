"""Worker steps, each run by the worker inside its own short transaction:
claim a run, record its result, beat the heart of running runs, reap those of dead workers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.fixes import service as fixes
from sophrosyne.domains.runs import service as runs
from sophrosyne.domains.runs.models import Run
from sophrosyne.domains.runs.states import RunState
from sophrosyne.executors.base import ExecResult


@dataclass(frozen=True)
class Ticket:
    """What a worker needs to execute a claimed run, detached from the session."""

    run_id: int
    kind: str
    action_name: str
    argv: list[str]
    timeout_seconds: int
    created_at: datetime
    started_at: datetime


def claim(session: Session, *, worker_id: str, now: datetime) -> Ticket | None:
    run = runs.claim(session, worker_id=worker_id, now=now)
    if run is None:
        return None
    audit.record(
        session,
        actor=f"worker:{worker_id}",
        action="run.started",
        object_type="run",
        object_id=run.id,
        detail={"action": run.action_name, "attempt": run.attempt},
        now=now,
    )
    return Ticket(
        run_id=run.id,
        kind=run.kind,
        action_name=run.action_name,
        argv=list(run.argv),
        timeout_seconds=run.timeout_seconds,
        created_at=run.created_at,
        started_at=now,
    )


def outcome_of(result: ExecResult) -> runs.Outcome:
    """Map an executor's report onto a terminal run state."""
    if result.cancelled:
        state, reason = RunState.CANCELLED, "cancelled while running"
    elif result.timed_out:
        state, reason = RunState.TIMED_OUT, "timed out; process group killed"
    elif result.succeeded:
        state, reason = RunState.SUCCEEDED, "exit code 0"
    elif result.error and result.exit_code is None:
        state, reason = RunState.FAILED, result.error
    else:
        state, reason = RunState.FAILED, f"exit code {result.exit_code}"
    return runs.Outcome(
        state=state,
        exit_code=result.exit_code,
        output=result.output,
        output_truncated=result.output_truncated,
        error=result.error,
        reason=reason,
    )


def record(
    session: Session, ticket: Ticket, result: ExecResult, *, worker_id: str, now: datetime
) -> Run:
    run = runs.finish(session, ticket.run_id, outcome_of(result), now=now)
    audit.record(
        session,
        actor=f"worker:{worker_id}",
        action="run.finished",
        object_type="run",
        object_id=run.id,
        detail={
            "action": run.action_name,
            "state": run.state,
            "exit_code": run.exit_code,
            "duration_seconds": round(result.duration_seconds, 3),
        },
        now=now,
    )
    fixes.record_run(session, run, now=now)  # the history of fixes learns from it
    return run


def heartbeat(session: Session, *, worker_id: str, run_ids: list[int], now: datetime) -> set[int]:
    return runs.heartbeat(session, worker_id=worker_id, run_ids=run_ids, now=now)


def reap(session: Session, *, lease_seconds: float, now: datetime, actor: str) -> list[int]:
    reaped = runs.reap(session, lease_seconds=lease_seconds, now=now)
    for run in reaped:
        audit.record(
            session,
            actor=actor,
            action="run.requeued" if run.state == RunState.QUEUED else "run.interrupted",
            object_type="run",
            object_id=run.id,
            detail={"action": run.action_name, "state": run.state},
            now=now,
        )
    return [r.id for r in reaped]
