"""The fatigue report's figures where several alerts share a signature, on both backends:
distinct alerts, the labels common to all of them, an alert firing twice in one burst slot,
acknowledgements before and after a firing, a task, and duplicate decisions. Written as
rows, so every expected figure is worked out by hand from the rows below."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from sophrosyne.db.bulk import insert_rows
from sophrosyne.domains.alerts.models import Alert, AlertDecision, AlertEvent
from sophrosyne.domains.fatigue import service
from sophrosyne.domains.fatigue.service import Window
from sophrosyne.domains.incidents.models import Incident, IncidentAlert
from sophrosyne.domains.tasks.models import Task

# Midnight: a multiple of the 5-minute burst slot.
T = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
WEEK = Window("7d", T, T + timedelta(days=7))


def _at(minutes: float) -> datetime:
    return T + timedelta(minutes=minutes)


def _alert(n: int, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "id": n, "source": "generic", "fingerprint": f"fp{n}", "status": "firing",
        "labels": labels, "annotations": {}, "severity": None, "generator_url": None,
        "starts_at": None, "ends_at": None, "first_seen_at": T, "last_seen_at": T,
        "episode": 1, "episode_started_at": T, "occurrences": 1, "total_occurrences": 1,
    }  # fmt: skip


def _event(alert: int, episode: int, status: str, at: datetime) -> dict[str, Any]:
    return {
        "alert_id": alert, "episode": episode, "from_status": None, "to_status": status,
        "at": at,
    }  # fmt: skip


def _decision(alert: int, episode: int, outcome: str) -> dict[str, Any]:
    return {
        "alert_id": alert, "episode": episode, "rule_id": None, "rule_name": "r",
        "outcome": outcome, "detail": "", "run_id": None, "at": T,
    }  # fmt: skip


def _incident(n: int, acknowledged: datetime) -> dict[str, Any]:
    return {
        "id": n, "title": f"i{n}", "status": "acknowledged", "severity": None,
        "service": None, "group_key": None, "rule_name": None, "auto_resolve": True,
        "assignee": None, "commander": None, "summary": "", "root_cause": "",
        "follow_ups": [], "opened_by": "test", "opened_at": T, "acknowledged_at": acknowledged,
        "acknowledged_by": "olga", "ack_expires_at": None, "resolved_at": None,
        "resolved_by": None, "updated_at": T, "announced_at": None,
    }  # fmt: skip


def _member(incident: int, alert: int) -> dict[str, Any]:
    return {
        "incident_id": incident, "alert_id": alert, "status": "firing",
        "first_attached_at": T, "last_attached_at": T, "resolved_at": None,
    }  # fmt: skip


def _rows(session: Session) -> None:
    shared = {"alertname": "Shared", "cluster": "eu", "env": "prod"}
    insert_rows(
        session,
        Alert.__table__,  # type: ignore[arg-type]
        [
            _alert(1, {**shared, "service": "web", "team": "x"}),
            _alert(2, {**shared, "service": "web", "team": "x"}),
            _alert(3, {**shared, "service": "db"}),  # no team
            # Fired only before the window: neither a firing nor an alert of the signature,
            # and its cluster does not spoil the common labels.
            _alert(4, {**shared, "cluster": "us", "service": "web", "team": "x"}),
        ],
    )
    insert_rows(
        session,
        AlertEvent.__table__,  # type: ignore[arg-type]
        [
            _event(4, 1, "firing", T - timedelta(days=1)),
            # Alert 1 fires twice in the first slot: 30 s, then 60 s, 60 s after the resolve.
            _event(1, 1, "firing", _at(1)),
            _event(1, 1, "resolved", _at(1.5)),
            _event(1, 2, "firing", _at(2.5)),
            _event(1, 2, "resolved", _at(3.5)),
            # Alert 2 in the same slot, for 200 s; alert 3 in a later slot, still firing.
            _event(2, 1, "firing", _at(3)),
            _event(2, 1, "resolved", _at(3) + timedelta(seconds=200)),
            _event(3, 1, "firing", _at(20)),
        ],
    )
    insert_rows(
        session,
        AlertDecision.__table__,  # type: ignore[arg-type]
        [
            _decision(1, 2, "flapping"),
            _decision(1, 2, "silenced"),
            _decision(2, 1, "silenced"),
            _decision(2, 1, "silenced"),  # twice for one episode: one silenced firing
            _decision(1, 1, "queued"),
        ],
    )
    # Incident 1 (alerts 2 and 3) was acknowledged before either fired; incident 2 (alert 3)
    # after alert 3 fired: alert 3's firing was acted on, alert 2's was not.
    insert_rows(
        session,
        Incident.__table__,  # type: ignore[arg-type]
        [_incident(1, _at(2)), _incident(2, _at(25))],
    )
    insert_rows(
        session,
        IncidentAlert.__table__,  # type: ignore[arg-type]
        [_member(1, 2), _member(1, 3), _member(2, 3)],
    )
    # A task for alert 1's first episode: that firing was acted on, its second was not.
    task = {
        "recommendation_id": None, "recommendation_name": "look", "rule_id": None,
        "rule_name": None, "alert_id": 1, "alert_episode": 1, "idempotency_key": "t1",
        "title": "Look", "instructions": "", "instructions_html": "", "params": {},
        "responsible": [], "state": "open", "assignee": None, "created_by": "test",
        "created_at": _at(1), "updated_at": _at(1), "acknowledged_at": None, "done_at": None,
        "dismissed_at": None,
    }  # fmt: skip
    insert_rows(session, Task.__table__, [task])  # type: ignore[arg-type]
    session.commit()


def test_a_signature_of_several_alerts(session: Session) -> None:
    _rows(session)
    [shared] = service.facts(session, WEEK)
    assert (shared.source, shared.alertname) == ("generic", "Shared")
    assert (shared.firings, shared.alerts) == (4, 3)
    # Alerts 1 (twice) and 2 started firing in the first slot: two distinct alerts.
    assert shared.peak == 2
    assert (shared.acted, shared.flapping, shared.silenced, shared.inhibited) == (2, 1, 2, 0)
    assert (shared.resolved, shared.median_seconds) == (3, 60.0)  # 30, 60 and 200 s
    assert shared.shorter_than == {60: 1, 120: 2, 180: 2, 300: 3}
    assert (shared.refires, shared.gaps_shorter_than) == (1, {300: 1, 600: 1, 900: 1, 1800: 1})
    # service differs, team is missing on alert 3; alert 4 (cluster us) did not fire in it.
    assert shared.common_labels == {"cluster": "eu", "env": "prod"}


def test_the_median_of_an_even_number_of_firings_is_the_mean_of_the_middle_two(
    session: Session,
) -> None:
    """Four resolved firings of 60, 120, 180 and 600 s: the median is (120 + 180) / 2."""
    insert_rows(
        session,
        Alert.__table__,  # type: ignore[arg-type]
        [_alert(n, {"alertname": "Even", "instance": f"h{n}"}) for n in (1, 2, 3, 4)],
    )
    events = []
    for n, seconds in zip((1, 2, 3, 4), (600, 60, 180, 120), strict=True):
        events += [
            _event(n, 1, "firing", _at(10 * n)),
            _event(n, 1, "resolved", _at(10 * n) + timedelta(seconds=seconds)),
        ]
    insert_rows(session, AlertEvent.__table__, events)  # type: ignore[arg-type]
    session.commit()
    [even] = service.facts(session, WEEK)
    assert (even.resolved, even.median_seconds) == (4, 150.0)
