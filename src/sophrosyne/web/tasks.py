"""Tasks and recommendations: the tasks list (mine, by state) and one task with its
instructions (sanitised when the task was opened), its notes and the forms that move it
(acknowledge, done, dismiss with a reason, add a note), through the same flow as
``/api/v1/tasks``; and the recommendations they come from, read-only.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from sophrosyne.api.deps import State
from sophrosyne.api.state import utcnow
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.recommendations import service as recommendations
from sophrosyne.domains.tasks import service as tasks
from sophrosyne.domains.tasks.states import TRANSITIONS, TaskState
from sophrosyne.errors import ValidationFailed
from sophrosyne.flows import casework
from sophrosyne.web.guard import PageRoute, page, see_other
from sophrosyne.web.render import pages_of

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 50
Reading = Annotated[Principal, page("tasks.read")]
Working = Annotated[Principal, page("tasks.work")]
Note = Annotated[str, Form(max_length=20_000)]


@router.get("/tasks")
def task_list(
    *,
    request: Request,
    state: State,
    principal: Reading,
    mine: bool = False,
    task_state: Annotated[
        Literal["", "open", "acknowledged", "done", "dismissed"], Query(alias="state")
    ] = "",
    before_id: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    with state.reading() as session:
        items = tasks.search(
            session,
            state=task_state or None,
            assignee=principal.actor if mine else None,
            limit=PAGE_SIZE,
            before_id=before_id,
        )
    next_url = ""
    if len(items) == PAGE_SIZE:
        kept: dict[str, str | int] = {"state": task_state} if task_state else {}
        if mine:
            kept["mine"] = "true"
        next_url = "/tasks?" + urlencode({**kept, "before_id": items[-1].id})
    return pages_of(request).render(
        request,
        "tasks.html",
        {
            "items": items,
            "filters": {"mine": mine, "state": task_state},
            "states": [s.value for s in TaskState],
            "next_url": next_url,
        },
    )


@router.get("/tasks/{task_id}")
def task_detail(request: Request, task_id: int, state: State, _principal: Reading) -> Response:
    with state.reading() as session:
        task = tasks.get(session, task_id)
        moves = {s.value for s in TRANSITIONS[TaskState(task.state)]}
        return pages_of(request).render(
            request,
            "task.html",
            {"task": task, "notes": tasks.notes(session, task_id), "moves": moves},
        )


def _move(task_id: int, new: TaskState, principal: Principal, state: State, note: str) -> Response:
    with state.transaction() as session:
        casework.move_task(
            session, task_id, new, actor=principal.actor, now=utcnow(), note=note.strip() or None
        )
    return see_other(f"/tasks/{task_id}?done=task_{new.value}")


@router.post("/tasks/{task_id}/acknowledge")
def acknowledge(task_id: int, state: State, principal: Working, note: Note = "") -> Response:
    return _move(task_id, TaskState.ACKNOWLEDGED, principal, state, note)


@router.post("/tasks/{task_id}/done")
def finish(task_id: int, state: State, principal: Working, note: Note = "") -> Response:
    return _move(task_id, TaskState.DONE, principal, state, note)


@router.post("/tasks/{task_id}/dismiss")
def dismiss(task_id: int, state: State, principal: Working, note: Note = "") -> Response:
    """Dismissing says nothing needed doing: the page wants the reason (the API does not)."""
    if not note.strip():
        raise ValidationFailed.single(("form", "note"), "say why the task is dismissed")
    return _move(task_id, TaskState.DISMISSED, principal, state, note)


@router.post("/tasks/{task_id}/notes")
def add_note(task_id: int, state: State, principal: Working, body: Note = "") -> Response:
    text = body.strip()
    if not text:
        raise ValidationFailed.single(("form", "body"), "a note cannot be empty")
    with state.transaction() as session:
        casework.note_task(session, task_id, text, actor=principal.actor, now=utcnow())
    return see_other(f"/tasks/{task_id}?done=note")


@router.get("/recommendations")
def recommendation_list(
    request: Request,
    state: State,
    _principal: Annotated[Principal, page("recommendations.read")],
) -> Response:
    with state.reading() as session:
        items = recommendations.list_all(session)
        return pages_of(request).render(request, "recommendations.html", {"items": items})


@router.get("/recommendations/{name}")
def recommendation_detail(
    request: Request,
    name: str,
    state: State,
    _principal: Annotated[Principal, page("recommendations.read")],
) -> Response:
    with state.reading() as session:
        rec = recommendations.to_out(session, recommendations.get_by_name(session, name))
        recent = tasks.search(session, recommendation=name, limit=10)
        return pages_of(request).render(
            request, "recommendation.html", {"rec": rec, "recent": recent}
        )
