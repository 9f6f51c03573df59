"""Dry run of an alert payload: which rules match, what exactly would run, and why not.

This module owns ``test_alerts`` (the engine of ``sophrosyne test-rule``): it detects the
payload type, validates it with the same schemas as the ingest endpoints, normalises it with
``domains.alerts.sources`` and asks every rule about every alert, rendering matches through
``flows.respond.plan_run`` so the argv shown is the argv a run would get. Nothing is written:
no alert, no run, no audit entry. It also compiles rules straight from a ``ConfigBundle``
(``compile_bundle``) so a config directory can be tried without a database.

Tests should call ``dryrun.test_alerts`` through the module: imported by name into a test
file, pytest would collect it as a test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import pydantic

from sophrosyne.domains.actions.schemas import ActionSpec
from sophrosyne.domains.alerts.schemas import AlertmanagerPayload, GenericAlert, IncomingAlert
from sophrosyne.domains.alerts.sources import from_alertmanager, from_generic
from sophrosyne.domains.guards.policy import CompiledGuards, Ledger, Limit
from sophrosyne.domains.rules.evaluate import AlertView, CompiledRule, why_not
from sophrosyne.domains.rules.matching import parse_matchers
from sophrosyne.domains.rules.schemas import RuleSpec
from sophrosyne.domains.rules.targeting import CompiledSelection, TargetView
from sophrosyne.domains.runs.states import RunState
from sophrosyne.errors import FieldError, ValidationFailed
from sophrosyne.flows.configcode import ConfigBundle
from sophrosyne.flows.respond import plan_run

_GENERIC_BATCH = pydantic.TypeAdapter(list[GenericAlert])


@dataclass(frozen=True)
class RuleResult:
    """One rule against one alert. ``outcome`` is ``match``, ``no_match`` or ``error``."""

    rule: str
    outcome: str
    action: str
    mode: str
    reason: str = ""
    #: For a match: ``queued`` (mode auto) or ``awaiting_confirmation`` (mode confirm, or a
    #: blast radius beyond the rule's ``max_targets``; ``reason`` then says so).
    state: str = ""
    #: For an error: ``template_error`` or ``invalid_parameters``, as a real run would record.
    error: str = ""
    params: dict[str, Any] | None = None
    argv: list[str] | None = None
    targets: list[str] | None = None
    request: dict[str, Any] | None = None


@dataclass
class AlertResult:
    fingerprint: str
    source: str
    status: str
    severity: str | None
    labels: dict[str, str]
    annotations: dict[str, str]
    rules: list[RuleResult] = field(default_factory=list)

    @property
    def matched(self) -> list[RuleResult]:
        return [r for r in self.rules if r.outcome == "match"]


@dataclass
class DryRunReport:
    """The verdict of every rule on every alert of one payload."""

    payload_type: str
    alerts: list[AlertResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _field_errors(
    exc: pydantic.ValidationError, prefix: tuple[str | int, ...] = ()
) -> list[FieldError]:
    return [
        FieldError((*prefix, *err["loc"]), str(err["msg"])) for err in exc.errors(include_url=False)
    ]


def parse_payload(payload: Any) -> tuple[str, list[IncomingAlert]]:
    """(payload type, normalised alerts); ``ValidationFailed`` names every wrong field.

    An object with ``version`` and ``alerts`` is Alertmanager's webhook; any other object is
    one generic alert, and a list is a batch of generic alerts.
    """
    try:
        if isinstance(payload, dict) and "version" in payload and "alerts" in payload:
            return "alertmanager", from_alertmanager(AlertmanagerPayload.model_validate(payload))
        if isinstance(payload, dict):
            return "generic", from_generic([GenericAlert.model_validate(payload)])
        if isinstance(payload, list):
            if not payload:
                raise ValidationFailed.single((), "the list is empty; give at least one alert")
            return "generic", from_generic(_GENERIC_BATCH.validate_python(payload))
    except pydantic.ValidationError as exc:
        raise ValidationFailed(_field_errors(exc)) from None
    raise ValidationFailed.single(
        (), "expected an Alertmanager webhook payload, an alert object or a list of alerts"
    )


def judge(rule: CompiledRule, view: AlertView, inventory: Sequence[TargetView] = ()) -> RuleResult:
    """What ``rule`` would do for one alert, without the guards that need history (cooldowns,
    throttles, rate limits, targets per window so far) or the kill switch; a run on more
    targets than the rule's blast radius allows says it would wait for confirmation."""
    name, action, mode = rule.name, rule.action_name, rule.mode
    reason = why_not(rule, view)
    if reason is not None:
        return RuleResult(name, "no_match", action, mode, reason=reason)
    if not rule.runs_action:
        return RuleResult(
            name, "match", action, mode, reason=f"opens a task: {rule.recommendation}"
        )
    run, outcome, detail = plan_run(rule, view, None, inventory)
    if run is None:
        return RuleResult(name, "error", action, mode, error=outcome, reason=detail)
    state, reason = run.state.value, ""
    if run.state == RunState.QUEUED:
        verdict = Ledger(now=datetime.now(UTC)).needs_confirmation(
            rule_id=rule.id, guards=rule.guards, targets=run.targets
        )
        if verdict is not None:
            state, reason = RunState.AWAITING_CONFIRMATION.value, verdict[1]
    return RuleResult(
        name,
        "match",
        action,
        mode,
        reason=reason,
        state=state,
        params=dict(run.params),
        argv=list(run.argv),
        targets=list(run.targets),
        request=dict(run.request),
    )


