"""Alert storage: deduplicating upserts with episodes and history, and the read queries.

Services take a session and never commit: the edge that called them owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, tuple_
from sqlalchemy.orm import Session

from sophrosyne.db.dialect import insert_ignoring_conflicts
from sophrosyne.domains.alerts.models import Alert, AlertDecision, AlertEvent
from sophrosyne.domains.alerts.schemas import IncomingAlert
from sophrosyne.domains.rules.matching import Matcher, first_mismatch
from sophrosyne.errors import NotFound


@dataclass(frozen=True, slots=True)
class Receipt:
    """The effect of one incoming alert: the stored alert and whether its state changed."""

    alert: Alert
    created: bool
    #: A new alert, a firing→resolved transition, or a resolved→firing new episode.
    changed: bool


def upsert(session: Session, incoming: Sequence[IncomingAlert], *, now: datetime) -> list[Receipt]:
    """Store a batch: create unseen alerts, count re-sends, start episodes, log changes.

    Safe against concurrent writers on PostgreSQL: new alerts are inserted with
    ON CONFLICT DO NOTHING and every touched row is then locked before it is updated.
    Receipts come back in the order of ``incoming``.
    """
    if not incoming:
        return []
    keys = list(dict.fromkeys((a.source, a.fingerprint) for a in incoming))
    known = {
        (src, fp)
        for src, fp in session.execute(
            select(Alert.source, Alert.fingerprint).where(
                tuple_(Alert.source, Alert.fingerprint).in_(keys)
            )
        )
    }
    first_of: dict[tuple[str, str], IncomingAlert] = {}
    for a in incoming:
        if (a.source, a.fingerprint) not in known:
            first_of.setdefault((a.source, a.fingerprint), a)
    inserted = {
        (row.source, row.fingerprint)
        for row in insert_ignoring_conflicts(
            session,
            Alert.__table__,  # type: ignore[arg-type]
            [_new_row(a, now) for a in first_of.values()],
            conflict_columns=("source", "fingerprint"),
            returning=("source", "fingerprint"),
        )
    }
    rows = session.scalars(
        select(Alert)
        .where(tuple_(Alert.source, Alert.fingerprint).in_(keys))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    by_key = {(r.source, r.fingerprint): r for r in rows}

    receipts: list[Receipt] = []
    events: list[dict[str, Any]] = []
    fresh = set(inserted)
    for a in incoming:
        key = (a.source, a.fingerprint)
        alert = by_key[key]
        if key in fresh:
            fresh.discard(key)  # later copies of the same alert in this batch are re-sends
            events.append(_event(alert, None, now))
            receipts.append(Receipt(alert, created=True, changed=True))
            continue
        previous = alert.status
        _apply(alert, a, now)
        changed = previous != alert.status
        if changed:
            events.append(_event(alert, previous, now))
        receipts.append(Receipt(alert, created=False, changed=changed))
    if events:
        session.execute(insert(AlertEvent), events)
    return receipts


def _new_row(a: IncomingAlert, now: datetime) -> dict[str, Any]:
    return {
        "source": a.source,
        "fingerprint": a.fingerprint,
        "status": a.status,
        "labels": a.labels,
        "annotations": a.annotations,
        "severity": a.severity,
        "generator_url": a.generator_url,
        "starts_at": a.starts_at,
        "ends_at": a.ends_at,
        "first_seen_at": now,
        "last_seen_at": now,
        "episode": 1,
        "episode_started_at": now,
        "occurrences": 1,
        "total_occurrences": 1,
    }


def _apply(alert: Alert, a: IncomingAlert, now: datetime) -> None:
    if alert.status == "resolved" and a.status == "firing":
        # It came back: a new episode, counted from one again.
        alert.episode += 1
        alert.episode_started_at = now
        alert.occurrences = 1
    else:
        alert.occurrences += 1
    alert.total_occurrences += 1
    alert.status = a.status
    alert.last_seen_at = now
    # Annotations, severity and times follow the newest copy; labels cannot differ for one
    # fingerprint from Alertmanager, but a generic sender's own fingerprint may carry new ones.
    if alert.labels != a.labels:
        alert.labels = a.labels
    if alert.annotations != a.annotations:
        alert.annotations = a.annotations
    alert.severity = a.severity
    if a.starts_at is not None:
        alert.starts_at = a.starts_at
    alert.ends_at = a.ends_at
    if a.generator_url:
        alert.generator_url = a.generator_url


def _event(alert: Alert, previous: str | None, now: datetime) -> dict[str, Any]:
    return {
        "alert_id": alert.id,
        "episode": alert.episode,
        "from_status": previous,
        "to_status": alert.status,
        "at": now,
    }


def record_decisions(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Store why matched rules did (or did not) lead to runs."""
    if rows:
        session.execute(insert(AlertDecision), list(rows))


def get(session: Session, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound("alert", alert_id)
    return alert


def history(session: Session, alert_id: int) -> list[AlertEvent]:
    return list(
        session.scalars(
            select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)
        )
    )


def decisions(session: Session, alert_id: int) -> list[AlertDecision]:
    return list(
        session.scalars(
            select(AlertDecision)
            .where(AlertDecision.alert_id == alert_id)
            .order_by(AlertDecision.id)
        )
    )


@dataclass(frozen=True)
class AlertFilter:
    status: str | None = None
    severity: str | None = None
    source: str | None = None
    fingerprint: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    matchers: tuple[Matcher, ...] = ()


def search(
    session: Session, flt: AlertFilter, *, limit: int = 100, before_id: int | None = None
) -> list[Alert]:
    """Newest first, keyset-paged by id. Label matchers are applied in Python, page by page,
    because JSON label queries differ per dialect and matchers include regexes."""
    stmt = select(Alert).order_by(Alert.id.desc())
    if flt.status:
        stmt = stmt.where(Alert.status == flt.status)
    if flt.severity:
        stmt = stmt.where(Alert.severity == flt.severity)
    if flt.source:
        stmt = stmt.where(Alert.source == flt.source)
    if flt.fingerprint:
        stmt = stmt.where(Alert.fingerprint == flt.fingerprint)
    if flt.since:
        stmt = stmt.where(Alert.last_seen_at >= flt.since)
    if flt.until:
        stmt = stmt.where(Alert.last_seen_at < flt.until)
    if not flt.matchers:
        if before_id is not None:
            stmt = stmt.where(Alert.id < before_id)
        return list(session.scalars(stmt.limit(limit)))
    out: list[Alert] = []
    cursor = before_id
    chunk = max(limit * 4, 200)
    while len(out) < limit:
        page_stmt = stmt if cursor is None else stmt.where(Alert.id < cursor)
        page = list(session.scalars(page_stmt.limit(chunk)))
        if not page:
            break
        out.extend(a for a in page if first_mismatch(flt.matchers, a.labels) is None)
        cursor = page[-1].id
    return out[:limit]
