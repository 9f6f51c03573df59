"""Ingest → respond: which rules lead to runs, and the recorded reasons when they don't."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.actions.schemas import ActionSpec
from sophrosyne.domains.alerts import service as alerts
from sophrosyne.domains.alerts.schemas import IncomingAlert
from sophrosyne.domains.rules import service as rules
from sophrosyne.domains.rules.schemas import RuleSpec
from sophrosyne.domains.runs import service as runs
from sophrosyne.flows.ingest import IngestResult, ingest


def _in(status: str = "firing", fp: str = "fp1", **labels: str) -> IncomingAlert:
    return IncomingAlert(
        source="alertmanager",
        fingerprint=fp,
        status=status,
        labels={"alertname": "Down", "service": "web", **labels},
        annotations={},
        severity=None,
        starts_at=None,
        ends_at=None,
        generator_url=None,
    )


def _setup(session: Session, now: datetime, **rule: Any) -> int:
    """The action ``restart`` (svc must be lowercase letters) and one rule on it."""
    if actions.find_by_name(session, "restart") is None:
        actions.create(
            session,
            ActionSpec(
                name="restart",
                argv=["systemctl", "restart", "{{ params.svc }}"],
                parameters=[{"name": "svc", "pattern": "[a-z]+"}],
            ),
            now=now,
        )
    spec = {
        "name": "restart-down",
        "matchers": ['alertname="Down"'],
        "action": "restart",
        "parameters": {"svc": "{{ labels.service }}"},
        **rule,
    }
    created = rules.create(session, RuleSpec.model_validate(spec), now=now)
    session.commit()
    return created.id


class Ingester:
    """One rule cache across calls, as in a running process; commits like the API edge."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.cache = rules.RuleCache()

    def __call__(self, at: datetime, *batch: IncomingAlert) -> IngestResult:
        out = ingest(self.session, list(batch), actor="test", rules=self.cache, now=at)
        self.session.commit()
        return out


def _alert_id(session: Session, fp: str = "fp1") -> int:
    [alert] = alerts.search(session, alerts.AlertFilter(fingerprint=fp))
    return alert.id


def _decisions(session: Session, fp: str = "fp1") -> list[tuple[str, str]]:
    return [(d.outcome, d.detail) for d in alerts.decisions(session, _alert_id(session, fp))]


def test_matching_rule_enqueues_a_rendered_run(session: Session, now: datetime) -> None:
    rule_id = _setup(session, now)
    out = Ingester(session)(now, _in())
    assert out.reply.runs_enqueued == 1
    [run] = runs.search(session)
    assert run.state == "queued"
    assert run.argv == ["systemctl", "restart", "web"]
    assert run.params == {"svc": "web"}
    assert (run.rule_id, run.alert_id, run.alert_episode) == (rule_id, _alert_id(session), 1)
    assert run.requested_by == "rule:restart-down"
    # Decisions say why a matching rule did NOT run; the run itself records that it did.
    assert _decisions(session) == []


def test_same_episode_resent_five_times_gives_one_run(session: Session, now: datetime) -> None:
    _setup(session, now)
    send = Ingester(session)
    replies = [send(now + timedelta(seconds=i), _in()).reply for i in range(5)]
    assert [r.runs_enqueued for r in replies] == [1, 0, 0, 0, 0]
    assert len(runs.search(session)) == 1
    assert _decisions(session) == []


def test_duplicates_in_one_batch_give_one_run(session: Session, now: datetime) -> None:
    _setup(session, now)
    out = Ingester(session)(now, _in(), _in(), _in())
    assert out.reply.runs_enqueued == 1
    assert len(runs.search(session)) == 1


def test_cooldown_holds_back_a_refire_within_the_window(session: Session, now: datetime) -> None:
    _setup(session, now, cooldown_seconds=600)
    send = Ingester(session)
    assert send(now, _in()).reply.runs_enqueued == 1
    send(now + timedelta(seconds=60), _in("resolved"))
    out = send(now + timedelta(seconds=120), _in())
    assert out.reply.runs_enqueued == 0
    assert len(runs.search(session)) == 1
    outcome, detail = _decisions(session)[-1]
    assert outcome == "cooldown"
    assert "120 s" in detail and "600 s" in detail
    # A re-send of the held-back episode inside the window adds neither a run nor a decision.
    assert send(now + timedelta(seconds=130), _in()).reply.runs_enqueued == 0
    assert len(_decisions(session)) == 1


def test_cooldown_lets_a_refire_after_the_window_run(session: Session, now: datetime) -> None:
    _setup(session, now, cooldown_seconds=600)
    send = Ingester(session)
    send(now, _in())
    send(now + timedelta(seconds=60), _in("resolved"))
    out = send(now + timedelta(seconds=601), _in())
    assert out.reply.runs_enqueued == 1
    episodes = sorted(r.alert_episode for r in runs.search(session) if r.alert_episode)
    assert episodes == [1, 2]
    assert _decisions(session) == []


def test_missing_label_is_a_template_error(session: Session, now: datetime) -> None:
    _setup(session, now)
    alert = _in()
    del alert.labels["service"]
    out = Ingester(session)(now, alert)
    assert out.reply.runs_enqueued == 0
    assert runs.search(session) == []
    [(outcome, detail)] = _decisions(session)
    assert outcome == "template_error"
    assert detail.startswith("parameters.svc")
    assert "service" in detail


