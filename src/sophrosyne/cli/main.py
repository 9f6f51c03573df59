"""The root ``sophrosyne`` command; sub-commands live in sibling modules and register here."""

from __future__ import annotations

import typer

from sophrosyne.cli import configcode, run
from sophrosyne.cli.automation import automation_app
from sophrosyne.cli.db import db_app
from sophrosyne.cli.secrets import key_app, target_app
from sophrosyne.cli.tokens import token_app
from sophrosyne.cli.users import user_app

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Sophrosyne: alert in, action out.",
)
app.command("serve")(run.serve)
app.command("worker")(run.worker_command)
app.add_typer(db_app, name="db")
app.add_typer(token_app, name="token")
app.add_typer(key_app, name="key")
app.add_typer(target_app, name="target")
app.add_typer(user_app, name="user")
app.add_typer(automation_app, name="automation")
configcode.register(app)


def main() -> None:
    app()
