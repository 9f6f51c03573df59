"""``sophrosyne key …`` and ``sophrosyne target secret …``: the secret key and target credentials.

Secret values are read from standard input (or typed without echo at a terminal), never from
the command line, so they stay out of shell history and ``ps``. Exit 0 on success, 1 with a
message naming the setting or object that is wrong.
"""

from __future__ import annotations

import getpass
import sys

import typer

from sophrosyne.cli.common import fail, load_settings, transaction, utcnow
from sophrosyne.crypto import CryptoError, Secret, generate_key
from sophrosyne.db import migrate
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.targets import service as targets
from sophrosyne.domains.targets.keys import keyring_from
from sophrosyne.domains.targets.schemas import SECRET_KINDS

key_app = typer.Typer(no_args_is_help=True, help="The key that encrypts target credentials.")
target_app = typer.Typer(no_args_is_help=True, help="Targets: the hosts actions run on.")
secret_app = typer.Typer(no_args_is_help=True, help="Credentials of targets (write-only).")
target_app.add_typer(secret_app, name="secret")

_KIND_HELP = f"one of: {', '.join(SECRET_KINDS)}"


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name in a bare container
        return "cli"


def _read_value(prompt: str) -> str:
    """The secret from stdin: typed without echo at a terminal, else everything piped in
    (one trailing newline removed, as ``echo`` and editors add it)."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    value = sys.stdin.read()
    if value.endswith("\r\n"):
        return value[:-2]
    return value.removesuffix("\n")


@key_app.command("generate")
def generate() -> None:
    """Print a new random key (base64url of 32 bytes) for SOPHROSYNE_SECRET_KEY."""
    typer.echo(generate_key())


@key_app.command("rotate")
def rotate() -> None:
    """Re-encrypt every stored secret with the current key.

    Run with SOPHROSYNE_SECRET_KEY (or _FILE) set to the new key and SOPHROSYNE_SECRET_OLD_KEYS
    to the previous ones; afterwards the old keys can be removed. All or nothing.
    """
    settings = load_settings()
    try:
        keyring = keyring_from(settings)
    except CryptoError as exc:
        raise fail(str(exc)) from None
    now = utcnow()
    with transaction(settings) as session:
        # Checked before the session touches the database (its first query opens the write).
        if not migrate.is_up_to_date(session.get_bind().engine):
            raise fail(
                "the database schema is not at the newest revision; run 'sophrosyne db upgrade'"
            )
        count = targets.rotate_all(session, keyring)
        audit.record(
            session,
            actor=_actor(),
            action="secrets.rotated",
            object_type="secret",
            detail={"count": count, "key_id": keyring.current_key_id},
            now=now,
        )
    typer.echo(
        f"re-encrypted {count} secret{'' if count == 1 else 's'} with key {keyring.current_key_id}"
    )


@secret_app.command("set")
def set_secret(
    name: str = typer.Argument(..., help="The target's name."),
    kind: str = typer.Argument(..., help=_KIND_HELP),
) -> None:
    """Store a credential of a target, read from standard input (never from arguments).

    Example: sophrosyne target secret set db-1 ssh_private_key < ~/.ssh/id_ed25519
    """
    if kind not in SECRET_KINDS:
        raise fail(f"unknown secret kind {kind!r}; {_KIND_HELP}")
    settings = load_settings()
    try:
        keyring = keyring_from(settings)
    except CryptoError as exc:
        raise fail(str(exc)) from None
    value = _read_value(f"{kind} for {name}: ")
    if not value:
        raise fail("no value on standard input; pipe the secret in, e.g. < file")
    with transaction(settings) as session:
        target = targets.get_by_name(session, name)
        targets.set_secret(session, keyring, target, kind, Secret(value), now=utcnow())
        audit.record(
            session,
            actor=_actor(),
            action="target.secret_set",
            object_type="target",
            object_id=name,
            detail={"kind": kind},
            now=utcnow(),
        )
    typer.echo(f"stored {kind} for target {name}")


@secret_app.command("clear")
def clear_secret(
    name: str = typer.Argument(..., help="The target's name."),
    kind: str = typer.Argument(..., help=_KIND_HELP),
) -> None:
    """Remove a credential of a target."""
    settings = load_settings()
    with transaction(settings) as session:
        target = targets.get_by_name(session, name)
        targets.clear_secret(session, target, kind)
        audit.record(
            session,
            actor=_actor(),
            action="target.secret_cleared",
            object_type="target",
            object_id=name,
            detail={"kind": kind},
            now=utcnow(),
        )
    typer.echo(f"removed {kind} of target {name}")
