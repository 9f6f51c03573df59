"""Respond to stored alerts: match rules, apply idempotency and guards, enqueue runs.

Runs are created in the caller's transaction, the same one that stored the alert, so a run
exists only if its alert was stored, and an acknowledged alert never loses its run. The guards
(cooldowns, throttles, rate limits, blast radius, the kill switch) are ``flows.guarding``.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from sophrosyne import templating
from sophrosyne.domains.actions import params as action_params
from sophrosyne.domains.actions.render import render_action
from sophrosyne.domains.alerts import service as alerts
from sophrosyne.domains.alerts.service import Receipt, StoredAlert
from sophrosyne.domains.rules.evaluate import (
    AlertView,
    CompiledRule,
    RuleSet,
    render_parameters,
    why_not,
)
from sophrosyne.domains.rules.targeting import NoTargets, TargetView, select_targets
from sophrosyne.domains.runs import service as runs
from sophrosyne.domains.runs.states import RunState
from sophrosyne.errors import ValidationFailed
from sophrosyne.flows import guarding, noise
from sophrosyne.flows.recommend import RecommendTrigger, recommend


def idempotency_key(rule_id: int, alert: StoredAlert) -> str:
    """One run per rule, alert, episode and status, however often the alert is re-sent."""
    return f"rule:{rule_id}:alert:{alert.id}:episode:{alert.episode}:{alert.status}"


@dataclass(slots=True)  # not frozen: frozen __init__ is slower, and these are made per alert
class Plan:
    """What one matching rule would do for one alert, worked out from the payload alone:
    a rendered run, or why there can be none (template or parameter errors)."""

    rule: CompiledRule
    run: runs.NewRun | None
    outcome: str
    detail: str


@dataclass
class Planned:
    """A plan tied to a stored alert episode, and its fate."""

    plan: Plan
    alert: StoredAlert
    key: str
    #: Position of the receipt this came from, so callers can tell whose run it is.
    index: int = 0
    #: The run to create, if any; it may carry an outcome too (why it awaits confirmation).
    run: runs.NewRun | None = None
    outcome: str = ""
    detail: str = ""


@dataclass
class Response:
    queued: list[int] = field(default_factory=list)
    #: Receipt position → the runs created for it (queued or awaiting confirmation).
    runs_of: dict[int, list[int]] = field(default_factory=dict)
    awaiting_confirmation: list[int] = field(default_factory=list)
    #: Receipt position → the tasks opened for it by rules that recommend something.
    tasks_of: dict[int, list[int]] = field(default_factory=dict)


def plan_run(
    rule: CompiledRule,
    view: AlertView,
    context: Mapping[str, Any] | None = None,
    inventory: Sequence[TargetView] = (),
) -> tuple[runs.NewRun | None, str, str]:
    """Render one rule's run for one alert: (run, "", "") or (None, outcome, why)."""
    try:
        raw = render_parameters(rule, view, context)
        typed = action_params.validate(rule.action_parameters, raw)
        targets = select_targets(rule.targets, view.labels, inventory) if rule.targets else []
        rendered = render_action(
            rule.action_kind, rule.action_argv, rule.action_spec, typed, targets
        )
    except templating.TemplateFailed as exc:
        return None, "template_error", str(exc)
    except ValidationFailed as exc:
        return None, "invalid_parameters", str(exc)
    except NoTargets as exc:
        return None, "no_targets", str(exc)
    state = RunState.QUEUED if rule.mode == "auto" else RunState.AWAITING_CONFIRMATION
    run = runs.NewRun(
        action_id=rule.action_id,
        action_name=rule.action_name,
        kind=rule.action_kind,
        params=dict(typed),
        argv=rendered.argv,
        timeout_seconds=rule.action_timeout,
        idempotent=rule.action_idempotent,
        requested_by=f"rule:{rule.name}",
        state=state,
        rule_id=rule.id,
        targets=[t.name for t in targets],
        request=rendered.request,
        approval=rule.action_spec.get("approval"),
        automatic=state == RunState.QUEUED,
        target_concurrency=rule.action_target_concurrency,
        guarded=rule.guards is not None and rule.guards.counts_runs,
    )
    return run, "", ""


def plan_alert(view: AlertView, rules: RuleSet) -> list[Plan]:
    """Every rule that matches ``view``, with its rendered run. Needs no database, so the
    ingest path does it before taking a write transaction."""
    plans: list[Plan] = []
    context: dict[str, Any] | None = None
    for rule in rules.candidates(view.labels):
        if rule.runs_action and why_not(rule, view) is None:
            context = context or view.template_context()
            run, outcome, detail = plan_run(rule, view, context, rules.targets)
            plans.append(Plan(rule, run, outcome, detail))
    return plans


