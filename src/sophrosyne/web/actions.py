"""The catalog of actions: the list, one action with who may run and approve it and how its
recent runs ended, and running one by hand through a form generated from its typed parameters
(the same flow as ``POST /api/v1/actions/{name}/runs``). Creating and editing: ``web.catalog``."""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session
from starlette.responses import Response

from sophrosyne.api.deps import State
from sophrosyne.api.state import utcnow
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.actions.kinds import needs_targets
from sophrosyne.domains.actions.models import Action
from sophrosyne.domains.alerts import service as alerts
from sophrosyne.domains.rules import service as rules
from sophrosyne.domains.runs import recent
from sophrosyne.domains.runs import service as runs
from sophrosyne.domains.runs.states import RunState
from sophrosyne.domains.targets import service as targets
from sophrosyne.errors import ValidationFailed
from sophrosyne.flows.manual import run_for
from sophrosyne.web import forms
from sophrosyne.web.guard import PageRoute, page, see_other
from sophrosyne.web.render import pages_of

router = APIRouter(route_class=PageRoute, include_in_schema=False)

#: The window of the success rate on an action's page.
OUTCOME_DAYS = 30


@router.get("/actions")
def action_list(
    request: Request,
    state: State,
    _principal: Annotated[Principal, page("actions.read")],
    alert_id: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    with state.reading() as session:
        return pages_of(request).render(
            request,
            "actions.html",
            {"items": actions.list_all(session), "alert_id": alert_id},
        )


def _prefill(session: Session, action: Action, alert_id: int | None) -> dict[str, Any]:
    """Values to start the form with, from an alert: the parameters of this action's last run
    for it, else the alert's labels of the same name as a parameter."""
    if alert_id is None:
        return {}
    alert = alerts.get(session, alert_id)
    for run in runs.search(session, alert_id=alert_id, action=action.name, limit=1):
        return dict(run.params)
    names = {str(p.get("name")) for p in action.parameters}
    return {k: v for k, v in alert.labels.items() if k in names}


def _render_action(
    request: Request,
    session: Session,
    action: Action,
    *,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    general: list[str] | None = None,
    chosen: list[str] | None = None,
    selector: str = "",
    alert_id: int | None = None,
    status_code: int = 200,
) -> Response:
    errors = errors or {}
    specs = action.parameters
    declared = {str(p.get("name")) for p in specs}
    stray = [f"params.{k}: {v}" for k, v in errors.items() if k not in declared and k[0] != "@"]
    wants_targets = needs_targets(action.kind, action.spec) or action.kind == "http"
    return pages_of(request).render(
        request,
        "action.html",
        {
            "action": action,
            "fields": forms.fields(specs, values, errors),
            "general": [*(general or []), *stray],
            "wants_targets": wants_targets,
            "needs_targets": needs_targets(action.kind, action.spec),
            "targets": [t for t in targets.list_all(session) if t.enabled] if wants_targets else [],
            "chosen": set(chosen or []),
            "selector": selector,
            "targets_error": errors.get(forms.TARGETS_ERROR, ""),
            "alert_id": alert_id,
            "recent": runs.search(session, action=action.name, limit=10),
            "outcomes": recent.action_outcomes(
                session, action.id, since=utcnow() - timedelta(days=OUTCOME_DAYS)
            ),
            "outcome_days": OUTCOME_DAYS,
            "approval": action.spec.get("approval") or {},
            "runners": action.spec.get("runners"),
            "used_by": [r.name for r in rules.list_all(session) if r.action_id == action.id],
        },
        status_code=status_code,
    )


@router.get("/actions/{name}")
def action_detail(
    request: Request,
    name: str,
    state: State,
    _principal: Annotated[Principal, page("actions.read")],
    alert_id: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    with state.reading() as session:
        action = actions.get_by_name(session, name)
        values = _prefill(session, action, alert_id)
        return _render_action(request, session, action, values=values, alert_id=alert_id)


@router.post("/actions/{name}/run")
async def start_run(
    request: Request,
    name: str,
    state: State,
    principal: Annotated[Principal, page("runs.create")],
) -> Response:
    form = await request.form()
    alert_text = form.get("alert_id")
    alert_id = int(alert_text) if isinstance(alert_text, str) and alert_text.isdigit() else None
    return await run_in_threadpool(
        functools.partial(
            _start,
            request=request,
            name=name,
            state=state,
            principal=principal,
            form=form,
            alert_id=alert_id,
        )
    )


def _start(
    *,
    request: Request,
    name: str,
    state: State,
    principal: Principal,
    form: Any,
    alert_id: int | None,
) -> Response:
    with state.reading() as session:
        specs = actions.get_by_name(session, name).parameters
    submitted = forms.read(form, specs)
    try:
        with state.transaction() as session:
            run = run_for(
                session,
                name,
                submitted.params,
                principal,
                targets=submitted.targets,
                selector=submitted.selector,
                now=utcnow(),
            )
            run_id, queued = run.id, run.state == RunState.QUEUED
    except ValidationFailed as exc:
        errors, general = forms.place(exc.errors)
        with state.reading() as session:
            return _render_action(
                request,
                session,
                actions.get_by_name(session, name),
                values=submitted.params,
                errors=errors,
                general=general,
                chosen=submitted.targets,
                selector=", ".join(submitted.selector or []),
                alert_id=alert_id,
                status_code=422,
            )
    if queued:
        state.enqueued([run_id])
    return see_other(f"/runs/{run_id}")
