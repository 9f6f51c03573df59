"""Guards' state in the database: the kill switch, and throttle groups.

Services take a session and never commit. Pausing and resuming bump the catalog revision, so
every process's rule cache (which carries the pause) sees the change in its next transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sophrosyne.db.bulk import insert_rows
from sophrosyne.db.listen import notify_queued
from sophrosyne.domains.actions.service import bump_revision
from sophrosyne.domains.guards.models import Automation, ThrottleGroup
from sophrosyne.domains.guards.policy import Pause
from sophrosyne.domains.guards.schemas import AutomationOut
from sophrosyne.domains.guards.throttle import GroupState

_ROW = 1


def automation(session: Session) -> AutomationOut:
    """The kill switch as it stands (no row yet: automation runs)."""
    row = session.get(Automation, _ROW)
    if row is None:
        return AutomationOut(paused=False, reason="", by=None, since=None)
    return AutomationOut(
        paused=row.paused, reason=row.reason, by=row.changed_by, since=row.changed_at
    )


def pause_of(session: Session) -> Pause | None:
    """The pause, for the rule cache; None while automation runs."""
    state = automation(session)
    return Pause(state.reason, state.by, state.since) if state.paused else None


def set_paused(
    session: Session, *, paused: bool, reason: str, by: str, now: datetime
) -> tuple[AutomationOut, bool]:
    """Pause or resume automation: (the new state, whether it changed)."""
    row = session.get(Automation, _ROW, with_for_update=True)
    if row is None:
        row = Automation(id=_ROW, paused=False, reason="")
        session.add(row)
    changed = row.paused != paused
    row.paused = paused
    row.reason = reason
    row.changed_by = by
    row.changed_at = now
    session.flush()
    bump_revision(session)
    if not paused:
        notify_queued(session)  # runs held while paused may start now, on any worker
    return automation(session), changed


# --- throttle groups ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupRef:
    rule_id: int
    key: str
    labels: dict[str, str]
    kind: str


def lock_groups(
    session: Session, refs: Sequence[GroupRef], *, now: datetime
) -> dict[tuple[int, str], ThrottleGroup]:
    """The throttle groups ``refs`` name, created if new and locked until commit (in key
    order, so concurrent writers cannot deadlock); change them in place, the ORM saves them."""
    wanted = {(r.rule_id, r.key): r for r in refs}
    if not wanted:
        return {}
    rows: list[dict[str, Any]] = [
        {
            "rule_id": r.rule_id,
            "group_key": r.key,
            "labels": r.labels,
            "kind": r.kind,
            "window_started_at": None,
            "events": 0,
            "due_at": None,
            "alert_id": None,
            "updated_at": now,
        }
        for _, r in sorted(wanted.items())
    ]
    insert_rows(
        session,
        ThrottleGroup.__table__,  # type: ignore[arg-type]
        rows,
        ignore_conflicts_on=("rule_id", "group_key"),
    )
    # Two plain IN lists (a row-value IN list can make SQLite scan the table); the few extra
    # pairs they may also match are dropped here.
    found = session.scalars(
        select(ThrottleGroup)
        .where(
            ThrottleGroup.rule_id.in_({r for r, _ in wanted}),
            ThrottleGroup.group_key.in_({k for _, k in wanted}),
        )
        .order_by(ThrottleGroup.rule_id, ThrottleGroup.group_key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {(g.rule_id, g.group_key): g for g in found if (g.rule_id, g.group_key) in wanted}


def state_of(group: ThrottleGroup) -> GroupState:
    return GroupState(
        kind=group.kind,
        window_started_at=group.window_started_at,
        events=group.events,
        due_at=group.due_at,
        alert_id=group.alert_id,
    )


def save_state(group: ThrottleGroup, state: GroupState, *, now: datetime) -> None:
    group.kind = state.kind
    group.window_started_at = state.window_started_at
    group.events = state.events
    group.due_at = state.due_at
    group.alert_id = state.alert_id
    group.updated_at = now


def due_groups(session: Session, *, now: datetime, limit: int = 200) -> list[ThrottleGroup]:
    """``once_after`` groups whose window has ended, locked (skipping those another worker is
    firing at this moment), oldest first."""
    return list(
        session.scalars(
            select(ThrottleGroup)
            .where(ThrottleGroup.due_at.is_not(None), ThrottleGroup.due_at <= now)
            .order_by(ThrottleGroup.due_at, ThrottleGroup.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
