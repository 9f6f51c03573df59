from __future__ import annotations

import pytest

from sophrosyne.domains.runs.states import (
    TERMINAL,
    TRANSITIONS,
    IllegalTransition,
    RunState,
    check_transition,
)


def test_every_state_has_a_row() -> None:
    assert set(TRANSITIONS) == set(RunState)


def test_terminal_states_are_final() -> None:
    assert {
        RunState.SUCCEEDED,
        RunState.FAILED,
        RunState.TIMED_OUT,
        RunState.CANCELLED,
        RunState.INTERRUPTED,
        RunState.EXPIRED,
        RunState.REJECTED,
    } == TERMINAL
    for state in TERMINAL:
        for target in RunState:
            with pytest.raises(IllegalTransition):
                check_transition(state, target)


@pytest.mark.parametrize(
    ("src", "dst"),
    [("queued", "succeeded"), ("awaiting_confirmation", "running"), ("queued", "interrupted")],
)
def test_illegal_shortcuts_are_refused(src: str, dst: str) -> None:
    with pytest.raises(IllegalTransition, match=f"from {src} to {dst}"):
        check_transition(src, dst)


def test_legal_path() -> None:
    for src, dst in [("queued", "running"), ("running", "succeeded"), ("running", "interrupted")]:
        check_transition(src, dst)
