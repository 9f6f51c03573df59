from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from sophrosyne.db.engine import make_session_factory
from sophrosyne.domains.alerts import service as alerts
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.rules import service as rules
from sophrosyne.domains.rules.schemas import RuleSpec
from sophrosyne.domains.runs import service as runs
from sophrosyne.flows.ingest import Batch, ingest, ingest_many, prepare
from tests.factories import echo_action
from tests.factories import incoming_alert as _alert


def test_ingest_enqueues_once_per_episode(session: Session, now: datetime) -> None:
    echo_action(session, now)
    rules.create(
        session,
        RuleSpec(
            name="r",
            matchers=['alertname="Down"'],
            action="restart",
            parameters={"svc": "{{ labels.service }}"},
        ),
        now=now,
    )
    session.commit()
    cache = rules.RuleCache()
    out = ingest(
        session,
        [_alert("a", service="web"), _alert("a", service="web")],
        actor="t",
        rules=cache,
        now=now,
    )
    session.commit()
    assert out.reply.created == 1 and out.reply.updated == 1
    assert out.reply.runs_enqueued == 1
    out = ingest(session, [_alert("a", service="web")], actor="t", rules=cache, now=now)
    session.commit()
    assert out.reply.runs_enqueued == 0
    ingest(session, [_alert("a", "resolved", service="web")], actor="t", rules=cache, now=now)
    out = ingest(session, [_alert("a", service="web")], actor="t", rules=cache, now=now)
    session.commit()
    assert out.reply.runs_enqueued == 1
    stored = alerts.search(session, alerts.AlertFilter())
    assert stored[0].episode == 2
    queued = runs.search(session, state="queued")
    assert [r.argv for r in queued] == [["echo", "web"], ["echo", "web"]]
    claimed = runs.claim(session, worker_id="w1", now=now)
    session.commit()
    assert claimed is not None and claimed.state == "running"


def test_a_read_only_session_does_not_block_writers(engine: Engine) -> None:
    """On SQLite a reading request must not hold the write lock (WAL readers are free)."""
    reader = make_session_factory(engine, readonly=True)
    writer = make_session_factory(engine)
    with reader.begin() as r:
        r.execute(text("SELECT count(*) FROM alerts")).scalar_one()
        # Still inside the read transaction: a writer gets through at once.
        with writer.begin() as w:
            w.execute(text("UPDATE catalog_revision SET revision = revision + 1"))


def test_prepared_plans_are_dropped_when_rules_changed_meanwhile(
    session: Session, now: datetime
) -> None:
    echo_action(session, now)
    session.commit()
    cache = rules.RuleCache()
    stale = prepare([_alert("b", service="db")], cache.get(session))
    assert stale.plans == [[]]  # no rule yet
    rules.create(
        session,
        RuleSpec(name="r", action="restart", parameters={"svc": "{{ labels.service }}"}),
        now=now,
    )
    session.commit()
    out = ingest(
        session, [_alert("b", service="db")], actor="t", rules=cache, now=now, prepared=stale
    )
    session.commit()
    assert out.reply.runs_enqueued == 1
    assert cache.cached() is not None and len(cache.cached() or []) == 1


def test_ingest_many_answers_each_batch_for_its_own_alerts(session: Session, now: datetime) -> None:
    echo_action(session, now)
    rules.create(
        session,
        RuleSpec(name="r", action="restart", parameters={"svc": "{{ labels.service }}"}),
        now=now,
    )
    session.commit()
    cache = rules.RuleCache()
    first = Batch([_alert("x", service="a"), _alert("y", service="b")], actor="token:one")
    second = Batch([_alert("x", service="a"), _alert("z", service="c")], actor="token:two")
    one, two = ingest_many(session, [first, second], rules=cache, now=now)
    session.commit()
    assert (one.reply.created, one.reply.runs_enqueued) == (2, 2)
    # "x" is a re-send in the second batch: stored once, run once, credited to the first.
    assert (two.reply.created, two.reply.updated, two.reply.runs_enqueued) == (1, 1, 1)
    assert set(one.queued_run_ids).isdisjoint(two.queued_run_ids)
    entries = audit.search(session, action="alerts.ingested")
    assert sorted(e.actor for e in entries) == ["token:one", "token:two"]


def test_connections_are_set_up_for_short_queries(engine: Engine) -> None:
    """PostgreSQL: no JIT (it compiled a report query for a second to save milliseconds);
    SQLite: write-ahead log, so readers do not wait for the writer."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            assert conn.exec_driver_sql("SHOW jit").scalar() == "off"
        else:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