def test_alerts(
    payload: Any, rules: Sequence[CompiledRule], inventory: Sequence[TargetView] = ()
) -> DryRunReport:
    """Judge every alert of ``payload`` (dict or list, as parsed JSON) against ``rules``,
    selecting targets from ``inventory``."""
    payload_type, incoming = parse_payload(payload)
    report = DryRunReport(payload_type=payload_type)
    for alert in incoming:
        view = AlertView.of(alert)
        result = AlertResult(
            fingerprint=alert.fingerprint,
            source=alert.source,
            status=alert.status,
            severity=alert.severity,
            labels=dict(alert.labels),
            annotations=dict(alert.annotations),
        )
        result.rules = [judge(rule, view, inventory) for rule in rules]
        report.alerts.append(result)
    return report


def compile_bundle(
    bundle: ConfigBundle, *, extra_actions: Mapping[str, ActionSpec] | None = None
) -> list[CompiledRule]:
    """The bundle's rules as the ingest path would see them, with synthetic ids (no database).

    A rule whose action is neither in the bundle nor in ``extra_actions`` is left out; validation
    reports it. Ordered by name, like ``domains.rules.service.compile_all``.
    """
    catalog: dict[str, ActionSpec] = {}
    for item in bundle.actions:
        catalog.setdefault(item.spec.name, item.spec)
    for name, extra in (extra_actions or {}).items():
        catalog.setdefault(name, extra)
    action_ids = {name: i for i, name in enumerate(sorted(catalog), start=1)}
    seen: set[str] = set()
    out: list[CompiledRule] = []
    for rule in sorted(bundle.rules, key=lambda r: r.spec.name):
        spec = rule.spec
        action = catalog.get(spec.action) if spec.action else None
        if spec.name in seen or (action is None and spec.mode != "recommend"):
            continue
        seen.add(spec.name)
        if action is None:
            out.append(_recommend_only(len(out) + 1, spec))
            continue
        out.append(
            CompiledRule(
                id=len(out) + 1,
                name=spec.name,
                enabled=spec.enabled,
                matchers=parse_matchers(spec.matchers),
                on_status=frozenset(spec.on_status),
                mode=spec.mode,
                cooldown_seconds=spec.cooldown_seconds,
                parameters=dict(spec.parameters),
                action_id=action_ids[action.name],
                action_name=action.name,
                action_kind=action.kind,
                action_argv=tuple(action.argv),
                # Stored actions keep parameters as dicts without unset fields; so do we.
                action_parameters=tuple(action.parameters),
                action_timeout=action.timeout_seconds,
                action_idempotent=action.idempotent,
                action_spec=action.section(),
                targets=(
                    CompiledSelection.of(spec.targets.model_dump(exclude_none=True))
                    if spec.targets
                    else None
                ),
                guards=CompiledGuards.of(
                    spec.guards.model_dump(exclude_none=True) if spec.guards else None
                ),
                action_rate_limit=Limit.of(
                    action.rate_limit.model_dump() if action.rate_limit else None, "runs"
                ),
                action_target_concurrency=action.target_concurrency,
            )
        )
    return out


def _recommend_only(rule_id: int, spec: RuleSpec) -> CompiledRule:
    """A rule in mode ``recommend`` as the ingest path compiles it: no action."""
    return CompiledRule(
        id=rule_id,
        name=spec.name,
        enabled=spec.enabled,
        matchers=parse_matchers(spec.matchers),
        on_status=frozenset(spec.on_status),
        mode=spec.mode,
        cooldown_seconds=spec.cooldown_seconds,
        parameters=dict(spec.parameters),
        action_id=0,
        action_name="",
        action_kind="",
        action_argv=(),
        action_parameters=(),
        action_timeout=0,
        action_idempotent=False,
        recommendation=spec.recommendation,
        recommendation_parameters=dict(spec.recommendation_parameters or spec.parameters),
    )


def bundle_inventory(bundle: ConfigBundle) -> list[TargetView]:
    """The enabled targets defined in ``bundle``, as selection sees them."""
    return [
        TargetView(
            name=t.spec.name,
            address=t.spec.address,
            port=t.spec.port,
            user=t.spec.user,
            labels={str(k): str(v) for k, v in t.spec.labels.items()},
        )
        for t in sorted(bundle.targets, key=lambda t: t.spec.name)
        if t.spec.enabled
    ]
