"""Concurrent ingestion on PostgreSQL, where several API processes share one database.

These tests take ``pg_url`` directly (not the two-backend ``db_url``) and build their own
engine, so each thread has its own connection. Every name is unique per test, so rows left
by other tests in the shared session database cannot interfere.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.db.engine import make_engine, make_session_factory
from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.actions.schemas import ActionSpec
from sophrosyne.domains.alerts.models import Alert, AlertEvent
from sophrosyne.domains.alerts.schemas import IncomingAlert
from sophrosyne.domains.rules import service as rules
from sophrosyne.domains.rules.schemas import RuleSpec
from sophrosyne.domains.runs.models import Run
from sophrosyne.flows.ingest import ingest

ATTEMPTS = 6
BATCH = 500


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    eng = make_engine(pg_url)
    yield eng
    eng.dispose()


@pytest.fixture
def pg_sessions(pg_engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(pg_engine)


def _in(fp: str, alertname: str) -> IncomingAlert:
    return IncomingAlert(
        source="generic",
        fingerprint=fp,
        status="firing",
        labels={"alertname": alertname, "service": "web"},
        annotations={},
        severity=None,
        starts_at=None,
        ends_at=None,
        generator_url=None,
    )


def _race(n: int, work: Callable[[int], None]) -> list[BaseException]:
    """Run ``work(i)`` in ``n`` threads released together; return what they raised."""
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def target(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            work(i)
        except BaseException as exc:  # collected and asserted on by the test
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return errors


def test_two_writers_same_new_fingerprint(
    pg_sessions: sessionmaker[Session], now: datetime
) -> None:
    tag = uuid.uuid4().hex[:10]
    alertname = f"Race{tag}"
    with pg_sessions.begin() as s:
        actions.create(
            s,
            ActionSpec(
                name=f"act-{tag}", argv=["echo", "{{ params.svc }}"], parameters=[{"name": "svc"}]
            ),
            now=now,
        )
        rule = rules.create(
            s,
            RuleSpec(
                name=f"rule-{tag}",
                matchers=[f'alertname="{alertname}"'],
                action=f"act-{tag}",
                parameters={"svc": "{{ labels.service }}"},
            ),
            now=now,
        )
        rule_id = rule.id
    cache = rules.RuleCache()
    fp = f"fp-{tag}"

    def work(_: int) -> None:
        with pg_sessions.begin() as s:
            ingest(s, [_in(fp, alertname)], actor="test", rules=cache, now=now)

    errors = _race(2, work)
    assert errors == []

    with pg_sessions() as s:
        stored = s.scalars(select(Alert).where(Alert.fingerprint == fp)).all()
        assert len(stored) == 1
        alert = stored[0]
        assert alert.total_occurrences == 2
        assert alert.occurrences == 2
        assert alert.episode == 1
        created_events = s.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id)).all()
        assert [(e.from_status, e.to_status) for e in created_events] == [(None, "firing")]
        runs = s.scalars(select(Run).where(Run.alert_id == alert.id, Run.rule_id == rule_id)).all()
        assert len(runs) == 1


def test_many_writers_same_new_fingerprint(
    pg_sessions: sessionmaker[Session], now: datetime
) -> None:
    fp = f"fp-{uuid.uuid4().hex[:10]}"
    cache = rules.RuleCache()

    def work(_: int) -> None:
        with pg_sessions.begin() as s:
            ingest(s, [_in(fp, "NoRuleMatches")], actor="test", rules=cache, now=now)

    errors = _race(6, work)
    assert errors == []
    with pg_sessions() as s:
        [alert] = s.scalars(select(Alert).where(Alert.fingerprint == fp)).all()
        assert alert.total_occurrences == 6


def test_writers_listing_the_same_new_alerts_in_different_orders(
    pg_sessions: sessionmaker[Session], now: datetime
) -> None:
    """Senders (an Alertmanager HA pair, generic clients) may list the same new alerts in a
    different order; no request may fail (e.g. with a deadlock) and so lose its alerts."""
    cache = rules.RuleCache()
    failures: list[str] = []
    for attempt in range(ATTEMPTS):
        tag = uuid.uuid4().hex[:10]
        fps = [f"fp-{tag}-{i:04d}" for i in range(BATCH)]
        orders = [fps, fps[::-1], fps[::2] + fps[1::2], fps[1::2][::-1] + fps[::2][::-1]]

        def work(i: int, orders: list[list[str]] = orders) -> None:
            with pg_sessions.begin() as s:
                batch = [_in(fp, "NoRuleMatches") for fp in orders[i]]
                ingest(s, batch, actor="test", rules=cache, now=now)

        errors = _race(len(orders), work)
        failures += [f"attempt {attempt}: {type(e).__name__}: {e}"[:300] for e in errors]
        if failures:
            break
        with pg_sessions() as s:
            stored = s.scalars(select(Alert).where(Alert.fingerprint.in_(fps))).all()
            assert len(stored) == len(fps)
            assert {a.total_occurrences for a in stored} == {len(orders)}
    assert failures == []
