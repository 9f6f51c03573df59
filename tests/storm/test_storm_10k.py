"""The recorded storm: a week of Alertmanager webhooks carrying 10,000 alerts (re-sends, HA
duplicates, flapping links, a silenced set, an inhibited set, outages that make incidents),
replayed through the real ingest API on the application's clock, with the notification pump
sending to a real HTTP receiver on loopback. Every figure asserted comes from the generator's
own model (``tests/fixtures/storm/storm-10k.truth.json``, written by ``make_storm.py``), and
the fatigue scores from the README's formula written again here, never from the code under
test. Both backends."""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.domains.alerts.models import Alert, AlertDecision, AlertEvent
from sophrosyne.domains.incidents.models import Incident, IncidentAlert
from sophrosyne.domains.notifications.models import Notification
from sophrosyne.executors.notify import AppriseNotifier
from sophrosyne.flows import announce, notify
from sophrosyne.flows.apply import apply
from sophrosyne.flows.configcode import load_dir
from tests.api.helpers import AM_URL, Api, Clock
from tests.executors.httpd import Server

STORM = Path(__file__).parent.parent / "fixtures" / "storm"
INHIBIT = """
inhibit_rules:
  - source_matchers: ['alertname="NodeDown"']
    target_matchers: ['alertname="ServiceUnreachable"']
    equal: [node]
"""


def _truth() -> dict[str, Any]:
    return json.loads((STORM / "storm-10k.truth.json").read_text(encoding="utf-8"))


def _lines() -> list[dict[str, Any]]:
    with gzip.open(STORM / "storm-10k.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


# The README's formula ("Alert fatigue"), written again from the text.
WEIGHTS = {"frequency": 30, "never_acted": 25, "short_lived": 20, "flapping": 15, "held_back": 10}


def expected_score(s: dict[str, Any], days: float) -> tuple[float, dict[str, float]]:
    per_day = s["firings"] / days
    share = {
        "frequency": 0.0 if per_day <= 1 else min(1.0, math.log(per_day) / math.log(24)),
        "never_acted": (s["firings"] - s["acted"]) / s["firings"],
        "short_lived": s["shorter_than"]["300"] / s["resolved"] if s["resolved"] else 0.0,
        "flapping": s["flapping"] / s["firings"],
        "held_back": min(1.0, (s["silenced"] + s["inhibited"]) / s["firings"]),
    }
    volume = min(1.0, s["firings"] / 5)
    points = {
        k: round(WEIGHTS[k] * v * (1 if k == "frequency" else volume), 1) for k, v in share.items()
    }
    return round(sum(points.values()), 1), points


def expected_kinds(s: dict[str, Any], days: float) -> list[str]:
    per_day, n = s["firings"] / days, s["firings"]
    held = (s["silenced"] + s["inhibited"]) / n
    short = s["shorter_than"]["300"] / s["resolved"] if s["resolved"] else 0.0
    rules = [
        ("add_for", short >= 0.5),
        ("hysteresis", s["flapping"] / n >= 0.2),
        ("raise_threshold", (n - s["acted"]) / n >= 0.8 and per_day >= 1),
        ("group", s["peak"] >= 10),
        ("silence", s["acted"] == 0 and held < 0.5 and per_day >= 10),
        ("fix_rule", held >= 0.8),
    ]
    return [kind for kind, wanted in rules if wanted] if n >= 5 else []


def _held_by(reason: str | None) -> str:
    """What an incident's suppressed announcement says held its alerts back."""
    for kind in ("silenced", "inhibited", "held back"):
        if (reason or "").startswith(f"every alert of the incident is {kind}"):
            return kind
    return f"unexpected: {reason}"


def _setup(app: FastAPI, api: Api, tmp_path: Path, t0: datetime) -> None:
    for name, route in (("all", {}), ("pager", {"min_severity": "critical"})):
        made = api.post("/api/v1/channels", json={"name": name, "url_env": f"STORM_{name.upper()}"})
        assert made.status_code == 201, made.text
        body = {"name": name, "channels": [name], **route}
        assert api.post("/api/v1/notification-routes", json=body).status_code == 201
    silence = {
        "matchers": ['alertname="BackupSlow"'],
        "comment": "backups are slow, known",
        "starts_at": (t0 - timedelta(hours=1)).isoformat(),
        "ends_at": (t0 + timedelta(days=8)).isoformat(),
    }
    assert api.post("/api/v1/silences", json=silence).status_code == 201
    (tmp_path / "noise.yaml").write_text(INHIBIT, encoding="utf-8")
    with app.state.sophrosyne.transaction() as session:
        apply(session, load_dir(tmp_path), actor="cli", now=t0)


def _replay(
    api: Api,
    clock: Clock,
    pump: Any,
    t0: datetime,
) -> Counter[str]:
    """Post every webhook at its time; acknowledge as recorded; pump every simulated hour."""
    totals: Counter[str] = Counter()
    next_pump = 0.0
    for line in _lines():
        while line["at"] >= next_pump:
            clock.now = t0 + timedelta(seconds=next_pump)
            pump()
            next_pump += 3600
        clock.now = t0 + timedelta(seconds=line["at"])
        if "ack" in line:
            [incident] = api.get(
                "/api/v1/incidents", params={"status": "triggered", "service": line["ack"]}
            ).json()["items"]
            acked = api.post(f"/api/v1/incidents/{incident['id']}/acknowledge", json={})
            assert acked.status_code == 200, acked.text
            totals["acks"] += 1
            continue
        reply = api.post(AM_URL, content=json.dumps(line["post"]))
        assert reply.status_code == 200, reply.text
        totals.update({k: v for k, v in reply.json().items() if isinstance(v, int)})
        totals["posts"] += 1
    return totals


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch, server: Server) -> Server:
    """The loopback HTTP receiver, named by the channels' ``url_env`` variables."""
    port = server.base.rsplit(":", 1)[1]
    for name in ("all", "pager"):
        monkeypatch.setenv(f"STORM_{name.upper()}", f"json://127.0.0.1:{port}/{name}")
    return server


