"""Insights from figures, pure: thresholds, severities, order."""

from __future__ import annotations

from sophrosyne.domains.reports import observations as obs
from sophrosyne.domains.reports.observations import AlertActivity
from sophrosyne.domains.reports.schemas import ServerRow


def test_rate_drop_needs_enough_outcomes_and_a_real_drop() -> None:
    found = obs.rate_drops(
        {"a": (1, 4), "b": (2, 3), "c": (0, 2), "d": (9, 10)},
        {"a": (4, 4), "b": (3, 3), "c": (2, 2), "d": (10, 10)},
    )
    assert [(i.subject, i.severity) for i in found] == [("a", "critical"), ("b", "warning")]
    assert found[0].evidence["success_rate"] == 0.25
    assert "down from 100 %" in found[0].text


def test_alert_insights() -> None:
    quiet = AlertActivity("Quiet", "f1", firing=2, runs=0, succeeded=0, decisions=0)
    ignored = AlertActivity("Ignored", "f2", firing=5, runs=0, succeeded=0, decisions=4)
    unfixed = AlertActivity("Unfixed", "f3", firing=4, runs=3, succeeded=2, decisions=3)
    fixed = AlertActivity("Fixed", "f4", firing=1, runs=1, succeeded=1, decisions=1)
    alerts = [quiet, ignored, unfixed, fixed]
    unanswered = obs.unanswered(alerts)
    assert [i.subject for i in unanswered] == ["Ignored"]
    assert "rules matched 4 times but none ran" in unanswered[0].text
    assert [i.subject for i in obs.fixes_not_holding(alerts)] == ["Unfixed"]


def _server(name: str, runs: int, failures: int) -> ServerRow:
    ok = runs - failures
    return ServerRow(
        target=name, in_inventory=True, runs=runs, succeeded=ok, failures=failures,
        success_rate=ok / runs if runs else None, alerts=0, firing=0, last_failure_at=None,
    )  # fmt: skip


def test_failing_targets_top_three() -> None:
    rows = [_server("a", 10, 1), _server("b", 4, 3), _server("c", 5, 0), _server("d", 9, 2),
            _server("e", 9, 2)]  # fmt: skip
    found = obs.failing_targets(rows)
    assert [(i.subject, i.severity) for i in found] == [
        ("b", "critical"),
        ("d", "warning"),
        ("e", "warning"),
    ]


def test_mttr_trend() -> None:
    assert obs.mttr_trend(None, 60, 0, 1) == []
    rose = obs.mttr_trend(5400, 3600, 2, 1)[0]
    assert (rose.severity, rose.evidence["change"]) == ("warning", 0.5)
    assert "90 min against 60 min" in rose.text
    assert obs.mttr_trend(1000, 2000, 1, 1)[0].text.startswith("Mean time to resolve fell")
    assert "held steady" in obs.mttr_trend(1000, 1100, 1, 1)[0].text


def test_order_is_by_severity_kind_subject() -> None:
    found = [
        *obs.mttr_trend(1000, 2000, 1, 1),
        *obs.failing_targets([_server("z", 2, 2), _server("a", 9, 1)]),
    ]
    assert [(i.severity, i.subject) for i in obs.ordered(found)] == [
        ("critical", "z"),
        ("warning", "a"),
        ("info", "incidents"),
    ]
