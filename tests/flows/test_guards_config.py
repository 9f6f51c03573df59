"""Guards as config as code: bad settings name file, line and field; guards that cannot apply
are warned about; applying the same files twice changes nothing."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from sophrosyne.domains.rules import service as rules
from sophrosyne.flows.apply import apply
from sophrosyne.flows.configcode import check_dir, load_dir
from tests.flows.test_configcode import write

ACTIONS = """\
actions:
  - name: fix
    kind: ssh
    argv: [systemctl, restart, nginx]
    target_concurrency: 1
    rate_limit: {runs: 30, window_seconds: 3600}
  - name: local
    argv: [/bin/true]
"""

GOOD_RULES = """\
rules:
  - name: fix-host
    matchers: ['alertname="Down"']
    action: fix
    targets: {from_label: instance}
    guards:
      max_targets: 5
      max_targets_per_window: {targets: 20, window_seconds: 3600}
      rate_limit: {runs: 10, window_seconds: 600}
      target_cooldown_seconds: 300
      throttle: {accumulate_within: 300, threshold: 3, group_by: [instance]}
"""


def test_good_guards_validate_and_apply_idempotently(
    session: Session, now: datetime, tmp_path: Path
) -> None:
    write(tmp_path, "actions.yaml", ACTIONS)
    write(tmp_path, "rules.yaml", GOOD_RULES)
    _, report = check_dir(tmp_path)
    assert report.errors == [] and report.warnings == []
    summary = apply(session, load_dir(tmp_path), actor="test", now=now)
    assert summary.count("created") == 3
    [compiled] = [r for r in rules.compile_all(session) if r.name == "fix-host"]
    assert compiled.guards is not None and compiled.guards.max_targets == 5
    assert compiled.guards.throttle is not None and compiled.guards.throttle.threshold == 3
    assert compiled.action_rate_limit is not None and compiled.action_rate_limit.count == 30
    again = apply(session, load_dir(tmp_path), actor="test", now=now)
    assert again.changes == [] and len(again.unchanged) == 3


def test_bad_guard_settings_name_file_line_and_field(tmp_path: Path) -> None:
    write(tmp_path, "actions.yaml", ACTIONS)
    path = write(
        tmp_path,
        "rules.yaml",
        """\
        rules:
          - name: a
            action: fix
            targets: {from_label: instance}
            guards:
              max_targets: 0
              rate_limit: {runs: 10}
              throttle:
                once_within: 60
                once_after: 60
          - name: b
            action: fix
            targets: {from_label: instance}
            guards:
              target_cooldown_seconds: -1
              throttle: {accumulate_within: 60, group_by: [bad-label]}
              blast: 3
        """,
    )
    got = {(p.line, p.where): p.message for p in check_dir(tmp_path)[1].errors}
    assert str(path) in {p.file for p in check_dir(tmp_path)[1].errors}
    assert "greater than or equal to 1" in got[(6, "rules[0].guards.max_targets")]
    assert got[(7, "rules[0].guards.rate_limit.window_seconds")] == "Field required"
    assert (
        "exactly one of once_within, once_after or accumulate_within"
        in (got[(8, "rules[0].guards.throttle")])
    )
    assert "greater than or equal to 0" in got[(15, "rules[1].guards.target_cooldown_seconds")]
    assert "should match pattern" in got[(16, "rules[1].guards.throttle.group_by[0]")]
    assert "Extra inputs are not permitted" in got[(17, "rules[1].guards.blast")]


def test_bad_action_guard_settings(tmp_path: Path) -> None:
    write(
        tmp_path,
        "actions.yaml",
        """\
        actions:
          - name: fix
            argv: [/bin/true]
            target_concurrency: 2
            rate_limit: {runs: 0, window_seconds: 60}
        """,
    )
    got = {(p.line, p.where): p.message for p in check_dir(tmp_path)[1].errors}
    assert "less than or equal to 1" in got[(4, "actions[0].target_concurrency")]
    assert "greater than or equal to 1" in got[(5, "actions[0].rate_limit.runs")]


def test_target_guards_on_a_rule_without_targets_are_warned_about(tmp_path: Path) -> None:
    write(tmp_path, "actions.yaml", ACTIONS)
    write(
        tmp_path,
        "rules.yaml",
        """\
        rules:
          - name: local
            matchers: ['alertname="Down"']
            action: local
            guards:
              max_targets: 2
              target_cooldown_seconds: 60
              rate_limit: {runs: 1, window_seconds: 60}
        """,
    )
    report = check_dir(tmp_path)[1]
    assert report.ok
    assert [(p.line, p.where) for p in report.warnings] == [
        (6, "rules[0].guards.max_targets"),
        (7, "rules[0].guards.target_cooldown_seconds"),
    ]
    assert "has no effect: the rule selects no targets" in report.warnings[0].message
