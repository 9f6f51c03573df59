"""Silences: their states, and their effect on ingest (stored, recorded, never acted on)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from sophrosyne.domains.alerts import service as alerts
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.runs import service as runs
from sophrosyne.domains.silences import service as silences
from sophrosyne.domains.silences.schemas import SilenceSpec
from sophrosyne.errors import ValidationFailed
from tests.db.test_respond import Ingester, _alert_id, _in, _setup


def _silence(session: Session, now: datetime, **extra: object) -> int:
    spec = {
        "matchers": ['alertname="Down"', 'service=~"web|api"'],
        "comment": "deploying web",
        "ends_at": now + timedelta(hours=1),
        **extra,
    }
    created = silences.create(session, SilenceSpec.model_validate(spec), by="alice", now=now)
    session.commit()
    return created.id


def _ids(session: Session, now: datetime, state: str) -> list[int]:
    return [s.id for s in silences.list_all(session, now=now, state=state)]  # type: ignore[arg-type]


def test_silence_states_active_pending_expired(session: Session, now: datetime) -> None:
    active = _silence(session, now)
    pending = _silence(
        session, now, starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=2)
    )
    done = _silence(session, now - timedelta(hours=2), ends_at=now - timedelta(hours=1))
    assert _ids(session, now, "active") == [active]
    assert _ids(session, now, "pending") == [pending]
    assert _ids(session, now, "expired") == [done]
    assert silences.to_out(silences.get(session, pending), now).state == "pending"
    silences.expire(session, active, now=now)
    session.commit()
    assert sorted(_ids(session, now, "expired")) == sorted([active, done])


def test_bad_matcher_is_refused_naming_the_field(session: Session, now: datetime) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _silence(session, now, matchers=['alertname="Down"', "not a matcher"])
    assert [e.loc for e in caught.value.errors] == [("matchers", 1)]


def test_silenced_alert_is_stored_with_a_decision_and_no_run(
    session: Session, now: datetime
) -> None:
    _setup(session, now)
    send = Ingester(session)
    silence_id = _silence(session, now)
    out = send(now, _in())
    assert out.reply.received == 1 and out.reply.runs_enqueued == 0
    assert runs.search(session) == []
    [decision] = alerts.decisions(session, _alert_id(session))
    assert decision.outcome == "silenced"
    assert decision.detail == f"silence {silence_id} by alice: deploying web"
    # Another alert, not matched by the silence, still runs.
    assert send(now, _in(fp="fp2", service="db")).reply.runs_enqueued == 1
    # A resolved alert still resolves.
    send(now + timedelta(minutes=1), _in("resolved"))
    assert alerts.get(session, _alert_id(session)).status == "resolved"


def test_pending_silence_does_not_hold_back_until_it_starts(
    session: Session, now: datetime
) -> None:
    _setup(session, now)
    send = Ingester(session)
    _silence(session, now, starts_at=now + timedelta(minutes=10), ends_at=now + timedelta(hours=1))
    assert send(now, _in()).reply.runs_enqueued == 1
    # Once it started (no change to any silence: checked against the time), it holds back.
    later = now + timedelta(minutes=11)
    assert send(later, _in(fp="fp2")).reply.runs_enqueued == 0
    assert [d.outcome for d in alerts.decisions(session, _alert_id(session, "fp2"))] == ["silenced"]
    # After it ends, alerts run again.
    assert send(now + timedelta(hours=2), _in(fp="fp3")).reply.runs_enqueued == 1


def test_expire_on_resolve_ends_the_silence_and_is_audited(session: Session, now: datetime) -> None:
    _setup(session, now)
    send = Ingester(session)
    silence_id = _silence(session, now, expire_on_resolve=True)
    keep_id = _silence(session, now, matchers=['alertname="Other"'], expire_on_resolve=True)
    send(now, _in())
    assert runs.search(session) == []
    later = now + timedelta(minutes=5)
    send(later, _in("resolved"))
    assert silences.get(session, silence_id).ends_at == later
    assert silences.get(session, keep_id).ends_at == now + timedelta(hours=1)
    [entry] = [e for e in audit.search(session) if e.action == "silences.expired"]
    assert entry.object_id == str(silence_id)
    # The silence has ended: the alert firing again runs.
    assert send(later + timedelta(minutes=1), _in()).reply.runs_enqueued == 1
