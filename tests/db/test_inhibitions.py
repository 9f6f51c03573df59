"""Inhibition rules from ``inhibit_rules:``: applied, listed, and their effect on ingest."""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from sophrosyne.domains.alerts import service as alerts
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.inhibitions import service as inhibitions
from sophrosyne.domains.runs import service as runs
from sophrosyne.flows.apply import apply
from sophrosyne.flows.configcode import check_dir, load_dir
from tests.db.test_respond import Ingester, _alert_id, _in, _setup

RULES = """
inhibit_rules:
  - source_matchers: ['alertname="NodeDown"']
    target_matchers: ['alertname="Down"']
    equal: [node]
"""


def _apply(session: Session, now: datetime, tmp_path: Path, text: str = RULES) -> None:
    (tmp_path / "noise.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    apply(session, load_dir(tmp_path), actor="cli", now=now)
    session.commit()


def test_rules_are_applied_once_and_audited(
    session: Session, now: datetime, tmp_path: Path
) -> None:
    _apply(session, now, tmp_path)
    _apply(session, now, tmp_path)
    [rule] = inhibitions.list_all(session)
    assert inhibitions.to_out(rule).equal == ["node"]
    assert len(audit.search(session, action="inhibit_rules.updated")) == 1


def test_bad_matcher_is_reported_with_its_place(tmp_path: Path) -> None:
    (tmp_path / "noise.yaml").write_text(
        "inhibit_rules:\n  - source_matchers: ['bad matcher']\n    target_matchers: ['a=\"b\"']\n",
        encoding="utf-8",
    )
    _, report = check_dir(tmp_path)
    assert [p.loc[:3] for p in report.errors] == [("inhibit_rules", 0, "source_matchers")]


def test_target_is_inhibited_while_a_source_with_equal_labels_fires(
    session: Session, now: datetime, tmp_path: Path
) -> None:
    _setup(session, now)
    _apply(session, now, tmp_path)
    send = Ingester(session)
    send(now, _in(fp="src", alertname="NodeDown", node="n1"))
    out = send(now, _in(fp="t1", node="n1"))
    assert out.reply.runs_enqueued == 0
    [decision] = alerts.decisions(session, _alert_id(session, "t1"))
    assert decision.outcome == "inhibited"
    source_id = _alert_id(session, "src")
    assert (
        decision.detail
        == f"inhibited by alert {source_id} (NodeDown) firing, inhibit rule 0, equal on node"
    )
    # Labels differ: not inhibited.
    assert send(now, _in(fp="t2", node="n2")).reply.runs_enqueued == 1
    # The source resolved: no longer inhibited.
    send(now + timedelta(minutes=1), _in("resolved", fp="src", alertname="NodeDown", node="n1"))
    assert send(now + timedelta(minutes=2), _in(fp="t3", node="n1")).reply.runs_enqueued == 1
    assert [r.alert_id for r in runs.search(session)].count(_alert_id(session, "t1")) == 0


def test_source_and_target_in_one_batch(session: Session, now: datetime, tmp_path: Path) -> None:
    _setup(session, now)
    _apply(session, now, tmp_path)
    out = Ingester(session)(
        now, _in(fp="src", alertname="NodeDown", node="n1"), _in(fp="t1", node="n1")
    )
    assert out.reply.runs_enqueued == 0
    assert [d.outcome for d in alerts.decisions(session, _alert_id(session, "t1"))] == ["inhibited"]
