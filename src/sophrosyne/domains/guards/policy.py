"""Pure guard checks for one batch of planned runs: rate limits, target cooldown and blast
radius, over a ``Ledger`` of what already ran (loaded from the database once per batch) and
what this batch has admitted so far, so later runs of a batch see earlier ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sophrosyne.domains.guards.throttle import CompiledThrottle

#: (outcome, detail): why a run is held back or waits for a person.
Verdict = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Pause:
    """The kill switch as the ingest path sees it, while automation is paused."""

    reason: str
    by: str | None
    since: datetime | None

    def verdict(self) -> Verdict:
        who = f" by {self.by}" if self.by else ""
        when = f" since {self.since:%Y-%m-%d %H:%M:%S} UTC" if self.since else ""
        why = f": {self.reason}" if self.reason else ""
        return (
            "automation_paused",
            f"automation paused{who}{when}{why}; the run waits for a person to approve it",
        )


@dataclass(frozen=True, slots=True)
class Limit:
    """``count`` per ``seconds``."""

    count: int
    seconds: int

    @classmethod
    def of(cls, raw: Mapping[str, Any] | None, key: str) -> Limit | None:
        if not raw:
            return None
        return cls(count=int(raw[key]), seconds=int(raw["window_seconds"]))


@dataclass(frozen=True, slots=True)
class CompiledGuards:
    """A rule's guards, from the stored form (``RuleGuards.model_dump(exclude_none=True)``)."""

    max_targets: int | None = None
    targets_per_window: Limit | None = None
    rate_limit: Limit | None = None
    target_cooldown_seconds: int = 0
    throttle: CompiledThrottle | None = None

    @classmethod
    def of(cls, raw: Mapping[str, Any] | None) -> CompiledGuards | None:
        if not raw:
            return None
        guards = cls(
            max_targets=int(raw["max_targets"]) if raw.get("max_targets") else None,
            targets_per_window=Limit.of(raw.get("max_targets_per_window"), "targets"),
            rate_limit=Limit.of(raw.get("rate_limit"), "runs"),
            target_cooldown_seconds=int(raw.get("target_cooldown_seconds") or 0),
            throttle=CompiledThrottle.of(raw["throttle"]) if raw.get("throttle") else None,
        )
        return None if guards == cls() else guards

    @property
    def target_history_seconds(self) -> int:
        """How far back the targets this rule touched matter (0: not at all)."""
        per_window = self.targets_per_window.seconds if self.targets_per_window else 0
        return max(per_window, self.target_cooldown_seconds)

    @property
    def counts_runs(self) -> bool:
        return self.rate_limit is not None or self.target_history_seconds > 0


@dataclass
class Ledger:
    """Runs within each guard's window: stored ones plus those admitted by this batch."""

    now: datetime
    #: Rule id → its runs within its rate-limit window.
    rule_runs: dict[int, int] = field(default_factory=dict)
    #: Action id → its runs within its rate-limit window.
    action_runs: dict[int, int] = field(default_factory=dict)
    #: Rule id → target → when the rule last started (or queued) a run on it.
    touched: dict[int, dict[str, datetime]] = field(default_factory=dict)

    def hold_back(
        self,
        *,
        rule_id: int,
        guards: CompiledGuards | None,
        action_name: str,
        action_id: int,
        action_limit: Limit | None,
        targets: Sequence[str],
    ) -> Verdict | None:
        """Why this run must not be created at all, or None."""
        if guards is not None:
            if guards.target_cooldown_seconds and targets:
                last = self.touched.get(rule_id, {})
                since = self.now - timedelta(seconds=guards.target_cooldown_seconds)
                for name in targets:
                    at = last.get(name)
                    if at is not None and at >= since:
                        ago = int((self.now - at).total_seconds())
                        return (
                            "target_cooldown",
                            f"target cooldown: the rule ran on {name} {ago} s ago; its "
                            f"target cooldown is {guards.target_cooldown_seconds} s",
                        )
            limit = guards.rate_limit
            if limit is not None and self.rule_runs.get(rule_id, 0) >= limit.count:
                return (
                    "rate_limited",
                    f"rate limit of the rule: {self.rule_runs.get(rule_id, 0)} runs within "
                    f"the last {limit.seconds} s; at most {limit.count}",
                )
        if action_limit is not None and self.action_runs.get(action_id, 0) >= action_limit.count:
            return (
                "rate_limited",
                f"rate limit of action {action_name}: {self.action_runs.get(action_id, 0)} "
                f"runs within the last {action_limit.seconds} s; at most {action_limit.count}",
            )
        return None

    def needs_confirmation(
        self, *, rule_id: int, guards: CompiledGuards | None, targets: Sequence[str]
    ) -> Verdict | None:
        """Why this automatic run must wait for a person (blast radius), or None."""
        if guards is None or not targets:
            return None
        if guards.max_targets is not None and len(targets) > guards.max_targets:
            return (
                "blast_radius",
                f"blast radius: the run addresses {len(targets)} targets; at most "
                f"{guards.max_targets} run without confirmation (max_targets)",
            )
        window = guards.targets_per_window
        if window is not None:
            since = self.now - timedelta(seconds=window.seconds)
            recent = {t for t, at in self.touched.get(rule_id, {}).items() if at >= since}
            total = len(recent | set(targets))
            if total > window.count:
                return (
                    "blast_radius",
                    f"blast radius: the run would take the rule to {total} distinct targets "
                    f"within {window.seconds} s; at most {window.count} run without "
                    "confirmation (max_targets_per_window)",
                )
        return None

    def count(
        self, *, rule_id: int, action_id: int, targets: Iterable[str], admitted: bool
    ) -> None:
        """Record a run this batch creates: every run counts against rate limits; only runs
        that go ahead without a person (``admitted``) count as touching their targets."""
        self.rule_runs[rule_id] = self.rule_runs.get(rule_id, 0) + 1
        self.action_runs[action_id] = self.action_runs.get(action_id, 0) + 1
        if admitted:
            last = self.touched.setdefault(rule_id, {})
            for name in targets:
                last[name] = self.now
