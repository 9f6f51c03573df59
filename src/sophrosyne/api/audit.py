"""The audit log, read only: there is no route that writes, edits or deletes entries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from sophrosyne.api.deps import Principal, State, as_utc, permit
from sophrosyne.api.errors import ERROR_RESPONSES
from sophrosyne.api.schemas import DEFAULT_LIMIT, MAX_LIMIT, Page, next_cursor
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.audit.schemas import AuditOut

router = APIRouter(prefix="/audit", tags=["audit"], responses=ERROR_RESPONSES)


@router.get("", response_model=Page[AuditOut], summary="Search the audit log")
def list_audit(
    *,
    _principal: Annotated[Principal, permit("audit.read")],
    state: State,
    actor: Annotated[str | None, Query(description="e.g. token:ci or rule:restart-web")] = None,
    action: Annotated[str | None, Query(description="e.g. action.created")] = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: Annotated[datetime | None, Query(description="No zone means UTC.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    before_id: Annotated[int | None, Query(ge=1, description="Keyset paging cursor.")] = None,
) -> Page[AuditOut]:
    """Newest first. Needs scope ``read``."""
    with state.reading() as session:
        found = audit.search(
            session,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            since=as_utc(since),
            limit=limit,
            before_id=before_id,
        )
        items = [AuditOut.model_validate(e) for e in found]
    return Page[AuditOut](items=items, next_before_id=next_cursor([e.id for e in items], limit))
