"""How long each report takes server-side with 10,000 alerts and 10,000 runs stored.

Seeds a fresh migrated database (SQLite in a temporary folder, or the PostgreSQL database
given with ``--pg-url``, which must be empty and migrated) with a synthetic history spread
over 90 days: ``--alerts`` alerts pointing at 50 targets with 1-4 firing episodes each,
``--runs`` runs of 20 actions in every state, and one incident per ten alerts. Then times
every report for 24h, 7d, 30d and 90d, with and without a target, through the page (the
full server-side path: query, charts, template) and prints the median wall and CPU time
of ``--repeat`` tries.

    .venv/bin/python bench/reports.py                  # SQLite
    .venv/bin/python bench/reports.py --pg-url postgresql://postgres@127.0.0.1/bench_db
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from sophrosyne.api import access
from sophrosyne.app import create_app
from sophrosyne.config import Settings
from sophrosyne.db.engine import make_engine
from sophrosyne.db.migrate import upgrade
from sophrosyne.domains.accounts import sessions, users
from sophrosyne.domains.accounts.models import User
from sophrosyne.domains.alerts.models import Alert, AlertEvent
from sophrosyne.domains.incidents.models import Incident, IncidentAlert
from sophrosyne.domains.runs.models import Run
from sophrosyne.domains.targets.models import Target

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
STATES = ["succeeded"] * 14 + ["failed"] * 3 + ["timed_out", "cancelled", "interrupted", "queued"]
REPORTS = ("overview", "actions", "servers", "errors", "insights")


def seed(engine: Engine, n_alerts: int, n_runs: int) -> None:
    rnd = random.Random(7)
    span = timedelta(days=90).total_seconds()

    def when() -> datetime:
        return NOW - timedelta(seconds=rnd.random() * span)

    hosts = [f"host-{i:02d}" for i in range(50)]
    with engine.begin() as conn:
        conn.execute(
            insert(Target),
            [
                {
                    "name": h,
                    "address": h,
                    "port": 22,
                    "labels": {},
                    "enabled": True,
                    "host_keys": [],
                    "trust_on_first_use": False,
                    "managed_by": "api",
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for h in hosts
            ],
        )
        alerts, events = [], []
        for i in range(1, n_alerts + 1):
            first = when()
            episodes = rnd.randint(1, 4)
            alerts.append(
                {
                    "id": i,
                    "source": "alertmanager",
                    "fingerprint": f"fp{i:06d}",
                    "status": rnd.choice(["firing", "resolved"]),
                    "labels": {
                        "alertname": f"Alert{i % 200}",
                        "instance": f"{rnd.choice(hosts)}:9100",
                    },
                    "annotations": {},
                    "first_seen_at": first,
                    "last_seen_at": first,
                    "episode": episodes,
                    "episode_started_at": first,
                }
            )
            at = first
            for ep in range(1, episodes + 1):
                events.append(
                    {
                        "alert_id": i,
                        "episode": ep,
                        "from_status": None,
                        "to_status": "firing",
                        "at": at,
                    }
                )
                at += timedelta(minutes=rnd.randint(1, 300))
                events.append(
                    {
                        "alert_id": i,
                        "episode": ep,
                        "from_status": "firing",
                        "to_status": "resolved",
                        "at": at,
                    }
                )
                at += timedelta(minutes=rnd.randint(1, 600))
        conn.execute(insert(Alert), alerts)
        conn.execute(insert(AlertEvent), events)
        runs = []
        for i in range(n_runs):
            created = when()
            state = rnd.choice(STATES)
            finished = state not in ("queued", "cancelled")
            runs.append(
                {
                    "action_name": f"action-{i % 20}",
                    "kind": "shell",
                    "state": state,
                    "params": {},
                    "argv": ["true"],
                    "targets": [rnd.choice(hosts)]
                    if i % 5
                    else [rnd.choice(hosts), rnd.choice(hosts)],
                    "request": {},
                    "results": [],
                    "alert_id": rnd.randint(1, n_alerts),
                    "timeout_seconds": 300,
                    "idempotent": False,
                    "requested_by": "bench",
                    "created_at": created,
                    "started_at": created + timedelta(seconds=1) if finished else None,
                    "finished_at": created + timedelta(seconds=rnd.randint(2, 400))
                    if finished
                    else None,
                    "exit_code": 0
                    if state == "succeeded"
                    else (rnd.randint(1, 3) if finished else None),
                    "output": "" if state == "succeeded" else f"error {rnd.randint(1, 30)}\nmore",
                    "error": "timed out" if state == "timed_out" else None,
                    "attempt": 1,
                    "cancel_requested": False,
                    "output_truncated": False,
                    "automatic": True,
                    "target_concurrency": 1,
                }
            )
        conn.execute(insert(Run), runs)
        incidents, links = [], []
        for i in range(1, n_alerts // 10 + 1):
            opened = when()
            resolved = opened + timedelta(minutes=rnd.randint(5, 600)) if i % 4 else None
            incidents.append(
                {
                    "id": i,
                    "title": f"incident {i}",
                    "status": "resolved" if resolved else "triggered",
                    "follow_ups": [],
                    "opened_by": "bench",
                    "opened_at": opened,
                    "acknowledged_at": opened + timedelta(minutes=rnd.randint(1, 30)),
                    "resolved_at": resolved,
                    "updated_at": opened,
                    "auto_resolve": True,
                    "summary": "",
                    "root_cause": "",
                }
            )
            links.append(
                {
                    "incident_id": i,
                    "alert_id": i * 10,
                    "status": "firing",
                    "first_attached_at": opened,
                    "last_attached_at": opened,
                }
            )
        conn.execute(insert(Incident), incidents)
        conn.execute(insert(IncidentAlert), links)


def measure(url: str, data_dir: Path, repeat: int) -> list[tuple[str, str, str, float, float]]:
    engine = make_engine(url)
    app = create_app(Settings(data_dir=data_dir, database_url=url), engine=engine)
    with Session(engine) as session, session.begin():
        session.add(
            User(
                username="bench",
                display_name="bench",
                role="viewer",
                password_hash="x",
                must_change_password=False,
                failed_logins=0,
                disabled=False,
                created_at=NOW,
                updated_at=NOW,
            )
        )
    out = []
    with TestClient(app) as client:
        state = app.state.sophrosyne
        with Session(engine) as session, session.begin():
            started_session = sessions.start(
                session,
                users.get_by_username(session, "bench"),
                now=state.clock(),
                lifetime=access.lifetime(state.settings),
                idle=access.idle_timeout(state.settings),
            )
        client.cookies.set(access.SESSION_COOKIE, started_session.session_id)
        state.clock = lambda: NOW
        for name in REPORTS:
            for window in ("24h", "7d", "30d", "90d"):
                for target in ("", "host-07"):
                    query = f"window={window}" + (f"&target={target}" if target else "")
                    times: list[float] = []
                    cpu: list[float] = []
                    for _ in range(repeat):
                        started, busy = time.perf_counter(), time.process_time()
                        reply = client.get(f"/reports/{name}?{query}")
                        times.append((time.perf_counter() - started) * 1000)
                        cpu.append((time.process_time() - busy) * 1000)
                        assert reply.status_code == 200, reply.text
                    out.append(
                        (
                            name,
                            window,
                            target or "-",
                            statistics.median(times),
                            statistics.median(cpu),
                        )
                    )
    engine.dispose()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pg-url", default="")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.pg_url or f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        upgrade(engine)
        started = time.perf_counter()
        seed(engine, args.alerts, args.runs)
        engine.dispose()
        took = time.perf_counter() - started
        print(f"seeded {args.alerts} alerts, {args.runs} runs in {took:.1f} s")
        rows: list[Any] = measure(url, Path(tmp), args.repeat)
    print(f"{'report':<10} {'window':<6} {'target':<8} {'wall ms':>8} {'cpu ms':>7}")
    for name, window, target, ms, cpu in rows:
        print(f"{name:<10} {window:<6} {target:<8} {ms:8.1f} {cpu:7.1f}")
    print(f"slowest: wall {max(r[3] for r in rows):.1f} ms, cpu {max(r[4] for r in rows):.1f} ms")


if __name__ == "__main__":
    main()
