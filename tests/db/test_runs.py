"""The runs table as a durable queue: enqueue, transitions, cancel, heartbeat, claim, counts."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.actions.schemas import ActionSpec
from sophrosyne.domains.runs import service as runs
from sophrosyne.domains.runs.models import Run, RunEvent
from sophrosyne.domains.runs.states import IllegalTransition, RunState
from sophrosyne.errors import Conflict, NotFound


def _new(
    key: str | None = None, state: RunState = RunState.QUEUED, *, idempotent: bool = False
) -> runs.NewRun:
    return runs.NewRun(
        action_id=1,  # the "echo" action made by the autouse fixture below
        action_name="echo",
        kind="shell",
        params={"x": 1},
        argv=["echo", "1"],
        timeout_seconds=30,
        idempotent=idempotent,
        requested_by="test",
        state=state,
        idempotency_key=key,
    )


@pytest.fixture(autouse=True)
def _action(session: Session, now: datetime) -> None:
    action = actions.create(session, ActionSpec(name="echo", argv=["echo", "1"]), now=now)
    session.commit()
    assert action.id == 1


def _one(
    session: Session,
    now: datetime,
    state: RunState = RunState.QUEUED,
    *,
    idempotent: bool = False,
) -> int:
    ids = runs.enqueue(session, [_new(None, state, idempotent=idempotent)], now=now)
    session.commit()
    [run_id] = ids.values()
    return run_id


def _history(session: Session, run_id: int) -> list[tuple[str | None, str]]:
    return [(e.from_state, e.to_state) for e in runs.events(session, run_id)]


def test_enqueue_records_created_event(session: Session, now: datetime) -> None:
    ids = runs.enqueue(session, [_new("k1"), _new(), _new("k2")], now=now)
    session.commit()
    assert set(ids) == {"k1", "#1", "k2"}
    for run_id in ids.values():
        run = runs.get(session, run_id)
        assert run.state == "queued" and run.created_at == now and run.attempt == 0
        assert _history(session, run_id) == [(None, "queued")]


def test_duplicate_idempotency_key_is_skipped(session: Session, now: datetime) -> None:
    first = runs.enqueue(session, [_new("k1")], now=now)
    session.commit()
    again = runs.enqueue(session, [_new("k1"), _new("k3")], now=now + timedelta(seconds=1))
    session.commit()
    assert set(again) == {"k3"}
    assert again["k3"] != first["k1"]
    assert session.scalar(select(func.count(Run.id))) == 2
    assert session.scalar(select(func.count(RunEvent.id))) == 2
    assert runs.existing_keys(session, ["k1", "k2", "k3"]) == {"k1", "k3"}


def test_duplicate_key_within_one_batch(session: Session, now: datetime) -> None:
    ids = runs.enqueue(session, [_new("k"), _new("k")], now=now)
    session.commit()
    assert list(ids) == ["k"]
    assert session.scalar(select(func.count(Run.id))) == 1


def test_legal_transitions_write_events(session: Session, now: datetime) -> None:
    run_id = _one(session, now, state=RunState.AWAITING_CONFIRMATION)
    run = runs.get(session, run_id)
    runs.transition(session, run, RunState.QUEUED, reason="approved by alice", now=now)
    session.commit()
    assert runs.get(session, run_id).state == "queued"
    assert runs.get(session, run_id).finished_at is None
    claimed = runs.claim(session, worker_id="w1", now=now)
    assert claimed is not None and claimed.id == run_id
    later = now + timedelta(seconds=3)
    runs.transition(session, claimed, RunState.SUCCEEDED, reason="exit code 0", now=later)
    session.commit()
    run = runs.get(session, run_id)
    assert run.state == "succeeded" and run.finished_at == later
    assert _history(session, run_id) == [
        (None, "awaiting_confirmation"),
        ("awaiting_confirmation", "queued"),
        ("queued", "running"),
        ("running", "succeeded"),
    ]
    assert [e.reason for e in runs.events(session, run_id)][1] == "approved by alice"


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (RunState.QUEUED, RunState.SUCCEEDED),
        (RunState.AWAITING_CONFIRMATION, RunState.RUNNING),
        (RunState.QUEUED, RunState.INTERRUPTED),
    ],
)
def test_illegal_transitions_are_refused(
    session: Session, now: datetime, start: RunState, target: RunState
) -> None:
    run_id = _one(session, now, state=start)
    run = runs.get(session, run_id)
    with pytest.raises(IllegalTransition):
        runs.transition(session, run, target, reason="nope", now=now)
    session.commit()
    assert runs.get(session, run_id).state == start.value
    assert _history(session, run_id) == [(None, start.value)]


def test_finished_run_cannot_move(session: Session, now: datetime) -> None:
    run_id = _one(session, now)
    run = runs.get(session, run_id)
    runs.transition(session, run, RunState.CANCELLED, reason="x", now=now)
    with pytest.raises(IllegalTransition):
        runs.transition(session, run, RunState.QUEUED, reason="y", now=now)


def test_cancel_queued_run_at_once(session: Session, now: datetime) -> None:
    run_id = _one(session, now)
    run = runs.request_cancel(session, run_id, reason="not needed", now=now)
    session.commit()
    assert run.state == "cancelled" and run.cancel_requested and run.finished_at == now
    assert _history(session, run_id)[-1] == ("queued", "cancelled")
    assert runs.claim(session, worker_id="w", now=now) is None


def test_cancel_run_awaiting_confirmation(session: Session, now: datetime) -> None:
    run_id = _one(session, now, RunState.AWAITING_CONFIRMATION)
    run = runs.request_cancel(session, run_id, reason="rejected", now=now)
    session.commit()
    assert run.state == "cancelled"
    assert _history(session, run_id)[-1] == ("awaiting_confirmation", "cancelled")


def test_cancel_running_run_asks_the_worker(session: Session, now: datetime) -> None:
    run_id = _one(session, now)
    runs.claim(session, worker_id="w1", now=now)
    session.commit()
    run = runs.request_cancel(session, run_id, reason="stop", now=now)
    session.commit()
    assert run.state == "running" and run.cancel_requested


def test_cancel_finished_run_is_a_conflict(session: Session, now: datetime) -> None:
    run_id = _one(session, now)
    runs.claim(session, worker_id="w1", now=now)
    outcome = runs.Outcome(RunState.SUCCEEDED, 0, "ok", False, None, "exit code 0")
    runs.finish(session, run_id, outcome, now=now)
    session.commit()
    with pytest.raises(Conflict, match="already succeeded"):
        runs.request_cancel(session, run_id, reason="late", now=now)


def test_cancel_unknown_run(session: Session, now: datetime) -> None:
    with pytest.raises(NotFound):
        runs.request_cancel(session, 424242, reason="x", now=now)


def test_finish_requires_running(session: Session, now: datetime) -> None:
    run_id = _one(session, now)
    outcome = runs.Outcome(RunState.SUCCEEDED, 0, "", False, None, "exit code 0")
    with pytest.raises(Conflict):
        runs.finish(session, run_id, outcome, now=now)


def test_heartbeat_returns_cancel_requested_ids(session: Session, now: datetime) -> None:
    a, b = _one(session, now), _one(session, now)
    runs.claim(session, worker_id="w1", now=now)
    runs.claim(session, worker_id="w1", now=now)
    session.commit()
    runs.request_cancel(session, b, reason="stop", now=now)
    session.commit()
    beat = now + timedelta(seconds=5)
    assert runs.heartbeat(session, worker_id="w1", run_ids=[a, b], now=beat) == {b}
    session.commit()
    session.expire_all()
    assert runs.get(session, a).heartbeat_at == beat
    assert runs.heartbeat(session, worker_id="w1", run_ids=[], now=beat) == set()


def test_heartbeat_only_touches_own_runs(session: Session, now: datetime) -> None:
    run_id = _one(session, now)
    runs.claim(session, worker_id="w1", now=now)
    session.commit()
    runs.heartbeat(session, worker_id="intruder", run_ids=[run_id], now=now + timedelta(hours=1))
    session.commit()
    session.expire_all()
    assert runs.get(session, run_id).heartbeat_at == now


def test_claim_takes_oldest_first(session: Session, now: datetime) -> None:
    ids = [_one(session, now) for _ in range(3)]
    _one(session, now, state=RunState.AWAITING_CONFIRMATION)
    claimed = []
    for i in range(4):
        run = runs.claim(session, worker_id=f"w{i}", now=now)
        session.commit()
        claimed.append(None if run is None else run.id)
    assert claimed == [*ids, None]
    first = runs.get(session, ids[0])
    assert first.state == "running" and first.worker_id == "w0"
    assert first.attempt == 1 and first.started_at == now


def test_reap_interrupts_or_requeues(session: Session, now: datetime) -> None:
    once = _one(session, now)
    again = _one(session, now, idempotent=True)
    runs.claim(session, worker_id="dead", now=now)
    runs.claim(session, worker_id="dead", now=now)
    session.commit()
    assert runs.reap(session, lease_seconds=60, now=now + timedelta(seconds=30)) == []
    reaped = runs.reap(session, lease_seconds=60, now=now + timedelta(seconds=61))
    session.commit()
    assert {r.id for r in reaped} == {once, again}
    assert runs.get(session, once).state == "interrupted"
    assert "dead" in (runs.get(session, once).error or "")
    assert runs.get(session, again).state == "queued"


def test_count_by_state_covers_all_states(session: Session, now: datetime) -> None:
    assert runs.count_by_state(session) == {s.value: 0 for s in RunState}
    _one(session, now)
    _one(session, now)
    _one(session, now, state=RunState.AWAITING_CONFIRMATION)
    runs.claim(session, worker_id="w", now=now)
    session.commit()
    counts = runs.count_by_state(session)
    assert set(counts) == {s.value for s in RunState}
    assert counts["queued"] == 1
    assert counts["running"] == 1
    assert counts["awaiting_confirmation"] == 1
    assert sum(counts.values()) == 3
