"""``sophrosyne token …``: API tokens (stored hashed; the secret is printed once)."""

from __future__ import annotations

from datetime import timedelta

import typer

from sophrosyne.cli.common import load_settings, open_db, transaction, utcnow
from sophrosyne.domains.accounts import service as tokens
from sophrosyne.domains.accounts.schemas import Scope, TokenCreate
from sophrosyne.domains.audit import service as audit

token_app = typer.Typer(no_args_is_help=True, help="API tokens.")


@token_app.command("create")
def create(
    name: str = typer.Argument(..., help="A name to recognise the token by."),
    scope: list[Scope] = typer.Option(
        [Scope.WRITE], "--scope", help="read, write (implies read) or ingest; repeatable."
    ),
    expires_in_days: int | None = typer.Option(None, min=1, help="Expire after this many days."),
) -> None:
    """Create a token and print its secret (shown only now)."""
    settings = load_settings()
    now = utcnow()
    expires = now + timedelta(days=expires_in_days) if expires_in_days else None
    with transaction(settings) as session:
        token, secret = tokens.create(
            session, TokenCreate(name=name, scopes=scope, expires_at=expires), now=now
        )
        audit.record(
            session,
            actor="cli",
            action="token.created",
            object_type="token",
            object_id=name,
            detail={"scopes": token.scopes, "expires_at": expires and expires.isoformat()},
            now=now,
        )
    typer.echo(secret)


@token_app.command("list")
def list_tokens() -> None:
    """List tokens (never their secrets): name, prefix, scopes, state, owner."""
    settings = load_settings()
    engine, sessions = open_db(settings)
    with sessions() as session:
        for t in tokens.listing(session):
            state = "revoked" if t.revoked_at else "active"
            owner = t.owner or "(service)"
            typer.echo(f"{t.name}\t{t.prefix}…\t{','.join(t.scopes)}\t{state}\t{owner}")
    engine.dispose()


@token_app.command("revoke")
def revoke(name: str) -> None:
    """Revoke a token by name."""
    settings = load_settings()
    now = utcnow()
    with transaction(settings) as session:
        tokens.revoke(session, name, now=now)
        audit.record(
            session,
            actor="cli",
            action="token.revoked",
            object_type="token",
            object_id=name,
            now=now,
        )
    typer.echo(f"revoked {name}")
