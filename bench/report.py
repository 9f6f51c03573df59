"""Print the figures as tables, judge the targets, and write them as JSON."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness import Series
from ingest import Measurement
from latency import LatencyResult

#: The issue's targets.
INGEST_TARGET = 10_000.0  # alerts/s, SQLite, batch 100, sustained
LATENCY_TARGET_MS = 50.0  # p99 received → started at light load


@dataclass
class Target:
    """One target and whether the measured figure met it."""

    name: str
    figure: float
    goal: str
    met: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "figure": round(self.figure, 1),
            "goal": self.goal,
            "result": "PASS" if self.met else "MISS",
        }


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    free = subprocess.run(["free", "-h"], capture_output=True, text=True, check=False).stdout
    mem = next((ln.split()[1] for ln in free.splitlines() if ln.startswith("Mem:")), "?")
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_at_start": load_average(),
    }


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages: other work on the machine skews every figure."""
    return [round(x, 2) for x in os.getloadavg()]


def revision() -> str:
    """The commit measured, with ``-dirty`` when the working tree has changes."""
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        ["git", "-C", str(root), "describe", "--always", "--dirty", "--abbrev=12"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True)), line]
    out += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)


def ingest_table(ours: list[Measurement], peer: list[Measurement]) -> str:
    """Our throughput per backend and batch, with Alertmanager's at the same batch beside it."""
    am = {m.batch: m.alerts_per_s for m in peer}
    rows = []
    for m in ours:
        r = m.result
        v = m.verification
        peer_rate = am.get(m.batch)
        rows.append(
            [
                m.target.removeprefix("sophrosyne-"),
                str(m.batch),
                f"{m.alerts_per_s:,.0f}",
                f"{r.ok / r.duration_s:,.0f}",
                f"{r.latency_ms.get('p50', 0):.1f}",
                f"{r.latency_ms.get('p99', 0):.1f}",
                str(r.non_2xx + r.socket_errors),
                f"{v.stored.alerts:,} {'OK' if v.ok else 'FAIL'}" if v else "-",
                f"{peer_rate:,.0f}" if peer_rate else "-",
                f"{m.alerts_per_s / peer_rate:.2f}" if peer_rate else "-",
            ]
        )
    for m in peer:
        r = m.result
        rows.append(
            [
                "alertmanager*",
                str(m.batch),
                f"{m.alerts_per_s:,.0f}",
                f"{r.ok / r.duration_s:,.0f}",
                f"{r.latency_ms.get('p50', 0):.1f}",
                f"{r.latency_ms.get('p99', 0):.1f}",
                str(r.non_2xx + r.socket_errors),
                "in memory",
                "-",
                "-",
            ]
        )
    headers = [
        "backend",
        "batch",
        "alerts/s",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "stored (DB check)",
        "AM alerts/s",
        "ours/AM",
    ]
    return _table(headers, rows)


def noise_table(ours: list[Measurement], noise: list[Measurement]) -> str:
    """The noise scenario per backend and batch, beside the spine's figure from the same run."""
    spine = {(m.target, m.batch): m.alerts_per_s for m in ours}
    rows = []
    for m in noise:
        base = spine.get((m.target.removesuffix("+noise"), m.batch))
        v, r = m.verification, m.result
        rows.append(
            [
                m.target.removeprefix("sophrosyne-").removesuffix("+noise"),
                str(m.batch),
                f"{base:,.0f}" if base else "-",
                f"{m.alerts_per_s:,.0f}",
                f"{m.alerts_per_s / base:.2f}" if base else "-",
                f"{r.latency_ms.get('p99', 0):.1f}",
                str(r.non_2xx + r.socket_errors),
                f"{v.stored.alerts:,} {'OK' if v.ok else 'FAIL'}" if v else "-",
            ]
        )
    headers = [
        "backend",
        "batch",
        "spine alerts/s",
        "with noise alerts/s",
        "ratio",
        "p99 ms",
        "errors",
        "stored (DB check)",
    ]
    return _table(headers, rows)


