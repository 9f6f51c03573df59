"""``incident_rules:`` in config as code: validated, applied in order, audited once."""

from __future__ import annotations

import textwrap
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.incidents import rules as incident_rules
from sophrosyne.flows.apply import apply
from sophrosyne.flows.configcode import ConfigInvalid, check_dir, load_dir

RULES = """
incident_rules:
  - name: databases
    matchers: ['team="db"']
    group_by: [team, cluster]
    window_seconds: 1800
  - name: everything-else
    group_by: [alertname]
    auto_resolve: false
"""


def _dir(tmp_path: Path, text: str) -> Path:
    (tmp_path / "incidents.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def test_rules_are_applied_in_order_and_reapplying_changes_nothing(
    session: Session, now: datetime, tmp_path: Path
) -> None:
    bundle = load_dir(_dir(tmp_path, RULES))
    summary = apply(session, bundle, actor="cli", now=now)
    assert [str(c) for c in summary.changes] == ["updated incident_rules incident_rules"]
    grouping = incident_rules.load(session)
    assert [r.name for r in grouping.rules] == ["databases", "everything-else"]
    assert grouping.rule_for({"team": "db"}).window_seconds == 1800
    assert grouping.rule_for({"team": "web"}).auto_resolve is False
    assert apply(session, load_dir(tmp_path), actor="cli", now=now).changes == []
    entries = audit.search(session, action="incident_rules.updated")
    assert len(entries) == 1 and entries[0].detail["after"][0]["name"] == "databases"


def test_bad_rules_are_reported_with_their_place(tmp_path: Path) -> None:
    _, report = check_dir(
        _dir(
            tmp_path,
            """
            incident_rules:
              - name: a
                matchers: ['team=~"("']
                group_by: [team]
              - name: a
                group_by: []
            """,
        )
    )
    where = {(p.loc, p.line) for p in report.errors}
    assert any(loc[:3] == ("incident_rules", 0, "matchers") for loc, _ in where)
    assert any(loc[:3] == ("incident_rules", 1, "group_by") for loc, _ in where)


def test_apply_refuses_invalid_rules(session: Session, now: datetime, tmp_path: Path) -> None:
    bundle = load_dir(_dir(tmp_path, "incident_rules:\n  - name: x\n    window_seconds: 0\n"))
    with pytest.raises(ConfigInvalid):
        apply(session, bundle, actor="cli", now=now)
