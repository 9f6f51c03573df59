"""Named locks held until the end of the transaction, for work that has no row to lock yet
(two ingest transactions about to open an incident for the same group key)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy.orm import Session


def _key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def lock_names(session: Session, names: Iterable[str]) -> None:
    """Hold a lock on each of ``names`` until this transaction ends.

    PostgreSQL: transaction-level advisory locks, taken in one statement in sorted order (so
    two transactions cannot deadlock on them). SQLite: nothing to do, its writers are already
    serialised (every write transaction begins IMMEDIATE).
    """
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return
    keys = sorted({_key(n) for n in names})
    if keys:
        conn.exec_driver_sql(
            "SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k", (keys,)
        )
