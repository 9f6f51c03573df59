"""The kill switch: pause and resume every automatic run. Audited.

While paused, rules still match and record what they would do: each new automatic run is
created awaiting confirmation (decision ``automation_paused``), so a person can approve runs
one by one, and runs already queued by rules stay queued until automation resumes. Manual
runs, and runs a person approved, are not held.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from sophrosyne.api.deps import State, permit
from sophrosyne.api.errors import ERROR_RESPONSES
from sophrosyne.api.state import utcnow
from sophrosyne.domains.accounts.service import Principal
from sophrosyne.domains.guards import service as guards
from sophrosyne.domains.guards.schemas import AutomationChange, AutomationOut
from sophrosyne.flows import killswitch
from sophrosyne.logging import get_logger

log = get_logger(__name__)
router = APIRouter(prefix="/automation", tags=["automation"], responses=ERROR_RESPONSES)


@router.get("", response_model=AutomationOut, summary="Is automation paused?")
def get_automation(
    _principal: Annotated[Principal, permit("automation.read")], state: State
) -> AutomationOut:
    """Needs scope ``read``."""
    with state.reading() as session:
        return guards.automation(session)


@router.put(
    "",
    response_model=AutomationOut,
    summary="Pause or resume all automatic runs (the kill switch)",
    responses={422: {"description": "Pausing needs a reason"}},
)
def set_automation(
    change: AutomationChange,
    principal: Annotated[Principal, permit("automation.kill_switch")],
    state: State,
) -> AutomationOut:
    """``{"paused": true, "reason": "…"}`` pauses every automatic run at once, in every
    process; ``{"paused": false}`` resumes. Needs scope ``write``."""
    now = utcnow()
    with state.transaction() as session:
        out, changed = killswitch.set_automation(session, change, principal, now=now)
    log.warning(
        "automation.paused" if change.paused else "automation.resumed",
        by=principal.actor,
        reason=change.reason,
    )
    if not change.paused and changed:
        state.wake()  # runs held while paused may start now
    return out
