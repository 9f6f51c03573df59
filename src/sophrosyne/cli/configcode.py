"""Config-as-code commands: ``validate``, ``apply`` and ``test-rule``, and the apply at start.

This module owns the command-line edge of ``flows.configcode`` / ``flows.apply`` /
``flows.dryrun``: it reads files and settings, owns the transaction (commit or roll back),
prints results and maps failures to exit codes (1: invalid configuration or refused apply,
2: invalid alert payload or unreadable input).
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.cli.common import fail, load_settings, open_db, utcnow
from sophrosyne.config import Settings
from sophrosyne.crypto import CryptoError, Keyring
from sophrosyne.db import migrate
from sophrosyne.domains.rules import service as rules_service
from sophrosyne.domains.targets.keys import optional_keyring
from sophrosyne.errors import Conflict, ValidationFailed
from sophrosyne.flows import dryrun
from sophrosyne.flows.apply import ApplySummary, apply
from sophrosyne.flows.configcode import ConfigInvalid, Problem, check_dir, load_dir
from sophrosyne.logging import get_logger

log = get_logger(__name__)

_START_ATTEMPTS = 3
DIR_ARG = typer.Argument(help="Directory of *.yaml / *.yml files (not sub-directories).")


def _plural(n: int, word: str, plural: str = "") -> str:
    return f"{n} {word}" if n == 1 else f"{n} {plural or word + 's'}"


def _print_problems(errors: list[Problem], warnings: list[Problem], *, err: bool) -> None:
    for p in errors:
        typer.echo(str(p), err=err)
    for p in warnings:
        typer.echo(f"warning: {p}", err=err)


def _default_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name in a bare container
        return "cli"


def validate_command(directory: Annotated[Path, DIR_ARG]) -> None:
    """Check a config directory on its own: every error as FILE:LINE: PATH: MESSAGE.

    Exit 1 if there is any error; warnings alone exit 0. The files must define every action
    their rules use (``apply`` also accepts actions already managed through the API).
    """
    bundle, report = check_dir(directory)
    _print_problems(report.errors, report.warnings, err=False)
    counts = f"{_plural(len(bundle.actions), 'action')}, {_plural(len(bundle.rules), 'rule')}"
    if bundle.targets:
        counts += f", {_plural(len(bundle.targets), 'target')}"
    if bundle.recommendations:
        counts += f", {_plural(len(bundle.recommendations), 'recommendation')}"
    if bundle.articles:
        counts += f", {_plural(len(bundle.articles), 'article')}"
    if bundle.maintenance_windows:
        counts += f", {_plural(len(bundle.maintenance_windows), 'maintenance window')}"
    for items, word in (
        (bundle.channels, "channel"),
        (bundle.notification_routes, "notification route"),
        (bundle.schedules, "schedule"),
        (bundle.escalation_policies, "escalation policy"),
    ):
        if items:
            plural = "escalation policies" if word == "escalation policy" else ""
            counts += f", {_plural(len(items), word, plural)}"
    if not report.ok:
        typer.echo(
            f"{counts}: {_plural(len(report.errors), 'error')}, "
            f"{_plural(len(report.warnings), 'warning')}"
        )
        raise typer.Exit(1)
    typer.echo(f"{counts}: OK")


def _print_summary(summary: ApplySummary, *, dry_run: bool) -> None:
    for change in summary.changes:
        typer.echo(f"would be {change}" if dry_run else str(change))
    for p in summary.warnings:
        typer.echo(f"warning: {p}")
    prefix = "dry run, rolled back" if dry_run else "applied"
    typer.echo(f"{prefix}: {summary.totals()}")


def apply_command(
    directory: Annotated[Path, DIR_ARG],
    actor: Annotated[
        str | None, typer.Option(help="Who the audit log names (default: cli:<login name>).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change, then roll back.")
    ] = False,
) -> None:
    """Make the database hold what DIR says, in one transaction.

    File-managed actions and rules are created, updated (only those that changed) or deleted
    (those no longer in the files); every change is audited. Nothing changes if the files are
    invalid or use a name already managed through the API.
    """
    bundle = load_dir(directory)
    settings = load_settings()
    keyring = _keyring(settings)
    engine, sessions = open_db(settings)
    try:
        if not migrate.is_up_to_date(engine):
            raise fail(
                "the database schema is not at the newest revision; run 'sophrosyne db upgrade'"
            )
        with sessions() as session:
            try:
                summary = apply(
                    session,
                    bundle,
                    actor=actor or _default_actor(),
                    now=utcnow(),
                    keyring=keyring,
                )
            except ConfigInvalid as exc:
                session.rollback()
                _print_problems(exc.report.errors, exc.report.warnings, err=True)
                raise fail(f"{_plural(len(exc.report.errors), 'error')}; nothing applied") from None
            except Conflict as exc:
                session.rollback()
                raise fail(f"{exc}; nothing applied") from None
            except IntegrityError:
                session.rollback()
                raise fail("another change to the same names happened at once; try again") from None
            if dry_run:
                session.rollback()
            else:
                session.commit()
    finally:
        engine.dispose()
    _print_summary(summary, dry_run=dry_run)


def _keyring(settings: Settings) -> Keyring | None:
    """The server key that encrypts channel URLs read from variables and files (None: none
    configured; channels that need one are then reported as invalid)."""
    try:
        return optional_keyring(settings)
    except CryptoError as exc:
        raise fail(str(exc)) from None


def apply_at_start(
    sessions: sessionmaker[Session], config_dir: Path, *, keyring: Keyring | None = None
) -> None:
    """``serve --config-dir``: apply the directory before serving; refuse to start if invalid."""
    bundle = load_dir(config_dir)
    # Several servers sharing one PostgreSQL may start at once and insert the same names; the
    # loser retries and then finds the objects already there, unchanged.
    for attempt in range(1, _START_ATTEMPTS + 1):
        with sessions() as session:
            try:
                summary = apply(
                    session, bundle, actor="system:config", now=utcnow(), keyring=keyring
                )
                session.commit()
                break
            except ConfigInvalid as exc:
                session.rollback()
                _print_problems(exc.report.errors, exc.report.warnings, err=True)
                raise fail(f"configuration in {config_dir} is invalid; not starting") from None
            except Conflict as exc:
                session.rollback()
                raise fail(f"configuration in {config_dir} cannot be applied: {exc}") from None
            except IntegrityError:
                session.rollback()
                if attempt == _START_ATTEMPTS:
                    raise
                log.info("config.apply_raced", attempt=attempt)
    for p in summary.warnings:
        log.warning("config.warning", problem=str(p))
    for change in summary.changes:
        log.info("config.changed", change=str(change))
    log.info("config.loaded", directory=str(config_dir), summary=summary.totals())


def _read_payload(path: Path) -> Any:
    name = "stdin" if str(path) == "-" else str(path)
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"{name}: cannot read: {exc}", code=2) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail(
            f"{name}:{exc.lineno}: invalid JSON: {exc.msg} (column {exc.colno})", code=2
        ) from None


def _labels(labels: dict[str, str]) -> str:
    # JSON-quoted so a value with quotes, spaces or shell syntax is shown exactly, as one value.
    return (
        "{" + ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in labels.items()) + "}"
    )


def _print_dry_run(report: dryrun.DryRunReport, rule_count: int) -> None:
    for alert in report.alerts:
        typer.echo(f"alert {alert.fingerprint} ({alert.source}, {alert.status})")
        typer.echo(f"  labels: {_labels(alert.labels)}")
        for r in alert.rules:
            if r.outcome == "match":
                argv = json.dumps(r.argv, ensure_ascii=False)
                typer.echo(f"  MATCH {r.rule} → {r.action}: argv {argv} (mode {r.mode})")
                if r.targets:
                    typer.echo(f"        on targets {', '.join(r.targets)}")
                if r.request:
                    shown = json.dumps(r.request, ensure_ascii=False)
                    typer.echo(f"        request {shown}")
                typer.echo(f"    params: {json.dumps(r.params, ensure_ascii=False)}")
                if r.reason:
                    typer.echo(f"    would wait for confirmation: {r.reason}")
            elif r.outcome == "error":
                typer.echo(f"  error: {r.rule} — {r.error}: {r.reason}")
            else:
                typer.echo(f"  no match: {r.rule} — {r.reason}")
        if not alert.rules:
            typer.echo("  (no rules)")
    matches = sum(len(a.matched) for a in report.alerts)
    typer.echo(
        f"{_plural(len(report.alerts), 'alert')}, {_plural(rule_count, 'rule')}: "
        f"{_plural(matches, 'match', 'matches')} (dry run: nothing was run or stored)"
    )


def test_rule_command(
    alert: Annotated[
        Path,
        typer.Option(
            "--alert",
            help="Alert payload as JSON: Alertmanager's webhook, one generic alert or a list "
            "of them ('-' reads stdin).",
        ),
    ],
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Try the rules of this directory instead of the database."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Dry run: which rules match each alert, the exact argv they would run, and why not.

    Runs nothing and stores nothing. Exit 2 if the payload is invalid (every wrong field is
    named), 1 if the --config directory is invalid.
    """
    payload = _read_payload(alert)
    if config is not None:
        bundle, report = check_dir(config)
        if not report.ok:
            _print_problems(report.errors, report.warnings, err=True)
            raise fail(f"configuration in {config} is invalid")
        _print_problems([], report.warnings, err=True)
        rules = dryrun.compile_bundle(bundle)
        inventory = dryrun.bundle_inventory(bundle)
    else:
        settings = load_settings()
        engine, sessions = open_db(settings)
        try:
            with sessions() as session:
                rules = rules_service.compile_all(session)
                inventory = rules_service.inventory(session)
        finally:
            engine.dispose()
    try:
        result = dryrun.test_alerts(payload, rules, inventory)
    except ValidationFailed as exc:
        for e in exc.errors:
            typer.echo(f"error: {e.where()}: {e.msg}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False, default=str))
    else:
        _print_dry_run(result, len(rules))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root CLI."""
    app.command("validate")(validate_command)
    app.command("apply")(apply_command)
    app.command("test-rule")(test_rule_command)
