"""Dry runs: which rules match an alert payload, the exact argv, and why not."""

from __future__ import annotations

import copy
import json
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sophrosyne.domains.alerts.models import Alert
from sophrosyne.domains.rules import service as rules_service
from sophrosyne.domains.rules.evaluate import CompiledRule
from sophrosyne.domains.runs.models import Run
from sophrosyne.errors import ValidationFailed
from sophrosyne.flows import dryrun
from sophrosyne.flows.apply import apply
from sophrosyne.flows.configcode import check_dir, load_dir

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "demo"
WEBHOOK = ROOT / "tests" / "fixtures" / "alertmanager" / "alertmanager-webhook.json"

CONFIG = """\
actions:
  - name: say
    argv: ["/bin/echo", "service:", "{{ params.service }}", "{{ params.count }}"]
    parameters:
      - {name: service}
      - {name: count, type: int, default: 1}
rules:
  - name: say-on-errors
    matchers: ['alertname="HighErrorRate"', 'service!=""']
    action: say
    parameters: {service: "{{ labels.service }}"}
  - name: confirm-on-errors
    matchers: ['alertname="HighErrorRate"', 'service!=""']
    action: say
    mode: confirm
    parameters: {service: "{{ labels.service }}", count: "{{ labels.count }}"}
  - name: say-on-down
    matchers: ['alertname="InstanceDown"']
    action: say
    parameters: {service: "down"}
  - name: say-when-resolved
    on_status: [resolved]
    matchers: ['alertname="HighErrorRate"']
    action: say
    parameters: {service: "x"}
  - name: switched-off
    enabled: false
    action: say
    matchers: ['alertname="HighErrorRate"']
    parameters: {service: "x"}
"""