def respond(
    session: Session,
    receipts: Sequence[Receipt],
    rules: RuleSet,
    *,
    now: datetime,
    plans: Sequence[Sequence[Plan]] | None = None,
    deferred: bool = False,
) -> Response:
    """Enqueue what matching rules want for these alerts, and record why where they don't.

    ``plans``, one list per receipt, may come from ``plan_alert`` on the alerts as received
    (matching and rendering depend only on the payload); otherwise they are made here.
    ``deferred``: these are ``once_after`` windows ending, so throttles are not asked again.
    """
    if plans is None:
        plans = [plan_alert(AlertView.of(r.alert), rules) for r in receipts]
    held: set[int] = set()
    if rules.silences:
        silenced = noise.silenced(receipts, rules, now=now)
        noise.record_silenced(session, receipts, silenced, now=now)
        noise.expire_on_resolve(session, receipts, rules, now=now)
        held.update(silenced)
    if rules.maintenance:
        windowed = noise.in_window(receipts, rules, now=now, skip=held)
        noise.record_in_window(session, receipts, windowed, now=now)
        held.update(windowed)
    if rules.inhibitions:
        inhibited = noise.inhibited(session, receipts, rules, skip=held)
        noise.record_inhibited(session, receipts, inhibited, now=now)
        held.update(inhibited)
    if not deferred:
        flaps = noise.flapping(session, receipts, now=now, skip=held)
        noise.record_flapping(session, receipts, flaps, now=now)
        held.update(flaps)
    if held:
        # Silenced, in maintenance, inhibited or flapping: stored and grouped, but no runs and
        # no tasks; the alert records why (above).
        plans = [[] if i in held else p for i, p in enumerate(plans)]
    tasks_of = {} if deferred else _recommend(session, receipts, rules, now=now, skip=held)
    out = _enqueue(session, receipts, rules, plans, now=now, deferred=deferred)
    out.tasks_of = tasks_of
    return out


def _recommend(
    session: Session,
    receipts: Sequence[Receipt],
    rules: RuleSet,
    *,
    now: datetime,
    skip: Container[int] = (),
) -> dict[int, list[int]]:
    """Open the tasks that matching rules with a recommendation ask for (see
    ``flows.recommend``); receipt position → task ids."""
    if not rules.recommending:
        return {}
    triggers: list[list[RecommendTrigger]] = []
    for index, receipt in enumerate(receipts):
        if index in skip:
            triggers.append([])
            continue
        view = AlertView.of(receipt.alert)
        triggers.append(
            [
                RecommendTrigger(
                    rule.id, rule.name, rule.recommendation, rule.recommendation_parameters
                )
                for rule in rules.candidates(view.labels)
                if rule.recommendation is not None and why_not(rule, view) is None
            ]
        )
    if not any(triggers):
        return {}
    return recommend(session, receipts, triggers, now=now).tasks_of


def _enqueue(
    session: Session,
    receipts: Sequence[Receipt],
    rules: RuleSet,
    plans: Sequence[Sequence[Plan]],
    *,
    now: datetime,
    deferred: bool,
) -> Response:
    wanted: list[Planned] = []
    seen: set[str] = set()
    for index, (receipt, alert_plans) in enumerate(zip(receipts, plans, strict=True)):
        for plan in alert_plans:
            key = idempotency_key(plan.rule.id, receipt.alert)
            if key not in seen:
                seen.add(key)
                wanted.append(Planned(plan=plan, alert=receipt.alert, key=key, index=index))
    if not wanted:
        return Response()
    # Only alerts that existed before this batch can have runs already.
    created = {r.alert.id for r in receipts if r.created}
    done = runs.existing_keys(session, (p.key for p in wanted if p.alert.id not in created))
    wanted = [p for p in wanted if p.key not in done]
    changed = {r.alert.id for r in receipts if r.changed}
    guarding.decide(
        session,
        guarding.Batch(wanted, events=changed, created=created, deferred=deferred),
        rules,
        now=now,
    )
    to_run = [p for p in wanted if p.run is not None]
    ids = runs.enqueue(
        session,
        [p.run for p in to_run if p.run is not None],
        now=now,
        bindings=[runs.Binding(p.alert.id, p.alert.episode, p.key) for p in to_run],
    )
    out = Response()
    # Decisions record why a matching rule did NOT run, or why its run waits for a person; a
    # run records by itself that it did (its rule, alert and episode), so writing a decision
    # for a plain run too would only repeat it.
    decisions: list[dict[str, Any]] = []
    for p in wanted:
        run_id = None
        if p.run is not None:
            run_id = ids.get(p.key)
            if run_id is None:
                continue  # another process enqueued the same key first: nothing to add
            out.runs_of.setdefault(p.index, []).append(run_id)
            if p.run.state == RunState.QUEUED:
                out.queued.append(run_id)
            else:
                out.awaiting_confirmation.append(run_id)
            if not p.outcome:
                continue
        elif p.alert.id not in changed:
            # Held back on a re-send is not repeated: it was recorded when the alert changed.
            continue
        decisions.append(
            {
                "alert_id": p.alert.id,
                "episode": p.alert.episode,
                "rule_id": p.plan.rule.id,
                "rule_name": p.plan.rule.name,
                "outcome": p.outcome,
                "detail": p.detail,
                "run_id": run_id,
                "at": now,
            }
        )
    alerts.record_decisions(session, decisions)
    return out
