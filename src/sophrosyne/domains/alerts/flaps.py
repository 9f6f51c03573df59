"""Stored flapping state of alerts, and the recent state changes it is judged on."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from sophrosyne.db.bulk import insert_rows
from sophrosyne.domains.alerts.models import AlertEvent, AlertFlap


def states(session: Session, alert_ids: Collection[int]) -> dict[int, bool]:
    """Alert id → flapping, for the alerts that have a stored state."""
    if not alert_ids:
        return {}
    rows = session.execute(
        select(AlertFlap.alert_id, AlertFlap.flapping).where(AlertFlap.alert_id.in_(alert_ids))
    )
    return {int(alert_id): bool(flapping) for alert_id, flapping in rows}


def recent_events(
    session: Session, alert_ids: Collection[int], *, limit: int
) -> dict[int, list[tuple[datetime, str]]]:
    """Alert id → its last ``limit`` state changes as (at, to_status), oldest first."""
    if not alert_ids:
        return {}
    ranked = (
        select(
            AlertEvent.alert_id,
            AlertEvent.at,
            AlertEvent.to_status,
            AlertEvent.id,
            func.row_number()
            .over(partition_by=AlertEvent.alert_id, order_by=AlertEvent.id.desc())
            .label("n"),
        )
        .where(AlertEvent.alert_id.in_(alert_ids))
        .subquery()
    )
    rows = session.execute(
        select(ranked.c.alert_id, ranked.c.at, ranked.c.to_status)
        .where(ranked.c.n <= limit)
        .order_by(ranked.c.alert_id, ranked.c.id)
    )
    out: dict[int, list[tuple[datetime, str]]] = {}
    for alert_id, at, status in rows:
        out.setdefault(alert_id, []).append((at, status))
    return out


def save(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Store (replace) the flapping state of these alerts: ``alert_id``, ``flapping``,
    ``percent``, ``changed_at``."""
    if not rows:
        return
    session.execute(delete(AlertFlap).where(AlertFlap.alert_id.in_([r["alert_id"] for r in rows])))
    insert_rows(session, AlertFlap.__table__, rows)  # type: ignore[arg-type]
