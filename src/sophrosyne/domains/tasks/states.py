"""Task states and the one table of legal transitions between them."""

from __future__ import annotations

from enum import StrEnum

from sophrosyne.errors import Conflict


class TaskState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    DONE = "done"
    DISMISSED = "dismissed"


S = TaskState

#: Every legal transition. Anything not listed is refused by ``check_transition``.
TRANSITIONS: dict[TaskState, frozenset[TaskState]] = {
    S.OPEN: frozenset({S.ACKNOWLEDGED, S.DONE, S.DISMISSED}),
    S.ACKNOWLEDGED: frozenset({S.DONE, S.DISMISSED}),
    S.DONE: frozenset(),
    S.DISMISSED: frozenset(),
}

TERMINAL: frozenset[TaskState] = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)


class IllegalTaskTransition(Conflict):
    """A task was asked to move between two states that have no edge in ``TRANSITIONS``."""


def check_transition(current: str, new: str) -> None:
    """Raise ``IllegalTaskTransition`` (a 409) unless ``current → new`` is in the table."""
    if TaskState(new) not in TRANSITIONS[TaskState(current)]:
        raise IllegalTaskTransition(f"a task cannot go from {current} to {new}")
