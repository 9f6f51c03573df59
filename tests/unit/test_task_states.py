"""Task states: one table of legal transitions; everything else is a 409."""

from __future__ import annotations

import pytest

from sophrosyne.domains.tasks.states import (
    TERMINAL,
    TRANSITIONS,
    IllegalTaskTransition,
    TaskState,
    check_transition,
)
from sophrosyne.errors import Conflict

S = TaskState


def test_every_state_has_a_row_and_done_and_dismissed_are_final() -> None:
    assert set(TRANSITIONS) == set(TaskState)
    assert {S.DONE, S.DISMISSED} == TERMINAL


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (S.OPEN, S.ACKNOWLEDGED),
        (S.OPEN, S.DONE),
        (S.OPEN, S.DISMISSED),
        (S.ACKNOWLEDGED, S.DONE),
        (S.ACKNOWLEDGED, S.DISMISSED),
    ],
)
def test_legal(current: TaskState, new: TaskState) -> None:
    check_transition(current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (S.DONE, S.OPEN),
        (S.DONE, S.DISMISSED),
        (S.DISMISSED, S.ACKNOWLEDGED),
        (S.ACKNOWLEDGED, S.OPEN),
        (S.ACKNOWLEDGED, S.ACKNOWLEDGED),
        (S.OPEN, S.OPEN),
    ],
)
def test_illegal_is_a_conflict(current: TaskState, new: TaskState) -> None:
    with pytest.raises(IllegalTaskTransition, match=f"from {current} to {new}") as caught:
        check_transition(current, new)
    assert isinstance(caught.value, Conflict)
