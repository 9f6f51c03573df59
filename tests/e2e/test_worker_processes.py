"""Real worker processes: a kill -9 in the middle of a run, and two workers sharing a queue."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.db.engine import make_engine, make_session_factory
from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.actions.schemas import ActionSpec
from sophrosyne.domains.alerts import service as alerts
from sophrosyne.domains.alerts.models import Alert
from sophrosyne.domains.runs import service as runs
from sophrosyne.domains.runs.models import Run, RunEvent
from sophrosyne.flows.manual import run_action
from tests.e2e.procs import SOPHROSYNE, running, sophrosyne_env, tail, wait_for
from tests.factories import incoming_alert

pytestmark = pytest.mark.e2e
PY = sys.executable
FAST = {
    "SOPHROSYNE_WORKER_POLL_SECONDS": "0.1",
    "SOPHROSYNE_WORKER_HEARTBEAT_SECONDS": "0.3",
    "SOPHROSYNE_WORKER_LEASE_SECONDS": "2",
}


def _enqueue(sf: sessionmaker[Session], name: str, n: int = 1) -> list[int]:
    with sf.begin() as s:
        return [run_action(s, name, {}, actor="test", now=datetime.now(UTC)).id for _ in range(n)]


def _run(sf: sessionmaker[Session], run_id: int) -> Run:
    with sf() as s:
        return runs.get(s, run_id)


def test_kill_9_mid_run_leaves_it_interrupted_and_loses_nothing_else(
    db_url: str, tmp_path: Path
) -> None:
    engine = make_engine(db_url)
    sf = make_session_factory(engine)
    marker = f"sophrosyne-kill-test-{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    with sf.begin() as s:
        actions.create(
            s,
            ActionSpec(name="slow", argv=[PY, "-c", "import time; time.sleep(60)", marker]),
            now=now,
        )
        actions.create(s, ActionSpec(name="quick", argv=["true"]), now=now)
        alerts.upsert(s, [incoming_alert("kept", service="web")], now=now)
    slow = _enqueue(sf, "slow")[0]
    env = sophrosyne_env(db_url, tmp_path, SOPHROSYNE_WORKER_SLOTS="1", **FAST)
    log = tmp_path / "worker1.log"
    try:
        with running([*SOPHROSYNE, "worker"], env=env, log=log) as worker:
            wait_for(lambda: _run(sf, slow).state == "running", timeout=30, what="slow run started")
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(10)
        queued_meanwhile = _enqueue(sf, "quick")[0]
        assert _run(sf, slow).state == "running"  # nobody has noticed yet
        with running([*SOPHROSYNE, "worker"], env=env, log=tmp_path / "worker2.log"):
            wait_for(
                lambda: _run(sf, slow).state == "interrupted",
                timeout=30,
                what="the killed worker's run to be interrupted",
            )
            wait_for(
                lambda: _run(sf, queued_meanwhile).state == "succeeded",
                timeout=30,
                what="the run queued meanwhile to succeed",
            )
        run = _run(sf, slow)
        assert run.attempt == 1  # at most once: not started again
        assert "stopped while the run was in progress" in (run.error or "")
        with sf() as s:
            assert s.scalar(select(func.count()).select_from(Alert)) == 1
            assert [e.to_state for e in runs.events(s, slow)] == [
                "queued",
                "running",
                "interrupted",
            ]
    except AssertionError:
        print(tail(log))
        raise
    finally:
        # The orphaned command was in its own process group; don't leave it behind.
        subprocess.run(["pkill", "-f", marker], check=False)
        engine.dispose()


def test_two_worker_processes_on_postgresql_never_claim_the_same_run(
    pg_url: str, tmp_path: Path
) -> None:
    engine = make_engine(pg_url)
    sf = make_session_factory(engine)
    name = f"count-{uuid.uuid4().hex[:8]}"
    with sf.begin() as s:
        actions.create(s, ActionSpec(name=name, argv=["true"]), now=datetime.now(UTC))
    ids = _enqueue(sf, name, 300)
    env = sophrosyne_env(pg_url, tmp_path, SOPHROSYNE_WORKER_SLOTS="4", **FAST)

    def all_done() -> bool:
        with sf() as s:
            return not s.scalar(
                select(func.count())
                .select_from(Run)
                .where(Run.id.in_(ids), Run.state.in_(["queued", "running"]))
            )

    with (
        running([*SOPHROSYNE, "worker"], env=env, log=tmp_path / "w1.log"),
        running([*SOPHROSYNE, "worker"], env=env, log=tmp_path / "w2.log"),
    ):
        wait_for(all_done, timeout=120, what="all 300 runs to finish", every=0.3)
    with sf() as s:
        done = s.scalars(select(Run).where(Run.id.in_(ids))).all()
        claims = s.execute(
            select(RunEvent.run_id, func.count())
            .where(RunEvent.run_id.in_(ids), RunEvent.to_state == "running")
            .group_by(RunEvent.run_id)
        ).all()
    engine.dispose()
    assert {r.state for r in done} == {"succeeded"}
    assert all(r.attempt == 1 for r in done)
    assert sorted(n for _, n in claims) == [1] * len(ids)
    workers = {r.worker_id.rsplit(":", 2)[1] for r in done if r.worker_id}
    assert len(workers) == 2, "both worker processes should have taken part"


def test_worker_process_on_postgresql_wakes_on_notify_not_poll(pg_url: str, tmp_path: Path) -> None:
    """A run queued by another process starts at once: LISTEN/NOTIFY, not the 30 s poll."""
    engine = make_engine(pg_url)
    sf = make_session_factory(engine)
    name = f"wake-{uuid.uuid4().hex[:8]}"
    with sf.begin() as s:
        actions.create(s, ActionSpec(name=name, argv=["true"]), now=datetime.now(UTC))
    env = sophrosyne_env(
        pg_url, tmp_path, SOPHROSYNE_WORKER_SLOTS="1", SOPHROSYNE_WORKER_POLL_SECONDS="30"
    )
    log = tmp_path / "worker.log"
    try:
        with running([*SOPHROSYNE, "worker"], env=env, log=log):
            wait_for(lambda: "worker.started" in log.read_text(), timeout=30, what="worker up")
            time.sleep(1.5)  # past the first poll: the slot is now parked for 30 s
            run_id = _enqueue(sf, name)[0]
            queued_at = time.monotonic()
            wait_for(lambda: _run(sf, run_id).state == "succeeded", timeout=10, what="the run")
            assert time.monotonic() - queued_at < 5
    except AssertionError:
        print(tail(log))
        raise
    finally:
        engine.dispose()
