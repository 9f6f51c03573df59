"""Pausing and resuming all automation (the kill switch) with its audit entry, in the caller's
transaction. The API (``PUT /api/v1/automation``) and the settings page both come through
here; the caller wakes the workers after a resume that changed something."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.guards import service as guards
from sophrosyne.domains.guards.schemas import AutomationChange, AutomationOut


def set_automation(
    session: Session,
    change: AutomationChange,
    principal: Principal,
    *,
    now: datetime,
    via: str = "api",
) -> tuple[AutomationOut, bool]:
    """The new state, and whether it changed (pausing twice only updates the reason)."""
    out, changed = guards.set_paused(
        session, paused=change.paused, reason=change.reason, by=principal.actor, now=now
    )
    audit.record(
        session,
        actor=principal.actor,
        action="automation.paused" if change.paused else "automation.resumed",
        object_type="automation",
        detail={"reason": change.reason, "changed": changed, "via": via},
        now=now,
    )
    return out, changed
