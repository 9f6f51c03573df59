"""An alert storm through the real ingest API: 1,000 alerts about 200 hosts within seconds.
The guards hold the rule to its limits, and every matched alert has a run or a recorded
decision with a reason: nothing is dropped silently."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.app import create_app
from sophrosyne.config import Settings
from sophrosyne.domains.accounts import service as accounts
from sophrosyne.domains.accounts.schemas import Scope, TokenCreate
from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.actions.schemas import ActionSpec
from sophrosyne.domains.alerts.models import Alert, AlertDecision
from sophrosyne.domains.rules import service as rules
from sophrosyne.domains.rules.schemas import RuleSpec
from sophrosyne.domains.runs.models import Run
from sophrosyne.executors.fake import FakeExecutor
from sophrosyne.metrics import Metrics
from sophrosyne.worker.loop import Worker
from tests.api.helpers import Api
from tests.factories import add_targets
from tests.worker.test_guards_worker import _wait
from tests.worker.test_worker import _settings

HOSTS = [f"node-{i:03d}" for i in range(200)]
RATE_LIMIT, DISTINCT_TARGETS, COOLDOWN = 50, 20, 600


def _setup(sf: sessionmaker[Session]) -> str:
    now = datetime.now(UTC)
    with sf.begin() as s:
        add_targets(s, now, *HOSTS, role="web")
        actions.create(s, ActionSpec(name="reboot", argv=["/bin/echo", "reboot"]), now=now)
        spec = {
            "name": "reboot-down-nodes",
            "matchers": ['alertname="NodeDown"'],
            "action": "reboot",
            "targets": {"from_label": "instance"},
            "guards": {
                "rate_limit": {"runs": RATE_LIMIT, "window_seconds": 3600},
                "max_targets_per_window": {"targets": DISTINCT_TARGETS, "window_seconds": 3600},
                "target_cooldown_seconds": COOLDOWN,
            },
        }
        rules.create(s, RuleSpec.model_validate(spec), now=now)
        _, secret = accounts.create(s, TokenCreate(name="am", scopes=[Scope.INGEST]), now=now)
    return secret


def _storm() -> list[list[dict[str, object]]]:
    """1,000 alerts, five different checks per host, interleaved; 20 requests of 50."""
    alerts = [
        {
            "labels": {
                "alertname": "NodeDown",
                "instance": f"{HOSTS[i % 200]}:9100",
                "check": f"c{i // 200}",
            },
            "severity": "critical",
        }
        for i in range(1000)
    ]
    return [alerts[i : i + 50] for i in range(0, 1000, 50)]


def test_storm_is_held_to_the_limits_and_nothing_is_dropped(
    db_url: str, engine: Engine, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    token = _setup(session_factory)
    app = create_app(Settings(data_dir=tmp_path, database_url=db_url), engine=engine)
    started = time.monotonic()
    with TestClient(app) as client:
        api = Api(client, token)
        with ThreadPoolExecutor(4) as pool:
            replies = list(pool.map(lambda b: api.post("/api/v1/alerts", json=b), _storm()))
    assert all(r.status_code == 200 for r in replies), [r.text for r in replies]
    assert time.monotonic() - started < 60
    assert sum(r.json()["received"] for r in replies) == 1000

    with session_factory() as s:
        alert_ids = set(s.scalars(select(Alert.id)))
        made = list(s.scalars(select(Run)))
        decisions = list(s.scalars(select(AlertDecision)))
    assert len(alert_ids) == 1000
    # The rate limit counts every run the rule created, waiting or not.
    assert len(made) == RATE_LIMIT
    admitted = [r for r in made if r.state == "queued"]
    waiting = [r for r in made if r.state == "awaiting_confirmation"]
    assert len(admitted) + len(waiting) == len(made)
    # Blast radius: no more distinct hosts than allowed ran on their own, each only once
    # (target cooldown); the others wait for a person.
    touched = Counter(t for r in admitted for t in r.targets)
    assert len(touched) == DISTINCT_TARGETS and set(touched.values()) == {1}
    assert len(waiting) == RATE_LIMIT - DISTINCT_TARGETS
    by_run = {d.run_id: d for d in decisions if d.run_id is not None}
    assert {by_run[r.id].outcome for r in waiting} == {"blast_radius"}

    # Every alert: a run, or a decision that says why not.
    with_run = {r.alert_id for r in made}
    explained = {d.alert_id for d in decisions if d.outcome and d.detail}
    assert alert_ids == with_run | explained
    held = Counter(d.outcome for d in decisions if d.run_id is None)
    assert set(held) == {"rate_limited", "target_cooldown"}
    assert sum(held.values()) == 1000 - RATE_LIMIT
    # An alert about a host already fixed is held by the target cooldown, not the rate limit.
    assert held["target_cooldown"] == DISTINCT_TARGETS * 4

    # A worker drains what was admitted, one run per host at a time.
    fake = FakeExecutor()
    worker = Worker(_settings(tmp_path), session_factory, {"shell": fake}, Metrics())
    worker.start()
    try:

        def done() -> bool:
            with session_factory() as s:
                states = s.scalars(select(Run.state).where(Run.id.in_([r.id for r in admitted])))
                return set(states) == {"succeeded"}

        _wait(done, "the admitted runs to finish")
    finally:
        worker.stop(grace_seconds=5)
    assert len(fake.requests) == DISTINCT_TARGETS
