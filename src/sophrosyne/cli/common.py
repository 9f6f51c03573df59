"""What every CLI command needs: settings, logging, an engine, and clear failures."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import typer
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne import logging as slog
from sophrosyne.config import Settings
from sophrosyne.db.engine import make_engine, make_session_factory
from sophrosyne.errors import SophrosyneError


def utcnow() -> datetime:
    return datetime.now(UTC)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with CLI options on top; exit 2 naming a bad setting."""
    try:
        given = {k: v for k, v in overrides.items() if v is not None}
        settings = Settings.model_validate(given)
    except ValidationError as exc:
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            typer.echo(f"error: setting SOPHROSYNE_{field.upper()}: {err['msg']}", err=True)
        raise typer.Exit(2) from None
    slog.configure(settings.log_level, settings.log_format)
    return settings


def open_db(settings: Settings) -> tuple[Engine, sessionmaker[Session]]:
    engine = make_engine(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    return engine, make_session_factory(engine)


@contextmanager
def transaction(settings: Settings) -> Iterator[Session]:
    """One committed transaction for a command; a project error exits 1 with its message."""
    engine, sessions = open_db(settings)
    try:
        with sessions.begin() as session:
            yield session
    except SophrosyneError as exc:
        raise fail(str(exc)) from None
    finally:
        engine.dispose()


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)
