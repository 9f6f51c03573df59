"""Sophrosyne's benchmark: ingest throughput (beside Alertmanager's) and run-start latency.

    make bench                                  # or:
    .venv/bin/python bench/run.py [--quick] [--backends sqlite,postgresql] [--duration S]

It starts everything it needs on loopback (Sophrosyne, Alertmanager, a throwaway PostgreSQL
database), prints its figures as tables, writes them to bench/results/latest.json and stops
and removes everything again. Exit status: 0 when it measured (even if a target was missed),
1 when the database check of persisted alerts failed, 2 when it could not run, 130 when
interrupted.
See docs/performance.md.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import ingest
import latency
import report
import servers
import stack
import wrk

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
AM_NOTE = (
    "* Alertmanager keeps alerts only in memory (nothing is written to disk per alert); "
    "Sophrosyne commits every alert, its state change, its run and the run's first event, "
    "and an audit entry per request, to the "
    "database before it answers 200."
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--quick", action="store_true", help="smoke run: 3 s per measurement, 100 latency samples"
    )
    p.add_argument(
        "--backends",
        default="sqlite,postgresql",
        help="comma-separated: sqlite, postgresql (default both)",
    )
    p.add_argument("--duration", type=int, help="seconds per throughput measurement (10)")
    p.add_argument("--batches", default="1,10,100", help="alerts per request (1,10,100)")
    p.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    p.add_argument("--connections", type=int, default=8, help="wrk connections (8)")
    p.add_argument("--latency-samples", type=int, help="alerts for the latency test (300)")
    p.add_argument("--latency-rate", type=float, default=20.0, help="alerts/s there (20)")
    p.add_argument(
        "--sqlite-synchronous",
        choices=("FULL", "NORMAL"),
        default="FULL",
        help="SOPHROSYNE_SQLITE_SYNCHRONOUS for the server (FULL, the default)",
    )
    p.add_argument("--no-alertmanager", action="store_true", help="skip the Alertmanager peer")
    p.add_argument("--output", type=Path, default=RESULTS, help=f"JSON file ({RESULTS.name})")
    p.add_argument("--keep", action="store_true", help="keep the work dir (logs) for debugging")
    args = p.parse_args(argv)
    args.duration = args.duration or (3 if args.quick else 10)
    args.warmup = 1 if args.quick else 2
    args.latency_samples = args.latency_samples or (100 if args.quick else 300)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    args.batches = tuple(int(b) for b in args.batches.split(","))
    unknown = set(args.backends) - set(stack.BACKENDS)
    if unknown or not args.backends:
        p.error(f"--backends: choose from {', '.join(stack.BACKENDS)}")
    if args.duration < 1 or min(args.batches) < 1 or args.latency_rate <= 0:
        p.error("--duration, --batches and --latency-rate must be positive")
    return args


def budget_seconds(args: argparse.Namespace) -> int:
    """A hard limit on the whole run: twice the expected time, plus start-up slack."""
    per_batch = args.duration + args.warmup + 5
    targets = len(args.backends) + (0 if args.no_alertmanager else 1)
    expected = targets * (20 + len(args.batches) * per_batch)
    expected += len(args.backends) * (30 + args.latency_samples / args.latency_rate)
    return int(2 * expected + 120)


def versions(args: argparse.Namespace) -> dict[str, str]:
    """Versions of the programs involved (also checks that they are there)."""
    out = {"wrk": wrk.wrk_version()}
    if not args.no_alertmanager:
        out["alertmanager"] = servers.alertmanager_version()
    if "postgresql" in args.backends:
        out["postgresql"] = servers.postgres_version()
    return out


@dataclass
class Results:
    """Everything one run measured."""

    settings: dict[str, Any]
    ours: list[ingest.Measurement] = field(default_factory=list)
    peer: list[ingest.Measurement] = field(default_factory=list)
    latencies: list[latency.LatencyResult] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return all(m.verification is not None and m.verification.ok for m in self.ours)

    def document(self) -> dict[str, Any]:
        return {
            "settings": self.settings,
            "ingest": [m.as_dict() for m in self.ours],
            "alertmanager": [m.as_dict() for m in self.peer],
            "latency": [r.as_dict() for r in self.latencies],
            "targets": [t.as_dict() for t in report.targets(self.ours, self.latencies)],
            "verified": self.verified,
        }


def bench(args: argparse.Namespace, workdir: Path) -> Results:
    """Run every measurement, printing progress."""
    load = wrk.Load(threads=args.threads, connections=args.connections, duration=args.duration)
    server_env = {"SOPHROSYNE_SQLITE_SYNCHRONOUS": args.sqlite_synchronous}
    plan = ingest.Plan(
        batches=args.batches,
        load=load,
        warmup=args.warmup,
        phases=itertools.count(1),
        server_env=server_env,
    )
    out = Results(
        settings={
            "wrk": f"-t{load.threads} -c{load.connections} -d{load.duration}s --latency",
            "warmup_s": args.warmup,
            "rules": 100,
            "batches": list(args.batches),
            "latency_samples": args.latency_samples,
            "latency_rate_per_s": args.latency_rate,
            "worker_slots": int(latency.WORKER_SLOTS),
            "sqlite_synchronous": args.sqlite_synchronous,
        }
    )
    for backend in args.backends:
        print(f"\n[{backend}] ingest throughput, 100 rules, serve --no-worker", flush=True)
        out.ours += ingest.measure_sophrosyne(backend, workdir / f"{backend}-ingest", plan)
        print(f"[{backend}] received->started latency, serve with worker", flush=True)
        out.latencies.append(
            latency.measure(
                backend,
                workdir / f"{backend}-latency",
                samples=args.latency_samples,
                rate=args.latency_rate,
                server_env=server_env,
            )
        )
    if not args.no_alertmanager:
        print("\n[alertmanager] ingest throughput, POST /api/v2/alerts", flush=True)
        out.peer = ingest.measure_alertmanager(workdir / "alertmanager", plan)
    return out


def show(results: Results) -> None:
    """Print the tables."""
    print(
        "\nIngest throughput: POST /api/v1/alerts/alertmanager, 100 rules "
        f"(wrk {results.settings['wrk']})"
    )
    print(report.ingest_table(results.ours, results.peer))
    if results.peer:
        print(AM_NOTE)
    if results.latencies:
        print('\nReceived -> run started (ms), in-process worker, action argv ["true"]')
        print(report.latency_table(results.latencies))
    print("\nTargets (from the issue)")
    print(report.targets_table(report.targets(results.ours, results.latencies)))


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    # An exception unwinds every context manager: processes stop, the database is dropped.
    if signum == signal.SIGALRM:
        raise servers.BenchError("the benchmark ran past its time budget; stopping everything")
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="sophrosyne-bench-"))
    for sig in (signal.SIGALRM, signal.SIGTERM):
        signal.signal(sig, _on_signal)
    signal.alarm(budget_seconds(args))
    try:
        m, tools, rev = report.machine(), versions(args), report.revision()
        info: dict[str, Any] = {"revision": rev, "machine": m, "versions": tools}
        print(
            f"machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['memory']} RAM; "
            + ", ".join(tools.values())
            + f"; sophrosyne at {rev}"
        )
        print(f"time budget {budget_seconds(args)} s; work dir {workdir}", flush=True)
        results = bench(args, workdir)
        show(results)
        doc = {**info, **results.document(), "elapsed_s": round(time.monotonic() - started, 1)}
        report.write_json(args.output, doc)
        print(f"\nwrote {args.output} ({doc['elapsed_s']} s)")
    except servers.BenchError as exc:
        print(f"\nbench could not run: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print(f"\ninterrupted ({exc or 'SIGINT'}); everything started was stopped", file=sys.stderr)
        return 130
    finally:
        signal.alarm(0)
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if not results.verified:
        print(
            "\nVERIFICATION FAILED: the database does not hold exactly the acknowledged alerts "
            "and one run for each (see the stored column above)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
