"""The worker: slot threads that claim and execute runs, a housekeeping thread that beats
the heart of running runs, passes on cancellations and reaps runs of dead workers, and a
writer thread that stores live output (``worker.output``).

Workers coordinate only through the runs table, so any number of them, in any number of
processes on any number of machines, can share one PostgreSQL database.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.config import Settings
from sophrosyne.crypto import Keyring
from sophrosyne.domains.rules.service import RuleCache
from sophrosyne.errors import Conflict
from sophrosyne.executors.base import ExecResult
from sophrosyne.flows import deferred, execute, maintenance
from sophrosyne.logging import get_logger
from sophrosyne.metrics import Metrics
from sophrosyne.worker.dispatch import Dispatcher, Limits
from sophrosyne.worker.output import OutputWriter

log = get_logger(__name__)


class Companion(Protocol):
    """Something that runs beside the worker for as long as it runs."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Worker:
    """Executes queued runs with ``settings.worker_slots`` threads until stopped."""

    def __init__(
        self,
        settings: Settings,
        session_factory: sessionmaker[Session],
        executors: Mapping[str, Any],
        metrics: Metrics,
        *,
        worker_id: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        keyring: Keyring | None = None,
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.dispatcher = Dispatcher(
            executors,
            Limits(output_cap_bytes=settings.output_cap_bytes, playbook_root=settings.config_dir),
        )
        #: Decrypts target credentials at claim time; None: runs on targets with secrets fail.
        self.keyring = keyring
        self.metrics = metrics
        self.worker_id = worker_id or new_worker_id()
        self.clock = clock
        #: Live output, buffered per run and written a few times a second.
        self.output = OutputWriter(session_factory, clock=clock)
        #: Rules for deferred (once_after) runs that housekeeping starts.
        self.rules = RuleCache()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._abort = threading.Event()
        self._lock = threading.Lock()
        self._in_flight: set[int] = set()
        self._cancel: set[int] = set()
        self._threads: list[threading.Thread] = []
        self._companions: list[Companion] = []

    # -- control ---------------------------------------------------------------------------

    def attach(self, companion: Companion) -> None:
        """Start and stop ``companion`` (e.g. a queue listener) with this worker."""
        self._companions.append(companion)

    def wake(self, run_ids: list[int] | None = None) -> None:
        """Tell idle slots there is work (called after a commit that queued runs)."""
        self._wake.set()

    def start(self) -> None:
        self._housekeep()  # reap what a previous, dead worker left before taking new work
        for i in range(self.settings.worker_slots):
            self._spawn(self._slot_loop, f"sophrosyne-slot-{i}")
        self._spawn(self._housekeeping_loop, "sophrosyne-housekeeping")
        self.output.start()
        for companion in self._companions:
            companion.start()
        log.info("worker.started", worker_id=self.worker_id, slots=self.settings.worker_slots)

    def stop(self, grace_seconds: float = 30.0) -> None:
        """Stop claiming; let running runs finish for ``grace_seconds``, then cancel them."""
        self._stop.set()
        self._wake.set()
        for companion in self._companions:
            companion.stop()
        deadline = time.monotonic() + grace_seconds
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        if any(t.is_alive() for t in self._threads):
            log.warning("worker.cancelling_in_flight", runs=sorted(self._in_flight))
            self._abort.set()
            for t in self._threads:
                t.join(10)
        self.output.stop()
        log.info("worker.stopped", worker_id=self.worker_id)

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        t = threading.Thread(target=target, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    # -- slots -----------------------------------------------------------------------------

    def _slot_loop(self) -> None:
        while not self._stop.is_set():
            try:
                worked = self.run_one()
            except Exception:
                log.exception("worker.slot_error", worker_id=self.worker_id)
                worked = False
                self._stop.wait(self.settings.worker_poll_seconds)
            if not worked:
                self._wake.wait(self.settings.worker_poll_seconds)
                self._wake.clear()

    def run_one(self) -> bool:
        """Claim and execute one run; False if the queue was empty."""
        with self.session_factory.begin() as session:
            ticket = execute.claim(
                session,
                worker_id=self.worker_id,
                now=self.clock(),
                keyring=self.keyring,
                rules=self.rules,
            )
        if ticket is None:
            return False
        self.metrics.run_start_latency.observe(
            max(0.0, (ticket.started_at - ticket.created_at).total_seconds())
        )
        with self._lock:
            self._in_flight.add(ticket.run_id)
        # Each target's live output is capped by its executor; this caps the run as a whole.
        hosts = max(1, len(ticket.targets) + len(ticket.unavailable))
        on_output = self.output.open(
            ticket.run_id, limit_bytes=hosts * (self.settings.output_cap_bytes + 1024)
        )
        try:
            result = self._execute(ticket, on_output)
        finally:
            with self._lock:
                self._in_flight.discard(ticket.run_id)
                self._cancel.discard(ticket.run_id)
            self.output.close(ticket.run_id)  # complete before the result says the run ended
        try:
            with self.session_factory.begin() as session:
                run = execute.record(
                    session, ticket, result, worker_id=self.worker_id, now=self.clock()
                )
        except Conflict as exc:
            log.warning("worker.result_discarded", run_id=ticket.run_id, reason=str(exc))
            return True
        self.metrics.runs_finished.labels(kind=ticket.kind, state=run.state).inc()
        self.metrics.run_duration.labels(kind=ticket.kind).observe(result.duration_seconds)
        log.info(
            "run.finished",
            run_id=run.id,
            action=ticket.action_name,
            state=run.state,
            exit_code=run.exit_code,
            duration_seconds=round(result.duration_seconds, 3),
        )
        return True

    def _execute(self, ticket: execute.Ticket, on_output: Callable[[str], None]) -> ExecResult:
        run_id = ticket.run_id

        def should_cancel() -> bool:
            return self._abort.is_set() or run_id in self._cancel

        log.info(
            "run.started",
            run_id=run_id,
            action=ticket.action_name,
            kind=ticket.kind,
            targets=len(ticket.targets) + len(ticket.unavailable),
        )
        return self.dispatcher.run(ticket, should_cancel=should_cancel, on_output=on_output)

    # -- housekeeping ----------------------------------------------------------------------

    def _housekeeping_loop(self) -> None:
        while not self._stop.wait(self.settings.worker_heartbeat_seconds):
            try:
                self._housekeep()
            except Exception:
                log.exception("worker.housekeeping_error", worker_id=self.worker_id)
        # One last beat so runs still finishing during shutdown are not reaped as dead.
        if self._in_flight:
            self._housekeep()

    def _housekeep(self) -> None:
        with self._lock:
            running = sorted(self._in_flight)
        with self.session_factory.begin() as session:
            cancel = execute.heartbeat(
                session, worker_id=self.worker_id, run_ids=running, now=self.clock()
            )
            reaped = execute.reap(
                session,
                lease_seconds=self.settings.worker_lease_seconds,
                now=self.clock(),
                actor=f"worker:{self.worker_id}",
            )
            expired = execute.expire(session, now=self.clock(), actor=f"worker:{self.worker_id}")
            maintenance.record_held(session, self.rules, now=self.clock())
        if expired:
            log.info("worker.expired_confirmations", runs=expired)
        if cancel:
            with self._lock:
                self._cancel |= cancel
        if reaped:
            log.warning("worker.reaped", runs=reaped, worker_id=self.worker_id)
            self._wake.set()  # an idempotent run may be queued again
        self.fire_deferred()

    def fire_deferred(self) -> list[int]:
        """Start the runs of once_after throttle windows that have ended (housekeeping)."""
        with self.session_factory.begin() as session:
            queued = deferred.fire_due(
                session, rules=self.rules, now=self.clock(), actor=f"worker:{self.worker_id}"
            )
        if queued:
            log.info("worker.deferred_enqueued", runs=queued, worker_id=self.worker_id)
            self._wake.set()
        return queued
