"""Maintenance windows: create, update, delete, end now, list, and the compiled set cached
with the rules.

Every change bumps the catalog revision, so ``RuleCache`` reloads the windows with the rules.
Windows written in YAML (``maintenance_windows:``) are ``managed_by="file"`` and read-only
through the API (``ReadOnly.unless_owner``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.maintenance.active import (
    CompiledWindow,
    recurrence_of,
    scope_of,
)
from sophrosyne.domains.maintenance.models import MaintenanceWindow
from sophrosyne.domains.maintenance.schedule import Schedule, state_of
from sophrosyne.domains.maintenance.schemas import (
    MaintenanceOut,
    MaintenanceSpec,
    OccurrenceOut,
    RecurrenceSpec,
    WindowState,
    spec_problems,
)
from sophrosyne.domains.rules.matching import parse_matchers
from sophrosyne.domains.rules.targeting import TargetView
from sophrosyne.errors import Conflict, FieldError, NotFound, ReadOnly, ValidationFailed

KIND = "maintenance window"
#: Occurrences listed per window.
SHOWN = 5


def _utc(value: datetime | None) -> datetime | None:
    """Times without a zone are UTC (as in the API and in YAML files)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def normalised(spec: MaintenanceSpec) -> MaintenanceSpec:
    """The spec with its one-off times in UTC."""
    return spec.model_copy(
        update={"starts_at": _utc(spec.starts_at), "ends_at": _utc(spec.ends_at)}
    )


def check(spec: MaintenanceSpec) -> None:
    problems = spec_problems(spec)
    if problems:
        raise ValidationFailed(problems)


def _assign(window: MaintenanceWindow, spec: MaintenanceSpec, *, by: str, now: datetime) -> None:
    window.comment = spec.comment
    window.author = spec.author or window.author or by
    window.targets = list(spec.targets)
    window.target_selector = list(spec.target_selector)
    window.matchers = list(spec.matchers)
    window.from_label = spec.from_label
    window.starts_at = spec.starts_at
    window.ends_at = spec.ends_at
    window.recurrence = spec.recurrence.model_dump(mode="json") if spec.recurrence else None
    window.cut_at = None
    window.updated_at = now


def find_by_name(session: Session, name: str) -> MaintenanceWindow | None:
    return session.scalar(select(MaintenanceWindow).where(MaintenanceWindow.name == name))


def get(session: Session, window_id: int) -> MaintenanceWindow:
    window = session.get(MaintenanceWindow, window_id)
    if window is None:
        raise NotFound("maintenance window", window_id)
    return window


def create(
    session: Session,
    spec: MaintenanceSpec,
    *,
    now: datetime,
    by: str = "config",
    managed_by: str = "api",
    source_file: str | None = None,
) -> MaintenanceWindow:
    spec = normalised(spec)
    check(spec)
    if find_by_name(session, spec.name) is not None:
        raise Conflict(f"a maintenance window named {spec.name!r} already exists")
    window = MaintenanceWindow(
        name=spec.name,
        author="",
        managed_by=managed_by,
        source_file=source_file,
        created_by=by,
        created_at=now,
    )
    _assign(window, spec, by=by, now=now)
    session.add(window)
    session.flush()
    actions.bump_revision(session)
    return window


def update(
    session: Session,
    name: str,
    spec: MaintenanceSpec,
    *,
    now: datetime,
    by: str = "config",
    managed_by: str = "api",
    source_file: str | None = None,
) -> MaintenanceWindow:
    """Replace a window's definition (an "end now" cut is forgotten: the new one stands)."""
    window = get_by_name(session, name)
    ReadOnly.unless_owner(KIND, window.name, window.managed_by, managed_by)
    spec = normalised(spec)
    check(spec)
    if spec.name != name:
        raise ValidationFailed([FieldError(("name",), "cannot be changed (delete, create)")])
    _assign(window, spec, by=by, now=now)
    window.source_file = source_file
    session.flush()
    actions.bump_revision(session)
    return window


def delete(session: Session, name: str, *, managed_by: str = "api") -> MaintenanceWindow:
    window = get_by_name(session, name)
    ReadOnly.unless_owner(KIND, window.name, window.managed_by, managed_by)
    session.delete(window)
    session.flush()
    actions.bump_revision(session)
    return window


def end_now(session: Session, name: str, *, now: datetime) -> MaintenanceWindow:
    """End the open occurrence now; a one-off window that has not started never will."""
    window = get_by_name(session, name)
    ReadOnly.unless_owner(KIND, window.name, window.managed_by, "api")
    schedule = schedule_of(window)
    if window.recurrence is None:
        if window.ends_at is None or window.ends_at <= now:
            raise Conflict(f"maintenance window {name!r} has already ended")
        window.ends_at = now
        window.starts_at = min(window.starts_at or now, now)
    else:
        if schedule.occurrence_at(now) is None:
            raise Conflict(f"maintenance window {name!r} is not open now")
        window.cut_at = now
    window.updated_at = now
    session.flush()
    actions.bump_revision(session)
    return window


def get_by_name(session: Session, name: str) -> MaintenanceWindow:
    window = find_by_name(session, name)
    if window is None:
        raise NotFound("maintenance window", name)
    return window


def list_all(session: Session) -> list[MaintenanceWindow]:
    return list(session.scalars(select(MaintenanceWindow).order_by(MaintenanceWindow.name)))


def schedule_of(window: MaintenanceWindow) -> Schedule:
    return Schedule(
        starts_at=window.starts_at,
        ends_at=window.ends_at,
        recurrence=recurrence_of(window.recurrence) if window.recurrence else None,
        cut_at=window.cut_at,
    )


def state(window: MaintenanceWindow, now: datetime) -> WindowState:
    return cast(WindowState, state_of(schedule_of(window), now))


def to_spec(window: MaintenanceWindow) -> MaintenanceSpec:
    return MaintenanceSpec(
        name=window.name,
        comment=window.comment,
        author=window.author,
        targets=list(window.targets),
        target_selector=list(window.target_selector),
        matchers=list(window.matchers),
        from_label=window.from_label,
        starts_at=window.starts_at,
        ends_at=window.ends_at,
        recurrence=RecurrenceSpec.model_validate(window.recurrence) if window.recurrence else None,
    )


def to_out(window: MaintenanceWindow, now: datetime) -> MaintenanceOut:
    schedule = schedule_of(window)
    return MaintenanceOut(
        **to_spec(window).model_dump(exclude={"author"}),
        id=window.id,
        author=window.author,
        state=state(window, now),
        next_occurrences=[
            OccurrenceOut(starts_at=s, ends_at=e) for s, e in schedule.next_occurrences(now, SHOWN)
        ],
        managed_by=window.managed_by,
        source_file=window.source_file,
        created_by=window.created_by,
        created_at=window.created_at,
        updated_at=window.updated_at,
    )


def compile_all(
    session: Session, inventory: Sequence[TargetView], *, now: datetime
) -> list[CompiledWindow]:
    """Every window that may still open after ``now``, compiled against ``inventory``, for
    the rules cache. One-off windows already over are left out (their rows stay)."""
    out: list[CompiledWindow] = []
    for w in list_all(session):
        if w.recurrence is None and (w.ends_at is None or w.ends_at <= now):
            continue
        names, hosts = scope_of(w.targets, w.target_selector, inventory)
        out.append(
            CompiledWindow(
                id=w.id,
                name=w.name,
                author=w.author,
                comment=w.comment,
                schedule=schedule_of(w),
                matchers=parse_matchers(w.matchers),
                from_label=w.from_label,
                target_names=names,
                hosts=hosts,
            )
        )
    return out
