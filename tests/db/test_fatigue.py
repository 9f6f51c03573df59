"""The fatigue report's SQL on both backends: firings in the window, durations and their
median, runs and acknowledged incidents as "acted on", flapping, silenced, bursts, and the
labels a silence would match."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from sophrosyne.db.bulk import insert_rows
from sophrosyne.domains.alerts import flapping
from sophrosyne.domains.alerts.models import Alert, AlertDecision, AlertEvent
from sophrosyne.domains.fatigue import service
from sophrosyne.domains.fatigue.service import Window
from sophrosyne.domains.incidents import service as incidents
from sophrosyne.domains.incidents.states import IncidentState
from sophrosyne.domains.runs.models import Run
from sophrosyne.domains.silences import service as silences
from sophrosyne.domains.silences.schemas import SilenceSpec
from tests.db.test_respond import Ingester, _in, _setup

T = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
WEEK = Window("7d", T, T + timedelta(days=7))


def _nagios_flapping_firings(changes: list[tuple[datetime, str]]) -> int:
    """Firings flagged flapping, replaying an alert's changes through the pure detector (as
    ingest does: a change is judged on the history before it; the first is never judged)."""
    was, flagged, episode = False, set(), 0
    for i, (at, status) in enumerate(changes):
        episode += status == "firing"
        if i == 0:
            continue
        was, _ = flapping.is_flapping(was, changes[:i], status, at)
        if was:
            flagged.add(episode)
    return len(flagged)


def _blip_changes() -> list[tuple[datetime, str]]:
    out = []
    for k in range(6):
        at = T + timedelta(hours=1 + k)
        out += [(at, "firing"), (at + timedelta(seconds=60), "resolved")]
    return out


def _scenario(session: Session) -> None:
    ingest = Ingester(session)
    _setup(session, T - timedelta(days=2))  # rule: alertname="Down" → a run
    ingest(T - timedelta(days=1), _in(fp="old", alertname="Old"))  # before the window
    ingest(T + timedelta(minutes=1), _in(fp="d1"))  # Down: a run
    for at, status in _blip_changes():  # Blip: six 60 s firings an hour apart, never acted on
        ingest(at, _in(status, fp="b1", alertname="Blip", cluster="eu-1"))
    ingest(T + timedelta(hours=9), _in(fp="a1", alertname="Acked", service="db"))
    [incident] = [i for i in incidents.search(session) if i.title.startswith("Acked")] or [
        i for i in incidents.search(session) if "Acked" in (i.group_key or "")
    ]
    incidents.transition(
        session,
        incident.id,
        IncidentState.ACKNOWLEDGED,
        actor="user:olga",
        now=T + timedelta(hours=9, minutes=5),
    )
    session.commit()
    # Burst: 12 alerts of one rule within a minute (one 5-minute slot)
    burst = T + timedelta(days=2)
    for n in range(12):
        ingest(burst + timedelta(seconds=5 * n), _in(fp=f"burst{n}", alertname="Burst"))
    silences.create(
        session,
        SilenceSpec.model_validate(
            {
                "matchers": ['alertname="Muted"'],
                "comment": "known",
                "ends_at": T + timedelta(days=9),
            }
        ),
        by="alice",
        now=T,
    )
    session.commit()
    ingest(T + timedelta(days=3), _in(fp="m1", alertname="Muted"))
    # Flap: firing/resolved every minute, ten changes → five firings; from the fourth change
    # on (24 % state change ≥ 20 %) it flaps: firings 3, 4 and 5 are flagged.
    flap = T + timedelta(days=4)
    for k in range(10):
        ingest(
            flap + timedelta(minutes=k),
            _in("firing" if k % 2 == 0 else "resolved", fp="f1", alertname="Flap"),
        )


def test_facts_per_signature(session: Session) -> None:
    _scenario(session)
    got = {f.alertname: f for f in service.facts(session, WEEK)}
    assert sorted(got) == ["Acked", "Blip", "Burst", "Down", "Flap", "Muted"]
    blip = got["Blip"]
    assert (blip.firings, blip.alerts, blip.acted, blip.resolved) == (6, 1, 0, 6)
    assert blip.median_seconds is not None and abs(blip.median_seconds - 60) < 0.01
    # strictly shorter: 60 s is not under 1 minute, it is under 2
    assert blip.shorter_than == {60: 0, 120: 6, 180: 6, 300: 6}
    assert blip.refires == 5 and blip.gaps_shorter_than[1800] == 0  # an hour apart
    assert blip.common_labels == {"cluster": "eu-1", "service": "web"}
    assert (got["Down"].firings, got["Down"].acted) == (1, 1)
    assert (got["Acked"].firings, got["Acked"].acted) == (1, 1)
    burst = got["Burst"]
    assert (burst.firings, burst.alerts, burst.peak, burst.resolved) == (12, 12, 12, 0)
    assert burst.median_seconds is None
    assert (got["Muted"].silenced, got["Muted"].acted) == (1, 0)
    flap = got["Flap"]
    assert (flap.firings, flap.flapping, flap.resolved, flap.refires) == (5, 3, 5, 4)
    assert flap.gaps_shorter_than == {300: 4, 600: 4, 900: 4, 1800: 4}
    assert flap.median_seconds is not None and abs(flap.median_seconds - 60) < 0.01


def test_report_ranks_and_recommends(session: Session) -> None:
    _scenario(session)
    report = service.report(session, WEEK, limit=3)
    assert report.signatures == 6 and len(report.offenders) == 3
    assert report.firings == 1 + 6 + 1 + 12 + 1 + 5
    # Hourly one-minute blips flap too by Nagios' measure (quiet stretches are few samples)
    blip_flaps = _nagios_flapping_firings(_blip_changes())
    assert blip_flaps > 0
    assert (report.acted, report.flapping, report.silenced) == (2, 3 + blip_flaps, 1)
    names = [o.alertname for o in report.offenders]
    scores = [o.score for o in report.offenders]
    assert scores == sorted(scores, reverse=True)
    # Under one a day: no frequency points. Never acted on (25), all short-lived (20), and
    # the flapping share of 15.
    expected = {
        "Blip": round(25 + 20 + round(15 * blip_flaps / 6, 1), 1),
        "Flap": 25 + 20 + 9.0,
    }
    assert {n: s for n, s in zip(names, scores, strict=True) if n in expected} == expected
    assert names[:2] == sorted(expected, key=lambda n: -expected[n])
    blip = service.report(session, WEEK, limit=10).offenders
    [b] = [o for o in blip if o.alertname == "Blip"]
    assert [r.suggestion for r in b.recommendations if r.kind == "add_for"] == ["for: 2m"]
    [burst] = [o for o in blip if o.alertname == "Burst"]
    assert "group" in [r.kind for r in burst.recommendations]


def test_an_empty_window_reports_nothing(session: Session) -> None:
    _scenario(session)
    later = Window("24h", T + timedelta(days=30), T + timedelta(days=31))
    report = service.report(session, later)
    assert (report.score, report.signatures, report.firings, report.offenders) == (0.0, 0, 0, [])


def test_at_scale_the_figures_come_from_sql(session: Session) -> None:
    """12,000 alerts of 40 rules, each firing twice (2 minutes, then still firing), a third
    of them flapping on the second firing, a run for every first firing of even alerts: the
    report reads them with grouped queries."""
    alerts, events, decisions, runs = [], [], [], []
    for n in range(12_000):
        at = T + timedelta(seconds=37 * n)
        labels = {"alertname": f"Rule{n % 40:02d}", "instance": f"i{n}"}
        alerts.append(
            {
                "id": n + 1, "source": "generic", "fingerprint": f"fp{n}", "status": "firing",
                "labels": labels, "annotations": {}, "severity": None, "generator_url": None,
                "starts_at": None, "ends_at": None, "first_seen_at": at,
                "last_seen_at": at, "episode": 2, "episode_started_at": at,
                "occurrences": 1, "total_occurrences": 3,
            }
        )  # fmt: skip
        for episode, status, offset in ((1, "firing", 0), (1, "resolved", 120), (2, "firing", 600)):
            events.append(
                {
                    "alert_id": n + 1, "episode": episode, "from_status": None,
                    "to_status": status, "at": at + timedelta(seconds=offset),
                }
            )  # fmt: skip
        if n % 2 == 0:
            runs.append(
                {
                    "action_name": "fix", "kind": "shell", "alert_id": n + 1, "alert_episode": 1,
                    "state": "succeeded", "params": {}, "argv": ["true"], "targets": [],
                    "request": {}, "results": [], "timeout_seconds": 60,
                    "requested_by": "rule", "created_at": at, "idempotent": False,
                    "automatic": True, "target_concurrency": 1, "cancel_requested": False,
                    "attempt": 1, "output": "", "output_truncated": False,
                }
            )  # fmt: skip
        if n % 3 == 0:
            decisions.append(
                {
                    "alert_id": n + 1, "episode": 2, "rule_id": None, "rule_name": "flapping",
                    "outcome": "flapping", "detail": "", "run_id": None,
                    "at": at + timedelta(seconds=600),
                }
            )  # fmt: skip
    insert_rows(session, Alert.__table__, alerts)  # type: ignore[arg-type]
    insert_rows(session, AlertEvent.__table__, events)  # type: ignore[arg-type]
    insert_rows(session, AlertDecision.__table__, decisions)  # type: ignore[arg-type]
    insert_rows(session, Run.__table__, runs)  # type: ignore[arg-type]
    session.commit()
    # As autovacuum (PostgreSQL) would have by now: planner statistics. Without any, PostgreSQL
    # estimates one row per table and probes runs (no index by alert) once per firing.
    session.execute(text("ANALYZE"))
    session.commit()
    started = time.perf_counter()
    report = service.report(session, WEEK, limit=40)
    took = time.perf_counter() - started
    print(f"fatigue report over 24,000 firings: {took:.2f} s")
    assert (report.signatures, report.firings, report.flapping) == (40, 24_000, 4_000)
    assert report.acted == 6_000
    for o in report.offenders:
        assert (o.firings, o.alerts, o.resolved, o.short_lived, o.median_seconds) == (
            600, 300, 300, 300, 120.0,
        )  # fmt: skip
