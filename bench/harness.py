"""The worker under test, in this process: a fresh migrated database, runs queued straight into
it, and the real ``Worker`` built as ``sophrosyne worker`` builds it (``build_worker``).

One measurement ("a batch"): queue N runs while no worker is running, start a new worker,
stop the clock when the worker's own counter of finished runs reaches N (each increment
follows the commit that recorded the run), stop the worker, then check in the database that
every run of the batch succeeded with exit code 0, and on every target it addressed.

Batches are sized so that each one lasts at least ``min_seconds``: a warm-up batch gives a
first rate, and a batch that still ends too soon is discarded and redone larger.
"""

from __future__ import annotations

import itertools
import math
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

import checks
import stack
from servers import BenchError
from sophrosyne.config import Settings
from sophrosyne.crypto import Secret, load_keyring
from sophrosyne.db import migrate
from sophrosyne.db.engine import make_engine, make_session_factory
from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.actions.render import render_action
from sophrosyne.domains.actions.schemas import ActionSpec
from sophrosyne.domains.runs import service as runs
from sophrosyne.domains.runs.models import Run
from sophrosyne.domains.targets import service as targets_service
from sophrosyne.domains.targets.schemas import TargetSpec
from sophrosyne.logging import get_logger
from sophrosyne.metrics import Metrics
from sophrosyne.worker.build import build_worker

log = get_logger("bench.harness")

#: Worker settings that are not the point of a measurement: the defaults of the README.
POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 5.0
LEASE_SECONDS = 30.0
OUTPUT_CAP_BYTES = 64 * 1024

#: Makes every batch's idempotency keys unique within a database.
_batch_numbers = itertools.count()


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Database:
    """A migrated, empty database of one backend, and its engine."""

    backend: str
    url: str
    data_dir: Path
    engine: Engine
    sessions: sessionmaker[Session]


@contextmanager
def database(
    backend: str, workdir: Path, tag: str, *, sqlite_synchronous: str = "FULL"
) -> Iterator[Database]:
    """A fresh database (a throwaway one on PostgreSQL), migrated; disposed and dropped after.
    SQLite is opened as the server opens it: WAL, ``synchronous`` FULL unless told."""
    workdir.mkdir(parents=True, exist_ok=True)
    with stack.database(backend, workdir, tag) as url:
        engine = make_engine(url, sqlite_synchronous=sqlite_synchronous)
        try:
            migrate.upgrade(engine)
            yield Database(backend, url, workdir / "data", engine, make_session_factory(engine))
        finally:
            engine.dispose()


def worker_settings(db: Database, slots: int, *, secret_key: str | None = None) -> Settings:
    """Every setting the worker reads, given explicitly (the caller's SOPHROSYNE_* variables
    must not change what is measured). SQLite's ``synchronous`` is the engine's, not here."""
    return Settings(
        data_dir=db.data_dir,
        database_url=db.url,
        config_dir=None,
        worker_slots=slots,
        worker_poll_seconds=POLL_SECONDS,
        worker_heartbeat_seconds=HEARTBEAT_SECONDS,
        worker_lease_seconds=LEASE_SECONDS,
        output_cap_bytes=OUTPUT_CAP_BYTES,
        secret_key=secret_key,
        secret_key_file=None,
        secret_old_keys="",
    )


def create_action(db: Database, spec: ActionSpec) -> None:
    with db.sessions.begin() as session:
        actions.create(session, spec, now=utcnow())


def create_targets(
    db: Database,
    names: list[str],
    *,
    address: str,
    port: int,
    user: str,
    host_keys: list[str],
    private_key: str,
    key: str,
) -> None:
    """Targets named ``names``, each with ``private_key`` stored as its encrypted
    ``ssh_private_key`` secret (under ``key``, as ``sophrosyne target secret set`` does)."""
    keyring = load_keyring(key=key, key_file=None)
    with db.sessions.begin() as session:
        for name in names:
            target = targets_service.create(
                session,
                TargetSpec(
                    name=name,
                    address=address,
                    port=port,
                    user=user,
                    labels={"bench": "ssh"},
                    host_keys=host_keys,
                ),
                now=utcnow(),
            )
            targets_service.set_secret(
                session, keyring, target, "ssh_private_key", Secret(private_key), now=utcnow()
            )