def latency_table(results: list[LatencyResult]) -> str:
    """Received → started percentiles per backend."""
    rows = [
        [
            r.backend,
            str(r.samples),
            f"{r.rate_per_s:g}/s",
            f"{r.p50:.1f}",
            f"{r.p90:.1f}",
            f"{r.p99:.1f}",
            f"{r.max:.1f}",
            f"{r.request_p50:.1f}",
            ",".join(f"{k}={v}" for k, v in sorted(r.states.items())),
        ]
        for r in results
    ]
    headers = [
        "backend",
        "samples",
        "rate",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "POST p50 ms",
        "runs",
    ]
    return _table(headers, rows)


def _batches(series: Series, unit_rate: bool = False) -> str:
    return " / ".join(f"{b.unit_rate if unit_rate else b.rate:,.1f}" for b in series.batches)


def _check(series: Series) -> str:
    return "OK" if series.ok else "FAIL"


def local_table(items: list[Series]) -> str:
    """Local executor runs/s per backend and slot count."""
    rows = [
        [
            s.backend,
            str(s.slots),
            f"{s.median_rate:,.1f}",
            _batches(s),
            f"{s.batches[0].runs:,}",
            f"{s.batches[0].seconds:.1f}",
            f"{s.batches[0].mean_run_ms:.1f}",
            _check(s),
        ]
        for s in items
    ]
    headers = [
        "backend",
        "slots",
        "runs/s",
        "each batch",
        "runs/batch",
        "s/batch",
        "claim->record ms",
        "all succeeded",
    ]
    return _table(headers, rows)


def ssh_single_table(items: list[Series]) -> str:
    """Single-target SSH runs/s per backend and slot count."""
    rows = [
        [
            s.backend,
            str(s.slots),
            f"{s.median_rate:,.1f}",
            _batches(s),
            f"{s.batches[0].runs:,}",
            f"{s.batches[0].mean_run_ms:.0f}",
            _check(s),
        ]
        for s in items
    ]
    headers = ["backend", "slots", "runs/s", "each batch", "runs/batch", "run ms", "checked"]
    return _table(headers, rows)


def ssh_fanout_table(items: list[Series]) -> str:
    """Fan-out SSH targets/s per backend and parallelism."""
    rows = [
        [
            s.backend,
            str(s.targets_per_run),
            str(s.parallelism),
            f"{s.median_unit_rate:,.1f}",
            _batches(s, unit_rate=True),
            f"{s.batches[0].runs:,}",
            f"{s.batches[0].mean_run_ms:,.0f}",
            _check(s),
        ]
        for s in items
    ]
    headers = [
        "backend",
        "targets/run",
        "parallelism",
        "targets/s",
        "each batch",
        "runs/batch",
        "run ms",
        "checked",
    ]
    return _table(headers, rows)


def targets(ours: list[Measurement], latencies: list[LatencyResult]) -> list[Target]:
    """The issue's targets, judged on what was measured in this run."""
    out: list[Target] = []
    for m in ours:
        if m.target == "sophrosyne-sqlite" and m.batch == 100:
            out.append(
                Target(
                    "SQLite ingest, batch 100 (alerts/s)",
                    m.alerts_per_s,
                    f">= {INGEST_TARGET:,.0f}",
                    m.alerts_per_s >= INGEST_TARGET,
                )
            )
    for r in latencies:
        out.append(
            Target(
                f"{r.backend} received->started p99 (ms)",
                r.p99,
                f"< {LATENCY_TARGET_MS:.0f}",
                r.p99 < LATENCY_TARGET_MS,
            )
        )
    return out


def targets_table(items: list[Target]) -> str:
    """Each target with its figure and PASS or MISS."""
    rows = [[t.name, f"{t.figure:,.1f}", t.goal, "PASS" if t.met else "MISS"] for t in items]
    return _table(["target", "measured", "goal", "result"], rows)


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"generated_at": datetime.now(UTC).isoformat(timespec="seconds"), **document}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
