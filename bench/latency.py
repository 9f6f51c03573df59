"""Latency from alert received to run started, at light load, with the in-process worker.

Single-alert webhooks go out one after another at a steady rate from an httpx client. Each
alert enqueues one run of an action whose argv is ``["true"]``. Once every run has finished,
the database gives each run's ``started_at - created_at``: ``created_at`` is stamped when the
request is handled, ``started_at`` when a worker claims the run.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

import checks
import stack
import workload
from ingest import WEBHOOK_PATH
from servers import BenchError

WORKER_SLOTS = "4"


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class LatencyResult:
    """Received → started, in milliseconds, for one backend."""

    backend: str
    samples: int
    rate_per_s: float
    p50: float
    p90: float
    p99: float
    max: float
    request_p50: float
    states: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _send(client: httpx.Client, url: str, token: str, numbers: range, rate: float) -> list[float]:
    """POST one single-alert webhook for each alert number at ``rate`` per second; returns
    request times in ms."""
    starts_at, _ = workload.alert_times()
    tag = f"{int(time.time())}"
    headers = {"Authorization": f"Bearer {token}"}
    interval = 1.0 / rate
    took: list[float] = []
    next_at = time.monotonic()
    for n in numbers:
        body = workload.webhook(n, tag=tag, starts_at=starts_at)
        t0 = time.monotonic()
        reply = client.post(url, json=body, headers=headers)
        took.append((time.monotonic() - t0) * 1000)
        if reply.status_code != 200:
            raise BenchError(f"latency alert {n} refused: {reply.status_code} {reply.text[:300]}")
        if reply.json().get("runs_enqueued") != 1:
            raise BenchError(f"latency alert {n} did not enqueue exactly one run: {reply.text}")
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))
    return took


def measure(
    backend: str,
    workdir: Path,
    *,
    samples: int,
    rate: float,
    server_env: dict[str, str] | None = None,
) -> LatencyResult:
    """Run the latency scenario on ``backend`` in a fresh database."""
    with (
        stack.sophrosyne(
            backend,
            workdir,
            tag="latency",
            action=workload.LATENCY_ACTION,
            worker=True,
            extra_env={**(server_env or {}), "SOPHROSYNE_WORKER_SLOTS": WORKER_SLOTS},
        ) as s,
        httpx.Client(timeout=30) as client,
    ):
        before = checks.max_alert_id(s.engine)
        # A few unrecorded alerts first, so first-request costs do not count.
        _send(client, s.url + WEBHOOK_PATH, s.token, range(10**9, 10**9 + 5), rate)
        checks.finished_runs(s.engine, before, 5, timeout=60)
        before = checks.max_alert_id(s.engine)
        took = _send(client, s.url + WEBHOOK_PATH, s.token, range(samples), rate)
        times = checks.finished_runs(s.engine, before, samples, timeout=120)
    if len(times.started_at) != samples:
        raise BenchError(f"{len(times.started_at)} of {samples} runs started: {times.states}")
    waits = sorted(
        (started - created).total_seconds() * 1000
        for created, started in zip(times.created_at, times.started_at, strict=True)
    )
    result = LatencyResult(
        backend=backend,
        samples=samples,
        rate_per_s=rate,
        p50=percentile(waits, 50),
        p90=percentile(waits, 90),
        p99=percentile(waits, 99),
        max=waits[-1],
        request_p50=percentile(sorted(took), 50),
        states=times.states,
    )
    print(
        f"  latency {backend:<10} received->started p50 {result.p50:.1f} ms  "
        f"p99 {result.p99:.1f} ms  max {result.max:.1f} ms  runs {times.states}",
        flush=True,
    )
    return result
