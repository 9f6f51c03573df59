"""Incident states and the one table of legal transitions between them."""

from __future__ import annotations

from enum import StrEnum

from sophrosyne.errors import Conflict


class IncidentState(StrEnum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


S = IncidentState

#: Every legal transition. ACKNOWLEDGED → TRIGGERED is an acknowledgement that expired;
#: RESOLVED → TRIGGERED is a reopen. Anything else is refused by ``check_transition``.
TRANSITIONS: dict[IncidentState, frozenset[IncidentState]] = {
    S.TRIGGERED: frozenset({S.ACKNOWLEDGED, S.RESOLVED}),
    S.ACKNOWLEDGED: frozenset({S.TRIGGERED, S.RESOLVED}),
    S.RESOLVED: frozenset({S.TRIGGERED}),
}

OPEN: frozenset[IncidentState] = frozenset({S.TRIGGERED, S.ACKNOWLEDGED})


class IllegalIncidentTransition(Conflict):
    """An incident was asked to make a move that ``TRANSITIONS`` does not have (a 409)."""


def check_transition(current: str, new: str) -> None:
    if IncidentState(new) not in TRANSITIONS[IncidentState(current)]:
        raise IllegalIncidentTransition(f"an incident cannot go from {current} to {new}")
