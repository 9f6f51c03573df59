"""Applying config directories to the database (on SQLite and PostgreSQL)."""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.actions.schemas import ActionSpec
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.audit.models import AuditEntry
from sophrosyne.domains.rules import service as rules
from sophrosyne.domains.rules.schemas import RuleSpec
from sophrosyne.errors import Conflict
from sophrosyne.flows.apply import apply
from sophrosyne.flows.configcode import ConfigInvalid, load_dir

ACTIONS = """\
actions:
  - name: restart
    argv: ["/bin/echo", "restart", "{{ params.service }}"]
    parameters:
      - name: service
        pattern: "[a-z]+"
  - name: page
    argv: ["/bin/echo", "page"]
"""

RULES = """\
rules:
  - name: restart-on-down
    matchers: ['alertname="Down"', 'service!=""']
    action: restart
    parameters:
      service: "{{ labels.service }}"
  - name: page-on-disk
    matchers: ['alertname="DiskFull"']
    action: page
"""


def config(tmp_path: Path, actions_yaml: str = ACTIONS, rules_yaml: str = RULES) -> Path:
    directory = tmp_path / "config"
    directory.mkdir(exist_ok=True)
    (directory / "actions.yaml").write_text(textwrap.dedent(actions_yaml), encoding="utf-8")
    (directory / "rules.yaml").write_text(textwrap.dedent(rules_yaml), encoding="utf-8")
    return directory


def audit_actions(session: Session) -> list[tuple[str, str | None]]:
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id))
    return [(e.action, e.detail.get("name")) for e in entries]


def audit_count(session: Session) -> int:
    return int(session.scalar(select(func.count(AuditEntry.id))) or 0)


def test_apply_creates_file_managed_objects_and_audits(
    session: Session, now: datetime, tmp_path: Path
) -> None:
    summary = apply(session, load_dir(config(tmp_path)), actor="cli:alice", now=now)
    session.commit()
    assert [str(c) for c in summary.changes] == [
        "created action restart",
        "created action page",
        "created rule restart-on-down",
        "created rule page-on-disk",
    ]
    assert summary.totals() == "4 created, 0 updated, 0 deleted, 0 unchanged"
    restart = actions.get_by_name(session, "restart")
    assert (restart.managed_by, restart.source_file) == ("file", "actions.yaml")
    rule = rules.get_by_name(session, "restart-on-down")
    assert (rule.managed_by, rule.source_file, rule.action_id) == ("file", "rules.yaml", restart.id)
    assert rules.to_out(session, rule).parameters == {"service": "{{ labels.service }}"}
    entries = audit.search(session, action="rule.created")
    assert {e.object_id for e in entries} == {
        str(rule.id),
        str(rules.get_by_name(session, "page-on-disk").id),
    }
    entry = next(e for e in entries if e.object_id == str(rule.id))
    assert (entry.actor, entry.object_type, entry.at) == ("cli:alice", "rule", now)
    assert entry.detail["spec"]["action"] == "restart"
    assert entry.detail["managed_by"] == "file" and entry.detail["source_file"] == "rules.yaml"
    assert len(audit.search(session, action="action.created")) == 2
    # The compiled rule set sees what was applied.
    assert [r.name for r in rules.compile_all(session)] == ["page-on-disk", "restart-on-down"]


def test_reapplying_the_same_files_touches_nothing(
    session: Session, now: datetime, tmp_path: Path
) -> None:
    directory = config(tmp_path)
    apply(session, load_dir(directory), actor="t", now=now)
    session.commit()
    before = audit_count(session)
    later = now + timedelta(hours=1)
    summary = apply(session, load_dir(directory), actor="t", now=later)
    session.commit()
    assert summary.changes == []
    assert sorted(summary.unchanged) == [
        ("action", "page"),
        ("action", "restart"),
        ("rule", "page-on-disk"),
        ("rule", "restart-on-down"),
    ]
    # The rules cache keys on updated_at: an unchanged object must keep it.
    assert {a.updated_at for a in actions.list_all(session)} == {now}
    assert {r.updated_at for r in rules.list_all(session)} == {now}
    assert audit_count(session) == before


