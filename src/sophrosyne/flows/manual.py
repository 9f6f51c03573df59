"""Run an action by hand: validate parameters, render, queue, audit."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from sophrosyne.domains.actions import params as action_params
from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.actions.render import render_argv
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.runs import service as runs
from sophrosyne.domains.runs.models import Run


def run_action(
    session: Session, name: str, raw_params: Mapping[str, Any], *, actor: str, now: datetime
) -> Run:
    action = actions.get_by_name(session, name)
    typed = action_params.validate(action.parameters, raw_params)
    argv = render_argv(action.argv, typed)
    ids = runs.enqueue(
        session,
        [
            runs.NewRun(
                action_id=action.id,
                action_name=action.name,
                kind=action.kind,
                params=dict(typed),
                argv=argv,
                timeout_seconds=action.timeout_seconds,
                idempotent=action.idempotent,
                requested_by=actor,
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
        detail={"action": action.name, "params": dict(typed)},
        now=now,
    )
    return runs.get(session, run_id)
