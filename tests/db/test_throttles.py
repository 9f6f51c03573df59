"""Throttles for flapping alerts (once_within, once_after, accumulate_within) with a chosen
``now``, and once_after's deferred run started by the worker's housekeeping step."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from sophrosyne.domains.alerts import service as alerts
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.guards import service as guards
from sophrosyne.domains.rules import service as rules
from sophrosyne.domains.runs import service as runs
from sophrosyne.flows import deferred
from tests.db.test_guards import Send, _decisions, _down, _runs, _setup

S = timedelta(seconds=1)


def _throttled(session: Session, now: datetime, **throttle: Any) -> Send:
    _setup(session, now, guards={"throttle": {"group_by": ["instance"], **throttle}})
    return Send(session)


def _fire(session: Session, at: datetime, cache: rules.RuleCache | None = None) -> list[int]:
    queued = deferred.fire_due(
        session, rules=cache or rules.RuleCache(), now=at, actor="worker:test"
    )
    session.commit()
    return queued


def test_once_within_acts_on_the_first_event_and_suppresses_the_window(
    session: Session, now: datetime
) -> None:
    send = _throttled(session, now, once_within=600)
    assert send(now, _down("a", "h1")).reply.runs_enqueued == 1
    # Flapping: resolved, firing again (a new episode) and another alert of the same group.
    send(now + 10 * S, _down("a", "h1", "resolved"))
    out = send(now + 20 * S, _down("a", "h1"), _down("b", "h1", job="x"), _down("c", "h2"))
    assert out.reply.runs_enqueued == 1  # only h2, another group
    [(outcome, detail, _)] = _decisions(session, "b")
    assert outcome == "throttled"
    assert "once_within 600 s for instance='h1:9100'" in detail
    assert "suppressed until 2026-11-22 12:10:00 UTC" in detail
    assert _decisions(session, "a")[-1][0] == "throttled"
    # After the window the next event acts again.
    assert send(now + 601 * S, _down("d", "h1", job="y")).reply.runs_enqueued == 1


def test_accumulate_within_acts_at_the_threshold(session: Session, now: datetime) -> None:
    send = _throttled(session, now, accumulate_within=300, threshold=3)
    assert send(now, _down("a", "h1")).reply.runs_enqueued == 0
    assert "1 of 3 events since 2026-11-22 12:00:00 UTC" in _decisions(session, "a")[0][1]
    assert send(now + 10 * S, _down("b", "h1", job="x")).reply.runs_enqueued == 0
    out = send(now + 20 * S, _down("c", "h1", job="y"))
    assert out.reply.runs_enqueued == 1
    [run] = _runs(session)
    assert run.alert_id is not None and _decisions(session, "c") == []
    # Counting starts again; events older than the window do not count.
    send(now + 30 * S, _down("d", "h1", job="z"))
    send(now + 400 * S, _down("e", "h1", job="w"))
    assert "1 of 3 events" in _decisions(session, "e")[0][1]


def test_a_resend_is_not_an_event(session: Session, now: datetime) -> None:
    send = _throttled(session, now, accumulate_within=300, threshold=2)
    for i in range(5):
        assert send(now + i * S, _down("a", "h1")).reply.runs_enqueued == 0
    assert len(_decisions(session, "a")) == 1
    assert send(now + 10 * S, _down("b", "h1", job="x")).reply.runs_enqueued == 1


def test_once_after_acts_once_at_the_end_with_the_latest_alert(
    session: Session, now: datetime
) -> None:
    send = _throttled(session, now, once_after=300)
    send(now, _down("a", "h1"))
    send(now + 100 * S, _down("b", "h1", job="x"), _down("c", "h2"))
    latest = send(now + 200 * S, _down("d", "h1", job="y"))
    assert latest.reply.runs_enqueued == 0 and _runs(session) == []
    outcome, detail, _ = _decisions(session, "d")[0]
    assert outcome == "deferred"
    assert "acts once at 2026-11-22 12:05:00 UTC with the group's latest alert (3 so far)" in detail
    # Nothing is due before the window ends.
    assert _fire(session, now + 299 * S) == []
    # A new cache, as after a restart: the window lives in the database.
    queued = _fire(session, now + 301 * S)
    assert len(queued) == 1
    [run] = _runs(session)
    [d] = _alert_ids(session, "d")
    assert run.alert_id == d and run.state == "queued" and run.targets == ["h1"]
    [event] = runs.events(session, run.id)
    assert "once_after 300 s window ended: acting once on the latest of 3 alert events" in (
        event.reason
    )
    # h2's window opened at +100 s: it fires later, and each window fires once.
    assert _fire(session, now + 302 * S) == []
    assert len(_fire(session, now + 401 * S)) == 1
    assert _fire(session, now + 900 * S) == []
    assert [e.action for e in audit.search(session, action="runs.deferred_enqueued")] == [
        "runs.deferred_enqueued"
    ] * 2
    # The next event opens a new window.
    send(now + 1000 * S, _down("e", "h1", job="z"))
    assert _decisions(session, "e")[0][0] == "deferred"


def _alert_ids(session: Session, fp: str) -> list[int]:
    return [a.id for a in alerts.search(session, alerts.AlertFilter(fingerprint=fp))]


def test_once_after_run_passes_the_other_guards(session: Session, now: datetime) -> None:
    send = _throttled(session, now, once_after=60)
    send(now, _down("a", "h1"))
    guards.set_paused(session, paused=True, reason="maintenance", by="test", now=now)
    session.commit()
    assert _fire(session, now + 61 * S) == []
    [run] = _runs(session)
    assert run.state == "awaiting_confirmation"
    outcome, detail, run_id = _decisions(session, "a")[-1]
    assert (outcome, run_id) == ("automation_paused", run.id)
    assert "automation paused by test" in detail and "maintenance" in detail


def test_once_after_does_not_act_on_an_alert_resolved_meanwhile(
    session: Session, now: datetime
) -> None:
    send = _throttled(session, now, once_after=60)
    send(now, _down("a", "h1"))
    send(now + 30 * S, _down("a", "h1", "resolved"))
    assert _fire(session, now + 61 * S) == []
    assert _runs(session) == []
    outcome, detail, _ = _decisions(session, "a")[-1]
    assert outcome == "throttled"
    assert "no longer applies to the group's latest alert" in detail and "resolved" in detail
