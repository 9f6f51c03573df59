"""A person approves or rejects a run awaiting confirmation: the verdict and its audit entry,
in the caller's transaction. The API and the web pages both come through here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from sophrosyne.domains.accounts import service as accounts
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.confirmations import service as confirmations
from sophrosyne.domains.runs.models import Run


def approver_of(session: Session, principal: Principal) -> confirmations.Approver:
    """The caller as an approver: every name the same person acts under counts as them."""
    return confirmations.Approver(
        actor=principal.actor,
        role=principal.role,
        identities=accounts.identities(session, principal),
    )


def approve(
    session: Session,
    run_id: int,
    principal: Principal,
    *,
    pin: str,
    comment: str,
    now: datetime,
    via: str = "api",
) -> confirmations.Verdict:
    verdict = confirmations.approve(
        session, run_id, approver=approver_of(session, principal), pin=pin, comment=comment, now=now
    )
    audit.record(
        session,
        actor=principal.actor,
        action="run.approved",
        object_type="run",
        object_id=run_id,
        detail={
            "action": verdict.run.action_name,
            "pin": pin,
            "comment": comment,
            "approvals": verdict.approvals,
            "quorum": verdict.quorum,
            "queued": verdict.queued,
            "via": via,
        },
        now=now,
    )
    return verdict


def reject(
    session: Session,
    run_id: int,
    principal: Principal,
    *,
    reason: str,
    now: datetime,
    via: str = "api",
) -> Run:
    run = confirmations.reject(
        session, run_id, approver=approver_of(session, principal), reason=reason, now=now
    )
    audit.record(
        session,
        actor=principal.actor,
        action="run.rejected",
        object_type="run",
        object_id=run_id,
        detail={"action": run.action_name, "reason": reason, "via": via},
        now=now,
    )
    return run
