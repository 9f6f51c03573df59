"""Profile the ingest flow in this process: no HTTP, no wrk, no group commit.

    .venv/bin/python bench/profile_ingest.py [--batches 200] [--size 100] [--noise] [--profile]

A fresh SQLite file (WAL, ``synchronous`` FULL as the server opens it) gets the benchmark's
config applied (``workload.write_config``: 100 rules; with ``--noise`` also the grouping and
inhibition rules and the silences of the noise scenario); then ``--batches`` Alertmanager
webhooks of ``--size`` unique firing alerts are parsed, planned (``prepare``, as the API does
before its transaction) and stored with ``ingest_many``, one transaction each. Prints alerts/s
over the timed batches (after 10 untimed ones), the same per CPU second of this process (much
steadier on a shared machine) and, with ``--profile``, the cProfile functions
with the most cumulative time. A tool for finding where ingest spends its time, not the
benchmark: its figure leaves out HTTP and the group commit, and has no concurrency.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import checks
import workload
from sophrosyne.db import migrate
from sophrosyne.db.engine import make_engine, make_session_factory
from sophrosyne.domains.alerts.schemas import AlertmanagerPayload
from sophrosyne.domains.alerts.sources import from_alertmanager
from sophrosyne.domains.incidents.grouping import GroupingRule
from sophrosyne.domains.rules.service import RuleCache
from sophrosyne.flows.apply import apply
from sophrosyne.flows.configcode import load_dir
from sophrosyne.flows.ingest import Batch, ingest_many, prepare

WARMUP = 10


def payload(batch: int, size: int, starts_at: str) -> dict[str, Any]:
    """A webhook of ``size`` firing alerts no other batch has (as ``bench/lua/alerts.lua``)."""
    alerts = []
    for i in range(size):
        n = batch * size + i
        instance = f"bench-0-{batch}-{i}"
        alerts.append(
            {
                "status": "firing",
                "labels": {
                    "alertname": f"{workload.ALERTNAME}{n % workload.RULES}",
                    "instance": instance,
                    "job": "bench",
                    "severity": "warning",
                },
                "annotations": {"summary": f"benchmark alert {instance}"},
                "startsAt": starts_at,
                "endsAt": workload.NO_END,
                "generatorURL": "http://127.0.0.1:9090/graph",
                "fingerprint": f"{n:016x}",
            }
        )
    return {
        "version": "4",
        "groupKey": "{}:{}",
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "bench",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:9093",
        "alerts": alerts,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--batches", type=int, default=200)
    p.add_argument("--size", type=int, default=100)
    p.add_argument("--noise", action="store_true")
    p.add_argument("--profile", action="store_true")
    p.add_argument("--top", type=int, default=40)
    p.add_argument("--sort", default="cumulative", help="pstats sort key (tottime…)")
    p.add_argument("--callees", nargs="*", default=[], help="functions to break down")
    p.add_argument("--callers", nargs="*", default=[], help="functions to show callers of")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="sophrosyne-profile-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'p.db'}")
        migrate.upgrade(engine)
        sessions = make_session_factory(engine)
        config = workload.write_config(
            Path(tmp) / "config", workload.INGEST_ACTION, noise=args.noise
        )
        now = datetime.now(UTC)
        with sessions.begin() as session:
            apply(session, load_dir(config.parent), actor="bench", now=now)
        if args.noise:
            checks.add_silences(engine, workload.noise_silences(now))
        rules, default = RuleCache(), GroupingRule()
        with sessions.begin() as session:
            rules.get(session, now=now)
        starts_at = workload.rfc3339(now)

        def one(number: int) -> None:
            parsed = AlertmanagerPayload.model_validate(payload(number, args.size, starts_at))
            incoming = from_alertmanager(parsed)
            cached = rules.cached()
            prepared = prepare(incoming, cached) if cached is not None else None
            with sessions.begin() as session:
                batch = Batch(incoming, "bench", {"source": "alertmanager"}, prepared)
                ingest_many(
                    session, [batch], rules=rules, now=datetime.now(UTC), incident_default=default
                )

        for number in range(WARMUP):
            one(number)
        profiler = cProfile.Profile() if args.profile else None
        started, cpu_started = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        for number in range(WARMUP, WARMUP + args.batches):
            one(number)
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        total = args.batches * args.size
        # CPU seconds of this process: far steadier than wall time on a shared machine (other
        # work delays us but does not add to our CPU time); fsync waits are not in it.
        print(
            f"{total} alerts in {seconds:.2f} s: {total / seconds:,.0f} alerts/s; "
            f"{cpu:.2f} CPU s: {total / cpu:,.0f} alerts per CPU second"
        )
        if profiler:
            stats = pstats.Stats(profiler).sort_stats(args.sort)
            stats.print_stats(args.top)
            for name in args.callees:
                stats.print_callees(name)
            for name in args.callers:
                stats.print_callers(name)
        engine.dispose()


if __name__ == "__main__":
    main()