def enqueue(
    db: Database, action_name: str, count: int, tag: str, targets: Callable[[int], list[str]]
) -> tuple[int, int]:
    """Queue ``count`` runs of the action, run ``i`` on ``targets(i)``, in one transaction
    (rendered once, inserted in bulk); (lowest, highest) new run id."""
    with db.sessions.begin() as session:
        action = actions.get_by_name(session, action_name)
        rendered = render_action(action.kind, action.argv, action.spec, {})
        new = [
            runs.NewRun(
                action_id=action.id,
                action_name=action.name,
                kind=action.kind,
                params={},
                argv=list(rendered.argv),
                timeout_seconds=action.timeout_seconds,
                idempotent=action.idempotent,
                requested_by="bench",
                idempotency_key=f"bench:{tag}:{i}",
                targets=targets(i),
                request=dict(rendered.request),
            )
            for i in range(count)
        ]
        ids = runs.enqueue(session, new, now=utcnow())
    if len(ids) != count:
        raise BenchError(f"queued {len(ids)} runs, expected {count}")
    return min(ids.values()), max(ids.values())


def _finished(metrics: Metrics) -> int:
    """Runs this worker has recorded as finished (any state), from its own counter."""
    return int(
        sum(
            sample.value
            for family in metrics.runs_finished.collect()
            for sample in family.samples
            if sample.name.endswith("_total")
        )
    )


@dataclass
class Batch:
    """One timed batch: runs queued, then executed by a fresh worker."""

    runs: int
    #: Units of work per run: targets for SSH runs, 1 for local runs.
    units_per_run: int
    seconds: float
    #: Run states in the database afterwards; every run must be ``succeeded``.
    states: dict[str, int]
    #: Per-target outcomes other than success (SSH), by outcome.
    target_failures: dict[str, int]
    #: Mean of finished_at - started_at (claim to record) over the batch, in ms.
    mean_run_ms: float

    @property
    def rate(self) -> float:
        return self.runs / self.seconds

    @property
    def unit_rate(self) -> float:
        return self.runs * self.units_per_run / self.seconds

    @property
    def ok(self) -> bool:
        return self.states == {"succeeded": self.runs} and not self.target_failures


def run_batch(
    db: Database,
    settings: Settings,
    *,
    action_name: str,
    count: int,
    tag: str,
    targets: Callable[[int], list[str]],
    timeout: float,
) -> Batch:
    """Queue ``count`` runs, time a new worker through them, check what it recorded."""
    first, last = enqueue(db, action_name, count, tag, targets)
    metrics = Metrics()
    worker = build_worker(settings, db.engine, db.sessions, metrics)
    started = time.perf_counter()
    worker.start()
    try:
        deadline = started + timeout
        while _finished(metrics) < count:
            if time.perf_counter() > deadline:
                raise BenchError(
                    f"{_finished(metrics)} of {count} runs finished within {timeout:.0f}s "
                    f"({settings.worker_slots} slots, action {action_name})"
                )
            time.sleep(0.005)
        seconds = time.perf_counter() - started
    finally:
        worker.stop(grace_seconds=30)
    states, failures, mean_ms = _check(db, first, last)
    units = max(1, len(targets(0)))
    return Batch(count, units, seconds, states, failures, mean_ms)


def _check(db: Database, first: int, last: int) -> tuple[dict[str, int], dict[str, int], float]:
    """(run states, per-target failures by outcome, mean claim-to-record ms) of a batch."""
    in_batch = Run.id.between(first, last)
    with db.sessions() as session:
        states = {
            str(state): int(n)
            for state, n in session.execute(
                select(Run.state, func.count()).where(in_batch).group_by(Run.state)
            )
        }
        bad_exit = session.scalar(
            select(func.count()).where(in_batch, Run.state == "succeeded", Run.exit_code != 0)
        )
        failures: dict[str, int] = {}
        spans: list[float] = []
        for results, started, finished in session.execute(
            select(Run.results, Run.started_at, Run.finished_at).where(in_batch)
        ):
            for entry in results or []:
                outcome = str(entry.get("outcome"))
                if outcome != "succeeded":
                    failures[outcome] = failures.get(outcome, 0) + 1
            if started is not None and finished is not None:
                spans.append((finished - started).total_seconds() * 1000)
    if bad_exit:
        failures["succeeded with a non-zero exit code"] = int(bad_exit)
    return states, failures, statistics.fmean(spans) if spans else math.nan


