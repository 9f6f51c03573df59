"""Ingest throughput: Sophrosyne's Alertmanager webhook, and Alertmanager's own API beside it.

Each measurement is a short warm-up, then ``wrk`` for the configured duration; every request
carries ``batch`` alerts that no request before carried, so each alert is a real insert.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import checks
import stack
import workload
import wrk
from servers import alertmanager

WEBHOOK_PATH = "/api/v1/alerts/alertmanager"
AM_PATH = "/api/v2/alerts"
#: Marks the noise scenario's measurements (``sophrosyne-sqlite+noise``).
NOISE_SUFFIX = "+noise"


@dataclass
class Measurement:
    """One batch size against one target."""

    target: str
    batch: int
    result: wrk.WrkResult
    #: Alerts acknowledged with 2xx, per second of wrk's run: the headline figure.
    alerts_per_s: float
    #: Sophrosyne only: alerts the database holds for this measurement, per second.
    stored_per_s: float | None = None
    verification: checks.Verification | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "batch": self.batch,
            "alerts_per_s": round(self.alerts_per_s, 1),
            "requests_per_s": round(self.result.ok / self.result.duration_s, 1),
            "stored_alerts_per_s": None
            if self.stored_per_s is None
            else round(self.stored_per_s, 1),
            "wrk": self.result.as_dict(),
            "verification": self.verification.as_dict() if self.verification else None,
        }


@dataclass
class Plan:
    """What every ingest measurement shares."""

    batches: tuple[int, ...]
    load: wrk.Load
    warmup: int
    phases: itertools.count[int]
    #: Extra SOPHROSYNE_* settings for the server (e.g. SQLITE_SYNCHRONOUS).
    server_env: dict[str, str] = field(default_factory=dict)

    def drive(
        self, url: str, fmt: str, batch: int, *, token: str = "", warmup: bool = False
    ) -> wrk.WrkResult:
        """One wrk run of unique alerts (a warm-up if ``warmup``), with a phase of its own."""
        starts_at, ends_at = workload.alert_times()
        if fmt == "webhook":
            ends_at = workload.NO_END
        return wrk.run(
            url,
            fmt=fmt,
            batch=batch,
            phase=next(self.phases),
            load=self.load,
            starts_at=starts_at,
            ends_at=ends_at,
            names=workload.RULES,
            token=token,
            duration=self.warmup if warmup else None,
        )


def _rate(alerts: int, result: wrk.WrkResult) -> float:
    return alerts / result.duration_s if result.duration_s else 0.0


def measure_sophrosyne(
    backend: str, workdir: Path, plan: Plan, *, noise: bool = False
) -> list[Measurement]:
    """Throughput of ``serve --no-worker`` with 100 rules on ``backend``, verified in its DB;
    with ``noise``, also with the grouping, inhibition rules and silences of ``workload``."""
    out: list[Measurement] = []
    with stack.sophrosyne(
        backend,
        workdir,
        tag="ingest_noise" if noise else "ingest",
        action=workload.INGEST_ACTION,
        worker=False,
        extra_env=plan.server_env,
        noise=noise,
    ) as s:
        url = s.url + WEBHOOK_PATH
        for batch in plan.batches:
            plan.drive(url, "webhook", batch, token=s.token, warmup=True)
            before = checks.max_alert_id(s.engine)
            checks.settle(s.engine, before)
            checks.analyze(s.engine)
            before = checks.max_alert_id(s.engine)
            result = plan.drive(url, "webhook", batch, token=s.token)
            stored = checks.settle(s.engine, before)
            accepted = result.ok * batch
            verification = checks.verify(
                stored,
                accepted=accepted,
                batch=batch,
                in_flight_bound=plan.load.connections * batch,
                refused=result.non_2xx + result.socket_errors,
            )
            # Headline figure: wrk's 2xx responses x batch over wrk's measured time. wrk stops
            # at its deadline without waiting for the (at most one per connection) requests
            # still in flight; the server completes and commits those afterwards, so the
            # database count (stored_per_s) slightly overstates the rate within the window,
            # while wrk's count is exactly what was completed inside it. The database count is
            # the truth about persistence and is what `verify` checks against.
            m = Measurement(
                target=f"sophrosyne-{backend}{NOISE_SUFFIX if noise else ''}",
                batch=batch,
                result=result,
                alerts_per_s=_rate(accepted, result),
                stored_per_s=_rate(stored.alerts, result),
                verification=verification,
            )
            print(
                f"  {m.target:<22} batch {batch:>3}: {m.alerts_per_s:>9,.0f} alerts/s  "
                f"p99 {result.latency_ms.get('p99', 0):.1f} ms  | check: {verification.describe()}",
                flush=True,
            )
            out.append(m)
    return out


def measure_alertmanager(workdir: Path, plan: Plan) -> list[Measurement]:
    """Alertmanager 0.25 taking the same kind of alerts through POST /api/v2/alerts.

    Alertmanager keeps alerts in memory only (its storage path holds silences and the
    notification log), so this is the cost of validating and indexing alerts in memory.
    """
    out: list[Measurement] = []
    with alertmanager(workdir) as base:
        url = base + AM_PATH
        for batch in plan.batches:
            plan.drive(url, "amv2", batch, warmup=True)
            result = plan.drive(url, "amv2", batch)
            m = Measurement(
                target="alertmanager",
                batch=batch,
                result=result,
                alerts_per_s=_rate(result.ok * batch, result),
            )
            print(
                f"  {m.target:<22} batch {batch:>3}: {m.alerts_per_s:>9,.0f} alerts/s  "
                f"p99 {result.latency_ms.get('p99', 0):.1f} ms  (in memory only)",
                flush=True,
            )
            out.append(m)
    return out
