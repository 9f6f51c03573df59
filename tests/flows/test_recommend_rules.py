"""Rules that recommend: mode ``recommend`` opens a task and runs nothing; a rule with an
action and a recommendation does both; everything through the real ingest flow."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError
from sqlalchemy.orm import Session

from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.actions.schemas import ActionSpec
from sophrosyne.domains.alerts import service as alerts
from sophrosyne.domains.recommendations import service as recommendations
from sophrosyne.domains.recommendations.schemas import RecommendationSpec
from sophrosyne.domains.rules import service as rules
from sophrosyne.domains.rules.schemas import RuleSpec
from sophrosyne.domains.runs import service as runs
from sophrosyne.domains.tasks import service as tasks
from sophrosyne.errors import ValidationFailed
from sophrosyne.flows.ingest import ingest
from tests.factories import incoming_alert


def _setup(session: Session, now: datetime) -> None:
    recommendations.create(
        session,
        RecommendationSpec.model_validate(
            {
                "name": "replace-disk",
                "title": "Replace disk {{ params.device }} on {{ params.host }}",
                "instructions": "Check `smartctl -a /dev/{{ params.device }}`.",
                "responsible": ["team:storage"],
                "parameters": [{"name": "host"}, {"name": "device", "pattern": "[a-z]+[0-9]*"}],
            }
        ),
        now=now,
    )
    actions.create(session, ActionSpec(name="page", argv=["/bin/true"]), now=now)
    session.commit()


def _rule(session: Session, now: datetime, **spec: object) -> None:
    rules.create(session, RuleSpec.model_validate(spec), now=now)
    session.commit()


def test_a_recommend_rule_opens_one_task_and_runs_nothing(session: Session, now: datetime) -> None:
    _setup(session, now)
    _rule(
        session,
        now,
        name="disk-failed",
        matchers=['alertname="DiskFailed"'],
        mode="recommend",
        recommendation="replace-disk",
        parameters={"host": "{{ labels.instance }}", "device": "{{ labels.device }}"},
    )
    cache = rules.RuleCache()
    alert = incoming_alert("fp1", alertname="DiskFailed", instance="db-1", device="sdb")
    for _ in range(2):  # a re-send opens nothing new
        ingest(session, [alert], actor="test", rules=cache, now=now)
        session.commit()
    assert runs.search(session) == []
    [task] = tasks.search(session)
    assert task.title == "Replace disk sdb on db-1"
    assert task.state == "open"


def test_a_rule_with_an_action_and_a_recommendation_does_both(
    session: Session, now: datetime
) -> None:
    _setup(session, now)
    _rule(
        session,
        now,
        name="disk-failed",
        matchers=['alertname="DiskFailed"'],
        action="page",
        recommendation="replace-disk",
        recommendation_parameters={"host": "{{ labels.instance }}", "device": "sdc"},
    )
    result = ingest(
        session,
        [incoming_alert("fp1", alertname="DiskFailed", instance="db-2")],
        actor="test",
        rules=rules.RuleCache(),
        now=now,
    )
    session.commit()
    assert len(result.queued_run_ids) == 1
    [task] = tasks.search(session)
    assert task.title == "Replace disk sdc on db-2"


def test_a_task_that_cannot_open_says_why_on_the_alert(session: Session, now: datetime) -> None:
    _setup(session, now)
    _rule(
        session,
        now,
        name="disk-failed",
        matchers=['alertname="DiskFailed"'],
        mode="recommend",
        recommendation="replace-disk",
        parameters={"host": "{{ labels.instance }}", "device": "{{ labels.device }}"},
    )
    ingest(
        session,
        [incoming_alert("fp1", alertname="DiskFailed", instance="db-1", device="; rm -rf /")],
        actor="test",
        rules=rules.RuleCache(),
        now=now,
    )
    session.commit()
    assert tasks.search(session) == []
    [stored] = alerts.search(session, alerts.AlertFilter())
    [decision] = alerts.decisions(session, stored.id)
    assert decision.outcome == "invalid_parameters" and "device" in decision.detail


def test_what_a_rule_does_is_checked(session: Session, now: datetime) -> None:
    _setup(session, now)
    with pytest.raises(ValidationError, match="mode recommend needs a recommendation"):
        RuleSpec.model_validate({"name": "r", "mode": "recommend"})
    with pytest.raises(ValidationError, match="runs nothing"):
        RuleSpec.model_validate(
            {"name": "r", "mode": "recommend", "action": "page", "recommendation": "x"}
        )
    with pytest.raises(ValidationError, match="mode auto needs an action"):
        RuleSpec.model_validate({"name": "r"})
    with pytest.raises(ValidationFailed) as caught:
        _rule(session, now, name="r", mode="recommend", recommendation="nope")
    assert caught.value.errors[0].loc == ("recommendation",)
