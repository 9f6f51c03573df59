"""A fair, in-process queue for SQLite's single writer.

SQLite lets one transaction write at a time. Left to itself, a thread that finds the database
locked sleeps in growing steps (1, 2, 5, 10 … 100 ms) and tries again, so under concurrent
ingest most of the time went into sleeping, and latencies grew long tails. Threads of one
process instead queue on a lock here and begin the moment the previous writer commits.
Writers in other processes (a separate worker) still meet SQLite's busy timeout.

The lock is taken just before ``BEGIN IMMEDIATE`` and released after the driver's commit,
rollback or close, by a ``sqlite3.Connection`` subclass, so it cannot outlive a transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any


class WriteGate:
    """One per database file and process."""

    def __init__(self, timeout_seconds: float = 30.0) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None
        self.timeout_seconds = timeout_seconds

    def acquire(self, conn: sqlite3.Connection) -> None:
        if not self._lock.acquire(timeout=self.timeout_seconds):
            # The same error SQLite would have raised after its own busy timeout.
            raise sqlite3.OperationalError(
                f"database is locked (waited {self.timeout_seconds:.0f} s for the writer)"
            )
        self._owner = id(conn)

    def release(self, conn: sqlite3.Connection) -> None:
        if self._owner == id(conn):
            self._owner = None
            self._lock.release()


def connection_class(gate: WriteGate) -> type[sqlite3.Connection]:
    """A ``sqlite3.Connection`` that hands the gate on when its transaction ends."""

    class GatedConnection(sqlite3.Connection):
        write_gate = gate

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                gate.release(self)

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                gate.release(self)

        def close(self) -> None:
            try:
                super().close()
            finally:
                gate.release(self)

    return GatedConnection


def begin_immediate(dbapi_conn: Any) -> None:
    """Queue for the gate, then take SQLite's write lock."""
    gate: WriteGate = dbapi_conn.write_gate
    gate.acquire(dbapi_conn)
    try:
        dbapi_conn.execute("BEGIN IMMEDIATE")
    except BaseException:
        gate.release(dbapi_conn)
        raise
