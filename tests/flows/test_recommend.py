"""flows.recommend: tasks opened for stored alerts from the triggers of recommend-rules."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.actions.schemas import ActionSpec
from sophrosyne.domains.alerts import service as alerts
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.recommendations import service as recommendations
from sophrosyne.domains.recommendations.schemas import RecommendationSpec
from sophrosyne.domains.rules import service as rules
from sophrosyne.domains.rules.schemas import RuleSpec
from sophrosyne.domains.tasks import service as tasks
from sophrosyne.flows.recommend import RecommendTrigger, recommend
from tests.factories import incoming_alert

INSTRUCTIONS = """\
## Disk {{ params.device }} on {{ params.host }}

1. Check `smartctl -a /dev/{{ params.device }}`.
2. Open a ticket with the hosting provider.
"""


@pytest.fixture
def trigger(session: Session, now: datetime) -> RecommendTrigger:
    """The recommendation ``replace-disk`` and a rule (for its id) that recommends it."""
    recommendations.create(
        session,
        RecommendationSpec.model_validate(
            {
                "name": "replace-disk",
                "title": "Replace disk {{ params.device }} on {{ params.host }}",
                "instructions": INSTRUCTIONS,
                "responsible": ["team:storage", "alice"],
                "parameters": [
                    {"name": "host"},
                    {"name": "device", "pattern": "[a-z]+[0-9]*"},
                ],
            }
        ),
        now=now,
    )
    actions.create(session, ActionSpec(name="page", argv=["true"]), now=now)
    rule = rules.create(
        session,
        RuleSpec(name="disk-failed", matchers=['alertname="DiskFailed"'], action="page"),
        now=now,
    )
    session.commit()
    return RecommendTrigger(
        rule_id=rule.id,
        rule_name=rule.name,
        recommendation="replace-disk",
        parameters={"host": "{{ labels.instance }}", "device": "{{ labels.device }}"},
    )


def _store(session: Session, now: datetime, status: str = "firing", **labels: str) -> list:
    labels = {"alertname": "DiskFailed", "instance": "db1", "device": "sdb", **labels}
    return alerts.upsert(session, [incoming_alert("fp1", status, **labels)], now=now)


def test_a_task_is_opened_with_the_rendered_recommendation(
    session: Session, now: datetime, trigger: RecommendTrigger
) -> None:
    receipts = _store(session, now)
    result = recommend(session, receipts, [[trigger]], now=now)
    session.commit()
    [task_id] = result.created
    assert result.tasks_of == {0: [task_id]}
    task = tasks.get(session, task_id)
    assert task.title == "Replace disk sdb on db1"
    assert task.state == "open" and task.assignee is None
    assert task.params == {"host": "db1", "device": "sdb"}
    assert task.responsible == ["team:storage", "alice"]
    assert (task.alert_id, task.alert_episode) == (receipts[0].alert.id, 1)
    assert (task.rule_id, task.rule_name, task.created_by) == (
        trigger.rule_id,
        "disk-failed",
        "rule:disk-failed",
    )
    assert "<h2>Disk sdb on db1</h2>" in task.instructions_html
    assert "<code>smartctl -a /dev/sdb</code>" in task.instructions_html
    [entry] = audit.search(session, action="task.created")
    assert entry.actor == "rule:disk-failed" and entry.detail["alert_id"] == task.alert_id


def test_a_resent_alert_opens_its_task_once_per_episode(
    session: Session, now: datetime, trigger: RecommendTrigger
) -> None:
    first = recommend(session, _store(session, now), [[trigger]], now=now)
    again = recommend(session, _store(session, now + timedelta(minutes=1)), [[trigger]], now=now)
    # The same trigger twice for one alert in one batch is also one task.
    twice = recommend(session, _store(session, now), [[trigger, trigger]], now=now)
    assert len(first.created) == 1 and again.created == [] and twice.created == []
    _store(session, now + timedelta(minutes=2), "resolved")
    new_episode = recommend(
        session, _store(session, now + timedelta(minutes=3)), [[trigger]], now=now
    )
    session.commit()
    assert len(new_episode.created) == 1
    assert [t.alert_episode for t in tasks.search(session)] == [2, 1]


def test_label_values_are_data_not_markup(
    session: Session, now: datetime, trigger: RecommendTrigger
) -> None:
    evil = trigger.__class__(
        trigger.rule_id, trigger.rule_name, trigger.recommendation, {"host": "{{ labels.h }}",
        "device": "sda"},
    )  # fmt: skip
    receipts = _store(session, now, h='<img src=x onerror="alert(1)"><script>x()</script>')
    [task_id] = recommend(session, receipts, [[evil]], now=now).created
    html = tasks.get(session, task_id).instructions_html
    assert "<img" not in html and "<script" not in html and "onerror=&quot;" not in html
    assert "&lt;img src=x onerror=" in html  # shown as text


def test_failures_are_recorded_as_decisions_once(
    session: Session, now: datetime, trigger: RecommendTrigger
) -> None:
    bad_device = _store(session, now, device="../etc")
    missing = RecommendTrigger(trigger.rule_id, "disk-failed", "nope")
    no_label = RecommendTrigger(
        trigger.rule_id, "disk-failed", "replace-disk", {"host": "{{ labels.rack }}"}
    )
    out = recommend(session, bad_device, [[trigger]], now=now)
    assert out.created == []
    # A re-send changes nothing and records nothing again.
    assert recommend(session, _store(session, now, device="../etc"), [[trigger]], now=now).refused
    session.commit()
    alert_id = bad_device[0].alert.id
    [decision] = alerts.decisions(session, alert_id)
    assert decision.outcome == "invalid_parameters"
    assert "params.device" in decision.detail and "pattern" in decision.detail

    refused = []
    for fp, trig in (("fp2", missing), ("fp3", no_label)):
        stored = alerts.upsert(session, [incoming_alert(fp, alertname="DiskFailed")], now=now)
        result = recommend(session, stored, [[trig]], now=now)
        refused += [(r[2], r[3]) for r in result.refused]
        assert len(alerts.decisions(session, stored[0].alert.id)) == 1
    assert refused == [
        ("unknown_recommendation", "no recommendation named 'nope'"),
        ("template_error", "parameters.host: undefined: 'dict object' has no attribute 'rack'"),
    ]
    assert tasks.search(session) == []
