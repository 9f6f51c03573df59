"""SQL that differs between SQLite and PostgreSQL: conflict-ignoring inserts and run claims."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignoring_conflicts(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    conflict_columns: Sequence[str],
    returning: Sequence[str] = (),
) -> list[Any]:
    """INSERT rows, silently skipping those that collide on ``conflict_columns``.

    Returns the ``returning`` columns of the rows actually inserted (in no promised order).
    """
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    ins: Any
    if dialect == "postgresql":
        ins = postgresql.insert(table)
    elif dialect == "sqlite":
        ins = sqlite.insert(table)
    else:  # pragma: no cover - only the two supported dialects exist
        raise RuntimeError(f"unsupported dialect {dialect}")
    stmt = ins.on_conflict_do_nothing(index_elements=list(conflict_columns))
    if returning:
        stmt = stmt.returning(*(table.c[c] for c in returning))
        # SQLAlchemy's "insertmanyvalues" turns this into batched multi-row INSERTs with
        # RETURNING on both dialects.
        return list(session.execute(stmt, list(rows)).all())
    session.execute(stmt, list(rows))
    return []


def claim_next_queued(
    session: Session, runs: Table, *, worker_id: str, now: datetime
) -> int | None:
    """Atomically move the oldest queued run to ``running`` for ``worker_id``; its id or None.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` so concurrent workers never block or double-claim.
    SQLite: writers are serialised (BEGIN IMMEDIATE), so one ``UPDATE … RETURNING`` is atomic.
    """
    pick = select(runs.c.id).where(runs.c.state == "queued").order_by(runs.c.id).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    stmt = (
        update(runs)
        .where(runs.c.id == pick.scalar_subquery())
        .where(runs.c.state == "queued")
        .values(state="running", worker_id=worker_id, started_at=now, heartbeat_at=now)
        .returning(runs.c.id)
    )
    return session.execute(stmt).scalar_one_or_none()


def database_ready(session: Session) -> None:
    """Raise if the database does not answer a trivial query."""
    session.execute(text("SELECT 1")).scalar_one()
