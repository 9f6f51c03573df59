"""The audit log, read only, newest first: filtered by actor, action, object and a time range,
paged by id, each entry's detail shown as indented JSON (escaped like any text)."""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from sophrosyne.api.deps import State
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.audit.schemas import AuditOut
from sophrosyne.errors import ValidationFailed
from sophrosyne.web.edits import by_field, local_time
from sophrosyne.web.guard import PageRoute, page
from sophrosyne.web.render import pages_of

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 50


@router.get("/audit")
def audit_log(
    *,
    request: Request,
    state: State,
    _principal: Annotated[Principal, page("audit.read")],
    actor: Annotated[str, Query(max_length=200)] = "",
    action: Annotated[str, Query(max_length=200)] = "",
    object_type: Annotated[str, Query(max_length=100)] = "",
    object_id: Annotated[str, Query(max_length=200)] = "",
    since: Annotated[str, Query(alias="from", max_length=40)] = "",
    until: Annotated[str, Query(alias="to", max_length=40)] = "",
    before_id: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    filters = {
        "actor": actor.strip(),
        "action": action.strip(),
        "object_type": object_type.strip(),
        "object_id": object_id.strip(),
        "from": since.strip(),
        "to": until.strip(),
    }
    errors: dict[str, str] = {}
    entries: list[AuditOut] = []
    try:
        start = local_time(since, "from")
        end = local_time(until, "to")
        if start and end and end <= start:
            raise ValidationFailed.single(("to",), "must be after 'from'")
    except ValidationFailed as exc:
        errors = by_field(exc)
    if not errors:
        with state.reading() as session:
            found = audit.search(
                session,
                actor=filters["actor"] or None,
                action=filters["action"] or None,
                object_type=filters["object_type"] or None,
                object_id=filters["object_id"] or None,
                since=start,
                until=end,
                limit=PAGE_SIZE,
                before_id=before_id,
            )
            entries = [AuditOut.model_validate(e) for e in found]
    items = [
        (e, json.dumps(e.detail, indent=2, sort_keys=True, ensure_ascii=False, default=str))
        for e in entries
    ]
    next_url = ""
    if len(entries) == PAGE_SIZE:
        kept = {k: v for k, v in filters.items() if v}
        next_url = "/audit?" + urlencode({**kept, "before_id": entries[-1].id})
    return pages_of(request).render(
        request,
        "audit.html",
        {"items": items, "filters": filters, "errors": errors, "next_url": next_url},
        status_code=422 if errors else 200,
    )
