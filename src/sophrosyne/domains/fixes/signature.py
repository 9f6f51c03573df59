"""Alert signatures: the alert name plus a chosen few labels, the unit fixes are learned for.

Hosts (``instance``) are left out of the default on purpose, so that what fixed
``DiskPressure`` on one database server is offered for the next one (``role="db"``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

DEFAULT_LABELS = ("alertname", "service", "role", "job")


def signature(labels: Mapping[str, str], names: Sequence[str] = DEFAULT_LABELS) -> dict[str, str]:
    """The labels among ``names`` that ``labels`` has with a non-empty value, in that order."""
    return {n: str(labels[n]) for n in names if labels.get(n)}


def describe(sig: Mapping[str, str]) -> str:
    """``DiskPressure on role=db, service=pg``: how a signature reads in a sentence."""
    name = sig.get("alertname", "(no alertname)")
    rest = ", ".join(f"{k}={v}" for k, v in sig.items() if k != "alertname")
    return f"{name} on {rest}" if rest else name
