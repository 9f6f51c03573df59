"""Deferred runs of ``once_after`` throttles: when a group's window has ended, the rule acts
once, on the group's latest alert, through the same guards as any automatic run.

The windows are rows in the database (``throttle_groups.due_at``), so a deferred run
survives restarts; every worker's housekeeping calls ``fire_due`` and the rows are claimed
with ``SKIP LOCKED``, so each window fires exactly once whichever worker gets there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from sophrosyne.domains.alerts import service as alerts
from sophrosyne.domains.alerts.service import Receipt, StoredAlert
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.guards import service as guards
from sophrosyne.domains.guards.throttle import fire
from sophrosyne.domains.rules.evaluate import AlertView, why_not
from sophrosyne.domains.rules.service import RuleCache
from sophrosyne.flows.respond import Plan, plan_run, respond


def fire_due(session: Session, *, rules: RuleCache, now: datetime, actor: str) -> list[int]:
    """Act on every ``once_after`` window that has ended; the ids of the runs queued."""
    due = guards.due_groups(session, now=now)
    if not due:
        return []
    ruleset = rules.get(session, now=now)
    by_id = {r.id: r for r in ruleset.rules}
    receipts: list[Receipt] = []
    plans: list[list[Plan]] = []
    decisions: list[dict[str, Any]] = []
    for group in due:
        state = guards.state_of(group)
        alert_id, events = fire(state)
        guards.save_state(group, state, now=now)
        rule = by_id.get(group.rule_id)
        alert = alerts.find(session, alert_id) if alert_id is not None else None
        if rule is None or alert is None:
            continue  # the rule or the alert was deleted meanwhile
        stored = StoredAlert.of(alert)
        view = AlertView.of(stored)
        why = why_not(rule, view)
        if why is not None:
            decisions.append(
                {
                    "alert_id": stored.id,
                    "episode": stored.episode,
                    "rule_id": rule.id,
                    "rule_name": rule.name,
                    "outcome": "throttled",
                    "detail": "the once_after window ended, but the rule no longer applies "
                    f"to the group's latest alert: {why}",
                    "run_id": None,
                    "at": now,
                }
            )
            continue
        run, outcome, detail = plan_run(rule, view, None, ruleset.targets)
        if run is not None:
            seconds = rule.guards.throttle.seconds if rule.guards and rule.guards.throttle else 0
            run.reason = (
                f"once_after {seconds} s window ended: acting once on the latest of "
                f"{events} alert events of the group"
            )
        receipts.append(Receipt(stored, created=False, changed=True))
        plans.append([Plan(rule, run, outcome, detail)])
    alerts.record_decisions(session, decisions)
    response = respond(session, receipts, ruleset, now=now, plans=plans, deferred=True)
    made = [run_id for ids in response.runs_of.values() for run_id in ids]
    if made:
        audit.record(
            session,
            actor=actor,
            action="runs.deferred_enqueued",
            object_type="run",
            detail={
                "run_ids": made,
                "queued": response.queued,
                "awaiting_confirmation": response.awaiting_confirmation,
            },
            now=now,
        )
    return response.queued
