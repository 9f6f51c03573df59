"""Silences: the active, pending and lately expired ones, a form to create one (Alertmanager
matchers, one per line; a comment; start and end) with its errors next to the fields, and
expiring one. The same flow as ``/api/v1/silences`` (``flows.silencing``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import pydantic
from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from sophrosyne.api.deps import State
from sophrosyne.api.state import AppState, utcnow
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.silences import service as silences
from sophrosyne.domains.silences.schemas import SilenceOut, SilenceSpec
from sophrosyne.errors import FieldError, ValidationFailed
from sophrosyne.flows import silencing
from sophrosyne.web.edits import by_field, checked, local_input, local_time
from sophrosyne.web.guard import PageRoute, page, see_other
from sophrosyne.web.render import pages_of

router = APIRouter(route_class=PageRoute, include_in_schema=False)

Editing = Annotated[Principal, page("silences.edit")]
#: Expired silences listed (newest first); older ones stay in the API and the audit log.
_EXPIRED_SHOWN = 50
_DEFAULT_HOURS = 2


def _page(
    request: Request,
    state: AppState,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    now = utcnow()
    with state.reading() as session:
        every = silences.to_outs(session, silences.list_all(session, now=now), now=now)
    by_state: dict[str, list[SilenceOut]] = {"active": [], "pending": [], "expired": []}
    for s in every:
        by_state[s.state].append(s)
    by_state["expired"] = by_state["expired"][:_EXPIRED_SHOWN]
    default_form = {
        "matchers": "",
        "comment": "",
        "starts_at": "",
        "ends_at": local_input(now + timedelta(hours=_DEFAULT_HOURS)),
        "expire_on_resolve": False,
    }
    return pages_of(request).render(
        request,
        "silences.html",
        {"by_state": by_state, "form": form or default_form, "errors": errors or {}},
        status_code=status_code,
    )


@router.get("/silences")
def silence_list(
    request: Request, state: State, _principal: Annotated[Principal, page("silences.read")]
) -> Response:
    return _page(request, state)


def _times(starts: str, ends: str) -> tuple[datetime | None, datetime | None]:
    problems: list[FieldError] = []
    found: list[datetime | None] = []
    for text, name in ((starts, "starts_at"), (ends, "ends_at")):
        try:
            found.append(local_time(text, name))
        except ValidationFailed as exc:
            problems += exc.errors
            found.append(None)
    if not ends.strip():
        problems.append(FieldError(("ends_at",), "when should the silence end?"))
    if problems:
        raise ValidationFailed(problems)
    return found[0], found[1]


@router.post("/silences")
def create_silence(
    *,
    request: Request,
    state: State,
    principal: Editing,
    matchers: Annotated[str, Form(max_length=20_000)] = "",
    comment: Annotated[str, Form(max_length=10_000)] = "",
    starts_at: Annotated[str, Form(max_length=40)] = "",
    ends_at: Annotated[str, Form(max_length=40)] = "",
    expire_on_resolve: Annotated[list[str] | None, Form()] = None,
) -> Response:
    on_resolve = checked(expire_on_resolve)
    shown = {
        "matchers": matchers,
        "comment": comment,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "expire_on_resolve": on_resolve,
    }
    lines = [line.strip() for line in matchers.splitlines() if line.strip()]
    try:
        start, end = _times(starts_at, ends_at)
        spec = SilenceSpec(
            matchers=lines,
            comment=comment,
            starts_at=start,
            ends_at=end,
            expire_on_resolve=on_resolve,
        )
        with state.transaction() as session:
            silencing.create(session, spec, principal, now=utcnow(), via="web")
    except (pydantic.ValidationError, ValidationFailed) as exc:
        return _page(request, state, form=shown, errors=by_field(exc), status_code=422)
    return see_other("/silences?done=silenced")


@router.post("/silences/{silence_id}/expire")
def expire_silence(silence_id: int, state: State, principal: Editing) -> Response:
    with state.transaction() as session:
        silencing.expire(session, silence_id, principal, now=utcnow(), via="web")
    return see_other("/silences?done=silence_expired")
