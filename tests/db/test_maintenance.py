"""Maintenance windows on the ingest path: in-window firing alerts are stored with a decision
naming the window and trigger no run; resolved alerts still resolve; outside the window (or
out of scope) runs happen; scope by target name (the alert's instance label), by target
labels, by alert matchers; a recurring window across a daylight saving change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from sophrosyne.domains.alerts import service as alerts
from sophrosyne.domains.maintenance import service as maintenance
from sophrosyne.domains.maintenance.schemas import MaintenanceSpec
from sophrosyne.domains.runs import service as runs
from sophrosyne.domains.targets import service as targets
from sophrosyne.domains.targets.schemas import TargetSpec
from sophrosyne.errors import ReadOnly, ValidationFailed
from tests.db.test_respond import Ingester, _alert_id, _in, _setup


def _window(session: Session, now: datetime, **extra: Any) -> int:
    spec = {
        "name": "db-patching",
        "comment": "kernel upgrade",
        "author": "alice",
        "targets": ["db-1"],
        "starts_at": now - timedelta(minutes=5),
        "ends_at": now + timedelta(hours=1),
        **extra,
    }
    made = maintenance.create(session, MaintenanceSpec.model_validate(spec), by="bob", now=now)
    session.commit()
    return made.id


def _outcomes(session: Session, fp: str = "fp1") -> list[tuple[str, str]]:
    return [(d.outcome, d.detail) for d in alerts.decisions(session, _alert_id(session, fp))]


def test_in_window_alert_is_stored_with_a_decision_and_no_run(
    session: Session, now: datetime
) -> None:
    _setup(session, now)
    send = Ingester(session)
    window_id = _window(session, now)
    out = send(now, _in(instance="db-1:9100"))
    assert (out.reply.received, out.reply.runs_enqueued) == (1, 0)
    assert runs.search(session) == []
    [(outcome, detail)] = _outcomes(session)
    assert outcome == "maintenance"
    assert detail.startswith(f"maintenance window 'db-patching' (id {window_id}) by alice")
    assert "target db-1 (instance=db-1:9100)" in detail
    # A re-send adds no second decision; resolving still resolves.
    send(now + timedelta(seconds=30), _in(instance="db-1:9100"))
    assert len(_outcomes(session)) == 1
    send(now + timedelta(minutes=1), _in("resolved", instance="db-1:9100"))
    assert alerts.get(session, _alert_id(session)).status == "resolved"
    # Another host is not in scope: it runs.
    assert send(now, _in(fp="fp2", instance="web-1:9100")).reply.runs_enqueued == 1


def test_outside_the_window_alerts_run(session: Session, now: datetime) -> None:
    _setup(session, now)
    send = Ingester(session)
    _window(session, now, starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=2))
    assert send(now, _in(instance="db-1")).reply.runs_enqueued == 1
    # Inside (no change to the catalog: checked against the time) it holds back.
    inside = now + timedelta(hours=1, minutes=1)
    assert send(inside, _in(fp="fp2", instance="db-1")).reply.runs_enqueued == 0
    assert [o for o, _ in _outcomes(session, "fp2")] == ["maintenance"]
    assert send(now + timedelta(hours=3), _in(fp="fp3", instance="db-1")).reply.runs_enqueued == 1


def test_scope_by_target_labels_and_address(session: Session, now: datetime) -> None:
    _setup(session, now)
    targets.create(
        session,
        TargetSpec(name="db-7", address="10.0.0.7", labels={"role": "db"}),
        now=now,
    )
    session.commit()
    send = Ingester(session)
    _window(session, now, targets=[], target_selector=['role="db"'])
    # The instance label gives the target's address: still the target in scope.
    assert send(now, _in(instance="10.0.0.7:9100")).reply.runs_enqueued == 0
    assert "target 10.0.0.7" in _outcomes(session)[0][1]
    assert send(now, _in(fp="fp2", instance="10.0.0.8:9100")).reply.runs_enqueued == 1


def test_scope_by_alert_matchers(session: Session, now: datetime) -> None:
    _setup(session, now)
    send = Ingester(session)
    _window(session, now, targets=[], matchers=['service="web"', 'dc="par1"'])
    assert send(now, _in(dc="par1")).reply.runs_enqueued == 0
    assert 'service="web"' in _outcomes(session)[0][1]
    assert send(now, _in(fp="fp2", dc="ams1")).reply.runs_enqueued == 1


def test_recurring_window_across_the_spring_change(session: Session, now: datetime) -> None:
    """Nightly 01:00-03:00 Paris: the night after the change it opens at 23:00 UTC."""
    _setup(session, now)
    send = Ingester(session)
    _window(
        session,
        now,
        starts_at=None,
        ends_at=None,
        recurrence={
            "frequency": "daily",
            "start_time": "01:00",
            "duration_minutes": 120,
            "timezone": "Europe/Paris",
        },
    )
    before = datetime(2026, 3, 29, 22, 30, tzinfo=UTC)  # 00:30 CEST: not yet
    assert send(before, _in(fp="a", instance="db-1")).reply.runs_enqueued == 1
    inside = datetime(2026, 3, 29, 23, 30, tzinfo=UTC)  # 01:30 CEST
    assert send(inside, _in(fp="b", instance="db-1")).reply.runs_enqueued == 0
    winter = datetime(2026, 3, 28, 0, 30, tzinfo=UTC)  # 01:30 CET the night before
    assert send(winter, _in(fp="c", instance="db-1")).reply.runs_enqueued == 0


def test_validation_names_the_field(session: Session, now: datetime) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _window(session, now, ends_at=now - timedelta(hours=1))
    assert [e.loc for e in caught.value.errors] == [("ends_at",)]
    with pytest.raises(ValidationFailed) as caught:
        _window(session, now, targets=[])
    assert [e.loc for e in caught.value.errors] == [("targets",)]


def test_file_managed_window_is_read_only_through_the_api(session: Session, now: datetime) -> None:
    spec = MaintenanceSpec(
        name="nightly",
        comment="backups",
        targets=["db-1"],
        starts_at=now,
        ends_at=now + timedelta(hours=1),
    )
    maintenance.create(session, spec, now=now, managed_by="file", source_file="m.yaml")
    with pytest.raises(ReadOnly):
        maintenance.update(session, "nightly", spec, now=now)
    with pytest.raises(ReadOnly):
        maintenance.delete(session, "nightly")
    with pytest.raises(ReadOnly):
        maintenance.end_now(session, "nightly", now=now)
    maintenance.delete(session, "nightly", managed_by="file")
