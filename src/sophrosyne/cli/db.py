"""``sophrosyne db …``: schema migrations."""

from __future__ import annotations

import typer

from sophrosyne.cli.common import load_settings, open_db
from sophrosyne.db import migrate

db_app = typer.Typer(no_args_is_help=True, help="Database schema.")


@db_app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    settings = load_settings()
    engine, _ = open_db(settings)
    migrate.upgrade(engine, revision)
    typer.echo(f"database at revision {migrate.current_revision(engine)}")
    engine.dispose()


@db_app.command("current")
def current() -> None:
    """Print the schema revision and whether it is the newest."""
    settings = load_settings()
    engine, _ = open_db(settings)
    rev, head = migrate.current_revision(engine), migrate.head_revision(engine)
    typer.echo(f"current {rev or '(empty)'}, newest {head}")
    engine.dispose()
    if rev != head:
        raise typer.Exit(1)
