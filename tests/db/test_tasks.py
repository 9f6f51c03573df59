"""Task lifecycle on the database: transitions, assignee, notes, and what done records."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from sophrosyne.domains.alerts import service as alerts
from sophrosyne.domains.fixes.models import AppliedFix
from sophrosyne.domains.recommendations import service as recommendations
from sophrosyne.domains.recommendations.schemas import RecommendationSpec
from sophrosyne.domains.tasks import service as tasks
from sophrosyne.domains.tasks.states import IllegalTaskTransition, TaskState
from sophrosyne.errors import Conflict, NotFound, ValidationFailed
from tests.factories import incoming_alert

S = TaskState
MIN = timedelta(minutes=1)


@pytest.fixture
def rec(session: Session, now: datetime) -> str:
    recommendations.create(
        session,
        RecommendationSpec.model_validate(
            {
                "name": "reseat-cable",
                "title": "Reseat the cable of {{ params.port }}",
                "instructions": "Go to rack {{ params.rack }}.",
                "parameters": [
                    {"name": "port", "type": "int", "min": 1, "max": 48},
                    {"name": "rack", "required": False, "default": "A1"},
                ],
            }
        ),
        now=now,
    )
    session.commit()
    return "reseat-cable"


def _open(session: Session, now: datetime, rec: str, **kwargs: Any) -> int:
    rec_row = recommendations.get_by_name(session, rec)
    task = tasks.create_manual(session, rec_row, {"port": "7"}, actor="me", now=now, **kwargs)
    session.commit()
    return task.id


def test_open_acknowledge_done(session: Session, now: datetime, rec: str) -> None:
    task_id = _open(session, now, rec)
    task = tasks.get(session, task_id)
    assert (task.title, task.instructions, task.params) == (
        "Reseat the cable of 7",
        "Go to rack A1.",
        {"port": 7, "rack": "A1"},
    )
    tasks.transition(session, task_id, S.ACKNOWLEDGED, actor="token:bob", now=now + MIN)
    task = tasks.transition(
        session, task_id, S.DONE, actor="token:bob", now=now + 5 * MIN, note="reseated, link up"
    )
    session.commit()
    assert task.state == "done" and task.assignee == "token:bob"
    assert (task.acknowledged_at, task.done_at) == (now + MIN, now + 5 * MIN)
    [note] = tasks.notes(session, task_id)
    assert (note.author, note.body, note.at) == ("token:bob", "reseated, link up", now + 5 * MIN)
    # Not about an alert: nothing for the history of fixes.
    assert session.scalars(select(AppliedFix)).all() == []


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ([S.DONE], S.ACKNOWLEDGED),
        ([S.DISMISSED], S.DONE),
        ([S.ACKNOWLEDGED], S.ACKNOWLEDGED),
        ([S.ACKNOWLEDGED, S.DONE], S.DISMISSED),
    ],
)
def test_illegal_transitions_change_nothing(
    session: Session, now: datetime, rec: str, path: list[TaskState], illegal: TaskState
) -> None:
    task_id = _open(session, now, rec)
    for step in path:
        tasks.transition(session, task_id, step, actor="a", now=now)
    session.commit()
    with pytest.raises(IllegalTaskTransition) as caught:
        tasks.transition(session, task_id, illegal, actor="a", now=now + MIN, note="x")
    assert isinstance(caught.value, Conflict)
    session.rollback()
    assert tasks.get(session, task_id).state == path[-1].value
    assert tasks.notes(session, task_id) == []


def test_assign_and_notes(session: Session, now: datetime, rec: str) -> None:
    task_id = _open(session, now, rec, assignee="carol")
    tasks.transition(session, task_id, S.ACKNOWLEDGED, actor="token:dave", now=now)
    assert tasks.get(session, task_id).assignee == "carol"  # kept, not taken over
    tasks.assign(session, task_id, "erin", now=now)
    tasks.add_note(session, tasks.get(session, task_id), author="erin", body="on my way", now=now)
    tasks.assign(session, task_id, None, now=now)
    tasks.transition(session, task_id, S.DISMISSED, actor="erin", now=now, note="false alarm")
    session.commit()
    assert [n.body for n in tasks.notes(session, task_id)] == ["on my way", "false alarm"]
    with pytest.raises(Conflict, match="cannot be reassigned"):
        tasks.assign(session, task_id, "frank", now=now)
    with pytest.raises(NotFound):
        tasks.get(session, 999)


def test_bad_parameters_open_nothing(session: Session, now: datetime, rec: str) -> None:
    rec_row = recommendations.get_by_name(session, rec)
    with pytest.raises(ValidationFailed) as caught:
        tasks.create_manual(session, rec_row, {"port": "99", "nope": 1}, actor="me", now=now)
    assert {e.where() for e in caught.value.errors} == {"params.port", "params.nope"}
    assert tasks.search(session) == []


def test_done_for_an_alert_records_the_fix(session: Session, now: datetime, rec: str) -> None:
    [receipt] = alerts.upsert(session, [incoming_alert("fp1", alertname="LinkDown")], now=now)
    task_id = _open(session, now, rec, alert_id=receipt.alert.id)
    tasks.transition(session, task_id, S.ACKNOWLEDGED, actor="a", now=now + 2 * MIN)
    tasks.transition(session, task_id, S.DONE, actor="a", now=now + 9 * MIN)
    session.commit()
    [fix] = session.scalars(select(AppliedFix)).all()
    assert (fix.kind, fix.name, fix.alert_id, fix.alert_episode, fix.task_id) == (
        "recommendation",
        "reseat-cable",
        receipt.alert.id,
        1,
        task_id,
    )
    assert fix.applied_at == now + 2 * MIN and fix.alertname == "LinkDown"
    assert [t.id for t in tasks.search(session, alert_id=receipt.alert.id, state="done")] == [
        task_id
    ]