def test_label_failing_the_action_pattern_is_invalid_parameters(
    session: Session, now: datetime
) -> None:
    _setup(session, now)
    out = Ingester(session)(now, _in(service="web; rm -rf /"))
    assert out.reply.runs_enqueued == 0
    assert runs.search(session) == []
    [(outcome, detail)] = _decisions(session)
    assert outcome == "invalid_parameters"
    assert "params.svc" in detail and "pattern" in detail


def test_held_back_decision_is_not_repeated_on_resend(session: Session, now: datetime) -> None:
    _setup(session, now)
    send = Ingester(session)
    send(now, _in(service="Bad_Name"))
    send(now + timedelta(seconds=5), _in(service="Bad_Name"))
    assert [o for o, _ in _decisions(session)] == ["invalid_parameters"]


def test_confirm_mode_waits_for_confirmation(session: Session, now: datetime) -> None:
    _setup(session, now, mode="confirm")
    out = Ingester(session)(now, _in())
    assert out.reply.runs_enqueued == 0
    assert out.reply.runs_awaiting_confirmation == 1
    [run] = runs.search(session)
    assert run.state == "awaiting_confirmation"
    assert _decisions(session) == []
    # Nothing is claimable until someone confirms.
    assert runs.claim(session, worker_id="w", now=now) is None


def test_resolved_rule_fires_only_on_resolved(session: Session, now: datetime) -> None:
    _setup(session, now, on_status=["resolved"])
    send = Ingester(session)
    assert send(now, _in()).reply.runs_enqueued == 0
    assert send(now + timedelta(seconds=5), _in()).reply.runs_enqueued == 0
    assert runs.search(session) == []
    assert send(now + timedelta(seconds=10), _in("resolved")).reply.runs_enqueued == 1
    assert send(now + timedelta(seconds=15), _in("resolved")).reply.runs_enqueued == 0
    assert len(runs.search(session)) == 1


def test_disabled_rule_never_runs(session: Session, now: datetime) -> None:
    _setup(session, now, enabled=False)
    send = Ingester(session)
    send(now, _in())
    send(now + timedelta(seconds=1), _in("resolved"))
    send(now + timedelta(seconds=2), _in())
    assert runs.search(session) == []
    assert _decisions(session) == []


def test_rule_for_another_alertname_is_not_matched(session: Session, now: datetime) -> None:
    _setup(session, now)
    out = Ingester(session)(now, _in(alertname="DiskFull"))
    assert out.reply.runs_enqueued == 0
    assert runs.search(session) == []


def test_each_alert_gets_its_own_run(session: Session, now: datetime) -> None:
    _setup(session, now)
    out = Ingester(session)(now, _in(fp="a", service="web"), _in(fp="b", service="db"))
    assert out.reply.runs_enqueued == 2
    assert sorted(r.argv[-1] for r in runs.search(session)) == ["db", "web"]


def test_rule_cache_sees_a_rule_created_after_first_use(session: Session, now: datetime) -> None:
    send = Ingester(session)
    assert send(now, _in(fp="before")).reply.runs_enqueued == 0
    _setup(session, now + timedelta(seconds=1))
    assert send(now + timedelta(seconds=2), _in(fp="after")).reply.runs_enqueued == 1


def test_rule_cache_sees_an_edited_rule(session: Session, now: datetime) -> None:
    _setup(session, now)
    send = Ingester(session)
    assert send(now, _in(fp="a", alertname="DiskFull")).reply.runs_enqueued == 0
    spec = RuleSpec(
        name="restart-down",
        matchers=['alertname="DiskFull"'],
        action="restart",
        parameters={"svc": "{{ labels.service }}"},
    )
    rules.update(session, "restart-down", spec, now=now + timedelta(minutes=1))
    session.commit()
    out = send(now + timedelta(minutes=2), _in(fp="b", alertname="DiskFull"))
    assert out.reply.runs_enqueued == 1


def test_rule_cache_sees_an_edit_older_than_the_newest_rule(
    session: Session, now: datetime
) -> None:
    """Several API processes write ``updated_at`` from their own clocks, which differ a
    little: an edit stamped earlier than another rule's last change must still be seen."""
    _setup(session, now)  # restart-down, updated at now
    _setup(session, now + timedelta(seconds=10), name="other", matchers=['alertname="Other"'])
    send = Ingester(session)
    assert (
        send(now + timedelta(seconds=20), _in(fp="a", alertname="DiskFull")).reply.runs_enqueued
        == 0
    )
    spec = RuleSpec(
        name="restart-down",
        matchers=['alertname="DiskFull"'],
        action="restart",
        parameters={"svc": "{{ labels.service }}"},
    )
    # Edited by a process whose clock is 5 s behind the one that last changed "other".
    rules.update(session, "restart-down", spec, now=now + timedelta(seconds=5))
    session.commit()
    out = send(now + timedelta(seconds=30), _in(fp="b", alertname="DiskFull"))
    assert out.reply.runs_enqueued == 1


def test_rule_with_the_longest_allowed_name_enqueues(session: Session, now: datetime) -> None:
    name = "r" * 120  # RuleSpec allows names of up to 120 characters
    _setup(session, now, name=name)
    out = Ingester(session)(now, _in())
    assert out.reply.runs_enqueued == 1
    [run] = runs.search(session)
    assert name in run.requested_by
