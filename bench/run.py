"""Sophrosyne's benchmark: ingest throughput (beside Alertmanager's, and again with incident
grouping, 100 silences and 20 inhibition rules active), run-start latency, runs executed per
second by the worker (local executor, and SSH against a loopback sshd), and the render time of
every web page with 10,000 alerts and 10,000 runs stored.

    make bench                                  # or:
    .venv/bin/python bench/run.py [--quick] [--only exec,ssh] [--backends sqlite,postgresql]
    .venv/bin/python bench/run.py --only pages --backends sqlite

It starts everything it needs on loopback (Sophrosyne, Alertmanager, sshd, a throwaway
PostgreSQL database), prints its figures as tables, writes them to bench/results/latest.json
and stops and removes everything again. Exit status: 0 when it measured (even if a target was
missed), 1 when a database check failed (persisted alerts, or runs that did not all succeed),
2 when it could not run, 130 when interrupted.
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

import harness
import ingest
import latency
import localruns
import pagedata
import pages
import report
import servers
import sshd
import sshruns
import stack
import workload
import wrk
from sophrosyne import logging as slog

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
AM_NOTE = (
    "* Alertmanager keeps alerts only in memory (nothing is written to disk per alert); "
    "Sophrosyne commits every alert, its state change, its run and the run's first event, "
    "and an audit entry per request, to the "
    "database before it answers 200."
)
PARTS = ("ingest", "latency", "exec", "ssh", "pages")


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


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
    p.add_argument(
        "--no-noise",
        action="store_true",
        help="skip the ingest measurement with grouping, silences and inhibition rules",
    )
    p.add_argument(
        "--only",
        default=",".join(PARTS),
        help=f"comma-separated parts to run: {', '.join(PARTS)} (default all)",
    )
    p.add_argument("--slots", default="1,8,32", help="worker slots, local executor (1,8,32)")
    p.add_argument("--ssh-slots", default="1,16", help="worker slots, single-target SSH (1,16)")
    p.add_argument(
        "--ssh-parallelism", default="1,16", help="action parallelism, fan-out SSH (1,16)"
    )
    p.add_argument(
        "--ssh-targets", type=int, default=32, help="targets (all on one sshd) and fan-out (32)"
    )
    p.add_argument("--exec-seconds", type=float, help="least seconds per execution batch (3)")
    p.add_argument("--repeats", type=int, help="timed batches per figure; the median counts (3)")
    p.add_argument(
        "--exec-inventory",
        type=int,
        default=0,
        help="unused targets added to the inventory before the local runs (0)",
    )
    p.add_argument(
        "--sshd-max-startups",
        default=sshd.MAX_STARTUPS,
        help=f"the bench sshd's MaxStartups ({sshd.MAX_STARTUPS}; sshd's default is 10:30:100)",
    )
    p.add_argument("--page-samples", type=int, help="timed requests per page (30)")
    p.add_argument("--page-warmup", type=int, default=3, help="untimed requests per page (3)")
    p.add_argument("--page-alerts", type=int, default=10_000, help="alerts stored (10,000)")
    p.add_argument("--page-runs", type=int, default=10_000, help="runs stored (10,000)")
    p.add_argument("--page-match", default="", help="only pages whose path matches this regex")
    p.add_argument("--output", type=Path, default=RESULTS, help=f"JSON file ({RESULTS.name})")
    p.add_argument("--keep", action="store_true", help="keep the work dir (logs) for debugging")
    args = p.parse_args(argv)
    args.duration = args.duration or (3 if args.quick else 10)
    args.warmup = 1 if args.quick else 2
    args.latency_samples = args.latency_samples or (100 if args.quick else 300)
    args.exec_seconds = args.exec_seconds or (1.0 if args.quick else 3.0)
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.page_samples = args.page_samples or (10 if args.quick else 30)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    args.batches = _ints(args.batches)
    args.slots, args.ssh_slots = _ints(args.slots), _ints(args.ssh_slots)
    args.ssh_parallelism = _ints(args.ssh_parallelism)
    args.only = {x.strip() for x in args.only.split(",") if x.strip()}
    unknown = set(args.backends) - set(stack.BACKENDS)
    if unknown or not args.backends:
        p.error(f"--backends: choose from {', '.join(stack.BACKENDS)}")
    if not args.only or args.only - set(PARTS):
        p.error(f"--only: choose from {', '.join(PARTS)}")
    counts = (*args.slots, *args.ssh_slots, *args.ssh_parallelism, args.ssh_targets)
    if min(counts, default=0) < 1 or args.repeats < 1 or args.exec_seconds <= 0:
        p.error("slots, parallelism, targets, --repeats and --exec-seconds must be positive")
    if args.duration < 1 or min(args.batches) < 1 or args.latency_rate <= 0:
        p.error("--duration, --batches and --latency-rate must be positive")
    return args


def budget_seconds(args: argparse.Namespace) -> int:
    """A hard limit on the whole run: twice the expected time, plus start-up slack."""
    expected = 0.0
    if "ingest" in args.only:
        per_batch = args.duration + args.warmup + 5
        scenarios = 1 if args.no_noise else 2
        targets = scenarios * len(args.backends) + (0 if args.no_alertmanager else 1)
        expected += targets * (20 + len(args.batches) * per_batch)
    if "latency" in args.only:
        expected += len(args.backends) * (30 + args.latency_samples / args.latency_rate)
    # A figure: a warm-up, perhaps a batch redone larger, the timed batches (each up to about
    # 1.5 times the least duration), and the set-up around them.
    per_figure = (args.repeats + 2) * 1.5 * args.exec_seconds + 10
    figures = 0
    if "exec" in args.only:
        figures += len(args.slots)
    if "ssh" in args.only:
        figures += len(args.ssh_slots) + len(args.ssh_parallelism)
    expected += len(args.backends) * (figures * per_figure + 20)
    if "pages" in args.only:
        # Seeding, then every page (about 30 once all are in) at up to a second per request.
        per_backend = 120 + 30 * (args.page_samples + args.page_warmup)
        expected += len(args.backends) * per_backend
    return int(2 * expected + 120)


def versions(args: argparse.Namespace) -> dict[str, str]:
    """Versions of the programs involved (also checks that they are there)."""
    out: dict[str, str] = {}
    if "ingest" in args.only:
        out["wrk"] = wrk.wrk_version()
        if not args.no_alertmanager:
            out["alertmanager"] = servers.alertmanager_version()
    if "ssh" in args.only:
        out["openssh"] = sshd.version()
    if "postgresql" in args.backends:
        out["postgresql"] = servers.postgres_version()
    return out


@dataclass
class Results:
    """Everything one run measured."""

    settings: dict[str, Any]
    ours: list[ingest.Measurement] = field(default_factory=list)
    peer: list[ingest.Measurement] = field(default_factory=list)
    #: The same ingest with grouping, silences and inhibition rules (``workload.noise_*``).
    noise: list[ingest.Measurement] = field(default_factory=list)
    latencies: list[latency.LatencyResult] = field(default_factory=list)
    local: list[harness.Series] = field(default_factory=list)
    ssh_single: list[harness.Series] = field(default_factory=list)
    ssh_fanout: list[harness.Series] = field(default_factory=list)
    sshd: dict[str, Any] = field(default_factory=dict)
    page_times: list[pages.PageTimes] = field(default_factory=list)
    page_data: list[dict[str, Any]] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        stored = all(
            m.verification is not None and m.verification.ok for m in self.ours + self.noise
        )
        executed = all(s.ok for s in self.local + self.ssh_single + self.ssh_fanout)
        # A page over 200 ms is reported, not a failure; a page that could not be measured is.
        return stored and executed and not any(p.problem for p in self.page_times)

    def document(self) -> dict[str, Any]:
        return {
            "settings": self.settings,
            "ingest": [m.as_dict() for m in self.ours],
            "alertmanager": [m.as_dict() for m in self.peer],
            "ingest_noise": {
                "silences": workload.NOISE_SILENCES,
                "inhibit_rules": workload.NOISE_INHIBIT_RULES,
                "incident_rules": 1,
                "measurements": [m.as_dict() for m in self.noise],
            },
            "latency": [r.as_dict() for r in self.latencies],
            "execution": [s.as_dict() for s in self.local],
            "ssh": {
                "sshd": self.sshd,
                "single_target": [s.as_dict() for s in self.ssh_single],
                "fan_out": [s.as_dict() for s in self.ssh_fanout],
            },
            "pages": {"data": self.page_data, "times": [p.as_dict() for p in self.page_times]},
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
            "parts": sorted(args.only),
            "exec_min_seconds": args.exec_seconds,
            "exec_repeats": args.repeats,
            "exec_slots": list(args.slots),
            "exec_inventory": args.exec_inventory,
            "ssh_slots": list(args.ssh_slots),
            "ssh_parallelism": list(args.ssh_parallelism),
            "ssh_targets": args.ssh_targets,
            "worker_poll_seconds": harness.POLL_SECONDS,
            "page_samples": args.page_samples,
            "page_warmup": args.page_warmup,
        }
    )
    sizing = harness.Sizing(min_seconds=args.exec_seconds, repeats=args.repeats)
    for backend in args.backends:
        if "ingest" in args.only:
            print(f"\n[{backend}] ingest throughput, 100 rules, serve --no-worker", flush=True)
            out.ours += ingest.measure_sophrosyne(backend, workdir / f"{backend}-ingest", plan)
            if not args.no_noise:
                print(
                    f"[{backend}] ingest throughput, the same with incident grouping, "
                    f"{workload.NOISE_SILENCES} silences and {workload.NOISE_INHIBIT_RULES} "
                    "inhibition rules",
                    flush=True,
                )
                out.noise += ingest.measure_sophrosyne(
                    backend, workdir / f"{backend}-ingest-noise", plan, noise=True
                )
        if "latency" in args.only:
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
        if "exec" in args.only:
            print(f'\n[{backend}] local executor, shell action argv ["true"]', flush=True)
            out.local += localruns.measure(
                backend,
                workdir / f"{backend}-exec",
                slots=args.slots,
                sizing=sizing,
                inventory=args.exec_inventory,
                sqlite_synchronous=args.sqlite_synchronous,
            )
        if "ssh" in args.only:
            print(
                f'\n[{backend}] ssh action argv ["true"], {args.ssh_targets} targets on one '
                f"loopback sshd (MaxStartups {args.sshd_max_startups})",
                flush=True,
            )
            single, fanout, server = sshruns.measure(
                backend,
                workdir / f"{backend}-ssh",
                slots=args.ssh_slots,
                parallelism=args.ssh_parallelism,
                target_count=args.ssh_targets,
                sizing=sizing,
                max_startups=args.sshd_max_startups,
                sqlite_synchronous=args.sqlite_synchronous,
            )
            out.ssh_single += single
            out.ssh_fanout += fanout
            out.sshd = {"max_startups": server.max_startups, "max_sessions": server.max_sessions}
        if "pages" in args.only:
            print(
                f"\n[{backend}] web pages, {args.page_alerts:,} alerts and {args.page_runs:,} runs "
                f"stored, {args.page_warmup} warm-up + {args.page_samples} timed requests each",
                flush=True,
            )
            size = pagedata.Size(alerts=args.page_alerts, runs=args.page_runs)
            times, data = pages.measure(
                backend,
                workdir / f"{backend}-pages",
                size=size,
                warmup=args.page_warmup,
                samples=args.page_samples,
                match=args.page_match,
            )
            out.page_times += times
            out.page_data.append(data)
    if "ingest" in args.only and not args.no_alertmanager:
        print("\n[alertmanager] ingest throughput, POST /api/v2/alerts", flush=True)
        out.peer = ingest.measure_alertmanager(workdir / "alertmanager", plan)
    return out


def show(results: Results) -> None:
    """Print the tables."""
    if results.ours or results.peer:
        print(
            "\nIngest throughput: POST /api/v1/alerts/alertmanager, 100 rules "
            f"(wrk {results.settings['wrk']})"
        )
        print(report.ingest_table(results.ours, results.peer))
    if results.peer:
        print(AM_NOTE)
    if results.noise:
        print(
            "\nIngest with noise control active: 1 grouping rule, "
            f"{workload.NOISE_SILENCES} silences, {workload.NOISE_INHIBIT_RULES} inhibition "
            "rules (none holding an alert back), beside the figure above from the same run"
        )
        print(report.noise_table(results.ours, results.noise))
    if results.latencies:
        print('\nReceived -> run started (ms), in-process worker, action argv ["true"]')
        print(report.latency_table(results.latencies))
    repeats = results.settings["exec_repeats"]
    if results.local:
        print(
            '\nLocal executor: runs/s, shell action argv ["true"], median of '
            f"{repeats} batches of >= {results.settings['exec_min_seconds']:g} s"
        )
        print(report.local_table(results.local))
    if results.ssh_single:
        print('\nSSH, one target per run (argv ["true"]): runs/s by worker slots')
        print(report.ssh_single_table(results.ssh_single))
    if results.ssh_fanout:
        print("\nSSH fan-out, one run over every target, 1 worker slot: targets/s by parallelism")
        print(report.ssh_fanout_table(results.ssh_fanout))
    if results.ssh_single or results.ssh_fanout:
        print(
            f"* the bench sshd runs with MaxStartups {results.sshd['max_startups']} and "
            f"MaxSessions {results.sshd['max_sessions']} (sshd's defaults are 10:30:100 and 10)"
        )
    if results.page_times:
        print(
            "\nWeb pages: ms per request, app = the server's Server-Timing (target: p95 < "
            f"{pages.TARGET_MS:.0f} ms), client = as seen over loopback"
        )
        print(pages.table(results.page_times))
    found = report.targets(results.ours, results.latencies)
    if found:
        print("\nTargets (from the issue)")
        print(report.targets_table(found))


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
    # The worker and executors run in this process: their logs as JSON on stderr, warnings only
    # (as the servers the benchmark starts are configured).
    slog.configure("WARNING", "json")
    try:
        m, tools, rev = report.machine(), versions(args), report.revision()
        info: dict[str, Any] = {"revision": rev, "machine": m, "versions": tools}
        print(
            f"machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['memory']} RAM; "
            + ", ".join(tools.values())
            + f"; sophrosyne at {rev}"
        )
        print(
            f"load average {' '.join(map(str, m['load_average_at_start']))}; "
            f"time budget {budget_seconds(args)} s; work dir {workdir}",
            flush=True,
        )
        results = bench(args, workdir)
        show(results)
        m["load_average_at_end"] = report.load_average()
        print(f"\nload average at the end {' '.join(map(str, m['load_average_at_end']))}")
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
            "and one run for each, or not every executed run succeeded on every target, or a "
            "page could not be measured (see the check columns and page problems above)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
