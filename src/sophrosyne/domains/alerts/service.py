"""Alert storage: deduplicating upserts with episodes and history, and the read queries.

Services take a session and never commit: the edge that called them owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sophrosyne.db.bulk import insert_rows
from sophrosyne.db.dialect import one_of
from sophrosyne.domains.alerts.models import Alert, AlertDecision, AlertEvent
from sophrosyne.domains.alerts.schemas import SEVERITY_MAX, IncomingAlert
from sophrosyne.domains.rules.matching import Matcher, first_mismatch
from sophrosyne.errors import NotFound


@dataclass(slots=True)  # not frozen: frozen __init__ is slower, and these are made per alert
class StoredAlert:
    """A detached snapshot of an alert row as this transaction left it (cheap to build,
    unlike an ORM object, which matters at thousands of alerts a second)."""

    id: int
    source: str
    fingerprint: str
    status: str
    episode: int
    severity: str | None
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime | None
    generator_url: str | None

    @classmethod
    def of(cls, alert: Alert) -> StoredAlert:
        return cls(
            id=alert.id,
            source=alert.source,
            fingerprint=alert.fingerprint,
            status=alert.status,
            episode=alert.episode,
            severity=alert.severity,
            labels=alert.labels,
            annotations=alert.annotations,
            starts_at=alert.starts_at,
            generator_url=alert.generator_url,
        )


@dataclass(slots=True)  # not frozen: frozen __init__ is slower, and these are made per alert
class Receipt:
    """The effect of one incoming alert: the stored alert and whether its state changed."""

    alert: StoredAlert
    created: bool
    #: A new alert, a firing→resolved transition, or a resolved→firing new episode.
    changed: bool


def upsert(session: Session, incoming: Sequence[IncomingAlert], *, now: datetime) -> list[Receipt]:
    """Store a batch: create unseen alerts, count re-sends, start episodes, log changes.

    Existing rows are locked before they are updated, and new ones are inserted with
    ON CONFLICT DO NOTHING: a row another process inserted meanwhile is then locked and
    treated as a re-send, so concurrent writers on PostgreSQL never fail or double-count.
    Receipts come back in the order of ``incoming``.
    """
    if not incoming:
        return []
    keys = list(dict.fromkeys((a.source, a.fingerprint) for a in incoming))
    by_key = _lock_existing(session, keys)
    fresh: dict[tuple[str, str], StoredAlert] = {}
    # Sorted, like the locking SELECT, so two writers with overlapping batches take row locks
    # in the same order and cannot deadlock each other.
    missing = sorted(k for k in keys if k not in by_key)
    if missing:
        first_of: dict[tuple[str, str], IncomingAlert] = {}
        for a in incoming:
            first_of.setdefault((a.source, a.fingerprint), a)
        rows = [_new_row(first_of[k], now) for k in missing]
        inserted = insert_rows(
            session,
            Alert.__table__,  # type: ignore[arg-type]
            rows,
            returning=("id", "source", "fingerprint"),
            ignore_conflicts_on=("source", "fingerprint"),
        )
        row_of = {(r["source"], r["fingerprint"]): r for r in rows}
        for alert_id, src, fp in inserted:
            # No second SELECT for new alerts: what was inserted is known.
            row = row_of[(src, fp)]
            fresh[(src, fp)] = StoredAlert(
                id=alert_id,
                source=src,
                fingerprint=fp,
                status=row["status"],
                episode=1,
                severity=row["severity"],
                labels=row["labels"],
                annotations=row["annotations"],
                starts_at=row["starts_at"],
                generator_url=row["generator_url"],
            )
        raced = [k for k in missing if k not in fresh]
        if raced:
            by_key.update(_lock_existing(session, raced))

    repeated = _dupes(incoming) if len(keys) < len(incoming) else set()
    receipts: list[Receipt] = []
    events: list[dict[str, Any]] = []
    for a in incoming:
        key = (a.source, a.fingerprint)
        created = fresh.pop(key, None)
        if created is not None:
            # Later copies of the same alert in this batch are re-sends of the stored row.
            if key in repeated:
                loaded = session.get(Alert, created.id)
                assert loaded is not None  # inserted by this very transaction
                by_key[key] = loaded
            events.append(_event(created.id, created.episode, None, created.status, now))
            receipts.append(Receipt(created, created=True, changed=True))
            continue
        alert = by_key[key]
        previous = alert.status
        _apply(alert, a, now)
        changed = previous != alert.status
        if changed:
            events.append(_event(alert.id, alert.episode, previous, alert.status, now))
        receipts.append(Receipt(StoredAlert.of(alert), created=False, changed=changed))
    insert_rows(session, AlertEvent.__table__, events)  # type: ignore[arg-type]
    return receipts


def _lock_existing(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Alert]:
    """Load and lock the stored alerts among ``keys``, in key order.

    One query per source with ``source = ? AND fingerprint IN (…)``: a row-value IN list made
    SQLite scan the whole table, growing slower with every alert ever stored.
    """
    by_source: dict[str, list[str]] = {}
    for src, fp in keys:
        by_source.setdefault(src, []).append(fp)
    found: dict[tuple[str, str], Alert] = {}
    for src in sorted(by_source):
        rows = session.scalars(
            select(Alert)
            .where(Alert.source == src, one_of(session, Alert.fingerprint, by_source[src]))
            .order_by(Alert.fingerprint)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        found.update({(r.source, r.fingerprint): r for r in rows})
    return found


def _dupes(incoming: Sequence[IncomingAlert]) -> set[tuple[str, str]]:
    seen: set[tuple[str, str]] = set()
    dupes: set[tuple[str, str]] = set()
    for a in incoming:
        key = (a.source, a.fingerprint)
        (dupes if key in seen else seen).add(key)
    return dupes


def _severity(value: str | None) -> str | None:
    """The stored severity is a short column: a longer value is cut, never a storage error
    (which would make Alertmanager retry the batch forever)."""
    return value[:SEVERITY_MAX] if value else None


def _new_row(a: IncomingAlert, now: datetime) -> dict[str, Any]:
    return {
        "source": a.source,
        "fingerprint": a.fingerprint,
        "status": a.status,
        "labels": a.labels,
        "annotations": a.annotations,
        "severity": _severity(a.severity),
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
    alert.severity = _severity(a.severity)
    if a.starts_at is not None:
        alert.starts_at = a.starts_at
    alert.ends_at = a.ends_at
    if a.generator_url:
        alert.generator_url = a.generator_url


def _event(
    alert_id: int, episode: int, previous: str | None, status: str, now: datetime
) -> dict[str, Any]:
    return {
        "alert_id": alert_id,
        "episode": episode,
        "from_status": previous,
        "to_status": status,
        "at": now,
    }


def record_decisions(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Store why matched rules did (or did not) lead to runs."""
    insert_rows(session, AlertDecision.__table__, rows)  # type: ignore[arg-type]


def find(session: Session, alert_id: int) -> Alert | None:
    return session.get(Alert, alert_id)


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
    #: Which time ``since`` and ``until`` bound: when the alert was last or first seen.
    time_field: Literal["last_seen", "first_seen"] = "last_seen"


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
    seen = Alert.first_seen_at if flt.time_field == "first_seen" else Alert.last_seen_at
    if flt.since:
        stmt = stmt.where(seen >= flt.since)
    if flt.until:
        stmt = stmt.where(seen < flt.until)
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


def firing_by_severity(session: Session) -> dict[str, int]:
    """How many alerts are firing now, per severity (``""`` for alerts without one)."""
    rows = session.execute(
        select(Alert.severity, func.count(Alert.id))
        .where(Alert.status == "firing")
        .group_by(Alert.severity)
    )
    return {severity or "": int(n) for severity, n in rows}
