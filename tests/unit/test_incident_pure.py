"""Incident grouping, statistics and post-mortem: the pure parts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sophrosyne.config import Settings
from sophrosyne.domains.incidents import postmortem, stats
from sophrosyne.domains.incidents.grouping import (
    Grouping,
    GroupingRule,
    OpenIncident,
    default_rule,
    pick,
    worst,
)
from sophrosyne.domains.incidents.schemas import IncidentAlertOut, IncidentOut, TimelineItem
from sophrosyne.domains.rules.matching import parse_matchers

T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # a Monday, ISO week 47


def test_default_rule_groups_by_alertname_cluster_namespace_service() -> None:
    rule = GroupingRule()
    a = {"alertname": "HighErrorRate", "cluster": "c1", "service": "checkout", "instance": "1"}
    b = {**a, "instance": "2"}
    assert (
        rule.key(a)
        == rule.key(b)
        == "default|alertname=HighErrorRate,cluster=c1,namespace=,service=checkout"
    )
    assert rule.key({**a, "service": "cart"}) != rule.key(a)
    assert rule.title(a) == "HighErrorRate (cluster=c1, service=checkout)"


def test_first_matching_rule_decides_and_the_default_takes_the_rest() -> None:
    db = GroupingRule("databases", parse_matchers(['team="db"']), ("team",), 600)
    grouping = Grouping([db], GroupingRule())
    assert grouping.rule_for({"team": "db", "alertname": "X"}) is db
    assert grouping.rule_for({"team": "web"}).name == "default"
    assert db.key({"team": "db", "alertname": "X"}) == db.key({"team": "db", "alertname": "Y"})


def test_long_keys_are_shortened_with_a_hash() -> None:
    rule = GroupingRule(group_by=("a",))
    one, two = rule.key({"a": "x" * 400}), rule.key({"a": "x" * 399 + "y"})
    assert len(one) <= 255 and len(two) <= 255 and one != two


def test_pick_takes_the_newest_incident_opened_within_the_window() -> None:
    rule = GroupingRule(window_seconds=600)
    old = OpenIncident(1, "k", T0, None)
    new = OpenIncident(2, "k", T0 + timedelta(minutes=5), None)
    assert pick([old, new], rule, T0 + timedelta(minutes=9)) == new
    assert pick([old], rule, T0 + timedelta(minutes=10)) == old
    assert pick([old], rule, T0 + timedelta(minutes=10, seconds=1)) is None
    assert pick([], rule, T0) is None


def test_severity_is_the_worst() -> None:
    assert worst("warning", "critical", None) == "critical"
    assert worst("info", "custom") == "custom"  # unknown ranks just after warning
    assert worst(None, None) is None


def test_default_rule_from_settings() -> None:
    s = Settings(incident_group_by="alertname, team", incident_window_seconds=60)
    rule = default_rule(s)
    assert rule.group_by == ("alertname", "team") and rule.window_seconds == 60


def _facts(opened_min: int, ack: int | None, res: int | None, svc: str, sev: str) -> stats.Facts:
    at = T0 + timedelta(minutes=opened_min)
    return stats.Facts(
        at,
        at + timedelta(seconds=ack) if ack is not None else None,
        at + timedelta(seconds=res) if res is not None else None,
        svc,
        sev,
    )


def test_stats_exact_figures() -> None:
    facts = [
        _facts(0, 60, 600, "checkout", "critical"),
        _facts(10, 120, 1200, "checkout", "warning"),
        _facts(20, 300, None, "cart", "critical"),
        _facts(60 * 24 * 7, None, 900, "cart", "critical"),  # next week, never acknowledged
    ]
    overall = stats.figures(facts)
    assert (overall.count, overall.acknowledged, overall.resolved) == (4, 3, 3)
    assert overall.mtta_mean == 160 and overall.mtta_median == 120
    assert overall.mttr_mean == 900 and overall.mttr_median == 900
    by_service = stats.by(facts, "service")
    assert by_service["checkout"].mtta_mean == 90 and by_service["checkout"].mttr_median == 900
    assert by_service["cart"].mtta_mean == 300 and by_service["cart"].mttr_mean == 900
    assert stats.by(facts, "severity")["critical"].count == 3
    assert [(w.week, w.opened) for w in stats.per_week(facts)] == [
        ("2026-W47", 3),
        ("2026-W48", 1),
    ]


def test_postmortem_has_every_section_and_escapes_untrusted_text() -> None:
    incident = IncidentOut(
        id=7,
        title="HighErrorRate (service=checkout)",
        status="resolved",
        severity="critical",
        service="checkout",
        group_key="k",
        rule_name="default",
        auto_resolve=True,
        assignee="olga",
        commander="root",
        summary="Checkout returned 5xx.",
        root_cause="A bad deploy.",
        follow_ups=["Add a canary", "| injected |"],
        opened_by="grouping:default",
        opened_at=T0,
        acknowledged_at=T0 + timedelta(minutes=2),
        acknowledged_by="olga",
        ack_expires_at=None,
        resolved_at=T0 + timedelta(minutes=30),
        resolved_by="system",
        updated_at=T0,
    )
    alert = IncidentAlertOut(
        alert_id=1,
        fingerprint="abc",
        source="alertmanager",
        alert_status="resolved",
        status="resolved",
        severity="critical",
        labels={"alertname": "HighErrorRate", "service": "checkout"},
        first_attached_at=T0,
        last_attached_at=T0,
        resolved_at=T0 + timedelta(minutes=30),
    )
    items = [
        TimelineItem(at=T0, kind="alert", actor="alertmanager", summary="alert joined"),
        TimelineItem(at=T0, kind="run", actor="rule:restart", summary="run 1 (restart) created"),
        TimelineItem(
            at=T0 + timedelta(minutes=2), kind="status", actor="olga", summary="acknowledged"
        ),
        TimelineItem(
            at=T0 + timedelta(minutes=3), kind="note", actor="olga", summary="rolling back"
        ),
    ]
    text = postmortem.render(incident, [alert], items, now=T0 + timedelta(hours=1))
    for heading in (
        "## Summary",
        "## Impact",
        "## Timeline",
        "## What was automated",
        "## What people did",
        "## Root cause",
        "## Follow-ups",
    ):
        assert heading in text
    assert "- Duration: 0 h 30 min" not in text and "30 min 00 s" in text
    assert "A bad deploy." in text and "- [ ] Add a canary" in text
    assert "\\| injected \\|" in text  # cannot break the table or the list
    automated = text.split("## What was automated")[1].split("## What people did")[0]
    people = text.split("## What people did")[1].split("## Root cause")[0]
    assert "run 1" in automated and "olga" not in automated
    assert "olga: acknowledged" in people and "olga: rolling back" in people
