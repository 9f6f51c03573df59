"""Maintenance windows beyond the ingest path: the worker starts no automatic run on a target
inside an open window, and an incident whose alerts are all in maintenance is announced as
suppressed (recorded, with the window) instead of paging anyone (``flows.heldback``).

Automatic runs already queued when a window opens stay queued, held, if they are on a target
in scope or their alert is in scope: the claim passes over them (``runs.claim(held=…,
skip=…)``) and housekeeping records once on each why it waits (a run event naming the
window). They start when the window closes, unless someone cancels
them. Runs a person started (manual runs, confirmed runs are not ``automatic``) are never
held: the person doing the maintenance may need them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sophrosyne.domains.alerts.models import Alert
from sophrosyne.domains.maintenance.active import (
    CompiledWindow,
    covering,
    held_targets,
    open_at,
)
from sophrosyne.domains.rules.service import RuleCache
from sophrosyne.domains.runs import service as runs
from sophrosyne.domains.runs.models import Run
from sophrosyne.domains.runs.states import RunState
from sophrosyne.logging import get_logger

log = get_logger(__name__)

#: Queued automatic runs looked at per housekeeping pass to record why they are held.
HOLD_BATCH = 500


@dataclass(frozen=True)
class Holds:
    """What the worker may not start now: automatic runs on ``targets`` in an open window,
    and the automatic ``runs`` whose alert is in scope of one (by its labels)."""

    targets: dict[str, CompiledWindow] = field(default_factory=dict)
    runs: dict[int, tuple[CompiledWindow, str]] = field(default_factory=dict)


def holds(session: Session, rules: RuleCache, *, now: datetime) -> Holds:
    """The holds at ``now``: nothing, after one cheap revision check, when no window is open;
    while one is, the queued automatic runs' alerts (at most ``HOLD_BATCH``) are looked at."""
    windows = rules.get(session, now=now).maintenance
    open_windows = open_at(windows, now) if windows else []
    if not open_windows:
        return Holds()
    by_run: dict[int, tuple[CompiledWindow, str]] = {}
    queued = session.execute(
        select(Run.id, Alert.labels)
        .join(Alert, Alert.id == Run.alert_id)
        .where(Run.state == RunState.QUEUED.value, Run.automatic.is_(True))
        .order_by(Run.id)
        .limit(HOLD_BATCH)
    )
    for run_id, labels in queued:
        hit = covering(open_windows, {str(k): str(v) for k, v in labels.items()})
        if hit is not None:
            by_run[run_id] = hit
    return Holds(held_targets(open_windows, now), by_run)


def target_reason(target: str, window: CompiledWindow) -> str:
    return (
        f"held: target {target} is in maintenance window {window.name!r} (id {window.id}); "
        "an automatic run starts when the window closes"
    )


def alert_reason(window: CompiledWindow, why: str) -> str:
    return (
        f"held: its alert is in maintenance window {window.name!r} (id {window.id}): {why}; "
        "an automatic run starts when the window closes"
    )


def record_held(session: Session, rules: RuleCache, *, now: datetime) -> list[int]:
    """Record on each held queued automatic run why it waits (once per window and reason)."""
    held = holds(session, rules, now=now)
    noted: list[int] = []
    by_target: set[int] = set()  # one reason per run: its target's window, if it has one
    for run in runs.queued_automatic_on(session, held.targets, limit=HOLD_BATCH):
        by_target.add(run.id)
        target = next(str(t) for t in run.targets if str(t) in held.targets)
        if runs.note(session, run, target_reason(target, held.targets[target]), now=now):
            noted.append(run.id)
    for run_id, (window, why) in held.runs.items():
        if run_id in by_target:
            continue
        if runs.note(session, runs.get(session, run_id), alert_reason(window, why), now=now):
            noted.append(run_id)
    if noted:
        log.info("maintenance.runs_held", runs=noted)
    return noted
