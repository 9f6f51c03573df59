"""Guards on the ingest path: each one's hold-back, its recorded reason, and runs that wait
for confirmation (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from sophrosyne.domains.alerts import service as alerts
from sophrosyne.domains.alerts.schemas import IncomingAlert
from sophrosyne.domains.rules import service as rules
from sophrosyne.domains.rules.schemas import RuleSpec
from sophrosyne.domains.runs import service as runs
from sophrosyne.flows.ingest import IngestResult, ingest
from sophrosyne.flows.manual import run_action
from tests.factories import add_targets, incoming_alert, ssh_action


def _rule(session: Session, now: datetime, name: str = "fix-host", **spec: Any) -> None:
    """A rule answering ``alertname=Down`` with the ssh action ``fix`` on the alert's host."""
    body = {
        "name": name,
        "matchers": ['alertname="Down"'],
        "action": "fix",
        "targets": {"from_label": "instance"},
        **spec,
    }
    rules.create(session, RuleSpec.model_validate(body), now=now)
    session.commit()


def _setup(session: Session, now: datetime, hosts: int = 4, **spec: Any) -> None:
    add_targets(session, now, *(f"h{i}" for i in range(1, hosts + 1)), role="web")
    ssh_action(session, now, **spec.pop("action", {}))
    _rule(session, now, **spec)


class Send:
    """One rule cache across calls, as in a running process; commits like the API edge."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.cache = rules.RuleCache()

    def __call__(self, at: datetime, *batch: IncomingAlert) -> IngestResult:
        out = ingest(self.session, list(batch), actor="test", rules=self.cache, now=at)
        self.session.commit()
        return out


def _down(fp: str, host: str, status: str = "firing", **labels: str) -> IncomingAlert:
    return incoming_alert(fp, status, instance=f"{host}:9100", **labels)


def _decisions(session: Session, fp: str) -> list[tuple[str, str, int | None]]:
    [alert] = alerts.search(session, alerts.AlertFilter(fingerprint=fp))
    return [(d.outcome, d.detail, d.run_id) for d in alerts.decisions(session, alert.id)]


def _runs(session: Session) -> list[runs.Run]:
    return sorted(runs.search(session, limit=500), key=lambda r: r.id)


def test_rule_rate_limit_counts_runs_of_the_same_batch(session: Session, now: datetime) -> None:
    _setup(session, now, guards={"rate_limit": {"runs": 2, "window_seconds": 600}})
    send = Send(session)
    out = send(now, _down("a", "h1"), _down("b", "h2"), _down("c", "h3"))
    assert out.reply.runs_enqueued == 2
    [(outcome, detail, run_id)] = _decisions(session, "c")
    assert outcome == "rate_limited" and run_id is None
    assert "rate limit of the rule: 2 runs within the last 600 s; at most 2" in detail
    # Still inside the window: held back; once it has slid past both runs: runs again.
    assert send(now + timedelta(seconds=599), _down("d", "h4")).reply.runs_enqueued == 0
    assert _decisions(session, "d")[0][0] == "rate_limited"
    assert send(now + timedelta(seconds=601), _down("e", "h4")).reply.runs_enqueued == 1


def test_action_rate_limit_counts_every_run_of_the_action(session: Session, now: datetime) -> None:
    _setup(session, now, action={"rate_limit": {"runs": 2, "window_seconds": 300}})
    _rule(session, now, name="fix-host-too", matchers=['alertname="Down"', 'severity="page"'])
    run_action(session, "fix", {}, actor="someone", now=now, targets=["h1"])  # by hand
    session.commit()
    out = Send(session)(now, _down("a", "h2", severity="page"))
    # Two rules match; one run fits beside the manual one.
    assert out.reply.runs_enqueued == 1
    [(outcome, detail, _)] = _decisions(session, "a")
    assert outcome == "rate_limited"
    assert "rate limit of action fix: 2 runs within the last 300 s; at most 2" in detail


def test_target_cooldown_is_per_rule_and_target(session: Session, now: datetime) -> None:
    _setup(session, now, guards={"target_cooldown_seconds": 300})
    send = Send(session)
    assert send(now, _down("a", "h1")).reply.runs_enqueued == 1
    # Another alert about the same host within the cooldown: held back.
    out = send(now + timedelta(seconds=100), _down("b", "h1", job="other"), _down("c", "h2"))
    assert out.reply.runs_enqueued == 1
    [(outcome, detail, _)] = _decisions(session, "b")
    assert outcome == "target_cooldown"
    assert "the rule ran on h1 100 s ago; its target cooldown is 300 s" in detail
    # Two alerts on one host in one batch: the second sees the first.
    out = send(now + timedelta(seconds=200), _down("d", "h3"), _down("e", "h3", job="x"))
    assert out.reply.runs_enqueued == 1
    assert _decisions(session, "e")[0][0] == "target_cooldown"
    assert send(now + timedelta(seconds=301), _down("f", "h1", job="y")).reply.runs_enqueued == 1


def test_max_targets_makes_the_run_wait_for_confirmation(session: Session, now: datetime) -> None:
    _setup(
        session,
        now,
        targets={"selector": ['role="web"']},
        guards={"max_targets": 3},
    )
    out = Send(session)(now, incoming_alert("a"))
    assert (out.reply.runs_enqueued, out.reply.runs_awaiting_confirmation) == (0, 1)
    [run] = _runs(session)
    assert run.state == "awaiting_confirmation" and len(run.targets) == 4
    assert run.automatic is False
    [(outcome, detail, run_id)] = _decisions(session, "a")
    assert (outcome, run_id) == ("blast_radius", run.id)
    assert "the run addresses 4 targets; at most 3 run without confirmation" in detail
    [event] = runs.events(session, run.id)
    assert event.to_state == "awaiting_confirmation"
    assert event.reason.startswith("awaiting confirmation: blast radius")
    assert runs.claim(session, worker_id="w", now=now) is None


def test_max_targets_per_window_counts_distinct_targets(session: Session, now: datetime) -> None:
    _setup(session, now, guards={"max_targets_per_window": {"targets": 2, "window_seconds": 3600}})
    send = Send(session)
    out = send(now, _down("a", "h1"), _down("b", "h2"), _down("c", "h3"))
    assert (out.reply.runs_enqueued, out.reply.runs_awaiting_confirmation) == (2, 1)
    outcome, detail, run_id = _decisions(session, "c")[0]
    assert outcome == "blast_radius" and run_id is not None
    assert "would take the rule to 3 distinct targets within 3600 s; at most 2" in detail
    # A host it already touched does not widen the blast radius; the waiting h3 does not count.
    out = send(now + timedelta(seconds=60), _down("d", "h1", job="x"), _down("e", "h3", job="x"))
    assert (out.reply.runs_enqueued, out.reply.runs_awaiting_confirmation) == (1, 1)
    # An hour after the last one the window is empty again.
    later = now + timedelta(seconds=60 + 3601)
    assert send(later, _down("f", "h4"), _down("g", "h3", job="y")).reply.runs_enqueued == 2


def test_guards_leave_other_rules_alone(session: Session, now: datetime) -> None:
    _setup(session, now, guards={"rate_limit": {"runs": 1, "window_seconds": 600}})
    _rule(session, now, name="unguarded")
    out = Send(session)(now, _down("a", "h1"), _down("b", "h2"))
    assert out.reply.runs_enqueued == 3
    assert [o for o, _, _ in _decisions(session, "b")] == ["rate_limited"]
