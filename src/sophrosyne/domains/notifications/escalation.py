"""Escalations: a policy's steps fired in order for one subject until it is acknowledged.

The state lives in ``escalation_states`` keyed by (subject kind, subject id), so a worker that
restarts carries on. :func:`advance` fires every step that is due at ``now``: before each it
asks ``is_acknowledged`` (a callback from the caller, who knows incidents) and looks at the
status last given for the subject; an acknowledged or resolved subject stops escalating. A
step notifies the person on call for a schedule, a user (by e-mail) or a channel; what it
sends, fails to send or cannot send is recorded like every notification. After the last step,
the steps start again, ``repeat`` times; then the escalation is ``exhausted``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sophrosyne.domains.accounts.models import User
from sophrosyne.domains.notifications import service
from sophrosyne.domains.notifications.messages import Subject, render
from sophrosyne.domains.notifications.models import (
    Channel,
    EscalationPolicy,
    EscalationState,
    Notification,
)
from sophrosyne.domains.notifications.records import FAILED, SUPPRESSED, Intent, record
from sophrosyne.domains.notifications.schemas import NotifyTarget, PolicySpec
from sophrosyne.domains.oncall import service as oncall
from sophrosyne.errors import NotFound

#: The channel name recorded for messages to people (sent through the SMTP setting).
EMAIL = "email"
ACTIVE, ACKNOWLEDGED, RESOLVED, STOPPED, EXHAUSTED = (
    "active",
    "acknowledged",
    "resolved",
    "stopped",
    "exhausted",
)
_DONE_STATUSES = {"acknowledged": ACKNOWLEDGED, "resolved": RESOLVED}

IsAcknowledged = Callable[[Subject], bool]


def find(session: Session, kind: str, subject_id: str) -> EscalationState | None:
    return session.scalar(
        select(EscalationState).where(
            EscalationState.subject_kind == kind, EscalationState.subject_id == subject_id
        )
    )


def start(session: Session, subject: Subject, policy: str, *, now: datetime) -> EscalationState:
    """Begin escalating ``subject`` with ``policy`` (its first step is due at once). A subject
    already escalating keeps its place; one that had stopped starts over."""
    service.get(session, EscalationPolicy, policy)
    state = find(session, subject.kind, subject.id)
    if state is not None and state.status == ACTIVE:
        state.subject = subject.as_dict()
        state.updated_at = now
        session.flush()
        return state
    if state is None:
        state = EscalationState(subject_kind=subject.kind, subject_id=subject.id, started_at=now)
        session.add(state)
    state.policy = policy
    state.subject = subject.as_dict()
    state.step, state.cycle = 0, 0
    state.status, state.reason = ACTIVE, None
    state.next_at, state.started_at, state.updated_at = now, now, now
    session.flush()
    return state


def stop(
    session: Session,
    kind: str,
    subject_id: str,
    *,
    status: str = ACKNOWLEDGED,
    reason: str | None = None,
    now: datetime,
) -> bool:
    """End an active escalation (acknowledged, resolved or stopped); False if none was active."""
    state = find(session, kind, subject_id)
    if state is None or state.status != ACTIVE:
        return False
    state.status, state.reason, state.next_at, state.updated_at = status, reason, None, now
    session.flush()
    return True


def note_status(session: Session, subject: Subject, *, now: datetime) -> None:
    """Keep the subject as last seen; an acknowledged or resolved one stops escalating."""
    state = find(session, subject.kind, subject.id)
    if state is None:
        return
    state.subject = subject.as_dict()
    state.updated_at = now
    done = _DONE_STATUSES.get(subject.status)
    if done is not None and state.status == ACTIVE:
        state.status, state.reason, state.next_at = done, f"subject {subject.status}", None
    session.flush()


def advance(
    session: Session,
    *,
    now: datetime,
    public_url: str,
    is_acknowledged: IsAcknowledged | None = None,
    limit: int = 100,
) -> list[Notification]:
    """Fire every step due at ``now``; the notifications it recorded (pending or not)."""
    due = session.scalars(
        select(EscalationState)
        .where(EscalationState.status == ACTIVE, EscalationState.next_at <= now)
        .order_by(EscalationState.next_at, EscalationState.id)
        .limit(limit)
    )
    out: list[Notification] = []
    for state in list(due):
        if not _claim(session, state, now):
            continue  # another worker fired it
        out += _fire(session, state, now=now, public_url=public_url, acked=is_acknowledged)
    session.flush()
    return out


def _claim(session: Session, state: EscalationState, now: datetime) -> bool:
    done = session.execute(
        update(EscalationState)
        .where(
            EscalationState.id == state.id,
            EscalationState.status == ACTIVE,
            EscalationState.step == state.step,
            EscalationState.cycle == state.cycle,
        )
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return getattr(done, "rowcount", 0) == 1


def _fire(
    session: Session,
    state: EscalationState,
    *,
    now: datetime,
    public_url: str,
    acked: IsAcknowledged | None,
) -> list[Notification]:
    subject = Subject.from_dict(state.subject)
    done = _DONE_STATUSES.get(subject.status)
    if done is None and acked is not None and acked(subject):
        done = ACKNOWLEDGED
    if done is not None:
        state.status, state.reason, state.next_at = done, f"subject {done}", None
        return []
    row = service.find(session, EscalationPolicy, state.policy)
    if row is None:
        state.status, state.next_at = STOPPED, None
        state.reason = f"escalation policy {state.policy!r} no longer exists"
        return []
    policy = service.policy_spec(row)
    step = policy.steps[min(state.step, len(policy.steps) - 1)]
    event = f"escalation step {state.step + 1}, pass {state.cycle + 1}"
    title, body = render(subject, public_url=public_url, event=event)
    intents = [
        Intent(**(vars(i) | {"policy": policy.name, "step": state.step}))
        for i in resolve(session, step.notify, title, body, now=now)
    ]
    rows = record(session, subject, event, intents, now=now)
    _move_on(state, policy, step.wait_seconds, now)
    return rows


def _move_on(state: EscalationState, policy: PolicySpec, wait: int, now: datetime) -> None:
    state.step += 1
    if state.step >= len(policy.steps):
        state.step, state.cycle = 0, state.cycle + 1
    if state.cycle > policy.repeat:
        state.status, state.next_at = EXHAUSTED, None
        state.reason = f"every step notified {policy.repeat + 1} time(s); nobody acknowledged"
        state.step = len(policy.steps) - 1
        state.cycle = policy.repeat
        return
    state.next_at = now + timedelta(seconds=wait)


def resolve(
    session: Session, target: NotifyTarget, title: str, body: str, *, now: datetime
) -> list[Intent]:
    """The message(s) a step sends: to a channel, to a user by e-mail, or to whoever is on
    call for a schedule. What cannot be sent is a failed intent that says why."""
    if target.channel is not None:
        channel = service.find(session, Channel, target.channel)
        if channel is None:
            return [Intent(target.channel, title, body, FAILED, "no such channel")]
        if not channel.enabled:
            return [Intent(target.channel, title, body, SUPPRESSED, "channel is disabled")]
        return [Intent(target.channel, title, body)]
    user = target.user
    if target.schedule is not None:
        try:
            user = oncall.who_is_on_call(session, target.schedule, now)
        except NotFound:
            return [Intent(None, title, body, FAILED, f"no schedule named {target.schedule!r}")]
        if user is None:
            return [Intent(None, title, body, FAILED, f"nobody is on call for {target.schedule}")]
    assert user is not None
    person = session.scalar(select(User).where(User.username == user))
    if person is None or person.disabled:
        return [Intent(EMAIL, title, body, FAILED, "no such active user", recipient=user)]
    if not person.email:
        reason = "the user has no e-mail address"
        return [Intent(EMAIL, title, body, FAILED, reason, recipient=user)]
    return [Intent(EMAIL, title, body, recipient=user, address=person.email)]