def compiled(tmp_path: Path, text: str = CONFIG) -> list[CompiledRule]:
    (tmp_path / "config.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    bundle, report = check_dir(tmp_path)
    assert report.ok, [str(p) for p in report.errors]
    return dryrun.compile_bundle(bundle)


def webhook() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(WEBHOOK.read_text(encoding="utf-8"))
    return data


def by_rule(result: dryrun.AlertResult) -> dict[str, dryrun.RuleResult]:
    return {r.rule: r for r in result.rules}


def test_demo_config_on_the_alertmanager_fixture() -> None:
    bundle, _ = check_dir(DEMO)
    report = dryrun.test_alerts(webhook(), dryrun.compile_bundle(bundle))
    assert report.payload_type == "alertmanager"
    assert [a.fingerprint for a in report.alerts] == ["a935abeedce20cc4", "3778d00114beb8b9"]
    verdicts = by_rule(report.alerts[0])
    assert {name: r.outcome for name, r in verdicts.items()} == {
        "restart-on-errors": "match",
        "disk-report-on-pressure": "no_match",
        "clean-tmp-on-pressure": "no_match",
    }
    first = verdicts["restart-on-errors"]
    assert (first.rule, first.outcome, first.action, first.mode, first.state) == (
        "restart-on-errors",
        "match",
        "restart-service",
        "auto",
        "queued",
    )
    assert first.argv == [
        "/bin/echo",
        "restart",
        "service=checkout",
        "instance=10.0.0.1:8080",
        "severity=critical",
        "grace=10s",
    ]
    assert first.params == {
        "service": "checkout",
        "instance": "10.0.0.1:8080",
        "severity": "critical",
        "grace_seconds": 10,
    }


def test_every_rule_says_match_or_why_not(tmp_path: Path) -> None:
    report = dryrun.test_alerts(webhook(), compiled(tmp_path))
    assert len(report.alerts) == 2
    results = by_rule(report.alerts[1])
    say = results["say-on-errors"]
    assert say.outcome == "match" and say.state == "queued"
    assert say.argv == ["/bin/echo", "service:", "checkout", "1"]
    # The alert has no ``count`` label: the run would fail exactly like a real one.
    confirm = results["confirm-on-errors"]
    assert (confirm.outcome, confirm.error) == ("error", "template_error")
    assert confirm.reason.startswith("parameters.count: undefined")
    assert confirm.argv is None
    assert results["say-on-down"].outcome == "no_match"
    assert results["say-on-down"].reason == (
        "matcher alertname=\"InstanceDown\" failed: label alertname is 'HighErrorRate'"
    )
    assert results["say-when-resolved"].reason == "rule reacts to ['resolved'], alert is firing"
    assert results["switched-off"].reason == "rule is disabled"
    assert [a.rule for a in report.alerts[1].matched] == ["say-on-errors"]


def test_confirm_mode_and_invalid_parameters(tmp_path: Path) -> None:
    rules = compiled(tmp_path)
    alert = {"labels": {"alertname": "HighErrorRate", "service": "web", "count": "3"}}
    confirm = by_rule(dryrun.test_alerts(alert, rules).alerts[0])["confirm-on-errors"]
    assert (confirm.outcome, confirm.state) == ("match", "awaiting_confirmation")
    assert confirm.argv == ["/bin/echo", "service:", "web", "3"]
    alert["labels"]["count"] = "many"
    bad = by_rule(dryrun.test_alerts(alert, rules).alerts[0])["confirm-on-errors"]
    assert (bad.outcome, bad.error) == ("error", "invalid_parameters")
    assert "params.count: must be an integer" in bad.reason


@pytest.mark.parametrize("value", ["; rm -rf /", "$(id)", "`id`", "a b --force", "x\ny"])
def test_injection_like_label_values_stay_one_literal_argument(tmp_path: Path, value: str) -> None:
    alert = {"labels": {"alertname": "HighErrorRate", "service": value}}
    say = by_rule(dryrun.test_alerts(alert, compiled(tmp_path)).alerts[0])["say-on-errors"]
    assert say.outcome == "match"
    assert say.argv == ["/bin/echo", "service:", value, "1"]


def test_demo_action_refuses_injection_like_values_by_pattern() -> None:
    bundle, _ = check_dir(DEMO)
    payload = webhook()
    payload["alerts"][0]["labels"]["service"] = "; rm -rf /"
    payload["alerts"][1]["labels"]["service"] = "$(id)"
    report = dryrun.test_alerts(payload, dryrun.compile_bundle(bundle))
    for alert in report.alerts:
        result = by_rule(alert)["restart-on-errors"]
        assert (result.outcome, result.error, result.argv) == ("error", "invalid_parameters", None)
        assert "params.service: does not match the pattern" in result.reason


def test_generic_alerts_one_or_many(tmp_path: Path) -> None:
    rules = compiled(tmp_path)
    one = dryrun.test_alerts({"labels": {"alertname": "InstanceDown"}}, rules)
    assert one.payload_type == "generic" and len(one.alerts) == 1
    assert by_rule(one.alerts[0])["say-on-down"].argv == ["/bin/echo", "service:", "down", "1"]
    many = dryrun.test_alerts(
        [{"labels": {"alertname": "A"}}, {"labels": {"alertname": "B"}, "status": "resolved"}],
        rules,
    )
    assert [a.status for a in many.alerts] == ["firing", "resolved"]
    assert many.to_dict()["alerts"][1]["labels"] == {"alertname": "B"}


@pytest.mark.parametrize(
    ("payload", "wheres"),
    [
        ({"version": "4", "alerts": [{"status": "firing"}]}, {"groupKey", "alerts[0].labels"}),
        ([{"labels": {"a": "b"}}, {"labels": {}}], {"[1].labels"}),
        ({"labels": {"a": "b"}, "status": "burning"}, {"status"}),
        ([], {"(root)"}),
        ("just a string", {"(root)"}),
    ],
)
def test_invalid_payloads_name_the_fields(payload: Any, wheres: set[str]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        dryrun.test_alerts(payload, [])
    assert wheres <= {e.where() for e in caught.value.errors}


def test_compile_bundle_skips_rules_without_action(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text("rules:\n  - {name: r, action: missing}\n", encoding="utf-8")
    assert dryrun.compile_bundle(load_dir(tmp_path)) == []


def test_dry_run_from_the_database_writes_nothing(session: Session, now: datetime) -> None:
    apply(session, load_dir(DEMO), actor="t", now=now)
    session.commit()
    from_db = rules_service.compile_all(session)
    report = dryrun.test_alerts(webhook(), from_db)
    from_files = dryrun.test_alerts(webhook(), dryrun.compile_bundle(load_dir(DEMO)))
    assert report.to_dict() == from_files.to_dict()
    assert session.scalar(select(func.count(Alert.id))) == 0
    assert session.scalar(select(func.count(Run.id))) == 0


def test_report_is_json_serialisable(tmp_path: Path) -> None:
    payload = copy.deepcopy(webhook())
    text = json.dumps(dryrun.test_alerts(payload, compiled(tmp_path)).to_dict())
    assert '"outcome": "match"' in text


def test_a_run_beyond_max_targets_would_wait_for_confirmation(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(
        textwrap.dedent(
            """\
            actions:
              - {name: fix, kind: ssh, argv: [uptime]}
            targets:
              - {name: web-1, address: 10.0.0.1, labels: {role: web}}
              - {name: web-2, address: 10.0.0.2, labels: {role: web}}
            rules:
              - name: fix-web
                matchers: ['alertname="HighErrorRate"']
                action: fix
                targets: {selector: ['role="web"']}
                guards: {max_targets: 1, rate_limit: {runs: 1, window_seconds: 60}}
            """
        ),
        encoding="utf-8",
    )
    bundle = load_dir(tmp_path)
    report = dryrun.test_alerts(
        webhook(), dryrun.compile_bundle(bundle), dryrun.bundle_inventory(bundle)
    )
    [result] = report.alerts[0].rules
    assert (result.outcome, result.state) == ("match", "awaiting_confirmation")
    assert result.targets == ["web-1", "web-2"]
    assert "blast radius: the run addresses 2 targets; at most 1" in result.reason
