"""Rules: create, update, delete, and the compiled rule set used on the ingest path."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.actions.kinds import target_problems
from sophrosyne.domains.actions.models import Action
from sophrosyne.domains.actions.schemas import ParameterSpec
from sophrosyne.domains.guards import service as guards
from sophrosyne.domains.guards.policy import CompiledGuards, Limit
from sophrosyne.domains.inhibitions import service as inhibitions
from sophrosyne.domains.maintenance import service as maintenance
from sophrosyne.domains.recommendations import service as recommendations
from sophrosyne.domains.rules.checks import parameter_problems
from sophrosyne.domains.rules.evaluate import CompiledRule, RuleSet
from sophrosyne.domains.rules.matching import parse_matchers
from sophrosyne.domains.rules.models import Rule
from sophrosyne.domains.rules.schemas import RuleOut, RuleSpec
from sophrosyne.domains.rules.targeting import CompiledSelection, TargetView
from sophrosyne.domains.silences import service as silences
from sophrosyne.domains.targets.models import Target
from sophrosyne.errors import Conflict, NotFound, ReadOnly, ValidationFailed


def get_by_name(session: Session, name: str) -> Rule:
    rule = session.scalar(select(Rule).where(Rule.name == name))
    if rule is None:
        raise NotFound("rule", name)
    return rule


def list_all(session: Session) -> list[Rule]:
    return list(session.scalars(select(Rule).order_by(Rule.name)))


def to_out(session: Session, rule: Rule) -> RuleOut:
    action = session.get(Action, rule.action_id) if rule.action_id is not None else None
    data = {c: getattr(rule, c) for c in RuleOut.model_fields if c != "action"}
    data["recommendation_parameters"] = rule.recommendation_parameters or {}
    return RuleOut(**data, action=action.name if action else None)


def _action_of(session: Session, spec: RuleSpec) -> Action | None:
    """The rule's action, checked against the rule's parameters and target selection."""
    if spec.action is None:
        return None
    try:
        action = actions.get_by_name(session, spec.action)
    except NotFound:
        raise ValidationFailed.single(("action",), f"no action named {spec.action!r}") from None
    problems = parameter_problems(action.name, spec.parameters, action.parameters)
    selection = spec.targets.model_dump(exclude_none=True) if spec.targets else None
    problems += target_problems(action.name, action.kind, action.spec, selection)
    if problems:
        raise ValidationFailed(problems)
    return action


def _check_recommendation(session: Session, spec: RuleSpec) -> None:
    if spec.recommendation is None:
        return
    if recommendations.find_by_name(session, spec.recommendation) is None:
        raise ValidationFailed.single(
            ("recommendation",), f"no recommendation named {spec.recommendation!r}"
        )


def _assign(session: Session, rule: Rule, spec: RuleSpec, now: datetime) -> None:
    action = _action_of(session, spec)
    _check_recommendation(session, spec)
    selection = spec.targets.model_dump(exclude_none=True) if spec.targets else None
    rule.description = spec.description
    rule.enabled = spec.enabled
    rule.matchers = list(spec.matchers)
    rule.on_status = list(spec.on_status)
    rule.action_id = action.id if action is not None else None
    rule.parameters = dict(spec.parameters)
    rule.recommendation = spec.recommendation
    rule.recommendation_parameters = dict(spec.recommendation_parameters) or None
    rule.mode = spec.mode
    rule.cooldown_seconds = spec.cooldown_seconds
    rule.targets = selection
    rule.guards = spec.guards.model_dump(exclude_none=True) if spec.guards else None
    rule.updated_at = now


def create(
    session: Session,
    spec: RuleSpec,
    *,
    now: datetime,
    managed_by: str = "api",
    source_file: str | None = None,
) -> Rule:
    if session.scalar(select(Rule.id).where(Rule.name == spec.name)) is not None:
        raise Conflict(f"a rule named {spec.name!r} already exists")
    rule = Rule(name=spec.name, managed_by=managed_by, source_file=source_file, created_at=now)
    _assign(session, rule, spec, now)
    session.add(rule)
    session.flush()
    actions.bump_revision(session)
    return rule


def update(
    session: Session,
    name: str,
    spec: RuleSpec,
    *,
    now: datetime,
    managed_by: str = "api",
    source_file: str | None = None,
) -> Rule:
    rule = get_by_name(session, name)
    ReadOnly.unless_owner("rule", name, rule.managed_by, managed_by)
    if spec.name != name:
        raise Conflict("a rule cannot be renamed; create a new one")
    rule.source_file = source_file
    _assign(session, rule, spec, now)
    session.flush()
    actions.bump_revision(session)
    return rule


def delete(session: Session, name: str, *, managed_by: str = "api") -> Rule:
    rule = get_by_name(session, name)
    ReadOnly.unless_owner("rule", name, rule.managed_by, managed_by)
    session.delete(rule)
    session.flush()
    actions.bump_revision(session)
    return rule


def lock(session: Session, rule_ids: Iterable[int]) -> None:
    """Lock these rules' rows until commit, in id order: on PostgreSQL, transactions whose
    guards count a rule's runs then take turns, so two cannot both admit the last run a limit
    allows. (SQLite runs one writer at a time anyway.)"""
    ids = sorted(set(rule_ids))
    if ids:
        session.execute(select(Rule.id).where(Rule.id.in_(ids)).order_by(Rule.id).with_for_update())


def compile_all(session: Session) -> list[CompiledRule]:
    """Every rule with its action (if it has one), matchers parsed; ordered by name."""
    out: list[CompiledRule] = []
    for rule, action in session.execute(
        select(Rule, Action).outerjoin(Action, Rule.action_id == Action.id).order_by(Rule.name)
    ):
        out.append(compile_rule(rule, action))
    return out


def compile_rule(rule: Rule, action: Action | None) -> CompiledRule:
    common: dict[str, Any] = {
        "id": rule.id,
        "name": rule.name,
        "enabled": rule.enabled,
        "matchers": parse_matchers(rule.matchers),
        "on_status": frozenset(rule.on_status),
        "mode": rule.mode,
        "cooldown_seconds": rule.cooldown_seconds,
        "parameters": dict(rule.parameters),
        "targets": CompiledSelection.of(rule.targets) if rule.targets else None,
        "guards": CompiledGuards.of(rule.guards),
        "recommendation": rule.recommendation,
        "recommendation_parameters": dict(rule.recommendation_parameters or rule.parameters),
    }
    if action is None:  # mode recommend: opens a task, runs nothing
        return CompiledRule(
            **common,
            action_id=0,
            action_name="",
            action_kind="",
            action_argv=(),
            action_parameters=(),
            action_timeout=0,
            action_idempotent=False,
        )
    return CompiledRule(
        **common,
        action_id=action.id,
        action_name=action.name,
        action_kind=action.kind,
        action_argv=tuple(action.argv),
        # Parsed once here, not for every alert the rule answers.
        action_parameters=tuple(ParameterSpec.model_validate(p) for p in action.parameters),
        action_timeout=action.timeout_seconds,
        action_idempotent=action.idempotent,
        action_spec=dict(action.spec),
        action_rate_limit=Limit.of(action.spec.get("rate_limit"), "runs"),
        action_target_concurrency=int(action.spec.get("target_concurrency", 1)),
    )


def inventory(session: Session) -> list[TargetView]:
    """Every enabled target, as selection sees it (cached with the rules: a change to the
    inventory bumps the catalog revision too)."""
    rows = session.scalars(select(Target).where(Target.enabled.is_(True)).order_by(Target.name))
    return [
        TargetView(
            name=t.name,
            address=t.address,
            port=t.port,
            user=t.user,
            labels={str(k): str(v) for k, v in t.labels.items()},
        )
        for t in rows
    ]


class RuleCache:
    """The compiled rule set, rebuilt only when rules or actions changed.

    One one-row query per use (the catalog revision) tells whether anything changed, so every
    process sees edits made by any other process without reloading every rule for each batch.
    ``cached()`` gives the last set without asking, for work done before a transaction; such
    work must check ``RuleSet.revision`` against the database inside its transaction.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: int | None = None
        self._rules = RuleSet([])

    def cached(self) -> RuleSet | None:
        with self._lock:
            return self._rules if self._version is not None else None

    def get(self, session: Session, *, now: datetime | None = None) -> RuleSet:
        """The current set; ``now`` (default: the clock) picks the silences not yet over."""
        version = actions.catalog_revision(session)
        with self._lock:
            if version == self._version:
                return self._rules
        now = now or datetime.now(UTC)
        targets = inventory(session)
        rules = RuleSet(
            compile_all(session),
            revision=version,
            targets=targets,
            paused=guards.pause_of(session),
            silences=silences.compile_unexpired(session, now=now),
            inhibitions=inhibitions.compile_all(session),
            maintenance=maintenance.compile_all(session, targets, now=now),
        )
        with self._lock:
            self._version, self._rules = version, rules
        return rules
