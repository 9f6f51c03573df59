"""Silences as the ingest path sees them: compiled once per catalog revision, checked per
alert against the current time (a pending silence starts, an active one ends, without any
change to the catalog)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sophrosyne.domains.rules.matching import Matcher, first_mismatch


@dataclass(frozen=True, slots=True)
class CompiledSilence:
    id: int
    matchers: tuple[Matcher, ...]
    author: str
    comment: str
    starts_at: datetime
    ends_at: datetime
    expire_on_resolve: bool

    def active_at(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def matches(self, labels: Mapping[str, str]) -> bool:
        return first_mismatch(self.matchers, labels) is None

    def describe(self) -> str:
        return f"silence {self.id} by {self.author}: {self.comment}"


def state_of(starts_at: datetime, ends_at: datetime, now: datetime) -> str:
    """``pending`` before it starts, ``active`` within its window, ``expired`` after."""
    if now >= ends_at:
        return "expired"
    return "pending" if now < starts_at else "active"


def first_silence(
    silences: Sequence[CompiledSilence], labels: Mapping[str, str], now: datetime
) -> CompiledSilence | None:
    """The first silence active at ``now`` that matches ``labels``."""
    for silence in silences:
        if silence.active_at(now) and silence.matches(labels):
            return silence
    return None
