"""The worker and maintenance windows: an automatic run queued for a target before its window
opened is held (not started) while the window is open, with the reason recorded once on the
run; a person's run on that target, and automatic runs on other targets, still start; the
held run starts once the window closes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.domains.maintenance import service as maintenance
from sophrosyne.domains.maintenance.schemas import MaintenanceSpec
from sophrosyne.domains.rules import service as rules
from sophrosyne.domains.rules.schemas import RuleSpec
from sophrosyne.domains.runs import service as runs
from sophrosyne.executors.fake import FakeExecutor
from sophrosyne.flows.ingest import ingest
from sophrosyne.flows.manual import run_action
from sophrosyne.metrics import Metrics
from sophrosyne.worker.loop import Worker
from tests.factories import add_targets, echo_action, incoming_alert, ssh_action
from tests.worker.test_guards_worker import FakeSsh
from tests.worker.test_worker import _settings


def test_worker_holds_a_queued_automatic_run_on_a_target_entering_a_window(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    t0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    clock = [t0]
    with session_factory.begin() as s:
        add_targets(s, t0, "h1", "h2")
        ssh_action(s, t0)
        spec = {
            "name": "fix-down",
            "matchers": ['alertname="Down"'],
            "action": "fix",
            "targets": {"from_label": "instance"},
        }
        rules.create(s, RuleSpec.model_validate(spec), now=t0)
    cache = rules.RuleCache()
    with session_factory.begin() as s:
        queued = ingest(
            s,
            [incoming_alert("a", instance="h1:9100"), incoming_alert("b", instance="h2:9100")],
            actor="test",
            rules=cache,
            now=t0,
        )
    held_id, other_id = queued.queued_run_ids
    # The window opens a minute after the runs were queued.
    with session_factory.begin() as s:
        window = MaintenanceSpec(
            name="h1-reboot",
            comment="reboot",
            targets=["h1"],
            starts_at=t0 + timedelta(minutes=1),
            ends_at=t0 + timedelta(hours=1),
        )
        window_id = maintenance.create(s, window, by="alice", now=t0).id
        manual_id = run_action(s, "fix", {}, actor="user:alice", now=t0, targets=["h1"]).id

    fake = FakeSsh(delay=0)
    worker = Worker(
        _settings(tmp_path), session_factory, {"ssh": fake}, Metrics(), clock=lambda: clock[0]
    )
    clock[0] = t0 + timedelta(minutes=2)
    for _ in range(3):  # later passes do not note it again
        worker._housekeep()
    while worker.run_one():
        pass
    with session_factory() as s:
        assert runs.get(s, held_id).state == "queued"
        assert runs.get(s, other_id).state == "succeeded"
        assert runs.get(s, manual_id).state == "succeeded"  # a person's run is not held
        notes = [e.reason for e in runs.events(s, held_id) if e.reason.startswith("held")]
    assert notes == [
        f"held: target h1 is in maintenance window 'h1-reboot' (id {window_id}); "
        "an automatic run starts when the window closes"
    ]
    clock[0] = t0 + timedelta(hours=1)
    assert worker.run_one() is True
    with session_factory() as s:
        assert runs.get(s, held_id).state == "succeeded"


def test_worker_holds_a_queued_run_whose_alert_enters_a_matcher_window(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """No target at all (a local action): the run's alert labels put it in scope."""
    t0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    clock = [t0]
    with session_factory.begin() as s:
        echo_action(s, t0)
        spec = {
            "name": "restart-down",
            "matchers": ['alertname="Down"'],
            "action": "restart",
            "parameters": {"svc": "{{ labels.dc }}"},
        }
        rules.create(s, RuleSpec.model_validate(spec), now=t0)
    with session_factory.begin() as s:
        queued = ingest(
            s,
            [incoming_alert("a", dc="par1"), incoming_alert("b", dc="ams1")],
            actor="test",
            rules=rules.RuleCache(),
            now=t0,
        )
    held_id, other_id = queued.queued_run_ids
    with session_factory.begin() as s:
        window = MaintenanceSpec(
            name="dc-move",
            comment="racks",
            matchers=['dc="par1"'],
            starts_at=t0 + timedelta(minutes=1),
            ends_at=t0 + timedelta(hours=1),
        )
        window_id = maintenance.create(s, window, by="alice", now=t0).id
    fake = FakeExecutor()
    worker = Worker(
        _settings(tmp_path), session_factory, {"shell": fake}, Metrics(), clock=lambda: clock[0]
    )
    clock[0] = t0 + timedelta(minutes=2)
    for _ in range(3):
        worker._housekeep()
    while worker.run_one():
        pass
    with session_factory() as s:
        assert runs.get(s, held_id).state == "queued"
        assert runs.get(s, other_id).state == "succeeded"
        notes = [e.reason for e in runs.events(s, held_id) if e.reason.startswith("held")]
    assert notes == [
        f"held: its alert is in maintenance window 'dc-move' (id {window_id}): "
        'alert labels match dc="par1"; an automatic run starts when the window closes'
    ]
    assert [r.argv for r in fake.requests] == [["echo", "ams1"]]
    clock[0] = t0 + timedelta(hours=1)
    assert worker.run_one() is True
    with session_factory() as s:
        assert runs.get(s, held_id).state == "succeeded"
