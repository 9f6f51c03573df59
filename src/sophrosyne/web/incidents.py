"""Incidents: the list with filters and keyset paging, and one incident with its alerts, its
timeline and the forms that work it (acknowledge with an optional expiry, resolve, reopen,
people, root cause and follow-ups, notes). The same flow as ``/api/v1/incidents`` makes each
change (``flows.casework``), so the pages and the API audit alike.

Like the API, every page first puts lapsed acknowledgements back to triggered, so no page
shows a stale acknowledgement.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import pydantic
from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from sophrosyne.api.deps import State
from sophrosyne.api.errors import from_pydantic
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.incidents import service as incidents
from sophrosyne.domains.incidents import timeline
from sophrosyne.domains.incidents.schemas import AnalysisIn, PeopleIn
from sophrosyne.domains.incidents.states import TRANSITIONS, IncidentState
from sophrosyne.errors import ValidationFailed
from sophrosyne.flows import casework
from sophrosyne.web.guard import PageRoute, page, see_other
from sophrosyne.web.render import pages_of

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 50
#: How long an acknowledgement may last, offered as choices (seconds; 0: until resolved).
ACK_CHOICES = (
    (0, "until resolved"),
    (15 * 60, "15 minutes"),
    (3600, "1 hour"),
    (4 * 3600, "4 hours"),
    (86400, "1 day"),
)
Reading = Annotated[Principal, page("incidents.read")]
Changing = Annotated[Principal, page("incidents.edit")]
Note = Annotated[str, Form(max_length=20_000)]


def expire(state: State) -> datetime:
    """The time of this request, after lapsed acknowledgements went back to triggered."""
    now = state.clock()
    casework.expire_lapsed_acks(state, now=now)
    return now


def _validated(model: type[pydantic.BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """The form's values checked by the API's own schema, as the changes to make."""
    try:
        return model.model_validate(data).model_dump(exclude_unset=True)
    except pydantic.ValidationError as exc:
        raise from_pydantic(exc) from None


@router.get("/incidents")
def incident_list(
    *,
    request: Request,
    state: State,
    _principal: Reading,
    status: Literal["", "open", "triggered", "acknowledged", "resolved"] = "",
    severity: str = "",
    service: str = "",
    before_id: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    expire(state)
    with state.reading() as session:
        items = incidents.search(
            session,
            status=status if status not in ("", "open") else None,
            open_only=status == "open",
            severity=severity or None,
            service=service or None,
            limit=PAGE_SIZE,
            before_id=before_id,
        )
    filters = {"status": status, "severity": severity, "service": service}
    next_url = ""
    if len(items) == PAGE_SIZE:
        kept = {k: v for k, v in filters.items() if v}
        next_url = "/incidents?" + urlencode({**kept, "before_id": items[-1].id})
    return pages_of(request).render(
        request,
        "incidents.html",
        {
            "items": items,
            "filters": filters,
            "statuses": ["open", *(s.value for s in IncidentState)],
            "next_url": next_url,
        },
    )


@router.get("/incidents/{incident_id}")
def incident_detail(
    request: Request, incident_id: int, state: State, _principal: Reading
) -> Response:
    expire(state)
    with state.reading() as session:
        incident = incidents.get(session, incident_id)
        moves = {s.value for s in TRANSITIONS[IncidentState(incident.status)]}
        return pages_of(request).render(
            request,
            "incident.html",
            {
                "incident": incident,
                "alerts": incidents.alerts_of(session, incident_id),
                "timeline": timeline.assemble(session, incident),
                "can_ack": IncidentState.ACKNOWLEDGED.value in moves,
                "can_resolve": IncidentState.RESOLVED.value in moves,
                "can_reopen": incident.status == IncidentState.RESOLVED.value,
                "ack_choices": ACK_CHOICES,
            },
        )


def _move(
    incident_id: int,
    *,
    new: IncidentState,
    principal: Principal,
    state: State,
    note: str,
    expires_at: datetime | None = None,
) -> Response:
    now = expire(state)
    with state.transaction() as session:
        casework.move_incident(
            session,
            incident_id,
            new,
            actor=principal.actor,
            now=now,
            note=note.strip() or None,
            expires_at=expires_at,
        )
    return see_other(f"/incidents/{incident_id}?done=incident_{new.value}")


@router.post("/incidents/{incident_id}/acknowledge")
def acknowledge(
    incident_id: int,
    state: State,
    principal: Changing,
    note: Note = "",
    expires_in: Annotated[int, Form(ge=0, le=30 * 86400)] = 0,
) -> Response:
    """``expires_in`` seconds from now the incident triggers again (0: it stays acknowledged)."""
    expires = state.clock() + timedelta(seconds=expires_in) if expires_in else None
    return _move(
        incident_id,
        new=IncidentState.ACKNOWLEDGED,
        principal=principal,
        state=state,
        note=note,
        expires_at=expires,
    )


@router.post("/incidents/{incident_id}/resolve")
def resolve(incident_id: int, state: State, principal: Changing, note: Note = "") -> Response:
    return _move(
        incident_id, new=IncidentState.RESOLVED, principal=principal, state=state, note=note
    )


@router.post("/incidents/{incident_id}/reopen")
def reopen(incident_id: int, state: State, principal: Changing, note: Note = "") -> Response:
    return _move(
        incident_id, new=IncidentState.TRIGGERED, principal=principal, state=state, note=note
    )


def _edit(
    incident_id: int, changes: dict[str, Any], event: str, principal: Principal, state: State
) -> Response:
    now = expire(state)
    with state.transaction() as session:
        casework.edit_incident(
            session, incident_id, changes, event=event, actor=principal.actor, now=now
        )
    return see_other(f"/incidents/{incident_id}?done=incident_edited")


@router.post("/incidents/{incident_id}/people")
def people(
    incident_id: int,
    state: State,
    principal: Changing,
    assignee: Annotated[str, Form()] = "",
    commander: Annotated[str, Form()] = "",
) -> Response:
    """Both fields are sent; an empty one clears it."""
    changes = _validated(
        PeopleIn, {"assignee": assignee.strip() or None, "commander": commander.strip() or None}
    )
    return _edit(incident_id, changes, "incident.assigned", principal, state)


@router.post("/incidents/{incident_id}/analysis")
def analysis(
    *,
    incident_id: int,
    state: State,
    principal: Changing,
    summary: Annotated[str, Form()] = "",
    root_cause: Annotated[str, Form()] = "",
    follow_ups: Annotated[str, Form(description="One per line")] = "",
) -> Response:
    lines = [line.strip() for line in follow_ups.splitlines() if line.strip()]
    changes = _validated(
        AnalysisIn,
        {"summary": summary.strip(), "root_cause": root_cause.strip(), "follow_ups": lines},
    )
    return _edit(incident_id, changes, "incident.analysis_set", principal, state)


@router.post("/incidents/{incident_id}/notes")
def add_note(incident_id: int, state: State, principal: Changing, body: Note = "") -> Response:
    text = body.strip()
    if not text:
        raise ValidationFailed.single(("form", "body"), "a note cannot be empty")
    now = expire(state)
    with state.transaction() as session:
        casework.note_incident(session, incident_id, text, actor=principal.actor, now=now)
    return see_other(f"/incidents/{incident_id}?done=note#timeline")
