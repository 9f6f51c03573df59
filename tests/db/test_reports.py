"""Reports over a known history (``reports_history``), on both backends: every figure is
worked out by hand from the history."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from sophrosyne.domains.reports import service as reports
from sophrosyne.domains.reports import window as windows
from sophrosyne.domains.reports.schemas import (
    ActionsReport,
    ErrorsReport,
    InsightsReport,
    Overview,
    ServersReport,
)
from sophrosyne.domains.rules import service as rules
from sophrosyne.domains.rules.schemas import RuleSpec
from sophrosyne.errors import ValidationFailed
from sophrosyne.flows.ingest import ingest
from tests.db.reports_history import NOW, at, build
from tests.factories import add_targets, incoming_alert, ssh_action


@pytest.fixture
def history(session: Session) -> dict[str, Any]:
    ids = build(session)
    session.commit()
    return ids


def _report(session: Session, name: str, target: str | None = None, window: str = "7d") -> Any:
    w = windows.parse(window, None, None, now=NOW)
    return reports.build(session, name, w, target, now=NOW)


def test_overview_counts_alerts_incidents_and_runs(
    session: Session, history: dict[str, Any]
) -> None:
    report: Overview = _report(session, "overview")
    assert report.window.start == at(15, 12) and report.window.bucket == "day"
    assert report.alerts.model_dump() == {"new": 2, "firing": 7, "resolved": 5, "firing_now": 2}
    assert report.incidents.model_dump() == {
        "opened": 3,
        "resolved": 2,
        "acknowledged": 2,
        "mtta_seconds": 900.0,
        "mttr_seconds": 5400.0,
    }
    assert report.runs.by_state == {"failed": 3, "queued": 1, "succeeded": 3, "timed_out": 1}
    assert report.runs.total == 8
    assert report.runs.success_rate == round(3 / 7, 4)
    assert [(a.alertname, a.firing, a.runs) for a in report.top_alerts] == [
        ("HighLoad", 3, 3),
        ("Noisy", 3, 0),
        ("DiskFull", 1, 2),
    ]


def test_overview_series_fill_every_day(session: Session, history: dict[str, Any]) -> None:
    report: Overview = _report(session, "overview")
    days = [b.start for b in report.runs_over_time]
    assert days == [at(d, 0) for d in range(15, 23)]
    by_day = {b.start.day: b.states for b in report.runs_over_time}
    assert by_day[15] == {} and by_day[19] == {}
    assert by_day[16] == {"failed": 1}
    assert by_day[18] == {"failed": 1, "timed_out": 1}
    assert by_day[22] == {"failed": 1, "queued": 1}
    rates = {b.start.day: b.success_rate for b in report.runs_over_time}
    assert rates[17] == 1.0 and rates[18] == 0.0 and rates[15] is None
    mttr = {b.start.day: (b.resolved, b.mttr_seconds) for b in report.mttr_over_time}
    assert mttr[18] == (1, 7200.0) and mttr[20] == (1, 3600.0) and mttr[21] == (0, None)


def test_overview_narrowed_to_a_target(session: Session, history: dict[str, Any]) -> None:
    report: Overview = _report(session, "overview", target="web-1")
    assert report.target == "web-1"
    assert report.runs.total == 5
    assert report.runs.by_state == {"failed": 1, "queued": 1, "succeeded": 3}
    assert report.alerts.model_dump() == {"new": 1, "firing": 3, "resolved": 2, "firing_now": 1}
    assert (report.incidents.opened, report.incidents.resolved) == (2, 1)
    assert report.incidents.mttr_seconds == 3600.0
    assert [a.alertname for a in report.top_alerts] == ["HighLoad"]
    # db-1 is pointed at by address (10.0.0.5:9100), not by name.
    db = _report(session, "overview", target="db-1")
    assert [a.alertname for a in db.top_alerts] == ["DiskFull"]
    assert db.runs.total == 4


def test_unknown_target_is_refused_naming_the_field(
    session: Session, history: dict[str, Any]
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _report(session, "overview", target="nope")
    assert caught.value.errors[0].loc == ("target",)


def test_actions_report(session: Session, history: dict[str, Any]) -> None:
    report: ActionsReport = _report(session, "actions")
    rows = {r.action: r for r in report.actions}
    assert [r.action for r in report.actions] == ["cleanup", "restart"]
    cleanup, restart = rows["cleanup"], rows["restart"]
    assert (cleanup.runs, cleanup.succeeded, cleanup.failed, cleanup.timed_out) == (4, 1, 2, 1)
    assert cleanup.success_rate == 0.25
    assert (cleanup.median_seconds, cleanup.p95_seconds) == (55.0, 299.0)
    assert cleanup.last_run_at == at(18, 8, 30)
    assert (restart.runs, restart.succeeded, restart.failed, restart.cancelled) == (4, 2, 1, 0)
    assert restart.success_rate == round(2 / 3, 4)
    assert (restart.median_seconds, restart.p95_seconds) == (20.0, 30.0)
    assert restart.last_run_at == at(22, 11)
    assert sum(b.total for b in report.runs_over_time) == 8


def test_actions_over_90_days_bucket_by_week(session: Session, history: dict[str, Any]) -> None:
    report: ActionsReport = _report(session, "actions", window="90d")
    assert report.window.bucket == "week"
    assert all(b.start.weekday() == 0 for b in report.runs_over_time)
    restart = next(r for r in report.actions if r.action == "restart")
    assert restart.runs == 7 and restart.succeeded == 5
    # The week of Monday 2026-11-09 holds the three earlier restarts.
    week = {b.start: b.states for b in report.runs_over_time}
    assert week[at(9, 0)] == {"succeeded": 3}


def test_servers_report(session: Session, history: dict[str, Any]) -> None:
    report: ServersReport = _report(session, "servers")
    assert [r.target for r in report.servers] == ["db-1", "web-1"]
    db, web = report.servers
    assert (db.runs, db.succeeded, db.failures, db.success_rate) == (4, 1, 3, 0.25)
    assert db.last_failure_at == at(18, 8, 35)
    assert (db.alerts, db.firing) == (1, 1)
    assert (web.runs, web.succeeded, web.failures, web.success_rate) == (5, 3, 1, 0.75)
    assert web.last_failure_at == at(22, 9, 1, 31)
    assert (web.alerts, web.firing) == (1, 3)
    narrowed: ServersReport = _report(session, "servers", target="web-1")
    assert [r.target for r in narrowed.servers] == ["web-1"]
    assert narrowed.servers[0] == web


def test_errors_report_groups_by_signature(session: Session, history: dict[str, Any]) -> None:
    report: ErrorsReport = _report(session, "errors")
    assert [(g.action, g.signature, g.count) for g in report.groups] == [
        ("cleanup", "disk full", 2),
        ("cleanup", "timed out after 300 s", 1),
        ("restart", "Error: unit not found", 1),
    ]
    disk = report.groups[0]
    assert disk.last_run_id == history["failed_cleanup"]
    assert (disk.last_exit_code, disk.targets, disk.last_state) == (2, ["db-1"], "failed")
    assert disk.last_seen == at(18, 8, 1, 41)
    assert report.recent[0].run_id == history["failed_restart"]
    assert len(report.recent) == 4
    assert report.recent[0].first_line == "Error: unit not found"
    web: ErrorsReport = _report(session, "errors", target="web-1")
    assert [g.signature for g in web.groups] == ["Error: unit not found"]


def test_insights(session: Session, history: dict[str, Any]) -> None:
    report: InsightsReport = _report(session, "insights")
    assert [(i.severity, i.kind, i.subject) for i in report.insights] == [
        ("critical", "failing_target", "db-1"),
        ("warning", "failing_target", "web-1"),
        ("warning", "fix_not_working", "HighLoad"),
        ("warning", "mttr_trend", "incidents"),
        ("warning", "no_automation", "Noisy"),
        ("warning", "success_rate_drop", "restart"),
    ]
    by_kind = {i.kind: i for i in report.insights}
    assert by_kind["success_rate_drop"].evidence == {
        "success_rate": round(2 / 3, 4),
        "previous_success_rate": 1.0,
        "outcomes": 3,
        "previous_outcomes": 3,
    }
    assert by_kind["mttr_trend"].evidence["change"] == 0.5
    assert by_kind["mttr_trend"].evidence["previous_mttr_seconds"] == 3600.0
    assert by_kind["no_automation"].evidence["firing"] == 3
    assert by_kind["fix_not_working"].evidence["succeeded_runs"] == 2


def test_custom_window_in_hours(session: Session, history: dict[str, Any]) -> None:
    w = windows.parse("custom", "2026-11-18T08:00", "2026-11-18T10:00", now=NOW)
    report: Overview = reports.build(session, "overview", w, None, now=NOW)
    assert w.bucket == "hour"
    assert [b.start for b in report.runs_over_time] == [at(18, 8), at(18, 9)]
    assert report.runs_over_time[0].states == {"failed": 1, "timed_out": 1}
    assert report.alerts.firing == 1 and report.alerts.resolved == 1


def test_empty_database_gives_empty_reports(session: Session) -> None:
    for name in ("overview", "actions", "servers", "errors", "insights"):
        report = _report(session, name)
        assert report.window.name == "7d"
    overview: Overview = _report(session, "overview")
    assert overview.runs.total == 0 and overview.runs.success_rate is None
    assert overview.incidents.mttr_seconds is None


def test_reports_follow_the_real_spine_and_a_rules_from_label(
    session: Session, now: datetime
) -> None:
    """An alert ingested for real: the rule picks the target from the label ``host`` (not
    ``instance``); the run records it; the reports count both for that target."""
    add_targets(session, now, "h1", "h2")
    ssh_action(session, now)
    spec = {
        "name": "fix-host",
        "matchers": ['alertname="Down"'],
        "action": "fix",
        "targets": {"from_label": "host"},
    }
    rules.create(session, RuleSpec.model_validate(spec), now=now)
    session.commit()
    ingest(session, [incoming_alert("x1", host="h1")], actor="t", rules=rules.RuleCache(), now=now)
    session.commit()
    later = now + timedelta(minutes=5)
    w = windows.parse("24h", None, None, now=later)
    report: Overview = reports.build(session, "overview", w, "h1", now=later)
    assert report.runs.total == 1 and report.alerts.firing == 1
    assert [a.fingerprint for a in report.top_alerts] == ["x1"]
    other: Overview = reports.build(session, "overview", w, "h2", now=later)
    assert other.runs.total == 0 and other.alerts.firing == 0
    servers: ServersReport = reports.build(session, "servers", w, None, now=later)
    assert [(s.target, s.runs, s.alerts) for s in servers.servers] == [("h1", 1, 1), ("h2", 0, 0)]
