"""The candidate sources inhibition fetches (``inhibitions.candidate_sources``): narrowed in
SQL, yet never missing a source that inhibits, whatever the matchers and ``equal`` labels."""

from __future__ import annotations

import random
import textwrap
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from sophrosyne.domains.alerts import service as alerts
from sophrosyne.domains.alerts.models import Alert
from sophrosyne.domains.inhibitions import service as inhibitions
from sophrosyne.domains.inhibitions.evaluate import CompiledInhibition
from sophrosyne.domains.rules.matching import parse_matchers
from sophrosyne.flows.apply import apply
from sophrosyne.flows.configcode import load_dir
from tests.db.test_respond import Ingester, _alert_id, _in, _setup


def _apply(session: Session, now: datetime, tmp_path: Path, text: str) -> None:
    (tmp_path / "noise.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    apply(session, load_dir(tmp_path), actor="cli", now=now)
    session.commit()


def _outcomes(session: Session, fp: str) -> list[str]:
    return [d.outcome for d in alerts.decisions(session, _alert_id(session, fp))]


def test_a_source_matched_only_by_a_regex_inhibits(
    session: Session, now: datetime, tmp_path: Path
) -> None:
    _setup(session, now)
    _apply(
        session,
        now,
        tmp_path,
        """
        inhibit_rules:
          - source_matchers: ['alertname=~"Node(Down|Gone)"', 'severity!="info"']
            target_matchers: ['alertname="Down"']
            equal: [node]
        """,
    )
    send = Ingester(session)
    send(now, _in(fp="src", alertname="NodeGone", node="n1", severity="page"))
    send(now, _in(fp="info", alertname="NodeDown", node="n2", severity="info"))
    assert send(now, _in(fp="t1", node="n1")).reply.runs_enqueued == 0
    assert _outcomes(session, "t1") == ["inhibited"]
    # The only NodeDown on n2 fails ``severity!="info"``.
    assert send(now, _in(fp="t2", node="n2")).reply.runs_enqueued == 1


def test_equal_labels_missing_on_both_sides_count_as_equal(
    session: Session, now: datetime, tmp_path: Path
) -> None:
    _setup(session, now)
    _apply(
        session,
        now,
        tmp_path,
        """
        inhibit_rules:
          - source_matchers: ['alertname="NodeDown"']
            target_matchers: ['alertname="Down"']
            equal: [rack, node]
        """,
    )
    send = Ingester(session)
    send(now, _in(fp="src", alertname="NodeDown", node="n1"))  # no rack
    send(now, _in(fp="src-empty", alertname="NodeDown", node="n3", rack=""))
    # No rack on either side: equal.
    assert send(now, _in(fp="t1", node="n1")).reply.runs_enqueued == 0
    # A rack on the target only: not equal.
    assert send(now, _in(fp="t2", node="n1", rack="r1")).reply.runs_enqueued == 1
    # An empty rack is the same as none.
    assert send(now, _in(fp="t3", node="n3")).reply.runs_enqueued == 0
    assert _outcomes(session, "t1") == ["inhibited"]
    assert _outcomes(session, "t3") == ["inhibited"]


def test_the_batch_s_own_alerts_are_sources_for_several_rules(
    session: Session, now: datetime, tmp_path: Path
) -> None:
    _setup(session, now)
    _apply(
        session,
        now,
        tmp_path,
        """
        inhibit_rules:
          - source_matchers: ['alertname="NodeDown"']
            target_matchers: ['alertname="Down"', 'tier="a"']
            equal: [node]
          - source_matchers: ['severity="critical"']
            target_matchers: ['alertname="Down"', 'tier="b"']
            equal: [zone]
        """,
    )
    out = Ingester(session)(
        now,
        _in(fp="src-a", alertname="NodeDown", node="n1"),
        _in(fp="src-b", alertname="ZoneDown", severity="critical", zone="z1"),
        _in(fp="ta", node="n1", tier="a"),
        _in(fp="tb", zone="z1", tier="b"),
        _in(fp="tc", zone="z2", tier="b"),
    )
    assert out.reply.runs_enqueued == 1
    assert _outcomes(session, "ta") == ["inhibited"]
    assert _outcomes(session, "tb") == ["inhibited"]
    assert "inhibited" not in _outcomes(session, "tc")


def test_many_unrelated_firing_alerts_change_nothing(
    session: Session, now: datetime, tmp_path: Path
) -> None:
    _setup(session, now)
    _apply(
        session,
        now,
        tmp_path,
        """
        inhibit_rules:
          - source_matchers: ['alertname="NodeDown"']
            target_matchers: ['alertname="Down"']
            equal: [node]
        """,
    )
    send = Ingester(session)
    noise = [_in(fp=f"other-{i}", alertname=f"Other{i % 7}", node="n1") for i in range(150)]
    noise += [_in(fp=f"nd-{i}", alertname="NodeDown", node=f"x{i}") for i in range(150)]
    send(now, *noise)
    send(now, _in(fp="src", alertname="NodeDown", node="n1"))
    assert send(now, _in(fp="t1", node="n1")).reply.runs_enqueued == 0
    [decision] = alerts.decisions(session, _alert_id(session, "t1"))
    assert decision.detail.startswith(f"inhibited by alert {_alert_id(session, 'src')} (NodeDown)")
    assert send(now, _in(fp="t2", node="n2")).reply.runs_enqueued == 1
    # Narrowed in SQL: of 300 other firing alerts, none is a candidate.
    [rule] = inhibitions.compile_all(session)
    candidates = inhibitions.candidate_sources(session, [(rule, [{"node": "n1"}])])
    assert [c.id for c in candidates] == [_alert_id(session, "src")]


def test_candidates_hold_every_possible_source(
    session: Session, now: datetime, tmp_path: Path
) -> None:
    """Random alerts and rules: every firing alert that matches a rule's source side with a
    target's ``equal`` values is among the candidates (which are all firing)."""
    rng = random.Random(6)
    values = ["", "a", "b", "c"]

    def labels() -> dict[str, str]:
        out = {"alertname": rng.choice(["A", "B", "C"])}
        for name in ("x", "y", "z"):
            value = rng.choice(values)
            if value or rng.random() < 0.5:  # an empty value, or no label at all
                out[name] = value
        return out

    send = Ingester(session)
    statuses = ["firing", "resolved"]
    send(now, *(_in(rng.choice(statuses), fp=f"f{i}", **labels()) for i in range(120)))
    everything = list(session.execute(select(Alert.id, Alert.labels, Alert.status)))
    firing = {i: lab for i, lab, status in everything if status == "firing"}
    matchers = ['alertname="A"', 'alertname=~"B|C"', 'x="a"', 'y!="b"', 'z=""', 'x!~"a|b"']
    for _ in range(60):
        rules = [
            CompiledInhibition(
                position=p,
                source=parse_matchers(rng.sample(matchers, rng.randint(1, 3))),
                target=parse_matchers(['alertname="A"']),
                equal=tuple(rng.sample(["x", "y", "z"], rng.randint(0, 2))),
            )
            for p in range(rng.randint(1, 3))
        ]
        wanted = [(r, [labels() for _ in range(rng.randint(1, 4))]) for r in rules]
        candidates = inhibitions.candidate_sources(session, wanted)
        got = [c.id for c in candidates]
        assert got == sorted(got) and set(got) <= set(firing)
        for rule, targets in wanted:
            for target in targets:
                key = [target.get(n, "") for n in rule.equal]
                needed = {
                    i
                    for i, lab in firing.items()
                    if rule.is_source(lab) and [lab.get(n, "") for n in rule.equal] == key
                }
                assert needed <= set(got), (rule, target)
