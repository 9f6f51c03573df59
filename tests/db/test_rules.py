"""rules.service: create, update, delete and compile; bad rules are refused when written."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.actions.schemas import ActionSpec
from sophrosyne.domains.rules import service as rules
from sophrosyne.domains.rules.schemas import RuleSpec
from sophrosyne.errors import Conflict, NotFound, ReadOnly, ValidationFailed


@pytest.fixture(autouse=True)
def _restart_action(session: Session, now: datetime) -> None:
    actions.create(
        session,
        ActionSpec(
            name="restart",
            argv=["systemctl", "restart", "{{ params.svc }}", "--wait={{ params.wait }}"],
            parameters=[
                {"name": "svc", "pattern": "[a-z]+"},
                {"name": "wait", "type": "int", "default": 5},
            ],
        ),
        now=now,
    )
    session.commit()


def _spec(**kw: Any) -> RuleSpec:
    base = {
        "name": "r1",
        "matchers": ['alertname="Down"', 'service!=""'],
        "action": "restart",
        "parameters": {"svc": "{{ labels.service }}"},
    }
    return RuleSpec.model_validate({**base, **kw})


def test_create_and_compile(session: Session, now: datetime) -> None:
    rule = rules.create(session, _spec(mode="confirm", cooldown_seconds=60), now=now)
    session.commit()
    assert rule.created_at == now and rule.updated_at == now
    assert rules.to_out(session, rule).action == "restart"
    [compiled] = rules.compile_all(session)
    assert compiled.name == "r1" and compiled.mode == "confirm"
    assert [str(m) for m in compiled.matchers] == ['alertname="Down"', 'service!=""']
    assert compiled.on_status == frozenset({"firing"})
    assert compiled.action_argv[0] == "systemctl"
    assert [p.name for p in compiled.action_parameters] == ["svc", "wait"]


def test_unknown_action_is_refused_at_its_field(session: Session, now: datetime) -> None:
    with pytest.raises(ValidationFailed) as info:
        rules.create(session, _spec(action="reboot"), now=now)
    assert [e.loc for e in info.value.errors] == [("action",)]


def test_duplicate_name_is_a_conflict(session: Session, now: datetime) -> None:
    rules.create(session, _spec(), now=now)
    with pytest.raises(Conflict):
        rules.create(session, _spec(), now=now)


def test_update_changes_the_rule(session: Session, now: datetime) -> None:
    rules.create(session, _spec(), now=now)
    later = now + timedelta(minutes=1)
    rule = rules.update(session, "r1", _spec(enabled=False, matchers=[]), now=later)
    session.commit()
    assert rule.enabled is False and rule.matchers == [] and rule.updated_at == later
    assert rule.created_at == now


def test_update_cannot_rename(session: Session, now: datetime) -> None:
    rules.create(session, _spec(), now=now)
    with pytest.raises(Conflict, match="renamed"):
        rules.update(session, "r1", _spec(name="r2"), now=now)


def test_file_managed_rule_is_read_only_through_the_api(session: Session, now: datetime) -> None:
    rules.create(session, _spec(), now=now, managed_by="file", source_file="rules.yaml")
    with pytest.raises(ReadOnly):
        rules.update(session, "r1", _spec(enabled=False), now=now)
    with pytest.raises(ReadOnly):
        rules.delete(session, "r1")
    rules.update(session, "r1", _spec(enabled=False), now=now, managed_by="file")


def test_delete(session: Session, now: datetime) -> None:
    rules.create(session, _spec(), now=now)
    rules.delete(session, "r1")
    session.commit()
    with pytest.raises(NotFound):
        rules.get_by_name(session, "r1")


def test_action_used_by_a_rule_cannot_be_deleted(session: Session, now: datetime) -> None:
    rules.create(session, _spec(), now=now)
    session.commit()
    with pytest.raises(Conflict, match="r1"):
        actions.delete(session, "restart")


# The API writes rules through rules.create/update. Config as code (flows/configcode.py)
# already refuses these mistakes; the same rule must not be accepted through the API only to
# fail with invalid_parameters for every alert it matches.


def test_parameter_the_action_does_not_declare_is_refused(session: Session, now: datetime) -> None:
    spec = _spec(parameters={"svc": "{{ labels.service }}", "servcie": "{{ labels.job }}"})
    with pytest.raises(ValidationFailed) as info:
        rules.create(session, spec, now=now)
    assert ("parameters", "servcie") in [e.loc for e in info.value.errors]


def test_missing_required_parameter_is_refused(session: Session, now: datetime) -> None:
    with pytest.raises(ValidationFailed) as info:
        rules.create(session, _spec(parameters={"wait": "3"}), now=now)
    assert any(e.loc[0] == "parameters" and "svc" in e.msg for e in info.value.errors)
