"""Guards the worker enforces: one run per target at a time across two workers (threads with
their own connections; on PostgreSQL they really claim concurrently), and once_after runs
that housekeeping starts when a throttle window ends."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.domains.rules import service as rules
from sophrosyne.domains.rules.schemas import RuleSpec
from sophrosyne.domains.runs import service as runs
from sophrosyne.executors.ssh import SshRequest, SshResult, TargetResult
from sophrosyne.flows.ingest import ingest
from sophrosyne.flows.manual import run_action
from sophrosyne.metrics import Metrics
from sophrosyne.worker.loop import Worker
from tests.factories import add_targets, incoming_alert, ssh_action
from tests.worker.test_worker import _settings


class FakeSsh:
    """Pretends to run on every target for ``delay`` seconds and records when, per target."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.spans: list[tuple[str, float, float]] = []
        self._lock = threading.Lock()

    def run(self, request: SshRequest) -> SshResult:
        start = time.monotonic()
        time.sleep(self.delay)
        end = time.monotonic()
        with self._lock:
            self.spans += [(t.name, start, end) for t in request.targets]
        return SshResult(tuple(TargetResult(t.name, 0) for t in request.targets), end - start)


def _wait(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _states(sf: sessionmaker[Session], ids: list[int]) -> list[str]:
    with sf() as s:
        return [runs.get(s, i).state for i in ids]


def test_two_workers_never_run_two_runs_on_one_target(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    with session_factory.begin() as s:
        add_targets(s, now, "h1", "h2", "h3")
        ssh_action(s, now)
    plan = [["h1"]] * 6 + [["h2"]] * 4 + [["h1", "h2"]] * 2 + [["h3"]] * 2
    with session_factory.begin() as s:
        ids = [
            run_action(s, "fix", {}, actor="me", now=now, targets=targets).id for targets in plan
        ]
    fake = FakeSsh(delay=0.1)
    workers = [
        Worker(_settings(tmp_path), session_factory, {"ssh": fake}, Metrics()) for _ in range(2)
    ]
    for w in workers:
        w.start()
    try:
        _wait(lambda: set(_states(session_factory, ids)) == {"succeeded"}, "every run to finish")
    finally:
        for w in workers:
            w.stop(grace_seconds=5)
    by_target: dict[str, list[tuple[float, float]]] = {}
    for name, start, end in fake.spans:
        by_target.setdefault(name, []).append((start, end))
    assert sorted((k, len(v)) for k, v in by_target.items()) == [("h1", 8), ("h2", 6), ("h3", 2)]
    for name, spans in by_target.items():
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert start >= end, f"two runs overlapped on {name}"
    # Four slots in all: runs on different targets did run side by side.
    starts = sorted(s for _, s, _ in fake.spans)
    assert any(b - a < 0.05 for a, b in itertools.pairwise(starts))


def test_housekeeping_starts_a_once_after_run_when_its_window_ends(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    t0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    clock = [t0]
    with session_factory.begin() as s:
        add_targets(s, t0, "h1")
        ssh_action(s, t0)
        spec = {
            "name": "fix-once",
            "matchers": ['alertname="Down"'],
            "action": "fix",
            "targets": {"from_label": "instance"},
            "guards": {"throttle": {"once_after": 120, "group_by": ["instance"]}},
        }
        rules.create(s, RuleSpec.model_validate(spec), now=t0)
    cache = rules.RuleCache()
    for i, job in enumerate(("a", "b", "c")):
        with session_factory.begin() as s:
            alert = incoming_alert(f"fp-{job}", instance="h1:9100", job=job)
            ingest(s, [alert], actor="test", rules=cache, now=t0 + timedelta(seconds=10 * i))
    fake = FakeSsh(delay=0)
    worker = Worker(
        _settings(tmp_path), session_factory, {"ssh": fake}, Metrics(), clock=lambda: clock[0]
    )
    clock[0] = t0 + timedelta(seconds=119)
    worker._housekeep()
    assert worker.run_one() is False
    clock[0] = t0 + timedelta(seconds=121)
    worker._housekeep()
    assert worker.run_one() is True
    with session_factory() as s:
        [run] = runs.search(s)
        assert run.state == "succeeded" and run.targets == ["h1"]
        assert run.requested_by == "rule:fix-once"
    assert [name for name, _, _ in fake.spans] == ["h1"]
    worker._housekeep()
    assert worker.run_one() is False
