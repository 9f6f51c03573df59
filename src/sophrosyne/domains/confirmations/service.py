"""Confirmations: approve, reject and expire runs that wait for people.

An approval counts only for the pin (hash of exactly what will run) it was given to; when
the approvals for the current pin reach the quorum the run is queued. Rejection and expiry are
final. Services never commit; the edge does, and audits through ``domains.audit``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sophrosyne.db.listen import notify_queued
from sophrosyne.domains.actions.models import Action
from sophrosyne.domains.confirmations.models import RunApproval
from sophrosyne.domains.confirmations.schemas import ApprovalOut, ConfirmationOut
from sophrosyne.domains.runs import service as runs
from sophrosyne.domains.runs.models import Run, RunEvent
from sophrosyne.domains.runs.pinning import pin_of_run
from sophrosyne.domains.runs.states import RunState
from sophrosyne.errors import Conflict, Forbidden


@dataclass(frozen=True)
class Approver:
    """Who approves: ``actor`` as audited (``user:alice``, ``token:ci``), a user's role, and
    every name the same person acts under (their user and all their tokens)."""

    actor: str
    role: str | None = None
    identities: frozenset[str] = frozenset()

    @property
    def names(self) -> frozenset[str]:
        return self.identities | {self.actor}

    def named_in(self, allowed: list[str] | None) -> bool:
        if allowed is None or self.role == "admin":
            return True
        names = self.names | ({f"role:{self.role}"} if self.role else set())
        return bool(names & set(allowed))


@dataclass(frozen=True)
class Verdict:
    run: Run
    approvals: int
    quorum: int

    @property
    def queued(self) -> bool:
        return self.run.state == RunState.QUEUED


def _waiting(session: Session, run_id: int) -> Run:
    run = runs.get(session, run_id, lock=True)
    if run.state != RunState.AWAITING_CONFIRMATION:
        raise Conflict(f"run {run_id} is {run.state}; only a run awaiting confirmation can be")
    return run


def _check(run: Run, approver: Approver, *, now: datetime) -> dict[str, Any]:
    policy = run.approval or dict(runs.DEFAULT_APPROVAL)
    if run.expires_at is not None and now >= run.expires_at:
        raise Conflict(f"run {run.id} expired at {run.expires_at.isoformat()}; it will not run")
    if run.pin_hash is None or pin_of_run(run) != run.pin_hash:
        # The stored run no longer matches what was pinned when it was made: refuse it all.
        raise Conflict(f"run {run.id} was changed after it was requested; it cannot be approved")
    if not approver.named_in(policy.get("approvers")):
        raise Forbidden(
            f"{approver.actor} may not approve runs of {run.action_name} "
            f"(approvers: {', '.join(policy.get('approvers') or [])})"
        )
    return policy


def approve(
    session: Session, run_id: int, *, approver: Approver, pin: str, comment: str, now: datetime
) -> Verdict:
    """Record ``approver``'s approval of ``pin``; queue the run once the quorum is reached."""
    run = _waiting(session, run_id)
    policy = _check(run, approver, now=now)
    if pin != run.pin_hash:
        raise Conflict(
            f"run {run_id} is not what you approved: its pin is {run.pin_hash}; review it again"
        )
    if run.requested_by in approver.names and not policy.get("requester_may_approve", False):
        raise Forbidden(
            "the requester of a run may not approve it (approval.requester_may_approve)"
        )
    mine = session.scalar(
        select(RunApproval).where(
            RunApproval.run_id == run_id, RunApproval.actor.in_(sorted(approver.names))
        )
    )
    if mine is not None:
        # One person, one vote: a second credential of the same person does not add to quorum.
        raise Conflict(f"{mine.actor} already gave a verdict on run {run_id}")
    session.add(
        RunApproval(
            run_id=run_id,
            actor=approver.actor,
            decision="approve",
            comment=comment,
            pin_hash=pin,
            at=now,
        )
    )
    session.flush()
    approvers = [a.actor for a in approvals(session, run_id) if _counts(a, run)]
    quorum = int(policy.get("quorum", 1))
    if len(approvers) >= quorum:
        run.automatic = False  # people approved it: the kill switch does not hold it
        runs.transition(
            session,
            run,
            RunState.QUEUED,
            reason=f"approved by {', '.join(approvers)} (quorum {quorum})",
            now=now,
        )
        notify_queued(session)
    return Verdict(run, len(approvers), quorum)


