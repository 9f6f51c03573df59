"""Pure rule evaluation: why a rule does not apply, and parameter rendering."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from sophrosyne.domains.actions.schemas import ParameterSpec
from sophrosyne.domains.rules.evaluate import (
    AlertView,
    CompiledRule,
    RuleSet,
    render_parameters,
    why_not,
)
from sophrosyne.domains.rules.matching import parse_matchers
from sophrosyne.templating import TemplateFailed

RULE = CompiledRule(
    id=1,
    name="restart-web",
    enabled=True,
    matchers=parse_matchers(['alertname="Down"', 'job=~"web|api"']),
    on_status=frozenset({"firing"}),
    mode="auto",
    cooldown_seconds=0,
    parameters={"svc": "{{ labels.service }}", "fp": "{{ alert.fingerprint }}"},
    action_id=1,
    action_name="restart",
    action_kind="shell",
    action_argv=("systemctl", "restart", "{{ params.svc }}"),
    action_parameters=(ParameterSpec(name="svc"), ParameterSpec(name="fp")),
    action_timeout=60,
    action_idempotent=False,
)

ALERT = AlertView(
    fingerprint="abc123",
    source="alertmanager",
    status="firing",
    severity="critical",
    labels={"alertname": "Down", "job": "web", "service": "nginx"},
    annotations={"summary": "web is down"},
    starts_at=datetime(2026, 11, 22, 10, 0, tzinfo=UTC),
)


def test_matching_rule_has_no_reason() -> None:
    assert why_not(RULE, ALERT) is None


def test_disabled_rule() -> None:
    assert why_not(replace(RULE, enabled=False), ALERT) == "rule is disabled"


def test_status_mismatch() -> None:
    reason = why_not(RULE, replace(ALERT, status="resolved"))
    assert reason is not None
    assert "['firing']" in reason and "resolved" in reason


def test_rule_on_both_statuses() -> None:
    rule = replace(RULE, on_status=frozenset({"firing", "resolved"}))
    assert why_not(rule, replace(ALERT, status="resolved")) is None


def test_failing_matcher_names_matcher_and_actual_value() -> None:
    alert = replace(ALERT, labels={"alertname": "Down", "job": "database"})
    reason = why_not(RULE, alert)
    assert reason == "matcher job=~\"web|api\" failed: label job is 'database'"


def test_failing_matcher_on_absent_label() -> None:
    reason = why_not(RULE, replace(ALERT, labels={"job": "web"}))
    assert reason is not None
    assert 'alertname="Down"' in reason
    assert "absent" in reason


def test_disabled_is_reported_before_mismatches() -> None:
    rule = replace(RULE, enabled=False)
    assert why_not(rule, replace(ALERT, status="resolved", labels={})) == "rule is disabled"


def test_render_parameters() -> None:
    assert render_parameters(RULE, ALERT) == {"svc": "nginx", "fp": "abc123"}


def test_template_context_exposes_alert_fields() -> None:
    ctx = ALERT.template_context()
    assert ctx["alert"]["starts_at"] == "2026-11-22T10:00:00+00:00"
    assert ctx["alert"]["severity"] == "critical"
    assert ctx["annotations"] == {"summary": "web is down"}


def test_render_parameters_error_starts_with_parameter_name() -> None:
    alert = replace(ALERT, labels={"alertname": "Down", "job": "web"})
    with pytest.raises(TemplateFailed) as info:
        render_parameters(RULE, alert)
    message = str(info.value)
    assert message.startswith("parameters.svc: ")
    assert "service" in message


def test_render_parameters_sandbox_errors_are_named_too() -> None:
    rule = replace(RULE, parameters={"evil": "{{ labels.__class__.__mro__ }}"})
    with pytest.raises(TemplateFailed, match=r"^parameters\.evil: "):
        render_parameters(rule, ALERT)


def test_rule_set_candidates_are_a_superset_of_matches() -> None:
    pinned = replace(RULE, id=1, name="a")
    other = replace(RULE, id=2, name="b", matchers=parse_matchers(['alertname="Up"']))
    regex = replace(RULE, id=3, name="c", matchers=parse_matchers(['alertname=~"Do.*"']))
    unpinned = replace(RULE, id=4, name="d", matchers=())
    rule_set = RuleSet([pinned, other, regex, unpinned])
    assert len(rule_set) == 4
    assert [r.name for r in rule_set.candidates({"alertname": "Down"})] == ["a", "c", "d"]
    assert [r.name for r in rule_set.candidates({"alertname": "Up"})] == ["b", "c", "d"]
    assert [r.name for r in rule_set.candidates({"job": "x"})] == ["c", "d"]
    for labels in ({"alertname": "Down", "job": "web"}, {"alertname": "Up"}, {}):
        view = replace(ALERT, labels=labels)
        matching = {r.name for r in rule_set.rules if why_not(r, view) is None}
        assert matching <= {r.name for r in rule_set.candidates(labels)}