@dataclass
class Series:
    """Repeated batches of one configuration; the median is the figure."""

    scenario: str
    backend: str
    slots: int
    parallelism: int | None
    targets_per_run: int
    warmup: Batch
    batches: list[Batch] = field(default_factory=list)
    #: Batches that ended before ``min_seconds`` and were redone larger (extra warm-up).
    discarded: list[Batch] = field(default_factory=list)

    @property
    def median_rate(self) -> float:
        return statistics.median(b.rate for b in self.batches)

    @property
    def median_unit_rate(self) -> float:
        return statistics.median(b.unit_rate for b in self.batches)

    @property
    def ok(self) -> bool:
        return bool(self.batches) and all(b.ok for b in self.everything())

    def everything(self) -> list[Batch]:
        """Every batch run for this figure, the warm-up and discarded ones included."""
        return [self.warmup, *self.discarded, *self.batches]

    def problems(self) -> list[str]:
        out = []
        for b in self.everything():
            if not b.ok:
                out.append(f"states {b.states}, target failures {b.target_failures}")
        return out

    def as_dict(self) -> dict[str, Any]:
        def one(b: Batch) -> dict[str, Any]:
            return {
                "runs": b.runs,
                "seconds": round(b.seconds, 3),
                "runs_per_s": round(b.rate, 1),
                "targets_per_s": round(b.unit_rate, 1),
                "mean_run_ms": round(b.mean_run_ms, 2),
                "states": b.states,
                "target_failures": b.target_failures,
            }

        return {
            "scenario": self.scenario,
            "backend": self.backend,
            "slots": self.slots,
            "parallelism": self.parallelism,
            "targets_per_run": self.targets_per_run,
            "median_runs_per_s": round(self.median_rate, 1),
            "median_targets_per_s": round(self.median_unit_rate, 1),
            "ok": self.ok,
            "warmup": one(self.warmup),
            "batches": [one(b) for b in self.batches],
            "discarded": [one(b) for b in self.discarded],
        }


@dataclass(frozen=True)
class Sizing:
    """How long each batch must last, how many to repeat, and the warm-up size."""

    min_seconds: float = 3.0
    repeats: int = 3
    warmup_runs: int = 20
    #: No batch may take longer than this (something is stuck).
    timeout: float = 300.0


def measure(
    db: Database,
    settings: Settings,
    *,
    scenario: str,
    action_name: str,
    targets: Callable[[int], list[str]],
    sizing: Sizing,
    parallelism: int | None = None,
) -> Series:
    """Warm up, then ``sizing.repeats`` batches of at least ``sizing.min_seconds`` each."""

    def batch(count: int) -> Batch:
        tag = f"{scenario}:{settings.worker_slots}:{parallelism}:{next(_batch_numbers)}"
        return run_batch(
            db,
            settings,
            action_name=action_name,
            count=count,
            tag=tag,
            targets=targets,
            timeout=sizing.timeout,
        )

    warm = batch(sizing.warmup_runs)
    # PostgreSQL: planner statistics for tables that were empty a moment ago, as autovacuum
    # would gather within a minute on a live system (see checks.analyze).
    checks.analyze(db.engine)
    series = Series(
        scenario=scenario,
        backend=db.backend,
        slots=settings.worker_slots,
        parallelism=parallelism,
        targets_per_run=len(targets(0)),
        warmup=warm,
    )
    # 30 % over the warm-up's rate, which start-up costs make an underestimate.
    count = max(sizing.warmup_runs, math.ceil(warm.rate * sizing.min_seconds * 1.3))
    while len(series.batches) < sizing.repeats:
        b = batch(count)
        if b.seconds < sizing.min_seconds:
            series.discarded.append(b)
            count = math.ceil(count * sizing.min_seconds / b.seconds * 1.2)
            continue
        series.batches.append(b)
        log.info(
            "bench.batch",
            scenario=scenario,
            slots=settings.worker_slots,
            runs=b.runs,
            seconds=round(b.seconds, 3),
        )
    return series
