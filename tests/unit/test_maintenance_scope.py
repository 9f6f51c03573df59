"""Maintenance scope: which alerts a window covers (by target name or address from the
alert's host label, by target labels, by alert matchers) and which targets it holds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sophrosyne.domains.maintenance.active import (
    CompiledWindow,
    _host,
    held_targets,
    in_maintenance,
    scope_of,
)
from sophrosyne.domains.maintenance.schedule import Schedule
from sophrosyne.domains.rules.matching import parse_matchers
from sophrosyne.domains.rules.targeting import TargetView, host_part

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
INVENTORY = [
    TargetView("db-1", "10.0.0.1", 22, None, {"role": "db"}),
    TargetView("db-2", "fd00::2", 22, None, {"role": "db"}),
    TargetView("web-1", "10.0.0.9", 22, None, {"role": "web"}),
]


def _window(
    names: list[str] = [],  # noqa: B006 - read only
    selector: list[str] = [],  # noqa: B006
    matchers: list[str] = [],  # noqa: B006
    *,
    open_now: bool = True,
) -> CompiledWindow:
    target_names, hosts = scope_of(names, selector, INVENTORY)
    start = NOW.replace(hour=11) if open_now else NOW.replace(hour=13)
    return CompiledWindow(
        id=1,
        name="w",
        author="a",
        comment="c",
        schedule=Schedule(starts_at=start, ends_at=NOW.replace(hour=14)),
        matchers=parse_matchers(matchers),
        from_label="instance",
        target_names=target_names,
        hosts=hosts,
    )


@pytest.mark.parametrize(
    ("window", "labels", "why"),
    [
        (_window(["db-1"]), {"instance": "db-1:9100"}, "target db-1 (instance=db-1:9100)"),
        (
            _window(["db-1"]),
            {"instance": "10.0.0.1:9100"},
            "target 10.0.0.1 (instance=10.0.0.1:9100)",
        ),
        (_window(["db-1"]), {"instance": "web-1:9100"}, None),
        (_window(["db-1"]), {"host": "db-1"}, None),  # no instance label
        (
            _window(selector=['role="db"']),
            {"instance": "[fd00::2]:9100"},
            "target fd00::2 (instance=[fd00::2]:9100)",
        ),
        (_window(selector=['role="db"']), {"instance": "web-1"}, None),
        (_window(matchers=['dc="par1"']), {"dc": "par1"}, 'alert labels match dc="par1"'),
        (_window(matchers=['dc="par1"']), {"dc": "ams1"}, None),
        (_window(["ghost"]), {"instance": "ghost:22"}, "target ghost (instance=ghost:22)"),
    ],
)
def test_covers(window: CompiledWindow, labels: dict[str, str], why: str | None) -> None:
    assert window.covers(labels) == why
    hit = in_maintenance([window], labels, NOW)
    assert (hit[1] if hit else None) == why


def test_a_window_not_open_covers_nothing_and_holds_nothing() -> None:
    closed = _window(["db-1"], open_now=False)
    assert in_maintenance([closed], {"instance": "db-1:9100"}, NOW) is None
    assert held_targets([closed], NOW) == {}
    opened = _window(selector=['role="db"'])
    assert sorted(held_targets([opened, closed], NOW)) == ["db-1", "db-2"]


@pytest.mark.parametrize(
    "raw", ["db-1", "db-1:9100", "10.0.0.1:9100", "[fd00::2]:9100", "fd00::2", " db-1 ", "x:"]
)
def test_fast_host_is_host_part(raw: str) -> None:
    assert _host(raw) == host_part(raw)
