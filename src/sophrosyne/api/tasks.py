"""Tasks: work for people, opened by rules in mode ``recommend`` or by hand from a
recommendation. open → acknowledged → done, or dismissed; with an assignee and notes.
Illegal transitions answer 409. Every change is audited."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from sqlalchemy.orm import Session

from sophrosyne.api.deps import State, permit
from sophrosyne.api.errors import ERROR_RESPONSES
from sophrosyne.api.schemas import DEFAULT_LIMIT, MAX_LIMIT, Page, next_cursor
from sophrosyne.api.state import utcnow
from sophrosyne.domains.accounts.service import Principal
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.recommendations import service as recommendations
from sophrosyne.domains.recommendations.schemas import ManualTaskRequest
from sophrosyne.domains.tasks import service as tasks
from sophrosyne.domains.tasks.models import Task
from sophrosyne.domains.tasks.schemas import (
    AssignIn,
    NoteIn,
    NoteOut,
    TaskDetail,
    TaskOut,
    TransitionIn,
)
from sophrosyne.domains.tasks.states import TaskState
from sophrosyne.flows import casework

Reading = Annotated[Principal, permit("tasks.read")]
Changing = Annotated[Principal, permit("tasks.work")]

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such task"}}
_ILLEGAL: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such task"},
    409: {"description": "The task cannot make this move from its current state"},
}

router = APIRouter(tags=["tasks"], responses=ERROR_RESPONSES)


def _audit(
    session: Session, principal: Principal, event: str, task: Task, detail: dict[str, Any]
) -> None:
    audit.record(
        session,
        actor=principal.actor,
        action=event,
        object_type="task",
        object_id=task.id,
        detail={"recommendation": task.recommendation_name, **detail},
        now=utcnow(),
    )


def _detail(session: Session, task: Task) -> TaskDetail:
    return TaskDetail(
        **TaskOut.model_validate(task).model_dump(),
        instructions=task.instructions,
        notes=[NoteOut.model_validate(n) for n in tasks.notes(session, task.id)],
    )


@router.get("/tasks", response_model=Page[TaskOut], summary="List tasks")
def list_tasks(
    *,
    _principal: Reading,
    state: State,
    task_state: Annotated[TaskState | None, Query(alias="state")] = None,
    assignee: str | None = None,
    alert_id: int | None = None,
    recommendation: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    before_id: Annotated[int | None, Query(ge=1, description="Keyset paging cursor.")] = None,
) -> Page[TaskOut]:
    """Newest first. Needs scope ``read``."""
    with state.reading() as session:
        found = tasks.search(
            session,
            state=task_state.value if task_state else None,
            assignee=assignee,
            alert_id=alert_id,
            recommendation=recommendation,
            limit=limit,
            before_id=before_id,
        )
        items = [TaskOut.model_validate(t) for t in found]
    return Page[TaskOut](items=items, next_before_id=next_cursor([t.id for t in items], limit))


@router.get(
    "/tasks/{task_id}",
    response_model=TaskDetail,
    summary="One task, with its instructions and notes",
    responses=_NOT_FOUND,
)
def get_task(task_id: int, _principal: Reading, state: State) -> TaskDetail:
    """Needs scope ``read``."""
    with state.reading() as session:
        return _detail(session, tasks.get(session, task_id))


@router.post(
    "/recommendations/{name}/tasks",
    response_model=TaskDetail,
    status_code=status.HTTP_201_CREATED,
    summary="Open a task from a recommendation by hand",
    responses={
        404: {"description": "No such recommendation or alert"},
        422: {"description": "A parameter is missing, unknown or invalid (loc: params.NAME)"},
    },
)
def open_task(name: str, req: ManualTaskRequest, principal: Changing, state: State) -> TaskDetail:
    """Parameters are validated against the recommendation's typed parameters.
    Needs scope ``write``."""
    now = utcnow()
    with state.transaction() as session:
        rec = recommendations.get_by_name(session, name)
        task = tasks.create_manual(
            session,
            rec,
            req.params,
            actor=principal.actor,
            now=now,
            alert_id=req.alert_id,
            assignee=req.assignee,
        )
        _audit(session, principal, "task.created", task, {"alert_id": task.alert_id})
        return _detail(session, task)


def _move(
    task_id: int, new: TaskState, body: TransitionIn | None, principal: Principal, state: State
) -> TaskOut:
    note = body.note if body else None
    with state.transaction() as session:
        task = casework.move_task(
            session, task_id, new, actor=principal.actor, now=utcnow(), note=note
        )
        return TaskOut.model_validate(task)


@router.post(
    "/tasks/{task_id}/acknowledge",
    response_model=TaskOut,
    summary="Acknowledge a task (someone is on it)",
    responses=_ILLEGAL,
)
def acknowledge_task(
    task_id: int, principal: Changing, state: State, body: TransitionIn | None = None
) -> TaskOut:
    """Assigns the task to the caller unless it has an assignee. Needs scope ``write``."""
    return _move(task_id, TaskState.ACKNOWLEDGED, body, principal, state)


@router.post(
    "/tasks/{task_id}/done", response_model=TaskOut, summary="Mark a task done", responses=_ILLEGAL
)
def finish_task(
    task_id: int, principal: Changing, state: State, body: TransitionIn | None = None
) -> TaskOut:
    """Records the recommendation as a fix applied to the task's alert, for the history of
    fixes. Needs scope ``write``."""
    return _move(task_id, TaskState.DONE, body, principal, state)


@router.post(
    "/tasks/{task_id}/dismiss",
    response_model=TaskOut,
    summary="Dismiss a task (nothing to do)",
    responses=_ILLEGAL,
)
def dismiss_task(
    task_id: int, principal: Changing, state: State, body: TransitionIn | None = None
) -> TaskOut:
    """Give the reason as ``note``. Needs scope ``write``."""
    return _move(task_id, TaskState.DISMISSED, body, principal, state)


@router.put(
    "/tasks/{task_id}/assignee",
    response_model=TaskOut,
    summary="Assign a task (or unassign it with null)",
    responses={**_NOT_FOUND, 409: {"description": "The task is done or dismissed"}},
)
def assign_task(task_id: int, body: AssignIn, principal: Changing, state: State) -> TaskOut:
    """Needs scope ``write``."""
    with state.transaction() as session:
        before = tasks.get(session, task_id).assignee
        task = tasks.assign(session, task_id, body.assignee, now=utcnow())
        _audit(session, principal, "task.assigned", task, {"from": before, "to": body.assignee})
        return TaskOut.model_validate(task)


@router.post(
    "/tasks/{task_id}/notes",
    response_model=NoteOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a note to a task",
    responses=_NOT_FOUND,
)
def add_note(task_id: int, body: NoteIn, principal: Changing, state: State) -> NoteOut:
    """Notes are plain text, kept with their author and time, never edited.
    Needs scope ``write``."""
    with state.transaction() as session:
        note = casework.note_task(session, task_id, body.body, actor=principal.actor, now=utcnow())
        return NoteOut.model_validate(note)
