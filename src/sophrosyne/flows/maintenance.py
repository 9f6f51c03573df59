"""Maintenance windows beyond the ingest path: the worker starts no automatic run on a target
inside an open window, and an incident whose alerts are all in maintenance is announced as
suppressed (recorded, with the window) instead of paging anyone.

Runs already queued for a target when its window opens stay queued, held: the claim passes
over them (``runs.claim(held=…)``) and housekeeping records once on each why it waits
(a run event naming the window). They start when the window closes, unless someone cancels
them. Runs a person started (manual runs, confirmed runs are not ``automatic``) are never
held: the person doing the maintenance may need them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from sophrosyne.domains.maintenance.active import (
    CompiledWindow,
    covering,
    held_targets,
    open_at,
)
from sophrosyne.domains.rules.service import RuleCache
from sophrosyne.domains.runs import service as runs
from sophrosyne.logging import get_logger

log = get_logger(__name__)

#: Queued automatic runs looked at per housekeeping pass to record why they are held.
HOLD_BATCH = 500


def held_now(session: Session, rules: RuleCache, *, now: datetime) -> dict[str, CompiledWindow]:
    """Target name → the open window holding it (empty, after one cheap revision check, when
    no window exists)."""
    windows = rules.get(session, now=now).maintenance
    return held_targets(windows, now) if windows else {}


def hold_reason(target: str, window: CompiledWindow) -> str:
    return (
        f"held: target {target} is in maintenance window {window.name!r} (id {window.id}); "
        "an automatic run starts when the window closes"
    )


def record_held(session: Session, rules: RuleCache, *, now: datetime) -> list[int]:
    """Record on each queued automatic run on a held target why it waits (once per window)."""
    held = held_now(session, rules, now=now)
    if not held:
        return []
    noted: list[int] = []
    for run in runs.queued_automatic_on(session, held, limit=HOLD_BATCH):
        target = next(str(t) for t in run.targets if str(t) in held)
        if runs.note(session, run, hold_reason(target, held[target]), now=now):
            noted.append(run.id)
    if noted:
        log.info("maintenance.runs_held", runs=noted)
    return noted


def all_in_maintenance(
    windows: Sequence[CompiledWindow], labels: Sequence[dict[str, str]], now: datetime
) -> CompiledWindow | None:
    """The window of the first alert if every alert (``labels`` each) is in an open window,
    else None (and None for no alerts)."""
    first: CompiledWindow | None = None
    open_windows = open_at(windows, now)
    if not open_windows:
        return None
    for alert in labels:
        hit = covering(open_windows, alert)
        if hit is None:
            return None
        first = first or hit[0]
    return first
