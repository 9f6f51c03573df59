"""Run an action by hand: validate parameters, pick targets, render, queue, audit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from sophrosyne.domains.accounts import service as accounts
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.actions import params as action_params
from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.actions.kinds import needs_targets
from sophrosyne.domains.actions.render import render_action
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.rules.targeting import TargetView
from sophrosyne.domains.runs import service as runs
from sophrosyne.domains.runs.models import Run
from sophrosyne.domains.runs.states import RunState
from sophrosyne.domains.targets import service as targets_service
from sophrosyne.errors import Forbidden, ValidationFailed


def pick_targets(
    session: Session,
    *,
    kind: str,
    section: Mapping[str, Any],
    names: Sequence[str] | None,
    selector: Sequence[str] | None,
) -> list[TargetView]:
    """The enabled targets a manual run asked for; refused when the action needs targets and
    none were chosen, or a named target is unknown or disabled."""
    if names is None and selector is None:
        if needs_targets(kind, section):
            raise ValidationFailed.single(
                ("targets",), f"a {kind} action runs on targets; give targets or a selector"
            )
        return []
    chosen = targets_service.select(session, matchers=selector, names=names)
    if names is not None:
        missing = sorted(set(names) - {t.name for t in chosen})
        if missing:
            raise ValidationFailed.single(("targets",), f"target {missing[0]!r} is disabled")
    if not chosen:
        raise ValidationFailed.single(("selector",), "no enabled target matches the selector")
    return [
        TargetView(
            name=t.name,
            address=t.address,
            port=t.port,
            user=t.user,
            labels={str(k): str(v) for k, v in t.labels.items()},
        )
        for t in chosen
    ]


def manual_needs_confirmation(rule: str, risk: str) -> bool:
    """Whether a run started by hand waits for approval (the action's ``approval.manual``)."""
    return rule == "always" or (rule == "high_risk" and risk == "high")


def check_runner(
    runners: Sequence[str] | None,
    *,
    actor: str,
    role: str | None,
    identities: frozenset[str] = frozenset(),
) -> None:
    """``Forbidden`` unless the action's ``runners`` list (if any) names the caller."""
    if runners is None or role == "admin":
        return
    names = {actor, *identities}
    if role:
        names.add(f"role:{role}")
    if not names & set(runners):
        raise Forbidden(f"{actor} may not run this action (runners: {', '.join(runners)})")


def run_action(
    session: Session,
    name: str,
    raw_params: Mapping[str, Any],
    *,
    actor: str,
    now: datetime,
    targets: Sequence[str] | None = None,
    selector: Sequence[str] | None = None,
    role: str | None = None,
    identities: frozenset[str] = frozenset(),
) -> Run:
    """Queue a run of action ``name`` (or hold it for confirmation, per the action's policy).
    ``actor`` is ``user:NAME`` or ``token:NAME``; ``role`` the user's role, if any."""
    action = actions.get_by_name(session, name)
    check_runner(action.spec.get("runners"), actor=actor, role=role, identities=identities)
    typed = action_params.validate(action.parameters, raw_params)
    chosen = pick_targets(
        session, kind=action.kind, section=action.spec, names=targets, selector=selector
    )
    rendered = render_action(action.kind, action.argv, action.spec, typed, chosen)
    policy = action.spec.get("approval") or {}
    confirm = manual_needs_confirmation(policy.get("manual", "high_risk"), action.risk)
    ids = runs.enqueue(
        session,
        [
            runs.NewRun(
                action_id=action.id,
                action_name=action.name,
                kind=action.kind,
                params=dict(typed),
                argv=rendered.argv,
                timeout_seconds=action.timeout_seconds,
                idempotent=action.idempotent,
                requested_by=actor,
                targets=[t.name for t in chosen],
                request=rendered.request,
                approval=policy,
                state=RunState.AWAITING_CONFIRMATION if confirm else RunState.QUEUED,
                target_concurrency=int(action.spec.get("target_concurrency", 1)),
            )
        ],
        now=now,
    )
    run_id = ids["#0"]
    audit.record(
        session,
        actor=actor,
        action="run.requested",
        object_type="run",
        object_id=run_id,
        detail={"action": action.name, "params": dict(typed), "targets": [t.name for t in chosen]},
        now=now,
    )
    return runs.get(session, run_id)


def run_for(
    session: Session,
    name: str,
    raw_params: Mapping[str, Any],
    principal: Principal,
    *,
    now: datetime,
    targets: Sequence[str] | None = None,
    selector: Sequence[str] | None = None,
) -> Run:
    """``run_action`` on behalf of a caller of the API or the pages."""
    return run_action(
        session,
        name,
        raw_params,
        targets=targets,
        selector=selector,
        actor=principal.actor,
        role=principal.role,
        identities=accounts.identities(session, principal),
        now=now,
    )
