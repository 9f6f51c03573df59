"""``sophrosyne automation …``: the kill switch that pauses every automatic run. Audited."""

from __future__ import annotations

import typer

from sophrosyne.cli.common import load_settings, open_db, transaction, utcnow
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.guards import service as guards
from sophrosyne.domains.guards.schemas import AutomationOut

automation_app = typer.Typer(
    no_args_is_help=True,
    help="Pause or resume every automatic run (manual runs are never held).",
)


def _describe(state: AutomationOut) -> str:
    if not state.paused:
        since = f" (resumed {state.since:%Y-%m-%d %H:%M:%S} UTC by {state.by})" if state.by else ""
        return f"automation: running{since}"
    since = f" since {state.since:%Y-%m-%d %H:%M:%S} UTC" if state.since else ""
    return f"automation: PAUSED{since} by {state.by}: {state.reason}"


def _set(paused: bool, reason: str) -> None:
    settings = load_settings()
    now = utcnow()
    with transaction(settings) as session:
        state, changed = guards.set_paused(session, paused=paused, reason=reason, by="cli", now=now)
        audit.record(
            session,
            actor="cli",
            action="automation.paused" if paused else "automation.resumed",
            object_type="automation",
            detail={"reason": reason, "changed": changed},
            now=now,
        )
    typer.echo(_describe(state))


@automation_app.command("pause")
def pause(
    reason: str = typer.Option(..., "--reason", help="Why: shown on every run it holds back."),
) -> None:
    """Pause automation: new automatic runs wait for confirmation; queued ones stay queued."""
    if not reason.strip():
        raise typer.BadParameter("say why automation is paused", param_hint="--reason")
    _set(True, reason.strip())


@automation_app.command("resume")
def resume(reason: str = typer.Option("", "--reason", help="Why, for the audit log.")) -> None:
    """Resume automation: queued automatic runs start again."""
    _set(False, reason.strip())


@automation_app.command("status")
def status() -> None:
    """Show whether automation is paused, since when, by whom and why."""
    settings = load_settings()
    engine, sessions = open_db(settings)
    try:
        with sessions() as session:
            typer.echo(_describe(guards.automation(session)))
    finally:
        engine.dispose()
