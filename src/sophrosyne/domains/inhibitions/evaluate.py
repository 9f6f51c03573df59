"""Which alert inhibits which, with Alertmanager's semantics: a target is held back while a
firing source alert exists whose ``equal`` labels have the same values (a missing label is
``""``). An alert never inhibits itself, and when the target also matches the source side,
sources that also match the target side do not count (no two alerts inhibit each other)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sophrosyne.domains.rules.matching import Matcher, first_mismatch


@dataclass(frozen=True, slots=True)
class CompiledInhibition:
    position: int
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]

    def targets(self, labels: Mapping[str, str]) -> bool:
        return first_mismatch(self.target, labels) is None

    def is_source(self, labels: Mapping[str, str]) -> bool:
        return first_mismatch(self.source, labels) is None


@dataclass(frozen=True, slots=True)
class Firing:
    """A firing alert as inhibition sees it."""

    id: int
    fingerprint: str
    labels: Mapping[str, str]


def inhibitor(
    rule: CompiledInhibition,
    target_id: int,
    labels: Mapping[str, str],
    sources: Sequence[Firing],
) -> Firing | None:
    """The first source alert that inhibits the alert (``target_id``, ``labels``) by
    ``rule``, or None. ``sources`` are firing alerts matching the rule's source side."""
    two_sided = rule.is_source(labels)
    wanted = tuple(labels.get(name, "") for name in rule.equal)
    for source in sources:
        if source.id == target_id:
            continue
        if tuple(source.labels.get(name, "") for name in rule.equal) != wanted:
            continue
        if two_sided and rule.targets(source.labels):
            continue
        return source
    return None
