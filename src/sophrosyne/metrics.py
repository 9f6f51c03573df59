"""Prometheus metrics, in a registry of their own built per process (nothing at import).

Counters and histograms observed in-process live here; figures that must be true across
processes (runs by state, queue depth, the kill switch) are read from the database at scrape
time by the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

RUN_DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


@dataclass
class Metrics:
    """Every metric Sophrosyne exports, bound to one registry."""

    registry: CollectorRegistry = field(
        default_factory=lambda: CollectorRegistry(auto_describe=True)
    )

    def __post_init__(self) -> None:
        r = self.registry
        self.alerts_received = Counter(
            "sophrosyne_alerts_received",
            "Alerts received, by source and status.",
            ["source", "status"],
            registry=r,
        )
        self.ingest_rejected = Counter(
            "sophrosyne_ingest_rejected",
            "Alert payloads refused as invalid, by source.",
            ["source"],
            registry=r,
        )
        self.runs_finished = Counter(
            "sophrosyne_runs_finished",
            "Runs finished by this process, by action kind and final state.",
            ["kind", "state"],
            registry=r,
        )
        self.run_duration = Histogram(
            "sophrosyne_run_duration_seconds",
            "Wall time of runs executed by this process.",
            ["kind"],
            buckets=RUN_DURATION_BUCKETS,
            registry=r,
        )
        self.run_start_latency = Histogram(
            "sophrosyne_run_start_latency_seconds",
            "From a run being queued to a worker starting it.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.runs_by_state = Gauge(
            "sophrosyne_runs", "Runs in the database, by state.", ["state"], registry=r
        )
        self.queue_depth = Gauge(
            "sophrosyne_queue_depth", "Runs queued and not yet claimed.", registry=r
        )
        self.automation_paused = Gauge(
            "sophrosyne_automation_paused",
            "1 while the kill switch pauses every automatic run, else 0.",
            registry=r,
        )
