"""The audit log is append-only, enforced by the database itself on both backends."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from sophrosyne.domains.audit import service as audit


def _record_two(session: Session, now: datetime) -> None:
    audit.record(
        session,
        actor="token:ci",
        action="rule.created",
        object_type="rule",
        object_id=7,
        detail={"name": "restart-web", "matchers": ['alertname="Down"']},
        now=now,
    )
    audit.record(
        session, actor="alice", action="run.requested", object_type="run",
        now=now + timedelta(seconds=1),
    )  # fmt: skip
    session.commit()


def test_entries_are_recorded(session: Session, now: datetime) -> None:
    _record_two(session, now)
    newest, oldest = audit.search(session)
    assert (newest.actor, newest.action, newest.object_id, newest.detail) == (
        "alice",
        "run.requested",
        None,
        {},
    )
    assert oldest.object_id == "7"
    assert oldest.detail == {"name": "restart-web", "matchers": ['alertname="Down"']}
    assert oldest.at == now


def test_search_filters(session: Session, now: datetime) -> None:
    _record_two(session, now)
    assert [e.action for e in audit.search(session, actor="token:ci")] == ["rule.created"]
    assert [e.actor for e in audit.search(session, object_type="run")] == ["alice"]
    assert audit.search(session, object_id="7")[0].action == "rule.created"
    assert len(audit.search(session, since=now + timedelta(seconds=1))) == 1
    assert len(audit.search(session, limit=1)) == 1


def test_entry_lands_only_with_the_transaction(session: Session, now: datetime) -> None:
    audit.record(session, actor="a", action="x", object_type="rule", now=now)
    session.rollback()
    assert audit.search(session) == []


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'mallory'",
        "UPDATE audit_log SET detail = '{}' WHERE action = 'rule.created'",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE actor = 'alice'",
    ],
)
def test_update_and_delete_are_refused_by_the_database(
    session: Session, now: datetime, statement: str
) -> None:
    _record_two(session, now)
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text(statement))
    session.rollback()
    entries = audit.search(session)
    assert sorted(e.actor for e in entries) == ["alice", "token:ci"]
    assert next(e for e in entries if e.actor == "token:ci").detail["name"] == "restart-web"
