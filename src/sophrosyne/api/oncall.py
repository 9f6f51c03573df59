"""On-call schedules: definitions, overrides, who is on call now and next, and an iCal feed.

Schedules need ``edit_catalog`` to change; overrides (covering a shift) ``ack``, so operators
can swap shifts among themselves; reads ``read``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Response, status

from sophrosyne.api.deps import State, as_utc, permit
from sophrosyne.api.errors import ERROR_RESPONSES
from sophrosyne.api.state import utcnow
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.oncall import ical
from sophrosyne.domains.oncall import service as oncall
from sophrosyne.domains.oncall.schemas import (
    OnCallOut,
    OverrideOut,
    OverrideSpec,
    ScheduleOut,
    ScheduleSpec,
)

router = APIRouter(prefix="/schedules", tags=["on-call"], responses=ERROR_RESPONSES)


def _audit(session: object, who: Principal, event: str, name: str, detail: object) -> None:
    audit.record(
        session,  # type: ignore[arg-type]
        actor=who.actor,
        action=event,
        object_type="schedule",
        object_id=name,
        detail=detail,  # type: ignore[arg-type]
        now=utcnow(),
    )


@router.get("", response_model=list[ScheduleOut], summary="List schedules")
def list_schedules(
    _p: Annotated[Principal, permit("oncall.read")], state: State
) -> list[ScheduleOut]:
    with state.reading() as session:
        return [oncall.to_out(s) for s in oncall.list_all(session)]


@router.get("/{name}", response_model=ScheduleOut, summary="One schedule")
def get_schedule(
    name: str, _p: Annotated[Principal, permit("oncall.read")], state: State
) -> ScheduleOut:
    with state.reading() as session:
        return oncall.to_out(oncall.get(session, name))


@router.post("", response_model=ScheduleOut, status_code=201, summary="Create a schedule")
def create_schedule(
    spec: ScheduleSpec, p: Annotated[Principal, permit("oncall.edit")], state: State
) -> ScheduleOut:
    with state.transaction() as session:
        row = oncall.create(session, spec, now=utcnow())
        _audit(session, p, "schedule.created", spec.name, spec.model_dump(mode="json"))
        return oncall.to_out(row)


@router.put("/{name}", response_model=ScheduleOut, summary="Replace a schedule")
def update_schedule(
    name: str, spec: ScheduleSpec, p: Annotated[Principal, permit("oncall.edit")], state: State
) -> ScheduleOut:
    with state.transaction() as session:
        row = oncall.update(session, name, spec, now=utcnow())
        _audit(session, p, "schedule.updated", name, spec.model_dump(mode="json"))
        return oncall.to_out(row)


@router.delete("/{name}", status_code=204, response_class=Response, summary="Delete a schedule")
def delete_schedule(
    name: str, p: Annotated[Principal, permit("oncall.edit")], state: State
) -> Response:
    with state.transaction() as session:
        oncall.delete(session, name)
        _audit(session, p, "schedule.deleted", name, {})
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{name}/oncall", response_model=OnCallOut, summary="Who is on call now, and next")
def on_call(
    name: str,
    _p: Annotated[Principal, permit("oncall.read")],
    state: State,
    at: datetime | None = None,
) -> OnCallOut:
    """At ``at`` (default: now; a time without zone is UTC)."""
    when = as_utc(at) or state.clock()
    with state.reading() as session:
        return oncall.now_and_next(session, name, when)


@router.get("/{name}/calendar.ics", summary="The coming shifts as iCalendar")
def calendar(
    name: str,
    _p: Annotated[Principal, permit("oncall.read")],
    state: State,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
) -> Response:
    """One event per shift for the next ``days`` days (``text/calendar``)."""
    now = state.clock()
    with state.reading() as session:
        shifts = oncall.upcoming(session, name, now, days)
    host = urlsplit(state.settings.public_url).hostname or "sophrosyne"
    body = ical.calendar(name, shifts, now=now, host=host)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.ics"'},
    )


@router.get("/{name}/overrides", response_model=list[OverrideOut], summary="Overrides")
def list_overrides(
    name: str, _p: Annotated[Principal, permit("oncall.read")], state: State
) -> list[OverrideOut]:
    with state.reading() as session:
        return [
            oncall.override_out(o) for o in oncall.overrides(session, oncall.get(session, name))
        ]


@router.post(
    "/{name}/overrides", response_model=OverrideOut, status_code=201, summary="Cover a shift"
)
def add_override(
    name: str, spec: OverrideSpec, p: Annotated[Principal, permit("oncall.override")], state: State
) -> OverrideOut:
    with state.transaction() as session:
        row = oncall.get(session, name)
        made = oncall.add_override(session, row, spec, actor=p.actor, now=utcnow())
        _audit(session, p, "schedule.override_added", name, spec.model_dump(mode="json"))
        return oncall.override_out(made)


@router.delete(
    "/{name}/overrides/{override_id}",
    status_code=204,
    response_class=Response,
    summary="Remove an override",
)
def delete_override(
    name: str, override_id: int, p: Annotated[Principal, permit("oncall.override")], state: State
) -> Response:
    with state.transaction() as session:
        oncall.delete_override(session, oncall.get(session, name), override_id)
        _audit(session, p, "schedule.override_removed", name, {"id": override_id})
    return Response(status_code=status.HTTP_204_NO_CONTENT)
