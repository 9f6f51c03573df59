"""Flap detection with Nagios' algorithm, on an alert's state history.

The history is the last 21 samples of the alert's state, oldest first. Alerts are not polled,
so samples come from the recorded state changes (``alert_events``): each change is one sample,
and a stretch without change counts one sample of the unchanged state per ``SAMPLE_SECONDS``
(so an alert that has been quiet for a while stops flapping). A history shorter than 21 is
padded at the old end with its first state, as Nagios fills it when it starts.

Each of the 20 transitions that changed state counts with a weight rising linearly from 0.75
(oldest) to 1.25 (newest); the percent state change is their sum over 20. Flapping starts at
``START_PERCENT`` or more and stops below ``STOP_PERCENT``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

HISTORY = 21
LOW_WEIGHT = 0.75
HIGH_WEIGHT = 1.25
START_PERCENT = 20.0
STOP_PERCENT = 5.0
#: One unchanged sample per this many quiet seconds (Alertmanager's default group interval).
SAMPLE_SECONDS = 300


def percent_state_change(states: Sequence[str]) -> float:
    """Nagios' weighted percent state change of the last ``HISTORY`` samples."""
    if not states:
        return 0.0
    recent = list(states[-HISTORY:])
    recent = [recent[0]] * (HISTORY - len(recent)) + recent
    changes = 0.0
    for x in range(1, HISTORY):
        if recent[x] != recent[x - 1]:
            changes += (x - 1) * (HIGH_WEIGHT - LOW_WEIGHT) / (HISTORY - 2) + LOW_WEIGHT
    return changes * 100.0 / (HISTORY - 1)


def samples(events: Sequence[tuple[datetime, str]], *, until: datetime) -> list[str]:
    """States sampled from changes ``(at, to_status)`` (oldest first), quiet stretches
    included up to ``until``; at most the last ``HISTORY``."""
    out: list[str] = []
    previous: tuple[datetime, str] | None = None
    for at, status in [*events, (until, "")]:
        if previous is not None:
            quiet = int((at - previous[0]).total_seconds() // SAMPLE_SECONDS)
            out.extend([previous[1]] * min(quiet, HISTORY))
        if status:
            out.append(status)
        previous = (at, status)
    return out[-HISTORY:]


def is_flapping(
    was: bool, events_before: Sequence[tuple[datetime, str]], status: str, now: datetime
) -> tuple[bool, float]:
    """(flapping now, percent) when a change to ``status`` arrives at ``now``. Stopping is
    judged on the history up to now without this change (has the alert been quiet?),
    starting on the history with it."""
    before = samples(events_before, until=now)
    after = percent_state_change([*before, status])
    if was and percent_state_change(before) < STOP_PERCENT:
        was = False
    return (was or after >= START_PERCENT), after
