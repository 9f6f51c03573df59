"""Claim-time guards: one run per target at a time (queued, not dropped), and the kill switch
holding automatic runs while manual and approved ones still start."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from sophrosyne.domains.confirmations import service as confirmations
from sophrosyne.domains.guards import service as guards
from sophrosyne.domains.runs import service as runs
from sophrosyne.domains.runs.models import TargetLock
from sophrosyne.domains.runs.states import RunState
from sophrosyne.flows.manual import run_action
from tests.db.test_guards import Send, _decisions, _down, _runs, _setup
from tests.factories import add_targets, ssh_action

S = timedelta(seconds=1)


def _manual(session: Session, now: datetime, *targets: str, action: str = "fix") -> int:
    run_id = run_action(session, action, {}, actor="me", now=now, targets=list(targets)).id
    session.commit()
    return run_id


def _claim(session: Session, now: datetime) -> int | None:
    run = runs.claim(session, worker_id="w", now=now)
    session.commit()
    return run.id if run else None


def _finish(session: Session, run_id: int, now: datetime) -> None:
    outcome = runs.Outcome(RunState.SUCCEEDED, 0, "", False, None, "exit code 0")
    runs.finish(session, run_id, outcome, now=now)
    session.commit()


def _locks(session: Session) -> dict[str, int]:
    rows = session.execute(select(TargetLock.target, TargetLock.run_id))
    return {str(target): int(run_id) for target, run_id in rows}


def test_a_busy_target_keeps_its_next_run_queued(session: Session, now: datetime) -> None:
    add_targets(session, now, "h1", "h2", "h3")
    ssh_action(session, now)
    first = _manual(session, now, "h1", "h2")
    second = _manual(session, now, "h2")
    third = _manual(session, now, "h3")
    assert _claim(session, now) == first
    assert _locks(session) == {"h1": first, "h2": first}
    # h2 is busy: the second run waits, the third (h3) goes first.
    assert _claim(session, now) == third
    assert _claim(session, now) is None
    assert runs.get(session, second).state == "queued"
    _finish(session, first, now + S)
    assert _locks(session) == {"h3": third}
    assert _claim(session, now + 2 * S) == second


def test_unlimited_target_concurrency_neither_waits_nor_blocks(
    session: Session, now: datetime
) -> None:
    add_targets(session, now, "h1")
    ssh_action(session, now)
    ssh_action(session, now, name="look", target_concurrency=0)
    exclusive = _manual(session, now, "h1")
    look = _manual(session, now, "h1", action="look")
    exclusive_too = _manual(session, now, "h1")
    assert _claim(session, now) == exclusive
    assert _claim(session, now) == look
    assert _claim(session, now) is None
    assert runs.get(session, exclusive_too).state == "queued"


def test_locks_are_released_on_cancel_and_reap(session: Session, now: datetime) -> None:
    add_targets(session, now, "h1")
    ssh_action(session, now, idempotent=True)
    ids = [_manual(session, now, "h1") for _ in range(3)]
    assert _claim(session, now) == ids[0]
    # A worker that stopped beating: its idempotent run is queued again and its lock freed.
    reaped = runs.reap(session, lease_seconds=30, now=now + 60 * S)
    session.commit()
    assert [r.id for r in reaped] == [ids[0]] and _locks(session) == {}
    assert _claim(session, now + 61 * S) == ids[0]
    runs.request_cancel(session, ids[0], reason="test", now=now + 62 * S)
    session.commit()
    assert _locks(session) == {"h1": ids[0]}  # running: the worker stops it and records so
    outcome = runs.Outcome(RunState.CANCELLED, None, "", False, None, "cancelled while running")
    runs.finish(session, ids[0], outcome, now=now + 63 * S)
    session.commit()
    assert _locks(session) == {}
    assert _claim(session, now + 64 * S) == ids[1]


def test_kill_switch_holds_automatic_runs_only(session: Session, now: datetime) -> None:
    _setup(session, now)
    send = Send(session)
    assert send(now, _down("a", "h1")).reply.runs_enqueued == 1
    [queued] = _runs(session)
    state, changed = guards.set_paused(
        session, paused=True, reason="change freeze", by="token:ops", now=now + S
    )
    session.commit()
    assert changed and state.paused and state.by == "token:ops"
    # New automatic runs wait for a person, with the reason on the alert and on the run.
    out = send(now + 2 * S, _down("b", "h2"))
    assert (out.reply.runs_enqueued, out.reply.runs_awaiting_confirmation) == (0, 1)
    [(outcome, detail, run_id)] = _decisions(session, "b")
    assert outcome == "automation_paused" and run_id is not None
    assert "automation paused by token:ops since 2026-11-22 12:00:01 UTC: change freeze" in detail
    assert runs.events(session, run_id)[0].reason.startswith("awaiting confirmation: automation")
    # Already queued automatic runs stay queued; a manual run still starts.
    manual = _manual(session, now + 3 * S, "h3")
    assert _claim(session, now + 4 * S) == manual
    assert _claim(session, now + 4 * S) is None
    assert runs.get(session, queued.id).state == "queued"
    # A person approves the held run: it starts although automation is still paused.
    held = runs.get(session, run_id)
    confirmations.approve(
        session,
        run_id,
        approver=confirmations.Approver(actor="user:me"),
        pin=held.pin_hash or "",
        comment="",
        now=now + 5 * S,
    )
    session.commit()
    assert _claim(session, now + 6 * S) == run_id
    guards.set_paused(session, paused=False, reason="", by="token:ops", now=now + 7 * S)
    session.commit()
    assert _claim(session, now + 8 * S) == queued.id
    assert send(now + 9 * S, _down("c", "h4")).reply.runs_enqueued == 1
