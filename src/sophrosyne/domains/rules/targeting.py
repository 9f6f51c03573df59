"""Pure target selection: which targets of the inventory a rule addresses for an alert.

A rule can take the host from an alert label (``from_label: instance`` turns
``db-1.par1:9100`` into ``db-1.par1``, matched against a target's name or address), filter by
target labels (``selector``, Alertmanager matcher syntax), or name targets outright; the
parts combine with AND. Only enabled targets are ever selected.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sophrosyne.domains.rules.matching import Matcher, first_mismatch, parse_matchers


@dataclass(frozen=True, slots=True)
class TargetView:
    """What selection and templates may see of a target: never a credential."""

    name: str
    address: str
    port: int
    user: str | None
    labels: Mapping[str, str]

    def template_context(self) -> dict[str, object]:
        return {
            "name": self.name,
            "address": self.address,
            "port": self.port,
            "user": self.user,
            "labels": self.labels,
        }


@dataclass(frozen=True, slots=True)
class CompiledSelection:
    from_label: str | None
    selector: tuple[Matcher, ...]
    names: frozenset[str] | None

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> CompiledSelection:
        """From the stored form (``TargetSelection.model_dump()``)."""
        names = raw.get("names")
        return cls(
            from_label=str(raw["from_label"]) if raw.get("from_label") else None,
            selector=tuple(parse_matchers([str(m) for m in raw.get("selector") or []])),
            names=frozenset(str(n) for n in names) if names is not None else None,
        )


def host_part(value: str) -> str:
    """The host of ``host:port``, ``[v6]:port``, a bare host or a bare IPv6 address."""
    value = value.strip()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    try:
        ipaddress.IPv6Address(value)
        return value
    except ValueError:
        pass
    return value.rsplit(":", 1)[0] if ":" in value else value


class NoTargets(Exception):
    """The selection found nothing; ``str()`` says why, for the alert's "why" panel."""


def select_targets(
    selection: CompiledSelection,
    labels: Mapping[str, str],
    inventory: Sequence[TargetView],
) -> list[TargetView]:
    """The targets ``selection`` picks for an alert with ``labels``, in inventory order."""
    chosen = list(inventory)
    if selection.names is not None:
        chosen = [t for t in chosen if t.name in selection.names]
    if selection.from_label is not None:
        raw = labels.get(selection.from_label)
        if not raw:
            raise NoTargets(f"alert has no label {selection.from_label!r} to pick a target from")
        host = host_part(raw)
        chosen = [t for t in chosen if host in (t.name, t.address)]
        if not chosen:
            raise NoTargets(
                f"no enabled target is named or addressed {host!r} "
                f"(from label {selection.from_label}={raw!r})"
            )
    if selection.selector:
        chosen = [
            t
            for t in chosen
            if first_mismatch(selection.selector, {k: str(v) for k, v in t.labels.items()}) is None
        ]
    if not chosen:
        raise NoTargets("no enabled target matches the rule's target selection")
    return chosen
