"""Pure throttles for flapping alerts, after Event-Driven Ansible's ``once_within``,
``once_after`` and ``accumulate_within``: given a group's state and one event, act now, or
say why not. The state lives in the database (``ThrottleGroup``) so it outlives processes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

#: (outcome, detail) when an event does not act now; None when it acts.
Verdict = tuple[str, str] | None


@dataclass(frozen=True, slots=True)
class CompiledThrottle:
    kind: str
    seconds: int
    threshold: int
    group_by: tuple[str, ...]

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> CompiledThrottle:
        """From the stored form (``Throttle.model_dump(exclude_none=True)``)."""
        for kind in ("once_within", "once_after", "accumulate_within"):
            if raw.get(kind) is not None:
                return cls(
                    kind=kind,
                    seconds=int(raw[kind]),
                    threshold=int(raw.get("threshold") or 1),
                    group_by=tuple(str(g) for g in raw.get("group_by") or ()),
                )
        raise ValueError("a throttle needs once_within, once_after or accumulate_within")

    def group_of(self, labels: Mapping[str, str]) -> tuple[str, ...]:
        """The values of the ``group_by`` labels (a missing label counts as empty)."""
        return tuple(str(labels.get(name, "")) for name in self.group_by)

    def describe(self, values: Sequence[str]) -> str:
        if not self.group_by:
            return "the whole rule"
        return ", ".join(f"{k}={v!r}" for k, v in zip(self.group_by, values, strict=True))


def group_key(values: Sequence[str]) -> str:
    """A short, fixed-length key for a group's label values (stored with a unique index)."""
    return hashlib.sha256(orjson.dumps(list(values))).hexdigest()[:40]


@dataclass(slots=True)
class GroupState:
    """One group's throttle state, as stored."""

    kind: str
    window_started_at: datetime | None = None
    events: int = 0
    #: once_after: when the window ends and the rule acts (None: no window open).
    due_at: datetime | None = None
    #: once_after: the group's latest alert, the one the rule acts on.
    alert_id: int | None = None

    def reset(self, kind: str) -> None:
        self.kind = kind
        self.window_started_at = None
        self.events = 0
        self.due_at = None
        self.alert_id = None


def _at(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


def on_event(
    throttle: CompiledThrottle,
    state: GroupState,
    *,
    now: datetime,
    alert_id: int,
    group: str,
) -> Verdict:
    """Apply one event to ``state`` (changed in place): None if the rule acts on it now."""
    if state.kind != throttle.kind:
        state.reset(throttle.kind)  # the rule's throttle was changed: start afresh
    window = timedelta(seconds=throttle.seconds)
    started = state.window_started_at
    open_window = started is not None and now < started + window
    if throttle.kind == "once_within":
        if open_window:
            assert started is not None
            state.events += 1
            return (
                "throttled",
                f"once_within {throttle.seconds} s for {group}: the group already acted at "
                f"{_at(started)}; events are suppressed until {_at(started + window)}",
            )
        state.window_started_at, state.events = now, 1
        return None
    if throttle.kind == "accumulate_within":
        if open_window:
            state.events += 1
        else:
            state.window_started_at, state.events = now, 1
        if state.events >= throttle.threshold:
            state.window_started_at, state.events = None, 0
            return None
        assert state.window_started_at is not None
        return (
            "throttled",
            f"accumulate_within {throttle.seconds} s for {group}: {state.events} of "
            f"{throttle.threshold} events since {_at(state.window_started_at)}",
        )
    # once_after: join the open window (even one past due that housekeeping has not fired
    # yet: it will act with this, the latest, alert), or open one.
    if state.due_at is None:
        state.window_started_at, state.events = now, 0
        state.due_at = now + window
    state.events += 1
    state.alert_id = alert_id
    return (
        "deferred",
        f"once_after {throttle.seconds} s for {group}: the rule acts once at "
        f"{_at(state.due_at)} with the group's latest alert ({state.events} so far)",
    )


def fire(state: GroupState) -> tuple[int | None, int]:
    """Close a due ``once_after`` window: (the alert to act on, events in the window)."""
    alert_id, events = state.alert_id, state.events
    state.reset(state.kind)
    return alert_id, events
