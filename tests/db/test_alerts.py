"""alerts.service.upsert: deduplication, episodes and history, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sophrosyne.domains.alerts import service as alerts
from sophrosyne.domains.alerts.models import Alert, AlertEvent
from sophrosyne.domains.alerts.schemas import GenericAlert, IncomingAlert
from sophrosyne.domains.alerts.sources import from_generic


def _in(
    fp: str,
    status: str = "firing",
    *,
    source: str = "alertmanager",
    annotations: dict[str, str] | None = None,
    **labels: str,
) -> IncomingAlert:
    return IncomingAlert(
        source=source,
        fingerprint=fp,
        status=status,
        labels={"alertname": "Down", **labels},
        annotations=annotations or {},
        severity=labels.get("severity"),
        starts_at=None,
        ends_at=None,
        generator_url=None,
    )


def _events(session: Session, alert_id: int) -> list[tuple[int, str | None, str]]:
    return [(e.episode, e.from_status, e.to_status) for e in alerts.history(session, alert_id)]


def _count(session: Session) -> int:
    return session.scalar(select(func.count(Alert.id))) or 0


def test_new_alert_is_created_with_event(session: Session, now: datetime) -> None:
    [receipt] = alerts.upsert(session, [_in("fp1", job="web")], now=now)
    session.commit()
    assert receipt.created and receipt.changed
    alert = alerts.get(session, receipt.alert.id)
    assert alert.status == "firing"
    assert alert.labels == {"alertname": "Down", "job": "web"}
    assert (alert.episode, alert.occurrences, alert.total_occurrences) == (1, 1, 1)
    assert alert.first_seen_at == now and alert.last_seen_at == now
    assert alert.episode_started_at == now
    assert _events(session, alert.id) == [(1, None, "firing")]


def test_resend_counts_without_event(session: Session, now: datetime) -> None:
    alerts.upsert(session, [_in("fp1")], now=now)
    session.commit()
    later = now + timedelta(minutes=1)
    [receipt] = alerts.upsert(session, [_in("fp1")], now=later)
    session.commit()
    assert not receipt.created and not receipt.changed
    alert = alerts.get(session, receipt.alert.id)
    assert (alert.episode, alert.occurrences, alert.total_occurrences) == (1, 2, 2)
    assert alert.first_seen_at == now and alert.last_seen_at == later
    assert _events(session, alert.id) == [(1, None, "firing")]
    assert _count(session) == 1


def test_resolve_then_refire_starts_a_new_episode(session: Session, now: datetime) -> None:
    alerts.upsert(session, [_in("fp1")], now=now)
    alerts.upsert(session, [_in("fp1")], now=now + timedelta(seconds=30))
    session.commit()

    [resolved] = alerts.upsert(session, [_in("fp1", "resolved")], now=now + timedelta(minutes=1))
    session.commit()
    assert resolved.changed and not resolved.created
    alert = alerts.get(session, resolved.alert.id)
    assert alert.status == "resolved"
    assert alert.episode == 1
    assert alert.total_occurrences == 3
    assert _events(session, alert.id) == [(1, None, "firing"), (1, "firing", "resolved")]

    refire_at = now + timedelta(minutes=5)
    [refired] = alerts.upsert(session, [_in("fp1")], now=refire_at)
    session.commit()
    assert refired.changed and not refired.created
    alert = alerts.get(session, refired.alert.id)
    assert alert.status == "firing"
    assert (alert.episode, alert.occurrences, alert.total_occurrences) == (2, 1, 4)
    assert alert.episode_started_at == refire_at
    assert alert.first_seen_at == now
    assert _events(session, alert.id) == [
        (1, None, "firing"),
        (1, "firing", "resolved"),
        (2, "resolved", "firing"),
    ]


def test_repeated_resolved_is_not_a_change(session: Session, now: datetime) -> None:
    alerts.upsert(session, [_in("fp1")], now=now)
    alerts.upsert(session, [_in("fp1", "resolved")], now=now)
    [again] = alerts.upsert(session, [_in("fp1", "resolved")], now=now)
    session.commit()
    assert not again.changed
    assert len(_events(session, again.alert.id)) == 2


def test_same_fingerprint_twice_in_one_batch(session: Session, now: datetime) -> None:
    first, second = alerts.upsert(session, [_in("fp1"), _in("fp1")], now=now)
    session.commit()
    assert first.created and first.changed
    assert not second.created and not second.changed
    assert first.alert.id == second.alert.id
    alert = alerts.get(session, first.alert.id)
    assert (alert.occurrences, alert.total_occurrences) == (2, 2)
    assert _events(session, alert.id) == [(1, None, "firing")]
    assert _count(session) == 1


def test_new_alert_fired_and_resolved_in_one_batch(session: Session, now: datetime) -> None:
    first, second = alerts.upsert(session, [_in("fp1"), _in("fp1", "resolved")], now=now)
    session.commit()
    assert first.created and second.changed
    assert alerts.get(session, first.alert.id).status == "resolved"
    assert _events(session, first.alert.id) == [(1, None, "firing"), (1, "firing", "resolved")]


def test_two_sources_with_the_same_fingerprint_are_distinct(
    session: Session, now: datetime
) -> None:
    a, b = alerts.upsert(
        session, [_in("same", source="alertmanager"), _in("same", source="generic")], now=now
    )
    session.commit()
    assert a.created and b.created
    assert a.alert.id != b.alert.id
    assert {a.alert.source, b.alert.source} == {"alertmanager", "generic"}
    assert _count(session) == 2
    [again] = alerts.upsert(session, [_in("same", source="generic")], now=now)
    session.commit()
    assert again.alert.id == b.alert.id
    assert alerts.get(session, a.alert.id).total_occurrences == 1
    assert alerts.get(session, b.alert.id).total_occurrences == 2


def test_annotations_and_severity_follow_the_newest_copy(session: Session, now: datetime) -> None:
    alerts.upsert(session, [_in("fp1", annotations={"summary": "old"})], now=now)
    session.commit()
    [receipt] = alerts.upsert(
        session,
        [_in("fp1", annotations={"summary": "new", "runbook": "r"}, severity="critical")],
        now=now + timedelta(seconds=10),
    )
    session.commit()
    session.expire_all()
    alert = alerts.get(session, receipt.alert.id)
    assert alert.annotations == {"summary": "new", "runbook": "r"}
    assert alert.severity == "critical"


def test_receipts_come_back_in_input_order(session: Session, now: datetime) -> None:
    alerts.upsert(session, [_in("b"), _in("d")], now=now)
    session.commit()
    batch = [_in("d"), _in("a"), _in("b", "resolved"), _in("c"), _in("a"), _in("d")]
    receipts = alerts.upsert(session, batch, now=now)
    session.commit()
    assert [r.alert.fingerprint for r in receipts] == ["d", "a", "b", "c", "a", "d"]
    assert [r.created for r in receipts] == [False, True, False, True, False, False]
    assert [r.changed for r in receipts] == [False, True, True, True, False, False]
    assert _count(session) == 4


def test_empty_batch(session: Session, now: datetime) -> None:
    assert alerts.upsert(session, [], now=now) == []


def test_events_are_only_for_state_changes(session: Session, now: datetime) -> None:
    for i in range(5):
        alerts.upsert(session, [_in("fp1")], now=now + timedelta(seconds=i))
    session.commit()
    assert session.scalar(select(func.count(AlertEvent.id))) == 1


def test_long_severity_label_does_not_break_storage(session: Session, now: datetime) -> None:
    """Labels may be up to 4096 characters; a long ``severity`` label must not make the whole
    batch fail in the database (Alertmanager would retry it forever)."""
    long = "critical-" + "x" * 200
    [receipt] = alerts.upsert(session, [_in("fp1", severity=long)], now=now)
    session.commit()
    alert = alerts.get(session, receipt.alert.id)
    assert alert.labels["severity"] == long


@pytest.mark.parametrize("where", ["labels", "annotations"])
def test_nul_character_is_refused_or_stored_never_a_database_error(
    session: Session, now: datetime, where: str
) -> None:
    """PostgreSQL cannot store U+0000 in JSON: such input must get a clear 4xx naming the
    field (a pydantic error) or be stored; it must not fail inside the database."""
    raw: dict[str, Any] = {"labels": {"alertname": "X"}, "annotations": {}}
    raw[where]["job"] = "a\x00b"
    try:
        parsed = GenericAlert.model_validate(raw)
    except ValidationError as exc:
        assert exc.errors()[0]["loc"][:2] == (where, "job")
        return
    [receipt] = alerts.upsert(session, from_generic([parsed]), now=now)
    session.commit()
    assert alerts.get(session, receipt.alert.id).fingerprint == receipt.alert.fingerprint
