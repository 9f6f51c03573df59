"""The history of fixes, built for real in the database, ranks what worked best.

Alerts fire and resolve at chosen times (``alert_events``), actions run for them through the
runs queue, tasks from recommendations are acknowledged and done; the ranking read back must
be exact, down to the sentence shown to people.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.actions.schemas import ActionSpec
from sophrosyne.domains.alerts import service as alerts
from sophrosyne.domains.alerts.service import StoredAlert
from sophrosyne.domains.fixes import service as fixes
from sophrosyne.domains.fixes.models import AppliedFix
from sophrosyne.domains.recommendations import service as recommendations
from sophrosyne.domains.recommendations.schemas import RecommendationSpec
from sophrosyne.domains.runs import service as runs
from sophrosyne.domains.runs.states import RunState
from sophrosyne.domains.tasks import service as tasks
from sophrosyne.domains.tasks.states import TaskState
from tests.factories import incoming_alert

WINDOW = timedelta(minutes=30)
MIN = timedelta(minutes=1)


class History:
    """Writes a history the way production does: alert upserts, runs, tasks."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.keys = itertools.count()
        for name in ("restart_service", "clear-cache"):
            actions.create(session, ActionSpec(name=name, argv=["true"]), now=now)
        recommendations.create(
            session,
            RecommendationSpec(name="replace-disk", title="Replace the disk", instructions="x"),
            now=now,
        )

    def alert(
        self, fp: str, status: str, at: datetime, *, name: str = "DiskPressure", role: str = "db"
    ) -> StoredAlert:
        incoming = incoming_alert(fp, status, alertname=name, role=role, instance=f"{fp}:9100")
        [receipt] = alerts.upsert(self.session, [incoming], now=at)
        return receipt.alert

    def run(
        self, action: str, alert: StoredAlert, start: datetime, state: RunState = RunState.SUCCEEDED
    ) -> None:
        spec = actions.get_by_name(self.session, action)
        new = runs.NewRun(
            action_id=spec.id,
            action_name=action,
            kind="shell",
            params={},
            argv=["true"],
            timeout_seconds=5,
            idempotent=False,
            requested_by="test",
        )
        key = f"test:{next(self.keys)}"
        runs.enqueue(
            self.session, [new], now=start, bindings=[runs.Binding(alert.id, alert.episode, key)]
        )
        claimed = runs.claim(self.session, worker_id="w1", now=start)
        assert claimed is not None
        outcome = runs.Outcome(state, 0, "", False, None, "test")
        finished = runs.finish(self.session, claimed.id, outcome, now=start + 10 * MIN / 60)
        fixes.record_run(self.session, finished, now=start)

    def task(
        self, alert: StoredAlert, opened: datetime, acked: datetime | None, closed: datetime
    ) -> None:
        rec = recommendations.get_by_name(self.session, "replace-disk")
        task = tasks.create_manual(self.session, rec, {}, actor="t", now=opened, alert_id=alert.id)
        if acked is not None:
            tasks.transition(self.session, task.id, TaskState.ACKNOWLEDGED, actor="t", now=acked)
        tasks.transition(self.session, task.id, TaskState.DONE, actor="t", now=closed)


@pytest.fixture
def history(session: Session, now: datetime) -> History:
    """restart_service 9/10 (median 3 min), replace-disk 3/3 (20 min), clear-cache 1/1, plus
    noise that must not count: other signatures, failed runs, pending and late fixes."""
    h = History(session, now - timedelta(days=30))
    start = now - timedelta(days=20)
    # restart_service on db1, ten episodes: nine resolve 2-5 min after the run began.
    minutes = [2, 3, 3, 3, 4, 3, 2, 5, 3, 45]
    for i, took in enumerate(minutes):
        t = start + i * timedelta(hours=2)
        alert = h.alert("db1", "firing", t)
        h.run("restart_service", alert, t + MIN)
        if i == 0:  # a failed run is not an applied fix
            h.run("restart_service", alert, t + MIN / 2, state=RunState.FAILED)
        h.alert("db1", "resolved", t + MIN + took * MIN)
    # replace-disk on db2: acknowledged, resolved 20 min later, then marked done.
    for i in range(3):
        t = start + timedelta(days=1, hours=2 * i)
        alert = h.alert("db2", "firing", t)
        h.task(alert, t, t + 2 * MIN, t + 40 * MIN)
        h.alert("db2", "resolved", t + 22 * MIN)
    # ...and once it was done after the alert had already resolved: not counted.
    t = start + timedelta(days=2)
    alert = h.alert("db2", "firing", t)
    h.alert("db2", "resolved", t + 5 * MIN)
    h.task(alert, t, t + 10 * MIN, t + 11 * MIN)
    # clear-cache once on db3, resolved a minute later.
    t = start + timedelta(days=3)
    alert = h.alert("db3", "firing", t)
    h.run("clear-cache", alert, t)
    h.alert("db3", "resolved", t + MIN)
    # Other signatures: role=web, and another alert name on role=db.
    for i in range(4):
        t = start + timedelta(days=4, hours=i)
        web = h.alert("web1", "firing", t, role="web")
        h.run("clear-cache", web, t + MIN)
        h.alert("web1", "resolved", t + 2 * MIN, role="web")
        down = h.alert("db5", "firing", t, name="Down")
        h.run("clear-cache", down, t + MIN)
    # Pending: restart_service four minutes ago on db4, not resolved yet.
    alert = h.alert("db4", "firing", now - 5 * MIN)
    h.run("restart_service", alert, now - 4 * MIN)
    session.commit()
    return h


