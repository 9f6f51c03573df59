"""The guards between a matched rule and a run, applied to one batch of planned runs.

In this order, for each planned run (the batch's order, so later runs see earlier ones):

1. per-alert cooldown (``cooldown_seconds``) and plan errors (template, parameters, targets);
2. the rule's throttle (``once_within``, ``once_after``, ``accumulate_within``);
3. hold-backs: the rule's target cooldown, the rule's rate limit, the action's rate limit;
4. confirmation: the rule's blast radius (``max_targets``, ``max_targets_per_window``) and the
   kill switch turn an automatic run into one that waits for a person.

What a guard needs from the database is read once per batch, and only when a matching rule
has that guard: run counts per rule and per action, the targets each rule touched lately, the
throttle groups. On PostgreSQL the rows of rules and actions whose runs are counted are locked
first, so concurrent transactions cannot both admit the last run a limit allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.guards import service as guards
from sophrosyne.domains.guards.models import ThrottleGroup
from sophrosyne.domains.guards.policy import Ledger
from sophrosyne.domains.guards.throttle import group_key, on_event
from sophrosyne.domains.rules import service as rules_service
from sophrosyne.domains.rules.evaluate import CompiledRule, RuleSet
from sophrosyne.domains.runs import recent
from sophrosyne.domains.runs.states import RunState

if TYPE_CHECKING:
    from sophrosyne.flows.respond import Planned


@dataclass
class Batch:
    """The planned runs of one batch and what tells them apart."""

    wanted: Sequence[Planned]
    #: Alerts that changed state in this batch: only they are events for throttles.
    events: set[int] = field(default_factory=set)
    #: Alerts created by this batch: they cannot have runs yet.
    created: set[int] = field(default_factory=set)
    #: A deferred (once_after) firing: the throttle has already spoken.
    deferred: bool = False


def decide(session: Session, batch: Batch, rules: RuleSet, *, now: datetime) -> None:
    """Set each planned run's fate: ``run`` (queued, or awaiting confirmation with the guard's
    ``outcome`` and ``detail``), or no run with the ``outcome`` and ``detail`` saying why."""
    wanted = batch.wanted
    last = recent.last_run_times(
        session,
        (
            (p.plan.rule.id, p.alert.id)
            for p in wanted
            if p.plan.rule.cooldown_seconds and p.alert.id not in batch.created
        ),
    )
    live = []
    for p in wanted:
        rule = p.plan.rule
        previous = last.get((rule.id, p.alert.id))
        if previous is not None and now - previous < timedelta(seconds=rule.cooldown_seconds):
            p.outcome = "cooldown"
            p.detail = (
                f"last run for this alert {int((now - previous).total_seconds())} s ago; "
                f"cooldown is {rule.cooldown_seconds} s"
            )
        elif p.plan.run is None:
            p.outcome, p.detail = p.plan.outcome, p.plan.detail
        else:
            live.append(p)
    if not any(p.plan.rule.guards or p.plan.rule.action_rate_limit for p in live):
        if rules.paused is None:
            for p in live:
                p.run = p.plan.run
        else:
            for p in live:
                _admit(p, rules, None)
        return
    groups = _throttle_groups(session, live, batch, now=now)
    ledger = _ledger(session, live, now=now)
    for p in live:
        rule = p.plan.rule
        throttle = rule.guards.throttle if rule.guards else None
        if throttle is not None and not batch.deferred:
            if p.alert.id not in batch.events:
                p.outcome = "throttled"
                p.detail = "a re-send, not a state change: a throttled rule acts on events only"
                continue
            values = throttle.group_of(p.alert.labels)
            group = groups[(rule.id, group_key(values))]
            state = guards.state_of(group)
            verdict = on_event(
                throttle, state, now=now, alert_id=p.alert.id, group=throttle.describe(values)
            )
            guards.save_state(group, state, now=now)
            if verdict is not None:
                p.outcome, p.detail = verdict
                continue
        assert p.plan.run is not None
        held = ledger.hold_back(
            rule_id=rule.id,
            guards=rule.guards,
            action_name=rule.action_name,
            action_id=rule.action_id,
            action_limit=rule.action_rate_limit,
            targets=p.plan.run.targets,
        )
        if held is not None:
            p.outcome, p.detail = held
            continue
        _admit(p, rules, ledger)


def _admit(p: Planned, rules: RuleSet, ledger: Ledger | None) -> None:
    """The run goes ahead: queued, or waiting for a person when its blast radius is too
    large or automation is paused (rules in mode confirm wait anyway)."""
    run = p.plan.run
    assert run is not None
    rule = p.plan.rule
    if run.state == RunState.QUEUED:
        verdict = None
        if ledger is not None:
            verdict = ledger.needs_confirmation(
                rule_id=rule.id, guards=rule.guards, targets=run.targets
            )
        if verdict is None and rules.paused is not None:
            verdict = rules.paused.verdict()
        if verdict is not None:
            p.outcome, p.detail = verdict
            # A copy: the plan may be stored again if its group commit is retried.
            run = replace(
                run,
                state=RunState.AWAITING_CONFIRMATION,
                automatic=False,
                reason=f"awaiting confirmation: {p.detail}",
            )
    if ledger is not None:
        ledger.count(
            rule_id=rule.id,
            action_id=rule.action_id,
            targets=run.targets,
            admitted=run.state == RunState.QUEUED,
        )
    p.run = run


def _throttle_groups(
    session: Session, live: Sequence[Planned], batch: Batch, *, now: datetime
) -> dict[tuple[int, str], ThrottleGroup]:
    """The throttle groups of this batch's events, locked (one insert and one select)."""
    if batch.deferred:
        return {}
    refs: dict[tuple[int, str], guards.GroupRef] = {}
    for p in live:
        rule = p.plan.rule
        throttle = rule.guards.throttle if rule.guards else None
        if throttle is None or p.alert.id not in batch.events:
            continue
        values = throttle.group_of(p.alert.labels)
        key = group_key(values)
        refs.setdefault(
            (rule.id, key),
            guards.GroupRef(
                rule.id, key, dict(zip(throttle.group_by, values, strict=True)), throttle.kind
            ),
        )
    return guards.lock_groups(session, list(refs.values()), now=now)


def _ledger(session: Session, live: Sequence[Planned], *, now: datetime) -> Ledger:
    """Counts of runs within each guard's window, read with one query per kind of guard."""
    rate: dict[int, datetime] = {}
    history: dict[int, datetime] = {}
    action_rate: dict[int, datetime] = {}
    for p in live:
        rule: CompiledRule = p.plan.rule
        g = rule.guards
        if g is not None and g.rate_limit is not None:
            rate[rule.id] = now - timedelta(seconds=g.rate_limit.seconds)
        if g is not None and g.target_history_seconds and p.plan.run and p.plan.run.targets:
            history[rule.id] = now - timedelta(seconds=g.target_history_seconds)
        if rule.action_rate_limit is not None:
            action_rate[rule.action_id] = now - timedelta(seconds=rule.action_rate_limit.seconds)
    rules_service.lock(session, set(rate) | set(history))
    actions.lock(session, action_rate)
    return Ledger(
        now=now,
        rule_runs=recent.rule_runs(session, rate),
        action_runs=recent.action_runs(session, action_rate),
        touched=recent.touched_targets(session, history),
    )
