"""Open tasks for stored alerts whose matching rules recommend something to people.

This is the ``recommend`` half of responding to alerts, beside ``flows.respond`` (which
enqueues runs). Its caller has matched the rules already and passes, per stored alert, the
``RecommendTrigger`` of each matching rule in mode ``recommend`` (or with a recommendation
beside its action). Tasks are opened in the caller's transaction, the one that stored the
alert, so an acknowledged alert never loses its task; the caller commits.

Per trigger: the rule's parameter templates are rendered over the alert (``labels``,
``annotations``, ``alert``), validated against the recommendation's typed parameters, and the
title and instructions rendered with them. An alert re-sent within one episode opens nothing
new (idempotency key per rule, alert, episode and status). When a task cannot be opened (no
such recommendation, a template or a parameter that fails) the reason is recorded on the
alert as a decision, as ``respond`` does for runs, once per change of the alert.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from sophrosyne import templating
from sophrosyne.domains.alerts import service as alerts
from sophrosyne.domains.alerts.service import Receipt
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.recommendations import service as recommendations
from sophrosyne.domains.rules.evaluate import AlertView
from sophrosyne.domains.tasks import service as tasks
from sophrosyne.errors import ValidationFailed
from sophrosyne.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class RecommendTrigger:
    """What one matching rule recommends: a recommendation by name, and the templates
    (over ``labels``, ``annotations``, ``alert``) that fill its parameters."""

    rule_id: int
    rule_name: str
    recommendation: str
    parameters: Mapping[str, str] = field(default_factory=dict)


@dataclass
class TaskResponse:
    """What ``recommend`` did: the tasks opened, per receipt position, and the refusals."""

    created: list[int] = field(default_factory=list)
    tasks_of: dict[int, list[int]] = field(default_factory=dict)
    #: (receipt position, rule name, outcome, detail) of every trigger that opened nothing.
    refused: list[tuple[int, str, str, str]] = field(default_factory=list)


def _render(parameters: Mapping[str, str], context: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, source in parameters.items():
        try:
            out[name] = templating.render(source, context)
        except templating.TemplateFailed as exc:
            raise templating.TemplateFailed(f"parameters.{name}: {exc}") from exc
    return out


def recommend(
    session: Session,
    receipts: Sequence[Receipt],
    triggers: Sequence[Sequence[RecommendTrigger]],
    *,
    now: datetime,
) -> TaskResponse:
    """Open the tasks ``triggers`` (one list per receipt, in the same order) ask for."""
    out = TaskResponse()
    wanted: list[tuple[int, Receipt, RecommendTrigger, str]] = []
    seen: set[str] = set()
    for index, (receipt, alert_triggers) in enumerate(zip(receipts, triggers, strict=True)):
        for trigger in alert_triggers:
            key = tasks.task_key(trigger.rule_id, receipt.alert)
            if key not in seen:
                seen.add(key)
                wanted.append((index, receipt, trigger, key))
    if not wanted:
        return out
    done = tasks.existing_keys(session, [w[3] for w in wanted if not w[1].created])
    wanted = [w for w in wanted if w[3] not in done]
    recs = recommendations.by_names(session, {w[2].recommendation for w in wanted})
    decisions: list[dict[str, Any]] = []
    for index, receipt, trigger, _key in wanted:
        alert = receipt.alert
        rec = recs.get(trigger.recommendation)
        outcome, detail = "", ""
        if rec is None:
            outcome = "unknown_recommendation"
            detail = f"no recommendation named {trigger.recommendation!r}"
        else:
            try:
                raw = _render(trigger.parameters, AlertView.of(alert).template_context())
                task = tasks.create_for_alert(
                    session,
                    recommendation=rec,
                    raw_params=raw,
                    alert=alert,
                    rule_id=trigger.rule_id,
                    rule_name=trigger.rule_name,
                    now=now,
                )
            except templating.TemplateFailed as exc:
                outcome, detail = "template_error", str(exc)
            except ValidationFailed as exc:
                outcome, detail = "invalid_parameters", str(exc)
            else:
                if task is None:
                    continue  # another process opened the same task first
                out.created.append(task.id)
                out.tasks_of.setdefault(index, []).append(task.id)
                audit.record(
                    session,
                    actor=f"rule:{trigger.rule_name}",
                    action="task.created",
                    object_type="task",
                    object_id=task.id,
                    detail={
                        "recommendation": rec.name,
                        "alert_id": alert.id,
                        "episode": alert.episode,
                        "title": task.title,
                    },
                    now=now,
                )
                log.info("task.created", task_id=task.id, rule=trigger.rule_name)
                continue
        out.refused.append((index, trigger.rule_name, outcome, detail))
        if receipt.changed:
            decisions.append(
                {
                    "alert_id": alert.id,
                    "episode": alert.episode,
                    "rule_id": trigger.rule_id,
                    "rule_name": trigger.rule_name,
                    "outcome": outcome,
                    "detail": detail,
                    "run_id": None,
                    "at": now,
                }
            )
    alerts.record_decisions(session, decisions)
    return out
