"""Refused input is audited: who sent what that was refused, and why, field by field.

The change itself is rolled back, so the refusal is written in a transaction of its own after
that, and the original error then goes on to become the usual 422 reply.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sophrosyne.api.state import AppState, utcnow
from sophrosyne.domains.accounts.service import Principal
from sophrosyne.domains.audit import service as audit
from sophrosyne.errors import ValidationFailed
from sophrosyne.logging import get_logger

log = get_logger(__name__)


@contextmanager
def audited_refusal(
    state: AppState,
    principal: Principal,
    *,
    action: str,
    object_type: str,
    object_id: str | int | None,
    detail: dict[str, Any] | None = None,
) -> Iterator[None]:
    """Run the block; if it raises ``ValidationFailed``, record ``action`` in the audit log
    (with every refused field) and re-raise. Put the block's own transaction inside."""
    try:
        yield
    except ValidationFailed as exc:
        errors = [{"loc": e.where(), "msg": e.msg} for e in exc.errors]
        with state.transaction() as session:
            audit.record(
                session,
                actor=principal.actor,
                action=action,
                object_type=object_type,
                object_id=object_id,
                detail={**(detail or {}), "errors": errors},
                now=utcnow(),
            )
        log.warning(
            "input.refused",
            action=action,
            actor=principal.actor,
            fields=[e.where() for e in exc.errors],
        )
        raise