def _counts(a: RunApproval, run: Run) -> bool:
    return a.decision == "approve" and a.pin_hash == run.pin_hash


def reject(session: Session, run_id: int, *, approver: Approver, reason: str, now: datetime) -> Run:
    """Reject a waiting run with a reason; final."""
    run = _waiting(session, run_id)
    _check(run, approver, now=now)
    session.add(
        RunApproval(
            run_id=run_id,
            actor=approver.actor,
            decision="reject",
            comment=reason,
            pin_hash=run.pin_hash or "",
            at=now,
        )
    )
    run.error = f"rejected by {approver.actor}: {reason}"
    runs.transition(session, run, RunState.REJECTED, reason=run.error, now=now)
    return run


def expire_due(session: Session, *, now: datetime) -> list[Run]:
    """Runs whose confirmation deadline passed become ``expired``: they never run late."""
    due = list(
        session.scalars(
            select(Run)
            .where(Run.state == RunState.AWAITING_CONFIRMATION.value, Run.expires_at <= now)
            .order_by(Run.id)
            .with_for_update(skip_locked=True)
        )
    )
    for run in due:
        run.error = "not confirmed before its deadline"
        runs.transition(session, run, RunState.EXPIRED, reason=run.error, now=now)
    return due


def approvals(session: Session, run_id: int) -> list[RunApproval]:
    stmt = select(RunApproval).where(RunApproval.run_id == run_id).order_by(RunApproval.id)
    return list(session.scalars(stmt))


def _held_because(reason: str | None) -> str | None:
    marker = runs.HELD_MARKER
    return reason.split(marker, 1)[1] if reason and marker in reason else None


def to_out(session: Session, run: Run) -> ConfirmationOut:
    [out] = to_outs(session, [run])
    return out


def to_outs(session: Session, found: Sequence[Run]) -> list[ConfirmationOut]:
    """The confirmations of ``found``, in order, in three queries whatever their number (a
    page of the queue shows fifty)."""
    ids = [r.id for r in found]
    if not ids:
        return []
    action_ids = {r.action_id for r in found if r.action_id is not None}
    risk_of = dict(
        session.execute(select(Action.id, Action.risk).where(Action.id.in_(action_ids))).all()
    )
    first_reason: dict[int, str] = {}
    events = select(RunEvent.run_id, RunEvent.reason).where(RunEvent.run_id.in_(ids))
    for run_id, reason in session.execute(events.order_by(RunEvent.id)):
        first_reason.setdefault(run_id, reason)
    given: dict[int, list[RunApproval]] = {}
    stmt = select(RunApproval).where(RunApproval.run_id.in_(ids)).order_by(RunApproval.id)
    for a in session.scalars(stmt):
        given.setdefault(a.run_id, []).append(a)
    return [
        _out(
            run,
            risk_of.get(run.action_id) if run.action_id is not None else None,
            first_reason.get(run.id),
            given.get(run.id, []),
        )
        for run in found
    ]


def _out(
    run: Run, risk: str | None, first_reason: str | None, given: list[RunApproval]
) -> ConfirmationOut:
    policy = run.approval or runs.DEFAULT_APPROVAL
    return ConfirmationOut(
        run_id=run.id,
        action_name=run.action_name,
        kind=run.kind,
        risk=risk,
        params=dict(run.params),
        argv=list(run.argv),
        targets=list(run.targets),
        request=dict(run.request),
        timeout_seconds=run.timeout_seconds,
        requested_by=run.requested_by,
        alert_id=run.alert_id,
        created_at=run.created_at,
        expires_at=run.expires_at,
        held_because=_held_because(first_reason),
        pin=run.pin_hash or "",
        quorum=int(policy.get("quorum", 1)),
        approvals=[
            ApprovalOut(
                actor=a.actor,
                decision=a.decision,
                comment=a.comment,
                at=a.at,
                current=a.pin_hash == run.pin_hash,
            )
            for a in given
        ],
    )


def pending(session: Session, *, limit: int = 100, before_id: int | None = None) -> list[Run]:
    """Runs awaiting confirmation, newest first."""
    stmt = select(Run).where(Run.state == RunState.AWAITING_CONFIRMATION.value)
    if before_id is not None:
        stmt = stmt.where(Run.id < before_id)
    return list(session.scalars(stmt.order_by(Run.id.desc()).limit(limit)))
