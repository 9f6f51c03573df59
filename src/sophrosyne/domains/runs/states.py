"""Run states and the one table of legal transitions between them."""

from __future__ import annotations

from enum import StrEnum


class RunState(StrEnum):
    QUEUED = "queued"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    #: Waited for confirmation past its deadline; never runs late.
    EXPIRED = "expired"
    #: An approver said no, with a reason.
    REJECTED = "rejected"


S = RunState

#: Every legal transition. Anything not listed is rejected by ``check_transition``.
TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    S.AWAITING_CONFIRMATION: frozenset({S.QUEUED, S.CANCELLED, S.EXPIRED, S.REJECTED}),
    S.QUEUED: frozenset({S.RUNNING, S.CANCELLED}),
    # RUNNING → QUEUED only when a dead worker's run is idempotent and so safe to retry.
    S.RUNNING: frozenset(
        {S.SUCCEEDED, S.FAILED, S.TIMED_OUT, S.CANCELLED, S.INTERRUPTED, S.QUEUED}
    ),
    S.SUCCEEDED: frozenset(),
    S.FAILED: frozenset(),
    S.TIMED_OUT: frozenset(),
    S.CANCELLED: frozenset(),
    S.INTERRUPTED: frozenset(),
    S.EXPIRED: frozenset(),
    S.REJECTED: frozenset(),
}

TERMINAL: frozenset[RunState] = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)


class IllegalTransition(ValueError):
    """A run was asked to move between two states that have no edge in ``TRANSITIONS``."""


def check_transition(current: str, new: str) -> None:
    """Raise ``IllegalTransition`` unless ``current → new`` is in the table."""
    if RunState(new) not in TRANSITIONS[RunState(current)]:
        raise IllegalTransition(f"a run cannot go from {current} to {new}")