def test_apply_updates_only_what_changed(session: Session, now: datetime, tmp_path: Path) -> None:
    apply(session, load_dir(config(tmp_path)), actor="t", now=now)
    session.commit()
    later = now + timedelta(hours=1)
    changed_rules = RULES.replace("action: page\n", "action: page\n    mode: confirm\n")
    summary = apply(
        session, load_dir(config(tmp_path, rules_yaml=changed_rules)), actor="bob", now=later
    )
    session.commit()
    assert [str(c) for c in summary.changes] == ["updated rule page-on-disk (mode)"]
    assert rules.get_by_name(session, "page-on-disk").mode == "confirm"
    assert rules.get_by_name(session, "page-on-disk").updated_at == later
    assert rules.get_by_name(session, "restart-on-down").updated_at == now
    assert {a.updated_at for a in actions.list_all(session)} == {now}
    (entry,) = audit.search(session, action="rule.updated")
    assert entry.actor == "bob"
    assert entry.detail["changes"] == {"mode": ["auto", "confirm"]}


def test_moving_an_object_to_another_file_updates_its_source(
    session: Session, now: datetime, tmp_path: Path
) -> None:
    directory = config(tmp_path)
    apply(session, load_dir(directory), actor="t", now=now)
    session.commit()
    (directory / "rules.yaml").rename(directory / "more-rules.yaml")
    summary = apply(session, load_dir(directory), actor="t", now=now)
    assert [str(c) for c in summary.changes] == [
        "updated rule restart-on-down (source_file)",
        "updated rule page-on-disk (source_file)",
    ]
    assert rules.get_by_name(session, "page-on-disk").source_file == "more-rules.yaml"


def test_apply_deletes_file_objects_no_longer_in_the_files(
    session: Session, now: datetime, tmp_path: Path
) -> None:
    apply(session, load_dir(config(tmp_path)), actor="t", now=now)
    session.commit()
    # The page action and its rule go away together: the rule must go first (RESTRICT key).
    only_restart = ACTIONS[: ACTIONS.index("  - name: page")]
    fewer_rules = RULES[: RULES.index("  - name: page-on-disk")]
    summary = apply(
        session, load_dir(config(tmp_path, only_restart, fewer_rules)), actor="t", now=now
    )
    session.commit()
    assert [str(c) for c in summary.changes] == ["deleted rule page-on-disk", "deleted action page"]
    assert [a.name for a in actions.list_all(session)] == ["restart"]
    assert [r.name for r in rules.list_all(session)] == ["restart-on-down"]
    assert [e.detail["name"] for e in audit.search(session, action="rule.deleted")] == [
        "page-on-disk"
    ]
    assert len(audit.search(session, action="action.deleted")) == 1


def test_a_rule_may_move_to_another_action_while_the_old_one_is_deleted(
    session: Session, now: datetime, tmp_path: Path
) -> None:
    apply(session, load_dir(config(tmp_path)), actor="t", now=now)
    session.commit()
    only_restart = ACTIONS[: ACTIONS.index("  - name: page")]
    moved = RULES.replace("action: page", "action: restart\n    parameters: {service: disk}")
    summary = apply(session, load_dir(config(tmp_path, only_restart, moved)), actor="t", now=now)
    session.commit()
    assert [str(c) for c in summary.changes] == [
        "updated rule page-on-disk (action, parameters)",
        "deleted action page",
    ]


