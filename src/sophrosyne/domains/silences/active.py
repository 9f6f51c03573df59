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


def _anchor(silence: CompiledSilence) -> tuple[str, str] | None:
    """A label and value every alert the silence matches must have (an equality matcher
    with a value), or None when no matcher pins one."""
    for matcher in silence.matchers:
        if matcher.op == "=" and matcher.value != "":
            return matcher.name, matcher.value
    return None


class SilenceIndex:
    """Silences found by label value instead of tried one by one: nearly every silence has
    an equality matcher (``alertname="X"``, ``instance="db1"``), so an alert need only be
    checked against the silences anchored on one of its own label values, and against those
    with no anchor. The answer is the same as ``first_silence`` over the same list (the first
    in list order that is active and matches)."""

    def __init__(self, silences: Sequence[CompiledSilence]) -> None:
        self.silences = tuple(silences)
        self._anchored: dict[tuple[str, str], list[int]] = {}
        self._loose: list[int] = []
        for position, silence in enumerate(self.silences):
            anchor = _anchor(silence)
            if anchor is None:
                self._loose.append(position)
            else:
                self._anchored.setdefault(anchor, []).append(position)

    def _candidates(self, labels: Mapping[str, str]) -> list[CompiledSilence]:
        positions = list(self._loose)
        for item in labels.items():
            positions += self._anchored.get(item, ())
        return [self.silences[p] for p in sorted(positions)]

    def first(self, labels: Mapping[str, str], now: datetime) -> CompiledSilence | None:
        for silence in self._candidates(labels):
            if silence.active_at(now) and silence.matches(labels):
                return silence
        return None

    def matching(self, labels: Mapping[str, str]) -> list[CompiledSilence]:
        """Every silence whose matchers match ``labels``, whatever the time."""
        return [s for s in self._candidates(labels) if s.matches(labels)]
