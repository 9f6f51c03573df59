"""SQL that differs between SQLite and PostgreSQL: run claims and readiness (bulk inserts are
in ``bulk``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Table, any_, literal, select, text, update
from sqlalchemy.orm import Session


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


def one_of(session: Session, column: Any, values: Sequence[Any]) -> Any:
    """``column IN (values)`` the way each dialect plans best.

    PostgreSQL gets ``= ANY(array)``: one bound parameter, so the statement text and its plan
    are the same for every batch size. SQLite gets a plain IN list.
    """
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(list(values), ARRAY(column.type)))
    return column.in_(list(values))


def database_ready(session: Session) -> None:
    """Raise if the database does not answer a trivial query."""
    session.execute(text("SELECT 1")).scalar_one()