def test_api_managed_objects_are_left_alone_and_usable(
    session: Session, now: datetime, tmp_path: Path
) -> None:
    api_action = ActionSpec(name="notify", argv=["/bin/echo", "notify"])
    actions.create(session, api_action, now=now)
    rules.create(session, RuleSpec(name="api-rule", action="notify"), now=now)
    uses_api_action = (
        RULES + "  - name: notify-on-x\n    matchers: ['x=\"1\"']\n    action: notify\n"
    )
    apply(session, load_dir(config(tmp_path, rules_yaml=uses_api_action)), actor="t", now=now)
    session.commit()
    rule = rules.get_by_name(session, "notify-on-x")
    assert rule.action_id == actions.get_by_name(session, "notify").id
    # Applying files without them deletes file objects only.
    summary = apply(
        session, load_dir(config(tmp_path, "actions: []\n", "rules: []\n")), actor="t", now=now
    )
    session.commit()
    assert summary.count("deleted") == 5
    assert [a.name for a in actions.list_all(session)] == ["notify"]
    assert [r.name for r in rules.list_all(session)] == ["api-rule"]


def test_name_clash_with_an_api_object_is_refused_and_changes_nothing(
    session: Session, now: datetime, tmp_path: Path
) -> None:
    actions.create(session, ActionSpec(name="page", argv=["/bin/echo", "api page"]), now=now)
    session.commit()
    with pytest.raises(Conflict) as caught:
        apply(session, load_dir(config(tmp_path)), actor="t", now=now)
    assert "action 'page' is already managed by api" in str(caught.value)
    assert "actions.yaml:7" in str(caught.value)
    assert [a.name for a in actions.list_all(session)] == ["page"]
    assert rules.list_all(session) == []
    assert audit_count(session) == 0


def test_rule_name_clash_is_refused(session: Session, now: datetime, tmp_path: Path) -> None:
    actions.create(session, ActionSpec(name="notify", argv=["/bin/echo"]), now=now)
    rules.create(session, RuleSpec(name="page-on-disk", action="notify"), now=now)
    with pytest.raises(Conflict, match="rule 'page-on-disk' is already managed by api"):
        apply(session, load_dir(config(tmp_path)), actor="t", now=now)
    assert [a.name for a in actions.list_all(session)] == ["notify"]


def test_removing_an_action_an_api_rule_uses_is_refused(
    session: Session, now: datetime, tmp_path: Path
) -> None:
    apply(session, load_dir(config(tmp_path)), actor="t", now=now)
    rules.create(session, RuleSpec(name="api-rule", action="page"), now=now)
    session.commit()
    before = audit_count(session)
    only_restart = ACTIONS[: ACTIONS.index("  - name: page")]
    fewer_rules = RULES[: RULES.index("  - name: page-on-disk")]
    with pytest.raises(Conflict, match="rule 'api-rule' \\(not file-managed\\) uses it"):
        apply(session, load_dir(config(tmp_path, only_restart, fewer_rules)), actor="t", now=now)
    assert len(rules.list_all(session)) == 3 and len(actions.list_all(session)) == 2
    assert audit_count(session) == before


def test_invalid_files_change_nothing(session: Session, now: datetime, tmp_path: Path) -> None:
    broken = RULES.replace("action: page", "action: nowhere")
    with pytest.raises(ConfigInvalid) as caught:
        apply(session, load_dir(config(tmp_path, rules_yaml=broken)), actor="t", now=now)
    (problem,) = caught.value.report.errors
    assert (problem.line, problem.where) == (9, "rules[1].action")
    assert "rules.yaml:9" in str(caught.value)
    assert actions.list_all(session) == [] and audit_count(session) == 0


def test_a_file_rule_cannot_use_a_file_action_being_removed(
    session: Session, now: datetime, tmp_path: Path
) -> None:
    apply(session, load_dir(config(tmp_path)), actor="t", now=now)
    session.commit()
    only_restart = ACTIONS[: ACTIONS.index("  - name: page")]
    with pytest.raises(ConfigInvalid, match="no action named 'page'"):
        apply(session, load_dir(config(tmp_path, actions_yaml=only_restart)), actor="t", now=now)
