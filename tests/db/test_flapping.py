"""Flap detection (Nagios' weighted percent state change) and its effect on ingest."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from sophrosyne.domains.alerts import service as alerts
from sophrosyne.domains.alerts.flapping import percent_state_change, samples
from sophrosyne.domains.runs import service as runs
from tests.db.test_respond import Ingester, _alert_id, _in, _setup


def test_percent_state_change_weights_newer_changes_more() -> None:
    assert percent_state_change(["firing"] * 21) == 0.0
    assert percent_state_change(["firing", "resolved"] * 10 + ["firing"]) == pytest.approx(100.0)
    # One change, newest (weight 1.25) or oldest (0.75), over 20 transitions.
    assert percent_state_change(["firing"] * 20 + ["resolved"]) == pytest.approx(6.25)
    assert percent_state_change(["firing"] + ["resolved"] * 20) == pytest.approx(3.75)
    # Four changes at the newest end: (4 * 0.75 + (16+17+18+19) * 0.5 / 19) / 20.
    assert percent_state_change(["firing", "resolved", "firing", "resolved", "firing"]) == (
        pytest.approx((3 + 70 * 0.5 / 19) * 5)
    )


def test_quiet_stretches_count_as_unchanged_samples(now: datetime) -> None:
    events = [(now, "firing"), (now + timedelta(minutes=11), "resolved")]
    assert samples(events, until=now + timedelta(minutes=11)) == ["firing"] * 3 + ["resolved"]


def test_flapping_starts_at_20_percent_and_stops_below_5(session: Session, now: datetime) -> None:
    _setup(session, now)
    send = Ingester(session)
    statuses = ["firing", "resolved", "firing", "resolved", "firing"]
    replies = [send(now + timedelta(minutes=i), _in(s)).reply for i, s in enumerate(statuses)]
    # Changes 1-4 (18.4 % at the fourth) act; the fifth reaches 24.2 % and is held back.
    assert [r.runs_enqueued for r in replies] == [1, 0, 1, 0, 0]
    [decision] = alerts.decisions(session, _alert_id(session))
    assert decision.outcome == "flapping"
    assert decision.detail.startswith("flapping: 24.2% state change")
    assert len(runs.search(session)) == 2
    # Still flapping (between 5 % and 20 % keeps the state): another quick change is held.
    send(now + timedelta(minutes=5), _in("resolved"))
    assert send(now + timedelta(minutes=6), _in("firing")).reply.runs_enqueued == 0
    # Quiet for two hours: the history is all "firing", 0 % < 5 %, so flapping stops and the
    # next change acts again (its own history: one change, 6.25 %, below the start).
    later = now + timedelta(hours=2)
    send(later, _in("resolved"))
    assert send(later + timedelta(hours=2), _in("firing")).reply.runs_enqueued == 1
