"""The worker against a real database and real subprocesses (LocalExecutor)."""

from __future__ import annotations

import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.config import Settings
from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.actions.schemas import ActionSpec
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.runs import service as runs
from sophrosyne.executors.fake import FakeExecutor
from sophrosyne.executors.local import LocalExecutor
from sophrosyne.flows.manual import run_action
from sophrosyne.metrics import Metrics
from sophrosyne.worker.loop import Worker

PY = sys.executable


def _settings(tmp_path: Path, **kw: object) -> Settings:
    base: dict[str, object] = {
        "data_dir": tmp_path,
        "worker_slots": 2,
        "worker_poll_seconds": 0.05,
        "worker_heartbeat_seconds": 0.2,
        "worker_lease_seconds": 30,
        "output_cap_bytes": 4096,
    }
    base.update(kw)
    return Settings(**base)  # type: ignore[arg-type]


def _action(sf: sessionmaker[Session], name: str, argv: list[str], **kw: object) -> None:
    with sf.begin() as s:
        actions.create(
            s,
            ActionSpec(name=name, argv=argv, **kw),
            now=datetime.now(UTC),  # type: ignore[arg-type]
        )


def _run(sf: sessionmaker[Session], name: str, **params: object) -> int:
    with sf.begin() as s:
        return run_action(s, name, params, actor="test", now=datetime.now(UTC)).id


def _state(sf: sessionmaker[Session], run_id: int) -> runs.Run:
    with sf() as s:
        return runs.get(s, run_id)


def test_runs_a_real_command_and_records_everything(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    _action(
        session_factory,
        "greet",
        [PY, "-c", "import sys; print('hello', sys.argv[1]); sys.exit(0)", "{{ params.who }}"],
        parameters=[{"name": "who"}],
    )
    run_id = _run(session_factory, "greet", who="$(id)")
    worker = Worker(_settings(tmp_path), session_factory, {"shell": LocalExecutor()}, Metrics())
    assert worker.run_one() is True
    run = _state(session_factory, run_id)
    assert run.state == "succeeded"
    assert run.exit_code == 0
    assert run.output == "hello $(id)\n"
    assert run.started_at is not None and run.finished_at is not None
    assert run.created_at <= run.started_at <= run.finished_at
    with session_factory() as s:
        states = [e.to_state for e in runs.events(s, run_id)]
        logged = [e.action for e in audit.search(s, object_type="run", object_id=str(run_id))]
    assert states == ["queued", "running", "succeeded"]
    assert set(logged) >= {"run.requested", "run.started", "run.finished"}
    assert worker.run_one() is False


def test_failure_timeout_and_output_cap(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    _action(session_factory, "fail", [PY, "-c", "import sys; sys.exit(3)"])
    _action(session_factory, "hang", [PY, "-c", "import time; time.sleep(60)"], timeout_seconds=1)
    _action(session_factory, "loud", [PY, "-c", "print('x' * 100000)"])
    ids = [_run(session_factory, n) for n in ("fail", "hang", "loud")]
    worker = Worker(_settings(tmp_path), session_factory, {"shell": LocalExecutor()}, Metrics())
    started = time.monotonic()
    for _ in ids:
        assert worker.run_one()
    assert time.monotonic() - started < 20
    failed, hung, loud = (_state(session_factory, i) for i in ids)
    assert (failed.state, failed.exit_code) == ("failed", 3)
    assert hung.state == "timed_out" and hung.exit_code is None
    assert loud.state == "succeeded" and loud.output_truncated
    assert len(loud.output.encode()) < 4096 + 200


def test_cancel_a_running_run_kills_it(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    _action(
        session_factory, "sleepy", [PY, "-c", "import time; time.sleep(60)"], timeout_seconds=120
    )
    run_id = _run(session_factory, "sleepy")
    worker = Worker(_settings(tmp_path), session_factory, {"shell": LocalExecutor()}, Metrics())
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while _state(session_factory, run_id).state != "running":
            assert time.monotonic() < deadline, "run never started"
            time.sleep(0.05)
        with session_factory.begin() as s:
            runs.request_cancel(s, run_id, reason="test", now=datetime.now(UTC))
        while _state(session_factory, run_id).state == "running":
            assert time.monotonic() < deadline + 10, "run was not cancelled"
            time.sleep(0.05)
    finally:
        worker.stop(grace_seconds=5)
    assert _state(session_factory, run_id).state == "cancelled"


def test_stale_running_runs_are_interrupted_unless_idempotent(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    _action(session_factory, "once", ["true"])
    _action(session_factory, "again", ["true"], idempotent=True)
    once, again = _run(session_factory, "once"), _run(session_factory, "again")
    long_ago = datetime.now(UTC) - timedelta(minutes=10)
    with session_factory.begin() as s:
        for _ in range(2):
            runs.claim(s, worker_id="dead-worker", now=long_ago)
    fake = FakeExecutor()
    worker = Worker(_settings(tmp_path), session_factory, {"shell": fake}, Metrics())
    worker._housekeep()  # what start() does first
    assert _state(session_factory, once).state == "interrupted"
    assert "dead-worker" in (_state(session_factory, once).error or "")
    assert _state(session_factory, again).state == "queued"
    assert worker.run_one() and _state(session_factory, again).state == "succeeded"
    assert [r.argv for r in fake.requests] == [["true"]]


def test_wake_starts_a_run_without_waiting_for_the_poll(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    _action(session_factory, "quick", ["true"])
    worker = Worker(
        _settings(tmp_path, worker_poll_seconds=30, worker_slots=1),
        session_factory,
        {"shell": FakeExecutor()},
        Metrics(),
    )
    worker.start()
    try:
        time.sleep(0.3)  # the slot is now parked on its 30 s poll
        run_id = _run(session_factory, "quick")
        worker.wake([run_id])
        deadline = time.monotonic() + 5
        while _state(session_factory, run_id).state != "succeeded":
            assert time.monotonic() < deadline, "wake did not start the run"
            time.sleep(0.02)
    finally:
        worker.stop(grace_seconds=5)


def test_two_workers_in_threads_never_share_a_run(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    _action(session_factory, "count", ["true"])
    ids = {_run(session_factory, "count") for _ in range(40)}
    fakes = [FakeExecutor(), FakeExecutor()]
    workers = [Worker(_settings(tmp_path), session_factory, {"shell": f}, Metrics()) for f in fakes]
    claimed: list[int] = []
    lock = threading.Lock()

    def drain(w: Worker) -> None:
        while True:
            with session_factory.begin() as s:
                run = runs.claim(s, worker_id=w.worker_id, now=datetime.now(UTC))
            if run is None:
                return
            with lock:
                claimed.append(run.id)

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(ids)


@pytest.mark.parametrize("bad", ["; rm -rf /", "$(id)", "`id`", "a\nb", "--help"])
def test_hostile_parameter_is_one_literal_argument(
    session_factory: sessionmaker[Session], tmp_path: Path, bad: str
) -> None:
    _action(
        session_factory,
        "echo-args",
        [PY, "-c", "import json, sys; print(json.dumps(sys.argv[1:]))", "{{ params.v }}"],
        parameters=[{"name": "v"}],
    )
    run_id = _run(session_factory, "echo-args", v=bad)
    Worker(_settings(tmp_path), session_factory, {"shell": LocalExecutor()}, Metrics()).run_one()
    import json

    assert json.loads(_state(session_factory, run_id).output) == [bad]