def test_a_recorded_storm_of_ten_thousand_alerts(
    app: FastAPI,
    api: Api,
    clock: Clock,
    receiver: Server,
    engine: Engine,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    truth = _truth()
    t0 = datetime.fromisoformat(truth["t0"])
    clock.now = t0 - timedelta(minutes=10)
    _setup(app, api, tmp_path, t0)
    settings = app.state.sophrosyne.settings
    is_acknowledged = announce.acknowledged(engine)

    def pump() -> None:
        notify.housekeep(
            session_factory,
            AppriseNotifier(),
            settings=settings,
            keyring=None,
            clock=clock,
            is_acknowledged=is_acknowledged,
        )

    started = time.monotonic()
    totals = _replay(api, clock, pump, t0)
    clock.now = t0 + timedelta(seconds=truth["end_seconds"])
    pump()
    replayed = time.monotonic() - started

    # What went in, as the ingest replies counted it.
    assert totals["received"] == truth["alerts_sent"] == 10_000
    assert (totals["posts"], totals["acks"]) == (truth["posts"], truth["acks"])
    assert totals["created"] == truth["alerts"]
    assert totals["state_changes"] == truth["state_changes"]
    assert totals["runs_enqueued"] == 0

    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == truth["alerts"]
        assert s.scalar(select(func.count()).select_from(AlertEvent)) == truth["state_changes"]
        # Incidents: (service, severity, alerts in it), as the model grouped them.
        got = s.execute(
            select(Incident.service, Incident.severity, func.count(IncidentAlert.id))
            .join(IncidentAlert, IncidentAlert.incident_id == Incident.id)
            .group_by(Incident.id, Incident.service, Incident.severity)
        ).all()
        assert sorted([svc or "", sev, n] for svc, sev, n in got) == truth["incidents"]
        # Decisions: silenced, inhibited and flapping, and which alerts flapped.
        outcomes = dict(
            s.execute(
                select(AlertDecision.outcome, func.count()).group_by(AlertDecision.outcome)
            ).all()
        )
        assert outcomes == truth["decisions"]
        flapped = s.scalars(
            select(Alert.fingerprint)
            .where(
                Alert.id.in_(
                    select(AlertDecision.alert_id).where(AlertDecision.outcome == "flapping")
                )
            )
            .order_by(Alert.fingerprint)
        ).all()
        assert list(flapped) == truth["flapping_alerts"]
        # Notifications: an incident whose every alert was silenced or inhibited pages no one
        # (one suppressed record, no route's); every other one to "all", critical ones to
        # "pager", the rest suppressed by the pager route's minimum severity.
        notes = Counter(
            (route, status)
            for route, status in s.execute(select(Notification.route, Notification.status))
        )
        held = Counter(
            _held_by(reason)
            for reason in s.scalars(select(Notification.reason).where(Notification.route.is_(None)))
        )
    expected = truth["notifications"]
    assert notes == {
        ("all", "sent"): expected["sent_all"],
        ("pager", "sent"): expected["sent_pager"],
        ("pager", "suppressed"): expected["suppressed"],
        (None, "suppressed"): sum(expected["held"].values()),
    }
    assert held == {k: n for k, n in expected["held"].items() if n}
    hooks = Counter(r.path for r in receiver.requests)
    assert hooks == {"/all": expected["sent_all"], "/pager": expected["sent_pager"]}

    # The fatigue report over the week: facts, scores and order from the model and formula.
    days = truth["end_seconds"] / 86400
    report = api.get("/api/v1/fatigue?window=7d&limit=50").json()
    signatures = truth["signatures"]
    scores = {name: expected_score(s, days) for name, s in signatures.items()}
    order = sorted(signatures, key=lambda n: (-scores[n][0], -signatures[n]["firings"], n))
    assert [o["alertname"] for o in report["offenders"]] == order
    assert report["signatures"] == len(signatures)
    assert report["firings"] == sum(s["firings"] for s in signatures.values())
    weighted = sum(scores[n][0] * s["firings"] for n, s in signatures.items())
    assert report["score"] == round(weighted / report["firings"], 1)
    for o in report["offenders"]:
        s = signatures[o["alertname"]]
        facts = {
            k: o[k]
            for k in ("firings", "alerts", "acted", "flapping", "silenced", "inhibited", "peak")
        }
        assert facts == {k: s[k] for k in facts}, o["alertname"]
        assert o["short_lived"] == s["shorter_than"]["300"]
        assert o["median_seconds"] == s["median_seconds"]
        assert o["score"] == scores[o["alertname"]][0], o["alertname"]
        assert {c["name"]: c["points"] for c in o["components"]} == scores[o["alertname"]][1]
        kinds = [r["kind"] for r in o["recommendations"]]
        assert kinds == expected_kinds(s, days), o["alertname"]
    by_name = {o["alertname"]: o for o in report["offenders"]}
    suggestions = {n: [r["suggestion"] for r in by_name[n]["recommendations"]] for n in by_name}
    assert "for: 2m" in suggestions["CronLag"]  # every firing lasted 90 s
    assert "keep_firing_for: 5m" in suggestions["LinkFlap"]  # back within a minute
    exported = api.get("/api/v1/fatigue?window=7d&limit=50&format=csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["alertname"] for r in rows] == order
    print(f"storm replayed in {replayed:.1f} s")
