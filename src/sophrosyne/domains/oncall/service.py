"""On-call schedules and their overrides: create, update, delete; who is on call now and next;
the shifts of the coming days. Services never commit."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from sophrosyne.domains.oncall import rotation
from sophrosyne.domains.oncall.models import Schedule, ScheduleOverride
from sophrosyne.domains.oncall.schemas import (
    OnCallOut,
    OverrideOut,
    OverrideSpec,
    ScheduleOut,
    ScheduleSpec,
)
from sophrosyne.errors import Conflict, NotFound, ReadOnly


def find(session: Session, name: str) -> Schedule | None:
    return session.scalar(select(Schedule).where(Schedule.name == name))


def get(session: Session, name: str) -> Schedule:
    row = find(session, name)
    if row is None:
        raise NotFound("schedule", name)
    return row


def list_all(session: Session) -> list[Schedule]:
    return list(session.scalars(select(Schedule).order_by(Schedule.name)))


def to_spec(row: Schedule) -> ScheduleSpec:
    return ScheduleSpec.model_validate(
        {
            "name": row.name,
            "description": row.description,
            "time_zone": row.time_zone,
            "layers": row.layers,
        }
    )


def to_out(row: Schedule) -> ScheduleOut:
    return ScheduleOut(
        **to_spec(row).model_dump(),
        id=row.id,
        managed_by=row.managed_by,
        source_file=row.source_file,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _assign(row: Schedule, spec: ScheduleSpec, now: datetime) -> None:
    row.description = spec.description
    row.time_zone = spec.time_zone
    row.layers = [layer.model_dump(mode="json") for layer in spec.layers]
    row.updated_at = now


def create(
    session: Session,
    spec: ScheduleSpec,
    *,
    now: datetime,
    managed_by: str = "api",
    source_file: str | None = None,
) -> Schedule:
    if find(session, spec.name) is not None:
        raise Conflict(f"a schedule named {spec.name!r} already exists")
    row = Schedule(name=spec.name, managed_by=managed_by, source_file=source_file, created_at=now)
    _assign(row, spec, now)
    session.add(row)
    session.flush()
    return row


def update(
    session: Session,
    name: str,
    spec: ScheduleSpec,
    *,
    now: datetime,
    managed_by: str = "api",
    source_file: str | None = None,
) -> Schedule:
    row = get(session, name)
    ReadOnly.unless_owner("schedule", row.name, row.managed_by, managed_by)
    if spec.name != name:
        raise Conflict("a schedule cannot be renamed; create a new one")
    row.source_file = source_file
    _assign(row, spec, now)
    session.flush()
    return row


def delete(session: Session, name: str, *, managed_by: str = "api") -> Schedule:
    """Delete a schedule and (by cascade) its overrides."""
    row = get(session, name)
    ReadOnly.unless_owner("schedule", row.name, row.managed_by, managed_by)
    session.delete(row)
    session.flush()
    return row


# --- overrides -------------------------------------------------------------------------------


def add_override(
    session: Session, row: Schedule, spec: OverrideSpec, *, actor: str, now: datetime
) -> ScheduleOverride:
    """Overrides are made through the API even for file-managed schedules: they are the
    day-to-day part ("I cover for Bob tonight"), not the definition."""
    override = ScheduleOverride(
        schedule_id=row.id,
        user=spec.user,
        starts_at=spec.starts_at,
        ends_at=spec.ends_at,
        note=spec.note,
        created_by=actor,
        created_at=now,
    )
    session.add(override)
    session.flush()
    return override


def overrides(session: Session, row: Schedule) -> list[ScheduleOverride]:
    stmt = (
        select(ScheduleOverride)
        .where(ScheduleOverride.schedule_id == row.id)
        .order_by(ScheduleOverride.created_at, ScheduleOverride.id)
    )
    return list(session.scalars(stmt))


def delete_override(session: Session, row: Schedule, override_id: int) -> None:
    found = session.get(ScheduleOverride, override_id)
    if found is None or found.schedule_id != row.id:
        raise NotFound("override", override_id)
    session.delete(found)
    session.flush()


def override_out(o: ScheduleOverride) -> OverrideOut:
    return OverrideOut(
        id=o.id,
        user=o.user,
        starts_at=o.starts_at,
        ends_at=o.ends_at,
        note=o.note,
        created_by=o.created_by,
        created_at=o.created_at,
    )


def _covers(session: Session, row: Schedule) -> list[rotation.Cover]:
    return [rotation.Cover(o.user, o.starts_at, o.ends_at) for o in overrides(session, row)]


# --- who is on call ---------------------------------------------------------------------------


def who_is_on_call(session: Session, name: str, at: datetime) -> str | None:
    row = get(session, name)
    return rotation.who_is_on_call(to_spec(row), at, _covers(session, row))


def now_and_next(session: Session, name: str, at: datetime) -> OnCallOut:
    row = get(session, name)
    current, nxt = rotation.current_and_next(to_spec(row), at, _covers(session, row))
    return OnCallOut(
        schedule=name,
        at=at,
        user=current.user,
        layer=current.layer,
        since=current.start if current.user else None,
        until=current.end if current.user else None,
        next_user=nxt.user if nxt else None,
        next_start=nxt.start if nxt else None,
    )


def upcoming(session: Session, name: str, at: datetime, days: int) -> list[rotation.Shift]:
    """The shifts from ``at`` for ``days`` days."""
    row = get(session, name)
    return rotation.shifts(to_spec(row), at, at + timedelta(days=days), _covers(session, row))
