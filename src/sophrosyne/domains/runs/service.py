"""Runs: the durable work queue. Enqueue, claim, heartbeat, finish, cancel, reap, query.

Every state change goes through ``transition`` so the table in ``states`` is the only source
of truth for what may happen, and every change leaves a ``RunEvent``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from sophrosyne.db.bulk import insert_rows
from sophrosyne.db.dialect import claim_next_queued, one_of
from sophrosyne.db.listen import notify_queued
from sophrosyne.db.reporting import json_array_has
from sophrosyne.domains.guards.models import Automation
from sophrosyne.domains.runs.models import GuardedRun, Run, RunEvent, TargetLock
from sophrosyne.domains.runs.pinning import pin_of_run
from sophrosyne.domains.runs.states import TERMINAL, RunState, check_transition
from sophrosyne.errors import Conflict, NotFound


@dataclass(slots=True)  # not frozen: frozen __init__ is slower, and these are made per alert
class NewRun:
    """A fully rendered run ready to be queued."""

    action_id: int
    action_name: str
    kind: str
    params: dict[str, Any]
    argv: list[str]
    timeout_seconds: int
    idempotent: bool
    requested_by: str
    state: RunState = RunState.QUEUED
    rule_id: int | None = None
    alert_id: int | None = None
    alert_episode: int | None = None
    idempotency_key: str | None = None
    targets: list[str] = field(default_factory=list)
    request: dict[str, Any] = field(default_factory=dict)
    #: The action's approval policy (``kinds.ApprovalPolicy``), for runs that wait for people.
    approval: dict[str, Any] | None = None
    #: Queued by a rule with no person involved: held while the kill switch is on (only
    #: meaningful for a queued run; one awaiting confirmation is approved by a person).
    automatic: bool = False
    #: 1: takes its targets exclusively; 0: unlimited (the action's ``target_concurrency``).
    target_concurrency: int = 1
    #: The reason on the run's first event (why it waits for confirmation, for instance).
    reason: str = "created"
    #: Its rule has guards that look back at the rule's runs: record it in ``guarded_runs``.
    guarded: bool = False


@dataclass(slots=True)  # not frozen: frozen __init__ is slower, and these are made per alert
class Binding:
    """Ties a planned run to the alert episode it answers, and its idempotency key."""

    alert_id: int
    alert_episode: int
    key: str


#: The policy of a run whose action says nothing (kept in step with ``kinds.ApprovalPolicy``).
DEFAULT_APPROVAL: dict[str, Any] = {
    "quorum": 1,
    "requester_may_approve": False,
    "expires_after_seconds": 3600,
}


#: How a run's first event says why it waits for confirmation (read by ``confirmations``).
HELD_MARKER = "awaiting confirmation: "


def _confirmation(new: NewRun, now: datetime) -> dict[str, Any]:
    """Pin, policy and deadline of a run that waits for confirmation; nothing otherwise."""
    if new.state != RunState.AWAITING_CONFIRMATION:
        return {"pin_hash": None, "approval": None, "expires_at": None}
    policy = {**DEFAULT_APPROVAL, **(new.approval or {})}
    return {
        "pin_hash": pin_of_run(new),
        "approval": policy,
        "expires_at": now + timedelta(seconds=int(policy["expires_after_seconds"])),
    }


def _row(new: NewRun, now: datetime, binding: Binding | None = None) -> dict[str, Any]:
    return {
        **_confirmation(new, now),
        "action_id": new.action_id,
        "action_name": new.action_name,
        "kind": new.kind,
        "rule_id": new.rule_id,
        "alert_id": binding.alert_id if binding else new.alert_id,
        "alert_episode": binding.alert_episode if binding else new.alert_episode,
        "state": new.state.value,
        "params": new.params,
        "argv": new.argv,
        "targets": new.targets,
        "request": new.request,
        "automatic": new.automatic,
        "target_concurrency": new.target_concurrency,
        "results": [],
        "timeout_seconds": new.timeout_seconds,
        "idempotent": new.idempotent,
        "idempotency_key": binding.key if binding else new.idempotency_key,
        "requested_by": new.requested_by,
        "created_at": now,
        "cancel_requested": False,
        "attempt": 0,
        "output": "",
        "output_truncated": False,
    }


def enqueue(
    session: Session,
    runs: Sequence[NewRun],
    *,
    now: datetime,
    bindings: Sequence[Binding] | None = None,
) -> dict[str, int]:
    """Insert runs; one whose idempotency key already exists is skipped, not an error.
    ``bindings`` (one per run) tie planned runs to alert episodes without copying them.

    Returns idempotency key (or ``"#<index>"`` for keyless runs) → new run id.
    """
    table = Run.__table__
    out: dict[str, int] = {}
    rows = (
        [_row(r, now, b) for r, b in zip(runs, bindings, strict=True)]
        if bindings is not None
        else [_row(r, now) for r in runs]
    )
    keyed = [row for row in rows if row["idempotency_key"]]
    for run_id, key in insert_rows(
        session,
        table,  # type: ignore[arg-type]
        keyed,
        returning=("id", "idempotency_key"),
        ignore_conflicts_on=("idempotency_key",),
    ):
        out[key] = run_id
    for i, row in enumerate(rows):
        if not row["idempotency_key"]:
            ((run_id,),) = insert_rows(session, table, [row], returning=("id",))  # type: ignore[arg-type]
            out[f"#{i}"] = run_id
    keys = [row["idempotency_key"] or f"#{i}" for i, row in enumerate(rows)]
    state_of = {key: row["state"] for key, row in zip(keys, rows, strict=True)}
    reason_of = {key: r.reason for key, r in zip(keys, runs, strict=True) if r.reason != "created"}
    events = [
        {
            "run_id": run_id,
            "from_state": None,
            "to_state": state_of[key],
            "reason": reason_of.get(key, "created"),
            "at": now,
        }
        for key, run_id in out.items()
    ]
    insert_rows(session, RunEvent.__table__, events)  # type: ignore[arg-type]
    # Runs of rules whose guards look back (rate limit, target cooldown, targets per window).
    guarded = [
        {"run_id": out[key], "target": name, "rule_id": r.rule_id, "created_at": now}
        for key, r in zip(keys, runs, strict=True)
        if r.guarded and key in out
        for name in (dict.fromkeys(r.targets) or ("",))
    ]
    insert_rows(session, GuardedRun.__table__, guarded)  # type: ignore[arg-type]
    if any(r.state == RunState.QUEUED for r in runs) and out:
        notify_queued(session)
    return out


def existing_keys(session: Session, keys: Iterable[str]) -> set[str]:
    wanted = list(set(keys))
    if not wanted:
        return set()
    found = session.scalars(
        select(Run.idempotency_key).where(one_of(session, Run.idempotency_key, wanted))
    )
    return {key for key in found if key is not None}


def get(session: Session, run_id: int, *, lock: bool = False) -> Run:
    stmt = select(Run).where(Run.id == run_id)
    if lock:
        stmt = stmt.with_for_update()
    run = session.scalar(stmt.execution_options(populate_existing=True))
    if run is None:
        raise NotFound("run", run_id)
    return run


def transition(session: Session, run: Run, new: RunState, *, reason: str, now: datetime) -> None:
    """Move ``run`` to ``new`` if the table allows it (else ``IllegalTransition``)."""
    check_transition(run.state, new)
    if run.state == RunState.RUNNING and new != RunState.RUNNING:
        _release_targets(session, run.id)
    session.add(
        RunEvent(run_id=run.id, from_state=run.state, to_state=new.value, reason=reason, at=now)
    )
    run.state = new.value
    if new in TERMINAL:
        run.finished_at = now


def _release_targets(session: Session, run_id: int) -> None:
    """Give back the targets a run held; runs waiting for them may start now."""
    released = session.execute(delete(TargetLock).where(TargetLock.run_id == run_id))
    if released.rowcount:  # type: ignore[attr-defined]
        notify_queued(session)


def claim(
    session: Session,
    *,
    worker_id: str,
    now: datetime,
    held: Sequence[str] = (),
    skip: Sequence[int] = (),
) -> Run | None:
    """Claim the oldest queued run that can start now for ``worker_id`` atomically, or None.

    A run waits, queued, while automation is paused (if it is automatic), while one of its
    targets is ``held`` (in a maintenance window; if it is automatic), while it is among
    ``skip`` (held for its alert) or while another running run holds one of its targets (if
    it takes them exclusively); later runs go first.
    """
    run_id = claim_next_queued(
        session,
        Run.__table__,  # type: ignore[arg-type]
        locks=TargetLock.__table__,  # type: ignore[arg-type]
        automation=Automation.__table__,  # type: ignore[arg-type]
        worker_id=worker_id,
        now=now,
        held=held,
        skip=skip,
    )
    if run_id is None:
        return None
    run = get(session, run_id)
    run.attempt += 1
    session.add(
        RunEvent(
            run_id=run_id,
            from_state="queued",
            to_state="running",
            reason=f"claimed by {worker_id}",
            at=now,
        )
    )
    return run


@dataclass(frozen=True)
class Outcome:
    """What an executor reported, reduced to what a run records."""

    state: RunState
    exit_code: int | None
    output: str
    output_truncated: bool
    error: str | None
    reason: str
    results: list[dict[str, Any]] = field(default_factory=list)


def finish(session: Session, run_id: int, outcome: Outcome, *, now: datetime) -> Run:
    run = get(session, run_id, lock=True)
    if run.state != RunState.RUNNING:
        # The reaper may have declared this worker dead meanwhile; its verdict stands.
        raise Conflict(f"run {run_id} is {run.state}, not running; result discarded")
    run.exit_code = outcome.exit_code
    run.output = outcome.output
    run.output_truncated = outcome.output_truncated
    run.error = outcome.error
    run.results = outcome.results
    transition(session, run, outcome.state, reason=outcome.reason, now=now)
    return run


def heartbeat(
    session: Session, *, worker_id: str, run_ids: Sequence[int], now: datetime
) -> set[int]:
    """Mark ``run_ids`` alive; return those a person asked to cancel."""
    if not run_ids:
        return set()
    session.execute(
        update(Run)
        .where(Run.id.in_(run_ids), Run.worker_id == worker_id, Run.state == RunState.RUNNING.value)
        .values(heartbeat_at=now)
    )
    return set(
        session.scalars(
            select(Run.id).where(
                Run.id.in_(run_ids), Run.worker_id == worker_id, Run.cancel_requested.is_(True)
            )
        )
    )


def request_cancel(session: Session, run_id: int, *, reason: str, now: datetime) -> Run:
    """Cancel a waiting run at once; ask the worker to stop a running one."""
    run = get(session, run_id, lock=True)
    if run.state in (RunState.QUEUED, RunState.AWAITING_CONFIRMATION):
        run.cancel_requested = True
        transition(session, run, RunState.CANCELLED, reason=reason, now=now)
    elif run.state == RunState.RUNNING:
        run.cancel_requested = True
    else:
        raise Conflict(f"run {run_id} is already {run.state}")
    return run


def reap(session: Session, *, lease_seconds: float, now: datetime) -> list[Run]:
    """Runs whose worker stopped beating: ``interrupted`` (at most once), or back to
    ``queued`` when the action is idempotent and so safe to run again."""
    stale = now - timedelta(seconds=lease_seconds)
    runs = list(
        session.scalars(
            select(Run)
            .where(Run.state == RunState.RUNNING.value, Run.heartbeat_at < stale)
            .with_for_update(skip_locked=True)
        )
    )
    for run in runs:
        dead = run.worker_id or "unknown"
        if run.idempotent and not run.cancel_requested:
            transition(
                session,
                run,
                RunState.QUEUED,
                reason=f"worker {dead} stopped; retrying idempotent run",
                now=now,
            )
            run.worker_id = None
            run.started_at = None
            run.heartbeat_at = None
        else:
            run.error = f"worker {dead} stopped while the run was in progress"
            transition(session, run, RunState.INTERRUPTED, reason=run.error, now=now)
    if any(r.state == RunState.QUEUED for r in runs):
        notify_queued(session)
    return runs


def queued_automatic_on(session: Session, names: Collection[str], *, limit: int) -> list[Run]:
    """Queued automatic runs with a target among ``names`` (oldest first, at most ``limit``
    looked at): those the worker holds while the targets are in maintenance."""
    if not names:
        return []
    stmt = (
        select(Run)
        .where(Run.state == RunState.QUEUED.value, Run.automatic.is_(True))
        .order_by(Run.id)
        .limit(limit)
    )
    return [r for r in session.scalars(stmt) if any(str(t) in names for t in r.targets)]


def note(session: Session, run: Run, reason: str, *, now: datetime) -> bool:
    """Record ``reason`` on a run without changing its state, unless its latest event says
    the same already (a held run is noted once, not at every pass). True if recorded."""
    last = session.scalar(
        select(RunEvent.reason)
        .where(RunEvent.run_id == run.id)
        .order_by(RunEvent.id.desc())
        .limit(1)
    )
    if last == reason:
        return False
    session.add(
        RunEvent(run_id=run.id, from_state=run.state, to_state=run.state, reason=reason, at=now)
    )
    return True


def events(session: Session, run_id: int) -> list[RunEvent]:
    return list(
        session.scalars(select(RunEvent).where(RunEvent.run_id == run_id).order_by(RunEvent.id))
    )


def search(
    session: Session,
    *,
    state: str | None = None,
    action: str | None = None,
    alert_id: int | None = None,
    rule_id: int | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[Run]:
    stmt = select(Run).order_by(Run.id.desc())
    if state:
        stmt = stmt.where(Run.state == state)
    if action:
        stmt = stmt.where(Run.action_name == action)
    if alert_id is not None:
        stmt = stmt.where(Run.alert_id == alert_id)
    if rule_id is not None:
        stmt = stmt.where(Run.rule_id == rule_id)
    if before_id is not None:
        stmt = stmt.where(Run.id < before_id)
    return list(session.scalars(stmt.limit(limit)))


def on_target(session: Session, target: str, *, limit: int = 20) -> list[Run]:
    """The latest runs addressing ``target``, newest first (the JSON containment test is
    the dialect's own, from ``db.reporting``)."""
    query = (
        select(Run)
        .where(json_array_has(session, Run.targets, target))
        .order_by(Run.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def count_by_state(session: Session) -> dict[str, int]:
    rows = session.execute(select(Run.state, func.count(Run.id)).group_by(Run.state))
    counts = {s.value: 0 for s in RunState}
    counts.update({state: int(n) for state, n in rows})
    return counts
