"""Incidents: list, look up, open by hand, acknowledge (with an optional expiry), resolve,
reopen, assign, set severity, root cause and follow-ups, add notes; the timeline, the
post-mortem as a Markdown download, and MTTA/MTTR statistics. Every change is audited.

An acknowledgement past its expiry goes back to triggered: every route here first puts
lapsed acknowledgements back (``_expire``), so nothing ever shows a stale one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from sqlalchemy.orm import Session

from sophrosyne.api.deps import State, as_utc, permit
from sophrosyne.api.errors import ERROR_RESPONSES
from sophrosyne.api.schemas import DEFAULT_LIMIT, MAX_LIMIT, Page, next_cursor
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.incidents import postmortem, timeline
from sophrosyne.domains.incidents import service as incidents
from sophrosyne.domains.incidents.models import Incident
from sophrosyne.domains.incidents.schemas import (
    AcknowledgeIn,
    AnalysisIn,
    IncidentAlertOut,
    IncidentCreate,
    IncidentDetail,
    IncidentOut,
    IncidentStats,
    NoteIn,
    PeopleIn,
    ResolveIn,
    SeverityIn,
    TimelineItem,
)
from sophrosyne.domains.incidents.states import IncidentState
from sophrosyne.errors import ValidationFailed
from sophrosyne.flows import casework

Reading = Annotated[Principal, permit("incidents.read")]
Changing = Annotated[Principal, permit("incidents.edit")]

_ILLEGAL: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such incident"},
    409: {"description": "The incident cannot make this move from its current state"},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such incident"}}

router = APIRouter(tags=["incidents"], responses=ERROR_RESPONSES)


def _expire(state: State) -> datetime:
    """The time of this request, after lapsed acknowledgements went back to triggered."""
    now = state.clock()
    casework.expire_lapsed_acks(state, now=now)
    return now


def _audit(
    session: Session,
    principal: Principal,
    *,
    event: str,
    incident: Incident,
    detail: dict[str, Any],
    now: datetime,
) -> None:
    audit.record(
        session,
        actor=principal.actor,
        action=event,
        object_type="incident",
        object_id=incident.id,
        detail={"title": incident.title, **detail},
        now=now,
    )


def _alerts(session: Session, incident_id: int) -> list[IncidentAlertOut]:
    return [
        IncidentAlertOut(
            alert_id=a.id,
            fingerprint=a.fingerprint,
            source=a.source,
            alert_status=a.status,
            status=link.status,
            severity=a.severity,
            labels=a.labels,
            first_attached_at=link.first_attached_at,
            last_attached_at=link.last_attached_at,
            resolved_at=link.resolved_at,
        )
        for link, a in incidents.alerts_of(session, incident_id)
    ]


def _detail(session: Session, incident: Incident) -> IncidentDetail:
    return IncidentDetail(
        **IncidentOut.model_validate(incident).model_dump(),
        alerts=_alerts(session, incident.id),
    )


@router.get("/incidents", response_model=Page[IncidentOut], summary="List incidents")
def list_incidents(
    *,
    _principal: Reading,
    state: State,
    incident_status: Annotated[IncidentState | None, Query(alias="status")] = None,
    severity: str | None = None,
    service: str | None = None,
    since: Annotated[datetime | None, Query(description="Opened at or after.")] = None,
    until: Annotated[datetime | None, Query(description="Opened before.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    before_id: Annotated[int | None, Query(ge=1, description="Keyset paging cursor.")] = None,
) -> Page[IncidentOut]:
    """Newest first. Needs scope ``read``."""
    _expire(state)
    with state.reading() as session:
        found = incidents.search(
            session,
            status=incident_status.value if incident_status else None,
            severity=severity,
            service=service,
            since=as_utc(since),
            until=as_utc(until),
            limit=limit,
            before_id=before_id,
        )
        items = [IncidentOut.model_validate(i) for i in found]
    return Page[IncidentOut](items=items, next_before_id=next_cursor([i.id for i in items], limit))


@router.get("/incidents/stats", response_model=IncidentStats, summary="MTTA and MTTR")
def incident_stats(
    _principal: Reading,
    state: State,
    days: Annotated[int, Query(ge=1, le=3660, description="Window ending now, in days.")] = 30,
    since: Annotated[datetime | None, Query(description="Instead of days: window start.")] = None,
    until: Annotated[datetime | None, Query(description="Window end (default now).")] = None,
) -> IncidentStats:
    """Mean and median time to acknowledge (MTTA) and to resolve (MTTR), in seconds, of the
    incidents opened in the window: overall, by service and by severity; and incidents
    opened per ISO week. Needs scope ``read``."""
    now = _expire(state)
    end = as_utc(until) or now
    start = as_utc(since) or end - timedelta(days=days)
    if start >= end:
        raise ValidationFailed.single(("query", "since"), "must be before until")
    with state.reading() as session:
        return incidents.stats(session, since=start, until=end)


@router.get(
    "/incidents/{incident_id}",
    response_model=IncidentDetail,
    summary="One incident, with its alerts",
    responses=_NOT_FOUND,
)
def get_incident(incident_id: int, _principal: Reading, state: State) -> IncidentDetail:
    """Needs scope ``read``."""
    _expire(state)
    with state.reading() as session:
        return _detail(session, incidents.get(session, incident_id))


@router.post(
    "/incidents",
    response_model=IncidentDetail,
    status_code=status.HTTP_201_CREATED,
    summary="Open an incident by hand",
    responses={422: {"description": "A field is invalid, or an alert id does not exist"}},
)
def open_incident(body: IncidentCreate, principal: Changing, state: State) -> IncidentDetail:
    """Optionally with alerts already stored (``alert_ids``). Needs scope ``write``."""
    now = state.clock()
    with state.transaction() as session:
        incident = incidents.create(session, body, actor=principal.actor, now=now)
        _audit(
            session,
            principal,
            event="incident.created",
            incident=incident,
            detail=body.model_dump(),
            now=now,
        )
        return _detail(session, incident)


def _move(
    incident_id: int,
    new: IncidentState,
    principal: Principal,
    state: State,
    *,
    note: str | None = None,
    expires_at: datetime | None = None,
) -> IncidentOut:
    now = _expire(state)
    with state.transaction() as session:
        incident = casework.move_incident(
            session,
            incident_id,
            new,
            actor=principal.actor,
            now=now,
            note=note,
            expires_at=expires_at,
        )
        return IncidentOut.model_validate(incident)


@router.post(
    "/incidents/{incident_id}/acknowledge",
    response_model=IncidentOut,
    summary="Acknowledge an incident, optionally until a time",
    responses=_ILLEGAL,
)
def acknowledge_incident(
    incident_id: int, principal: Changing, state: State, body: AcknowledgeIn | None = None
) -> IncidentOut:
    """With ``expires_at`` or ``expires_in_seconds`` the acknowledgement lapses then and the
    incident is triggered again. Assigns it to the caller if nobody has it.
    Needs scope ``write``."""
    body = body or AcknowledgeIn()
    expires = as_utc(body.expires_at)
    if body.expires_in_seconds is not None:
        expires = state.clock() + timedelta(seconds=body.expires_in_seconds)
    if expires is not None and expires <= state.clock():
        raise ValidationFailed.single(("body", "expires_at"), "must be in the future")
    return _move(
        incident_id,
        IncidentState.ACKNOWLEDGED,
        principal,
        state,
        note=body.note,
        expires_at=expires,
    )


@router.post(
    "/incidents/{incident_id}/resolve",
    response_model=IncidentOut,
    summary="Resolve an incident",
    responses=_ILLEGAL,
)
def resolve_incident(
    incident_id: int, principal: Changing, state: State, body: ResolveIn | None = None
) -> IncidentOut:
    """Needs scope ``write``."""
    note = body.note if body else None
    return _move(incident_id, IncidentState.RESOLVED, principal, state, note=note)


@router.post(
    "/incidents/{incident_id}/reopen",
    response_model=IncidentOut,
    summary="Reopen a resolved incident",
    responses=_ILLEGAL,
)
def reopen_incident(
    incident_id: int, principal: Changing, state: State, body: ResolveIn | None = None
) -> IncidentOut:
    """It becomes triggered again. Needs scope ``write``."""
    note = body.note if body else None
    return _move(incident_id, IncidentState.TRIGGERED, principal, state, note=note)


def _edit(
    incident_id: int, changes: dict[str, Any], event: str, principal: Principal, state: State
) -> IncidentOut:
    now = _expire(state)
    with state.transaction() as session:
        incident = casework.edit_incident(
            session, incident_id, changes, event=event, actor=principal.actor, now=now
        )
        return IncidentOut.model_validate(incident)


@router.put(
    "/incidents/{incident_id}/people",
    response_model=IncidentOut,
    summary="Set the assignee and the incident commander",
    responses=_NOT_FOUND,
)
def assign_incident(
    incident_id: int, body: PeopleIn, principal: Changing, state: State
) -> IncidentOut:
    """A field left out stays; null clears it. Needs scope ``write``."""
    changes = body.model_dump(exclude_unset=True)
    return _edit(incident_id, changes, "incident.assigned", principal, state)


@router.put(
    "/incidents/{incident_id}/severity",
    response_model=IncidentOut,
    summary="Set the severity",
    responses=_NOT_FOUND,
)
def set_severity(
    incident_id: int, body: SeverityIn, principal: Changing, state: State
) -> IncidentOut:
    """Alerts joining later only ever raise it. Needs scope ``write``."""
    return _edit(incident_id, body.model_dump(), "incident.severity_set", principal, state)


@router.put(
    "/incidents/{incident_id}/analysis",
    response_model=IncidentOut,
    summary="Set the summary, root cause and follow-ups",
    responses=_NOT_FOUND,
)
def set_analysis(
    incident_id: int, body: AnalysisIn, principal: Changing, state: State
) -> IncidentOut:
    """What the post-mortem says; a field left out stays. Needs scope ``write``."""
    changes = body.model_dump(exclude_unset=True)
    return _edit(incident_id, changes, "incident.analysis_set", principal, state)


@router.post(
    "/incidents/{incident_id}/notes",
    response_model=list[TimelineItem],
    status_code=status.HTTP_201_CREATED,
    summary="Add a note to the timeline",
    responses=_NOT_FOUND,
)
def add_note(incident_id: int, body: NoteIn, principal: Changing, state: State) -> Any:
    """Plain text, kept with its author and time, never edited. Replies with the timeline.
    Needs scope ``write``."""
    now = _expire(state)
    with state.transaction() as session:
        incident = casework.note_incident(
            session, incident_id, body.body, actor=principal.actor, now=now
        )
        return timeline.assemble(session, incident)


@router.get(
    "/incidents/{incident_id}/timeline",
    response_model=list[TimelineItem],
    summary="The incident's timeline, oldest first",
    responses=_NOT_FOUND,
)
def get_timeline(incident_id: int, _principal: Reading, state: State) -> Any:
    """Alerts joining and changing state, runs and their state changes, approvals, tasks and
    their notes, status changes, edits and notes: each with who and when.
    Needs scope ``read``."""
    _expire(state)
    with state.reading() as session:
        return timeline.assemble(session, incidents.get(session, incident_id))


@router.get(
    "/incidents/{incident_id}/postmortem",
    summary="Download the post-mortem (Markdown)",
    response_class=Response,
    responses={
        **_NOT_FOUND,
        200: {"content": {"text/markdown": {}}, "description": "The post-mortem"},
    },
)
def download_postmortem(incident_id: int, _principal: Reading, state: State) -> Response:
    """Summary, impact, timeline, what was automated and what people did, root cause and
    follow-ups, generated from what was recorded. Needs scope ``read``."""
    now = _expire(state)
    with state.reading() as session:
        incident = incidents.get(session, incident_id)
        text = postmortem.render(
            IncidentOut.model_validate(incident),
            _alerts(session, incident_id),
            timeline.assemble(session, incident),
            now=now,
        )
    return Response(
        content=text,
        media_type="text/markdown; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="incident-{incident_id}-postmortem.md"',
            "X-Content-Type-Options": "nosniff",
        },
    )
