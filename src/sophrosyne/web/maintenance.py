"""The maintenance page: windows with their state and next occurrences, a form for a one-off
window (recurring ones come from the API or YAML), and "end now" (the same service as
``/api/v1/maintenance``; changes audited the same way)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from sophrosyne.api.deps import State
from sophrosyne.api.state import utcnow
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.maintenance import service as maintenance
from sophrosyne.domains.maintenance.schemas import MaintenanceOut, MaintenanceSpec
from sophrosyne.errors import Conflict, ValidationFailed
from sophrosyne.web.guard import PageRoute, page, see_other
from sophrosyne.web.render import pages_of

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Editing = Annotated[Principal, page("maintenance.edit")]
FIELDS = ("name", "comment", "targets", "matchers", "starts_at", "ends_at")


def _render(
    request: Request,
    session: Session,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    now = utcnow()
    windows = [maintenance.to_out(w, now) for w in maintenance.list_all(session)]
    order = {"active": 0, "scheduled": 1, "expired": 2}
    windows.sort(key=lambda w: (order[w.state], w.name))
    return pages_of(request).render(
        request,
        "maintenance.html",
        {"windows": windows, "form": form or {}, "errors": errors or {}},
        status_code=status_code,
    )


@router.get("/maintenance")
def windows_page(
    request: Request, state: State, _principal: Annotated[Principal, page("maintenance.read")]
) -> Response:
    with state.reading() as session:
        return _render(request, session)


def _when(value: str, field: str, errors: dict[str, str]) -> datetime | None:
    """A ``datetime-local`` value (UTC), or None with an error for ``field``."""
    try:
        return datetime.fromisoformat(value.strip()).replace(tzinfo=UTC)
    except ValueError:
        errors[field] = "a date and time (UTC), e.g. 2026-12-01T08:00"
        return None


def _spec(form: dict[str, str], errors: dict[str, str]) -> MaintenanceSpec | None:
    starts_at = _when(form["starts_at"], "starts_at", errors)
    ends_at = _when(form["ends_at"], "ends_at", errors)
    raw = {
        "name": form["name"].strip(),
        "comment": form["comment"],
        "targets": [t for t in re.split(r"[\s,]+", form["targets"]) if t],
        "matchers": [m.strip() for m in form["matchers"].splitlines() if m.strip()],
        "starts_at": starts_at,
        "ends_at": ends_at,
    }
    try:
        spec = MaintenanceSpec.model_validate(raw)
    except ValidationError as exc:  # each error next to its field
        for err in exc.errors():
            errors.setdefault(str(err["loc"][0]) if err["loc"] else "name", str(err["msg"]))
        return None
    return None if errors else spec


@router.post("/maintenance")
def create_window(
    request: Request,
    state: State,
    principal: Editing,
    *,
    name: Annotated[str, Form(max_length=120)] = "",
    comment: Annotated[str, Form(max_length=10_000)] = "",
    targets: Annotated[str, Form(max_length=20_000)] = "",
    matchers: Annotated[str, Form(max_length=20_000)] = "",
    starts_at: Annotated[str, Form(max_length=40)] = "",
    ends_at: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    form = dict(zip(FIELDS, (name, comment, targets, matchers, starts_at, ends_at), strict=True))
    errors: dict[str, str] = {}
    spec = _spec(form, errors)
    now = utcnow()
    if spec is not None:
        try:
            with state.transaction() as session:
                window = maintenance.create(session, spec, by=principal.actor, now=now)
                _audit(session, principal, "created", maintenance.to_out(window, now), now=now)
            return see_other("/maintenance?done=maintenance_created")
        except ValidationFailed as exc:
            errors.update({str(e.loc[0]): e.msg for e in exc.errors if e.loc})
        except Conflict as exc:
            errors["name"] = str(exc)
    with state.reading() as session:
        return _render(request, session, form=form, errors=errors, status_code=422)


@router.post("/maintenance/{name}/end")
def end_window(name: str, state: State, principal: Editing) -> Response:
    now = utcnow()
    with state.transaction() as session:
        window = maintenance.end_now(session, name, now=now)
        _audit(session, principal, "ended", maintenance.to_out(window, now), now=now)
    return see_other("/maintenance?done=maintenance_ended")


def _audit(
    session: Session, principal: Principal, verb: str, out: MaintenanceOut, *, now: datetime
) -> None:
    audit.record(
        session,
        actor=principal.actor,
        action=f"maintenance_window.{verb}",
        object_type="maintenance_window",
        object_id=out.id,
        detail={"name": out.name, "via": "web"},
        now=now,
    )
