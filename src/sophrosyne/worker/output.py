"""Live output on its way from the executors to the ``run_output`` table.

Executors call a run's sink with each chunk; the sink only appends it to a buffer in memory
(under a lock held for microseconds), so a slow or locked database never holds up a command.
A writer thread stores every run's buffered text every ``interval_seconds`` in short
transactions of its own (one per run, so one failing run cannot stall the others), and the
slot that ran the command stores what is left before it records the result: once a run is
terminal, its live output is complete. On SQLite those transactions queue on the write gate
like any other writer; each is one or two INSERTs.

The executors redact and cap what they send; the buffer caps each run once more
(``limit_bytes``) so a misbehaving executor cannot fill the table.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.domains.runs import output
from sophrosyne.logging import get_logger

log = get_logger(__name__)

Chunk = tuple[str, datetime]

#: Buffered pieces are joined into rows of at most this many characters.
ROW_CHARS = 16 * 1024
#: A periodic write that failed is tried again this many times before its text is dropped.
MAX_ATTEMPTS = 3


def _overflow_marker(limit: int) -> str:
    return f"\n[live output of this run stopped after {limit} bytes]\n"


@dataclass
class _Buffer:
    limit_bytes: int
    pending: list[Chunk] = field(default_factory=list)
    accepted: int = 0
    full: bool = False
    failures: int = 0

    def add(self, text: str, at: datetime) -> None:
        if self.full or not text:
            return
        size = len(text.encode("utf-8"))
        if self.accepted + size > self.limit_bytes:
            room = max(0, self.limit_bytes - self.accepted)
            text = text.encode("utf-8")[:room].decode("utf-8", errors="ignore")
            text += _overflow_marker(self.limit_bytes)
            self.full = True
        self.accepted += size
        self.pending.append((text, at))

    def take(self) -> list[Chunk]:
        """The pending pieces joined into rows, oldest first; the buffer is left empty."""
        rows: list[Chunk] = []
        for text, at in self.pending:
            if rows and len(rows[-1][0]) + len(text) <= ROW_CHARS:
                rows[-1] = (rows[-1][0] + text, rows[-1][1])
            else:
                rows += [(text[i : i + ROW_CHARS], at) for i in range(0, len(text), ROW_CHARS)]
        self.pending = []
        return rows


class OutputWriter:
    """Buffers live output per run and stores it in ``run_output``."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        clock: Callable[[], datetime],
        interval_seconds: float = 0.5,
    ) -> None:
        self.session_factory = session_factory
        self.clock = clock
        self.interval_seconds = interval_seconds
        self._lock = threading.Lock()  # guards the buffers; never held across I/O
        self._writing = threading.Lock()  # one write at a time, so a run's rows stay in order
        self._buffers: dict[int, _Buffer] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- per run ---------------------------------------------------------------------------

    def open(self, run_id: int, *, limit_bytes: int) -> Callable[[str], None]:
        """Start buffering ``run_id``; the returned sink is the executor's ``on_output``."""
        buffer = _Buffer(limit_bytes)
        with self._lock:
            self._buffers[run_id] = buffer

        def sink(text: str) -> None:
            at = self.clock()
            with self._lock:
                buffer.add(text, at)

        return sink

    def close(self, run_id: int) -> None:
        """Store what is left of ``run_id``'s output and forget the run (before its result is
        recorded, so a terminal run's live output is complete)."""
        with self._writing:
            with self._lock:
                buffer = self._buffers.pop(run_id, None)
                rows = buffer.take() if buffer is not None else []
            if rows and not self._store(run_id, rows):
                log.warning("worker.live_output_dropped", run_id=run_id, chunks=len(rows))

    # -- all runs --------------------------------------------------------------------------

    def flush(self) -> None:
        """Store every run's buffered output now (the writer thread does this periodically)."""
        with self._writing:
            with self._lock:
                batch = {run_id: b.take() for run_id, b in self._buffers.items() if b.pending}
            for run_id, rows in batch.items():
                if self._store(run_id, rows):
                    continue
                with self._lock:
                    buffer = self._buffers.get(run_id)
                    if buffer is None:
                        continue
                    buffer.failures += 1
                    if buffer.failures < MAX_ATTEMPTS:
                        buffer.pending[:0] = rows  # try again next time, still in order
                    else:
                        log.warning("worker.live_output_dropped", run_id=run_id, chunks=len(rows))
                        buffer.failures = 0

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, name="sophrosyne-live-output", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop the writer thread after one last flush."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        self.flush()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            try:
                self.flush()
            except Exception:
                log.exception("worker.live_output_error")

    def _store(self, run_id: int, rows: list[Chunk]) -> bool:
        try:
            with self.session_factory.begin() as session:
                output.append(session, run_id, rows)
        except Exception:
            log.warning("worker.live_output_write_failed", run_id=run_id, exc_info=True)
            return False
        return True