def test_ranking_from_a_real_history(session: Session, now: datetime, history: History) -> None:
    labels = {"alertname": "DiskPressure", "role": "db", "instance": "db9:9100"}
    ranking = fixes.ranked(session, labels, window=WINDOW, now=now)
    assert ranking.signature == {"alertname": "DiskPressure", "role": "db"}
    assert ranking.window_seconds == 1800
    got = [
        (f.kind, f.name, f.successes, f.attempts, f.pending, f.median_seconds_to_resolve)
        for f in ranking.fixes
    ]
    assert got == [
        ("action", "restart_service", 9, 10, 1, 180.0),
        ("recommendation", "replace-disk", 3, 3, 0, 1200.0),
        ("action", "clear-cache", 1, 1, 0, 60.0),
    ]
    assert [f.summary for f in ranking.fixes] == [
        "restart_service resolved DiskPressure on role=db 9 times out of 10, median 3 min",
        "replace-disk resolved DiskPressure on role=db 3 times out of 3, median 20 min",
        "clear-cache resolved DiskPressure on role=db 1 times out of 1, median 1 min",
    ]
    assert ranking.fixes[0].success_rate == 0.9 and ranking.fixes[0].score == 0.5958


def test_other_signatures_keep_their_own_history(
    session: Session, now: datetime, history: History
) -> None:
    web = fixes.ranked(
        session, {"alertname": "DiskPressure", "role": "web"}, window=WINDOW, now=now
    )
    assert [(f.name, f.successes, f.attempts) for f in web.fixes] == [("clear-cache", 4, 4)]
    down = fixes.ranked(session, {"alertname": "Down", "role": "db"}, window=WINDOW, now=now)
    assert [(f.name, f.successes, f.attempts) for f in down.fixes] == [("clear-cache", 0, 4)]
    # A wider signature (alert name only) pools role=db and role=web.
    pooled = fixes.ranked(
        session,
        {"alertname": "DiskPressure", "role": "db"},
        window=WINDOW,
        now=now,
        signature_labels=("alertname",),
    )
    assert [(f.name, f.successes, f.attempts) for f in pooled.fixes][:2] == [
        ("restart_service", 9, 10),
        ("clear-cache", 5, 5),
    ]


def test_a_longer_window_judges_the_whole_history_again(
    session: Session, now: datetime, history: History
) -> None:
    labels = {"alertname": "DiskPressure", "role": "db"}
    ranking = fixes.ranked(session, labels, window=timedelta(hours=1), now=now)
    assert (ranking.fixes[0].name, ranking.fixes[0].successes) == ("restart_service", 10)


def test_recording_is_idempotent(session: Session, now: datetime, history: History) -> None:
    before = session.scalar(select(func.count(AppliedFix.id)))
    for run in runs.search(session, state="succeeded", limit=500):
        assert fixes.record_run(session, run, now=now) is None
    for task in tasks.search(session, state="done"):
        assert fixes.record_task(session, task, now=now) is None
    assert session.scalar(select(func.count(AppliedFix.id))) == before


def test_the_worker_step_records_a_succeeded_run_for_an_alert(
    session: Session, now: datetime
) -> None:
    from sophrosyne.executors.base import ExecResult
    from sophrosyne.flows import execute

    h = History(session, now)
    alert = h.alert("db1", "firing", now)
    for key, exit_code in (("ok", 0), ("bad", 1)):
        action = actions.get_by_name(session, "restart_service")
        new = runs.NewRun(action.id, action.name, "shell", {}, ["true"], 5, False, "test")
        runs.enqueue(session, [new], now=now, bindings=[runs.Binding(alert.id, 1, key)])
        ticket = execute.claim(session, worker_id="w1", now=now + MIN)
        assert ticket is not None
        result = ExecResult(exit_code=exit_code, output="", output_truncated=False,
                            duration_seconds=1.0)  # fmt: skip
        execute.record(session, ticket, result, worker_id="w1", now=now + 2 * MIN)
    session.commit()
    [fix] = session.scalars(select(AppliedFix)).all()
    assert (fix.kind, fix.name, fix.applied_at, fix.alert_id) == (
        "action",
        "restart_service",
        now + MIN,
        alert.id,
    )
