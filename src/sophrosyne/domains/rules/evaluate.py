"""Pure rule evaluation: does an alert match a compiled rule, and with which parameters?"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sophrosyne import templating
from sophrosyne.domains.actions.schemas import ParameterSpec
from sophrosyne.domains.guards.policy import CompiledGuards, Limit, Pause
from sophrosyne.domains.inhibitions.evaluate import CompiledInhibition
from sophrosyne.domains.maintenance.active import CompiledWindow
from sophrosyne.domains.rules.matching import Matcher, first_mismatch
from sophrosyne.domains.rules.targeting import CompiledSelection, TargetView
from sophrosyne.domains.silences.active import CompiledSilence, SilenceIndex


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule with its matchers parsed and its action's definition resolved."""

    id: int
    name: str
    enabled: bool
    matchers: tuple[Matcher, ...]
    on_status: frozenset[str]
    mode: str
    cooldown_seconds: int
    parameters: Mapping[str, str]
    action_id: int
    action_name: str
    action_kind: str
    action_argv: tuple[str, ...]
    action_parameters: tuple[ParameterSpec, ...]
    action_timeout: int
    action_idempotent: bool
    #: The action's kind settings (``actions.spec``): sudo, script, http, ansible…
    action_spec: Mapping[str, Any] = field(default_factory=dict)
    targets: CompiledSelection | None = None
    guards: CompiledGuards | None = None
    #: The action's own rate limit, counted over every run of the action.
    action_rate_limit: Limit | None = None
    #: 1: runs take their targets exclusively; 0: no limit (``ActionSpec.target_concurrency``).
    action_target_concurrency: int = 1
    #: A recommendation whose task matching alerts open, and its parameter templates.
    recommendation: str | None = None
    recommendation_parameters: Mapping[str, str] = field(default_factory=dict)

    @property
    def runs_action(self) -> bool:
        """False for a rule in mode ``recommend``: it opens a task and runs nothing."""
        return self.mode != "recommend"


@dataclass(slots=True)  # not frozen: frozen __init__ is slower, and these are made per alert
class AlertView:
    """What a rule can see of an alert."""

    fingerprint: str
    source: str
    status: str
    severity: str | None
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: datetime | None = None
    generator_url: str | None = None

    @classmethod
    def of(cls, alert: Any) -> AlertView:
        """The view of anything shaped like an alert (an incoming one or a stored one)."""
        return cls(
            fingerprint=alert.fingerprint,
            source=alert.source,
            status=alert.status,
            severity=alert.severity,
            labels=alert.labels,
            annotations=alert.annotations,
            starts_at=alert.starts_at,
            generator_url=alert.generator_url,
        )

    def template_context(self) -> dict[str, Any]:
        # No copies: templates render in an immutable sandbox and cannot change the mappings.
        return {
            "labels": self.labels,
            "annotations": self.annotations,
            "alert": {
                "fingerprint": self.fingerprint,
                "source": self.source,
                "status": self.status,
                "severity": self.severity,
                "starts_at": self.starts_at.isoformat() if self.starts_at else None,
                "generator_url": self.generator_url,
            },
        }


class RuleSet:
    """Compiled rules with an index on ``alertname``, so an alert is only checked against the
    rules that could match it: with hundreds of rules, most pin one alertname with ``=``."""

    def __init__(
        self,
        rules: Sequence[CompiledRule],
        revision: int | None = None,
        targets: Sequence[TargetView] = (),
        paused: Pause | None = None,
        *,
        silences: Sequence[CompiledSilence] = (),
        inhibitions: Sequence[CompiledInhibition] = (),
        maintenance: Sequence[CompiledWindow] = (),
    ) -> None:
        self.rules = tuple(rules)
        #: Silences active or pending when the set was compiled (cached with the rules: every
        #: silence change bumps the catalog revision); whether one is active is checked per
        #: alert against the time. Empty: the ingest path does not look.
        self.silences = tuple(silences)
        self.silence_index = SilenceIndex(self.silences)
        #: Maintenance windows that may still open (cached like silences: every change to a
        #: window or to the target inventory bumps the catalog revision). Empty: not looked at.
        self.maintenance = tuple(maintenance)
        #: Inhibition rules (from files; applying them bumps the catalog revision).
        self.inhibitions = tuple(inhibitions)
        #: Whether any rule opens tasks (else the ingest path skips looking for them).
        self.recommending = any(r.recommendation for r in self.rules)
        #: Set while the kill switch pauses automation (cached with the rules: pausing and
        #: resuming bump the catalog revision).
        self.paused = paused
        #: The enabled targets, for rules that select targets from alerts.
        self.targets = tuple(targets)
        #: The catalog revision these rules were compiled at (None: not from a database).
        self.revision = revision
        self._by_name: dict[str, list[int]] = {}
        self._any: list[int] = []
        for pos, rule in enumerate(self.rules):
            pinned = next(
                (m.value for m in rule.matchers if m.name == "alertname" and m.op == "="), None
            )
            if pinned is None:
                self._any.append(pos)
            else:
                self._by_name.setdefault(pinned, []).append(pos)

    def __len__(self) -> int:
        return len(self.rules)

    def candidates(self, labels: Mapping[str, str]) -> list[CompiledRule]:
        """Rules that might match ``labels``, in the set's order; always a superset of matches."""
        pinned = self._by_name.get(labels.get("alertname", ""), [])
        positions = sorted(pinned + self._any) if pinned and self._any else (pinned or self._any)
        return [self.rules[p] for p in positions]


def why_not(rule: CompiledRule, alert: AlertView) -> str | None:
    """None if ``rule`` applies to ``alert``, else a sentence saying why it does not."""
    if not rule.enabled:
        return "rule is disabled"
    if alert.status not in rule.on_status:
        return f"rule reacts to {sorted(rule.on_status)}, alert is {alert.status}"
    miss = first_mismatch(rule.matchers, alert.labels)
    if miss is not None:
        actual = alert.labels.get(miss.name)
        shown = "absent" if actual is None else repr(actual)
        return f"matcher {miss} failed: label {miss.name} is {shown}"
    return None


def render_parameters(
    rule: CompiledRule, alert: AlertView, context: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """The rule's parameter templates rendered for ``alert``; raises ``TemplateFailed``
    whose message starts with the parameter's name. ``context``: ``alert.template_context()``
    made once by a caller that renders several rules for one alert."""
    if context is None:
        context = alert.template_context()
    out: dict[str, str] = {}
    for name, source in rule.parameters.items():
        try:
            out[name] = templating.render(source, context)
        except templating.TemplateFailed as exc:
            raise templating.TemplateFailed(f"parameters.{name}: {exc}") from exc
    return out
