"""Maintenance windows as the ingest path and the worker see them: compiled once per catalog
revision (with the target inventory, which also bumps it), checked against the current time
(an occurrence opens and closes without any change to the catalog).

The scope is resolved at compile time into the set of target names and of hosts (target names
and addresses) it covers, so checking an alert is one dictionary lookup of its host label
plus, for windows with alert matchers, the matchers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sophrosyne.domains.maintenance.schedule import WEEKDAYS, Recurrence, Schedule
from sophrosyne.domains.rules.matching import Matcher, first_mismatch, parse_matchers
from sophrosyne.domains.rules.targeting import TargetView, host_part


@dataclass(frozen=True, slots=True)
class CompiledWindow:
    id: int
    name: str
    author: str
    comment: str
    schedule: Schedule
    matchers: tuple[Matcher, ...]
    from_label: str
    #: Targets in scope, by name (named outright or selected by their labels).
    target_names: frozenset[str]
    #: Names and addresses of the targets in scope, as an alert's host label may give them.
    hosts: frozenset[str]

    def active_at(self, now: datetime) -> bool:
        return self.schedule.active_at(now)

    def covers(self, labels: Mapping[str, str], hosts: dict[str, str] | None = None) -> str | None:
        """Why an alert with ``labels`` is in scope (for the record), or None if it is not.
        ``hosts``: label name → host, shared by the windows checked for one alert."""
        if self.hosts:
            raw = labels.get(self.from_label)
            if raw:
                if hosts is None:
                    hosts = {}
                host = hosts.get(self.from_label)
                if host is None:
                    host = hosts[self.from_label] = _host(raw)
                if host in self.hosts:
                    return f"target {host} ({self.from_label}={raw})"
        if self.matchers and first_mismatch(self.matchers, labels) is None:
            return "alert labels match " + ", ".join(str(m) for m in self.matchers)
        return None

    def describe(self, why: str) -> str:
        who = f"maintenance window {self.name!r} (id {self.id}) by {self.author}"
        return f"{who}: {self.comment}; {why}"


def _host(raw: str) -> str:
    """``host_part`` with a fast path for the usual ``host:port`` and bare host (it tries an
    IPv6 parse, which costs microseconds per alert, only when there are several colons)."""
    colons = raw.count(":")
    if colons == 0 and raw == raw.strip():
        return raw
    if colons == 1 and not raw.startswith(("[", " ")) and not raw.endswith(" "):
        return raw.rsplit(":", 1)[0]
    return host_part(raw)


def recurrence_of(raw: Mapping[str, Any]) -> Recurrence:
    """From the stored form (``RecurrenceSpec.model_dump(mode="json")``)."""
    hours, minutes, *rest = (int(p) for p in str(raw["start_time"]).split(":"))
    seconds = rest[0] if rest else 0

    def day(value: object) -> date | None:
        return date.fromisoformat(str(value)) if value else None

    return Recurrence(
        frequency=str(raw["frequency"]),
        start_time=time(hours, minutes, seconds),
        duration=timedelta(minutes=int(raw["duration_minutes"])),
        zone=ZoneInfo(str(raw.get("timezone") or "UTC")),
        weekdays=frozenset(WEEKDAYS.index(str(d)) for d in raw.get("days") or ()),
        month_days=frozenset(int(d) for d in raw.get("days_of_month") or ()),
        valid_from=day(raw.get("valid_from")),
        valid_until=day(raw.get("valid_until")),
    )


def scope_of(
    names: Sequence[str], selector: Sequence[str], inventory: Sequence[TargetView]
) -> tuple[frozenset[str], frozenset[str]]:
    """(target names, hosts) in scope: targets named outright, and those of ``inventory``
    whose labels match ``selector``. A named target not in the inventory (disabled, or not
    created yet) still covers alerts whose host label is its name."""
    chosen = set(names)
    if selector:
        matchers = parse_matchers(list(selector))
        chosen |= {
            t.name
            for t in inventory
            if first_mismatch(matchers, {k: str(v) for k, v in t.labels.items()}) is None
        }
    hosts = set(chosen) | {t.address for t in inventory if t.name in chosen}
    return frozenset(chosen), frozenset(hosts)


def open_at(windows: Sequence[CompiledWindow], now: datetime) -> list[CompiledWindow]:
    """The windows open at ``now``: worked out once per batch, since the schedule is the
    costly part (time zones) and the same for every alert."""
    return [w for w in windows if w.active_at(now)]


def covering(
    open_windows: Sequence[CompiledWindow], labels: Mapping[str, str]
) -> tuple[CompiledWindow, str] | None:
    """The first of ``open_windows`` whose scope covers ``labels``, and why."""
    hosts: dict[str, str] = {}
    for window in open_windows:
        why = window.covers(labels, hosts)
        if why is not None:
            return window, why
    return None


def in_maintenance(
    windows: Sequence[CompiledWindow], labels: Mapping[str, str], now: datetime
) -> tuple[CompiledWindow, str] | None:
    """The first window open at ``now`` whose scope covers ``labels``, and why."""
    return covering(open_at(windows, now), labels)


def held_targets(windows: Sequence[CompiledWindow], now: datetime) -> dict[str, CompiledWindow]:
    """Target name → the open window that holds it (the worker starts no automatic run on it)."""
    out: dict[str, CompiledWindow] = {}
    for window in windows:
        if window.target_names and window.active_at(now):
            for name in window.target_names:
                out.setdefault(name, window)
    return out
